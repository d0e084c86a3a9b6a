//! The deployed program's call router, written out by hand (as the escrow's, credentials'
//! and badges'): the SDK's `#[public]` router instantiates alloy's generic codec per
//! signature, kilobytes of WASM. `#[public]` stays for the ABI export and the host tests'
//! VM; the tests send every function of `abi/IVetting.sol` through
//! [`Vetting::dispatch`] with alloy's encoding.

use alloc::{string::String, vec::Vec};
use alloy_primitives::{Address, B256, U256};
use minuto_wire::{
    router::{dispatch, out, Args, ACCEPT_ADMIN, PENDING_ADMIN, TRANSFER_ADMIN},
    selector, Word,
};
use stylus_sdk::stylus_core::host::ConstructorGuard;

use crate::{Error, Vetting};

const CONSTRUCTOR: u32 = stylus_sdk::abi::CONSTRUCTOR_SELECTOR;
const APPLY_FOR: u32 = selector!("applyFor", u32, String);
const PROPOSE_REVOCATION: u32 = selector!("proposeRevocation", U256, String);
const VOTE: u32 = selector!("vote", U256, bool, String);
const EXPIRE: u32 = selector!("expire", U256);
const APPLICATION: u32 = selector!("application", U256);
const VOTE_OF: u32 = selector!("voteOf", U256, Address);
const STANDING: u32 = selector!("standing", Address, u32);
const KIND_RULE: u32 = selector!("kindRule", u32);
const IS_REVIEWER: u32 = selector!("isReviewer", Address);
const CONFIG: u32 = selector!("config");
const ADD_REVIEWER: u32 = selector!("addReviewer", Address);
const REMOVE_REVIEWER: u32 = selector!("removeReviewer", Address);
const SET_QUORUM: u32 = selector!("setQuorum", u32);
const SET_KIND: u32 = selector!("setKind", u32, u64, u16, u64, String);
const SET_CONFIG: u32 = selector!("setConfig", u64, u64);

/// A `string` argument: invalid UTF-8 is replaced (U+FFFD), as in the credentials'
/// router; CIDs only go to events, a kind's URI to the credentials it issues.
fn string(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Vetting {
    /// Runs the call `input` (selector and ABI-encoded arguments) as the deployed program
    /// does: its result's ABI encoding, or the revert data (a typed error's encoding;
    /// empty for an unknown selector, malformed arguments, attached value or a second
    /// constructor call).
    pub fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        dispatch(input, |selector, args| self.route(selector, args))
    }

    /// `None` for an unknown selector or malformed arguments.
    fn route(&mut self, selector: u32, a: &Args<'_>) -> Option<Result<Vec<u8>, Error>> {
        let empty = |r: Result<(), Error>| r.map(|()| Vec::new());
        let one = |w: B256| Ok(out(&[w]));
        Some(match selector {
            CONSTRUCTOR => {
                let args = (
                    a.address(0)?,
                    a.address(1)?,
                    a.address(2)?,
                    a.uint(3, 8)?,
                    a.uint(4, 8)?,
                );
                if self.check_constructor_slot().is_err() {
                    return None;
                }
                empty(self.constructor(args.0, args.1, args.2, args.3, args.4))
            }
            APPLY_FOR => self
                .apply_for(a.uint(0, 4)? as u32, string(a.bytes(1)?))
                .map(|id| out(&[id.word()])),
            PROPOSE_REVOCATION => self
                .propose_revocation(a.u256(0)?, string(a.bytes(1)?))
                .map(|id| out(&[id.word()])),
            VOTE => empty(self.vote(a.u256(0)?, a.bool(1)?, string(a.bytes(2)?))),
            EXPIRE => empty(self.expire(a.u256(0)?)),
            APPLICATION => {
                let v = self.application(a.u256(0)?);
                Ok(out(&[
                    v.0.word(),
                    v.1.word(),
                    v.2.word(),
                    v.3.word(),
                    v.4.word(),
                    v.5.word(),
                    v.6.word(),
                    v.7.word(),
                    v.8.word(),
                ]))
            }
            VOTE_OF => one(self.vote_of(a.u256(0)?, a.address(1)?).word()),
            STANDING => {
                let (open, until) = self.standing(a.address(0)?, a.uint(1, 4)? as u32);
                Ok(out(&[open.word(), until.word()]))
            }
            KIND_RULE => {
                let (min_rated, min_average, term, uri) = self.kind_rule(a.uint(0, 4)? as u32);
                // Three static words, the string's offset, then its length and bytes.
                let mut data = out(&[
                    min_rated.word(),
                    min_average.word(),
                    term.word(),
                    (4u64 * 32).word(),
                    (uri.len() as u64).word(),
                ]);
                data.extend_from_slice(uri.as_bytes());
                data.resize(data.len().div_ceil(32) * 32, 0);
                Ok(data)
            }
            IS_REVIEWER => one(self.is_reviewer(a.address(0)?).word()),
            CONFIG => {
                let c = self.config();
                Ok(out(&[
                    c.0.word(),
                    c.1.word(),
                    c.2.word(),
                    c.3.word(),
                    c.4.word(),
                    c.5.word(),
                    c.6.word(),
                ]))
            }
            ADD_REVIEWER => empty(self.add_reviewer(a.address(0)?)),
            REMOVE_REVIEWER => empty(self.remove_reviewer(a.address(0)?)),
            SET_QUORUM => empty(self.set_quorum(a.uint(0, 4)? as u32)),
            SET_KIND => empty(self.set_kind(
                a.uint(0, 4)? as u32,
                a.uint(1, 8)?,
                a.uint(2, 2)? as u16,
                a.uint(3, 8)?,
                string(a.bytes(4)?),
            )),
            SET_CONFIG => empty(self.set_config(a.uint(0, 8)?, a.uint(1, 8)?)),
            PENDING_ADMIN => one(self.pending_admin().word()),
            TRANSFER_ADMIN => empty(self.transfer_admin(a.address(0)?)),
            ACCEPT_ADMIN => empty(self.accept_admin()),
            _ => return None,
        })
    }
}

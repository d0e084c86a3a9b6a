//! The deployed program's call router, written out by hand (as the escrow's, credentials',
//! badges', vetting's and booking's): the SDK's `#[public]` router instantiates alloy's
//! generic codec per signature, kilobytes of WASM and of zero-padded type-name data that
//! every call pays to load (issue #17). `#[public]` stays for the ABI export and the host
//! tests' VM; the tests send every function of `abi/IRatings.sol` through
//! [`Ratings::dispatch`] and through the SDK's router with alloy's encoding and compare
//! the answers.

use alloc::{string::String, vec::Vec};
use alloy_primitives::{Address, B256, U256};
use minuto_wire::{
    router::{dispatch, out, Args, ACCEPT_ADMIN, PENDING_ADMIN, TRANSFER_ADMIN},
    selector, Word,
};
use stylus_sdk::stylus_core::host::ConstructorGuard;

use crate::{Error, Ratings};

const CONSTRUCTOR: u32 = stylus_sdk::abi::CONSTRUCTOR_SELECTOR;
const RATE: u32 = selector!("rate", U256, u8, B256, String);
const AGGREGATES: u32 = selector!("aggregates", Address);
const SESSION_RATINGS: u32 = selector!("sessionRatings", U256);
const MIN_BILLED: u32 = selector!("minBilled", Address);
const SET_MIN_BILLED: u32 = selector!("setMinBilled", Address, u128);
const CONFIG: u32 = selector!("config");
const SET_CONFIG: u32 = selector!("setConfig", u64, u64);

impl Ratings {
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
        Some(match selector {
            CONSTRUCTOR => {
                let args = (a.address(0)?, a.address(1)?, a.uint(2, 8)?, a.uint(3, 8)?);
                if self.check_constructor_slot().is_err() {
                    return None;
                }
                empty(self.constructor(args.0, args.1, args.2, args.3))
            }
            RATE => {
                let (id, score, hash) = (a.u256(0)?, a.uint(1, 1)? as u8, a.b256(2)?);
                // Invalid UTF-8 is refused, as the SDK's router refuses it: the CID goes
                // to the `Rated` event as a `string`.
                let cid = String::from_utf8(a.bytes(3)?).ok()?;
                empty(self.rate(id, score, hash, cid))
            }
            AGGREGATES => {
                let (tc, ts, sc, ss) = self.aggregates(a.address(0)?);
                Ok(out(&[tc.word(), ts.word(), sc.word(), ss.word()]))
            }
            SESSION_RATINGS => {
                let (ss, sh, ts, th) = self.session_ratings(a.u256(0)?);
                Ok(out(&[ss.word(), sh, ts.word(), th]))
            }
            MIN_BILLED => Ok(out(&[self.min_billed(a.address(0)?).word()])),
            SET_MIN_BILLED => empty(self.set_min_billed(a.address(0)?, a.u128(1)?)),
            PENDING_ADMIN => Ok(out(&[self.pending_admin().word()])),
            TRANSFER_ADMIN => empty(self.transfer_admin(a.address(0)?)),
            ACCEPT_ADMIN => empty(self.accept_admin()),
            CONFIG => {
                let (admin, escrow, min_duration, window) = self.config();
                Ok(out(&[
                    admin.word(),
                    escrow.word(),
                    min_duration.word(),
                    window.word(),
                ]))
            }
            SET_CONFIG => empty(self.set_config(a.uint(0, 8)?, a.uint(1, 8)?)),
            _ => return None,
        })
    }
}

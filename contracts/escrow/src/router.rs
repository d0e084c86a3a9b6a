//! The deployed program's call router, written out by hand.
//!
//! The SDK's `#[public]` router decodes and encodes each function's arguments and results
//! with alloy's generic ABI codec, one instance per signature: about 14 KB of the
//! escrow's WASM. [`SessionEscrow::dispatch`] reads the arguments in place with
//! [`minuto_wire::router`] (alloy's strict checks on each argument word and on the
//! canonical encoding of `openAccepted`'s `signature`, but call data after the last
//! argument of a function without `bytes` is ignored, which alloy's strict decoder
//! refuses; anything malformed reverts with empty data, as the SDK's router does) and
//! encodes each result as its words.
//!
//! `#[public]` stays: it exports the ABI (`cargo xtask abi`) and routes calls in the host
//! tests' VM. The tests send every function of `abi/ISessionEscrow.sol` through
//! `dispatch` with alloy's encoding and check the decoded results and errors.

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use minuto_wire::{
    router::{construct_once, dispatch, out_one, Args, ACCEPT_ADMIN, TRANSFER_ADMIN},
    selector, Word,
};

use crate::{Error, SessionEscrow};

const CONSTRUCTOR: u32 = stylus_sdk::abi::CONSTRUCTOR_SELECTOR;
const OPEN: u32 = selector!("open", Address, Address, U256, U256, Address, u32);
const OPEN_ACCEPTED: u32 = selector!(
    "openAccepted",
    Address,
    Address,
    U256,
    U256,
    Address,
    u32,
    Address,
    u16,
    U256,
    u64,
    stylus_sdk::abi::Bytes
);
const OPEN_FOR: u32 =
    selector!("openFor", Address, Address, Address, U256, U256, Address, u32, u32, u16);
const START: u32 = selector!("start", U256, Address);
const TOP_UP: u32 = selector!("topUp", U256, U256);
const WITHDRAW: u32 = selector!("withdraw", U256);
const STOP: u32 = selector!("stop", U256);
const STOP_AT: u32 = selector!("stopAt", U256, u64, u8);
const CANCEL: u32 = selector!("cancel", U256);
const CLAIM: u32 = selector!("claim", Address, Address);
const CANCEL_ACCEPTANCE: u32 = selector!("cancelAcceptance", U256);
const SESSION: u32 = selector!("session", U256);
const BILLED: u32 = selector!("billed", U256);
const ENDED_BY_TUTOR: u32 = selector!("endedByTutor", U256);
const WITHDRAWABLE: u32 = selector!("withdrawable", U256);
const RUNWAY: u32 = selector!("runway", U256);
const CLAIMABLE: u32 = selector!("claimable", Address, Address);
const NONCE_USED: u32 = selector!("nonceUsed", Address, U256);
const TOKEN_ALLOWED: u32 = selector!("tokenAllowed", Address);
const IS_RELAYER: u32 = selector!("isRelayer", Address);
const CONFIG: u32 = selector!("config");
const MAX_BACKDATE: u32 = selector!("maxBackdate");
const BOOKING: u32 = selector!("booking");
const SET_BOOKING: u32 = selector!("setBooking", Address);
const SET_TOKEN_ALLOWED: u32 = selector!("setTokenAllowed", Address, bool);
const SET_CONFIG: u32 = selector!("setConfig", Address, Address, u16, u32, u32);
const SET_RELAYER: u32 = selector!("setRelayer", Address, bool);
const SET_PAUSED: u32 = selector!("setPaused", bool);

impl SessionEscrow {
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
        let one = |r: Result<U256, Error>| r.map(|v| out_one(&v));
        Some(match selector {
            CONSTRUCTOR => {
                let args = (
                    a.address(0)?,
                    a.address(1)?,
                    a.address(2)?,
                    a.uint(3, 2)? as u16,
                    a.uint(4, 4)? as u32,
                    a.uint(5, 4)? as u32,
                );
                if !construct_once(self.__stylus_host.clone()) {
                    return None;
                }
                empty(self.constructor(args.0, args.1, args.2, args.3, args.4, args.5))
            }
            OPEN => one(self.open(
                a.address(0)?,
                a.address(1)?,
                a.u256(2)?,
                a.u256(3)?,
                a.address(4)?,
                a.uint(5, 4)? as u32,
            )),
            OPEN_ACCEPTED => one(self.open_accepted(
                a.address(0)?,
                a.address(1)?,
                a.u256(2)?,
                a.u256(3)?,
                a.address(4)?,
                a.uint(5, 4)? as u32,
                a.address(6)?,
                a.uint(7, 2)? as u16,
                a.u256(8)?,
                a.uint(9, 8)?,
                a.bytes(10)?.into(),
            )),
            OPEN_FOR => one(self.open_for(
                a.address(0)?,
                a.address(1)?,
                a.address(2)?,
                a.u256(3)?,
                a.u256(4)?,
                a.address(5)?,
                a.uint(6, 4)? as u32,
                a.uint(7, 4)? as u32,
                a.uint(8, 2)? as u16,
            )),
            START => empty(self.start(a.u256(0)?, a.address(1)?)),
            TOP_UP => empty(self.top_up(a.u256(0)?, a.u256(1)?)),
            WITHDRAW => one(self.withdraw(a.u256(0)?)),
            STOP => empty(self.stop(a.u256(0)?)),
            STOP_AT => {
                // `silent` is 0, 1 or 2; anything else is malformed.
                let silent = a
                    .uint(2, 1)
                    .filter(|s| *s <= u64::from(crate::SILENT_TUTOR))?;
                empty(self.stop_at(a.u256(0)?, a.uint(1, 8)?, silent as u8))
            }
            CANCEL => empty(self.cancel(a.u256(0)?)),
            CLAIM => one(self.claim(a.address(0)?, a.address(1)?)),
            CANCEL_ACCEPTANCE => empty(self.cancel_acceptance(a.u256(0)?)),
            SESSION => self.session(a.u256(0)?).map(|v| {
                let mut o = Vec::with_capacity(32 * 11);
                v.student.push_to(&mut o);
                v.tutor.push_to(&mut o);
                v.token.push_to(&mut o);
                v.rate.push_to(&mut o);
                v.deposited.push_to(&mut o);
                v.withdrawn.push_to(&mut o);
                v.start.push_to(&mut o);
                v.end.push_to(&mut o);
                v.feeBps.push_to(&mut o);
                v.credentialKind.push_to(&mut o);
                v.state.push_to(&mut o);
                o
            }),
            BILLED => one(self.billed(a.u256(0)?)),
            ENDED_BY_TUTOR => self.ended_by_tutor(a.u256(0)?).map(|v| out_one(&v)),
            WITHDRAWABLE => one(self.withdrawable(a.u256(0)?)),
            RUNWAY => self.runway(a.u256(0)?).map(|v| out_one(&v)),
            CLAIMABLE => Ok(out_one(&self.claimable(a.address(0)?, a.address(1)?))),
            NONCE_USED => Ok(out_one(&self.nonce_used(a.address(0)?, a.u256(1)?))),
            TOKEN_ALLOWED => Ok(out_one(&self.token_allowed(a.address(0)?))),
            IS_RELAYER => Ok(out_one(&self.is_relayer(a.address(0)?))),
            CONFIG => {
                let c = self.config();
                let mut o = Vec::with_capacity(32 * 9);
                c.0.push_to(&mut o);
                c.1.push_to(&mut o);
                c.2.push_to(&mut o);
                c.3.push_to(&mut o);
                c.4.push_to(&mut o);
                c.5.push_to(&mut o);
                c.6.push_to(&mut o);
                c.7.push_to(&mut o);
                c.8.push_to(&mut o);
                Ok(o)
            }
            MAX_BACKDATE => Ok(out_one(&self.max_backdate())),
            BOOKING => Ok(out_one(&self.booking())),
            SET_BOOKING => empty(self.set_booking(a.address(0)?)),
            SET_TOKEN_ALLOWED => empty(self.set_token_allowed(a.address(0)?, a.bool(1)?)),
            SET_CONFIG => empty(self.set_config(
                a.address(0)?,
                a.address(1)?,
                a.uint(2, 2)? as u16,
                a.uint(3, 4)? as u32,
                a.uint(4, 4)? as u32,
            )),
            SET_RELAYER => empty(self.set_relayer(a.address(0)?, a.bool(1)?)),
            SET_PAUSED => empty(self.set_paused(a.bool(0)?)),
            TRANSFER_ADMIN => empty(self.transfer_admin(a.address(0)?)),
            ACCEPT_ADMIN => empty(self.accept_admin()),
            _ => return None,
        })
    }
}

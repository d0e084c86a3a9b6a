//! The deployed program's call router, written out by hand (as the escrow's and
//! vetting's): the SDK's `#[public]` router instantiates alloy's generic codec per
//! signature, kilobytes of WASM. `#[public]` stays for the ABI export and the host tests'
//! VM; the tests send every function of `abi/IBooking.sol` through [`Booking::dispatch`]
//! with alloy's encoding.

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use minuto_wire::{
    router::{dispatch, out, Args},
    selector, Word,
};
use stylus_sdk::stylus_core::host::ConstructorGuard;

use crate::{Booking, Error};

const CONSTRUCTOR: u32 = stylus_sdk::abi::CONSTRUCTOR_SELECTOR;
const SET_RATE: u32 = selector!("setRate", Address, U256);
const SET_POLICY: u32 = selector!("setPolicy", u32, u16, u16);
const REQUEST: u32 =
    selector!("request", Address, Address, u64, u32, U256, U256, u32, u64, u32, u16, u16);
const ACCEPT: u32 = selector!("accept", U256);
const DECLINE: u32 = selector!("decline", U256);
const EXPIRE: u32 = selector!("expire", U256);
const CANCEL: u32 = selector!("cancel", U256);
const JOIN: u32 = selector!("join", U256, Address);
const CLAIM_NO_SHOW: u32 = selector!("claimNoShow", U256);
const REPORT_TUTOR_NO_SHOW: u32 = selector!("reportTutorNoShow", U256);
const REPORT_TUTOR_EARLY_END: u32 = selector!("reportTutorEarlyEnd", U256);
const CLAIM: u32 = selector!("claim", Address, Address);
const REQUEST_SERIES: u32 = selector!(
    "requestSeries",
    Address,
    Address,
    u64,
    u32,
    u16,
    u32,
    U256,
    U256,
    u32,
    u64,
    u32,
    u16,
    u16,
    u32
);
const FUND: u32 = selector!("fund", U256);
const ACCEPT_SERIES: u32 = selector!("acceptSeries", U256);
const DECLINE_SERIES: u32 = selector!("declineSeries", U256);
const EXPIRE_SERIES: u32 = selector!("expireSeries", U256);
const CANCEL_SERIES: u32 = selector!("cancelSeries", U256);
const SERIES: u32 = selector!("series", U256);
const BOOKING: u32 = selector!("booking", U256);
const RATE_OF: u32 = selector!("rateOf", Address, Address);
const POLICY_OF: u32 = selector!("policyOf", Address);
const TUTOR_RECORD: u32 = selector!("tutorRecord", Address);
const CLAIMABLE: u32 = selector!("claimable", Address, Address);
const CONFIG: u32 = selector!("config");

impl Booking {
    /// Runs the call `input` (selector and ABI-encoded arguments) as the deployed program
    /// does: its result's ABI encoding, or the revert data (a typed error's encoding, the
    /// escrow's own for what it refused; empty for an unknown selector, malformed
    /// arguments, attached value or a second constructor call).
    pub fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        dispatch(input, |selector, args| self.route(selector, args))
    }

    /// `None` for an unknown selector or malformed arguments.
    fn route(&mut self, selector: u32, a: &Args<'_>) -> Option<Result<Vec<u8>, Error>> {
        let empty = |r: Result<(), Error>| r.map(|()| Vec::new());
        let one = |r: Result<U256, Error>| r.map(|v| out(&[v.word()]));
        Some(match selector {
            CONSTRUCTOR => {
                let escrow = a.address(0)?;
                if self.check_constructor_slot().is_err() {
                    return None;
                }
                empty(self.constructor(escrow))
            }
            SET_RATE => empty(self.set_rate(a.address(0)?, a.u256(1)?)),
            SET_POLICY => empty(self.set_policy(
                a.uint(0, 4)? as u32,
                a.uint(1, 2)? as u16,
                a.uint(2, 2)? as u16,
            )),
            REQUEST => one(self.request(
                a.address(0)?,
                a.address(1)?,
                a.uint(2, 8)?,
                a.uint(3, 4)? as u32,
                a.u256(4)?,
                a.u256(5)?,
                a.uint(6, 4)? as u32,
                a.uint(7, 8)?,
                a.uint(8, 4)? as u32,
                a.uint(9, 2)? as u16,
                a.uint(10, 2)? as u16,
            )),
            ACCEPT => empty(self.accept(a.u256(0)?)),
            DECLINE => empty(self.decline(a.u256(0)?)),
            EXPIRE => empty(self.expire(a.u256(0)?)),
            CANCEL => empty(self.cancel(a.u256(0)?)),
            JOIN => one(self.join(a.u256(0)?, a.address(1)?)),
            CLAIM_NO_SHOW => empty(self.claim_no_show(a.u256(0)?)),
            REPORT_TUTOR_NO_SHOW => empty(self.report_tutor_no_show(a.u256(0)?)),
            REPORT_TUTOR_EARLY_END => empty(self.report_tutor_early_end(a.u256(0)?)),
            CLAIM => one(self.claim(a.address(0)?, a.address(1)?)),
            REQUEST_SERIES => one(self.request_series(
                a.address(0)?,
                a.address(1)?,
                a.uint(2, 8)?,
                a.uint(3, 4)? as u32,
                a.uint(4, 2)? as u16,
                a.uint(5, 4)? as u32,
                a.u256(6)?,
                a.u256(7)?,
                a.uint(8, 4)? as u32,
                a.uint(9, 8)?,
                a.uint(10, 4)? as u32,
                a.uint(11, 2)? as u16,
                a.uint(12, 2)? as u16,
                a.uint(13, 4)? as u32,
            )),
            FUND => empty(self.fund(a.u256(0)?)),
            ACCEPT_SERIES => empty(self.accept_series(a.u256(0)?)),
            DECLINE_SERIES => empty(self.decline_series(a.u256(0)?)),
            EXPIRE_SERIES => empty(self.expire_series(a.u256(0)?)),
            CANCEL_SERIES => empty(self.cancel_series(a.u256(0)?)),
            BOOKING => self.booking(a.u256(0)?).map(|v| {
                out(&[
                    v.student.word(),
                    v.tutor.word(),
                    v.token.word(),
                    v.start.word(),
                    v.duration.word(),
                    v.rate.word(),
                    v.deposit.word(),
                    v.credentialKind.word(),
                    v.answerDeadline.word(),
                    v.freeNotice.word(),
                    v.lateCancelFeeBps.word(),
                    v.noShowFeeBps.word(),
                    v.state.word(),
                    v.sessionId.word(),
                    v.fundBy.word(),
                ])
            }),
            SERIES => self
                .series(a.u256(0)?)
                .map(|(lessons, interval)| out(&[lessons.word(), interval.word()])),
            RATE_OF => Ok(out(&[self.rate_of(a.address(0)?, a.address(1)?).word()])),
            POLICY_OF => {
                let (notice, late, no_show) = self.policy_of(a.address(0)?);
                Ok(out(&[notice.word(), late.word(), no_show.word()]))
            }
            TUTOR_RECORD => {
                let (cancellations, no_shows, early_ends) = self.tutor_record(a.address(0)?);
                Ok(out(&[
                    cancellations.word(),
                    no_shows.word(),
                    early_ends.word(),
                ]))
            }
            CLAIMABLE => Ok(out(&[self.claimable(a.address(0)?, a.address(1)?).word()])),
            CONFIG => {
                let (escrow, count) = self.config();
                Ok(out(&[escrow.word(), count.word()]))
            }
            _ => return None,
        })
    }
}

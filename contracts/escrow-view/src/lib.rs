//! How the badges and ratings contracts read a session from the escrow, and the rule
//! both apply before a session may earn a badge or a rating.
//!
//! The session comes from the escrow's `session(uint256)` view, made as a raw static call
//! and decoded by hand. The answer is the static struct `SessionView` (11 ABI words); only
//! the fields used here are read. A generic ABI decoder would cost kilobytes of WASM for
//! one fixed layout.
//!
//! [`Session::check`]: a session counts only once it has Ended having billed at least a
//! minimum duration **and** a minimum value in its token (set per token by each
//! contract's admin): a session at a dust rate proves nothing, so faking a badge or a
//! rating must cost real money. And since two colluding wallets get everything but the
//! protocol fee back (the tutor's pay returns to the student), the session must also have
//! paid a fee: one whose snapshotted `feeBps` is 0 earns nothing, so a fake costs at
//! least `minBilled × feeBps / 10_000` base units, paid to the treasury.

#![cfg_attr(not(test), no_std)]

use alloy_primitives::{Address, U256};
use minuto_accrual::Accrual;
use minuto_wire::{address_at, static_call, u128_at, u64_at};
use stylus_sdk::function_selector;

/// `session(uint256)` on the escrow.
pub const SESSION: [u8; 4] = function_selector!("session", U256);

/// `SessionView` is 11 words: `student, tutor, token, rate, deposited, withdrawn, start,
/// end, feeBps, credentialKind, state`.
const SESSION_VIEW_LEN: usize = 11 * 32;

/// The escrow's `state` of an Ended (stopped and settled) session.
pub const ENDED: u8 = 3;

/// What badges and ratings need to know about a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub student: Address,
    pub tutor: Address,
    pub token: Address,
    /// Base units per second, scaled by 10^18.
    pub rate: u128,
    pub deposited: u128,
    /// When accrual began (when it was opened, while Open).
    pub start: u64,
    /// When it stopped or was cancelled (0 while Open or Active). Never after the
    /// moment its funds ran out.
    pub end: u64,
    /// The protocol fee in basis points, as the escrow snapshotted it at open.
    pub fee_bps: u16,
    /// 1 Open, 2 Active, 3 Ended, 4 Cancelled.
    pub state: u8,
}

/// Why a session cannot earn a badge or a rating; each contract reverts with its own
/// typed error for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ineligible {
    /// Not Ended (Open, Active or Cancelled): its escrow `state`.
    NotEnded(u8),
    /// Billed `duration` seconds, under the minimum.
    TooShort { duration: u64, min_duration: u64 },
    /// The admin set no minimum billed value for the session's token: sessions in it
    /// earn nothing.
    TokenNotEligible(Address),
    /// Billed `billed` base units of its token, under `min_billed`.
    TooLittleBilled { billed: u128, min_billed: u128 },
    /// The session took no protocol fee (`feeBps` 0 at open): two colluding wallets
    /// would have got every base unit back, so it proves nothing.
    NoFeePaid,
}

/// A contract's typed error for `why` a session cannot earn what it asks: the five error
/// types (each `sol!` errors with the fields named here) for not ended, too short, a
/// token without a floor, too little billed and no fee paid, in that order.
#[macro_export]
macro_rules! ineligible_error {
    (
        $why:expr,
        $id:expr,
        $not_ended:ident,
        $too_short:ident,
        $no_floor:ident,
        $too_little:ident,
        $no_fee:ident
    ) => {
        match $why {
            $crate::Ineligible::NotEnded(state) => $not_ended {
                sessionId: $id,
                state,
            }
            .into(),
            $crate::Ineligible::TooShort {
                duration,
                min_duration,
            } => $too_short {
                sessionId: $id,
                duration,
                minDuration: min_duration,
            }
            .into(),
            $crate::Ineligible::TokenNotEligible(token) => $no_floor {
                sessionId: $id,
                token,
            }
            .into(),
            $crate::Ineligible::TooLittleBilled { billed, min_billed } => $too_little {
                sessionId: $id,
                billed,
                minBilled: min_billed,
            }
            .into(),
            $crate::Ineligible::NoFeePaid => $no_fee { sessionId: $id }.into(),
        }
    };
}

impl Session {
    /// The billed duration, `end − start`, of an Ended session.
    pub fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// What an Ended session billed, as the escrow computes it:
    /// `min(floor((end − start) × rate / 10^18), deposited)`.
    pub fn billed(&self) -> u128 {
        Accrual {
            start: self.start,
            rate: self.rate,
            deposited: self.deposited,
        }
        .billed_at(self.end)
    }

    /// Whether the session may earn a badge or rating: Ended, at least `min_duration`
    /// seconds billed, at least `min_billed` base units billed, where `min_billed` is
    /// the floor for its token (0: none set, the token earns nothing), and a non-zero
    /// protocol fee.
    pub fn check(&self, min_duration: u64, min_billed: u128) -> Result<(), Ineligible> {
        if self.state != ENDED {
            return Err(Ineligible::NotEnded(self.state));
        }
        let duration = self.duration();
        if duration < min_duration {
            return Err(Ineligible::TooShort {
                duration,
                min_duration,
            });
        }
        if min_billed == 0 {
            return Err(Ineligible::TokenNotEligible(self.token));
        }
        let billed = self.billed();
        if billed < min_billed {
            return Err(Ineligible::TooLittleBilled { billed, min_billed });
        }
        if self.fee_bps == 0 {
            return Err(Ineligible::NoFeePaid);
        }
        Ok(())
    }
}

/// `escrow.session(id)`, or `None` when the escrow reverts (no such session) or answers
/// something that is not a `SessionView`.
pub fn session(escrow: Address, id: U256) -> Option<Session> {
    let mut calldata = [0u8; 36];
    calldata[..4].copy_from_slice(&SESSION);
    calldata[4..].copy_from_slice(&id.to_be_bytes::<32>());
    decode(&static_call(escrow, &calldata, SESSION_VIEW_LEN)?)
}

/// Reads the fields used here from an ABI-encoded `SessionView`.
fn decode(out: &[u8]) -> Option<Session> {
    if out.len() != SESSION_VIEW_LEN {
        return None;
    }
    // The escrow keeps rates and deposits below 2^128.
    Some(Session {
        student: address_at(out, 0),
        tutor: address_at(out, 1),
        token: address_at(out, 2),
        rate: u128_at(out, 3),
        deposited: u128_at(out, 4),
        start: u64_at(out, 6),
        end: u64_at(out, 7),
        // `feeBps` is a `uint16`: its word's last two bytes.
        fee_bps: u16::from_be_bytes([out[32 * 8 + 30], out[32 * 8 + 31]]),
        state: out[32 * 10 + 31],
    })
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{keccak256, Address, U256};
    use alloy_sol_types::{sol, SolValue};

    use super::*;

    sol! {
        struct SessionView {
            address student;
            address tutor;
            address token;
            uint256 rate;
            uint256 deposited;
            uint256 withdrawn;
            uint64 start;
            uint64 end;
            uint16 feeBps;
            uint32 credentialKind;
            uint8 state;
        }
    }

    #[test]
    fn selector_matches_its_signature() {
        assert_eq!(keccak256("session(uint256)")[..4], SESSION);
    }

    #[test]
    fn decode_reads_alloys_encoding_of_a_session_view() {
        let view = SessionView {
            student: Address::repeat_byte(1),
            tutor: Address::repeat_byte(2),
            token: Address::repeat_byte(3),
            rate: U256::from(u128::MAX - 1),
            deposited: U256::from(u128::MAX),
            withdrawn: U256::MAX,
            start: u64::MAX - 1,
            end: u64::MAX,
            feeBps: u16::MAX,
            credentialKind: u32::MAX,
            state: ENDED,
        };
        let encoded = view.abi_encode();
        assert_eq!(
            decode(&encoded),
            Some(Session {
                student: view.student,
                tutor: view.tutor,
                token: view.token,
                rate: u128::MAX - 1,
                deposited: u128::MAX,
                start: view.start,
                end: view.end,
                fee_bps: u16::MAX,
                state: ENDED,
            })
        );
        assert_eq!(decode(&encoded[..encoded.len() - 1]), None);
        assert_eq!(decode(&[]), None);
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;

    fn ended(secs: u64, rate_per_sec: u128, deposited: u128) -> Session {
        Session {
            student: Address::repeat_byte(1),
            tutor: Address::repeat_byte(2),
            token: Address::repeat_byte(3),
            rate: rate_per_sec * minuto_accrual::RATE_SCALE,
            deposited,
            start: 1_000,
            end: 1_000 + secs,
            fee_bps: 250,
            state: ENDED,
        }
    }

    #[test]
    fn check_needs_ended_long_enough_and_enough_billed_in_a_floored_token() {
        let s = ended(300, 10_000, 10_000_000);
        assert_eq!(s.billed(), 3_000_000);
        assert_eq!(s.check(300, 3_000_000), Ok(()));
        assert_eq!(
            s.check(300, 3_000_001),
            Err(Ineligible::TooLittleBilled {
                billed: 3_000_000,
                min_billed: 3_000_001
            })
        );
        assert_eq!(
            s.check(301, 1),
            Err(Ineligible::TooShort {
                duration: 300,
                min_duration: 301
            })
        );
        assert_eq!(s.check(300, 0), Err(Ineligible::TokenNotEligible(s.token)));
        let active = Session { state: 2, ..s };
        assert_eq!(active.check(300, 1), Err(Ineligible::NotEnded(2)));
    }

    #[test]
    fn check_refuses_a_session_that_paid_no_fee() {
        // Audit M1: at `feeBps` 0 the tutor hands the student everything back, so a
        // colluding pair fakes reputation for gas only.
        let s = Session {
            fee_bps: 0,
            ..ended(300, 10_000, 10_000_000)
        };
        assert_eq!(s.check(300, 3_000_000), Err(Ineligible::NoFeePaid));
        // Each earlier rule still answers first.
        assert_eq!(
            s.check(300, 3_000_001),
            Err(Ineligible::TooLittleBilled {
                billed: 3_000_000,
                min_billed: 3_000_001
            })
        );
        assert_eq!(Session { fee_bps: 1, ..s }.check(300, 3_000_000), Ok(()));
    }

    #[test]
    fn decode_reads_the_snapshotted_fee() {
        use alloy_sol_types::SolValue;
        let view = super::tests::SessionView {
            student: Address::repeat_byte(1),
            tutor: Address::repeat_byte(2),
            token: Address::repeat_byte(3),
            rate: U256::from(1u8),
            deposited: U256::from(1u8),
            withdrawn: U256::ZERO,
            start: 1,
            end: 2,
            feeBps: 0x0102,
            credentialKind: 0,
            state: ENDED,
        };
        assert_eq!(decode(&view.abi_encode()).map(|s| s.fee_bps), Some(0x0102));
        let free = super::tests::SessionView { feeBps: 0, ..view };
        assert_eq!(decode(&free.abi_encode()).map(|s| s.fee_bps), Some(0));
    }

    #[test]
    fn a_dust_rate_bills_nothing_however_long_it_runs() {
        // The audit's case: rate 1 (10^-18 base unit a second), deposit 1.
        let s = Session {
            rate: 1,
            deposited: 1,
            ..ended(1_000_000, 0, 0)
        };
        assert_eq!(s.billed(), 0);
        assert_eq!(
            s.check(300, 1),
            Err(Ineligible::TooLittleBilled {
                billed: 0,
                min_billed: 1
            })
        );
    }
}

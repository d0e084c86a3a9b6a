//! How the badges and ratings contracts read a session from the escrow: its
//! `session(uint256)` view, made as a raw static call and decoded by hand. The answer is the static struct
//! `SessionView` (11 ABI words); only the five fields used here are read. A generic ABI
//! decoder would cost kilobytes of WASM for one fixed layout.

#![cfg_attr(not(test), no_std)]

use alloy_primitives::{Address, U256};
#[allow(deprecated)]
use stylus_sdk::call::RawCall;
use stylus_sdk::function_selector;

/// `session(uint256)` on the escrow.
pub const SESSION: [u8; 4] = function_selector!("session", U256);

/// `SessionView` is 11 words: `student, tutor, token, rate, deposited, withdrawn, start,
/// end, feeBps, credentialKind, state`.
const SESSION_VIEW_LEN: usize = 11 * 32;

/// The escrow's `state` of an Ended (stopped and settled) session.
pub const ENDED: u8 = 3;

/// What this contract needs to know about a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub student: Address,
    pub tutor: Address,
    /// When accrual began (when it was opened, while Open).
    pub start: u64,
    /// When it stopped or was cancelled (0 while Open or Active). Never after the
    /// moment its funds ran out.
    pub end: u64,
    /// 1 Open, 2 Active, 3 Ended, 4 Cancelled.
    pub state: u8,
}

impl Session {
    /// The billed duration, `end − start`, of an Ended session.
    pub fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// `escrow.session(id)`, or `None` when the escrow reverts (no such session) or answers
/// something that is not a `SessionView`.
#[allow(deprecated)]
pub fn session(escrow: Address, id: U256) -> Option<Session> {
    let mut calldata = [0u8; 36];
    calldata[..4].copy_from_slice(&SESSION);
    calldata[4..].copy_from_slice(&id.to_be_bytes::<32>());
    // SAFETY: a static call cannot change state, here or anywhere it reaches.
    let out = unsafe {
        RawCall::new_static()
            .limit_return_data(0, SESSION_VIEW_LEN)
            .call(escrow, &calldata)
    }
    .ok()?;
    decode(&out)
}

/// Reads the fields used here from an ABI-encoded `SessionView`.
fn decode(out: &[u8]) -> Option<Session> {
    if out.len() != SESSION_VIEW_LEN {
        return None;
    }
    let address = |i: usize| Address::from_slice(&out[32 * i + 12..32 * (i + 1)]);
    let uint64 = |i: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&out[32 * i + 24..32 * (i + 1)]);
        u64::from_be_bytes(bytes)
    };
    Some(Session {
        student: address(0),
        tutor: address(1),
        start: uint64(6),
        end: uint64(7),
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
            rate: U256::MAX,
            deposited: U256::MAX,
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
                start: view.start,
                end: view.end,
                state: ENDED,
            })
        );
        assert_eq!(decode(&encoded[..encoded.len() - 1]), None);
        assert_eq!(decode(&[]), None);
    }
}

//! The WebSocket protocol: one JSON object per text frame, tagged by `type`.
//!
//! A connection starts with `hello` carrying the session token from sign-in; every later
//! message acts for that address. Errors answer the message that caused them with a
//! stable `code` and change nothing.

use alloy_primitives::{Address, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::pool::{Closed, NoMatch, Profile, ProposalId, Request, SearchId, Terms};

/// The tutor's signed acceptance, field for field as the escrow's `openAccepted` takes it
/// (EIP-712 `Acceptance(address student,address token,uint256 rate,address tutorKey,
/// uint16 maxFeeBps,uint256 nonce,uint64 expiry)`), with its signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedAcceptance {
    /// The student.
    pub student: Address,
    /// The token.
    pub token: Address,
    /// The rate (base units per second × 10^18).
    pub rate: U256,
    /// The key that will sign the tutor's heartbeats.
    pub tutor_key: Address,
    /// The highest protocol fee the tutor accepts.
    pub max_fee_bps: u16,
    /// The tutor's acceptance nonce (unused on chain).
    pub nonce: U256,
    /// Unix time after which the escrow refuses it.
    pub expiry: u64,
    /// 65-byte signature by the tutor's wallet.
    pub signature: Bytes,
}

impl SignedAcceptance {
    /// The terms the matching rule compares with the proposal.
    pub fn terms(&self) -> Terms {
        Terms {
            student: self.student,
            token: self.token,
            rate: self.rate,
        }
    }
}

/// Where the lesson's call happens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// Opaque room id.
    pub id: String,
    /// The addressee's join token for it.
    pub token: String,
    /// Unix time the join token expires.
    pub expires: u64,
}

/// From a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// First message: the session token from `POST /v1/auth/verify`.
    Hello {
        /// Token.
        token: String,
    },
    /// Tutor: online with this profile (again to change it).
    Online {
        /// Profile.
        profile: Profile,
    },
    /// Tutor: offline (disconnecting does the same).
    Offline,
    /// Tutor: accept a proposal with the signed acceptance.
    Accept {
        /// Proposal.
        proposal: ProposalId,
        /// Acceptance.
        acceptance: SignedAcceptance,
    },
    /// Tutor: decline a proposal.
    Decline {
        /// Proposal.
        proposal: ProposalId,
    },
    /// Student: find a tutor now.
    Find {
        /// Request.
        request: Request,
    },
    /// Student: cancel the running search.
    Cancel,
    /// Student: tell me when a tutor who fits is available.
    Wait {
        /// Request.
        request: Request,
    },
}

/// To a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// Answer to `hello`.
    Welcome {
        /// The signed-in address.
        address: Address,
    },
    /// To a tutor: now online (answer to `online`).
    Online,
    /// To a tutor: a lesson is offered; answer with `accept` or `decline` within
    /// `expires_in_ms`.
    Proposed {
        /// Proposal.
        proposal: ProposalId,
        /// Terms to sign (student, token, rate).
        terms: Terms,
        /// The student's request.
        request: Request,
        /// Milliseconds left to accept.
        expires_in_ms: u64,
    },
    /// To a tutor: a proposal is gone.
    ProposalClosed {
        /// Proposal.
        proposal: ProposalId,
        /// Why.
        reason: Closed,
    },
    /// To a student: the search started (answer to `find`) or moved to its next tutor.
    Searching {
        /// Search.
        search: SearchId,
        /// 1-based attempt.
        attempt: u32,
    },
    /// To a student: matched. Send `openAccepted` with `acceptance` now; the tutor is
    /// held for `reserved_for_ms`.
    Matched {
        /// The tutor.
        tutor: Address,
        /// The signed acceptance to pass to `openAccepted`.
        acceptance: SignedAcceptance,
        /// The call.
        room: Room,
        /// Milliseconds the tutor is held.
        reserved_for_ms: u64,
    },
    /// To a tutor: the accept won; the student was told.
    Accepted {
        /// Proposal.
        proposal: ProposalId,
        /// The student.
        student: Address,
        /// The call.
        room: Room,
    },
    /// To a student: no match. Send `wait` to join the waitlist, or book a lesson.
    NoMatch {
        /// Search.
        search: SearchId,
        /// Why.
        reason: NoMatch,
    },
    /// To a student: on the waitlist (answer to `wait` when no tutor fits yet).
    Waiting,
    /// To a waitlisted student: a tutor who fits is available; send `find`.
    TutorAvailable {
        /// The tutor.
        tutor: Address,
    },
    /// To a waitlisted student: the entry expired.
    WaitlistExpired,
    /// To a student: the search was cancelled (answer to `cancel`).
    Cancelled,
    /// To a tutor: offline (answer to `offline`).
    Offline,
    /// A message was refused; nothing changed.
    Error {
        /// Stable code.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
    },
}

/// Stable error codes of [`ServerMsg::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a known message.
    BadMessage,
    /// `hello` missing, repeated, or with an unknown or expired token.
    Unauthorized,
    /// A profile or request field is unusable.
    InvalidInput,
    /// A search is already running.
    SearchRunning,
    /// No search is running.
    NoSearch,
    /// The tutor is not online.
    NotOnline,
    /// No such proposal.
    UnknownProposal,
    /// The proposal was made to someone else.
    NotYourProposal,
    /// The proposal closed (expired, cancelled, …).
    ProposalClosed,
    /// The acceptance is invalid: wrong signer, terms, expiry, fee cap or nonce.
    InvalidAcceptance,
    /// The student's balance or allowance is below the cap.
    InsufficientFunds,
    /// The chain could not be read; try again.
    ChainUnavailable,
    /// Too many messages.
    RateLimited,
    /// Several instances: the one holding the pool is not keeping up (or none holds it
    /// now) and the message was not queued; send it again later.
    Overloaded,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Amounts are accepted as decimal or `0x` strings; the tags are snake_case.
    #[test]
    fn messages_parse_as_documented() {
        let m: ClientMsg = serde_json::from_str(
            r#"{"type":"find","request":{"language":"es","level":"B1",
                "token":"0x00000000000000000000000000000000000000ee",
                "max_rate":"1000","credential":null,"cap":"0xf4240"}}"#,
        )
        .unwrap();
        let ClientMsg::Find { request } = m else {
            panic!("{m:?}")
        };
        assert_eq!(request.max_rate, U256::from(1_000));
        assert_eq!(request.cap, U256::from(1_000_000));
        let bad = serde_json::from_str::<ClientMsg>(
            r#"{"type":"find","request":{"language":"Spanish"}}"#,
        );
        assert!(bad.is_err());
        let out = serde_json::to_value(ServerMsg::NoMatch {
            search: 3,
            reason: NoMatch::AttemptsExhausted,
        })
        .unwrap();
        assert_eq!(
            out,
            serde_json::json!({"type": "no_match", "search": 3, "reason": "attempts_exhausted"})
        );
    }
}

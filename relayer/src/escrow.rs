//! The escrow's events as the relayer's Rust values, decoded with the shared bindings of
//! `abi/ISessionEscrow.sol` (`minuto_chain::bindings`).

use alloy_primitives::{Address, LogData, B256, U256};
use alloy_sol_types::SolEvent;

/// The escrow's interface, generated from `abi/ISessionEscrow.sol` by the shared crate.
pub use minuto_chain::bindings::ISessionEscrow;

/// Session state codes used by the escrow (`SessionView.state`, `EscrowInvalidState`)
/// that end a session.
pub mod state {
    /// Stopped and settled.
    pub const ENDED: u8 = 3;
    /// Cancelled before start.
    pub const CANCELLED: u8 = 4;
}

/// Topics the follower asks `eth_getLogs` for (topic 0, any of).
pub fn event_topics() -> Vec<B256> {
    vec![
        ISessionEscrow::SessionOpened::SIGNATURE_HASH,
        ISessionEscrow::SessionStarted::SIGNATURE_HASH,
        ISessionEscrow::SessionToppedUp::SIGNATURE_HASH,
        ISessionEscrow::Withdrawn::SIGNATURE_HASH,
        ISessionEscrow::SessionEnded::SIGNATURE_HASH,
        ISessionEscrow::SessionCancelled::SIGNATURE_HASH,
    ]
}

/// What the relayer needs from one escrow event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EscrowEvent {
    /// `SessionOpened`: the student's terms and heartbeat key.
    Opened {
        /// Session id.
        id: U256,
        /// Key that signs the student's heartbeats.
        student_key: Address,
        /// Base units per second, scaled by 1e18.
        rate: u128,
        /// Deposit at open.
        deposit: u128,
        /// Protocol fee in basis points.
        fee_bps: u16,
    },
    /// `SessionStarted`: the tutor's heartbeat key; accrual begins at `start`.
    Started {
        /// Session id.
        id: U256,
        /// Key that signs the tutor's heartbeats.
        tutor_key: Address,
        /// Block timestamp accrual began at.
        start: u64,
    },
    /// `SessionToppedUp`: the new total deposit.
    ToppedUp {
        /// Session id.
        id: U256,
        /// Total deposited after the top-up.
        deposited: u128,
    },
    /// `Withdrawn`: the tutor took `amount`.
    Withdrawn {
        /// Session id.
        id: U256,
        /// Amount withdrawn by this call.
        amount: u128,
    },
    /// `SessionEnded`.
    Ended {
        /// Session id.
        id: U256,
        /// When billing stopped.
        end: u64,
    },
    /// `SessionCancelled`.
    Cancelled {
        /// Session id.
        id: U256,
    },
}

/// An escrow event with its position in the chain.
pub type EscrowLog = minuto_chain::follower::Located<EscrowEvent>;

/// Why a log could not be turned into an [`EscrowEvent`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Topic 0 is not one of the escrow's events.
    #[error("unknown event topic {0:?}")]
    UnknownTopic(Option<B256>),
    /// The topics or data do not match the event's ABI.
    #[error("malformed {event} log: {source}")]
    Abi {
        /// Event name.
        event: &'static str,
        /// Decoder error.
        source: alloy_sol_types::Error,
    },
    /// An amount above `u128::MAX` (the escrow refuses those).
    #[error("amount out of range in {0} log")]
    AmountOutOfRange(&'static str),
}

fn amount(v: U256, event: &'static str) -> Result<u128, DecodeError> {
    u128::try_from(v).map_err(|_| DecodeError::AmountOutOfRange(event))
}

fn abi<E: SolEvent>(log: &LogData) -> Result<E, DecodeError> {
    E::decode_log_data(log).map_err(|source| DecodeError::Abi {
        event: E::SIGNATURE,
        source,
    })
}

/// Decodes one escrow log.
///
/// # Errors
/// [`DecodeError`] when the log is not a well-formed escrow event.
pub fn decode(log: &LogData) -> Result<EscrowEvent, DecodeError> {
    use ISessionEscrow as E;
    let topic = log.topics().first().copied();
    Ok(match topic {
        Some(E::SessionOpened::SIGNATURE_HASH) => {
            let e: E::SessionOpened = abi(log)?;
            EscrowEvent::Opened {
                id: e.id,
                student_key: e.studentKey,
                rate: amount(e.rate, "SessionOpened")?,
                deposit: amount(e.deposit, "SessionOpened")?,
                fee_bps: e.feeBps,
            }
        }
        Some(E::SessionStarted::SIGNATURE_HASH) => {
            let e: E::SessionStarted = abi(log)?;
            EscrowEvent::Started {
                id: e.id,
                tutor_key: e.tutorKey,
                start: e.start,
            }
        }
        Some(E::SessionToppedUp::SIGNATURE_HASH) => {
            let e: E::SessionToppedUp = abi(log)?;
            EscrowEvent::ToppedUp {
                id: e.id,
                deposited: amount(e.deposited, "SessionToppedUp")?,
            }
        }
        Some(E::Withdrawn::SIGNATURE_HASH) => {
            let e: E::Withdrawn = abi(log)?;
            EscrowEvent::Withdrawn {
                id: e.id,
                amount: amount(e.amount, "Withdrawn")?,
            }
        }
        Some(E::SessionEnded::SIGNATURE_HASH) => {
            let e: E::SessionEnded = abi(log)?;
            EscrowEvent::Ended {
                id: e.id,
                end: e.end,
            }
        }
        Some(E::SessionCancelled::SIGNATURE_HASH) => {
            let e: E::SessionCancelled = abi(log)?;
            EscrowEvent::Cancelled { id: e.id }
        }
        other => return Err(DecodeError::UnknownTopic(other)),
    })
}

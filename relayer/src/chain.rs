//! What the relayer needs from the chain, behind a trait so liveness, follower and
//! retry logic are tested on paused time without sockets.

use std::future::Future;

use alloy::transports::TransportError;
use alloy_primitives::{Bytes, B256, U256};
use url::Url;

use crate::escrow::EscrowLog;

/// The newest block the node knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Block number.
    pub number: u64,
    /// Block timestamp (the chain's `now` for `stopAt` bounds).
    pub timestamp: u64,
}

/// How a stop request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopOutcome {
    /// Our `stopAt` transaction was mined and succeeded.
    Stopped {
        /// The mined transaction.
        tx: B256,
        /// The `at` that was submitted (after any re-clamping to the contract's bounds).
        at: u64,
    },
    /// The session had already ended (another relayer, a party's own `stop`, or a
    /// cancel): nothing to do, and not a failure.
    AlreadyEnded,
}

/// EIP-1559 fee pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    /// Fee cap per gas.
    pub max_fee_per_gas: u128,
    /// Tip per gas.
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// Both fees raised by `percent` (at least one wei each), the cap kept at `cap`.
    pub fn bumped(self, percent: u32, cap: Option<u128>) -> Self {
        let up = |v: u128| v.saturating_add((v.saturating_mul(u128::from(percent)) / 100).max(1));
        let mut max_fee = up(self.max_fee_per_gas);
        if let Some(cap) = cap {
            max_fee = max_fee.min(cap.max(self.max_fee_per_gas));
        }
        Self {
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: up(self.max_priority_fee_per_gas).min(max_fee),
        }
    }

    /// At most `cap` per gas, the tip never above the fee cap.
    pub fn capped(self, cap: Option<u128>) -> Self {
        let max_fee = cap.map_or(self.max_fee_per_gas, |c| self.max_fee_per_gas.min(c));
        Self {
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas.min(max_fee),
        }
    }

    /// Each fee at least `other`'s.
    pub fn at_least(self, other: Self) -> Self {
        Self {
            max_fee_per_gas: self.max_fee_per_gas.max(other.max_fee_per_gas),
            max_priority_fee_per_gas: self
                .max_priority_fee_per_gas
                .max(other.max_priority_fee_per_gas),
        }
    }
}

/// A `stopAt` sent and not yet known to be mined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingStop {
    /// Session id.
    pub id: U256,
    /// Submitted `at`.
    pub at: u64,
    /// Submitted `silent`: every replacement sends the same call.
    pub silent: u8,
    /// The nonce every replacement reuses.
    pub nonce: u64,
    /// Gas limit.
    pub gas: u64,
    /// Fees of the latest transaction sent.
    pub fees: Fees,
    /// Hashes of every transaction sent with this nonce.
    pub sent: Vec<B256>,
}

/// What sending a stop gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SentStop {
    /// Nothing more to do (already ended, or the stop was carried out in full).
    Done(StopOutcome),
    /// In the mempool: the submitter watches it until mined or replaced.
    Pending(PendingStop),
}

/// A JSON-RPC failure. Its text never holds the node URL's path or query (hosted RPC
/// URLs carry API keys there, and errors are logged).
#[derive(Clone, Debug, thiserror::Error)]
#[error("rpc {method}: {message}")]
pub struct RpcError {
    /// What was asked.
    pub method: &'static str,
    message: String,
    /// The node's own error (JSON-RPC error object), if it answered one.
    node: Option<NodeError>,
}

#[derive(Clone, Debug)]
struct NodeError {
    message: String,
    revert: Option<Bytes>,
}

impl RpcError {
    /// The error of `method`, with `url`'s credentials cut out of the text.
    pub(crate) fn new(method: &'static str, e: &TransportError, url: &Url) -> Self {
        let node = e.as_error_resp().map(|p| NodeError {
            message: p.message.to_string(),
            revert: p.as_revert_data(),
        });
        // Only the scheme, host and port are shown: the user, password, path and query
        // are where hosted endpoints put credentials.
        let message = minuto_chain::network::redact(&e.to_string(), url);
        Self {
            method,
            message,
            node,
        }
    }

    /// A failure that carries no node error object; `message` must hold no secret.
    pub(crate) fn local(method: &'static str, message: String) -> Self {
        Self {
            method,
            message,
            node: None,
        }
    }

    /// Revert data carried by a node error (`eth_call`, `eth_estimateGas`).
    pub fn revert_data(&self) -> Option<&Bytes> {
        self.node.as_ref().and_then(|n| n.revert.as_ref())
    }

    /// Whether the node answered with an error object (else the transport failed).
    pub fn answered_by_node(&self) -> bool {
        self.node.is_some()
    }

    /// The node's error message, lower-cased, for classifying pool errors.
    pub fn node_message(&self) -> Option<String> {
        self.node.as_ref().map(|n| n.message.to_ascii_lowercase())
    }
}

/// Chain access failures.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// JSON-RPC transport or node error.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A log that is not a well-formed escrow event.
    #[error(transparent)]
    Decode(#[from] crate::escrow::DecodeError),
    /// The node answered something the relayer cannot use.
    #[error("unexpected node answer: {0}")]
    Unexpected(String),
    /// The escrow refused `stopAt` for a reason retrying cannot fix.
    #[error("stopAt({id}, {at}) reverted: {reason}")]
    Reverted {
        /// Session id.
        id: U256,
        /// Submitted `at`.
        at: u64,
        /// Decoded revert reason.
        reason: String,
    },
    /// No transaction of ours got mined within the allowed attempts.
    #[error("stopAt({id}) not mined after {attempts} attempts")]
    NotMined {
        /// Session id.
        id: U256,
        /// Transactions sent (same nonce, rising fees).
        attempts: u32,
    },
    /// The node says our nonce was already used.
    #[error("nonce too low")]
    NonceTooLow,
    /// The node refused a replacement because its fee was not high enough.
    #[error("replacement transaction underpriced")]
    Underpriced,
}

/// The chain as the relayer sees it.
pub trait Chain: Send + Sync + 'static {
    /// The latest block.
    fn head(&self) -> impl Future<Output = Result<Head, ChainError>> + Send;

    /// Escrow events in blocks `from..=to`, in chain order.
    fn logs(
        &self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<EscrowLog>, ChainError>> + Send;

    /// The escrow's `maxBackdate()` in seconds.
    fn max_backdate(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;

    /// Ends session `id` at `at` (already clamped by the caller to the bounds the chain
    /// head implies), naming the silent party (`silent`, see
    /// [`StopReason::silent`](crate::liveness::StopReason::silent): a booked session the
    /// student left bills its minimum time, one the tutor left counts against the tutor,
    /// neither when it is 0). Idempotent: a session
    /// that already ended is [`StopOutcome::AlreadyEnded`].
    fn stop_at(
        &self,
        id: U256,
        at: u64,
        silent: u8,
    ) -> impl Future<Output = Result<StopOutcome, ChainError>> + Send;

    /// The hash of block `number` (`None`: unknown, or not tracked by this chain); the
    /// follower compares it with what it read to notice reorganisations.
    fn block_hash(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<B256>, ChainError>> + Send {
        let _ = number;
        async { Ok(None) }
    }

    /// Logs skipped so far because they could not be decoded.
    fn undecodable_logs(&self) -> u64 {
        0
    }

    /// Whether this relayer's account is still in the escrow's relayer set.
    fn is_relayer(&self) -> impl Future<Output = Result<bool, ChainError>> + Send {
        async { Ok(true) }
    }

    /// The first half of [`Chain::stop_at`]: returns once the stop is sent, so the
    /// caller can free its submission slot before the transaction is mined. The default
    /// does the whole stop.
    fn send_stop(
        &self,
        id: U256,
        at: u64,
        silent: u8,
    ) -> impl Future<Output = Result<SentStop, ChainError>> + Send {
        async move { self.stop_at(id, at, silent).await.map(SentStop::Done) }
    }

    /// The second half: waits for a sent stop to be mined (bumping its fees while it is
    /// stuck).
    fn confirm_stop(
        &self,
        pending: PendingStop,
    ) -> impl Future<Output = Result<StopOutcome, ChainError>> + Send {
        async move {
            Err(ChainError::Unexpected(format!(
                "this chain never leaves a stop pending (session {})",
                pending.id
            )))
        }
    }
}

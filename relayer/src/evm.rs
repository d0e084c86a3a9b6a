//! [`Chain`] over a JSON-RPC node: the production implementation.

use std::sync::Arc;

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::{SolCall, SolError};
use k256::ecdsa::SigningKey;

use crate::chain::{Chain, ChainError, Head, PendingStop, SentStop, StopOutcome};
use crate::escrow::{self, state, EscrowLog, ISessionEscrow};
use crate::rpc::{CallRequest, RpcClient, RpcError};
use crate::submit::{Fees, Precheck, SubmitConfig, Submitter, TxRpc};
use crate::tx::Eip1559Tx;

/// The relayer's account: a secp256k1 key. `Debug` shows the address only.
#[derive(Clone)]
pub struct RelayerKey {
    key: SigningKey,
    address: Address,
}

impl RelayerKey {
    /// Wraps a signing key.
    pub fn new(key: SigningKey) -> Self {
        let address = Address::from_private_key(&key);
        Self { key, address }
    }

    /// The account address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The signing key (never log it).
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl std::fmt::Debug for RelayerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayerKey")
            .field("address", &self.address)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Raw operations against the node for one escrow and one relayer account.
#[derive(Debug)]
pub struct EvmRpc {
    rpc: Arc<RpcClient>,
    escrow: Address,
    chain_id: u64,
    key: RelayerKey,
}

fn stop_call(id: U256, at: u64) -> Bytes {
    ISessionEscrow::stopAtCall { id, at }.abi_encode().into()
}

/// Classifies revert data from a `stopAt` dry run.
pub fn classify_revert(data: Option<&Bytes>, message: &str) -> Precheck {
    if let Some(data) = data {
        if let Ok(e) = ISessionEscrow::EscrowInvalidState::abi_decode(data) {
            if e.state == state::ENDED || e.state == state::CANCELLED {
                return Precheck::AlreadyEnded;
            }
            return Precheck::Reverted(format!("EscrowInvalidState(state = {})", e.state));
        }
        if let Ok(e) = ISessionEscrow::EscrowStopAtOutOfRange::abi_decode(data) {
            return Precheck::OutOfRange {
                earliest: e.earliest,
                latest: e.latest,
            };
        }
        if let Ok(e) = ISessionEscrow::EscrowUnauthorized::abi_decode(data) {
            return Precheck::Reverted(format!("EscrowUnauthorized(caller = {})", e.caller));
        }
        if let Ok(e) = ISessionEscrow::EscrowNotRelayer::abi_decode(data) {
            return Precheck::Reverted(format!(
                "EscrowNotRelayer(caller = {}): removed from the relayer set",
                e.caller
            ));
        }
        if ISessionEscrow::EscrowUnknownSession::abi_decode(data).is_ok() {
            return Precheck::Reverted("EscrowUnknownSession".into());
        }
    }
    Precheck::Reverted(message.to_owned())
}

fn classify_send(e: RpcError) -> ChainError {
    match e.node_message() {
        Some(m) if m.contains("nonce too low") || m.contains("nonce is too low") => {
            ChainError::NonceTooLow
        }
        Some(m) if m.contains("underpriced") => ChainError::Underpriced,
        _ => ChainError::Rpc(e),
    }
}

impl TxRpc for EvmRpc {
    async fn precheck(&self, id: U256, at: u64) -> Result<Precheck, ChainError> {
        let request = CallRequest {
            from: self.key.address,
            to: self.escrow,
            input: stop_call(id, at),
        };
        match self.rpc.eth_call_pending(&request).await {
            Ok(_) => {}
            Err(e @ RpcError::Node { .. }) => {
                let message = e.to_string();
                return Ok(classify_revert(e.revert_data(), &message));
            }
            Err(e) => return Err(e.into()),
        }
        match self.rpc.estimate_gas(&request).await {
            Ok(gas) => Ok(Precheck::Ok { gas }),
            Err(e @ RpcError::Node { .. }) => {
                let message = e.to_string();
                Ok(classify_revert(e.revert_data(), &message))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn pending_nonce(&self) -> Result<u64, ChainError> {
        Ok(self.rpc.pending_nonce(self.key.address).await?)
    }

    async fn fees(&self) -> Result<Fees, ChainError> {
        let block = self.rpc.latest_block().await?;
        let base: u128 = block
            .base_fee_per_gas
            .ok_or_else(|| {
                ChainError::Unexpected("no baseFeePerGas: not an EIP-1559 chain".into())
            })?
            .to();
        let tip = self.rpc.max_priority_fee().await?;
        // Room for the base fee to double while we wait, as wallets do.
        Ok(Fees {
            max_fee_per_gas: base.saturating_mul(2).saturating_add(tip),
            max_priority_fee_per_gas: tip,
        })
    }

    async fn send(
        &self,
        id: U256,
        at: u64,
        nonce: u64,
        gas: u64,
        fees: Fees,
    ) -> Result<B256, ChainError> {
        let tx = Eip1559Tx {
            chain_id: self.chain_id,
            nonce,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            max_fee_per_gas: fees.max_fee_per_gas,
            gas_limit: gas,
            to: self.escrow,
            value: U256::ZERO,
            input: stop_call(id, at),
        };
        let (raw, hash) = tx.sign(self.key.signing_key());
        match self.rpc.send_raw(&raw).await {
            Ok(_) => Ok(hash),
            // The node already has exactly this transaction: same hash.
            Err(e)
                if e.node_message()
                    .is_some_and(|m| m.contains("already known")) =>
            {
                Ok(hash)
            }
            Err(e) => Err(classify_send(e)),
        }
    }

    async fn receipt(&self, tx: B256) -> Result<Option<bool>, ChainError> {
        Ok(self
            .rpc
            .receipt(tx)
            .await?
            .map(|r| r.status.to::<u64>() == 1))
    }
}

/// The escrow on a JSON-RPC chain, with a nonce-managing submitter for `stopAt`.
#[derive(Debug)]
pub struct EvmChain {
    rpc: Arc<RpcClient>,
    escrow: Address,
    topics: Vec<B256>,
    submitter: Submitter<EvmRpc>,
    undecodable: std::sync::atomic::AtomicU64,
}

/// Why the chain cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The node is unreachable or failing.
    #[error("cannot query the node: {0}")]
    Rpc(#[from] RpcError),
    /// The node serves another chain than configured.
    #[error("node reports chain id {actual}, config says {configured}")]
    WrongChain {
        /// From config.
        configured: u64,
        /// From the node.
        actual: u64,
    },
    /// Nothing deployed at the escrow address.
    #[error("escrow {0} does not answer maxBackdate(): wrong address? ({1})")]
    NotEscrow(Address, String),
    /// The relayer account is not in the escrow's relayer set.
    #[error("account {0} is not an authorized relayer of the escrow")]
    NotRelayer(Address),
}

impl EvmChain {
    /// Connects, checking the chain id, that the escrow answers and that the key is an
    /// authorized relayer.
    ///
    /// # Errors
    /// [`ConnectError`] when any check fails.
    pub async fn connect(
        rpc: RpcClient,
        escrow: Address,
        chain_id: u64,
        key: RelayerKey,
        submit: SubmitConfig,
    ) -> Result<Self, ConnectError> {
        let actual = rpc.chain_id().await?;
        if actual != chain_id {
            return Err(ConnectError::WrongChain {
                configured: chain_id,
                actual,
            });
        }
        let rpc = Arc::new(rpc);
        let address = key.address();
        let chain = Self {
            rpc: rpc.clone(),
            escrow,
            topics: escrow::event_topics(),
            undecodable: std::sync::atomic::AtomicU64::new(0),
            submitter: Submitter::new(
                EvmRpc {
                    rpc,
                    escrow,
                    chain_id,
                    key,
                },
                submit,
            ),
        };
        chain
            .view_max_backdate()
            .await
            .map_err(|e| ConnectError::NotEscrow(escrow, e.to_string()))?;
        let call = ISessionEscrow::isRelayerCall { account: address };
        let out = chain
            .rpc
            .eth_call(&CallRequest {
                from: address,
                to: escrow,
                input: call.abi_encode().into(),
            })
            .await?;
        let is_relayer = ISessionEscrow::isRelayerCall::abi_decode_returns(&out)
            .map_err(|e| ConnectError::NotEscrow(escrow, e.to_string()))?;
        if !is_relayer {
            return Err(ConnectError::NotRelayer(address));
        }
        Ok(chain)
    }

    async fn view_max_backdate(&self) -> Result<u64, ChainError> {
        let out = self
            .rpc
            .eth_call(&CallRequest {
                from: Address::ZERO,
                to: self.escrow,
                input: ISessionEscrow::maxBackdateCall {}.abi_encode().into(),
            })
            .await?;
        let v = ISessionEscrow::maxBackdateCall::abi_decode_returns(&out)
            .map_err(|e| ChainError::Unexpected(format!("maxBackdate(): {e}")))?;
        Ok(u64::from(v))
    }
}

/// The escrow's events among `raw`, in chain order, and how many logs could not be
/// decoded. A log that is not a well-formed escrow event (an ABI change the relayer does
/// not know yet, a node's bug) is skipped and counted, never a reason to stop following:
/// one bad log would otherwise halt every later stop.
pub fn decode_logs(mut raw: Vec<crate::rpc::RpcLog>, escrow: Address) -> (Vec<EscrowLog>, u64) {
    raw.retain(|l| !l.removed && l.address == escrow);
    raw.sort_by_key(|l| (l.block_number, l.log_index));
    let mut skipped = 0;
    let logs = raw
        .into_iter()
        .filter_map(|l| {
            let (block, log_index) = (l.block_number.to(), l.log_index.to());
            let data = alloy_primitives::LogData::new_unchecked(l.topics, l.data);
            match escrow::decode(&data) {
                Ok(event) => Some(EscrowLog {
                    block,
                    log_index,
                    event,
                }),
                Err(e) => {
                    skipped += 1;
                    tracing::warn!(block, log_index, error = %e, "undecodable escrow log skipped");
                    None
                }
            }
        })
        .collect();
    (logs, skipped)
}

impl Chain for EvmChain {
    async fn head(&self) -> Result<Head, ChainError> {
        let block = self.rpc.latest_block().await?;
        Ok(Head {
            number: block.number.to(),
            timestamp: block.timestamp.to(),
        })
    }

    async fn logs(&self, from: u64, to: u64) -> Result<Vec<EscrowLog>, ChainError> {
        let raw = self.rpc.logs(self.escrow, &self.topics, from, to).await?;
        let (logs, skipped) = decode_logs(raw, self.escrow);
        self.undecodable
            .fetch_add(skipped, std::sync::atomic::Ordering::Relaxed);
        Ok(logs)
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        Ok(self.rpc.block(number).await?.and_then(|b| b.hash))
    }

    fn undecodable_logs(&self) -> u64 {
        self.undecodable.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn is_relayer(&self) -> Result<bool, ChainError> {
        let address = self.submitter.rpc().key.address;
        let out = self
            .rpc
            .eth_call(&CallRequest {
                from: address,
                to: self.escrow,
                input: ISessionEscrow::isRelayerCall { account: address }
                    .abi_encode()
                    .into(),
            })
            .await?;
        ISessionEscrow::isRelayerCall::abi_decode_returns(&out)
            .map_err(|e| ChainError::Unexpected(format!("isRelayer(): {e}")))
    }

    async fn max_backdate(&self) -> Result<u64, ChainError> {
        self.view_max_backdate().await
    }

    async fn stop_at(&self, id: U256, at: u64) -> Result<StopOutcome, ChainError> {
        self.submitter.stop_at(id, at).await
    }

    async fn send_stop(&self, id: U256, at: u64) -> Result<SentStop, ChainError> {
        self.submitter.send(id, at).await
    }

    async fn confirm_stop(&self, pending: PendingStop) -> Result<StopOutcome, ChainError> {
        self.submitter.confirm(pending).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_logs_skips_and_counts_what_it_cannot_decode() {
        use alloy_primitives::U64;
        use alloy_sol_types::SolEvent;
        let escrow = Address::repeat_byte(0xe5);
        let topped = ISessionEscrow::SessionToppedUp {
            id: U256::from(7),
            amount: U256::from(1),
            deposited: U256::from(11),
        }
        .encode_log_data();
        let log = |block: u64, topics: Vec<B256>, data: Bytes| crate::rpc::RpcLog {
            address: escrow,
            topics,
            data,
            block_number: U64::from(block),
            log_index: U64::ZERO,
            removed: false,
        };
        let raw = vec![
            log(3, topped.topics().to_vec(), topped.data.clone()),
            // SessionToppedUp's topic with truncated data: not decodable.
            log(2, topped.topics().to_vec(), Bytes::from(vec![0u8; 5])),
        ];
        let (logs, skipped) = decode_logs(raw, escrow);
        assert_eq!(skipped, 1);
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].block, 3);
    }

    #[test]
    fn classify_revert_maps_escrow_errors() {
        let ended = ISessionEscrow::EscrowInvalidState {
            id: U256::from(1),
            state: state::ENDED,
        }
        .abi_encode();
        assert_eq!(
            classify_revert(Some(&ended.into()), "x"),
            Precheck::AlreadyEnded
        );
        let range = ISessionEscrow::EscrowStopAtOutOfRange {
            id: U256::from(1),
            at: 5,
            earliest: 10,
            latest: 20,
        }
        .abi_encode();
        assert_eq!(
            classify_revert(Some(&range.into()), "x"),
            Precheck::OutOfRange {
                earliest: 10,
                latest: 20
            }
        );
        let open = ISessionEscrow::EscrowInvalidState {
            id: U256::from(1),
            state: 1,
        }
        .abi_encode();
        assert_eq!(
            classify_revert(Some(&open.into()), "x"),
            Precheck::Reverted("EscrowInvalidState(state = 1)".into())
        );
        let removed = ISessionEscrow::EscrowNotRelayer {
            caller: Address::repeat_byte(7),
        }
        .abi_encode();
        assert!(matches!(
            classify_revert(Some(&removed.into()), "x"),
            Precheck::Reverted(m) if m.starts_with("EscrowNotRelayer")
        ));
        assert_eq!(
            classify_revert(None, "boom"),
            Precheck::Reverted("boom".into())
        );
    }
}

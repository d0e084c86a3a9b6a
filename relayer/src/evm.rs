//! [`Chain`] over a JSON-RPC node, through an alloy provider and the escrow's `sol!`
//! bindings from `minuto-chain`: the production implementation.
//!
//! Transactions are built and signed with alloy ([`TransactionRequest`] and
//! [`EthereumWallet`]); which nonce and fees they carry, and when one is replaced, stays
//! with [`crate::submit::Submitter`], which alloy's fillers cannot replace: a stuck nonce
//! must not block later stops, and a stop never waits for mining to free its slot.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy::eips::{BlockId, BlockNumberOrTag, Encodable2718};
use alloy::network::{NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, Bytes, LogData, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{BlockOverrides, Header, TransactionRequest};
use alloy::sol_types::{SolCall, SolInterface};
use alloy::transports::TransportError;
use minuto_chain::bindings::ISessionEscrow::{self, ISessionEscrowErrors};
use minuto_chain::follower::ContractLogs;
use tracing::{debug, warn};
use url::Url;

pub use crate::chain::RpcError;
use crate::chain::{Chain, ChainError, Head, PendingStop, SentStop, StopOutcome};
use crate::config::Config;
pub use crate::config::RelayerKey;
use crate::escrow::{self, state, DecodeError, EscrowEvent, EscrowLog};
use crate::submit::{Fees, Precheck, ReceiptCounts, Submitter, TxRpc};

/// Classifies revert data from a `stopAt` dry run.
pub fn classify_revert(data: Option<&Bytes>, message: &str) -> Precheck {
    let Some(error) = data.and_then(|d| ISessionEscrowErrors::abi_decode(d).ok()) else {
        return Precheck::Reverted(message.to_owned());
    };
    match error {
        ISessionEscrowErrors::EscrowInvalidState(e)
            if e.state == state::ENDED || e.state == state::CANCELLED =>
        {
            Precheck::AlreadyEnded
        }
        ISessionEscrowErrors::EscrowInvalidState(e) => {
            Precheck::Reverted(format!("EscrowInvalidState(state = {})", e.state))
        }
        ISessionEscrowErrors::EscrowStopAtOutOfRange(e) => Precheck::OutOfRange {
            earliest: e.earliest,
            latest: e.latest,
        },
        ISessionEscrowErrors::EscrowUnauthorized(e) => {
            Precheck::Reverted(format!("EscrowUnauthorized(caller = {})", e.caller))
        }
        ISessionEscrowErrors::EscrowNotRelayer(e) => Precheck::Reverted(format!(
            "EscrowNotRelayer(caller = {}): removed from the relayer set",
            e.caller
        )),
        ISessionEscrowErrors::EscrowUnknownSession(_) => {
            Precheck::Reverted("EscrowUnknownSession".into())
        }
        other => Precheck::Reverted(format!("{other:?}")),
    }
}

/// How long the latest block read from the node is reused: every stop being sent and
/// the receipt scan share one `eth_getBlockByNumber` per interval.
const HEAD_TTL: Duration = Duration::from_millis(250);

/// What one node connection shares between concurrent stops.
#[derive(Debug, Default)]
struct Shared {
    /// The latest block and when it was read.
    head: tokio::sync::Mutex<Option<(tokio::time::Instant, Header)>>,
    /// The fees computed for a block (one tip query per block).
    fees: tokio::sync::Mutex<Option<(u64, Fees)>>,
    /// The node refused block overrides on `eth_estimateGas`: dry runs use the pending
    /// block instead.
    no_block_overrides: AtomicBool,
}

/// The node and the escrow, as the submitter and the follower use them. `Debug` shows
/// the node's host only: the path and query of hosted RPC URLs often carry an API key.
#[derive(Clone, derive_more::Debug)]
pub struct Node {
    #[debug(skip)]
    provider: DynProvider,
    #[debug("{:?}", url.host_str())]
    url: Url,
    escrow: Address,
    chain_id: u64,
    key: RelayerKey,
    shared: Arc<Shared>,
}

impl Node {
    fn err(&self, method: &'static str) -> impl Fn(TransportError) -> RpcError + '_ {
        move |e| RpcError::new(method, &e, &self.url)
    }

    /// `call` to the escrow from the relayer's account.
    fn request(&self, call: impl SolCall) -> TransactionRequest {
        TransactionRequest::default()
            .with_from(self.key.address())
            .with_to(self.escrow)
            .with_input(call.abi_encode())
    }

    fn stop_request(&self, id: U256, at: u64, silent: u8) -> TransactionRequest {
        self.request(ISessionEscrow::stopAtCall { id, at, silent })
    }

    /// `eth_call` of a view of the escrow at the latest block.
    async fn view<C: SolCall>(&self, call: C) -> Result<C::Return, ChainError> {
        let out = (self.provider.call(self.request(call)).await).map_err(self.err("eth_call"))?;
        C::abi_decode_returns(&out)
            .map_err(|e| ChainError::Unexpected(format!("{}: {e}", C::SIGNATURE)))
    }

    /// The latest block, read at most once per [`HEAD_TTL`] whoever asks.
    async fn latest_block(&self) -> Result<Header, ChainError> {
        let mut cached = self.shared.head.lock().await;
        if let Some((read, header)) = &*cached {
            if read.elapsed() < HEAD_TTL {
                return Ok(header.clone());
            }
        }
        let header = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(self.err("eth_getBlockByNumber"))?
            .map(|b| b.header)
            .ok_or_else(|| ChainError::Unexpected("no latest block".into()))?;
        *cached = Some((tokio::time::Instant::now(), header.clone()));
        Ok(header)
    }

    /// `eth_estimateGas` of `stopAt(id, at)` on the latest state, in a block stamped
    /// with the time it will be mined at (at least now, never before the latest block):
    /// not the `pending` block, which a node such as anvil builds by executing every
    /// transaction in its pool, each time.
    async fn estimate_stop(&self, tx: TransactionRequest) -> Result<u64, RpcError> {
        let latest = self
            .latest_block()
            .await
            .map_err(|e| RpcError::local("eth_getBlockByNumber", e.to_string()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let block = BlockOverrides {
            time: Some(latest.timestamp.max(now)),
            ..BlockOverrides::default()
        };
        self.provider
            .estimate_gas(tx)
            .block(BlockId::latest())
            .with_block_overrides(block)
            .await
            .map_err(self.err("eth_estimateGas"))
    }
}

fn dry_run(e: RpcError) -> Result<Precheck, ChainError> {
    if e.answered_by_node() {
        Ok(classify_revert(e.revert_data(), &e.to_string()))
    } else {
        Err(e.into())
    }
}

impl TxRpc for Node {
    async fn precheck(&self, id: U256, at: u64, silent: u8) -> Result<Precheck, ChainError> {
        // One request: the estimate, whose revert data says why the escrow would refuse.
        // Dated at the mining time, not at the latest block's, which on a quiet chain
        // can be much older than `at`.
        let tx = self.stop_request(id, at, silent);
        let overrides = !self.shared.no_block_overrides.load(Ordering::Relaxed);
        if overrides {
            match self.estimate_stop(tx.clone()).await {
                Ok(gas) => return Ok(Precheck::Ok { gas }),
                Err(e) if !e.answered_by_node() || e.revert_data().is_some() => return dry_run(e),
                // A node error without revert data: perhaps it does not take block
                // overrides. The pending block answers the same question, slowly.
                Err(e) => debug!(error = %e, "estimate with block overrides refused"),
            }
        }
        let pending = self
            .provider
            .estimate_gas(tx)
            .block(BlockId::pending())
            .await
            .map_err(self.err("eth_estimateGas"));
        let answered = (pending.as_ref()).map_or_else(|e| e.revert_data().is_some(), |_| true);
        if overrides && answered {
            warn!("the node refuses block overrides on eth_estimateGas: dry runs use the pending block");
            self.shared
                .no_block_overrides
                .store(true, Ordering::Relaxed);
        }
        match pending {
            Ok(gas) => Ok(Precheck::Ok { gas }),
            Err(e) => dry_run(e),
        }
    }

    async fn pending_nonce(&self) -> Result<u64, ChainError> {
        Ok(self
            .provider
            .get_transaction_count(self.key.address())
            .pending()
            .await
            .map_err(self.err("eth_getTransactionCount"))?)
    }

    async fn fees(&self) -> Result<Fees, ChainError> {
        let latest = self.latest_block().await?;
        // Computed once per block, for every stop sent in it.
        let mut cached = self.shared.fees.lock().await;
        if let Some((block, fees)) = *cached {
            if block == latest.number {
                return Ok(fees);
            }
        }
        let base = u128::from(latest.base_fee_per_gas.ok_or_else(|| {
            ChainError::Unexpected("no baseFeePerGas: not an EIP-1559 chain".into())
        })?);
        let tip = self
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .map_err(self.err("eth_maxPriorityFeePerGas"))?;
        // Room for the base fee to double while we wait, as wallets do.
        let fees = Fees {
            max_fee_per_gas: base.saturating_mul(2).saturating_add(tip),
            max_priority_fee_per_gas: tip,
        };
        *cached = Some((latest.number, fees));
        Ok(fees)
    }

    async fn send(
        &self,
        id: U256,
        at: u64,
        silent: u8,
        nonce: u64,
        gas: u64,
        fees: Fees,
    ) -> Result<B256, ChainError> {
        let tx = self
            .stop_request(id, at, silent)
            .with_chain_id(self.chain_id)
            .with_nonce(nonce)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas)
            .with_value(U256::ZERO);
        let signed = tx
            .build(&self.key.wallet())
            .await
            .map_err(|e| ChainError::Unexpected(format!("cannot sign stopAt: {e}")))?;
        let hash = *signed.tx_hash();
        match self
            .provider
            .send_raw_transaction(&signed.encoded_2718())
            .await
        {
            Ok(_) => Ok(hash),
            Err(e) => {
                let e = RpcError::new("eth_sendRawTransaction", &e, &self.url);
                match e.node_message() {
                    // The node already has exactly this transaction: same hash.
                    Some(m) if m.contains("already known") => Ok(hash),
                    Some(m) if m.contains("nonce too low") || m.contains("nonce is too low") => {
                        Err(ChainError::NonceTooLow)
                    }
                    Some(m) if m.contains("underpriced") => Err(ChainError::Underpriced),
                    _ => Err(e.into()),
                }
            }
        }
    }

    async fn receipt(&self, tx: B256) -> Result<Option<bool>, ChainError> {
        Ok(self
            .provider
            .get_transaction_receipt(tx)
            .await
            .map_err(self.err("eth_getTransactionReceipt"))?
            .map(|r| r.status()))
    }

    async fn block_number(&self) -> Result<u64, ChainError> {
        Ok(self.latest_block().await?.number)
    }

    async fn block_receipts(&self, number: u64) -> Result<Option<Vec<(B256, bool)>>, ChainError> {
        Ok(self
            .provider
            .get_block_receipts(BlockId::number(number))
            .await
            .map_err(self.err("eth_getBlockReceipts"))?
            .map(|receipts| {
                receipts
                    .iter()
                    .map(|r| (r.transaction_hash, r.status()))
                    .collect()
            }))
    }
}

/// The escrow on a JSON-RPC chain, with a nonce-managing submitter for `stopAt`.
#[derive(Debug)]
pub struct EvmChain {
    submitter: Submitter<Node>,
    logs: ContractLogs<EscrowEvent, Decode>,
}

type Decode = fn(&LogData) -> Result<EscrowEvent, DecodeError>;

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
    /// The config holds no relayer key (it was not made by `Config::load`).
    #[error("the config holds no relayer key")]
    NoKey,
    /// The relayer account is not in the escrow's relayer set.
    #[error("account {0} is not an authorized relayer of the escrow")]
    NotRelayer(Address),
}

impl EvmChain {
    /// Connects to the node at `config.rpc_url` (each request bounded by `rpc_timeout`),
    /// checking the chain id, that the escrow answers and that the key is an authorized
    /// relayer.
    ///
    /// # Errors
    /// [`ConnectError`] when any check fails.
    pub async fn connect(config: &Config) -> Result<Self, ConnectError> {
        let (url, escrow, chain_id) = (&config.rpc_url, config.escrow, config.chain_id);
        let provider = minuto_chain::http_provider(url, config.rpc_timeout)
            .map_err(|e| RpcError::local("connect", e.without_url().to_string()))?;
        let node = Node {
            provider,
            url: url.clone(),
            escrow,
            chain_id,
            key: config.key.clone().ok_or(ConnectError::NoKey)?,
            shared: Arc::default(),
        };
        let actual = node
            .provider
            .get_chain_id()
            .await
            .map_err(node.err("eth_chainId"))?;
        if actual != chain_id {
            return Err(ConnectError::WrongChain {
                configured: chain_id,
                actual,
            });
        }
        let address = node.key.address();
        let chain = Self {
            logs: ContractLogs::new(
                node.provider.clone(),
                escrow,
                escrow::event_topics(),
                escrow::decode as Decode,
            ),
            submitter: Submitter::new(node, config.tx.submit()),
        };
        chain
            .max_backdate()
            .await
            .map_err(|e| ConnectError::NotEscrow(escrow, e.to_string()))?;
        match chain.is_relayer().await {
            Ok(true) => Ok(chain),
            Ok(false) => Err(ConnectError::NotRelayer(address)),
            Err(ChainError::Rpc(e)) => Err(e.into()),
            Err(e) => Err(ConnectError::NotEscrow(escrow, e.to_string())),
        }
    }

    fn node(&self) -> &Node {
        self.submitter.rpc()
    }

    /// How the receipts of this chain's stops were found so far.
    pub fn receipt_counts(&self) -> ReceiptCounts {
        self.submitter.receipt_counts()
    }
}

impl Chain for EvmChain {
    async fn head(&self) -> Result<Head, ChainError> {
        let header = self.node().latest_block().await?;
        Ok(Head {
            number: header.number,
            timestamp: header.timestamp,
        })
    }

    async fn logs(&self, from: u64, to: u64) -> Result<Vec<EscrowLog>, ChainError> {
        Ok(self
            .logs
            .fetch(from, to)
            .await
            .map_err(self.node().err("eth_getLogs"))?)
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        let node = self.node();
        Ok(node
            .provider
            .get_block_by_number(number.into())
            .await
            .map_err(node.err("eth_getBlockByNumber"))?
            .map(|b| b.header.hash))
    }

    fn undecodable_logs(&self) -> u64 {
        self.logs.undecodable()
    }

    async fn is_relayer(&self) -> Result<bool, ChainError> {
        let account = self.node().key.address();
        self.node()
            .view(ISessionEscrow::isRelayerCall { account })
            .await
    }

    async fn max_backdate(&self) -> Result<u64, ChainError> {
        Ok(u64::from(
            self.node().view(ISessionEscrow::maxBackdateCall {}).await?,
        ))
    }

    async fn stop_at(&self, id: U256, at: u64, silent: u8) -> Result<StopOutcome, ChainError> {
        self.submitter.stop_at(id, at, silent).await
    }

    async fn send_stop(&self, id: U256, at: u64, silent: u8) -> Result<SentStop, ChainError> {
        self.submitter.send(id, at, silent).await
    }

    async fn confirm_stop(&self, pending: PendingStop) -> Result<StopOutcome, ChainError> {
        self.submitter.confirm(pending).await
    }
}

#[cfg(test)]
mod tests {
    use k256::ecdsa::SigningKey;

    use super::*;

    fn key() -> RelayerKey {
        RelayerKey::new(SigningKey::from_slice(&[0x11; 32]).unwrap())
    }

    #[tokio::test]
    async fn transport_errors_and_debug_never_show_the_url_path() {
        // Port 1 refuses connections.
        let url: Url = "http://user:SECRETPASS@127.0.0.1:1/v2/SECRETAPIKEY?key=SECRETQUERY"
            .parse()
            .unwrap();
        let mut config =
            Config::with_defaults(url.clone(), Address::repeat_byte(0xe5), 31337, key());
        config.rpc_timeout = Duration::from_secs(2);
        let err = EvmChain::connect(&config).await.unwrap_err();
        let ConnectError::Rpc(rpc) = &err else {
            panic!("expected a transport error, got {err:?}")
        };
        assert!(rpc.node_message().is_none(), "{rpc:?}");
        for secret in ["SECRETAPIKEY", "SECRETPASS", "SECRETQUERY"] {
            assert!(!err.to_string().contains(secret), "{err}");
            assert!(!format!("{err:?}").contains(secret), "{err:?}");
        }
        assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
        let node = Node {
            provider: minuto_chain::http_provider(&url, Duration::from_secs(2)).unwrap(),
            url: url.clone(),
            escrow: Address::ZERO,
            chain_id: 1,
            key: key(),
            shared: Arc::default(),
        };
        assert!(!format!("{node:?}").contains("SECRETAPIKEY"));
    }
}

//! A minimal Ethereum JSON-RPC client: just the calls the relayer makes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy_primitives::{Address, Bytes, B256, U256, U64};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

/// JSON-RPC failures.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Could not reach the node or read its answer (the URL is never included).
    #[error("rpc transport: {0}")]
    Transport(reqwest::Error),
    /// The answer was not the expected JSON.
    #[error("rpc decode of {method}: {source}")]
    Decode {
        /// Method called.
        method: &'static str,
        /// serde error.
        source: serde_json::Error,
    },
    /// The node returned a JSON-RPC error.
    #[error("rpc {method} failed: {message} (code {code})")]
    Node {
        /// Method called.
        method: &'static str,
        /// JSON-RPC error code.
        code: i64,
        /// Node's message.
        message: String,
        /// Revert data, if the node sent any.
        data: Option<Bytes>,
    },
}

impl RpcError {
    /// Revert data carried by a node error (`eth_call`, `eth_estimateGas`).
    pub fn revert_data(&self) -> Option<&Bytes> {
        match self {
            RpcError::Node { data, .. } => data.as_ref(),
            _ => None,
        }
    }

    /// The node's error message, lower-cased, for classifying pool errors.
    pub fn node_message(&self) -> Option<String> {
        match self {
            RpcError::Node { message, .. } => Some(message.to_ascii_lowercase()),
            _ => None,
        }
    }
}

/// A block, as much of it as the relayer reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcBlock {
    /// Number.
    pub number: U64,
    /// Timestamp.
    pub timestamp: U64,
    /// EIP-1559 base fee.
    pub base_fee_per_gas: Option<U256>,
    /// Block hash.
    #[serde(default)]
    pub hash: Option<B256>,
}

/// A log entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcLog {
    /// Emitting contract.
    pub address: Address,
    /// Topics.
    pub topics: Vec<B256>,
    /// Data.
    pub data: Bytes,
    /// Block number.
    pub block_number: U64,
    /// Position in the block.
    pub log_index: U64,
    /// Dropped by a re-org.
    #[serde(default)]
    pub removed: bool,
}

/// A transaction receipt, as much as the relayer reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcReceipt {
    /// 1 for success.
    pub status: U64,
    /// Block it was mined in.
    pub block_number: U64,
}

/// A call or gas-estimate request.
#[derive(Clone, Debug, Serialize)]
pub struct CallRequest {
    /// Sender.
    pub from: Address,
    /// Target.
    pub to: Address,
    /// Calldata.
    pub input: Bytes,
}

#[derive(Deserialize)]
struct Response {
    result: Option<Value>,
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    message: String,
    #[serde(default)]
    data: Option<Value>,
}

/// The client.
pub struct RpcClient {
    http: reqwest::Client,
    url: Url,
    next_id: AtomicU64,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path and query of hosted RPC URLs often carry an API key.
        f.debug_struct("RpcClient")
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

impl RpcClient {
    /// A client for the node at `url`.
    ///
    /// # Errors
    /// [`RpcError::Transport`] if the HTTP client cannot be built.
    pub fn new(url: Url, timeout: Duration) -> Result<Self, RpcError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(RpcError::Transport)?;
        Ok(Self {
            http,
            url,
            next_id: AtomicU64::new(1),
        })
    }

    /// Calls `method` with `params`.
    ///
    /// # Errors
    /// [`RpcError`] on transport, node or decoding failures.
    pub async fn call<R: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Value,
    ) -> Result<R, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        // Errors drop the URL: hosted RPC URLs often embed an API key, and errors are logged.
        let response: Response = self
            .http
            .post(self.url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| RpcError::Transport(e.without_url()))?
            .json()
            .await
            .map_err(|e| RpcError::Transport(e.without_url()))?;
        if let Some(e) = response.error {
            let data = e.data.and_then(|d| match d {
                Value::String(s) => s.parse::<Bytes>().ok(),
                Value::Object(o) => o
                    .get("data")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<Bytes>().ok()),
                _ => None,
            });
            return Err(RpcError::Node {
                method,
                code: e.code,
                message: e.message,
                data,
            });
        }
        serde_json::from_value(response.result.unwrap_or(Value::Null))
            .map_err(|source| RpcError::Decode { method, source })
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        Ok(self.call::<U64>("eth_chainId", json!([])).await?.to())
    }

    /// `eth_getBlockByNumber("latest", false)`.
    pub async fn latest_block(&self) -> Result<RpcBlock, RpcError> {
        self.call("eth_getBlockByNumber", json!(["latest", false]))
            .await
    }

    /// `eth_getBlockByNumber(number, false)`; `None` for a block the node does not have.
    pub async fn block(&self, number: u64) -> Result<Option<RpcBlock>, RpcError> {
        self.call("eth_getBlockByNumber", json!([U64::from(number), false]))
            .await
    }

    /// `eth_getLogs` for `address` and any of `topics0`, blocks `from..=to`.
    pub async fn logs(
        &self,
        address: Address,
        topics0: &[B256],
        from: u64,
        to: u64,
    ) -> Result<Vec<RpcLog>, RpcError> {
        let filter = json!({
            "address": address,
            "fromBlock": U64::from(from),
            "toBlock": U64::from(to),
            "topics": [topics0],
        });
        self.call("eth_getLogs", json!([filter])).await
    }

    /// `eth_call` at the latest block.
    pub async fn eth_call(&self, request: &CallRequest) -> Result<Bytes, RpcError> {
        self.call("eth_call", json!([request, "latest"])).await
    }

    /// `eth_call` on the pending block: a dry run of a transaction as the next block
    /// would run it (with its timestamp, not the latest block's, which on a quiet chain
    /// can be much older).
    pub async fn eth_call_pending(&self, request: &CallRequest) -> Result<Bytes, RpcError> {
        self.call("eth_call", json!([request, "pending"])).await
    }

    /// `eth_estimateGas` on the pending block.
    pub async fn estimate_gas(&self, request: &CallRequest) -> Result<u64, RpcError> {
        Ok(self
            .call::<U64>("eth_estimateGas", json!([request, "pending"]))
            .await?
            .to())
    }

    /// `eth_maxPriorityFeePerGas`.
    pub async fn max_priority_fee(&self) -> Result<u128, RpcError> {
        Ok(self
            .call::<U256>("eth_maxPriorityFeePerGas", json!([]))
            .await?
            .to())
    }

    /// `eth_getTransactionCount(address, "pending")`.
    pub async fn pending_nonce(&self, address: Address) -> Result<u64, RpcError> {
        Ok(self
            .call::<U64>("eth_getTransactionCount", json!([address, "pending"]))
            .await?
            .to())
    }

    /// `eth_sendRawTransaction`.
    pub async fn send_raw(&self, raw: &Bytes) -> Result<B256, RpcError> {
        self.call("eth_sendRawTransaction", json!([raw])).await
    }

    /// `eth_getTransactionReceipt`.
    pub async fn receipt(&self, hash: B256) -> Result<Option<RpcReceipt>, RpcError> {
        self.call("eth_getTransactionReceipt", json!([hash])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn transport_errors_and_debug_never_show_the_url_path() {
        // Port 1 refuses connections.
        let rpc = RpcClient::new(
            "http://127.0.0.1:1/v2/SECRETAPIKEY".parse().unwrap(),
            Duration::from_secs(2),
        )
        .unwrap();
        let err = rpc.chain_id().await.unwrap_err();
        assert!(matches!(err, RpcError::Transport(_)));
        assert!(!err.to_string().contains("SECRETAPIKEY"), "{err}");
        assert!(!format!("{err:?}").contains("SECRETAPIKEY"));
        assert!(!format!("{rpc:?}").contains("SECRETAPIKEY"));
    }
}

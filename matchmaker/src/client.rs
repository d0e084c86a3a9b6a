//! A client of the matchmaker, as a dApp would write one: sign in with a wallet key, open
//! the socket, exchange JSON messages, sign acceptances. Used by the example client, the
//! benchmark, the tests and the end-to-end suite.

use std::time::Duration;

use alloy_primitives::{Address, U256};
use futures_util::{SinkExt, StreamExt};
use minuto_chain::alloy::hex;
use minuto_chain::alloy::signers::local::PrivateKeySigner;
use minuto_chain::alloy::signers::SignerSync;
use minuto_chain::alloy::sol_types::SolStruct;
use minuto_chain::eip712::{acceptance_domain, Acceptance};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use crate::pool::Terms;
use crate::protocol::SignedAcceptance;

/// What can go wrong on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// HTTP failed.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The socket failed or closed.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// Sign-in was refused, or an answer was not what the protocol says.
    #[error("{0}")]
    Protocol(String),
    /// No message in time.
    #[error("no message within {0:?}")]
    Timeout(Duration),
}

/// The SIWE (EIP-4361) message a wallet signs to sign in.
pub fn siwe_message(domain: &str, who: Address, chain_id: u64, nonce: &str) -> String {
    let issued = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "{domain} wants you to sign in with your Ethereum account:\n{}\n\nFind a tutor now.\n\n\
         URI: https://{domain}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {issued}",
        who.to_checksum(None)
    )
}

/// `0x`-hex of a signature's 65 bytes.
fn sig_hex(sig: &alloy_primitives::Signature) -> String {
    format!("0x{}", hex::encode(sig.as_bytes()))
}

/// Signs in `key` at `base` (`http(s)://host:port`) and returns the session token.
///
/// # Errors
/// [`ClientError`], with the server's refusal.
pub async fn sign_in(
    http: &reqwest::Client,
    base: &Url,
    key: &PrivateKeySigner,
    domain: &str,
    chain_id: u64,
) -> Result<String, ClientError> {
    let nonce: Value = http
        .get(
            base.join("/v1/auth/nonce")
                .map_err(|e| ClientError::Protocol(e.to_string()))?,
        )
        .send()
        .await?
        .json()
        .await?;
    let nonce = nonce["nonce"]
        .as_str()
        .ok_or_else(|| ClientError::Protocol(format!("no nonce: {nonce}")))?;
    let message = siwe_message(domain, key.address(), chain_id, nonce);
    let sig = key
        .sign_message_sync(message.as_bytes())
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    let v: Value = http
        .post(
            base.join("/v1/auth/verify")
                .map_err(|e| ClientError::Protocol(e.to_string()))?,
        )
        .json(&json!({ "message": message, "signature": sig_hex(&sig) }))
        .send()
        .await?
        .json()
        .await?;
    v["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Protocol(format!("sign-in refused: {v}")))
}

/// The tutor's signed acceptance of `terms` under `escrow`'s EIP-712 domain.
///
/// # Panics
/// Never for a local key.
#[allow(clippy::too_many_arguments)]
pub fn sign_acceptance(
    key: &PrivateKeySigner,
    chain_id: u64,
    escrow: Address,
    terms: &Terms,
    tutor_key: Address,
    max_fee_bps: u16,
    nonce: U256,
    expiry: u64,
) -> SignedAcceptance {
    let a = Acceptance {
        student: terms.student,
        token: terms.token,
        rate: terms.rate,
        tutorKey: tutor_key,
        maxFeeBps: max_fee_bps,
        nonce,
        expiry,
    };
    let sig = key
        .sign_hash_sync(&a.eip712_signing_hash(&acceptance_domain(chain_id, escrow)))
        .expect("a local key signs");
    SignedAcceptance {
        student: a.student,
        token: a.token,
        rate: a.rate,
        tutor_key,
        max_fee_bps,
        nonce,
        expiry,
        signature: sig.as_bytes().to_vec().into(),
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A signed-in socket.
pub struct Client {
    ws: Ws,
}

impl Client {
    /// Opens `base`'s socket and says hello with `token`.
    ///
    /// # Errors
    /// [`ClientError`]; `Protocol` when the server does not welcome the token.
    pub async fn connect(base: &Url, token: &str) -> Result<Self, ClientError> {
        let mut url = base.clone();
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| ClientError::Protocol(format!("{base} cannot be a WebSocket URL")))?;
        url.set_path("/v1/ws");
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
        let mut c = Self { ws };
        c.send(json!({ "type": "hello", "token": token })).await?;
        let welcome = c.recv(Duration::from_secs(10)).await?;
        if welcome["type"] != "welcome" {
            return Err(ClientError::Protocol(format!("not welcomed: {welcome}")));
        }
        Ok(c)
    }

    /// Sends one message.
    ///
    /// # Errors
    /// The socket failed.
    pub async fn send(&mut self, v: Value) -> Result<(), ClientError> {
        self.ws.send(Message::Text(v.to_string().into())).await?;
        Ok(())
    }

    /// The next JSON message within `within` (pings skipped); `{"type":"closed"}` once the
    /// server closed the socket.
    ///
    /// # Errors
    /// [`ClientError::Timeout`], a socket error, or a frame that is not JSON.
    pub async fn recv(&mut self, within: Duration) -> Result<Value, ClientError> {
        let next = async {
            while let Some(frame) = self.ws.next().await {
                if let Message::Text(t) = frame? {
                    return serde_json::from_str(&t)
                        .map_err(|e| ClientError::Protocol(format!("not JSON: {e}")));
                }
            }
            Ok(json!({ "type": "closed" }))
        };
        tokio::time::timeout(within, next)
            .await
            .map_err(|_| ClientError::Timeout(within))?
    }
}

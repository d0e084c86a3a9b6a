//! `minuto-chain`: what every Minuto off-chain program shares, so none writes its own.
//!
//! - [`bindings`]: `sol!` bindings generated from the checked-in interfaces in `abi/`;
//! - [`deployment`]: the `deployments/<chain-id>.json` record the deploy tool writes and
//!   the services read;
//! - [`eip712`]: the signed messages (heartbeats, tutors' acceptances) and their domains;
//! - [`network`]: dev node, testnet or production from a chain id; RPC URL redaction;
//! - [`follower`]: the reorg-safe event follower (confirmations, bounded log ranges,
//!   checkpoints, a saved cursor) and its source over an alloy provider;
//! - [`http_provider`]: an alloy provider over HTTP(S), with TLS from rustls and ring.
//!
//! Users: the relayer (`relayer/`), the deploy tool (`scripts/minuto-deploy`) and the
//! end-to-end suite (`tests/`).

pub mod bindings;
pub mod deployment;
pub mod eip712;
pub mod follower;
pub mod network;

pub use alloy;
pub use deployment::{Contract, Deployed, Provenance, Record, RecordError};

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::Http;
use url::Url;

/// Makes rustls use ring, once per process. alloy's HTTP transport (reqwest) is built
/// without a crypto provider of its own, to keep aws-lc-sys (a long C build) out of the
/// tree; building a client before this panics. [`http_provider`] and
/// [`signing_provider`] call it; call it yourself before building another reqwest client.
pub fn install_tls() {
    // An error means a provider is already installed: any is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A provider for `url` without fillers (the caller builds complete transactions), each
/// request bounded by `timeout`.
///
/// # Errors
/// The HTTP client cannot be built.
pub fn http_provider(url: &Url, timeout: Duration) -> Result<DynProvider, reqwest::Error> {
    install_tls();
    let client = reqwest::Client::builder().timeout(timeout).build()?;
    let http = Http::with_client(client, url.clone());
    let is_local = http.guess_local();
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(RpcClient::new(http, is_local))
        .erased())
}

/// A provider that signs with `signer` and asks the node for the nonce before every
/// transaction (right for tools that share the key with other programs, such as the
/// deploy tool with cargo-stylus; the relayer keeps its own nonce instead).
pub fn signing_provider(url: &Url, signer: &PrivateKeySigner) -> DynProvider {
    install_tls();
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(url.clone())
        .erased()
}

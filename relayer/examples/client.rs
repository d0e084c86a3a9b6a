//! A minimal Minuto client: creates a session key, prints the address to register on
//! chain (`studentKey` in `open`, `tutorKey` in `start` / `openAccepted`), then signs and
//! posts heartbeats every `--interval` until stopped.
//!
//! ```text
//! cargo run --example client -- --relayer http://127.0.0.1:8080 \
//!     --chain-id 31337 --escrow 0x5FbDB2315678afecb367f032d93F642f64180aa3 \
//!     --session 1 --role student --count 3
//! ```
//!
//! Pass `--key 0x…` to reuse a key you already registered; without it a fresh key is
//! generated and printed (keep it in the app's local storage for the session's life).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, U256};
use clap::Parser;
use k256::ecdsa::SigningKey;
use minuto_relayer::heartbeat::{address_of, HeartbeatDomain, Role};
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    /// Relayer base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    relayer: url::Url,
    /// Chain id of the escrow.
    #[arg(long)]
    chain_id: u64,
    /// Escrow address.
    #[arg(long)]
    escrow: Address,
    /// Session id.
    #[arg(long)]
    session: U256,
    /// student or tutor.
    #[arg(long)]
    role: Role,
    /// Hex session key; a new one is generated when absent.
    #[arg(long)]
    key: Option<String>,
    /// Heartbeats to send (0 = until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    count: u64,
    /// Time between heartbeats.
    #[arg(long, default_value = "5s", value_parser = minuto_relayer::config::parse_duration)]
    interval: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = match &args.key {
        Some(hex) => SigningKey::from_slice(&alloy_primitives::hex::decode(hex)?)?,
        None => {
            let key = SigningKey::random(&mut rand::thread_rng());
            println!(
                "new session key: 0x{} (keep it secret)",
                alloy_primitives::hex::encode(key.to_bytes())
            );
            key
        }
    };
    println!(
        "register this address on chain as the {} key: {}",
        args.role,
        address_of(&key)
    );
    let domain = HeartbeatDomain::new(args.chain_id, args.escrow);
    // reqwest here is the workspace's one, built without a TLS provider of its own.
    minuto_chain::install_tls();
    let http = reqwest::Client::new();
    let url = args.relayer.join("v1/heartbeat")?;
    // Milliseconds since the epoch make a sequence that keeps increasing across restarts.
    let mut seq = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    let mut sent = 0;
    loop {
        seq += 1;
        let sent_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let signature = domain.sign(&key, args.session, args.role, seq, sent_at);
        let body = json!({
            "session": args.session.to_string(),
            "role": args.role,
            "seq": seq,
            "sent_at": sent_at,
            "signature": format!("0x{}", alloy_primitives::hex::encode(signature)),
        });
        match http.post(url.clone()).json(&body).send().await {
            Ok(r) => {
                let status = r.status();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                println!("{status} {v}");
            }
            Err(e) => println!("relayer unreachable: {e}"),
        }
        sent += 1;
        if args.count != 0 && sent >= args.count {
            return Ok(());
        }
        tokio::time::sleep(args.interval).await;
    }
}

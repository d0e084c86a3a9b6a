//! A command-line client of the matchmaker: signs in with a wallet key, then plays one
//! side of "find a tutor now".
//!
//! ```sh
//! # a tutor who accepts every proposal (signing the escrow's EIP-712 acceptance)
//! MINUTO_KEY=0x… cargo run --example find_now_client -p minuto-matchmaker -- \
//!     --url http://127.0.0.1:8090 --domain app.minuto.example --chain-id 31337 \
//!     --escrow 0x… tutor --token 0x… --rate 277777777777777777777 --language es --level B1
//! # a student looking for that tutor; prints the openAccepted call to send
//! MINUTO_KEY=0x… cargo run --example find_now_client -p minuto-matchmaker -- \
//!     --url http://127.0.0.1:8090 --domain app.minuto.example --chain-id 31337 \
//!     --escrow 0x… student --token 0x… --max-rate 300000000000000000000 --cap 1000000 \
//!     --language es --level B1
//! ```
//!
//! The key comes from `MINUTO_KEY` (never a flag: flags show in `ps`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, U256};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use minuto_chain::alloy::signers::local::PrivateKeySigner;
use minuto_chain::alloy::signers::SignerSync;
use minuto_chain::alloy::sol_types::SolStruct;
use minuto_chain::eip712::{acceptance_domain, Acceptance};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    /// The matchmaker's public URL.
    #[arg(long)]
    url: url::Url,
    /// The domain the matchmaker signs in for.
    #[arg(long)]
    domain: String,
    /// Chain id.
    #[arg(long)]
    chain_id: u64,
    /// The escrow (acceptances are signed for it).
    #[arg(long)]
    escrow: Address,
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Go online and accept every proposal.
    Tutor {
        #[arg(long)]
        token: Address,
        /// Base units per second × 10^18.
        #[arg(long)]
        rate: U256,
        #[arg(long)]
        language: String,
        #[arg(long)]
        level: String,
    },
    /// Find a tutor now and print the openAccepted call.
    Student {
        #[arg(long)]
        token: Address,
        #[arg(long)]
        max_rate: U256,
        /// Most base units to deposit.
        #[arg(long)]
        cap: U256,
        #[arg(long)]
        language: String,
        #[arg(long)]
        level: String,
    },
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, v: Value) -> anyhow::Result<()> {
    ws.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

async fn recv(ws: &mut Ws) -> anyhow::Result<Value> {
    while let Some(frame) = ws.next().await {
        if let Message::Text(t) = frame? {
            let v: Value = serde_json::from_str(&t)?;
            println!("<- {v}");
            return Ok(v);
        }
    }
    anyhow::bail!("the matchmaker closed the connection")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key: PrivateKeySigner = std::env::var("MINUTO_KEY")?.trim().parse()?;
    minuto_chain::install_tls();
    let http = reqwest::Client::new();
    let base = args.url.as_str().trim_end_matches('/');

    // Sign in with Ethereum.
    let nonce: Value = http
        .get(format!("{base}/v1/auth/nonce"))
        .send()
        .await?
        .json()
        .await?;
    let issued =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;
    let message = format!(
        "{} wants you to sign in with your Ethereum account:\n{}\n\nFind a tutor now.\n\n\
         URI: https://{}\nVersion: 1\nChain ID: {}\nNonce: {}\nIssued At: {issued}",
        args.domain,
        key.address().to_checksum(None),
        args.domain,
        args.chain_id,
        nonce["nonce"].as_str().unwrap_or_default()
    );
    let sig = key.sign_message_sync(message.as_bytes())?;
    let session: Value = http
        .post(format!("{base}/v1/auth/verify"))
        .json(&json!({ "message": message, "signature": format!("0x{}", minuto_chain::alloy::hex::encode(sig.as_bytes())) }))
        .send()
        .await?
        .json()
        .await?;
    let token = session["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("sign-in refused: {session}"))?;
    let mut ws_url = args.url.clone();
    let scheme = if ws_url.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    ws_url
        .set_scheme(scheme)
        .map_err(|()| anyhow::anyhow!("bad URL"))?;
    ws_url.set_path("/v1/ws");
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await?;
    send(&mut ws, json!({ "type": "hello", "token": token })).await?;
    recv(&mut ws).await?;

    match args.role {
        Role::Tutor {
            token,
            rate,
            language,
            level,
        } => {
            let profile = json!({ "languages": [language], "levels": [level], "token": token,
                                  "rate": rate, "credentials": [] });
            send(&mut ws, json!({ "type": "online", "profile": profile })).await?;
            let domain = acceptance_domain(args.chain_id, args.escrow);
            loop {
                let v = recv(&mut ws).await?;
                if v["type"] != "proposed" {
                    continue;
                }
                let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
                let a = Acceptance {
                    student: serde_json::from_value(v["terms"]["student"].clone())?,
                    token: serde_json::from_value(v["terms"]["token"].clone())?,
                    rate: serde_json::from_value(v["terms"]["rate"].clone())?,
                    // A real app registers a fresh session key for heartbeats here.
                    tutorKey: key.address(),
                    maxFeeBps: 500,
                    nonce: U256::from(now),
                    expiry: now + 600,
                };
                let sig = key.sign_hash_sync(&a.eip712_signing_hash(&domain))?;
                let acceptance = json!({
                    "student": a.student, "token": a.token, "rate": a.rate,
                    "tutorKey": a.tutorKey, "maxFeeBps": a.maxFeeBps, "nonce": a.nonce,
                    "expiry": a.expiry, "signature": format!("0x{}", minuto_chain::alloy::hex::encode(sig.as_bytes())),
                });
                send(
                    &mut ws,
                    json!({ "type": "accept", "proposal": v["proposal"], "acceptance": acceptance }),
                )
                .await?;
            }
        }
        Role::Student {
            token,
            max_rate,
            cap,
            language,
            level,
        } => {
            let request = json!({ "language": language, "level": level, "token": token,
                                  "max_rate": max_rate, "credential": null, "cap": cap });
            send(&mut ws, json!({ "type": "find", "request": request })).await?;
            loop {
                let v = tokio::time::timeout(Duration::from_secs(120), recv(&mut ws)).await??;
                match v["type"].as_str() {
                    Some("matched") => {
                        let a = &v["acceptance"];
                        println!(
                            "\nSend now (deposit ≤ cap; studentKey = your heartbeat key):\n\
                             openAccepted(tutor={}, token={}, rate={}, deposit={cap}, studentKey=<key>, \
                             credentialKind=0, tutorKey={}, maxFeeBps={}, nonce={}, expiry={}, signature={})",
                            v["tutor"], a["token"], a["rate"], a["tutorKey"], a["maxFeeBps"],
                            a["nonce"], a["expiry"], a["signature"]
                        );
                        return Ok(());
                    }
                    Some("no_match") => anyhow::bail!("no tutor: send wait, or book a lesson"),
                    Some("error") => anyhow::bail!("refused: {v}"),
                    _ => {}
                }
            }
        }
    }
}

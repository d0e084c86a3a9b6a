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
use minuto_chain::alloy::signers::local::PrivateKeySigner;
use minuto_matchmaker::client::{self, Client};
use minuto_matchmaker::Terms;
use serde_json::{json, Value};

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

async fn recv(c: &mut Client, within: Duration) -> anyhow::Result<Value> {
    let v = c.recv(within).await?;
    println!("<- {v}");
    Ok(v)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key: PrivateKeySigner = std::env::var("MINUTO_KEY")?.trim().parse()?;
    minuto_chain::install_tls();
    let http = reqwest::Client::new();

    let token = client::sign_in(&http, &args.url, &key, &args.domain, args.chain_id).await?;
    let mut c = Client::connect(&args.url, &token).await?;
    let forever = Duration::from_secs(u64::from(u32::MAX));

    match args.role {
        Role::Tutor {
            token,
            rate,
            language,
            level,
        } => {
            let profile = json!({ "languages": [language], "levels": [level], "token": token,
                                  "rate": rate, "credentials": [] });
            c.send(json!({ "type": "online", "profile": profile }))
                .await?;
            loop {
                let v = recv(&mut c, forever).await?;
                if v["type"] != "proposed" {
                    continue;
                }
                let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
                let terms: Terms = serde_json::from_value(v["terms"].clone())?;
                // A real app registers a fresh session key for heartbeats as tutorKey.
                let a = client::sign_acceptance(
                    &key,
                    args.chain_id,
                    args.escrow,
                    &terms,
                    key.address(),
                    500,
                    U256::from(now),
                    now + 600,
                );
                c.send(json!({ "type": "accept", "proposal": v["proposal"], "acceptance": a }))
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
            c.send(json!({ "type": "find", "request": request }))
                .await?;
            loop {
                let v = recv(&mut c, Duration::from_secs(120)).await?;
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

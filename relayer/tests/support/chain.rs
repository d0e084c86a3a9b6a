//! The chain side shared by the integration tests: anvil (through `minuto-anvil`)
//! running the Solidity double of the escrow's relayer-facing ABI
//! (`tests/fixtures/EscrowDouble.sol`, committed bytecode), its deployment, sessions
//! opened and started by anvil's development accounts, and heartbeat clients that sign
//! real EIP-712 heartbeats and post them over HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{sol, SolCall, SolValue};
use k256::ecdsa::SigningKey;
use minuto_relayer::clock::Clock;
use minuto_relayer::config::parse_private_key;
use minuto_relayer::heartbeat::{address_of, HeartbeatDomain, Role};
use serde_json::{json, Value};

sol! {
    struct SessionView {
        address student;
        address tutor;
        address token;
        uint256 rate;
        uint256 deposited;
        uint256 withdrawn;
        uint64 start;
        uint64 end;
        uint16 feeBps;
        uint32 credentialKind;
        uint8 state;
    }

    interface IEscrowDouble {
        function setRelayer(address account, bool allowed) external;
        function open(address tutor, address token, uint256 rate, uint256 deposit, address studentKey, uint32 credentialKind) external returns (uint256 id);
        function start(uint256 id, address tutorKey) external;
        function stop(uint256 id) external;
        function session(uint256 id) external view returns (SessionView memory);
        function stoppedFor(uint256 id) external view returns (uint8);
    }
}

pub const CHAIN_ID: u64 = 31337;
// anvil's well-known development accounts (mnemonic "test test … junk").
pub const DEPLOYER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
pub const RELAYER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
pub const SECOND_RELAYER_KEY: &str =
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
pub const STUDENT: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
pub const TUTOR: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

pub struct Node {
    _anvil: minuto_anvil::Anvil,
    /// Its JSON-RPC URL.
    pub url: url::Url,
    /// A provider on it.
    pub p: DynProvider,
}

pub async fn start_anvil(bin: &Path) -> Node {
    start_anvil_with_block_time(bin, 1).await
}

/// Anvil mining a block every `block_time` seconds, or (0) only when a transaction
/// arrives: a quiet chain whose latest block can be older than a session's start.
pub async fn start_anvil_with_block_time(bin: &Path, block_time: u64) -> Node {
    let anvil = minuto_anvil::Anvil::start(bin, CHAIN_ID, block_time).await;
    let url = anvil.url.clone();
    let p = minuto_chain::http_provider(&url, Duration::from_secs(5)).unwrap();
    Node {
        _anvil: anvil,
        url,
        p,
    }
}

pub fn anvil_or_skip(test: &str) -> Option<PathBuf> {
    minuto_anvil::or_skip(test)
}

/// Sends a transaction from an unlocked anvil account and waits for its receipt.
pub async fn send(node: &Node, from: &str, to: Option<Address>, input: Vec<u8>) -> Value {
    let mut tx = json!({ "from": from, "input": Bytes::from(input), "gas": "0x4c4b40" });
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    let hash: String = node
        .p
        .raw_request("eth_sendTransaction".into(), [tx])
        .await
        .unwrap();
    for _ in 0..100 {
        let r: Value = node
            .p
            .raw_request("eth_getTransactionReceipt".into(), [&hash])
            .await
            .unwrap();
        if !r.is_null() {
            assert_eq!(r["status"], "0x1", "transaction failed: {r}");
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("transaction {hash} not mined");
}

pub struct Deployment {
    pub escrow: Address,
    /// Session 1's parties' session keys.
    pub student_key: SigningKey,
    pub tutor_key: SigningKey,
}

/// Deploys the double (maxBackdate 3600 s, 5 % fee), authorizes two relayers and opens +
/// starts session 1 at 100 base units a second with a 1,000,000 deposit.
pub async fn deploy(node: &Node) -> Deployment {
    let bin = std::fs::read_to_string(
        minuto_anvil::repo_root().join("relayer/tests/fixtures/EscrowDouble.bin"),
    )
    .expect("committed bytecode");
    let mut code = alloy_primitives::hex::decode(bin.trim()).unwrap();
    code.extend((3600u32, 500u16).abi_encode_params());
    let r = send(node, DEPLOYER, None, code).await;
    let escrow: Address = r["contractAddress"].as_str().unwrap().parse().unwrap();
    for key in [RELAYER_KEY, SECOND_RELAYER_KEY] {
        send(
            node,
            DEPLOYER,
            Some(escrow),
            IEscrowDouble::setRelayerCall {
                account: parse_private_key(key).unwrap().address(),
                allowed: true,
            }
            .abi_encode(),
        )
        .await;
    }
    let (_, student_key, tutor_key) = open_session(node, escrow).await;
    Deployment {
        escrow,
        student_key,
        tutor_key,
    }
}

pub async fn session(node: &Node, escrow: Address, id: u64) -> SessionView {
    let call = TransactionRequest::default()
        .to(escrow)
        .input(Bytes::from(IEscrowDouble::sessionCall { id: U256::from(id) }.abi_encode()).into());
    let out = node.p.call(call).await.unwrap();
    IEscrowDouble::sessionCall::abi_decode_returns(&out).unwrap()
}

/// The silent party the relayer's stop of session `id` named (`stopAt`'s `silent`).
pub async fn stopped_for(node: &Node, escrow: Address, id: u64) -> u8 {
    let call = IEscrowDouble::stoppedForCall { id: U256::from(id) };
    let call = TransactionRequest::default()
        .to(escrow)
        .input(Bytes::from(call.abi_encode()).into());
    let out = node.p.call(call).await.unwrap();
    IEscrowDouble::stoppedForCall::abi_decode_returns(&out).unwrap()
}

/// Opens and starts the escrow's next session (100 base units a second, 1,000,000
/// deposited) between anvil's student and tutor accounts, with fresh session keys.
/// Returns its id and the student's and tutor's keys.
pub async fn open_session(node: &Node, escrow: Address) -> (u64, SigningKey, SigningKey) {
    let student_key = SigningKey::random(&mut rand::thread_rng());
    let tutor_key = SigningKey::random(&mut rand::thread_rng());
    let opened = send(
        node,
        STUDENT,
        Some(escrow),
        IEscrowDouble::openCall {
            tutor: TUTOR.parse().unwrap(),
            token: Address::ZERO,
            rate: U256::from(100u128 * minuto_accrual::RATE_SCALE),
            deposit: U256::from(1_000_000u64),
            studentKey: address_of(&student_key),
            credentialKind: 0,
        }
        .abi_encode(),
    )
    .await;
    // SessionOpened's first topic after the signature is the id.
    let id: U256 = opened["logs"][0]["topics"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    send(
        node,
        TUTOR,
        Some(escrow),
        IEscrowDouble::startCall {
            id,
            tutorKey: address_of(&tutor_key),
        }
        .abi_encode(),
    )
    .await;
    (id.to::<u64>(), student_key, tutor_key)
}

/// Session `id` once it has Ended on chain (a relayer may answer before it is mined).
pub async fn ended_on_chain(node: &Node, escrow: Address, id: u64) -> SessionView {
    let mut on_chain = session(node, escrow, id).await;
    for _ in 0..50 {
        if on_chain.state == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        on_chain = session(node, escrow, id).await;
    }
    assert_eq!(on_chain.state, 3, "session {id} not ended on chain");
    on_chain
}

/// Where a relayer's public API listens.
pub trait Relayer {
    fn api_addr(&self) -> SocketAddr;
}

impl Relayer for SocketAddr {
    fn api_addr(&self) -> SocketAddr {
        *self
    }
}

/// A party's app: signs EIP-712 heartbeats with session keys and posts them over HTTP.
pub struct Client {
    pub http: reqwest::Client,
    pub domain: HeartbeatDomain,
}

impl Client {
    /// A client of `escrow`'s heartbeat domain on the test chain.
    pub fn new(escrow: Address) -> Self {
        Self {
            http: reqwest::Client::new(),
            domain: HeartbeatDomain::new(CHAIN_ID, escrow),
        }
    }

    /// A heartbeat of session 1, sent now: the status and the JSON reply.
    pub async fn ping(
        &self,
        to: &impl Relayer,
        key: &SigningKey,
        role: Role,
        seq: u64,
    ) -> (u16, Value) {
        self.ping_session(to.api_addr(), 1, key, role, seq)
            .await
            .unwrap()
    }

    /// A heartbeat of session `id`, sent now, with the Unix second it was signed at;
    /// `Err` when the relayer could not be reached.
    pub async fn ping_session(
        &self,
        to: SocketAddr,
        id: u64,
        key: &SigningKey,
        role: Role,
        seq: u64,
    ) -> Result<(u16, Value), reqwest::Error> {
        let sent_at = Clock::system().now_unix();
        let sig = self.domain.sign(key, U256::from(id), role, seq, sent_at);
        let r = self
            .http
            .post(format!("http://{to}/v1/heartbeat"))
            .json(&json!({
                "session": id.to_string(),
                "role": role.as_str(),
                "seq": seq,
                "sent_at": sent_at,
                "signature": format!("0x{}", alloy_primitives::hex::encode(sig)),
            }))
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await?))
    }
}

/// A fresh directory for one test's files.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("minuto-anvil-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

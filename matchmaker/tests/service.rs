//! The matchmaker as a client sees it: real sign-in (SIWE, EIP-191 signatures), real
//! WebSockets, real EIP-712 acceptances, and chain reads from a real anvil holding
//! Solidity stand-ins of the escrow's and credentials' views (`fixtures/ChainDouble.sol`)
//! and a real ERC-20 (the e2e suite's `TestToken`).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use minuto_anvil::Anvil;
use minuto_chain::alloy::network::TransactionBuilder;
use minuto_chain::alloy::primitives::{Address, Bytes, U256};
use minuto_chain::alloy::providers::{DynProvider, Provider};
use minuto_chain::alloy::rpc::types::TransactionRequest;
use minuto_chain::alloy::signers::local::PrivateKeySigner;
use minuto_chain::alloy::signers::SignerSync;
use minuto_chain::follower::{Deployment, FollowerConfig};
use minuto_matchmaker::auth::AuthConfig;
use minuto_matchmaker::chain::EvmChain;
use minuto_matchmaker::client::{self, siwe_message};
use minuto_matchmaker::hub::HubConfig;
use minuto_matchmaker::rooms::KeyedRooms;
use minuto_matchmaker::{spawn, Follow, Handle, Settings, Terms};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const CHAIN_ID: u64 = 31_337;
const DOMAIN: &str = "app.minuto.test";
const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const RATE: u64 = 1_000_000_000_000_000_000;
const KIND: u32 = 7;

minuto_chain::alloy::sol! {
    #[sol(rpc)]
    interface IDouble {
        function setFee(uint16 fee) external;
        function setValid(address holder, uint32 kind, bool ok) external;
        function setUsed(address tutor, uint256 nonce) external;
    }
    #[sol(rpc)]
    interface IEscrowDouble {
        function open(address tutor, address token, uint256 rate, uint256 deposit, address studentKey, uint32 credentialKind) external returns (uint256);
        function start(uint256 id, address tutorKey) external;
        function stop(uint256 id) external;
    }
    #[sol(rpc)]
    interface IToken {
        function mint(address to, uint256 value) external;
        function approve(address spender, uint256 value) external returns (bool);
    }
}

struct World {
    _anvil: Anvil,
    _cursor: tempfile::TempDir,
    p: DynProvider,
    double: Address,
    /// The relayer tests' escrow double: emits the real session events.
    escrow_events: Address,
    token: Address,
    mm: Handle<EvmChain>,
    http: reqwest::Client,
}

async fn deploy(p: &DynProvider, bin: &str) -> Address {
    let code: Bytes = bin.trim().parse().unwrap();
    let tx = TransactionRequest::default().with_deploy_code(code);
    let r = p
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    r.contract_address.unwrap()
}

/// A matchmaker on the world's chain: `double` answers as escrow and credentials, the
/// follower reads `escrow_events`; `cluster_url` joins it to other instances.
async fn instance(
    url: &url::Url,
    double: Address,
    escrow_events: Address,
    dir: &std::path::Path,
    cluster_url: Option<String>,
) -> Handle<EvmChain> {
    let follow = Follow {
        provider: minuto_chain::http_provider(url, Duration::from_secs(5)).unwrap(),
        config: FollowerConfig {
            confirmations: 0,
            start_block: 0,
            cursor_file: dir.join(format!("cursor-{}.json", rand_suffix())),
            chunk_blocks: 1_000,
            poll_interval: Duration::from_millis(100),
        },
        deployment: Deployment {
            chain_id: CHAIN_ID,
            escrow: escrow_events,
        },
    };
    let read = minuto_chain::http_provider(url, Duration::from_secs(5)).unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        hub: HubConfig {
            pool: minuto_matchmaker::Config::default(),
            chain_id: CHAIN_ID,
            escrow: double,
            min_acceptance_validity: Duration::from_secs(120),
            max_acceptance_validity: Duration::from_secs(3_600),
            credential_refresh: Duration::from_secs(20),
            outbox: 64,
        },
        auth: AuthConfig {
            domain: DOMAIN.into(),
            chain_id: CHAIN_ID,
            nonce_ttl: Duration::from_secs(300),
            session_ttl: Duration::from_secs(3_600),
            capacity: 1_000,
            secret: [5; 32],
        },
        allowed_origins: vec![],
        max_connections: 100,
        messages_per_second: 50,
        rooms: Box::new(KeyedRooms::new([9; 32], 3_600)),
        follow: Some(follow),
        cluster_url,
    };
    // The stand-in answers as escrow and as credentials.
    spawn(settings, EvmChain::new(read, double, double))
        .await
        .unwrap()
}

fn rand_suffix() -> String {
    PrivateKeySigner::random().address().to_string()
}

async fn world(test: &str) -> Option<World> {
    let bin = minuto_anvil::or_skip(test)?;
    let anvil = Anvil::start(&bin, CHAIN_ID, 0).await;
    let deployer: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
    let p = minuto_chain::signing_provider(&anvil.url, &deployer);
    let double = deploy(&p, include_str!("fixtures/ChainDouble.bin")).await;
    let token = deploy(&p, include_str!("../../tests/fixtures/TestToken.bin")).await;
    // EscrowDouble(uint32 maxBackdate, uint16 feeBps): constructor arguments appended.
    let escrow_bin = format!(
        "{}{:064x}{:064x}",
        include_str!("../../relayer/tests/fixtures/EscrowDouble.bin").trim(),
        30,
        250
    );
    let escrow_events = deploy(&p, &escrow_bin).await;
    let cursor = tempfile::tempdir().unwrap();
    let mm = instance(&anvil.url, double, escrow_events, cursor.path(), None).await;
    Some(World {
        _anvil: anvil,
        _cursor: cursor,
        p,
        double,
        escrow_events,
        token,
        mm,
        http: reqwest::Client::new(),
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.mm.local_addr)
    }

    async fn nonce(&self) -> String {
        nonce_at(&self.http, self.mm.local_addr).await
    }

    /// Posts a sign-in and returns the status and body.
    async fn verify(&self, message: &str, signer: &PrivateKeySigner) -> (u16, Value) {
        verify_at(&self.http, self.mm.local_addr, message, signer).await
    }

    fn base(&self) -> url::Url {
        self.url("/").parse().unwrap()
    }

    async fn sign_in(&self, signer: &PrivateKeySigner) -> String {
        client::sign_in(&self.http, &self.base(), signer, DOMAIN, CHAIN_ID)
            .await
            .unwrap()
    }

    async fn client(&self, signer: &PrivateKeySigner) -> Client {
        let token = self.sign_in(signer).await;
        Client(client::Client::connect(&self.base(), &token).await.unwrap())
    }

    /// Mints `amount` to the student.
    async fn mint(&self, student: Address, amount: u64) {
        IToken::new(self.token, &self.p)
            .mint(student, U256::from(amount))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }

    /// Gives `who` ETH for gas.
    async fn gas(&self, who: Address) {
        let tx = TransactionRequest::default()
            .with_to(who)
            .with_value(U256::from(10u64.pow(17)));
        self.p
            .send_transaction(tx)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }

    /// The student approves `amount` to the escrow (the stand-in's address) from their
    /// own key, with gas money from the deployer.
    async fn approve(&self, student: &PrivateKeySigner, amount: u64) {
        self.gas(student.address()).await;
        let sp = minuto_chain::signing_provider(&self._anvil.url, student);
        IToken::new(self.token, &sp)
            .approve(self.double, U256::from(amount))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
}

/// A nonce from the instance at `addr`.
async fn nonce_at(http: &reqwest::Client, addr: SocketAddr) -> String {
    let v: Value = http
        .get(format!("http://{addr}/v1/auth/nonce"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["nonce"].as_str().unwrap().to_owned()
}

/// Posts `message` signed by `signer` to the instance at `addr`: the status and body.
async fn verify_at(
    http: &reqwest::Client,
    addr: SocketAddr,
    message: &str,
    signer: &PrivateKeySigner,
) -> (u16, Value) {
    let sig = signer.sign_message_sync(message.as_bytes()).unwrap();
    let r = http
        .post(format!("http://{addr}/v1/auth/verify"))
        .json(&json!({ "message": message, "signature": format!("0x{}", hex(&sig.as_bytes())) }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn hex(b: &[u8]) -> String {
    minuto_chain::alloy::hex::encode(b)
}

/// The crate's client, with the tests' defaults: a 10 s wait, panics on failure.
struct Client(client::Client);

impl Client {
    /// A socket that has not said hello yet.
    async fn raw(addr: SocketAddr) -> RawClient {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/ws"))
            .await
            .unwrap();
        RawClient(ws)
    }

    async fn send(&mut self, v: Value) {
        self.0.send(v).await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        self.0.recv(Duration::from_secs(10)).await.unwrap()
    }

    /// The next message, which must be of `kind`.
    async fn expect(&mut self, kind: &str) -> Value {
        let v = self.recv().await;
        assert_eq!(v["type"], kind, "{v}");
        v
    }
}

/// A bare socket, for what happens before or instead of `hello`.
struct RawClient(
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl RawClient {
    async fn send(&mut self, v: Value) {
        self.0
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.0.next())
                .await
                .expect("a message within 10 s")
                .expect("the socket is open")
                .unwrap();
            if let Message::Text(t) = frame {
                let v: Value = serde_json::from_str(&t).unwrap();
                assert_eq!(v["type"], kind, "{v}");
                return v;
            }
        }
    }
}

fn profile(token: Address, credentials: &[u32]) -> Value {
    json!({
        "languages": ["es"],
        "levels": ["B1"],
        "token": token,
        "rate": U256::from(RATE),
        "credentials": credentials,
    })
}

fn request(token: Address, credential: Option<u32>, cap: u64) -> Value {
    json!({
        "language": "es",
        "level": "B1",
        "token": token,
        "max_rate": U256::from(RATE),
        "credential": credential,
        "cap": U256::from(cap),
    })
}

/// The tutor's signed acceptance of `terms` (from a `proposed` message), as JSON.
fn acceptance(
    signer: &PrivateKeySigner,
    escrow: Address,
    terms: &Value,
    max_fee_bps: u16,
    nonce: u64,
    expiry: u64,
) -> Value {
    let terms: Terms = serde_json::from_value(terms.clone()).unwrap();
    let a = client::sign_acceptance(
        signer,
        CHAIN_ID,
        escrow,
        &terms,
        Address::repeat_byte(0x77),
        max_fee_bps,
        U256::from(nonce),
        expiry,
    );
    serde_json::to_value(a).unwrap()
}

#[tokio::test]
async fn sign_in_checks_domain_chain_nonce_and_signature() {
    let Some(w) = world("sign_in_checks_domain_chain_nonce_and_signature").await else {
        return;
    };
    let alice = PrivateKeySigner::random();
    let mallory = PrivateKeySigner::random();

    let nonce = w.nonce().await;
    let (status, v) = w
        .verify(
            &siwe_message("evil.test", alice.address(), CHAIN_ID, &nonce),
            &alice,
        )
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("evil.test"));
    // The nonce was used up by that attempt.
    let (status, v) = w
        .verify(
            &siwe_message(DOMAIN, alice.address(), CHAIN_ID, &nonce),
            &alice,
        )
        .await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["message"], "unknown, used or expired nonce");

    let nonce = w.nonce().await;
    let (status, v) = w
        .verify(&siwe_message(DOMAIN, alice.address(), 1, &nonce), &alice)
        .await;
    assert_eq!(status, 401, "{v}");
    assert!(v["message"].as_str().unwrap().contains("chain 1"));

    // Signed by someone else than the message's address.
    let nonce = w.nonce().await;
    let (status, v) = w
        .verify(
            &siwe_message(DOMAIN, alice.address(), CHAIN_ID, &nonce),
            &mallory,
        )
        .await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["message"], "the signature is not the message address's");

    let r = w
        .http
        .post(w.url("/v1/auth/verify"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "bad_request");

    // A good sign-in; the token opens a socket, a made-up one does not.
    let token = w.sign_in(&alice).await;
    assert_eq!(token.len(), 88, "address, expiry and MAC, hex");
    let mut c = Client::raw(w.mm.local_addr).await;
    c.send(json!({ "type": "hello", "token": "f".repeat(64) }))
        .await;
    let v = c.expect("error").await;
    assert_eq!(v["code"], "unauthorized");
    let mut c = Client::raw(w.mm.local_addr).await;
    c.send(json!({ "type": "find", "request": request(w.token, None, 1) }))
        .await;
    assert_eq!(c.expect("error").await["code"], "unauthorized");
    w.mm.shutdown().await;
}

#[tokio::test]
async fn find_now_matches_on_an_acceptance_the_escrow_would_take() {
    let Some(w) = world("find_now_matches_on_an_acceptance_the_escrow_would_take").await else {
        return;
    };
    let tutor_key = PrivateKeySigner::random();
    let student_key = PrivateKeySigner::random();
    let mut tutor = w.client(&tutor_key).await;
    let mut student = w.client(&student_key).await;

    // The tutor claims credential 7; the chain says valid.
    IDouble::new(w.double, &w.p)
        .setValid(tutor_key.address(), KIND, true)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    tutor
        .send(json!({ "type": "online", "profile": profile(w.token, &[KIND]) }))
        .await;
    tutor.expect("online").await;

    // No funds yet: refused with the numbers.
    let cap = 5_000_000u64;
    student
        .send(json!({ "type": "find", "request": request(w.token, Some(KIND), cap) }))
        .await;
    let v = student.expect("error").await;
    assert_eq!(v["code"], "insufficient_funds", "{v}");
    assert_eq!(
        v["message"],
        format!("the cap is {cap} but the balance is 0 and the allowance to the escrow 0")
    );
    w.mint(student_key.address(), cap).await;
    // Balance but no allowance: still refused.
    student
        .send(json!({ "type": "find", "request": request(w.token, Some(KIND), cap) }))
        .await;
    assert_eq!(student.expect("error").await["code"], "insufficient_funds");
    w.approve(&student_key, cap).await;

    // The credential check ran when the tutor went online; retry until it landed.
    let mut proposed = Value::Null;
    for _ in 0..20 {
        student
            .send(json!({ "type": "find", "request": request(w.token, Some(KIND), cap) }))
            .await;
        let v = student.recv().await;
        if v["type"] == "searching" {
            assert_eq!(v["attempt"], 1);
            proposed = tutor.expect("proposed").await;
            break;
        }
        assert_eq!(v["type"], "no_match", "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(proposed["type"], "proposed", "never proposed");
    let proposal = proposed["proposal"].as_u64().unwrap();
    let terms = &proposed["terms"];
    assert_eq!(
        terms["student"].as_str().unwrap().to_lowercase(),
        student_key.address().to_string().to_lowercase()
    );
    assert!(proposed["expires_in_ms"].as_u64().unwrap() <= 30_000);

    let expiry = unix_now() + 600;
    let accept = |a: Value| json!({ "type": "accept", "proposal": proposal, "acceptance": a });
    // Each refused with `invalid_acceptance` and its reason; nothing changes.
    let other = PrivateKeySigner::random();
    let mut cheaper = terms.clone();
    cheaper["rate"] = json!(U256::from(RATE - 1));
    IDouble::new(w.double, &w.p)
        .setUsed(tutor_key.address(), U256::from(1))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let refused = [
        (
            acceptance(&other, w.double, terms, 250, 2, expiry),
            "the signature is not the tutor's",
        ),
        // Signed for another escrow (domain).
        (
            acceptance(&tutor_key, w.token, terms, 250, 2, expiry),
            "the signature is not the tutor's",
        ),
        (
            acceptance(&tutor_key, w.double, terms, 249, 2, expiry),
            "maxFeeBps 249 is below the escrow's fee of 250 bps",
        ),
        (
            acceptance(&tutor_key, w.double, terms, 250, 1, expiry),
            "nonce 1 is already used",
        ),
        (
            acceptance(&tutor_key, w.double, &cheaper, 250, 2, expiry),
            "the accepted rate differs from the proposal's",
        ),
    ];
    for (a, why) in refused {
        tutor.send(accept(a)).await;
        let v = tutor.expect("error").await;
        assert_eq!(
            (v["code"].as_str(), v["message"].as_str()),
            (Some("invalid_acceptance"), Some(why))
        );
    }
    // Expiring too soon for the student's transaction.
    tutor
        .send(accept(acceptance(
            &tutor_key,
            w.double,
            terms,
            250,
            2,
            unix_now() + 60,
        )))
        .await;
    let v = tutor.expect("error").await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("expiry must be between"),
        "{v}"
    );

    // The valid acceptance wins.
    let good = acceptance(&tutor_key, w.double, terms, 300, 2, expiry);
    tutor.send(accept(good.clone())).await;
    let matched = student.expect("matched").await;
    assert_eq!(
        matched["tutor"].as_str().unwrap().to_lowercase(),
        tutor_key.address().to_string().to_lowercase()
    );
    assert_eq!(matched["acceptance"], good);
    assert!(matched["reserved_for_ms"].as_u64().unwrap() > 100_000);
    let accepted = tutor.expect("accepted").await;
    assert_eq!(accepted["proposal"], proposal);
    assert_eq!(accepted["room"]["id"], matched["room"]["id"]);
    assert_ne!(accepted["room"]["token"], matched["room"]["token"]);
    // The same accept again: the proposal is closed.
    tutor.send(accept(good)).await;
    let v = tutor.expect("error").await;
    assert_eq!(v["code"], "proposal_closed", "{v}");

    let metrics = w
        .http
        .get(format!("http://{}/metrics", w.mm.admin_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("minuto_matchmaker_matches_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("minuto_matchmaker_sign_ins_total 2"),
        "{metrics}"
    );
    w.mm.shutdown().await;
}

#[tokio::test]
async fn a_tutor_who_drops_with_a_proposal_pending_is_skipped_at_once() {
    let Some(w) = world("a_tutor_who_drops_with_a_proposal_pending_is_skipped_at_once").await
    else {
        return;
    };
    let (k1, k2, ks) = (
        PrivateKeySigner::random(),
        PrivateKeySigner::random(),
        PrivateKeySigner::random(),
    );
    let mut t1 = w.client(&k1).await;
    t1.send(json!({ "type": "online", "profile": profile(w.token, &[]) }))
        .await;
    t1.expect("online").await;
    let mut t2 = w.client(&k2).await;
    t2.send(json!({ "type": "online", "profile": profile(w.token, &[]) }))
        .await;
    t2.expect("online").await;
    let mut student = w.client(&ks).await;
    // A zero cap passes the funds check (0 ≥ 0) and the pool refuses it.
    student
        .send(json!({ "type": "find", "request": request(w.token, None, 0) }))
        .await;
    let v = student.expect("error").await;
    assert_eq!(v["code"], "invalid_input", "{v}");
    assert_eq!(v["message"], "invalid request: zero spending cap");

    // Funded, so the chain check passes.
    w.mint(ks.address(), 1).await;
    w.approve(&ks, 1).await;
    student
        .send(json!({ "type": "find", "request": request(w.token, None, 1) }))
        .await;
    assert_eq!(student.expect("searching").await["attempt"], 1);
    t1.expect("proposed").await;
    // Tutor 1's socket closes: the next tutor is asked at once.
    drop(t1);
    assert_eq!(student.expect("searching").await["attempt"], 2);
    let p = t2.expect("proposed").await;
    t2.send(json!({ "type": "decline", "proposal": p["proposal"] }))
        .await;
    let v = student.expect("no_match").await;
    assert_eq!(v["reason"], "no_tutor");
    // Bad frames get typed errors and change nothing.
    student.send(json!({ "type": "dance" })).await;
    assert_eq!(student.expect("error").await["code"], "bad_message");
    student.send(json!({ "type": "cancel" })).await;
    assert_eq!(student.expect("error").await["code"], "no_search");
    w.mm.shutdown().await;
}

/// Finds until the answer is `want` (`searching` or `no_match`), cancelling a search
/// that started meanwhile; the follower needs a poll or two to see a block.
async fn find_until(student: &mut Client, tutor: &mut Client, token: Address, want: &str) {
    for _ in 0..50 {
        student
            .send(json!({ "type": "find", "request": request(token, None, 1) }))
            .await;
        let v = student.recv().await;
        if v["type"] == want {
            if want == "searching" {
                tutor.expect("proposed").await;
            }
            return;
        }
        if v["type"] == "searching" {
            tutor.expect("proposed").await;
            student.send(json!({ "type": "cancel" })).await;
            student.expect("cancelled").await;
            tutor.expect("proposal_closed").await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never got {want}");
}

#[tokio::test]
async fn a_tutor_in_a_live_session_is_busy_until_it_ends_on_chain() {
    let Some(w) = world("a_tutor_in_a_live_session_is_busy_until_it_ends_on_chain").await else {
        return;
    };
    let (tk, sk) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let mut tutor = w.client(&tk).await;
    tutor
        .send(json!({ "type": "online", "profile": profile(w.token, &[]) }))
        .await;
    tutor.expect("online").await;
    let mut student = w.client(&sk).await;
    w.mint(sk.address(), 1).await;
    w.approve(&sk, 1).await;
    find_until(&mut student, &mut tutor, w.token, "searching").await;
    student.send(json!({ "type": "cancel" })).await;
    student.expect("cancelled").await;
    tutor.expect("proposal_closed").await;

    // A session of the tutor's (booked elsewhere) starts on chain: busy.
    w.gas(tk.address()).await;
    let as_student = minuto_chain::signing_provider(&w._anvil.url, &sk);
    let as_tutor = minuto_chain::signing_provider(&w._anvil.url, &tk);
    let escrow = IEscrowDouble::new(w.escrow_events, &as_student);
    escrow
        .open(
            tk.address(),
            w.token,
            U256::from(RATE),
            U256::from(1),
            sk.address(),
            0,
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    IEscrowDouble::new(w.escrow_events, &as_tutor)
        .start(U256::from(1), tk.address())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    find_until(&mut student, &mut tutor, w.token, "no_match").await;

    // The session ends: the tutor is back in the pool.
    escrow
        .stop(U256::from(1))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    find_until(&mut student, &mut tutor, w.token, "searching").await;
    w.mm.shutdown().await;
}

/// A signed-in client of the instance at `addr`.
async fn client_at(http: &reqwest::Client, addr: SocketAddr, signer: &PrivateKeySigner) -> Client {
    let base: url::Url = format!("http://{addr}/").parse().unwrap();
    let token = client::sign_in(http, &base, signer, DOMAIN, CHAIN_ID)
        .await
        .unwrap();
    Client(client::Client::connect(&base, &token).await.unwrap())
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 10 s");
}

/// A world and a Redis for several instances (or a loud skip).
async fn world_with_redis(test: &str) -> Option<(World, minuto_anvil::redis::Redis)> {
    let w = world(test).await?;
    let bin = minuto_anvil::redis::or_skip(test)?;
    Some((w, minuto_anvil::redis::Redis::start(&bin).await))
}

/// Two instances sharing `redis`, their cursors in `dir`.
async fn two_instances(
    w: &World,
    redis: &minuto_anvil::redis::Redis,
    dir: &std::path::Path,
) -> (Handle<EvmChain>, Handle<EvmChain>) {
    let url = || Some(redis.url().to_string());
    let a = instance(&w._anvil.url, w.double, w.escrow_events, dir, url()).await;
    let b = instance(&w._anvil.url, w.double, w.escrow_events, dir, url()).await;
    (a, b)
}

/// The tutor goes online, the student (funded) finds, the tutor accepts: matched, on
/// whichever instances they are.
async fn match_across(
    w: &World,
    (tutor, tk): (&mut Client, &PrivateKeySigner),
    (student, sk): (&mut Client, &PrivateKeySigner),
) {
    // Sent before any instance holds the pool, it waits in Redis until one does.
    tutor
        .send(json!({ "type": "online", "profile": profile(w.token, &[]) }))
        .await;
    tutor.expect("online").await;
    w.mint(sk.address(), 1).await;
    w.approve(sk, 1).await;
    student
        .send(json!({ "type": "find", "request": request(w.token, None, 1) }))
        .await;
    assert_eq!(student.expect("searching").await["attempt"], 1);
    let proposed = tutor.expect("proposed").await;
    let a = acceptance(tk, w.double, &proposed["terms"], 250, 1, unix_now() + 600);
    tutor
        .send(json!({ "type": "accept", "proposal": proposed["proposal"], "acceptance": a }))
        .await;
    let matched = student.expect("matched").await;
    assert_eq!(matched["acceptance"], a);
    assert_eq!(
        tutor.expect("accepted").await["room"]["id"],
        matched["room"]["id"]
    );
}

#[tokio::test]
async fn two_instances_share_one_pool_and_survive_losing_the_one_holding_it() {
    let test = "two_instances_share_one_pool_and_survive_losing_the_one_holding_it";
    let Some((w, redis)) = world_with_redis(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(&w, &redis, dir.path()).await;
    wait_for("a leader", || a.hub.holds_pool() != b.hub.holds_pool()).await;
    let (leader, follower) = if a.hub.holds_pool() { (a, b) } else { (b, a) };

    // The tutor on the instance without the pool, the student on the one with it.
    let (tk, sk) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let mut tutor = client_at(&w.http, follower.local_addr, &tk).await;
    let mut student = client_at(&w.http, leader.local_addr, &sk).await;
    match_across(&w, (&mut tutor, &tk), (&mut student, &sk)).await;

    // A second tutor, French, on the follower; then the pool's holder goes away.
    let t2k = PrivateKeySigner::random();
    let mut t2 = client_at(&w.http, follower.local_addr, &t2k).await;
    let mut french = profile(w.token, &[]);
    french["languages"] = json!(["fr"]);
    t2.send(json!({ "type": "online", "profile": french }))
        .await;
    t2.expect("online").await;
    leader.shutdown().await;
    wait_for("the follower taking the pool", || follower.hub.holds_pool()).await;
    // The new pool learnt the French tutor again from its instance.
    let s2k = PrivateKeySigner::random();
    let mut s2 = client_at(&w.http, follower.local_addr, &s2k).await;
    w.mint(s2k.address(), 1).await;
    w.approve(&s2k, 1).await;
    let mut fr = request(w.token, None, 1);
    fr["language"] = json!("fr");
    let mut searching = false;
    for _ in 0..30 {
        s2.send(json!({ "type": "find", "request": fr })).await;
        let v = s2.recv().await;
        if v["type"] == "searching" {
            searching = true;
            break;
        }
        assert_eq!(v["type"], "no_match", "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        searching,
        "the French tutor never came back after the failover"
    );
    let p = t2.expect("proposed").await;
    assert_eq!(
        p["terms"]["student"].as_str().unwrap().to_lowercase(),
        s2k.address().to_string().to_lowercase()
    );
    follower.shutdown().await;
}

/// While no instance takes the forwarded messages (here: the lease held by a foreign id),
/// the Redis inbox stops at its cap and a client gets `overloaded` instead of Redis growing.
#[tokio::test]
async fn a_full_cluster_inbox_refuses_messages_with_overloaded() {
    use minuto_matchmaker::cluster::{INBOX, INBOX_CAP, LEADER};
    use redis::AsyncCommands;
    let test = "a_full_cluster_inbox_refuses_messages_with_overloaded";
    let Some((w, redis)) = world_with_redis(test).await else {
        return;
    };
    let mut r = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = r.set_ex(LEADER, "someone-else", 600).await.unwrap();
    let filler = vec!["filler"; INBOX_CAP - 1];
    let _: () = r.rpush(INBOX, filler).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = instance(
        &w._anvil.url,
        w.double,
        w.escrow_events,
        dir.path(),
        Some(redis.url().to_string()),
    )
    .await;
    let tk = PrivateKeySigner::random();
    let mut tutor = client_at(&w.http, a.local_addr, &tk).await;
    // One place left: the first message is queued for the pool's holder...
    tutor
        .send(json!({ "type": "online", "profile": profile(w.token, &[]) }))
        .await;
    let mut queued = false;
    for _ in 0..100 {
        if r.llen::<_, usize>(INBOX).await.unwrap() == INBOX_CAP {
            queued = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(queued, "the first message was not queued within 10 s");
    // ...the second is refused, and the list stays at its cap.
    tutor.send(json!({ "type": "offline" })).await;
    let e = tutor.expect("error").await;
    assert_eq!(e["code"], "overloaded", "{e}");
    let len: usize = r.llen(INBOX).await.unwrap();
    assert_eq!(len, INBOX_CAP);
    let last: String = r.lindex(INBOX, -1).await.unwrap();
    let last: minuto_matchmaker::cluster::Inbound = serde_json::from_str(&last).unwrap();
    assert!(
        matches!(last, minuto_matchmaker::cluster::Inbound::Msg { from, .. } if from == tk.address()),
        "{last:?}"
    );
    a.shutdown().await;
}

/// One signed message signs in once across the cluster, whichever instance issued its
/// nonce: the first instance to accept it claims the nonce in Redis, and the same message
/// at another instance is refused as a used nonce. With Redis unreachable a sign-in is
/// refused (503 `unavailable`), never let through unclaimed; it works again once Redis is
/// back.
#[tokio::test]
async fn a_signed_message_signs_in_once_across_instances() {
    use minuto_matchmaker::cluster::NONCES;
    use redis::AsyncCommands;
    let test = "a_signed_message_signs_in_once_across_instances";
    let Some((w, mut redis)) = world_with_redis(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(&w, &redis, dir.path()).await;
    let alice = PrivateKeySigner::random();
    for (first, second) in [(&a, &b), (&b, &a)] {
        // The nonce from the instance that will be asked second.
        let nonce = nonce_at(&w.http, second.local_addr).await;
        let message = siwe_message(DOMAIN, alice.address(), CHAIN_ID, &nonce);
        let (status, v) = verify_at(&w.http, first.local_addr, &message, &alice).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["address"].as_str().unwrap().to_lowercase(),
            alice.address().to_string().to_lowercase()
        );
        let (status, v) = verify_at(&w.http, second.local_addr, &message, &alice).await;
        assert_eq!(
            (status, v["error"].as_str(), v["message"].as_str()),
            (
                401,
                Some("unauthorized"),
                Some("unknown, used or expired nonce")
            ),
            "{v}"
        );
    }
    // One key per nonce claimed, lapsing a minute after the nonce (5 minutes here).
    let mut r = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = r.keys(format!("{NONCES}*")).await.unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for k in &keys {
        let ttl: i64 = r.ttl(k).await.unwrap();
        assert!((350..=360).contains(&ttl), "{k}: ttl {ttl}");
    }

    redis.stop().await;
    let nonce = nonce_at(&w.http, a.local_addr).await;
    let message = siwe_message(DOMAIN, alice.address(), CHAIN_ID, &nonce);
    let (status, v) = verify_at(&w.http, a.local_addr, &message, &alice).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (503, Some("unavailable")),
        "{v}"
    );
    redis.resume().await;
    let mut signed_in = false;
    for _ in 0..50 {
        let nonce = nonce_at(&w.http, a.local_addr).await;
        let message = siwe_message(DOMAIN, alice.address(), CHAIN_ID, &nonce);
        let (status, v) = verify_at(&w.http, a.local_addr, &message, &alice).await;
        if status == 200 {
            signed_in = true;
            break;
        }
        assert_eq!(
            (status, v["error"].as_str()),
            (503, Some("unavailable")),
            "{v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(signed_in, "no sign-in within 10 s of Redis coming back");
    a.shutdown().await;
    b.shutdown().await;
}

/// A `minuto-matchmaker` process (the binary itself), stopped on drop.
struct Process(std::process::Child, SocketAddr);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The deploy tool's record of `w`'s contracts, written to `dir`.
fn deployment_record(w: &World, dir: &std::path::Path) -> std::path::PathBuf {
    let record = dir.join("deployment.json");
    let json = json!({
        "chainId": CHAIN_ID,
        "contracts": {
            "escrow": { "address": w.double, "block": 0 },
            "credentials": { "address": w.double, "block": 0 },
        }
    });
    std::fs::write(&record, json.to_string()).unwrap();
    record
}

/// Waits (30 s at most: a loaded CI machine) until the process answers `/readyz`.
async fn ready(w: &World, mut p: Process) -> Process {
    for _ in 0..300 {
        if let Ok(r) = w.http.get(format!("http://{}/readyz", p.1)).send().await {
            if r.status().is_success() {
                return p;
            }
        }
        if let Some(status) = p.0.try_wait().unwrap() {
            panic!("minuto-matchmaker on {} exited at start: {status}", p.1);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("minuto-matchmaker on {} never became ready", p.1);
}

/// Starts the binary against `w`'s chain with `redis`, and waits until it answers.
async fn process(w: &World, dir: &std::path::Path, redis: &str) -> Process {
    let record = deployment_record(w, dir);
    let (port, admin) = (free_port(), free_port());
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_minuto-matchmaker"))
        .args(["--listen", &addr.to_string()])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--rpc-url", w._anvil.url.as_str()])
        .arg("--deployment")
        .arg(&record)
        .args([
            "--siwe-domain",
            DOMAIN,
            "--redis-url",
            redis,
            "--confirmations",
            "0",
        ])
        .arg("--cursor-file")
        .arg(dir.join(format!("cursor-{port}.json")))
        .env("MINUTO_MATCHMAKER_ROOM_SECRET", "09".repeat(32))
        .env("MINUTO_MATCHMAKER_SESSION_SECRET", "05".repeat(32))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    ready(w, Process(child, addr)).await
}

/// Starts the binary as `deploy/systemd/minuto-matchmaker.service` does (its
/// `ExecStart=`, checked by `systemd-analyze verify`), configured by
/// `deploy/systemd/matchmaker.env.example` alone, the values a test needs swapped in and
/// the file's other settings kept; waits until it answers.
async fn unit_process(w: &World, dir: &std::path::Path, redis: &str) -> Process {
    let bin = env!("CARGO_BIN_EXE_minuto-matchmaker");
    let unit = minuto_anvil::systemd::Unit::load("minuto-matchmaker");
    unit.verify(std::path::Path::new(bin));
    let record = deployment_record(w, dir);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let swap = [
        ("MINUTO_MATCHMAKER_LISTEN", addr.to_string()),
        (
            "MINUTO_MATCHMAKER_ADMIN_LISTEN",
            format!("127.0.0.1:{}", free_port()),
        ),
        ("MINUTO_MATCHMAKER_RPC_URL", w._anvil.url.to_string()),
        ("MINUTO_MATCHMAKER_DEPLOYMENT", record.display().to_string()),
        ("MINUTO_MATCHMAKER_SIWE_DOMAIN", DOMAIN.to_owned()),
        (
            "MINUTO_MATCHMAKER_CURSOR_FILE",
            dir.join(format!("cursor-{}.json", addr.port()))
                .display()
                .to_string(),
        ),
        ("MINUTO_MATCHMAKER_REDIS_URL", redis.to_owned()),
        ("MINUTO_MATCHMAKER_SESSION_SECRET", "05".repeat(32)),
        ("MINUTO_MATCHMAKER_ROOM_SECRET", "09".repeat(32)),
    ];
    let file = minuto_anvil::repo_root().join("deploy/systemd/matchmaker.env.example");
    let mut env: Vec<(String, String)> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            let v = swap
                .iter()
                .find(|(key, _)| *key == k)
                .map_or(v.to_owned(), |(_, s)| s.clone());
            (k.to_owned(), v)
        })
        .collect();
    for (k, _) in &swap {
        assert!(
            env.iter().any(|(key, _)| key == k),
            "{k} is not in {}",
            file.display()
        );
    }
    // The chain here is anvil, where nothing is reorganised.
    env.push(("MINUTO_MATCHMAKER_CONFIRMATIONS".into(), "0".into()));
    assert_eq!(unit.program(), "/usr/local/bin/minuto-matchmaker");
    let mut cmd = std::process::Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("MINUTO_MATCHMAKER_") {
            cmd.env_remove(k);
        }
    }
    let child = cmd
        .args(unit.args(dir))
        .envs(env)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    ready(w, Process(child, addr)).await
}

#[tokio::test]
async fn two_processes_match_a_student_on_one_with_a_tutor_on_the_other() {
    let test = "two_processes_match_a_student_on_one_with_a_tutor_on_the_other";
    let Some((w, redis)) = world_with_redis(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One configured by flags, one as the systemd unit runs it (its environment file).
    let a = process(&w, dir.path(), redis.url().as_str()).await;
    let b = unit_process(&w, dir.path(), redis.url().as_str()).await;
    let (tk, sk) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let mut tutor = client_at(&w.http, a.1, &tk).await;
    let mut student = client_at(&w.http, b.1, &sk).await;
    match_across(&w, (&mut tutor, &tk), (&mut student, &sk)).await;
    drop((a, b));
}

/// Two processes behind a real nginx running `deploy/nginx/minuto.conf` (its ports
/// swapped; the matchmaker's server also answers to the address the test reaches it by,
/// since a client here has no DNS name for it): sign-in and WebSockets pass through
/// nginx to both instances, a student and a tutor are matched, and after one instance is
/// killed new clients sign in and connect through nginx to the other.
#[tokio::test]
async fn two_processes_behind_nginx_match_and_take_new_sockets_after_one_dies() {
    let test = "two_processes_behind_nginx_match_and_take_new_sockets_after_one_dies";
    let Some((w, redis)) = world_with_redis(test).await else {
        return;
    };
    let Some(nginx_bin) = minuto_anvil::nginx::or_skip(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = process(&w, dir.path(), redis.url().as_str()).await;
    let b = process(&w, dir.path(), redis.url().as_str()).await;
    let nginx = minuto_anvil::nginx::Nginx::start(
        &nginx_bin,
        &[
            ("127.0.0.1:8090", a.1.to_string()),
            ("127.0.0.1:8091", b.1.to_string()),
            (
                "server_name match.minuto.example;",
                "server_name match.minuto.example 127.0.0.1;".into(),
            ),
        ],
    )
    .await;
    let (tk, sk) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    let mut tutor = client_at(&w.http, nginx.addr, &tk).await;
    let mut student = client_at(&w.http, nginx.addr, &sk).await;
    match_across(&w, (&mut tutor, &tk), (&mut student, &sk)).await;
    drop((tutor, student));
    // Both instances served requests: the sign-ins and the two sockets went round-robin
    // (nginx logs a socket when it closes).
    let sockets = |log: &str| {
        (log.lines())
            .filter(|l| l.contains(" 101 \"GET /v1/ws "))
            .count()
    };
    wait_for("both sockets in nginx's log", || {
        sockets(&nginx.access_log()) == 2
    })
    .await;
    let served = |log: &str, at: SocketAddr| log.lines().any(|l| l.starts_with(&format!("{at} ")));
    let log = nginx.access_log();
    assert!(served(&log, a.1) && served(&log, b.1), "{log}");

    // Instance a dies. nginx finds it refusing connections and passes every sign-in and
    // socket to b; a tutor signed in through nginx goes online there.
    let dead = a.1;
    drop(a);
    for _ in 0..3 {
        let k = PrivateKeySigner::random();
        let mut c = client_at(&w.http, nginx.addr, &k).await;
        c.send(json!({ "type": "online", "profile": profile(w.token, &[]) }))
            .await;
        c.expect("online").await;
    }
    assert!(
        nginx.error_log().contains("Connection refused"),
        "nginx never met the dead instance: {}",
        nginx.error_log()
    );
    let after_kill: Vec<_> = (nginx.access_log().lines())
        .skip(log.lines().count())
        .map(str::to_owned)
        .collect();
    // Every request after the kill was answered by b, some after a refused (listed first).
    assert!(
        after_kill.iter().all(|l| l.contains(&format!("{} ", b.1))),
        "{after_kill:?}"
    );
    assert!(
        after_kill
            .iter()
            .any(|l| l.starts_with(&format!("{dead}, "))),
        "{after_kill:?}"
    );
    drop(b);
}

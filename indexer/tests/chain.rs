//! The indexer against a real anvil: a Solidity stand-in of the escrow with its exact
//! events that moves real ERC-20 tokens (`fixtures/EscrowLedger.sol`), a stand-in
//! emitting the credentials', badges' and ratings' events (`fixtures/ReputationDouble.sol`,
//! one instance per contract), the real `spawn` with its HTTP API. Every scenario runs on
//! SQLite and on PostgreSQL (a server started by minuto-anvil's harness; the one behind
//! nginx on SQLite only); the numbers served are checked to the base unit against token
//! balances read from the chain.

use std::io::Write;
use std::time::Duration;

use minuto_anvil::postgres::Postgres;
use minuto_anvil::Anvil;
use minuto_chain::alloy::network::TransactionBuilder;
use minuto_chain::alloy::primitives::{Address, Bytes, U256};
use minuto_chain::alloy::providers::{DynProvider, Provider};
use minuto_chain::alloy::rpc::types::TransactionRequest;
use minuto_chain::alloy::signers::local::PrivateKeySigner;
use minuto_chain::Record;
use minuto_indexer::{spawn, Handle, IngestConfig, Settings, Store};
use serde_json::{json, Value};

const CHAIN_ID: u64 = 31_337;
const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// 10,000 base units a second, scaled by 1e18.
const UNITS_PER_SECOND: u64 = 10_000;
const MINTED: u64 = 1_000_000_000;

minuto_chain::alloy::sol! {
    #[sol(rpc)]
    interface ILedger {
        function setRelayer(address relayer, bool allowed) external;
        function open(address tutor, address token, uint256 rate, uint256 deposit, address studentKey, uint32 credentialKind) external returns (uint256);
        function start(uint256 id, address tutorKey) external;
        function topUp(uint256 id, uint256 amount) external;
        function withdraw(uint256 id) external returns (uint256);
        function stop(uint256 id) external;
        function stopAt(uint256 id, uint64 at) external;
        function cancel(uint256 id) external;
        function claim(address token, address to) external returns (uint256);
        function claimable(address token, address account) external view returns (uint256);
    }
    #[sol(rpc)]
    interface IReputation {
        function issue(address holder, uint32 kind, uint64 expiry, string calldata uri) external returns (uint256);
        function revoke(uint256 tokenId, address holder, uint32 kind) external;
        function claimBadge(uint256 sessionId, uint8 role) external returns (uint256);
        function rate(uint256 sessionId, address ratee, uint8 raterRole, uint8 score, string calldata cid) external;
        function setMinDuration(uint64 minDuration) external;
        function setMinBilled(address token, uint128 minBilled) external;
    }
    #[sol(rpc)]
    interface IToken {
        function mint(address to, uint256 value) external;
        function approve(address spender, uint256 value) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
        function setBlocked(address account, bool isBlocked) external;
    }
}

/// The `VettingDouble` stand-in's calls (its `open` mirrors the event's eight fields).
#[allow(clippy::too_many_arguments)]
mod vetting_double {
    minuto_chain::alloy::sol! {
        #[sol(rpc)]
        interface IVettingDouble {
            function open(uint256 id, address tutor, uint32 kind, uint8 action, uint256 tokenId, uint64 deadline, string calldata cid) external;
            function vote(uint256 id, bool approve, uint32 approvals, uint32 rejections, string calldata reasonCid) external;
            function decide(uint256 id, address tutor, uint32 kind, uint8 action, bool approved, uint256 tokenId) external;
            function expire(uint256 id, address tutor, uint32 kind) external;
            function supersede(uint256 id, address tutor, uint32 kind, uint256 revocationId) external;
            function setQuorum(uint32 quorum, uint32 reviewers) external;
        }
    }
}
use vetting_double::IVettingDouble;

/// Which database a scenario runs on.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(Postgres),
}

impl Db {
    /// A fresh database, or `None` (skipped loudly, failing under CI) without PostgreSQL.
    async fn new(postgres: bool, test: &str) -> Option<Self> {
        if postgres {
            let bin = minuto_anvil::postgres::or_skip(test)?;
            Some(Db::Postgres(Postgres::start(&bin).await))
        } else {
            Some(Db::Sqlite(tempfile::tempdir().unwrap()))
        }
    }

    fn url(&self) -> String {
        match self {
            Db::Sqlite(dir) => dir.path().join("index.sqlite").display().to_string(),
            Db::Postgres(pg) => pg.url("postgres"),
        }
    }
}

struct Party {
    address: Address,
    p: DynProvider,
}

struct World {
    anvil: Anvil,
    admin: DynProvider,
    record: Record,
    escrow: Address,
    credentials: Address,
    badges: Address,
    ratings: Address,
    /// The `VettingDouble` stand-in (deployed by [`World::with_vetting`] only).
    vetting: Address,
    /// The `BookingDouble` stand-in (deployed by [`World::with_booking`] only).
    booking: Address,
    token_a: Address,
    token_b: Address,
    treasury: Address,
    http: reqwest::Client,
}

async fn deploy(p: &DynProvider, code: String) -> (Address, u64) {
    let code: Bytes = code.trim().parse().unwrap();
    let tx = TransactionRequest::default().with_deploy_code(code);
    let r = p
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    (r.contract_address.unwrap(), r.block_number.unwrap())
}

fn word(a: Address) -> String {
    format!("{:0>64}", format!("{a:x}"))
}

impl World {
    async fn new(test: &str) -> Option<Self> {
        Self::build(test, false, 250, false).await
    }

    /// [`World::new`] with an escrow that takes no protocol fee (`feeBps` 0).
    async fn without_fee(test: &str) -> Option<Self> {
        Self::build(test, false, 0, false).await
    }

    /// [`World::new`] with a `BookingDouble` deployed last and listed as `booking`.
    async fn with_booking(test: &str) -> Option<Self> {
        Self::build(test, false, 250, true).await
    }

    /// [`World::new`] with a `VettingDouble` deployed last and listed as `vetting` (the
    /// other scenarios keep their block numbers).
    async fn with_vetting(test: &str) -> Option<Self> {
        Self::build(test, true, 250, false).await
    }

    async fn build(test: &str, vetting: bool, fee_bps: u16, booking: bool) -> Option<Self> {
        let bin = minuto_anvil::or_skip(test)?;
        let anvil = Anvil::start(&bin, CHAIN_ID, 0).await;
        let deployer: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
        let admin = minuto_chain::signing_provider(&anvil.url, &deployer);
        let treasury = PrivateKeySigner::random().address();
        let token = include_str!("../../tests/fixtures/TestToken.bin");
        let quirk = include_str!("../../tests/fixtures/QuirkToken.bin");
        let (token_a, _) = deploy(&admin, token.into()).await;
        let (token_b, _) = deploy(&admin, quirk.into()).await;
        // EscrowLedger(address treasury, uint16 feeBps, uint32 maxBackdate).
        let ledger = format!(
            "{}{}{:064x}{:064x}",
            include_str!("fixtures/EscrowLedger.bin").trim(),
            word(treasury),
            fee_bps,
            60
        );
        let (escrow, escrow_block) = deploy(&admin, ledger).await;
        let rep = include_str!("fixtures/ReputationDouble.bin");
        let (credentials, cb) = deploy(&admin, rep.into()).await;
        let (badges, bb) = deploy(&admin, rep.into()).await;
        let (ratings, rb) = deploy(&admin, rep.into()).await;
        // Through the file format, as the deploy tool writes it (fields it may gain
        // later are optional).
        let entry = |address: Address, block: u64| json!({"address": address, "block": block});
        let mut contracts = json!({
            "escrow": entry(escrow, escrow_block),
            "credentials": entry(credentials, cb),
            "badges": entry(badges, bb),
            "ratings": entry(ratings, rb),
        });
        let mut vetting_address = Address::ZERO;
        if vetting {
            let code = include_str!("fixtures/VettingDouble.bin");
            let (v, vb) = deploy(&admin, code.into()).await;
            contracts["vetting"] = entry(v, vb);
            vetting_address = v;
        }
        let mut booking_address = Address::ZERO;
        if booking {
            let code = include_str!("fixtures/BookingDouble.bin");
            let (b, bb) = deploy(&admin, code.into()).await;
            contracts["booking"] = entry(b, bb);
            booking_address = b;
        }
        let record: Record = serde_json::from_value(json!({
            "chainId": CHAIN_ID,
            "contracts": contracts,
        }))
        .unwrap();
        Some(Self {
            anvil,
            admin,
            record,
            escrow,
            credentials,
            badges,
            ratings,
            vetting: vetting_address,
            booking: booking_address,
            token_a,
            token_b,
            treasury,
            http: reqwest::Client::new(),
        })
    }

    /// A funded account holding `MINTED` of both tokens, the escrow approved.
    async fn party(&self) -> Party {
        let signer = PrivateKeySigner::random();
        let address = signer.address();
        self.admin
            .raw_request::<_, Value>(
                "anvil_setBalance".into(),
                (address, U256::from(10u64).pow(U256::from(20))),
            )
            .await
            .unwrap();
        let p = minuto_chain::signing_provider(&self.anvil.url, &signer);
        for token in [self.token_a, self.token_b] {
            let admin_token = IToken::new(token, &self.admin);
            admin_token
                .mint(address, U256::from(MINTED))
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            IToken::new(token, &p)
                .approve(self.escrow, U256::MAX)
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
        }
        Party { address, p }
    }

    /// The next block is mined at `ts`.
    async fn at(&self, ts: u64) {
        self.admin
            .raw_request::<_, Value>("evm_setNextBlockTimestamp".into(), [ts])
            .await
            .unwrap();
    }

    async fn balance(&self, token: Address, who: Address) -> u64 {
        IToken::new(token, &self.admin)
            .balanceOf(who)
            .call()
            .await
            .unwrap()
            .to::<u64>()
    }

    async fn indexer(&self, db: &str) -> Handle {
        self.indexer_with(db, minuto_indexer::NotifyConfig::default())
            .await
    }

    async fn indexer_with(&self, db: &str, notify: minuto_indexer::NotifyConfig) -> Handle {
        self.indexer_hooks(db, notify, vec![]).await
    }

    async fn indexer_hooks(
        &self,
        db: &str,
        notify: minuto_indexer::NotifyConfig,
        webhooks: Vec<minuto_indexer::Webhook>,
    ) -> Handle {
        self.indexer_lease(db, notify, webhooks, Duration::from_secs(10))
            .await
    }

    async fn indexer_lease(
        &self,
        db: &str,
        notify: minuto_indexer::NotifyConfig,
        webhooks: Vec<minuto_indexer::Webhook>,
        writer_lease: Duration,
    ) -> Handle {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("31337.json");
        self.record.save(&path).unwrap();
        let contracts =
            minuto_indexer::config::contracts(&Record::read(&path).unwrap(), &path).unwrap();
        spawn(Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            provider: minuto_chain::http_provider(&self.anvil.url, Duration::from_secs(5)).unwrap(),
            store: Store::open(db).await.unwrap(),
            contracts,
            ingest: IngestConfig {
                confirmations: 0,
                chunk_blocks: 7,
                poll_interval: Duration::from_millis(50),
                writer_lease,
            },
            allowed_origins: vec![],
            notify,
            webhooks,
        })
        .await
        .unwrap()
    }

    /// Waits until `ix` has stored every block mined so far.
    async fn synced(&self, ix: &Handle) {
        let head = self.admin.get_block_number().await.unwrap();
        assert!(
            ix.wait_for_block(head, Duration::from_secs(20)).await,
            "indexer did not reach block {head}"
        );
    }

    async fn get(&self, ix: &Handle, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("http://{}{path}", ix.local_addr))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn ok(&self, ix: &Handle, path: &str) -> Value {
        let (status, body) = self.get(ix, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }
}

macro_rules! send {
    ($call:expr) => {
        $call.send().await.unwrap().get_receipt().await.unwrap()
    };
}

fn rate() -> U256 {
    U256::from(UNITS_PER_SECOND) * U256::from(10u64).pow(U256::from(18))
}

fn a(x: Address) -> String {
    format!("{x:#x}")
}

/// Sessions 1–5 of the scenario, on two UTC days: a student stop after a mid-session
/// withdrawal, a relayer's stop 20 s after the silent peer's last heartbeat, a payout
/// the token refuses (credited, claimable), a cancel, a session that ran dry; then
/// credentials, badges and ratings.
#[allow(clippy::too_many_lines)]
async fn history_earnings_progress_profile_and_stats_match_the_chain(postgres: bool) {
    let test = "history_earnings_progress_profile_and_stats_match_the_chain";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let (s, s2, t, relayer) = (
        w.party().await,
        w.party().await,
        w.party().await,
        w.party().await,
    );
    let ledger = |p: &DynProvider| ILedger::new(w.escrow, p.clone());
    let key = Address::repeat_byte(0x0c);
    send!(ledger(&w.admin).setRelayer(relayer.address, true));
    let ix = w.indexer(&db.url()).await;

    // Day 0 starts at a UTC midnight two days ahead of the node's clock.
    let now = w.head_time().await;
    let t0 = (now / 86_400 + 2) * 86_400 + 3_600;
    let t1 = t0 + 86_400;

    // 1: opened, started, withdrawn from, stopped by the student.
    w.at(t0).await;
    send!(ledger(&s.p).open(
        t.address,
        w.token_a,
        rate(),
        U256::from(100_000_000u64),
        key,
        0
    ));
    w.at(t0 + 10).await;
    send!(ledger(&t.p).start(U256::from(1), key));
    w.at(t0 + 1_010).await;
    send!(ledger(&t.p).withdraw(U256::from(1)));
    w.at(t0 + 1_810).await;
    send!(ledger(&s.p).stop(U256::from(1)));
    // 2: stopped by the relayer at the silent peer's last heartbeat, 20 s before mining.
    w.at(t1).await;
    send!(ledger(&s.p).open(
        t.address,
        w.token_a,
        rate(),
        U256::from(40_000_000u64),
        key,
        0
    ));
    w.at(t1 + 1).await;
    send!(ledger(&s.p).topUp(U256::from(2), U256::from(10_000_000u64)));
    w.at(t1 + 5).await;
    send!(ledger(&t.p).start(U256::from(2), key));
    w.at(t1 + 625).await;
    send!(ledger(&relayer.p).stopAt(U256::from(2), t1 + 605));
    // 3: token B, credential kind 7; the token refuses the tutor's payout.
    send!(IToken::new(w.token_b, &w.admin).setBlocked(t.address, true));
    w.at(t1 + 1_000).await;
    send!(ledger(&s2.p).open(
        t.address,
        w.token_b,
        rate(),
        U256::from(30_000_000u64),
        key,
        7
    ));
    w.at(t1 + 1_010).await;
    send!(ledger(&t.p).start(U256::from(3), key));
    w.at(t1 + 2_210).await;
    send!(ledger(&t.p).stop(U256::from(3)));
    // 4: cancelled before it started.
    w.at(t1 + 3_000).await;
    send!(ledger(&s.p).open(
        t.address,
        w.token_a,
        rate(),
        U256::from(10_000_000u64),
        key,
        0
    ));
    w.at(t1 + 3_010).await;
    send!(ledger(&s.p).cancel(U256::from(4)));
    // 5: runs dry after 100 s; someone else stops it later.
    w.at(t1 + 4_000).await;
    send!(ledger(&s2.p).open(
        t.address,
        w.token_a,
        rate(),
        U256::from(1_000_000u64),
        key,
        0
    ));
    w.at(t1 + 4_010).await;
    send!(ledger(&t.p).start(U256::from(5), key));
    w.at(t1 + 4_300).await;
    send!(ledger(&w.admin).stop(U256::from(5)));
    // Credentials (kind 7 valid; 8 revoked; 9 expired), badges, ratings.
    let creds = IReputation::new(w.credentials, &w.admin);
    send!(creds.issue(t.address, 7, 0, "ipfs://kind7".into()));
    send!(creds.issue(t.address, 8, 0, "ipfs://kind8".into()));
    send!(creds.revoke(U256::from(2), t.address, 8));
    send!(creds.issue(t.address, 9, 1_000, "ipfs://kind9".into()));
    send!(IReputation::new(w.badges, &s.p).claimBadge(U256::from(1), 1));
    send!(IReputation::new(w.badges, &t.p).claimBadge(U256::from(1), 2));
    send!(IReputation::new(w.ratings, &s.p).rate(U256::from(1), t.address, 1, 5, "cid-1".into()));
    send!(IReputation::new(w.ratings, &s2.p).rate(U256::from(3), t.address, 1, 4, "cid-3".into()));
    send!(IReputation::new(w.ratings, &t.p).rate(U256::from(1), s.address, 2, 3, "cid-t".into()));
    w.synced(&ix).await;

    // History of the student, two per page, newest first.
    let page = w
        .ok(
            &ix,
            &format!("/v1/accounts/{}/sessions?limit=2", a(s.address)),
        )
        .await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["4", "2"]);
    assert_eq!(page["next"], "2");
    let cancelled = &page["items"][0];
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(cancelled["reason"], "cancelled");
    assert_eq!(cancelled["refund"], "10000000");
    assert_eq!(cancelled["settledAt"], t1 + 3_010);
    let relayed = &page["items"][1];
    assert_eq!(relayed["deposited"], "50000000");
    assert_eq!(relayed["billed"], "6000000");
    assert_eq!(relayed["durationSeconds"], 600);
    assert_eq!(relayed["stoppedBy"], json!(relayer.address));
    assert_eq!(relayed["stoppedByRole"], "relayer");
    assert_eq!(relayed["reason"], "relayer_detected_disconnect");
    assert_eq!(relayed["detectionSeconds"], 20);
    assert_eq!(relayed["endedAt"], t1 + 605);
    assert_eq!(relayed["settledAt"], t1 + 625);
    let page2 = w
        .ok(
            &ix,
            &format!("/v1/accounts/{}/sessions?limit=2&cursor=2", a(s.address)),
        )
        .await;
    assert_eq!(page2["next"], Value::Null);
    let first = &page2["items"][0];
    assert_eq!(
        first,
        &json!({
            "id": "1", "student": s.address, "tutor": t.address, "token": w.token_a,
            "rate": rate().to_string(), "deposited": "100000000", "credentialKind": 0,
            "feeBps": 250, "state": "ended", "openedAt": t0, "startedAt": t0 + 10,
            "endedAt": t0 + 1_810, "settledAt": t0 + 1_810, "durationSeconds": 1_800,
            "billed": "18000000", "fee": "450000", "tutorPaid": "8385000",
            "withdrawn": "9165000", "refund": "82000000", "stoppedBy": s.address,
            "stoppedByRole": "student", "reason": "student_stopped", "detectionSeconds": null
        })
    );
    let dry = w.ok(&ix, "/v1/sessions/5").await;
    assert_eq!(dry["reason"], "funds_exhausted");
    assert_eq!(dry["stoppedByRole"], "other");
    assert_eq!(dry["endedAt"], t1 + 4_110);
    assert_eq!(dry["refund"], "0");
    let tutor_view = w
        .ok(
            &ix,
            &format!("/v1/accounts/{}/sessions?role=tutor", a(t.address)),
        )
        .await;
    assert_eq!(tutor_view["items"].as_array().unwrap().len(), 5);

    // Earnings of the tutor, against the chain.
    let e = w
        .ok(
            &ix,
            &format!("/v1/tutors/{}/earnings?period=day", a(t.address)),
        )
        .await;
    let day =
        |ts: u64| minuto_indexer::query::bucket(ts as i64, minuto_indexer::query::Period::Day);
    assert_eq!(
        e["buckets"],
        json!([
            {"period": day(t1), "token": w.token_a, "sessions": 2, "gross": "7000000",
             "fee": "175000", "net": "6825000", "withdrawn": "0"},
            {"period": day(t1), "token": w.token_b, "sessions": 1, "gross": "12000000",
             "fee": "300000", "net": "11700000", "withdrawn": "0"},
            {"period": day(t0), "token": w.token_a, "sessions": 1, "gross": "18000000",
             "fee": "450000", "net": "17550000", "withdrawn": "9165000"},
        ])
    );
    let totals = &e["totals"];
    let (net_a, net_b) = (
        totals[0]["net"].as_str().unwrap().parse::<u64>().unwrap(),
        totals[1]["net"].as_str().unwrap().parse::<u64>().unwrap(),
    );
    assert_eq!(net_a, 24_375_000);
    assert_eq!(w.balance(w.token_a, t.address).await, MINTED + net_a);
    assert_eq!(totals[0]["claimable"], "0");
    let claimable_b = ILedger::new(w.escrow, &w.admin)
        .claimable(w.token_b, t.address)
        .call()
        .await
        .unwrap();
    assert_eq!(totals[1]["claimable"], claimable_b.to_string());
    assert_eq!(claimable_b, U256::from(net_b));
    assert_eq!(w.balance(w.token_b, t.address).await, MINTED);
    // One period a page: the newest day, then the one before, then nothing.
    let path = |q: &str| format!("/v1/tutors/{}/earnings?period=day&limit=1{q}", a(t.address));
    let first = w.ok(&ix, &path("")).await;
    assert_eq!(first["buckets"].as_array().unwrap().len(), 2);
    assert_eq!(first["buckets"][0]["period"], day(t1));
    assert_eq!(first["next"], day(t1));
    let second = w.ok(&ix, &path(&format!("&cursor={}", day(t1)))).await;
    assert_eq!(
        second["buckets"].as_array().unwrap()[..],
        e["buckets"].as_array().unwrap()[2..]
    );
    assert_eq!(second["next"], Value::Null);
    // By month (the two days may fall in two months): token A's buckets add up.
    let monthly = w
        .ok(
            &ix,
            &format!("/v1/tutors/{}/earnings?period=month", a(t.address)),
        )
        .await;
    let gross_a: u64 = monthly["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["token"] == json!(w.token_a))
        .map(|b| b["gross"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(gross_a, 25_000_000);
    assert_eq!(monthly["period"], "month");

    // The student's progress, against the chain.
    let p = w
        .ok(&ix, &format!("/v1/students/{}/progress", a(s.address)))
        .await;
    assert_eq!(
        p["total"],
        json!({"sessions": 2, "seconds": 2_400, "hours": 2_400.0 / 3_600.0})
    );
    assert_eq!(p["byTutor"][a(t.address)]["seconds"], 2_400);
    let spent = MINTED - w.balance(w.token_a, s.address).await;
    assert_eq!(
        p["spend"],
        json!([{"token": w.token_a, "billed": spent.to_string()}])
    );
    assert_eq!(spent, 24_000_000);
    assert_eq!(p["streaks"]["longest"], 2);
    assert_eq!(p["streaks"]["activeDays"], 2);
    let p2 = w
        .ok(&ix, &format!("/v1/students/{}/progress", a(s2.address)))
        .await;
    assert_eq!(p2["byCredentialKind"]["7"]["seconds"], 1_200);
    assert_eq!(p2["byCredentialKind"]["0"]["seconds"], 100);

    // Profiles.
    let tp = w
        .ok(&ix, &format!("/v1/accounts/{}/profile", a(t.address)))
        .await;
    assert_eq!(
        tp["ratingsAsTutor"],
        json!({"count": 2, "sum": 9, "average": 4.5})
    );
    assert_eq!(
        tp["ratingsAsStudent"],
        json!({"count": 0, "sum": 0, "average": null})
    );
    assert_eq!(tp["badges"][0]["role"], "tutor");
    assert_eq!(tp["badges"][0]["sessionId"], "1");
    let kinds: Vec<u64> = tp["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_u64().unwrap())
        .collect();
    assert_eq!(kinds, [7]);
    assert_eq!(
        tp["sessions"],
        json!({"asTutor": 4, "asStudent": 0, "secondsAsTutor": 3_700, "secondsAsStudent": 0})
    );
    let sp = w
        .ok(&ix, &format!("/v1/accounts/{}/profile", a(s.address)))
        .await;
    assert_eq!(
        sp["ratingsAsStudent"],
        json!({"count": 1, "sum": 3, "average": 3.0})
    );
    assert_eq!(sp["badges"][0]["role"], "student");

    // Protocol stats, against the treasury's balances.
    let st = w.ok(&ix, "/v1/stats").await;
    let fees_a = w.balance(w.token_a, w.treasury).await;
    let fees_b = w.balance(w.token_b, w.treasury).await;
    assert_eq!((fees_a, fees_b), (625_000, 300_000));
    assert_eq!(
        st["volume"],
        json!([
            {"token": w.token_a, "sessions": 3, "billed": "25000000", "fees": fees_a.to_string()},
            {"token": w.token_b, "sessions": 1, "billed": "12000000", "fees": fees_b.to_string()},
        ])
    );
    assert_eq!(st["sessionsOpened"], 5);
    assert_eq!(st["sessionsEnded"], 4);
    assert_eq!(st["sessionsCancelled"], 1);
    assert_eq!(
        st["sessionsPerDay"],
        json!([{"day": day(t1), "sessions": 3}, {"day": day(t0), "sessions": 1}])
    );
    assert_eq!(st["medianSeconds"], 600);
    assert_eq!(st["endedByRelayer"], 0.25);
    assert_eq!(st["averageDetectionSeconds"], 20.0);

    // The tutor claims the credited payout: claimable falls to 0, the balance rises.
    send!(IToken::new(w.token_b, &w.admin).setBlocked(t.address, false));
    send!(ledger(&t.p).claim(w.token_b, t.address));
    w.synced(&ix).await;
    let e = w
        .ok(&ix, &format!("/v1/tutors/{}/earnings", a(t.address)))
        .await;
    assert_eq!(e["totals"][1]["claimable"], "0");
    assert_eq!(w.balance(w.token_b, t.address).await, MINTED + net_b);
    assert_eq!(w.balance(w.token_b, w.escrow).await, 0);
    assert_eq!(w.balance(w.token_a, w.escrow).await, 0);

    // A restart resumes from the stored cursor: nothing read twice.
    let events = ix.store.event_count().await.unwrap();
    let before = w.ok(&ix, "/v1/stats").await;
    ix.shutdown().await.unwrap();
    let ix = w.indexer(&db.url()).await;
    w.synced(&ix).await;
    assert_eq!(ix.store.event_count().await.unwrap(), events);
    assert_eq!(w.ok(&ix, "/v1/stats").await, before);

    // Refused requests: typed errors, nothing served.
    for (path, status, code) in [
        ("/v1/accounts/0x1234/sessions", 400, "invalid_address"),
        (
            "/v1/accounts/0x0000000000000000000000000000000000000001/sessions?limit=0",
            400,
            "invalid_limit",
        ),
        (
            "/v1/accounts/0x0000000000000000000000000000000000000001/sessions?cursor=abc",
            400,
            "invalid_cursor",
        ),
        (
            "/v1/accounts/0x0000000000000000000000000000000000000001/sessions?role=admin",
            400,
            "invalid_parameter",
        ),
        (
            "/v1/tutors/0x0000000000000000000000000000000000000001/earnings?period=year",
            400,
            "invalid_parameter",
        ),
        ("/v1/stats?days=0", 400, "invalid_parameter"),
        ("/v1/sessions/999", 404, "session_not_found"),
    ] {
        let (got, body) = w.get(&ix, path).await;
        assert_eq!(
            (got, body["error"].as_str().unwrap()),
            (status, code),
            "{path}: {body}"
        );
    }
    ix.shutdown().await.unwrap();
}

/// A reorganisation replaces blocks already stored, first while the indexer runs (the
/// follower's checkpoints), then while it is stopped (the stored hashes at start-up):
/// both times the replaced blocks' rows are deleted and the new blocks' stored.
async fn reorgs_rewind_what_the_replaced_blocks_wrote(postgres: bool) {
    let test = "reorgs_rewind_what_the_replaced_blocks_wrote";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    let ledger = ILedger::new(w.escrow, s.p.clone());
    let key = Address::repeat_byte(0x0c);
    let ix = w.indexer(&db.url()).await;
    w.synced(&ix).await;
    let deposit = |id: &Value| id["deposited"].as_str().unwrap().to_owned();

    // While running: session 1 opened with 5,000,000, stored, then replaced by a fork
    // where it was opened with 7,000,000 (one block longer).
    let snap: Value = w
        .admin
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    send!(ledger.open(
        t.address,
        w.token_a,
        rate(),
        U256::from(5_000_000u64),
        key,
        0
    ));
    w.synced(&ix).await;
    assert_eq!(deposit(&w.ok(&ix, "/v1/sessions/1").await), "5000000");
    let events = ix.store.event_count().await.unwrap();
    let _: Value = w
        .admin
        .raw_request("evm_revert".into(), [snap])
        .await
        .unwrap();
    send!(ledger.open(
        t.address,
        w.token_a,
        rate(),
        U256::from(7_000_000u64),
        key,
        0
    ));
    let _: Value = w.admin.raw_request("anvil_mine".into(), [2]).await.unwrap();
    w.synced(&ix).await;
    assert_eq!(deposit(&w.ok(&ix, "/v1/sessions/1").await), "7000000");
    assert_eq!(ix.store.event_count().await.unwrap(), events);
    assert!(ix.status.borrow().progress.reorgs >= 1);

    // While stopped: session 2 stored, the indexer stopped, session 2's block replaced by
    // a fork where it never happened.
    let snap: Value = w
        .admin
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    send!(ledger.open(
        t.address,
        w.token_a,
        rate(),
        U256::from(1_000_000u64),
        key,
        0
    ));
    w.synced(&ix).await;
    assert_eq!(w.get(&ix, "/v1/sessions/2").await.0, 200);
    ix.shutdown().await.unwrap();
    let _: Value = w
        .admin
        .raw_request("evm_revert".into(), [snap])
        .await
        .unwrap();
    let _: Value = w.admin.raw_request("anvil_mine".into(), [3]).await.unwrap();
    let ix = w.indexer(&db.url()).await;
    w.synced(&ix).await;
    assert_eq!(w.get(&ix, "/v1/sessions/2").await.0, 404);
    assert_eq!(ix.store.event_count().await.unwrap(), events);
    let st = w.ok(&ix, "/v1/stats").await;
    assert_eq!(st["sessionsOpened"], 1);
    ix.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_earnings_progress_profile_and_stats_match_the_chain_on_sqlite() {
    history_earnings_progress_profile_and_stats_match_the_chain(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_earnings_progress_profile_and_stats_match_the_chain_on_postgres() {
    history_earnings_progress_profile_and_stats_match_the_chain(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_rewind_what_the_replaced_blocks_wrote_on_sqlite() {
    reorgs_rewind_what_the_replaced_blocks_wrote(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_rewind_what_the_replaced_blocks_wrote_on_postgres() {
    reorgs_rewind_what_the_replaced_blocks_wrote(true).await;
}

/// A server-sent-events client over a real HTTP response.
struct SseClient {
    resp: reqwest::Response,
    buf: String,
    comments: usize,
}

/// One event: (event, id, data).
type Sent = (String, String, Value);

impl SseClient {
    async fn connect(w: &World, ix: &Handle, who: Address, last_id: Option<&str>) -> Self {
        Self::open(&w.http, ix.local_addr, None, who, last_id).await
    }

    /// [`SseClient::connect`] to `addr`: the indexer, or a proxy in front of it reached by
    /// the indexer's `host` name.
    async fn open(
        http: &reqwest::Client,
        addr: std::net::SocketAddr,
        host: Option<&str>,
        who: Address,
        last_id: Option<&str>,
    ) -> Self {
        let mut req = http.get(format!("http://{addr}/v1/notifications/{}", a(who)));
        if let Some(host) = host {
            req = req.header(reqwest::header::HOST, host);
        }
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        Self {
            resp,
            buf: String::new(),
            comments: 0,
        }
    }

    /// The next frame's lines (a comment frame counts in `comments` and yields `None`).
    async fn frame(&mut self) -> Option<Vec<String>> {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..i + 2).collect();
                let lines: Vec<String> = frame.lines().map(str::to_owned).collect();
                if lines.iter().all(|l| l.is_empty() || l.starts_with(':')) {
                    self.comments += 1;
                    return None;
                }
                return Some(lines);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.resp.chunk())
                .await
                .expect("no event within 30 s")
                .unwrap()
                .expect("stream ended");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event (keep-alive comments skipped), within 30 s.
    async fn next(&mut self) -> Sent {
        tokio::time::timeout(Duration::from_secs(30), self.next_event())
            .await
            .expect("no event within 30 s")
    }

    async fn next_event(&mut self) -> Sent {
        loop {
            let Some(lines) = self.frame().await else {
                continue;
            };
            let field = |name: &str| {
                lines
                    .iter()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                    .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
                    .to_owned()
            };
            return (
                field("event"),
                field("id"),
                serde_json::from_str(&field("data")).unwrap(),
            );
        }
    }
}

/// A session whose runway crosses 10 and then 3 minutes by the indexer's clock (a test
/// clock the test moves, so nothing depends on timing): both parties' streams carry
/// exactly session_started, low_funds 10, (top-up) low_funds 10 again, low_funds 3,
/// session_ended with each party's amounts, and the tutor's the student's rating; a
/// reconnect with Last-Event-ID gets what followed from the store.
#[allow(clippy::too_many_lines)]
async fn notifications_stream_each_partys_events_in_order_and_resume(postgres: bool) {
    use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
    let test = "notifications_stream_each_partys_events_in_order_and_resume";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    let clock = std::sync::Arc::new(AtomicI64::new(0));
    let c = clock.clone();
    let ix = w
        .indexer_with(
            &db.url(),
            minuto_indexer::NotifyConfig {
                clock: std::sync::Arc::new(move || c.load(SeqCst)),
                tick: Duration::from_millis(100),
                keep_alive: Duration::from_secs(1),
            },
        )
        .await;
    w.synced(&ix).await;
    let mut ss = SseClient::connect(&w, &ix, s.address, None).await;
    let mut ts = SseClient::connect(&w, &ix, t.address, None).await;

    let now = w.head_time().await;
    let start = now + 1_000;
    let ledger = |p: &DynProvider| ILedger::new(w.escrow, p.clone());
    let key = Address::repeat_byte(0x0c);
    // 630 s of runway at 10,000 base units a second.
    send!(ledger(&s.p).open(
        t.address,
        w.token_a,
        rate(),
        U256::from(6_300_000u64),
        key,
        0
    ));
    w.at(start).await;
    let r = send!(ledger(&t.p).start(U256::from(1), key));
    let log = &r.inner.logs()[0];
    let started_id = format!("{}:{}", log.block_number.unwrap(), log.log_index.unwrap());
    let started = |role: &str| {
        (
            "session_started".to_owned(),
            started_id.clone(),
            json!({"session": "1", "role": role, "student": a(s.address), "tutor": a(t.address),
                   "token": a(w.token_a), "rate": rate().to_string(), "deposit": "6300000",
                   "startedAt": start}),
        )
    };
    assert_eq!(ss.next().await, started("student"));
    assert_eq!(ts.next().await, started("tutor"));

    let low = |role: &str, minutes: u64, runway: u64, deposited: u64, billed: u64, at: u64| {
        (
            "low_funds".to_owned(),
            format!("{started_id}:low:1:{minutes}"),
            json!({"session": "1", "role": role, "token": a(w.token_a), "minutes": minutes,
                   "runwaySeconds": runway, "deposited": deposited.to_string(),
                   "billed": billed.to_string(), "at": at}),
        )
    };
    // 601 s left: nothing; 600 s left: the 10-minute warning, once.
    clock.store(start as i64 + 29, SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    clock.store(start as i64 + 30, SeqCst);
    assert_eq!(
        ss.next().await,
        low("student", 10, 600, 6_300_000, 300_000, start + 30)
    );
    assert_eq!(
        ts.next().await,
        low("tutor", 10, 600, 6_300_000, 300_000, start + 30)
    );

    // A top-up of 300 s re-arms it: 900 s left now, 600 s at start + 330.
    send!(ledger(&s.p).topUp(U256::from(1), U256::from(3_000_000u64)));
    w.synced(&ix).await;
    clock.store(start as i64 + 330, SeqCst);
    assert_eq!(
        ss.next().await,
        low("student", 10, 600, 9_300_000, 3_300_000, start + 330)
    );
    assert_eq!(
        ts.next().await,
        low("tutor", 10, 600, 9_300_000, 3_300_000, start + 330)
    );
    clock.store(start as i64 + 750, SeqCst);
    assert_eq!(
        ss.next().await,
        low("student", 3, 180, 9_300_000, 7_500_000, start + 750)
    );
    assert_eq!(
        ts.next().await,
        low("tutor", 3, 180, 9_300_000, 7_500_000, start + 750)
    );

    // The student stops at start + 760: 7,600,000 billed, 2.5 % fee, the rest refunded.
    w.at(start + 760).await;
    let r = send!(ledger(&s.p).stop(U256::from(1)));
    let log = r
        .inner
        .logs()
        .iter()
        .find(|l| l.address() == w.escrow)
        .unwrap();
    let ended_id = format!("{}:{}", log.block_number.unwrap(), log.log_index.unwrap());
    let ended_student = (
        "session_ended".to_owned(),
        ended_id.clone(),
        json!({"session": "1", "role": "student", "token": a(w.token_a), "endedAt": start + 760,
               "durationSeconds": 760, "endedBy": a(s.address), "billed": "7600000",
               "refund": "1700000"}),
    );
    assert_eq!(ss.next().await, ended_student);
    // Sent once stored: the API already agrees.
    assert_eq!(w.ok(&ix, "/v1/sessions/1").await["state"], "ended");
    let ended_tutor = (
        "session_ended".to_owned(),
        ended_id.clone(),
        json!({"session": "1", "role": "tutor", "token": a(w.token_a), "endedAt": start + 760,
               "durationSeconds": 760, "endedBy": a(s.address), "billed": "7600000",
               "fee": "190000", "tutorPaid": "7410000"}),
    );
    assert_eq!(ts.next().await, ended_tutor);
    assert_eq!(
        w.balance(w.token_a, t.address).await,
        MINTED + 7_410_000,
        "the tutor's payout on chain"
    );

    // The student rates the tutor (rater role 1).
    let r = send!(IReputation::new(w.ratings, &s.p).rate(
        U256::from(1),
        t.address,
        1,
        5,
        "bafy-note".into()
    ));
    let log = &r.inner.logs()[0];
    let rated_id = format!("{}:{}", log.block_number.unwrap(), log.log_index.unwrap());
    let rated = (
        "rating_received".to_owned(),
        rated_id.clone(),
        json!({"session": "1", "rater": a(s.address), "raterRole": "student", "score": 5,
               "cid": "bafy-note"}),
    );
    assert_eq!(ts.next().await, rated);

    // Keep-alive comments while idle.
    while ts.comments == 0 {
        if let Some(f) = ts.frame().await {
            panic!("only comments while idle, not {f:?}");
        }
    }

    // Resume: what followed the given id, from the store (low funds are over: the
    // session ended), then live.
    let mut again = SseClient::connect(&w, &ix, t.address, Some(&started_id)).await;
    assert_eq!(again.next().await, ended_tutor);
    assert_eq!(again.next().await, rated);
    let low_id = format!("{started_id}:low:1:3");
    let mut again = SseClient::connect(&w, &ix, s.address, Some(&low_id)).await;
    assert_eq!(again.next().await, ended_student);
    let mut again = SseClient::connect(&w, &ix, t.address, Some(&ended_id)).await;
    assert_eq!(again.next().await, rated);

    // Refusals.
    let r = w
        .http
        .get(format!(
            "http://{}/v1/notifications/{}",
            ix.local_addr,
            a(t.address)
        ))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_event_id");
    let (status, body) = w.get(&ix, "/v1/notifications/0x1234").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_address"))
    );

    drop((ss, ts, again));
    ix.shutdown().await.unwrap();
}

/// A session start already sent is replaced by a reorganisation: the stream sends the
/// new blocks' start (same place in the chain, other facts).
async fn notifications_after_a_reorganisation_send_the_new_blocks_events(postgres: bool) {
    let test = "notifications_after_a_reorganisation_send_the_new_blocks_events";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    let key = Address::repeat_byte(0x0c);
    let ix = w.indexer(&db.url()).await;
    w.synced(&ix).await;
    let mut ts = SseClient::connect(&w, &ix, t.address, None).await;
    let snap: Value = w
        .admin
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    let session = |deposit: u64| {
        let (s, t, tutor) = (s.p.clone(), t.p.clone(), t.address);
        let (escrow, token) = (w.escrow, w.token_a);
        async move {
            send!(ILedger::new(escrow, s).open(tutor, token, rate(), U256::from(deposit), key, 0));
            let r = send!(ILedger::new(escrow, t).start(U256::from(1), key));
            let log = &r.inner.logs()[0];
            format!("{}:{}", log.block_number.unwrap(), log.log_index.unwrap())
        }
    };
    let first = session(50_000_000).await;
    let (name, id, data) = ts.next().await;
    assert_eq!(
        (name.as_str(), id.as_str()),
        ("session_started", first.as_str())
    );
    assert_eq!(data["deposit"], "50000000");
    let _: Value = w
        .admin
        .raw_request("evm_revert".into(), [snap])
        .await
        .unwrap();
    let second = session(70_000_000).await;
    let _: Value = w.admin.raw_request("anvil_mine".into(), [2]).await.unwrap();
    let (name, id, data) = ts.next().await;
    assert_eq!(
        (name.as_str(), id.as_str()),
        ("session_started", second.as_str())
    );
    assert_eq!(data["deposit"], "70000000");
    assert!(ix.status.borrow().rewinds >= 1);
    // Shutting down ends open streams (the server would otherwise wait for them).
    ix.shutdown().await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(_)) = ts.resp.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived the indexer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_after_a_reorganisation_send_the_new_blocks_events_on_sqlite() {
    notifications_after_a_reorganisation_send_the_new_blocks_events(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_after_a_reorganisation_send_the_new_blocks_events_on_postgres() {
    notifications_after_a_reorganisation_send_the_new_blocks_events(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_stream_each_partys_events_in_order_and_resume_on_sqlite() {
    notifications_stream_each_partys_events_in_order_and_resume(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_stream_each_partys_events_in_order_and_resume_on_postgres() {
    notifications_stream_each_partys_events_in_order_and_resume(true).await;
}

/// The indexer's host name in `deploy/nginx/minuto.conf`.
const INDEXER_HOST: &str = "indexer.minuto.example";

/// How soon after the indexer stored a chain event its streams must have sent it
/// (milliseconds here; 5 s leaves room for a loaded machine, while a buffering proxy
/// holds a stream's few events until it ends).
const PROMPT: Duration = Duration::from_secs(5);

/// The next event of `c` by `deadline`, else a panic naming `via`.
async fn next_by(deadline: tokio::time::Instant, c: &mut SseClient, via: &str) -> Sent {
    tokio::time::timeout_at(deadline, c.next_event())
        .await
        .unwrap_or_else(|_| panic!("{via}: no event within {PROMPT:?} of the indexer storing it"))
}

/// One answer, direct or through a proxy: (status, content-type, CORS origin, body).
async fn answer(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    host: Option<&str>,
    path: &str,
    last_id: Option<&str>,
) -> (u16, String, String, String) {
    let mut req = http
        .get(format!("http://{addr}{path}"))
        .header(reqwest::header::ORIGIN, "https://app.minuto.example");
    if let Some(host) = host {
        req = req.header(reqwest::header::HOST, host);
    }
    if let Some(id) = last_id {
        req = req.header("Last-Event-ID", id);
    }
    let r = tokio::time::timeout(Duration::from_secs(10), req.send())
        .await
        .unwrap_or_else(|_| panic!("{path} via {addr}: no answer within 10 s"))
        .unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (ct, origin) = (
        header("content-type"),
        header("access-control-allow-origin"),
    );
    (r.status().as_u16(), ct, origin, r.text().await.unwrap())
}

/// Two indexer replicas on one SQLite database (one holds the writer lease) behind a real
/// nginx running `deploy/nginx/minuto.conf` as it stands (its ports changed only);
/// requests reach both. A student's stream through nginx gets
/// `session_started` and `session_ended`, each exactly as sent direct and within 2 s of
/// the indexer storing it (nginx does not hold it back); a resume through nginx with
/// `Last-Event-ID` gets exactly the next event, then only keep-alive comments. The same
/// through a copy whose notifications location is left at nginx's defaults (HTTP/1.0 to
/// the indexer, `proxy_buffering on`): without the indexer's `X-Accel-Buffering: no` that
/// one holds the stream back, response headers included (the shipped file with only
/// `proxy_buffering off` removed does not: HTTP/1.1 chunks pass as they come). JSON
/// answers and errors through nginx are byte for byte the direct ones; shutting the
/// replicas down ends the streams through nginx.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_and_queries_through_nginx_on_sqlite() {
    use minuto_anvil::nginx::Nginx;
    let test = "notifications_and_queries_through_nginx_on_sqlite";
    let Some(nginx_bin) = minuto_anvil::nginx::or_skip(test) else {
        return;
    };
    let Some(db) = Db::new(false, test).await else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let began = std::time::Instant::now();
    let (s, t) = (w.party().await, w.party().await);
    let notify = || minuto_indexer::NotifyConfig {
        tick: Duration::from_millis(100),
        keep_alive: Duration::from_secs(1),
        ..Default::default()
    };
    let ix = w.indexer_with(&db.url(), notify()).await;
    let mut writes = ix.writer.clone();
    tokio::time::timeout(Duration::from_secs(10), writes.wait_for(|w| *w))
        .await
        .expect("no writer lease")
        .unwrap();
    w.synced(&ix).await;
    let replica = w.indexer_with(&db.url(), notify()).await;
    w.synced(&replica).await;
    assert!(!*replica.writer.borrow());
    let upstream = ("127.0.0.1:8095", ix.local_addr.to_string());
    let upstream2 = ("127.0.0.1:8096", replica.local_addr.to_string());
    let nginx = Nginx::start(&nginx_bin, &[upstream.clone(), upstream2.clone()]).await;
    // An operator's copy whose notifications location has nginx's defaults (HTTP/1.0 to
    // the indexer, proxy_buffering on): the indexer's X-Accel-Buffering keeps it prompt.
    let defaults = Nginx::start(
        &nginx_bin,
        &[
            upstream,
            upstream2,
            (
                "proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n        \
                 proxy_set_header Host $host;\n        proxy_buffering off;",
                "proxy_set_header Host $host;".to_owned(),
            ),
        ],
    )
    .await;
    let via = [
        ("nginx", nginx.addr),
        ("nginx with the defaults for notifications", defaults.addr),
    ];
    // A stream through nginx; its response headers too must come at once (nginx holding
    // the stream back holds them with its first bytes).
    let connect = |(name, addr): (&'static str, std::net::SocketAddr), last_id: Option<String>| {
        let http = w.http.clone();
        let who = s.address;
        async move {
            tokio::time::timeout(
                PROMPT,
                SseClient::open(&http, addr, Some(INDEXER_HOST), who, last_id.as_deref()),
            )
            .await
            .unwrap_or_else(|_| panic!("{name}: no response headers within {PROMPT:?}"))
        }
    };
    let mut direct = SseClient::connect(&w, &ix, s.address, None).await;
    // The indexer asks proxies not to buffer the stream; nginx obeys and drops it.
    assert_eq!(direct.resp.headers()["x-accel-buffering"], "no");
    assert_eq!(direct.resp.headers()["cache-control"], "no-cache");
    let mut proxied = Vec::new();
    for (name, addr) in via {
        let c = connect((name, addr), None).await;
        assert_eq!(c.resp.headers()["cache-control"], "no-cache", "{name}");
        assert!(
            c.resp.headers().get("x-accel-buffering").is_none(),
            "{name} passed X-Accel-Buffering on"
        );
        proxied.push((name, c));
    }

    let now = w.head_time().await;
    let start = now + 10;
    let ledger = |p: &DynProvider| ILedger::new(w.escrow, p.clone());
    let key = Address::repeat_byte(0x0c);
    // 10,000 s of runway: no low_funds while the test runs.
    send!(ledger(&s.p).open(
        t.address,
        w.token_a,
        rate(),
        U256::from(100_000_000u64),
        key,
        0
    ));
    w.at(start).await;
    let r = send!(ledger(&t.p).start(U256::from(1), key));
    let log = &r.inner.logs()[0];
    let started_id = format!("{}:{}", log.block_number.unwrap(), log.log_index.unwrap());
    w.synced(&ix).await;
    let stored = tokio::time::Instant::now();
    let started = (
        "session_started".to_owned(),
        started_id.clone(),
        json!({"session": "1", "role": "student", "student": a(s.address), "tutor": a(t.address),
               "token": a(w.token_a), "rate": rate().to_string(), "deposit": "100000000",
               "startedAt": start}),
    );
    assert_eq!(
        next_by(stored + PROMPT, &mut direct, "direct").await,
        started
    );
    for (name, c) in &mut proxied {
        assert_eq!(next_by(stored + PROMPT, c, name).await, started, "{name}");
    }
    let lag = stored.elapsed();

    // The student stops 60 s in: 600,000 billed, the rest refunded.
    w.at(start + 60).await;
    let r = send!(ledger(&s.p).stop(U256::from(1)));
    let log = r
        .inner
        .logs()
        .iter()
        .find(|l| l.address() == w.escrow)
        .unwrap();
    let ended_id = format!("{}:{}", log.block_number.unwrap(), log.log_index.unwrap());
    w.synced(&ix).await;
    let stored = tokio::time::Instant::now();
    let ended = (
        "session_ended".to_owned(),
        ended_id.clone(),
        json!({"session": "1", "role": "student", "token": a(w.token_a), "endedAt": start + 60,
               "durationSeconds": 60, "endedBy": a(s.address), "billed": "600000",
               "refund": "99400000"}),
    );
    assert_eq!(next_by(stored + PROMPT, &mut direct, "direct").await, ended);
    for (name, c) in &mut proxied {
        assert_eq!(next_by(stored + PROMPT, c, name).await, ended, "{name}");
    }
    let lag = lag.max(stored.elapsed());

    // Resume through nginx: exactly the event after the given id, then only keep-alives.
    for (name, addr) in via {
        let mut again = connect((name, addr), Some(started_id.clone())).await;
        let deadline = tokio::time::Instant::now() + PROMPT;
        assert_eq!(next_by(deadline, &mut again, name).await, ended, "{name}");
        while again.comments < 2 {
            let frame = tokio::time::timeout(Duration::from_secs(5), again.frame())
                .await
                .unwrap_or_else(|_| panic!("{name}: no keep-alive within 5 s"));
            assert_eq!(frame, None, "{name}: only keep-alives after the resume");
        }
        let mut last = connect((name, addr), Some(ended_id.clone())).await;
        while last.comments < 1 {
            let frame = tokio::time::timeout(Duration::from_secs(5), last.frame())
                .await
                .unwrap_or_else(|_| panic!("{name}: no keep-alive within 5 s"));
            assert_eq!(frame, None, "{name}: nothing after the last event");
        }
    }

    // JSON answers and errors: through nginx exactly as direct.
    let paths = [
        ("/v1/sessions/1".to_owned(), None),
        ("/v1/sessions/2".to_owned(), None),
        ("/v1/stats".to_owned(), None),
        (format!("/v1/accounts/{}/sessions", a(s.address)), None),
        (format!("/v1/tutors/{}/earnings", a(t.address)), None),
        ("/v1/notifications/0x1234".to_owned(), None),
        (
            format!("/v1/notifications/{}", a(s.address)),
            Some("yesterday"),
        ),
    ];
    for (path, last_id) in &paths {
        let own = answer(&w.http, ix.local_addr, None, path, *last_id).await;
        let through = answer(&w.http, nginx.addr, Some(INDEXER_HOST), path, *last_id).await;
        assert_eq!(through, own, "{path} through nginx");
    }
    let (status, ct, origin, body) = answer(
        &w.http,
        nginx.addr,
        Some(INDEXER_HOST),
        "/v1/sessions/1",
        None,
    )
    .await;
    assert_eq!(
        (status, ct.as_str(), origin.as_str()),
        (200, "application/json", "*")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["state"],
        "ended"
    );
    let (status, _, _, body) = answer(
        &w.http,
        nginx.addr,
        Some(INDEXER_HOST),
        &format!("/v1/notifications/{}", a(s.address)),
        Some("yesterday"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "invalid_event_id"
    );

    // Both replicas answered through nginx.
    let log = nginx.access_log();
    for addr in [ix.local_addr, replica.local_addr] {
        assert!(
            log.lines().any(|l| l.starts_with(&format!("{addr} "))),
            "no request reached {addr}:\n{log}"
        );
    }

    // Shutting the replicas down ends the streams through nginx (clients reconnect).
    drop(direct);
    ix.shutdown().await.unwrap();
    replica.shutdown().await.unwrap();
    for (name, mut c) in proxied {
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(_)) = c.resp.chunk().await {}
        })
        .await;
        assert!(ended.is_ok(), "{name}: the stream outlived the indexer");
    }
    eprintln!(
        "{test}: every event through nginx at most {:.0} ms after the indexer stored it \
         ({:.1} s in all)",
        lag.as_secs_f64() * 1e3,
        began.elapsed().as_secs_f64()
    );
}

/// One request the test's webhook receiver got.
#[derive(Clone, Debug)]
struct Attempt {
    endpoint: String,
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    /// Whether the signature verified with the receiver's secret.
    verified: bool,
    /// What the receiver answered (0: it never answered).
    answered: u16,
}

/// A webhook receiver over real HTTP: verifies each request's signature with `secret`
/// (401 if it does not verify), answers 500 to the first `fail` verified requests, never
/// answers a `session_ended` while `hang` is set, 200 otherwise; records every request.
struct Receiver {
    secret: &'static str,
    fail: std::sync::atomic::AtomicUsize,
    hang: std::sync::atomic::AtomicBool,
    log: tokio::sync::watch::Sender<Vec<Attempt>>,
}

/// HMAC-SHA256 of `{timestamp}.{body}` checked against `sha256=<hex>`, as a receiver
/// would (independently of the indexer's code).
fn verifies(secret: &str, timestamp: &str, body: &str, signature: &str) -> bool {
    use hmac::Mac;
    let Some(sig) = signature
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    mac.verify_slice(&sig).is_ok()
}

async fn receive(
    axum::extract::State(r): axum::extract::State<std::sync::Arc<Receiver>>,
    axum::extract::Path(endpoint): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    use std::sync::atomic::Ordering::SeqCst;
    let h = |n: &str| headers[n].to_str().unwrap().to_owned();
    let (id, timestamp, signature) = (
        h("minuto-webhook-id"),
        h("minuto-webhook-timestamp"),
        h("minuto-webhook-signature"),
    );
    assert_eq!(headers["content-type"], "application/json");
    let verified = verifies(r.secret, &timestamp, &body, &signature);
    let event: Value = serde_json::from_str(&body).unwrap();
    let answered = if !verified {
        401
    } else if r.hang.load(SeqCst) && event["event"] == "session_ended" {
        0
    } else if r
        .fail
        .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        500
    } else {
        200
    };
    r.log.send_modify(|l| {
        l.push(Attempt {
            endpoint,
            id,
            timestamp,
            signature,
            body,
            verified,
            answered,
        });
    });
    if answered == 0 {
        std::future::pending::<()>().await;
    }
    axum::http::StatusCode::from_u16(answered).unwrap()
}

/// Endpoint `name` of the receiver at `base`, subscribed to `who`, retried after 20 ms
/// doubling up to 80 ms.
fn hook_at(
    base: &url::Url,
    name: &str,
    secret: &str,
    who: Address,
    timeout: Duration,
) -> minuto_indexer::Webhook {
    minuto_indexer::Webhook {
        name: name.into(),
        url: base.join(name).unwrap(),
        secret: minuto_indexer::webhook::Secret::new(secret.into()),
        addresses: vec![who],
        timeout,
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(80),
    }
}

impl Receiver {
    async fn start(secret: &'static str, fail: usize) -> (std::sync::Arc<Self>, url::Url) {
        let r = std::sync::Arc::new(Self {
            secret,
            fail: fail.into(),
            hang: true.into(),
            log: tokio::sync::watch::channel(vec![]).0,
        });
        let app = axum::Router::new()
            .route("/hook/{endpoint}", axum::routing::post(receive))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/hook/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, base.parse().unwrap())
    }

    /// Waits (at most 30 s) until the log satisfies `f`.
    async fn until(&self, what: &str, f: impl Fn(&[Attempt]) -> bool) {
        let mut rx = self.log.subscribe();
        let got = tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|l| f(l))).await;
        assert!(got.is_ok(), "{what}: {:#?}", *self.log.borrow());
    }

    /// (id, answer) of every request to `endpoint`, in arrival order.
    fn seen(&self, endpoint: &str) -> Vec<(String, u16)> {
        self.log
            .borrow()
            .iter()
            .filter(|a| a.endpoint == endpoint)
            .map(|a| (a.id.clone(), a.answered))
            .collect()
    }
}

/// Signed webhooks over real HTTP. The tutor's endpoint fails twice (500): the session
/// start arrives on the third attempt with the same idempotency key, then the rest in
/// order. The session's end is in flight (never answered) when the indexer shuts down; a
/// rating and a second session happen while it is down; restarted on the same database,
/// delivery resumes from the stored cursor: the end again (the one in flight), then the
/// rating and the second start, nothing else. What was delivered is exactly what the SSE
/// stream sends. An endpoint configured with another secret sends signatures that fail
/// the receiver's check and verify with that other secret.
#[allow(clippy::too_many_lines)]
async fn webhooks_deliver_signed_in_order_with_retries_and_resume(postgres: bool) {
    let test = "webhooks_deliver_signed_in_order_with_retries_and_resume";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    const SECRET: &str = "whsec-the-receivers-secret";
    const OTHER: &str = "whsec-not-the-receivers-secret";
    let (rx, base) = Receiver::start(SECRET, 2).await;
    // Never reached (60 s): the hung request is ended by the shutdown.
    let hook =
        |name: &str, secret: &str| hook_at(&base, name, secret, t.address, Duration::from_secs(60));
    let ix = w
        .indexer_hooks(
            &db.url(),
            minuto_indexer::NotifyConfig::default(),
            vec![hook("good", SECRET), hook("bad", OTHER)],
        )
        .await;
    w.synced(&ix).await;
    // Both endpoints have their starting cursor before anything happens.
    let cursor = |ix: &Handle, name: &'static str| {
        let store = ix.store.clone();
        let who = t.address;
        async move {
            minuto_indexer::webhook::cursor(&store, name, who)
                .await
                .unwrap()
        }
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        while cursor(&ix, "good").await.is_none() || cursor(&ix, "bad").await.is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("no starting cursors");
    let bad_start = cursor(&ix, "bad").await;

    let ledger = |p: &DynProvider| ILedger::new(w.escrow, p.clone());
    let key = Address::repeat_byte(0x0c);
    // 5,000 s of runway: no low_funds during the test.
    let deposit = U256::from(50_000_000u64);
    send!(ledger(&s.p).open(t.address, w.token_a, rate(), deposit, key, 0));
    send!(ledger(&t.p).start(U256::from(1), key));
    rx.until("the start after two failures", |l| {
        l.iter().any(|a| a.endpoint == "good" && a.answered == 200)
    })
    .await;
    send!(ledger(&s.p).stop(U256::from(1)));
    rx.until("the end in flight", |l| {
        l.iter().any(|a| a.endpoint == "good" && a.answered == 0)
    })
    .await;
    rx.until("the other secret's retries", |l| {
        l.iter().filter(|a| a.endpoint == "bad").count() >= 2
    })
    .await;
    ix.shutdown().await.unwrap();

    // While it is down: a rating of the tutor and a second session.
    send!(IReputation::new(w.ratings, &s.p).rate(
        U256::from(1),
        t.address,
        1,
        5,
        "bafy-rating".into()
    ));
    send!(ledger(&s.p).open(t.address, w.token_a, rate(), deposit, key, 0));
    send!(ledger(&t.p).start(U256::from(2), key));
    rx.hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let ix = w
        .indexer_hooks(
            &db.url(),
            minuto_indexer::NotifyConfig::default(),
            vec![hook("good", SECRET)],
        )
        .await;
    w.synced(&ix).await;
    let mut sse = SseClient::connect(&w, &ix, t.address, Some("0:0")).await;
    let mut sent = vec![];
    for _ in 0..4 {
        sent.push(sse.next().await);
    }
    let names: Vec<&str> = sent.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "session_started",
            "session_ended",
            "rating_received",
            "session_started"
        ]
    );
    let last = sent[3].1.clone();
    rx.until("the second start", |l| {
        l.iter().any(|a| a.id == last && a.answered == 200)
    })
    .await;
    let id = |i: usize| sent[i].1.clone();
    assert_eq!(
        rx.seen("good"),
        [
            (id(0), 500),
            (id(0), 500),
            (id(0), 200),
            (id(1), 0),
            (id(1), 200),
            (id(2), 200),
            (id(3), 200),
        ]
    );
    // Each body is the SSE event with its address.
    let delivered: Vec<Attempt> = rx
        .log
        .borrow()
        .iter()
        .filter(|a| a.endpoint == "good" && a.answered == 200)
        .cloned()
        .collect();
    assert_eq!(delivered.len(), 4);
    for (got, (name, id, data)) in delivered.iter().zip(&sent) {
        assert!(got.verified);
        assert_eq!(
            serde_json::from_str::<Value>(&got.body).unwrap(),
            json!({"id": id, "event": name, "address": a(t.address), "data": data})
        );
    }
    assert_eq!(sent[2].2["score"], 5);
    // The cursor reaches the last delivered event (written after its 200 arrived).
    let (b, l) = last.split_once(':').unwrap();
    let want = Some((b.parse().unwrap(), l.parse().unwrap()));
    let reached = tokio::time::timeout(Duration::from_secs(30), async {
        while cursor(&ix, "good").await != want {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(reached.is_ok(), "cursor {:?}", cursor(&ix, "good").await);

    // The other secret: every request failed the receiver's check, each signature is
    // real (it verifies with the secret it was made with), retried with the same key.
    let bad: Vec<Attempt> = rx
        .log
        .borrow()
        .iter()
        .filter(|a| a.endpoint == "bad")
        .cloned()
        .collect();
    assert!(bad.len() >= 2);
    for a in &bad {
        assert_eq!(
            (a.verified, a.answered, a.id.as_str()),
            (false, 401, id(0).as_str())
        );
        assert!(verifies(OTHER, &a.timestamp, &a.body, &a.signature));
        assert!(!verifies(SECRET, &a.timestamp, &a.body, &a.signature));
    }
    // Never advanced past its start (the blocks stored before the first session).
    assert_eq!(cursor(&ix, "bad").await, bad_start);
    let first_block: i64 = id(0).split_once(':').unwrap().0.parse().unwrap();
    assert!(bad_start.unwrap().0 < first_block);
    ix.shutdown().await.unwrap();
}

/// Two indexers on one database, as two replicas behind a load balancer: one takes the
/// writer lease and ingests and delivers webhooks, the other serves what it stores (same
/// answers, its own notification stream, `/readyz` from what the writer published) and
/// delivers nothing; when the writer shuts down (giving the lease up) the other takes over
/// within a tick, ingests the new blocks and delivers from the webhook cursor the first
/// one stored. Every notification reaches the endpoint exactly once.
#[allow(clippy::too_many_lines)]
async fn two_indexers_share_one_database_and_one_writes(postgres: bool) {
    let test = "two_indexers_share_one_database_and_one_writes";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    const SECRET: &str = "whsec-the-receivers-secret";
    let (rx, base) = Receiver::start(SECRET, 0).await;
    rx.hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let hook = hook_at(&base, "mailer", SECRET, t.address, Duration::from_secs(5));
    let lease = Duration::from_secs(2);
    let notify = minuto_indexer::NotifyConfig::default;
    let first = w
        .indexer_lease(&db.url(), notify(), vec![hook.clone()], lease)
        .await;
    let writes = |ix: &Handle| *ix.writer.borrow();
    let mut role = first.writer.clone();
    tokio::time::timeout(Duration::from_secs(10), role.wait_for(|w| *w))
        .await
        .expect("the first indexer took no writer lease")
        .unwrap();
    w.synced(&first).await;
    let second = w
        .indexer_lease(&db.url(), notify(), vec![hook], lease)
        .await;
    w.synced(&second).await;
    // Several of the second's ticks (50 ms): it never takes the lease.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(writes(&first) && !writes(&second));

    let ledger = |p: &DynProvider| ILedger::new(w.escrow, p.clone());
    let key = Address::repeat_byte(0x0c);
    let deposit = U256::from(50_000_000u64);
    send!(ledger(&s.p).open(t.address, w.token_a, rate(), deposit, key, 0));
    send!(ledger(&t.p).start(U256::from(1), key));
    w.synced(&first).await;
    w.synced(&second).await;
    let path = format!("/v1/accounts/{}/sessions?role=tutor", a(t.address));
    let listed = w.ok(&first, &path).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(w.ok(&second, &path).await, listed);
    let (ready_first, ready_second) = (
        w.get(&first, "/readyz").await,
        w.get(&second, "/readyz").await,
    );
    assert_eq!(ready_second.0, 200, "{}", ready_second.1);
    assert_eq!(
        (&ready_first.1["writer"], &ready_second.1["writer"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        ready_second.1["storedThrough"],
        ready_first.1["storedThrough"]
    );
    let mut sse = SseClient::connect(&w, &second, t.address, Some("0:0")).await;
    let (name, started, _) = sse.next().await;
    assert_eq!(name, "session_started");
    rx.until("the start, delivered", |l| {
        l.iter().any(|a| a.id == started)
    })
    .await;
    // Its cursor stored (else the shutdown below could cancel the delivery before it is,
    // and the other would deliver it again, as it should).
    let (b, l) = started.split_once(':').unwrap();
    let delivered = Some((b.parse().unwrap(), l.parse().unwrap()));
    tokio::time::timeout(Duration::from_secs(30), async {
        while minuto_indexer::webhook::cursor(&first.store, "mailer", t.address)
            .await
            .unwrap()
            != delivered
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the start's delivery was not recorded");

    // The writer goes away; the other takes over and follows the chain on.
    first.shutdown().await.unwrap();
    let mut role = second.writer.clone();
    tokio::time::timeout(Duration::from_secs(1), role.wait_for(|w| *w))
        .await
        .expect("the lease given up was not taken within a second")
        .unwrap();
    send!(ledger(&s.p).stop(U256::from(1)));
    w.synced(&second).await;
    let (name, ended, _) = sse.next().await;
    assert_eq!(name, "session_ended");
    rx.until("the end, delivered", |l| l.iter().any(|a| a.id == ended))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rx.seen("mailer"),
        [(started.clone(), 200), (ended.clone(), 200)],
        "each notification exactly once"
    );
    let listed = w.ok(&second, &path).await;
    assert_eq!(listed["items"][0]["state"], "ended", "{listed}");
    second.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_indexers_share_one_database_and_one_writes_on_sqlite() {
    two_indexers_share_one_database_and_one_writes(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_indexers_share_one_database_and_one_writes_on_postgres() {
    two_indexers_share_one_database_and_one_writes(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_signed_in_order_with_retries_and_resume_on_sqlite() {
    webhooks_deliver_signed_in_order_with_retries_and_resume(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_deliver_signed_in_order_with_retries_and_resume_on_postgres() {
    webhooks_deliver_signed_in_order_with_retries_and_resume(true).await;
}

/// `badge_claimable` from the badges contract's settings as stored at each session's end
/// (set through the `ReputationDouble` stand-in's `BadgeMinDurationUpdated` and
/// `BadgeMinBilledUpdated`): minimum 300 s and 3,000,000 of token A. Session 1 (400 s, 4,000,000)
/// earns both parties one; 2 (200 s) is too short, 3 (400 s at half the rate: 2,000,000)
/// billed too little, 4 is in token B with no minimum: none. A minimum of 1,000 s is then
/// stored and dropped by a reorganisation: session 5 (400 s) still earns them under 300 s.
/// Then 500 s and a minimum of 1 for token B: session 6 (400 s) earns none, session 7
/// (token B, 600 s) the tutor's only (the student's badge was already claimed). Replayed
/// from the start after all that, both streams are unchanged (later settings do not
/// rewrite history), and the tutor's webhook delivered exactly what its stream sends.
#[allow(clippy::too_many_lines)]
async fn badge_claimable_follows_the_badges_settings_at_each_end(postgres: bool) {
    let test = "badge_claimable_follows_the_badges_settings_at_each_end";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    const SECRET: &str = "whsec-badges";
    let (rx, base) = Receiver::start(SECRET, 0).await;
    rx.hang.store(false, std::sync::atomic::Ordering::SeqCst);
    let hook = hook_at(&base, "tutor", SECRET, t.address, Duration::from_secs(30));
    // A clock at 0: no session's runway ever looks short (no low_funds).
    let ix = w
        .indexer_hooks(
            &db.url(),
            minuto_indexer::NotifyConfig {
                clock: std::sync::Arc::new(|| 0),
                tick: Duration::from_millis(100),
                keep_alive: Duration::from_secs(1),
            },
            vec![hook],
        )
        .await;
    w.synced(&ix).await;
    tokio::time::timeout(Duration::from_secs(30), async {
        while minuto_indexer::webhook::cursor(&ix.store, "tutor", t.address)
            .await
            .unwrap()
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("no starting cursor");

    let badges = IReputation::new(w.badges, &w.admin);
    send!(badges.setMinDuration(300));
    send!(badges.setMinBilled(w.token_a, 3_000_000));

    let key = Address::repeat_byte(0x0c);
    let mut at = w.head_time().await + 1_000;
    // Runs session `id` for `seconds` in `token` at `units` a second; its start's and
    // end's ids.
    let mut session = |id: u64, token: Address, units: u64, seconds: u64| {
        let start = at;
        at += seconds + 100;
        let (sp, tp, tutor) = (s.p.clone(), t.p.clone(), t.address);
        let (escrow, admin) = (w.escrow, w.admin.clone());
        async move {
            let rate = U256::from(units) * U256::from(10u64).pow(U256::from(18));
            let deposit = U256::from(50_000_000u64);
            send!(ILedger::new(escrow, sp.clone()).open(tutor, token, rate, deposit, key, 0));
            let place = |r: &minuto_chain::alloy::rpc::types::TransactionReceipt| {
                let log = r
                    .inner
                    .logs()
                    .iter()
                    .find(|l| l.address() == escrow)
                    .unwrap();
                (log.block_number.unwrap(), log.log_index.unwrap())
            };
            let set = |ts: u64| {
                let admin = admin.clone();
                async move {
                    admin
                        .raw_request::<_, Value>("evm_setNextBlockTimestamp".into(), [ts])
                        .await
                        .unwrap();
                }
            };
            set(start).await;
            let started = place(&send!(ILedger::new(escrow, tp).start(U256::from(id), key)));
            set(start + seconds).await;
            let ended = place(&send!(ILedger::new(escrow, sp).stop(U256::from(id))));
            (started, ended)
        }
    };
    let s1 = session(1, w.token_a, UNITS_PER_SECOND, 400).await;
    let s2 = session(2, w.token_a, UNITS_PER_SECOND, 200).await;
    let s3 = session(3, w.token_a, UNITS_PER_SECOND / 2, 400).await;
    let s4 = session(4, w.token_b, UNITS_PER_SECOND, 400).await;

    // A minimum of 1,000 s, stored, then replaced by a fork without it.
    w.synced(&ix).await;
    let snap: Value = w
        .admin
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    send!(badges.setMinDuration(1_000));
    w.synced(&ix).await;
    let rewinds = ix.status.borrow().rewinds;
    let _: Value = w
        .admin
        .raw_request("evm_revert".into(), [snap])
        .await
        .unwrap();
    let _: Value = w.admin.raw_request("anvil_mine".into(), [3]).await.unwrap();
    w.synced(&ix).await;
    assert!(ix.status.borrow().rewinds > rewinds, "no rewind");
    let s5 = session(5, w.token_a, UNITS_PER_SECOND, 400).await;

    send!(badges.setMinDuration(500));
    let s6 = session(6, w.token_a, UNITS_PER_SECOND, 400).await;
    send!(badges.setMinBilled(w.token_b, 1));
    send!(IReputation::new(w.badges, &s.p).claimBadge(U256::from(7), 1));
    let s7 = session(7, w.token_b, UNITS_PER_SECOND, 600).await;
    w.synced(&ix).await;

    let id = |p: (u64, u64)| format!("{}:{}", p.0, p.1);
    let badge = |role: &str,
                 session: u64,
                 token: Address,
                 secs: u64,
                 billed: u64,
                 min: (u64, u64),
                 end: (u64, u64)| {
        (
            "badge_claimable".to_owned(),
            format!("{}:badge", id(end)),
            json!({"session": session.to_string(), "role": role, "token": a(token),
                   "durationSeconds": secs, "billed": billed.to_string(),
                   "minDuration": min.0.to_string(), "minBilled": min.1.to_string(),
                   "feeBps": 250}),
        )
    };
    let expected = |role: &str| {
        let mut out: Vec<(String, String, Option<Value>)> = vec![];
        let mut push = |(started, ended): ((u64, u64), (u64, u64)), b: Option<Sent>| {
            out.push(("session_started".into(), id(started), None));
            if let Some((n, i, d)) = b {
                out.push((n, i, Some(d)));
            }
            out.push(("session_ended".into(), id(ended), None));
        };
        push(
            s1,
            Some(badge(
                role,
                1,
                w.token_a,
                400,
                4_000_000,
                (300, 3_000_000),
                s1.1,
            )),
        );
        push(s2, None);
        push(s3, None);
        push(s4, None);
        push(
            s5,
            Some(badge(
                role,
                5,
                w.token_a,
                400,
                4_000_000,
                (300, 3_000_000),
                s5.1,
            )),
        );
        push(s6, None);
        let b7 = badge(role, 7, w.token_b, 600, 6_000_000, (500, 1), s7.1);
        push(s7, (role == "tutor").then_some(b7));
        out
    };
    // What a stream sends from the start: names and ids, `badge_claimable`'s data whole.
    let replay = |who: Address, n: usize| {
        let (w, ix) = (&w, &ix);
        async move {
            let mut c = SseClient::connect(w, ix, who, Some("0:0")).await;
            let mut got = vec![];
            for _ in 0..n {
                got.push(c.next().await);
            }
            got
        }
    };
    let shape = |sent: &[Sent]| -> Vec<(String, String, Option<Value>)> {
        sent.iter()
            .map(|(n, i, d)| {
                (
                    n.clone(),
                    i.clone(),
                    (n == "badge_claimable").then(|| d.clone()),
                )
            })
            .collect()
    };
    let student = replay(s.address, 16).await;
    assert_eq!(shape(&student), expected("student"));
    let tutor = replay(t.address, 17).await;
    assert_eq!(shape(&tutor), expected("tutor"));
    assert_eq!(
        student[1].2["minDuration"], "300",
        "the settings in force at the end"
    );

    // The tutor's webhook: exactly the stream's 17 notifications, in order.
    let last = tutor[16].1.clone();
    rx.until("the tutor's last notification", |l| {
        l.iter().any(|a| a.id == last && a.answered == 200)
    })
    .await;
    let delivered: Vec<Attempt> = rx.log.borrow().clone();
    assert_eq!(delivered.len(), 17, "{delivered:#?}");
    for (got, (name, id, data)) in delivered.iter().zip(&tutor) {
        assert_eq!((got.verified, got.answered), (true, 200));
        assert_eq!(&got.id, id);
        assert_eq!(
            serde_json::from_str::<Value>(&got.body).unwrap(),
            json!({"id": id, "event": name, "address": a(t.address), "data": data})
        );
    }

    // Resuming after a badge_claimable: it again (at least once), then its session_ended.
    let mut again = SseClient::connect(&w, &ix, t.address, Some(&tutor[1].1)).await;
    assert_eq!(again.next().await, tutor[1]);
    assert_eq!(again.next().await, tutor[2]);
    // After its session_ended: what follows it.
    let mut again = SseClient::connect(&w, &ix, t.address, Some(&tutor[2].1)).await;
    assert_eq!(again.next().await, tutor[3]);

    // Replayed after a restart on the same database: the same.
    drop(again);
    ix.shutdown().await.unwrap();
    let ix = w.indexer(&db.url()).await;
    w.synced(&ix).await;
    let mut c = SseClient::connect(&w, &ix, s.address, Some("0:0")).await;
    for want in &student {
        assert_eq!(&c.next().await, want);
    }
    drop(c);
    ix.shutdown().await.unwrap();
}

/// A session that meets both minimums in an escrow taking no fee (`feeBps` 0 at open)
/// earns no badges (the contract's `BadgeNoFeePaid`): its parties get `session_started`
/// and `session_ended`, no `badge_claimable` between them.
async fn no_badge_claimable_without_a_fee(postgres: bool) {
    let test = "no_badge_claimable_without_a_fee";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::without_fee(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    let ix = w
        .indexer_with(
            &db.url(),
            minuto_indexer::NotifyConfig {
                clock: std::sync::Arc::new(|| 0),
                ..Default::default()
            },
        )
        .await;
    let badges = IReputation::new(w.badges, &w.admin);
    send!(badges.setMinDuration(300));
    send!(badges.setMinBilled(w.token_a, 1));
    let key = Address::repeat_byte(0x0c);
    let ledger = |p: &DynProvider| ILedger::new(w.escrow, p.clone());
    send!(ledger(&s.p).open(
        t.address,
        w.token_a,
        rate(),
        U256::from(50_000_000u64),
        key,
        0
    ));
    let start = w.head_time().await + 1_000;
    w.at(start).await;
    send!(ledger(&t.p).start(U256::from(1), key));
    w.at(start + 400).await;
    send!(ledger(&s.p).stop(U256::from(1)));
    w.synced(&ix).await;
    assert_eq!(w.ok(&ix, "/v1/sessions/1").await["fee"], "0");
    for who in [s.address, t.address] {
        let mut c = SseClient::connect(&w, &ix, who, Some("0:0")).await;
        let (first, second) = (c.next().await, c.next().await);
        assert_eq!(
            (first.0.as_str(), second.0.as_str()),
            ("session_started", "session_ended")
        );
        assert_eq!(second.2["billed"], "4000000");
        assert_eq!(second.2["durationSeconds"], 400);
    }
    ix.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_badge_claimable_without_a_fee_on_sqlite() {
    no_badge_claimable_without_a_fee(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_badge_claimable_without_a_fee_on_postgres() {
    no_badge_claimable_without_a_fee(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badge_claimable_follows_the_badges_settings_at_each_end_on_sqlite() {
    badge_claimable_follows_the_badges_settings_at_each_end(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badge_claimable_follows_the_badges_settings_at_each_end_on_postgres() {
    badge_claimable_follows_the_badges_settings_at_each_end(true).await;
}

/// Vetting on the `VettingDouble` stand-in: application 1 approved by two votes, 2
/// rejected, 3 expired with one vote, 4 (a renewal) superseded by revocation 5, which
/// stays open. Both endpoints answer exactly that; the filters, pages and refusals; then
/// a reorganisation replaces the block of an application 6, and it is gone.
async fn vetting_applications_votes_and_decisions(postgres: bool) {
    let test = "vetting_applications_votes_and_decisions";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::with_vetting(test).await else {
        return;
    };
    let (t1, t2, t3) = (w.party().await, w.party().await, w.party().await);
    let (r1, r2) = (w.party().await, w.party().await);
    let on = |p: &Party| IVettingDouble::new(w.vetting, p.p.clone());
    let admin = IVettingDouble::new(w.vetting, w.admin.clone());
    let t0: u64 = 2_000_000_000;
    let u = U256::from;

    w.at(t0 + 10).await;
    send!(on(&t1).open(
        u(1),
        t1.address,
        1,
        1,
        u(0),
        t0 + 1_000,
        "bafy-evidence-1".into()
    ));
    w.at(t0 + 20).await;
    send!(on(&r1).vote(u(1), true, 1, 0, "bafy-reason-1".into()));
    w.at(t0 + 30).await;
    send!(on(&r2).vote(u(1), true, 2, 0, String::new()));
    w.at(t0 + 31).await;
    send!(admin.decide(u(1), t1.address, 1, 1, true, u(7)));
    w.at(t0 + 40).await;
    send!(on(&t2).open(
        u(2),
        t2.address,
        2,
        1,
        u(0),
        t0 + 1_040,
        "bafy-evidence-2".into()
    ));
    w.at(t0 + 50).await;
    send!(on(&r1).vote(u(2), false, 0, 1, "bafy-no-1".into()));
    w.at(t0 + 60).await;
    send!(on(&r2).vote(u(2), false, 0, 2, "bafy-no-2".into()));
    w.at(t0 + 61).await;
    send!(admin.decide(u(2), t2.address, 2, 1, false, u(0)));
    w.at(t0 + 70).await;
    send!(on(&t3).open(
        u(3),
        t3.address,
        1,
        1,
        u(0),
        t0 + 1_070,
        "bafy-evidence-3".into()
    ));
    w.at(t0 + 80).await;
    send!(on(&r1).vote(u(3), true, 1, 0, String::new()));
    w.at(t0 + 1_100).await;
    send!(admin.expire(u(3), t3.address, 1));
    w.at(t0 + 1_110).await;
    send!(on(&t1).open(
        u(4),
        t1.address,
        1,
        2,
        u(0),
        t0 + 2_110,
        "bafy-renewal".into()
    ));
    w.at(t0 + 1_120).await;
    send!(on(&r1).open(
        u(5),
        t1.address,
        1,
        3,
        u(7),
        t0 + 2_120,
        "bafy-revoke-why".into()
    ));
    w.at(t0 + 1_121).await;
    send!(admin.supersede(u(4), t1.address, 1, u(5)));
    w.at(t0 + 1_130).await;
    send!(admin.setQuorum(2, 3));

    let ix = w.indexer(&db.url()).await;
    w.synced(&ix).await;

    let closed = |at: u64, credential: Value, superseded_by: Value| json!({"at": at, "credential": credential, "supersededBy": superseded_by});
    let app1 = json!({
        "id": "1", "tutor": t1.address, "kind": 1, "action": "issue", "revokes": null,
        "openedBy": t1.address, "openedAt": t0 + 10, "deadline": t0 + 1_000,
        "cid": "bafy-evidence-1", "status": "approved", "approvals": 2, "rejections": 0,
        "closed": closed(t0 + 31, json!("7"), Value::Null),
    });
    let app2 = json!({
        "id": "2", "tutor": t2.address, "kind": 2, "action": "issue", "revokes": null,
        "openedBy": t2.address, "openedAt": t0 + 40, "deadline": t0 + 1_040,
        "cid": "bafy-evidence-2", "status": "rejected", "approvals": 0, "rejections": 2,
        "closed": closed(t0 + 61, Value::Null, Value::Null),
    });
    let app3 = json!({
        "id": "3", "tutor": t3.address, "kind": 1, "action": "issue", "revokes": null,
        "openedBy": t3.address, "openedAt": t0 + 70, "deadline": t0 + 1_070,
        "cid": "bafy-evidence-3", "status": "expired", "approvals": 1, "rejections": 0,
        "closed": closed(t0 + 1_100, Value::Null, Value::Null),
    });
    let app4 = json!({
        "id": "4", "tutor": t1.address, "kind": 1, "action": "renew", "revokes": null,
        "openedBy": t1.address, "openedAt": t0 + 1_110, "deadline": t0 + 2_110,
        "cid": "bafy-renewal", "status": "superseded", "approvals": 0, "rejections": 0,
        "closed": closed(t0 + 1_121, Value::Null, json!("5")),
    });
    let app5 = json!({
        "id": "5", "tutor": t1.address, "kind": 1, "action": "revoke", "revokes": "7",
        "openedBy": r1.address, "openedAt": t0 + 1_120, "deadline": t0 + 2_120,
        "cid": "bafy-revoke-why", "status": "open", "approvals": 0, "rejections": 0,
        "closed": null,
    });
    let with_votes = |app: &Value, votes: Value| {
        let mut d = app.clone();
        d["votes"] = votes;
        d
    };
    let vote = |r: &Party, approve: bool, cid: &str, at: u64| json!({"reviewer": r.address, "approve": approve, "reasonCid": cid, "at": at});
    assert_eq!(
        w.ok(&ix, "/v1/vetting/applications/1").await,
        with_votes(
            &app1,
            json!([
                vote(&r1, true, "bafy-reason-1", t0 + 20),
                vote(&r2, true, "", t0 + 30)
            ])
        )
    );
    assert_eq!(
        w.ok(&ix, "/v1/vetting/applications/2").await,
        with_votes(
            &app2,
            json!([
                vote(&r1, false, "bafy-no-1", t0 + 50),
                vote(&r2, false, "bafy-no-2", t0 + 60)
            ])
        )
    );
    assert_eq!(
        w.ok(&ix, "/v1/vetting/applications/3").await,
        with_votes(&app3, json!([vote(&r1, true, "", t0 + 80)]))
    );
    assert_eq!(
        w.ok(&ix, "/v1/vetting/applications/4").await,
        with_votes(&app4, json!([]))
    );
    assert_eq!(
        w.ok(&ix, "/v1/vetting/applications/5").await,
        with_votes(&app5, json!([]))
    );

    let list = |items: Vec<&Value>, next: Value| json!({"items": items, "next": next});
    let all = "/v1/vetting/applications";
    assert_eq!(
        w.ok(&ix, all).await,
        list(vec![&app5, &app4, &app3, &app2, &app1], Value::Null)
    );
    for (status, app) in [
        ("open", &app5),
        ("approved", &app1),
        ("rejected", &app2),
        ("expired", &app3),
        ("superseded", &app4),
    ] {
        assert_eq!(
            w.ok(&ix, &format!("{all}?status={status}")).await,
            list(vec![app], Value::Null),
            "{status}"
        );
    }
    let t1_lower = a(t1.address);
    assert_eq!(
        w.ok(&ix, &format!("{all}?tutor={t1_lower}")).await,
        list(vec![&app5, &app4, &app1], Value::Null)
    );
    assert_eq!(
        w.ok(
            &ix,
            &format!("{all}?tutor={}&kind=1&status=open", t1.address)
        )
        .await,
        list(vec![&app5], Value::Null)
    );
    assert_eq!(
        w.ok(&ix, &format!("{all}?kind=2")).await,
        list(vec![&app2], Value::Null)
    );
    assert_eq!(
        w.ok(&ix, &format!("{all}?kind=3")).await,
        list(vec![], Value::Null)
    );
    // Pages of two: 5, 4 | 3, 2 | 1.
    assert_eq!(
        w.ok(&ix, &format!("{all}?limit=2")).await,
        list(vec![&app5, &app4], json!("4"))
    );
    assert_eq!(
        w.ok(&ix, &format!("{all}?limit=2&cursor=4")).await,
        list(vec![&app3, &app2], json!("2"))
    );
    assert_eq!(
        w.ok(&ix, &format!("{all}?limit=2&cursor=2")).await,
        list(vec![&app1], Value::Null)
    );
    // Refusals, typed.
    for (path, status, code) in [
        (format!("{all}?status=pending"), 400, "invalid_parameter"),
        (format!("{all}?kind=-1"), 400, "invalid_parameter"),
        (format!("{all}?tutor=0x12"), 400, "invalid_address"),
        (format!("{all}?cursor=x"), 400, "invalid_cursor"),
        (format!("{all}?limit=0"), 400, "invalid_limit"),
        (format!("{all}/6"), 404, "application_not_found"),
        (format!("{all}/one"), 404, "application_not_found"),
    ] {
        let (got, body) = w.get(&ix, &path).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }
    assert_eq!(
        w.get(&ix, &format!("{all}?status=pending")).await.1["message"],
        "status must be one of open, approved, rejected, expired, superseded"
    );

    // A reorganisation: application 6 and a vote on 5 stored, then replaced by blocks
    // without them.
    let events = ix.store.event_count().await.unwrap();
    let snap: Value = w
        .admin
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    send!(on(&t3).open(
        u(6),
        t3.address,
        1,
        1,
        u(0),
        t0 + 3_000,
        "bafy-again".into()
    ));
    send!(on(&r2).vote(u(5), true, 1, 0, "bafy-yes".into()));
    w.synced(&ix).await;
    assert_eq!(w.get(&ix, &format!("{all}/6")).await.0, 200);
    assert_eq!(w.ok(&ix, &format!("{all}/5")).await["approvals"], 1);
    let _: Value = w
        .admin
        .raw_request("evm_revert".into(), [snap])
        .await
        .unwrap();
    let _: Value = w.admin.raw_request("anvil_mine".into(), [3]).await.unwrap();
    w.synced(&ix).await;
    assert_eq!(w.get(&ix, &format!("{all}/6")).await.0, 404);
    assert_eq!(
        w.ok(&ix, &format!("{all}/5")).await,
        with_votes(&app5, json!([]))
    );
    assert_eq!(ix.store.event_count().await.unwrap(), events);
    assert!(ix.status.borrow().progress.reorgs >= 1);
    ix.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vetting_applications_votes_and_decisions_on_sqlite() {
    vetting_applications_votes_and_decisions(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vetting_applications_votes_and_decisions_on_postgres() {
    vetting_applications_votes_and_decisions(true).await;
}

// ---- The dashboard page in a real headless browser ----

/// A headless Chromium: `MINUTO_CHROMIUM`, else Debian's `chromium-headless-shell` or
/// `chromium` on the `PATH`.
fn chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("MINUTO_CHROMIUM") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    ["chromium-headless-shell", "chromium"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
}

/// The browser, or `None` (the test is skipped, said on stderr) outside CI.
fn chromium_or_skip(test: &str) -> Option<std::path::PathBuf> {
    match chromium() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "no headless Chromium (CI is set): install chromium-headless-shell (listed in \
             scripts/debian-packages.txt) or set MINUTO_CHROMIUM"
        ),
        None => {
            // Straight to stderr: the test harness does not capture it.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no headless Chromium; apt-get install chromium-headless-shell \
                 or set MINUTO_CHROMIUM (this would fail under CI=1)"
            );
            None
        }
    }
}

/// The DOM a real browser ends with after loading `url` and running its scripts (virtual
/// time: the dump waits for the page's requests to the indexer).
async fn browse(browser: &std::path::Path, url: &str) -> Dom {
    let profile = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                // Containers often have a small /dev/shm.
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--window-size=1280,1000",
                "--virtual-time-budget=15000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--dump-dom", url])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser did not finish within 60 s")
    .unwrap();
    assert!(
        out.status.success(),
        "browser failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Dom(String::from_utf8(out.stdout).unwrap())
}

/// A dumped DOM, read by the ids and classes the page's markup sets.
struct Dom(String);

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Text of markup: tags dropped, entities decoded.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

impl Dom {
    /// From the start of the element with `marker` (`id="x"`, `data-token="0x…"`) on.
    fn from(&self, marker: &str) -> &str {
        let at = self
            .0
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in the page:\n{}", self.0));
        let open = self.0[..at].rfind('<').unwrap();
        &self.0[open..]
    }

    /// The opening tag of the element with `id`.
    fn tag(&self, id: &str) -> &str {
        let from = self.from(&format!("id=\"{id}\""));
        &from[..=from.find('>').unwrap()]
    }

    fn hidden(&self, id: &str) -> bool {
        self.tag(id).contains(" hidden")
    }

    /// Text of the element with `id` (one without children).
    fn text(&self, id: &str) -> String {
        let from = self.from(&format!("id=\"{id}\""));
        let inner = &from[from.find('>').unwrap() + 1..];
        text(&inner[..inner.find("</").unwrap()])
    }

    fn state(&self) -> String {
        let body = &self.0[self.0.find("<body").expect("no body")..];
        attr(&body[..=body.find('>').unwrap()], "data-state")
    }
}

/// An attribute of an opening tag, unescaped.
fn attr(tag: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    let from = &tag[tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + key.len()..];
    unescape(&from[..from.find('"').unwrap()])
}

/// The body rows of the first table in `html`, each cell's text.
fn rows(html: &str) -> Vec<Vec<String>> {
    let body = &html[html.find("<tbody>").unwrap() + 7..];
    let body = &body[..body.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|r| r.split("<td>").skip(1).map(text).collect())
        .collect()
}

/// `rows` written as `|`-separated lines, for readable expectations.
fn lines(html: &str) -> Vec<String> {
    rows(html).iter().map(|r| r.join(" | ")).collect()
}

/// `0xab84…5cb2`, as the page shows an address.
fn short(x: Address) -> String {
    let s = a(x);
    format!("{}…{}", &s[..6], &s[38..])
}

/// What the chart of `token` drew: its `<figure data-plotted>` (set by uPlot's draw
/// hook from the plot's own data), the canvas uPlot made, and the figure's data table.
fn chart(dom: &Dom, token: Address) -> (Value, Vec<String>) {
    let fig = dom.from(&format!("data-token=\"{}\"", a(token)));
    let fig = &fig[..fig.find("</figure>").unwrap()];
    let plotted: Value = serde_json::from_str(&attr(fig, "data-plotted")).unwrap();
    let canvas = &fig[fig.find("<canvas").expect("uPlot made no canvas")..];
    let width: u32 = attr(canvas, "width").parse().unwrap();
    assert!(width >= 320, "canvas {width} px wide");
    (
        plotted,
        lines(&fig[fig.find("class=\"chart-data\"").unwrap()..]),
    )
}

/// 2030-01-01T00:00:00Z, a Tuesday: day 0 of the dashboard's scenario.
const DASH_DAY0: u64 = 1_893_456_000;

/// Six sessions of one tutor over four UTC days (none ended on the third), on two tokens,
/// ingested into SQLite; then the page loaded in headless Chromium for the tutor, the
/// student, pages of two sizes, two periods and two refusals, and what it shows checked
/// cell by cell, with the series the chart drew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)]
async fn the_dashboard_shows_earnings_history_and_progress_in_a_real_browser() {
    let test = "the_dashboard_shows_earnings_history_and_progress_in_a_real_browser";
    let Some(browser) = chromium_or_skip(test) else {
        return;
    };
    let Some(w) = World::new(test).await else {
        return;
    };
    let db = tempfile::tempdir().unwrap();
    let (s, s2, t, relayer) = (
        w.party().await,
        w.party().await,
        w.party().await,
        w.party().await,
    );
    let ledger = |p: &DynProvider| ILedger::new(w.escrow, p.clone());
    let key = Address::repeat_byte(0x0c);
    send!(ledger(&w.admin).setRelayer(relayer.address, true));
    macro_rules! open {
        ($p:expr, $token:expr, $deposit:expr, $kind:expr) => {
            send!(ledger($p).open(
                t.address,
                $token,
                rate(),
                U256::from($deposit as u64),
                key,
                $kind
            ))
        };
    }
    let (d0, d1, d3) = (DASH_DAY0, DASH_DAY0 + 86_400, DASH_DAY0 + 3 * 86_400);
    // 1 (day 0): 1,800 s, a withdrawal after 600 s (540 s billed through it), the student stops.
    w.at(d0 + 3_600).await;
    open!(&s.p, w.token_a, 100_000_000, 0);
    w.at(d0 + 3_610).await;
    send!(ledger(&t.p).start(U256::from(1), key));
    w.at(d0 + 4_210).await;
    send!(ledger(&t.p).withdraw(U256::from(1)));
    w.at(d0 + 5_410).await;
    send!(ledger(&s.p).stop(U256::from(1)));
    // 2 (day 1): 600 s, stopped by the relayer 20 s after the last heartbeat.
    w.at(d1 + 3_600).await;
    open!(&s2.p, w.token_a, 50_000_000, 0);
    w.at(d1 + 3_605).await;
    send!(ledger(&t.p).start(U256::from(2), key));
    w.at(d1 + 4_225).await;
    send!(ledger(&relayer.p).stopAt(U256::from(2), d1 + 4_205));
    // 3 (day 1): token B, credential kind 7, 100 s.
    w.at(d1 + 7_200).await;
    open!(&s.p, w.token_b, 30_000_000, 7);
    w.at(d1 + 7_210).await;
    send!(ledger(&t.p).start(U256::from(3), key));
    w.at(d1 + 7_310).await;
    send!(ledger(&s.p).stop(U256::from(3)));
    // 4 (day 3): 300 s, the tutor stops. 5: still running. 6: cancelled.
    w.at(d3 + 3_600).await;
    open!(&s.p, w.token_a, 20_000_000, 0);
    w.at(d3 + 3_610).await;
    send!(ledger(&t.p).start(U256::from(4), key));
    w.at(d3 + 3_910).await;
    send!(ledger(&t.p).stop(U256::from(4)));
    w.at(d3 + 7_200).await;
    open!(&s2.p, w.token_a, 10_000_000, 0);
    w.at(d3 + 7_210).await;
    send!(ledger(&t.p).start(U256::from(5), key));
    w.at(d3 + 8_000).await;
    open!(&s.p, w.token_a, 5_000_000, 0);
    w.at(d3 + 8_010).await;
    send!(ledger(&s.p).cancel(U256::from(6)));
    // What the page shows as the tutor's totals is what the chain paid.
    let net_a = 17_550_000 + 5_850_000 + 2_925_000;
    assert_eq!(w.balance(w.token_a, t.address).await, MINTED + net_a);
    assert_eq!(w.balance(w.token_b, t.address).await, MINTED + 975_000);

    let ix = w
        .indexer_with(
            &db.path().join("index.sqlite").display().to_string(),
            minuto_indexer::NotifyConfig {
                // "Today" is day 3 (streaks).
                clock: std::sync::Arc::new(move || (d3 + 9_000) as i64),
                ..Default::default()
            },
        )
        .await;
    w.synced(&ix).await;
    let base = format!("http://{}", ix.local_addr);
    let started = std::time::Instant::now();

    // The files, from the binary, with their types and a policy allowing only this origin.
    let page = w
        .http
        .get(format!("{base}/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self';"),
        "{csp}"
    );
    for (path, kind) in [
        ("dashboard.js", "text/javascript; charset=utf-8"),
        ("dashboard.css", "text/css; charset=utf-8"),
        ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
        ("vendor/uPlot.min.css", "text/css; charset=utf-8"),
        ("vendor/uPlot-LICENSE.txt", "text/plain; charset=utf-8"),
    ] {
        let r = w
            .http
            .get(format!("{base}/dashboard/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (
                r.status().as_u16(),
                r.headers()["content-type"].to_str().unwrap()
            ),
            (200, kind),
            "{path}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
    let r = w
        .http
        .get(format!("{base}/dashboard/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The tutor, by day.
    let dom = browse(
        &browser,
        &format!("{base}/dashboard?address={}", a(t.address)),
    )
    .await;
    assert_eq!(dom.state(), "ready", "{}", dom.0);
    assert!(dom.hidden("error"));
    assert_eq!(
        dom.text("status"),
        format!("Account {}, earnings by day", a(t.address))
    );
    let (ta, tb) = (short(w.token_a), short(w.token_b));
    let mut totals = vec![
        (
            w.token_a,
            format!("{ta} | 3 | 27,000,000 | 675,000 | 26,325,000 | 5,265,000 | 0"),
        ),
        (
            w.token_b,
            format!("{tb} | 1 | 1,000,000 | 25,000 | 975,000 | 0 | 0"),
        ),
    ];
    totals.sort();
    let totals: Vec<String> = totals.into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines(dom.from("id=\"earnings-totals\"")), totals);
    // One point per day from the first to the last day with earnings, zero on day 2.
    let days: Vec<u64> = (0..4).map(|d| d0 + d * 86_400).collect();
    let (plotted, table) = chart(&dom, w.token_a);
    assert_eq!(
        plotted,
        json!({"x": days, "net": [17_550_000, 5_850_000, 0, 2_925_000]})
    );
    assert_eq!(
        table,
        [
            "2030-01-01 | 1 | 18,000,000 | 450,000 | 17,550,000 | 5,265,000",
            "2030-01-02 | 1 | 6,000,000 | 150,000 | 5,850,000 | 0",
            "2030-01-03 | 0 | 0 | 0 | 0 | 0",
            "2030-01-04 | 1 | 3,000,000 | 75,000 | 2,925,000 | 0",
        ]
    );
    let (plotted, table) = chart(&dom, w.token_b);
    assert_eq!(plotted, json!({"x": days, "net": [0, 975_000, 0, 0]}));
    assert_eq!(
        table[1],
        "2030-01-02 | 1 | 1,000,000 | 25,000 | 975,000 | 0"
    );
    assert_eq!(dom.0.matches("<figure class=\"chart\"").count(), 2);
    let (ss, ss2) = (short(s.address), short(s2.address));
    let tutor_rows = [
        format!("6 | {ss} | {ta} | cancelled | — | — | — | — | — | student | cancelled before it started"),
        format!("5 | {ss2} | {ta} | active | 2030-01-04 02:00:10 | — | — | — | — | — | —"),
        format!("4 | {ss} | {ta} | ended | 2030-01-04 01:00:10 | 0:05:00 | 3,000,000 | 75,000 | 2,925,000 | tutor | the tutor stopped it"),
        format!("3 | {ss} | {tb} | ended | 2030-01-02 02:00:10 | 0:01:40 | 1,000,000 | 25,000 | 975,000 | student | the student stopped it"),
        format!("2 | {ss2} | {ta} | ended | 2030-01-02 01:00:05 | 0:10:00 | 6,000,000 | 150,000 | 5,850,000 | relayer | disconnect detected (stop mined 20 s after)"),
        format!("1 | {ss} | {ta} | ended | 2030-01-01 01:00:10 | 0:30:00 | 18,000,000 | 450,000 | 17,550,000 | student | the student stopped it"),
    ];
    assert_eq!(lines(dom.from("id=\"tutor-sessions\"")), tutor_rows);
    assert_eq!(dom.text("tutor-pages"), "");
    assert!(!dom.hidden("tutor-body") && dom.hidden("tutor-empty"));
    assert!(dom.hidden("student-body") && !dom.hidden("student-empty"));

    // The student (address in upper case), history and progress.
    let upper = format!("0x{}", &a(s.address)[2..].to_uppercase());
    let dom = browse(&browser, &format!("{base}/dashboard?address={upper}")).await;
    assert_eq!(dom.state(), "ready", "{}", dom.0);
    assert!(dom.hidden("tutor-body") && !dom.hidden("tutor-empty"));
    assert!(!dom.hidden("student-body"));
    let st = short(t.address);
    assert_eq!(
        lines(dom.from("id=\"student-sessions\"")),
        [
            format!("6 | {st} | {ta} | cancelled | — | — | — | 5,000,000 | student | cancelled before it started"),
            format!("4 | {st} | {ta} | ended | 2030-01-04 01:00:10 | 0:05:00 | 3,000,000 | 17,000,000 | tutor | the tutor stopped it"),
            format!("3 | {st} | {tb} | ended | 2030-01-02 02:00:10 | 0:01:40 | 1,000,000 | 29,000,000 | student | the student stopped it"),
            format!("1 | {st} | {ta} | ended | 2030-01-01 01:00:10 | 0:30:00 | 18,000,000 | 82,000,000 | student | the student stopped it"),
        ]
    );
    let progress: Vec<String> = [
        "progress-sessions",
        "progress-time",
        "progress-current",
        "progress-longest",
        "progress-days",
    ]
    .iter()
    .map(|id| dom.text(id))
    .collect();
    assert_eq!(progress, ["3", "0:36:40", "1 day", "2 days", "3"]);
    let mut spend = vec![
        (w.token_a, format!("{ta} | 21,000,000")),
        (w.token_b, format!("{tb} | 1,000,000")),
    ];
    spend.sort();
    let spend: Vec<String> = spend.into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines(dom.from("id=\"progress-spend\"")), spend);
    assert_eq!(
        lines(dom.from("id=\"progress-tutors\"")),
        [format!("{st} | 3 | 0:36:40")]
    );
    assert_eq!(
        lines(dom.from("id=\"progress-kinds\"")),
        ["0 | 2 | 0:35:00", "7 | 1 | 0:01:40"]
    );

    // By week: one point, the week of Monday 2029-12-31.
    let dom = browse(
        &browser,
        &format!("{base}/dashboard?address={}&period=week", a(t.address)),
    )
    .await;
    assert_eq!(dom.state(), "ready", "{}", dom.0);
    let (plotted, table) = chart(&dom, w.token_a);
    assert_eq!(plotted, json!({"x": [d0 - 86_400], "net": [net_a]}));
    assert_eq!(
        table,
        ["2029-12-31 | 3 | 27,000,000 | 675,000 | 26,325,000 | 5,265,000"]
    );

    // Pages of four: the link to the older sessions carries the API's cursor.
    let dom = browse(
        &browser,
        &format!("{base}/dashboard?address={}&limit=4", a(t.address)),
    )
    .await;
    assert_eq!(lines(dom.from("id=\"tutor-sessions\"")), tutor_rows[..4]);
    assert_eq!(dom.text("tutor-pages"), "Older sessions");
    let link = dom.from("id=\"tutor-pages\"");
    let href = attr(&link[link.find("<a ").unwrap()..], "href");
    assert_eq!(
        href,
        format!("?address={}&limit=4&tutorCursor=3", a(t.address))
    );
    let dom = browse(&browser, &format!("{base}/dashboard{href}")).await;
    assert_eq!(lines(dom.from("id=\"tutor-sessions\"")), tutor_rows[4..]);
    assert_eq!(dom.text("tutor-pages"), "Newest sessions");

    // Refusals, in the API's words; nothing else shown.
    for (query, error) in [
        (
            "address=0x1234".to_owned(),
            "The indexer answered 400 invalid_address: \"0x1234\" is not an address (0x followed by 40 hex digits)",
        ),
        (
            format!("address={}&period=year", a(t.address)),
            "The indexer answered 400 invalid_parameter: period must be one of day, week, month",
        ),
    ] {
        let dom = browse(&browser, &format!("{base}/dashboard?{query}")).await;
        assert_eq!(dom.state(), "error", "{}", dom.0);
        assert_eq!(dom.text("error"), error);
        assert!(!dom.hidden("error") && dom.hidden("results"));
    }
    // No address: the form and a hint.
    let dom = browse(&browser, &format!("{base}/dashboard")).await;
    assert_eq!(dom.state(), "idle");
    assert!(dom.hidden("results") && dom.hidden("error"));
    eprintln!(
        "dashboard: 7 pages in the browser in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ix.shutdown().await.unwrap();
}

/// The vendored uPlot is the npm package pinned in the root package.json, byte for byte
/// (`npm run vendor:uplot` refreshes it).
#[test]
fn the_vendored_chart_library_is_the_pinned_package() {
    let root = minuto_anvil::repo_root();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("package.json")).unwrap()).unwrap();
    let pinned = manifest["devDependencies"]["uplot"].as_str().unwrap();
    let vendor = root.join("indexer/dashboard/vendor/uplot");
    let script = std::fs::read_to_string(vendor.join("uPlot.iife.min.js")).unwrap();
    assert!(
        script.starts_with(&format!(
            "/*! https://github.com/leeoniya/uPlot (v{pinned}) */"
        )),
        "vendored uPlot is not {pinned}"
    );
    let installed = root.join("node_modules/uplot");
    if !installed.exists() {
        eprintln!("node_modules/uplot missing (npm ci): only the version banner was compared");
        return;
    }
    for (from, to) in [
        ("dist/uPlot.iife.min.js", "uPlot.iife.min.js"),
        ("dist/uPlot.min.css", "uPlot.min.css"),
        ("LICENSE", "LICENSE"),
    ] {
        assert!(
            std::fs::read(installed.join(from)).unwrap() == std::fs::read(vendor.join(to)).unwrap(),
            "{to} differs from node_modules/uplot/{from}: npm run vendor:uplot"
        );
    }
}

// ---------------------------------------------------------------- booking

/// The `BookingDouble` stand-in's calls: each emits minuto-booking's event with the
/// values given (the caller is the event's student, tutor or `by`).
#[allow(clippy::too_many_arguments)]
mod booking_double {
    minuto_chain::alloy::sol! {
        #[sol(rpc)]
        interface IBookingDouble {
            struct Request {
                uint256 id;
                address tutor;
                address token;
                uint64 start;
                uint32 duration;
                uint256 rate;
                uint256 deposit;
                uint32 credentialKind;
                uint64 answerDeadline;
                uint32 freeNotice;
                uint16 lateCancelFeeBps;
                uint16 noShowFeeBps;
            }
            function setRate(address token, uint256 rate) external;
            function setPolicy(uint32 freeNotice, uint16 lateCancelFeeBps, uint16 noShowFeeBps) external;
            function request(Request calldata r) external;
            function requestSeries(Request calldata r, uint16 lessons, uint32 interval) external;
            function accept(uint256 id) external;
            function decline(uint256 id, uint256 refund) external;
            function expire(uint256 id, uint256 refund) external;
            function cancel(uint256 id, uint256 tutorFee, uint256 refund) external;
            function join(uint256 id, uint256 sessionId, uint256 escrowed, uint256 refund) external;
            function claimNoShow(uint256 id, uint256 tutorFee, uint256 refund) external;
            function reportTutorNoShow(uint256 id, uint256 sessionId) external;
            function reportTutorEarlyEnd(uint256 id, uint256 sessionId, uint64 held) external;
            function refuseJoin(uint256 id, uint8 reason, uint256 refund) external;
            function requestSeriesFundedLater(Request calldata r, uint16 lessons, uint32 interval, uint64 fundLead) external;
            function fund(uint256 id, uint256 amount) external;
        }
    }
}
use booking_double::IBookingDouble;

/// A 1,800 s request at [`rate`] (price 18,000,000) with a 20,000,000 deposit, answered
/// two hours before the start, under the policy 3,600 s / 2,000 bps / 5,000 bps.
fn lesson(id: u64, tutor: Address, token: Address, start: u64) -> IBookingDouble::Request {
    IBookingDouble::Request {
        id: U256::from(id),
        tutor,
        token,
        start,
        duration: 1_800,
        rate: rate(),
        deposit: U256::from(20_000_000u64),
        credentialKind: 0,
        answerDeadline: start - 7_200,
        freeNotice: 3_600,
        lateCancelFeeBps: 2_000,
        noShowFeeBps: 5_000,
    }
}

impl World {
    fn booking(&self, p: &DynProvider) -> IBookingDouble::IBookingDoubleInstance<DynProvider> {
        IBookingDouble::new(self.booking, p.clone())
    }

    /// The latest block's timestamp.
    async fn head_time(&self) -> u64 {
        self.admin
            .get_block(Default::default())
            .await
            .unwrap()
            .unwrap()
            .header
            .timestamp
    }
}

/// (state, at, block, by) of a booking's `changes`, as served.
fn change(state: &str, at: u64, block: u64, by: Option<Address>) -> Value {
    json!({"state": state, "at": at, "block": block, "by": by.map(a)})
}

/// The indexer's notification settings with `clock` as its clock (a test clock, set by
/// the test), ticking every 100 ms, a keep-alive every second.
fn clocked(clock: &std::sync::Arc<std::sync::atomic::AtomicI64>) -> minuto_indexer::NotifyConfig {
    let c = clock.clone();
    minuto_indexer::NotifyConfig {
        clock: std::sync::Arc::new(move || c.load(std::sync::atomic::Ordering::SeqCst)),
        tick: Duration::from_millis(100),
        keep_alive: Duration::from_secs(1),
    }
}

/// A booking test's webhook and test clock: a [`Receiver`] answering at once, the webhook
/// `name` (at the receiver's `/name`, for `address`, signed with `secret`), and the
/// indexer's clock (`NotifyConfig::clock`), set by the test.
struct Hooked {
    rx: std::sync::Arc<Receiver>,
    url: url::Url,
    name: &'static str,
    secret: &'static str,
    address: Address,
    clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Hooked {
    async fn start(name: &'static str, secret: &'static str, address: Address) -> Self {
        let (rx, url) = Receiver::start(secret, 0).await;
        rx.hang.store(false, std::sync::atomic::Ordering::SeqCst);
        Hooked {
            rx,
            url,
            name,
            secret,
            address,
            clock: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0)),
        }
    }

    fn hook(&self) -> minuto_indexer::Webhook {
        hook_at(
            &self.url,
            self.name,
            self.secret,
            self.address,
            Duration::from_secs(10),
        )
    }

    fn notify(&self) -> minuto_indexer::NotifyConfig {
        clocked(&self.clock)
    }

    /// An indexer with this webhook and clock, synced.
    async fn indexer(&self, w: &World, db: &str) -> Handle {
        let ix = w.indexer_hooks(db, self.notify(), vec![self.hook()]).await;
        w.synced(&ix).await;
        ix
    }

    /// Waits (30 s at most, else panics with `what`) until the webhook's stored cursor
    /// is `done`.
    async fn cursor_until(
        &self,
        ix: &Handle,
        done: impl Fn(Option<(i64, i64)>) -> bool,
        what: &str,
    ) {
        tokio::time::timeout(Duration::from_secs(30), async {
            while !done(
                minuto_indexer::webhook::cursor(&ix.store, self.name, self.address)
                    .await
                    .unwrap(),
            ) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect(what);
    }

    /// Waits until the webhook has its starting cursor.
    async fn started(&self, ix: &Handle) {
        self.cursor_until(ix, |c| c.is_some(), "no starting webhook cursor")
            .await;
    }

    /// Waits until the webhook's cursor is `at` (a delivery stored).
    async fn delivered(&self, ix: &Handle, at: Option<(i64, i64)>) {
        self.cursor_until(ix, |c| c == at, "the reminder's delivery stored")
            .await;
    }

    /// (id, data) of each request the receiver answered 200, in order.
    fn answered(&self) -> Vec<(String, Value)> {
        self.rx
            .log
            .borrow()
            .iter()
            .filter(|x| x.answered == 200)
            .map(|x| {
                let body: Value = serde_json::from_str(&x.body).unwrap();
                (x.id.clone(), body["data"].clone())
            })
            .collect()
    }
}

/// Every booking event, each booking's state derived from its latest one: a request
/// accepted then joined; a series of three, one cancelled; a decline; an expiry; a
/// student and a tutor no-show; a refused join; a request left unanswered whose accept
/// is then replaced by a reorganisation (the state goes back to `requested`). Served by
/// `/v1/bookings` (newest start first, upcoming soonest first, pages, either party),
/// exact.
#[allow(clippy::too_many_lines)]
async fn bookings_follow_each_booking_event(postgres: bool) {
    use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
    let test = "bookings_follow_each_booking_event";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::with_booking(test).await else {
        return;
    };
    let (s, s2, t, t2) = (
        w.party().await,
        w.party().await,
        w.party().await,
        w.party().await,
    );
    let clock = std::sync::Arc::new(AtomicI64::new(0));
    let ix = w.indexer_with(&db.url(), clocked(&clock)).await;
    let b = |p: &Party| w.booking(&p.p);
    let now = w.head_time().await;
    let t0 = now + 1_000;
    // Lessons from an hour two days ahead.
    let l = (now / 3_600 + 48) * 3_600;
    let n = |v: u64| U256::from(v);
    let mut blocks = std::collections::BTreeMap::new();
    macro_rules! at {
        ($k:expr, $name:expr, $call:expr) => {{
            w.at(t0 + $k).await;
            let r = send!($call);
            blocks.insert($name, r.block_number.unwrap());
        }};
    }
    at!(1, "rate", b(&t).setRate(w.token_a, rate()));
    at!(2, "policy", b(&t).setPolicy(3_600, 2_000, 5_000));
    at!(
        10,
        "req1",
        b(&s).request(lesson(1, t.address, w.token_a, l))
    );
    at!(11, "acc1", b(&t).accept(n(1)));
    at!(
        12,
        "join1",
        b(&s).join(n(1), n(7), n(18_000_000), n(2_000_000))
    );
    let mut series = lesson(2, t.address, w.token_a, l + 86_400);
    series.answerDeadline = l;
    at!(20, "series", b(&s).requestSeries(series, 3, 604_800));
    at!(21, "acc2", b(&t).accept(n(2)));
    at!(22, "acc3", b(&t).accept(n(3)));
    at!(23, "acc4", b(&t).accept(n(4)));
    at!(24, "cancel3", b(&s).cancel(n(3), n(0), n(20_000_000)));
    at!(
        30,
        "req5",
        b(&s2).request(lesson(5, t.address, w.token_a, l + 3_600))
    );
    at!(31, "decline5", b(&t).decline(n(5), n(20_000_000)));
    at!(
        40,
        "req6",
        b(&s).request(lesson(6, t2.address, w.token_b, l + 7_200))
    );
    at!(41, "expire6", b(&s2).expire(n(6), n(20_000_000)));
    at!(
        50,
        "req7",
        b(&s).request(lesson(7, t.address, w.token_a, l + 10_800))
    );
    at!(51, "acc7", b(&t).accept(n(7)));
    at!(
        52,
        "noshow7",
        b(&t).claimNoShow(n(7), n(9_000_000), n(11_000_000))
    );
    at!(
        60,
        "req8",
        b(&s).request(lesson(8, t.address, w.token_a, l + 14_400))
    );
    at!(61, "acc8", b(&t).accept(n(8)));
    at!(
        62,
        "join8",
        b(&s).join(n(8), n(9), n(18_000_000), n(2_000_000))
    );
    at!(63, "noshow8", b(&s).reportTutorNoShow(n(8), n(9)));
    at!(
        70,
        "req9",
        b(&s).request(lesson(9, t.address, w.token_a, l + 18_000))
    );
    at!(71, "acc9", b(&t).accept(n(9)));
    at!(72, "refused9", b(&s).refuseJoin(n(9), 2, n(20_000_000)));
    at!(
        80,
        "req10",
        b(&s).request(lesson(10, t.address, w.token_a, l + 21_600))
    );
    w.synced(&ix).await;

    let page = |q: String| {
        let (w, ix) = (&w, &ix);
        async move { w.ok(ix, &format!("/v1/bookings?{q}")).await }
    };
    let ids = |v: &Value| -> Vec<(String, String)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["id"].as_str().unwrap().to_owned(),
                    b["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(i, s)| ((*i).to_owned(), (*s).to_owned()))
            .collect()
    };
    let all = page(format!("address={}", a(s.address))).await;
    assert_eq!(
        ids(&all),
        pairs(&[
            ("4", "accepted"),
            ("3", "cancelled"),
            ("2", "accepted"),
            ("10", "requested"),
            ("9", "join_refused"),
            ("8", "tutor_no_show"),
            ("7", "student_no_show"),
            ("6", "expired"),
            ("1", "joined"),
        ])
    );
    assert_eq!(all["next"], Value::Null);
    let item = |v: &Value, id: &str| -> Value {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .unwrap()
            .clone()
    };
    let policy = json!({"freeNotice": 3_600, "lateCancelFeeBps": 2_000, "noShowFeeBps": 5_000});
    let base = |id: &str, tutor: Address, token: Address, start: u64, requested: &str| {
        json!({
            "id": id, "student": a(s.address), "tutor": a(tutor), "token": a(token),
            "start": start, "duration": 1_800, "end": start + 1_800, "rate": rate().to_string(),
            "price": "18000000", "deposit": "20000000", "credentialKind": 0,
            "answerDeadline": start - 7_200, "policy": policy.clone(), "seriesFirstId": null,
            "fundBy": null, "funded": true, "fundedAt": null,
            "state": "requested", "requestedAt": null, "requestedBlock": blocks[requested],
            "tutorFee": null, "refund": null, "escrowed": null, "sessionId": null,
            "joinRefusedReason": null, "held": null, "changes": [],
        })
    };
    let mut one = base("1", t.address, w.token_a, l, "req1");
    one["requestedAt"] = json!(t0 + 10);
    one["state"] = json!("joined");
    one["refund"] = json!("2000000");
    one["escrowed"] = json!("18000000");
    one["sessionId"] = json!("7");
    one["changes"] = json!([
        change("accepted", t0 + 11, blocks["acc1"], Some(t.address)),
        change("joined", t0 + 12, blocks["join1"], None),
    ]);
    assert_eq!(item(&all, "1"), one);
    // The series: its own start each week, the series' deadline, one cancelled for free.
    let mut three = base("3", t.address, w.token_a, l + 86_400 + 604_800, "series");
    three["requestedAt"] = json!(t0 + 20);
    three["answerDeadline"] = json!(l);
    three["seriesFirstId"] = json!("2");
    three["state"] = json!("cancelled");
    three["tutorFee"] = json!("0");
    three["refund"] = json!("20000000");
    three["changes"] = json!([
        change("accepted", t0 + 22, blocks["acc3"], Some(t.address)),
        change("cancelled", t0 + 24, blocks["cancel3"], Some(s.address)),
    ]);
    assert_eq!(item(&all, "3"), three);
    for id in ["2", "4"] {
        assert_eq!(item(&all, id)["seriesFirstId"], "2");
    }
    assert_eq!(item(&all, "4")["start"], l + 86_400 + 2 * 604_800);
    let mut six = base("6", t2.address, w.token_b, l + 7_200, "req6");
    six["requestedAt"] = json!(t0 + 40);
    six["state"] = json!("expired");
    six["refund"] = json!("20000000");
    six["changes"] = json!([change(
        "expired",
        t0 + 41,
        blocks["expire6"],
        Some(s2.address)
    )]);
    assert_eq!(item(&all, "6"), six);
    let seven = item(&all, "7");
    assert_eq!(
        (
            &seven["tutorFee"],
            &seven["refund"],
            &seven["changes"][1]["by"]
        ),
        (&json!("9000000"), &json!("11000000"), &json!(a(t.address)))
    );
    // A tutor no-show keeps the join's amounts and session.
    let eight = item(&all, "8");
    assert_eq!(
        (
            &eight["escrowed"],
            &eight["refund"],
            &eight["sessionId"],
            &eight["tutorFee"]
        ),
        (
            &json!("18000000"),
            &json!("2000000"),
            &json!("9"),
            &Value::Null
        )
    );
    assert_eq!(
        eight["changes"][2],
        change("tutor_no_show", t0 + 63, blocks["noshow8"], Some(s.address))
    );
    let nine = item(&all, "9");
    assert_eq!(
        (&nine["joinRefusedReason"], &nine["refund"]),
        (&json!(2), &json!("20000000"))
    );
    // The declined one is the other student's; the tutor sees it.
    let declined = page(format!("address={}&limit=200", a(t.address))).await;
    assert_eq!(
        ids(&declined)
            .iter()
            .map(|(i, _)| i.as_str())
            .collect::<Vec<_>>(),
        ["4", "3", "2", "10", "9", "8", "7", "5", "1"]
    );
    let mut five = base("5", t.address, w.token_a, l + 3_600, "req5");
    five["student"] = json!(a(s2.address));
    five["requestedAt"] = json!(t0 + 30);
    five["state"] = json!("declined");
    five["refund"] = json!("20000000");
    five["changes"] = json!([change(
        "declined",
        t0 + 31,
        blocks["decline5"],
        Some(t.address)
    )]);
    assert_eq!(item(&declined, "5"), five);
    // Upper case works the same.
    let upper = page(format!("address=0x{}", hex::encode_upper(t2.address))).await;
    assert_eq!(ids(&upper), pairs(&[("6", "expired")]));

    // Pages of four, newest start first.
    let p1 = page(format!("address={}&limit=4", a(s.address))).await;
    assert_eq!(
        ids(&p1),
        pairs(&[
            ("4", "accepted"),
            ("3", "cancelled"),
            ("2", "accepted"),
            ("10", "requested")
        ])
    );
    assert_eq!(p1["next"], format!("{}:10", l + 21_600));
    let p2 = page(format!(
        "address={}&limit=4&cursor={}",
        a(s.address),
        p1["next"].as_str().unwrap()
    ))
    .await;
    assert_eq!(
        ids(&p2),
        pairs(&[
            ("9", "join_refused"),
            ("8", "tutor_no_show"),
            ("7", "student_no_show"),
            ("6", "expired")
        ])
    );
    let p3 = page(format!(
        "address={}&limit=4&cursor={}",
        a(s.address),
        p2["next"].as_str().unwrap()
    ))
    .await;
    assert_eq!(ids(&p3), pairs(&[("1", "joined")]));
    assert_eq!(p3["next"], Value::Null);

    // Upcoming by the indexer's clock: from lesson 7's start on, soonest first.
    clock.store((l + 10_800) as i64, SeqCst);
    let u1 = page(format!("address={}&upcoming=true&limit=3", a(s.address))).await;
    assert_eq!(
        ids(&u1),
        pairs(&[
            ("7", "student_no_show"),
            ("8", "tutor_no_show"),
            ("9", "join_refused")
        ])
    );
    assert_eq!(u1["next"], format!("{}:9", l + 18_000));
    let u2 = page(format!(
        "address={}&upcoming=true&limit=3&cursor={}",
        a(s.address),
        u1["next"].as_str().unwrap()
    ))
    .await;
    assert_eq!(
        ids(&u2),
        pairs(&[("10", "requested"), ("2", "accepted"), ("3", "cancelled")])
    );
    let u3 = page(format!(
        "address={}&upcoming=true&limit=3&cursor={}",
        a(s.address),
        u2["next"].as_str().unwrap()
    ))
    .await;
    assert_eq!(ids(&u3), pairs(&[("4", "accepted")]));
    assert_eq!(u3["next"], Value::Null);

    // Refusals, worded as the other endpoints'.
    for (path, status, code) in [
        ("/v1/bookings".to_owned(), 400, "missing_parameter"),
        (
            "/v1/bookings?address=0x1234".to_owned(),
            400,
            "invalid_address",
        ),
        (
            format!("/v1/bookings?address={}&upcoming=yes", a(s.address)),
            400,
            "invalid_parameter",
        ),
        (
            format!("/v1/bookings?address={}&cursor=abc", a(s.address)),
            400,
            "invalid_cursor",
        ),
        (
            format!("/v1/bookings?address={}&limit=0", a(s.address)),
            400,
            "invalid_limit",
        ),
    ] {
        let (got, body) = w.get(&ix, &path).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "{path}"
        );
    }

    // A reorganisation replaces the block that accepted booking 10: it is requested again.
    let events = ix.store.event_count().await.unwrap();
    let snap: Value = w
        .admin
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    send!(b(&t).accept(n(10)));
    w.synced(&ix).await;
    let ten = |v: Value| item(&v, "10");
    let accepted = ten(page(format!("address={}", a(s.address))).await);
    assert_eq!(
        (
            &accepted["state"],
            accepted["changes"].as_array().unwrap().len()
        ),
        (&json!("accepted"), 1)
    );
    let _: Value = w
        .admin
        .raw_request("evm_revert".into(), [snap])
        .await
        .unwrap();
    let _: Value = w.admin.raw_request("anvil_mine".into(), [3]).await.unwrap();
    w.synced(&ix).await;
    let mut ten_requested = base("10", t.address, w.token_a, l + 21_600, "req10");
    ten_requested["requestedAt"] = json!(t0 + 80);
    assert_eq!(
        ten(page(format!("address={}", a(s.address))).await),
        ten_requested
    );
    assert_eq!(ix.store.event_count().await.unwrap(), events);
    assert!(ix.status.borrow().progress.reorgs >= 1);
    // Every booking event is in `events` too, under the booking contract: 28 logs.
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE contract = 'booking'")
        .fetch_one(ix.store.pool())
        .await
        .unwrap();
    assert_eq!(count, 28);
    ix.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_follow_each_booking_event_on_sqlite() {
    bookings_follow_each_booking_event(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_follow_each_booking_event_on_postgres() {
    bookings_follow_each_booking_event(true).await;
}

/// Booking notifications to both parties, and `booking_reminder` at T-30 and T-5 min by
/// the indexer's clock (a test clock: nothing waits 30 minutes): the 30-minute one while
/// running; the 5-minute one, whose time passed while the indexer was stopped, at the
/// restart; each exactly once (a second restart fires nothing, the stored rows are two),
/// with ids that a resume (`Last-Event-ID`) and the webhook cursor go past exactly. No
/// reminder for a booking cancelled before its time, nor for one whose start passed.
#[allow(clippy::too_many_lines)]
async fn booking_notifications_and_reminders_exactly_once(postgres: bool) {
    use std::sync::atomic::Ordering::SeqCst;
    let test = "booking_notifications_and_reminders_exactly_once";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::with_booking(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    let h = Hooked::start("tutor", "whsec-the-receivers-secret", t.address).await;
    let clock = &h.clock;
    let now = w.head_time().await;
    // The lesson's start, by the chain's time and the indexer's clock alike.
    let start = now + 100_000;
    clock.store(start as i64 - 4_000, SeqCst);
    let ix = h.indexer(&w, &db.url()).await;
    h.started(&ix).await;
    let mut ss = SseClient::connect(&w, &ix, s.address, None).await;
    let mut ts = SseClient::connect(&w, &ix, t.address, None).await;

    let b = |p: &Party| w.booking(&p.p);
    let n = |v: u64| U256::from(v);
    let id_of = |r: &minuto_chain::alloy::rpc::types::TransactionReceipt| {
        let log = &r.inner.logs()[0];
        format!("{}:{}", log.block_number.unwrap(), log.log_index.unwrap())
    };
    // 1: requested and accepted (its reminders come later); 2: accepted, then cancelled
    // before its time; 3 declined; 4 expired; 5 joined; 6 a student no-show; 7 joined then
    // a tutor no-show; 9 joined then the tutor's early end (42 s held); 8 accepted,
    // starting before the clock reaches T-30 of lesson 1.
    let r1 = send!(b(&s).request(lesson(1, t.address, w.token_a, start)));
    let a1 = send!(b(&t).accept(n(1)));
    send!(b(&s).request(lesson(2, t.address, w.token_a, start + 100)));
    send!(b(&t).accept(n(2)));
    let c2 = send!(b(&s).cancel(n(2), n(0), n(20_000_000)));
    send!(b(&s).request(lesson(3, t.address, w.token_a, start + 200)));
    let d3 = send!(b(&t).decline(n(3), n(20_000_000)));
    send!(b(&s).request(lesson(4, t.address, w.token_a, start + 300)));
    let e4 = send!(b(&t).expire(n(4), n(20_000_000)));
    send!(b(&s).request(lesson(5, t.address, w.token_a, start + 400)));
    send!(b(&t).accept(n(5)));
    let j5 = send!(b(&s).join(n(5), n(11), n(18_000_000), n(2_000_000)));
    send!(b(&s).request(lesson(6, t.address, w.token_a, start + 500)));
    send!(b(&t).accept(n(6)));
    let ns6 = send!(b(&t).claimNoShow(n(6), n(9_000_000), n(11_000_000)));
    send!(b(&s).request(lesson(7, t.address, w.token_a, start + 600)));
    send!(b(&t).accept(n(7)));
    send!(b(&s).join(n(7), n(12), n(18_000_000), n(2_000_000)));
    let ns7 = send!(b(&s).reportTutorNoShow(n(7), n(12)));
    send!(b(&s).request(lesson(9, t.address, w.token_a, start + 700)));
    send!(b(&t).accept(n(9)));
    send!(b(&s).join(n(9), n(13), n(18_000_000), n(2_000_000)));
    let ee9 = send!(b(&s).reportTutorEarlyEnd(n(9), n(13), 42));
    send!(b(&s).request(lesson(8, t.address, w.token_a, start - 1_900)));
    let a8 = send!(b(&t).accept(n(8)));
    w.synced(&ix).await;

    let lesson_data = |role: &str, id: u64, at: u64| {
        json!({"booking": id.to_string(), "role": role, "student": a(s.address),
               "tutor": a(t.address), "token": a(w.token_a), "start": at, "duration": 1_800})
    };
    let with = |mut v: Value, extra: Value| {
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    for (role, stream) in [("student", &mut ss), ("tutor", &mut ts)] {
        let requested = stream.next().await;
        assert_eq!(
            requested,
            (
                "booking_requested".to_owned(),
                id_of(&r1),
                with(
                    lesson_data(role, 1, start),
                    json!({"rate": rate().to_string(), "deposit": "20000000",
                           "credentialKind": 0, "answerDeadline": start - 7_200,
                           "policy": {"freeNotice": 3_600, "lateCancelFeeBps": 2_000,
                                      "noShowFeeBps": 5_000},
                           "seriesFirstId": null, "fundBy": null})
                )
            )
        );
        assert_eq!(
            stream.next().await,
            (
                "booking_accepted".to_owned(),
                id_of(&a1),
                with(lesson_data(role, 1, start), json!({"by": a(t.address)}))
            )
        );
        // Booking 2: requested, accepted, cancelled by the student for free.
        let two = [
            stream.next().await,
            stream.next().await,
            stream.next().await,
        ];
        assert_eq!(
            two.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            ["booking_requested", "booking_accepted", "booking_cancelled"]
        );
        assert_eq!(
            two[2],
            (
                "booking_cancelled".to_owned(),
                id_of(&c2),
                with(
                    lesson_data(role, 2, start + 100),
                    json!({"by": a(s.address), "tutorFee": "0", "refund": "20000000"})
                )
            )
        );
        let mut rest = vec![];
        for _ in 0..20 {
            rest.push(stream.next().await);
        }
        let get = |id: &str| rest.iter().find(|e| e.1 == id).unwrap().clone();
        assert_eq!(
            get(&id_of(&d3)),
            (
                "booking_declined".to_owned(),
                id_of(&d3),
                with(
                    lesson_data(role, 3, start + 200),
                    json!({"by": a(t.address), "refund": "20000000"})
                )
            )
        );
        assert_eq!(
            get(&id_of(&e4)),
            (
                "booking_expired".to_owned(),
                id_of(&e4),
                with(
                    lesson_data(role, 4, start + 300),
                    json!({"by": a(t.address), "refund": "20000000"})
                )
            )
        );
        assert_eq!(
            get(&id_of(&j5)),
            (
                "booking_joined".to_owned(),
                id_of(&j5),
                with(
                    lesson_data(role, 5, start + 400),
                    json!({"escrowed": "18000000", "refund": "2000000", "sessionId": "11"})
                )
            )
        );
        assert_eq!(
            get(&id_of(&ns6)),
            (
                "booking_no_show".to_owned(),
                id_of(&ns6),
                with(
                    lesson_data(role, 6, start + 500),
                    json!({"noShow": "student", "by": a(t.address), "tutorFee": "9000000",
                           "refund": "11000000"})
                )
            )
        );
        assert_eq!(
            get(&id_of(&ns7)),
            (
                "booking_no_show".to_owned(),
                id_of(&ns7),
                with(
                    lesson_data(role, 7, start + 600),
                    json!({"noShow": "tutor", "by": a(s.address), "sessionId": "12"})
                )
            )
        );
        assert_eq!(
            get(&id_of(&ee9)),
            (
                "booking_tutor_ended_early".to_owned(),
                id_of(&ee9),
                with(
                    lesson_data(role, 9, start + 700),
                    json!({"by": a(s.address), "sessionId": "13", "held": 42})
                )
            )
        );
        assert_eq!(rest.last().unwrap().1, id_of(&a8));
    }
    // The API serves the early end as the booking's state, with the seconds held.
    let listed = w
        .ok(&ix, &format!("/v1/bookings?address={}", a(s.address)))
        .await;
    let nine = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "9")
        .unwrap();
    assert_eq!(
        (&nine["state"], &nine["held"], &nine["sessionId"]),
        (&json!("tutor_ended_early"), &json!(42), &json!("13"))
    );
    let ended = &nine["changes"][2];
    assert_eq!(
        (&ended["state"], &ended["block"], &ended["by"]),
        (
            &json!("tutor_ended_early"),
            &json!(ee9.block_number.unwrap()),
            &json!(a(s.address))
        )
    );

    // 1,801 s before the start: nothing; 1,800 s: the 30-minute reminder, to both.
    let head = w.admin.get_block_number().await.unwrap();
    clock.store(start as i64 - 1_801, SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    clock.store(start as i64 - 1_800, SeqCst);
    let r30_id = format!("{}:reminder:0:1:30", head + 1);
    let reminder = |role: &str, id: &str, minutes: u64, left: u64| {
        (
            "booking_reminder".to_owned(),
            id.to_owned(),
            with(
                lesson_data(role, 1, start),
                json!({"minutes": minutes, "startsInSeconds": left, "funded": true}),
            ),
        )
    };
    assert_eq!(ss.next().await, reminder("student", &r30_id, 30, 1_800));
    assert_eq!(ts.next().await, reminder("tutor", &r30_id, 30, 1_800));
    // Delivered and its cursor stored (nothing in flight at the shutdown).
    let reminder_at = |k: i64| Some((head as i64 + 1, -(1i64 << 40) + k));
    h.delivered(&ix, reminder_at(0)).await;
    drop((ss, ts));
    ix.shutdown().await.unwrap();

    // The 5-minute mark passes while the indexer is down; the lesson has not started at
    // the restart: the reminder is sent then, once (200 s before the start).
    clock.store(start as i64 - 200, SeqCst);
    let ix = h.indexer(&w, &db.url()).await;
    let r5_id = format!("{}:reminder:1:1:5", head + 1);
    let mut again = SseClient::connect(&w, &ix, t.address, Some(&r30_id)).await;
    assert_eq!(again.next().await, reminder("tutor", &r5_id, 5, 200));
    h.delivered(&ix, reminder_at(1)).await;
    // From booking 8's accept: both reminders, with the ids they were sent with, and
    // nothing else (keep-alive comments only).
    let mut replay = SseClient::connect(&w, &ix, s.address, Some(&id_of(&a8))).await;
    assert_eq!(replay.next().await, reminder("student", &r30_id, 30, 1_800));
    assert_eq!(replay.next().await, reminder("student", &r5_id, 5, 200));
    while replay.comments < 2 {
        if let Some(f) = replay.frame().await {
            panic!("nothing after the reminders, not {f:?}");
        }
    }
    drop((again, replay));
    ix.shutdown().await.unwrap();

    // A third start, closer to the lesson, then after its start: nothing fires again.
    clock.store(start as i64 - 10, SeqCst);
    let ix = h.indexer(&w, &db.url()).await;
    clock.store(start as i64 + 1, SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fired: Vec<(i64, i64)> =
        sqlx::query_as("SELECT booking_id, minutes FROM booking_reminder ORDER BY log_index")
            .fetch_all(ix.store.pool())
            .await
            .unwrap();
    assert_eq!(fired, [(1, 30), (1, 5)]);
    // The tutor's webhook got exactly what its stream sent, each once, in order.
    let mut replay = SseClient::connect(&w, &ix, t.address, Some("0:0")).await;
    let mut sent = vec![];
    for _ in 0..27 {
        sent.push(replay.next().await);
    }
    assert_eq!(sent[25].1, r30_id);
    assert_eq!(sent[26].1, r5_id);
    let delivered = h.answered();
    assert_eq!(
        delivered,
        sent.iter()
            .map(|e| (e.1.clone(), e.2.clone()))
            .collect::<Vec<_>>()
    );
    drop(replay);
    ix.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_notifications_and_reminders_exactly_once_on_sqlite() {
    booking_notifications_and_reminders_exactly_once(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_notifications_and_reminders_exactly_once_on_postgres() {
    booking_notifications_and_reminders_exactly_once(true).await;
}

/// A series funded lesson by lesson (`requestSeries` with a fundLead of 3 days; lessons a
/// week apart): lesson 10, within the lead, holds its deposit; 11, 12 and 13 are booked
/// without it (`BookingFundingDue`, fundBy = start − 3 days). 11 is funded
/// (`booking_funded` to both parties; funded, fundBy null); 12's funding is dropped by a
/// reorganisation (unfunded again), so 12 gets `booking_funding_reminder` 24 h and 1 h
/// before its fundBy, to the student only (the second while the indexer was down, sent at
/// the restart), each once, then its 30-minute lesson reminder with `funded: false`; 13
/// lapses (expired, refund 0) and gets nothing. `/v1/bookings`, the calendar's description
/// and the student's webhook, exact.
#[allow(clippy::too_many_lines)]
async fn lessons_funded_one_by_one(postgres: bool) {
    use std::sync::atomic::Ordering::SeqCst;
    let test = "lessons_funded_one_by_one";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::with_booking(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    let h = Hooked::start("student", "whsec-the-students-secret", s.address).await;
    let clock = &h.clock;
    const WEEK: u64 = 604_800;
    const LEAD: u64 = 259_200;
    let now = w.head_time().await;
    let start = |k: u64| now + 100_000 + k * WEEK;
    let fund_by = |k: u64| start(k) - LEAD;
    clock.store(fund_by(1) as i64 - 100_000, SeqCst);
    let ix = h.indexer(&w, &db.url()).await;
    h.started(&ix).await;
    let mut ss = SseClient::connect(&w, &ix, s.address, None).await;
    let mut ts = SseClient::connect(&w, &ix, t.address, None).await;

    let b = |p: &Party| w.booking(&p.p);
    let n = |v: u64| U256::from(v);
    let id_of = |r: &minuto_chain::alloy::rpc::types::TransactionReceipt, k: usize| {
        let log = &r.inner.logs()[k];
        format!("{}:{}", log.block_number.unwrap(), log.log_index.unwrap())
    };
    let block_ts = |r: &minuto_chain::alloy::rpc::types::TransactionReceipt| {
        let w = &w;
        let block = r.block_number.unwrap();
        async move {
            w.admin
                .get_block(block.into())
                .await
                .unwrap()
                .unwrap()
                .header
                .timestamp
        }
    };
    // Logs: 10 requested, 11 requested + due, 12 requested + due, 13 requested + due,
    // the series.
    let series = send!(b(&s).requestSeriesFundedLater(
        lesson(10, t.address, w.token_a, start(0)),
        4,
        WEEK as u32,
        LEAD
    ));
    assert_eq!(series.inner.logs().len(), 8);
    send!(b(&t).accept(n(11)));
    send!(b(&t).accept(n(12)));
    let funded11 = send!(b(&s).fund(n(11), n(20_000_000)));
    w.synced(&ix).await;

    let lesson_data = |role: &str, id: u64, at: u64| {
        json!({"booking": id.to_string(), "role": role, "student": a(s.address),
               "tutor": a(t.address), "token": a(w.token_a), "start": at, "duration": 1_800})
    };
    let with = |mut v: Value, extra: Value| {
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    for (role, stream) in [("student", &mut ss), ("tutor", &mut ts)] {
        let mut got = vec![];
        for _ in 0..7 {
            got.push(stream.next().await);
        }
        let requested = |id: u64, k: u64, fund_by: Value| {
            with(
                lesson_data(role, id, start(k)),
                json!({"rate": rate().to_string(), "deposit": "20000000", "credentialKind": 0,
                       "answerDeadline": start(0) - 7_200,
                       "policy": {"freeNotice": 3_600, "lateCancelFeeBps": 2_000,
                                  "noShowFeeBps": 5_000},
                       "seriesFirstId": "10", "fundBy": fund_by}),
            )
        };
        assert_eq!(
            got[..2],
            [
                (
                    "booking_requested".to_owned(),
                    id_of(&series, 0),
                    requested(10, 0, Value::Null)
                ),
                (
                    "booking_requested".to_owned(),
                    id_of(&series, 1),
                    requested(11, 1, json!(fund_by(1)))
                ),
            ]
        );
        assert_eq!(got[3].2, requested(13, 3, json!(fund_by(3))));
        assert_eq!(
            got[6],
            (
                "booking_funded".to_owned(),
                id_of(&funded11, 0),
                with(
                    lesson_data(role, 11, start(1)),
                    json!({"amount": "20000000"})
                )
            )
        );
    }
    drop((ss, ts));

    let bookings = || {
        let (w, ix) = (&w, &ix);
        async move {
            let v = w
                .ok(ix, &format!("/v1/bookings?address={}", a(s.address)))
                .await;
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    (
                        b["id"].as_str().unwrap().to_owned(),
                        (
                            b["state"].clone(),
                            b["fundBy"].clone(),
                            b["funded"].clone(),
                            b["fundedAt"].clone(),
                            b["refund"].clone(),
                        ),
                    )
                })
                .collect::<std::collections::BTreeMap<_, _>>()
        }
    };
    let row = |state: &str, fund_by: Value, funded: bool, at: Value, refund: Value| {
        (json!(state), fund_by, json!(funded), at, refund)
    };
    let funded11_at = block_ts(&funded11).await;
    let eleven = row(
        "accepted",
        Value::Null,
        true,
        json!(funded11_at),
        Value::Null,
    );
    let twelve = row(
        "accepted",
        json!(fund_by(2)),
        false,
        Value::Null,
        Value::Null,
    );
    let thirteen = row(
        "requested",
        json!(fund_by(3)),
        false,
        Value::Null,
        Value::Null,
    );
    let ten = row("requested", Value::Null, true, Value::Null, Value::Null);
    let all = bookings().await;
    assert_eq!(all["10"], ten);
    assert_eq!(all["11"], eleven);
    assert_eq!(all["12"], twelve);
    assert_eq!(all["13"], thirteen);

    // 12 funded, then that block replaced by a reorganisation: unfunded again.
    let snap: Value = w
        .admin
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    let funded12 = send!(b(&s).fund(n(12), n(20_000_000)));
    w.synced(&ix).await;
    assert_eq!(
        bookings().await["12"],
        row(
            "accepted",
            Value::Null,
            true,
            json!(block_ts(&funded12).await),
            Value::Null
        )
    );
    let _: Value = w
        .admin
        .raw_request("evm_revert".into(), [snap])
        .await
        .unwrap();
    let _: Value = w.admin.raw_request("anvil_mine".into(), [3]).await.unwrap();
    w.synced(&ix).await;
    assert!(ix.status.borrow().progress.reorgs >= 1);
    assert_eq!(bookings().await["12"], twelve);
    // 13 not funded by its fundBy: expired for nothing.
    let expired13 = send!(b(&s).expire(n(13), n(0)));
    w.synced(&ix).await;
    let all = bookings().await;
    assert_eq!(
        all["13"],
        row("expired", json!(fund_by(3)), false, Value::Null, json!("0"))
    );
    assert_eq!(
        (&all["10"], &all["11"], &all["12"]),
        (&ten, &eleven, &twelve)
    );
    let funded_rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM booking_funding WHERE kind = 'funded'")
            .fetch_one(ix.store.pool())
            .await
            .unwrap();
    assert_eq!(funded_rows, 1);

    // The calendar: 11 funded (its funding one more change), 12 due by its fundBy.
    let feed = w
        .http
        .get(format!(
            "http://{}/v1/calendar/{}.ics",
            ix.local_addr,
            a(s.address)
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = vevents(&feed);
    let uid = |id: u64| format!("booking-{id}@{}.31337.minuto", a(w.booking));
    let event = |id: u64| events.iter().find(|e| e["UID"] == uid(id)).unwrap();
    let price = format!("price: 18000000 base units of {}", a(w.token_a));
    assert_eq!(
        (
            event(11)["DESCRIPTION"].as_str(),
            event(11)["SEQUENCE"].as_str()
        ),
        (
            format!(
                "Booking 11\\; state: accepted\\; you are the student\\; {price}\\; deposit funded"
            )
            .as_str(),
            "2"
        )
    );
    assert_eq!(event(11)["DTSTAMP"], ical_time(funded11_at));
    assert_eq!(
        event(12)["DESCRIPTION"],
        format!(
            "Booking 12\\; state: accepted\\; you are the student\\; {price}\\; \
             deposit not funded: due by {}",
            chrono::DateTime::from_timestamp(fund_by(2) as i64, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
        )
    );

    // Funding reminders. 11's times pass while it is funded: nothing.
    let head = w.admin.get_block_number().await.unwrap();
    let fired = |ix: &Handle| {
        let store = ix.store.clone();
        async move {
            sqlx::query_as::<_, (i64, String, i64)>(
                "SELECT booking_id, kind, minutes FROM booking_reminder ORDER BY log_index",
            )
            .fetch_all(store.pool())
            .await
            .unwrap()
        }
    };
    clock.store(fund_by(1) as i64 - 3_600, SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fired(&ix).await, []);
    // 24 h before 12's fundBy: to the student.
    clock.store(fund_by(2) as i64 - 86_400, SeqCst);
    let last_chain = id_of(&expired13, 0);
    let mut ss = SseClient::connect(&w, &ix, s.address, Some(&last_chain)).await;
    let funding = |id: &str, minutes: u64, left: u64| {
        (
            "booking_funding_reminder".to_owned(),
            id.to_owned(),
            with(
                lesson_data("student", 12, start(2)),
                json!({"minutes": minutes, "fundBy": fund_by(2), "dueInSeconds": left,
                       "deposit": "20000000"}),
            ),
        )
    };
    let f24 = format!("{}:reminder:0:12:funding:1440", head + 1);
    assert_eq!(ss.next().await, funding(&f24, 1_440, 86_400));
    let reminder_at = |k: i64| Some((head as i64 + 1, -(1i64 << 40) + k));
    h.delivered(&ix, reminder_at(0)).await;
    drop(ss);
    ix.shutdown().await.unwrap();

    // The 1-hour mark passes while the indexer is down: sent at the restart, once.
    clock.store(fund_by(2) as i64 - 1_000, SeqCst);
    let ix = h.indexer(&w, &db.url()).await;
    let f1 = format!("{}:reminder:1:12:funding:60", head + 1);
    let mut ss = SseClient::connect(&w, &ix, s.address, Some(&f24)).await;
    assert_eq!(ss.next().await, funding(&f1, 60, 1_000));
    h.delivered(&ix, reminder_at(1)).await;
    // 12 still unfunded at T-30: its lesson reminder says so, to both.
    clock.store(start(2) as i64 - 1_800, SeqCst);
    let mut ts = SseClient::connect(&w, &ix, t.address, Some(&last_chain)).await;
    let r30 = format!("{}:reminder:2:12:30", head + 1);
    let lesson_reminder = |role: &str| {
        (
            "booking_reminder".to_owned(),
            r30.clone(),
            with(
                lesson_data(role, 12, start(2)),
                json!({"minutes": 30, "startsInSeconds": 1_800, "funded": false}),
            ),
        )
    };
    assert_eq!(ss.next().await, lesson_reminder("student"));
    assert_eq!(ts.next().await, lesson_reminder("tutor"));
    h.delivered(&ix, reminder_at(2)).await;
    drop((ss, ts));
    ix.shutdown().await.unwrap();

    // Restarted within 13's last hour (it expired) and after 12's start: nothing more.
    clock.store(fund_by(3) as i64 - 3_600, SeqCst);
    let ix = h.indexer(&w, &db.url()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let l = |k: &str, m: i64| (12, k.to_owned(), m);
    assert_eq!(
        fired(&ix).await,
        [l("funding", 1_440), l("funding", 60), l("lesson", 30)]
    );
    // Each party's whole stream, and the student's webhook got exactly its stream.
    let whole = |who: Address, count: usize| {
        let (w, ix) = (&w, &ix);
        async move {
            let mut replay = SseClient::connect(w, ix, who, Some("0:0")).await;
            let mut sent = vec![];
            for _ in 0..count {
                sent.push(replay.next().await);
            }
            while replay.comments < 2 {
                if let Some(f) = replay.frame().await {
                    panic!("nothing more, not {f:?}");
                }
            }
            sent
        }
    };
    let names = |v: &[Sent]| v.iter().map(|e| e.0.clone()).collect::<Vec<_>>();
    let chain = [
        "booking_requested",
        "booking_requested",
        "booking_requested",
        "booking_requested",
        "booking_accepted",
        "booking_accepted",
        "booking_funded",
        "booking_expired",
    ];
    let tutor = whole(t.address, 9).await;
    assert_eq!(names(&tutor), [&chain[..], &["booking_reminder"]].concat());
    assert_eq!(
        tutor[7].2,
        with(
            lesson_data("tutor", 13, start(3)),
            json!({"by": a(s.address), "refund": "0"})
        )
    );
    let student = whole(s.address, 11).await;
    assert_eq!(
        names(&student),
        [
            &chain[..],
            &[
                "booking_funding_reminder",
                "booking_funding_reminder",
                "booking_reminder"
            ]
        ]
        .concat()
    );
    assert_eq!(
        student[8..].iter().map(|e| e.1.clone()).collect::<Vec<_>>(),
        [f24, f1, r30]
    );
    // (12's `booking_funded` may have been delivered before the reorganisation dropped
    // it: a webhook, like a stream, had sent it.)
    let dropped = id_of(&funded12, 0);
    let delivered: Vec<(String, Value)> = h
        .answered()
        .into_iter()
        .filter(|(id, _)| *id != dropped)
        .collect();
    assert_eq!(
        delivered,
        student
            .iter()
            .map(|e| (e.1.clone(), e.2.clone()))
            .collect::<Vec<_>>()
    );
    ix.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_funded_one_by_one_on_sqlite() {
    lessons_funded_one_by_one(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_funded_one_by_one_on_postgres() {
    lessons_funded_one_by_one(true).await;
}

/// A student's favourite tutors: tutor 1 booked twice (one joined, one accepted then
/// cancelled: both count), now publishing half the rate and a policy; tutor 3 met in two
/// escrow sessions, publishing no rate; tutor 2 met in one session (a request to it was
/// never answered: it does not count), publishing twice that session's rate. The order
/// (lessons, then the latest), the counts, each `rebook`, and `/v1/rebook`'s calldata
/// decoded back to its exact arguments; every refusal.
#[allow(clippy::too_many_lines)]
async fn favourite_tutors_and_rebook(postgres: bool) {
    use minuto_chain::alloy::sol_types::SolCall;
    use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
    let test = "favourite_tutors_and_rebook";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::with_booking(test).await else {
        return;
    };
    let (s, t1, t2, t3) = (
        w.party().await,
        w.party().await,
        w.party().await,
        w.party().await,
    );
    let clock = std::sync::Arc::new(AtomicI64::new(0));
    let ix = w.indexer_with(&db.url(), clocked(&clock)).await;
    let b = |p: &Party| w.booking(&p.p);
    let ledger = |p: &DynProvider| ILedger::new(w.escrow, p.clone());
    let n = |v: u64| U256::from(v);
    let key = Address::repeat_byte(0x0c);
    let now = w.head_time().await;
    let t0 = now + 1_000;
    let l = (now / 3_600 + 48) * 3_600;

    // Tutor 1: lesson 1 joined, lesson 2 (3,600 s) accepted then cancelled.
    send!(b(&s).request(lesson(1, t1.address, w.token_a, l)));
    send!(b(&t1).accept(n(1)));
    send!(b(&s).join(n(1), n(1_000), n(18_000_000), n(2_000_000)));
    let mut two = lesson(2, t1.address, w.token_a, l + 86_400);
    two.duration = 3_600;
    two.deposit = n(36_000_000);
    send!(b(&s).request(two));
    send!(b(&t1).accept(n(2)));
    send!(b(&s).cancel(n(2), n(0), n(36_000_000)));
    send!(b(&t1).setRate(w.token_a, rate() / n(2)));
    send!(b(&t1).setPolicy(7_200, 1_000, 3_000));
    // Tutor 2: a request never answered; one session in token B at half the rate, 600 s.
    send!(b(&s).request(lesson(3, t2.address, w.token_a, l + 3_600)));
    let half = rate() / n(2);
    w.at(t0).await;
    send!(ledger(&s.p).open(t2.address, w.token_b, half, n(50_000_000), key, 0));
    w.at(t0 + 10).await;
    send!(ledger(&t2.p).start(n(1), key));
    w.at(t0 + 610).await;
    send!(ledger(&s.p).stop(n(1)));
    send!(b(&t2).setRate(w.token_b, rate()));
    // Tutor 3: two sessions (one still running), no rate published (a rate set to 0).
    w.at(t0 + 700).await;
    send!(ledger(&s.p).open(t3.address, w.token_a, rate(), n(50_000_000), key, 0));
    w.at(t0 + 710).await;
    send!(ledger(&t3.p).start(n(2), key));
    w.at(t0 + 800).await;
    send!(ledger(&s.p).stop(n(2)));
    w.at(t0 + 900).await;
    send!(ledger(&s.p).open(t3.address, w.token_a, rate(), n(50_000_000), key, 0));
    w.at(t0 + 910).await;
    send!(ledger(&t3.p).start(n(3), key));
    send!(b(&t3).setRate(w.token_a, rate()));
    send!(b(&t3).setRate(w.token_a, n(0)));
    w.synced(&ix).await;

    let favs = w
        .ok(
            &ix,
            &format!("/v1/students/{}/favourite-tutors", a(s.address)),
        )
        .await;
    assert_eq!(
        favs,
        json!({"student": a(s.address), "tutors": [
            {"tutor": a(t1.address), "lessons": 2, "bookings": 2, "sessions": 0,
             "lastLessonAt": l + 86_400,
             "rebook": {"tutor": a(t1.address), "token": a(w.token_a), "duration": 3_600,
                        "rate": (rate() / n(2)).to_string(), "deposit": "18000000",
                        "credentialKind": 0, "maxFreeNotice": 7_200,
                        "maxLateCancelFeeBps": 1_000, "maxNoShowFeeBps": 3_000}},
            {"tutor": a(t3.address), "lessons": 2, "bookings": 0, "sessions": 2,
             "lastLessonAt": t0 + 910, "rebook": null, "rebookUnavailable": "no_rate"},
            {"tutor": a(t2.address), "lessons": 1, "bookings": 0, "sessions": 1,
             "lastLessonAt": t0 + 10,
             "rebook": {"tutor": a(t2.address), "token": a(w.token_b), "duration": 600,
                        "rate": half.to_string(), "deposit": "3000000",
                        "credentialKind": 0, "maxFreeNotice": 0,
                        "maxLateCancelFeeBps": 0, "maxNoShowFeeBps": 0}},
        ]})
    );

    // One call to book tutor 1 again, the calldata decoded back.
    clock.store(l as i64, SeqCst);
    let (start, deadline) = (l + 7 * 86_400, l + 6 * 86_400);
    let call = w
        .ok(
            &ix,
            &format!(
                "/v1/rebook?student={}&tutor={}&start={start}&answerDeadline={deadline}",
                a(s.address),
                a(t1.address)
            ),
        )
        .await;
    assert_eq!(call["to"], a(w.booking));
    assert_eq!(
        call["args"],
        json!({"tutor": a(t1.address), "token": a(w.token_a), "start": start,
               "duration": 3_600, "rate": (rate() / n(2)).to_string(), "deposit": "18000000",
               "credentialKind": 0, "answerDeadline": deadline, "maxFreeNotice": 7_200,
               "maxLateCancelFeeBps": 1_000, "maxNoShowFeeBps": 3_000})
    );
    let data = hex::decode(call["data"].as_str().unwrap().strip_prefix("0x").unwrap()).unwrap();
    assert_eq!(
        data[..4],
        minuto_chain::bindings::IBooking::requestCall::SELECTOR
    );
    let decoded = minuto_chain::bindings::IBooking::requestCall::abi_decode(&data).unwrap();
    assert_eq!(
        (
            decoded.tutor,
            decoded.token,
            decoded.start,
            decoded.duration,
            decoded.rate,
            decoded.deposit,
            decoded.credential_kind,
            decoded.answer_deadline,
            decoded.max_free_notice,
            decoded.max_late_cancel_fee_bps,
            decoded.max_no_show_fee_bps,
        ),
        (
            t1.address,
            w.token_a,
            start,
            3_600,
            rate() / n(2),
            n(18_000_000),
            0,
            deadline,
            7_200,
            1_000,
            3_000
        )
    );
    // A larger deposit, to tutor 2 (the session's token, duration and rate).
    let call = w
        .ok(
            &ix,
            &format!(
                "/v1/rebook?student={}&tutor={}&start={start}&answerDeadline={deadline}&deposit=5000000",
                a(s.address),
                a(t2.address)
            ),
        )
        .await;
    let decoded = minuto_chain::bindings::IBooking::requestCall::abi_decode(
        &hex::decode(call["data"].as_str().unwrap().strip_prefix("0x").unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            decoded.tutor,
            decoded.token,
            decoded.duration,
            decoded.rate,
            decoded.deposit
        ),
        (t2.address, w.token_b, 600, half, n(5_000_000))
    );

    let q = |tutor: Address, start: u64, deadline: u64, extra: &str| {
        format!(
            "/v1/rebook?student={}&tutor={}&start={start}&answerDeadline={deadline}{extra}",
            a(s.address),
            a(tutor)
        )
    };
    for (path, code) in [
        (q(t1.address, l, l - 10, ""), "start_in_past"),
        (q(t1.address, start, start, ""), "invalid_answer_deadline"),
        (q(t1.address, start, l - 1, ""), "invalid_answer_deadline"),
        (q(t3.address, start, deadline, ""), "no_rate"),
        (
            q(Address::repeat_byte(7), start, deadline, ""),
            "unknown_pair",
        ),
        (
            q(t1.address, start, deadline, "&deposit=17999999"),
            "deposit_too_low",
        ),
        (
            q(t1.address, start, deadline, "&deposit=lots"),
            "invalid_parameter",
        ),
        (
            format!(
                "/v1/rebook?student={}&tutor={}",
                a(s.address),
                a(t1.address)
            ),
            "missing_parameter",
        ),
        (
            format!(
                "/v1/rebook?student={}&tutor={}&start=soon&answerDeadline=1",
                a(s.address),
                a(t1.address)
            ),
            "invalid_parameter",
        ),
        (
            format!(
                "/v1/rebook?student=0x12&tutor={}&start=1&answerDeadline=1",
                a(t1.address)
            ),
            "invalid_address",
        ),
    ] {
        let (status, body) = w.get(&ix, &path).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(code)),
            "{path}: {body}"
        );
    }
    let (status, body) = w.get(&ix, "/v1/students/0x12/favourite-tutors").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_address"))
    );
    ix.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn favourite_tutors_and_rebook_on_sqlite() {
    favourite_tutors_and_rebook(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn favourite_tutors_and_rebook_on_postgres() {
    favourite_tutors_and_rebook(true).await;
}

/// `19700101T000000Z` of unix seconds.
fn ical_time(ts: u64) -> String {
    chrono::DateTime::from_timestamp(ts as i64, 0)
        .unwrap()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The VEVENTs of an iCalendar body, each as its properties (name with parameters →
/// value), after checking RFC 5545's framing: every line ends with CRLF, none is longer
/// than 75 octets, and folded lines (CRLF + space) are unfolded.
fn vevents(body: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    assert!(body.ends_with("\r\n"));
    for line in body.split("\r\n") {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare LF/CR: {line:?}"
        );
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    let unfolded = body.replace("\r\n ", "");
    let mut out = vec![];
    let mut current: Option<std::collections::BTreeMap<String, String>> = None;
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        match line {
            "BEGIN:VEVENT" => current = Some(Default::default()),
            "END:VEVENT" => out.push(current.take().unwrap()),
            _ => {
                if let Some(props) = current.as_mut() {
                    let (k, v) = line.split_once(':').unwrap();
                    assert!(
                        props.insert(k.to_owned(), v.to_owned()).is_none(),
                        "{k} twice"
                    );
                }
            }
        }
    }
    out
}

/// The iCalendar feed of a student and its tutor: a requested lesson (TENTATIVE), an
/// accepted one (CONFIRMED), one accepted then cancelled (kept, CANCELLED, SEQUENCE 2),
/// one joined 10 days ago (CONFIRMED), one 32 days ago (left out); parsed back from the
/// bytes served (CRLF, 75-octet folding, escaped text) and checked property by property.
#[allow(clippy::too_many_lines)]
async fn the_calendar_feed_lists_bookings_as_rfc5545_events(postgres: bool) {
    use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
    let test = "the_calendar_feed_lists_bookings_as_rfc5545_events";
    let Some(db) = Db::new(postgres, test).await else {
        return;
    };
    let Some(w) = World::with_booking(test).await else {
        return;
    };
    let (s, t) = (w.party().await, w.party().await);
    let clock = std::sync::Arc::new(AtomicI64::new(0));
    let ix = w.indexer_with(&db.url(), clocked(&clock)).await;
    let b = |p: &Party| w.booking(&p.p);
    let n = |v: u64| U256::from(v);
    let now = w.head_time().await;
    let t0 = now + 1_000;
    let l = (now / 3_600 + 48) * 3_600;
    let day = 86_400;
    w.at(t0).await;
    send!(b(&s).request(lesson(1, t.address, w.token_a, l)));
    w.at(t0 + 1).await;
    send!(b(&s).request(lesson(2, t.address, w.token_a, l + 3_600)));
    w.at(t0 + 2).await;
    send!(b(&t).accept(n(2)));
    w.at(t0 + 3).await;
    send!(b(&s).request(lesson(3, t.address, w.token_a, l + 7_200)));
    w.at(t0 + 4).await;
    send!(b(&t).accept(n(3)));
    w.at(t0 + 5).await;
    send!(b(&s).cancel(n(3), n(0), n(20_000_000)));
    w.at(t0 + 6).await;
    send!(b(&s).request(lesson(4, t.address, w.token_a, l - 10 * day)));
    w.at(t0 + 7).await;
    send!(b(&t).accept(n(4)));
    w.at(t0 + 8).await;
    send!(b(&s).join(n(4), n(3), n(18_000_000), n(2_000_000)));
    w.at(t0 + 9).await;
    send!(b(&s).request(lesson(5, t.address, w.token_a, l - 32 * day)));
    w.synced(&ix).await;
    clock.store(l as i64, SeqCst);

    for (who, other, role, with) in [
        (s.address, t.address, "student", "tutor"),
        (t.address, s.address, "tutor", "student"),
    ] {
        let r = w
            .http
            .get(format!(
                "http://{}/v1/calendar/{}.ics",
                ix.local_addr,
                a(who)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
        let body = r.text().await.unwrap();
        assert!(body.starts_with("BEGIN:VCALENDAR\r\n"), "{body}");
        assert!(body.ends_with("END:VCALENDAR\r\n"));
        assert!(body.contains("\r\nVERSION:2.0\r\n"));
        assert!(body.contains("\r\nPRODID:-//Minuto//minuto-indexer//EN\r\n"));
        // The summary names the other party: 75 octets for the tutor's feed, 77 for the
        // student's, folded once there.
        let summary = format!("SUMMARY:Minuto lesson with {with} {}", a(other));
        if summary.len() > 75 {
            assert!(body.contains(&format!("{}\r\n {}", &summary[..75], &summary[75..])));
        }
        let event = |id: u64, start: u64, stamp: u64, status: &str, seq: u32, state: &str| {
            let mut e = std::collections::BTreeMap::new();
            let mut put = |k: &str, v: String| {
                e.insert(k.to_owned(), v);
            };
            put(
                "UID",
                format!("booking-{id}@{}.{CHAIN_ID}.minuto", a(w.booking)),
            );
            put("DTSTAMP", ical_time(stamp));
            put("DTSTART", ical_time(start));
            put("DTEND", ical_time(start + 1_800));
            put("SUMMARY", format!("Minuto lesson with {with} {}", a(other)));
            put(
                "DESCRIPTION",
                format!(
                    "Booking {id}\\; state: {state}\\; you are the {role}\\; price: 18000000 \
                     base units of {}",
                    a(w.token_a)
                ),
            );
            put("STATUS", status.to_owned());
            put("SEQUENCE", seq.to_string());
            e
        };
        assert_eq!(
            vevents(&body),
            [
                event(4, l - 10 * day, t0 + 8, "CONFIRMED", 2, "joined"),
                event(1, l, t0, "TENTATIVE", 0, "requested"),
                event(2, l + 3_600, t0 + 2, "CONFIRMED", 1, "accepted"),
                event(3, l + 7_200, t0 + 5, "CANCELLED", 2, "cancelled"),
            ]
        );
    }
    let (status, body) = w.get(&ix, "/v1/calendar/0x12.ics").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_address"))
    );
    ix.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_feed_lists_bookings_as_rfc5545_events_on_sqlite() {
    the_calendar_feed_lists_bookings_as_rfc5545_events(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_feed_lists_bookings_as_rfc5545_events_on_postgres() {
    the_calendar_feed_lists_bookings_as_rfc5545_events(true).await;
}

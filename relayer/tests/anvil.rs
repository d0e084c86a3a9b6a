//! Integration tests against a real local node: anvil from the npm registry
//! (`npm ci` at the repository root installs it), running the Solidity test double of
//! the escrow's relayer-facing ABI (tests/fixtures/EscrowDouble.sol, committed bytecode).
//!
//! The anvil binary is found and started by `minuto-anvil` (`ANVIL_BIN`, else
//! `node_modules`). Without it the tests fail when `CI` is set and are skipped loudly
//! otherwise.

mod support;

use std::path::Path;
use std::time::Duration;

use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use minuto_relayer::chain::{Chain, SentStop, StopOutcome};
use minuto_relayer::clock::Clock;
use minuto_relayer::config::{parse_private_key, Config};
use minuto_relayer::heartbeat::{HeartbeatDomain, Role};
use minuto_relayer::Handle;
use serde_json::{json, Value};
use support::chain::*;

impl Relayer for Handle {
    fn api_addr(&self) -> std::net::SocketAddr {
        self.local_addr
    }
}

fn config(node: &Node, escrow: Address, cursor: &Path) -> Config {
    let mut c = Config::with_defaults(
        node.url.clone(),
        escrow,
        CHAIN_ID,
        parse_private_key(RELAYER_KEY).unwrap(),
    );
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.cursor_file = cursor.to_path_buf();
    c.confirmations = 0;
    c.poll_interval = Duration::from_millis(200);
    c.ping_interval = Duration::from_secs(1);
    c.silence_timeout = Duration::from_secs(3);
    c.grace_period = Duration::from_secs(4);
    c.tx.receipt_poll_interval = Duration::from_millis(200);
    c
}

/// A relayer spawned with `cfg`, once it has caught up with the chain.
async fn synced(cfg: Config) -> Handle {
    let mut h = minuto_relayer::spawn(cfg).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), h.wait_synced())
        .await
        .unwrap();
    h
}

/// A party's app for deployment `d`.
fn app(d: &Deployment) -> Client {
    Client {
        http: reqwest::Client::new(),
        domain: HeartbeatDomain::new(CHAIN_ID, d.escrow),
    }
}

/// The student keeps pinging `h` (from `seq` on, once a second) until the relayer says
/// the session ended.
async fn student_pings_until_ended(client: &Client, h: &Handle, d: &Deployment, seq: u64) {
    for seq in seq..seq + 40 {
        let (s, v) = client.ping(h, &d.student_key, Role::Student, seq).await;
        if s == 409 {
            assert_eq!(v["error"], "session_ended", "{v}");
            return;
        }
        assert_eq!(s, 200, "{v}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("relayer never stopped the session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_tutor_is_stopped_on_chain_at_last_heartbeat() {
    let Some(bin) = anvil_or_skip("silent_tutor_is_stopped_on_chain_at_last_heartbeat") else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let dir = temp_dir("silent");
    let handle = synced(config(&node, d.escrow, &dir.join("cursor.json"))).await;
    let client = app(&d);
    for seq in 1..=3 {
        let (s, v) = client
            .ping(&handle, &d.student_key, Role::Student, seq)
            .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = client.ping(&handle, &d.tutor_key, Role::Tutor, seq).await;
        assert_eq!(s, 200, "{v}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The tutor drops. What the relayer recorded as their last heartbeat:
    let status: Value = reqwest::get(format!("http://{}/v1/sessions/1", handle.admin_addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tutor_last = status["last_seen"]["tutor"]["at"].as_u64().unwrap();
    assert_eq!(status["last_seen"]["tutor"]["seq"], 3);

    // The student keeps pinging until the relayer says the session ended.
    student_pings_until_ended(&client, &handle, &d, 4).await;
    let on_chain = ended_on_chain(&node, d.escrow, 1).await;
    assert_eq!(
        on_chain.end, tutor_last,
        "stopAt landed with the wrong `at`"
    );
    // The chain can show the stop before the submitter has polled its receipt.
    for _ in 0..50 {
        if handle.metrics.stops_confirmed.get() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(handle.metrics.stops_submitted.get(), 1);
    assert_eq!(handle.metrics.stops_confirmed.get(), 1);
    assert_eq!(handle.metrics.stops_failed.get(), 0);
    // The tutor is named to the escrow (`silent` 2).
    assert_eq!(stopped_for(&node, d.escrow, 1).await, 2);
    handle.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Both parties stop pinging at once (within one ping interval): the session is stopped
/// at the earlier last heartbeat, naming nobody (`silent` 0), so a booked student is not
/// billed a minimum and no early end is counted against the tutor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_silent_at_once_are_stopped_naming_nobody() {
    let Some(bin) = anvil_or_skip("both_silent_at_once_are_stopped_naming_nobody") else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let dir = temp_dir("both");
    let handle = synced(config(&node, d.escrow, &dir.join("cursor.json"))).await;
    let client = app(&d);
    // Both ping back to back each second, then both stop (a ping interval is 1 s).
    for seq in 1..=3 {
        let (student, tutor) = tokio::join!(
            client.ping(&handle, &d.student_key, Role::Student, seq),
            client.ping(&handle, &d.tutor_key, Role::Tutor, seq)
        );
        assert_eq!((student.0, tutor.0), (200, 200), "{student:?} {tutor:?}");
        if seq < 3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let student_last = last_seen(&handle, "student").await.unwrap();
    let tutor_last = last_seen(&handle, "tutor").await.unwrap();
    let mut on_chain = session(&node, d.escrow, 1).await;
    for _ in 0..100 {
        if on_chain.state == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        on_chain = session(&node, d.escrow, 1).await;
    }
    assert_eq!(on_chain.state, 3, "not stopped");
    // Dated at the earlier (the two may straddle a second boundary).
    assert_eq!(on_chain.end, student_last.min(tutor_last));
    assert_eq!(stopped_for(&node, d.escrow, 1).await, 0);
    handle.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_session_resumes_from_cursor_without_false_stop() {
    let Some(bin) = anvil_or_skip("restart_mid_session_resumes_from_cursor_without_false_stop")
    else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let dir = temp_dir("restart");
    let cursor = dir.join("cursor.json");
    let client = app(&d);

    let mut first = minuto_relayer::spawn(config(&node, d.escrow, &cursor))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), first.wait_synced())
        .await
        .unwrap();
    let mut seq = 0;
    for _ in 0..3 {
        seq += 1;
        assert_eq!(
            client
                .ping(&first, &d.student_key, Role::Student, seq)
                .await
                .0,
            200
        );
        assert_eq!(
            client.ping(&first, &d.tutor_key, Role::Tutor, seq).await.0,
            200
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    first.shutdown().await.unwrap();
    assert!(cursor.is_file(), "cursor saved at shutdown");

    // Down for longer than the silence timeout (3 s): clients' pings go nowhere.
    tokio::time::sleep(Duration::from_secs(4)).await;

    // The restart must resume from the cursor: with a start block far in the future, a
    // rescan would never see session 1.
    let mut c = config(&node, d.escrow, &cursor);
    c.start_block = 1_000_000;
    let second = minuto_relayer::spawn(c).await.unwrap();
    assert!(
        second.registry.status(U256::from(1)).is_some(),
        "session restored from the cursor file"
    );
    // Clients reconnect 2 s later and go on pinging well past grace + timeout.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for _ in 0..10 {
        seq += 1;
        let (s, v) = client
            .ping(&second, &d.student_key, Role::Student, seq)
            .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = client.ping(&second, &d.tutor_key, Role::Tutor, seq).await;
        assert_eq!(s, 200, "{v}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(session(&node, d.escrow, 1).await.state, 2, "false stop");
    assert_eq!(second.metrics.stops_submitted.get(), 0);
    second.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relayers_stop_once_and_the_loser_counts_it_as_done() {
    let Some(bin) = anvil_or_skip("two_relayers_stop_once_and_the_loser_counts_it_as_done") else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let dir = temp_dir("two");
    let mut relayers = Vec::new();
    for (i, key) in [RELAYER_KEY, SECOND_RELAYER_KEY].into_iter().enumerate() {
        let mut c = config(&node, d.escrow, &dir.join(format!("cursor-{i}.json")));
        c.key = Some(parse_private_key(key).unwrap());
        let h = synced(c).await;
        relayers.push(h);
    }
    let client = app(&d);
    // Clients send every heartbeat to both relayers; the student never shows up again
    // after seq 2.
    for seq in 1..=2 {
        for h in &relayers {
            assert_eq!(
                client.ping(h, &d.student_key, Role::Student, seq).await.0,
                200
            );
            assert_eq!(client.ping(h, &d.tutor_key, Role::Tutor, seq).await.0, 200);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let status: Value = reqwest::get(format!("http://{}/v1/sessions/1", relayers[0].admin_addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let student_last = status["last_seen"]["student"]["at"].as_u64().unwrap();
    for seq in 3..30 {
        let mut ended = 0;
        for h in &relayers {
            let (s, _) = client.ping(h, &d.tutor_key, Role::Tutor, seq).await;
            ended += usize::from(s == 409);
        }
        let done: u64 = relayers
            .iter()
            .map(|h| h.metrics.stops_confirmed.get() + h.metrics.stops_already_ended.get())
            .sum();
        if ended == 2 && done == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let confirmed: u64 = relayers
        .iter()
        .map(|h| h.metrics.stops_confirmed.get())
        .sum();
    let already: u64 = relayers
        .iter()
        .map(|h| h.metrics.stops_already_ended.get())
        .sum();
    let failed: u64 = relayers.iter().map(|h| h.metrics.stops_failed.get()).sum();
    assert_eq!((confirmed, already, failed), (1, 1, 0));
    let on_chain = session(&node, d.escrow, 1).await;
    assert_eq!(on_chain.state, 3);
    // Both relayers saw the student's last heartbeat within the same second or so; the
    // winner's view is on chain.
    assert!(
        on_chain.end.abs_diff(student_last) <= 1,
        "end {} vs last heartbeat {student_last}",
        on_chain.end
    );
    for h in relayers {
        h.shutdown().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_chain_stop_is_dated_at_the_silent_tutors_last_heartbeat() {
    let Some(bin) = anvil_or_skip("quiet_chain_stop_is_dated_at_the_silent_tutors_last_heartbeat")
    else {
        return;
    };
    // Blocks only on transactions: after the session starts, no block is mined until
    // the relayer's own stop, so the latest block predates every heartbeat.
    let node = start_anvil_with_block_time(&bin, 0).await;
    let d = deploy(&node).await;
    let start = session(&node, d.escrow, 1).await.start;
    let dir = temp_dir("quiet");
    let handle = synced(config(&node, d.escrow, &dir.join("cursor.json"))).await;
    let client = app(&d);
    // The lesson runs for about 6 s with both parties pinging every second.
    for seq in 1..=6 {
        round(&client, &d, &[&handle, &handle], seq).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let tutor_last = last_seen(&handle, "tutor").await.unwrap();
    assert!(
        tutor_last >= start + 5,
        "lesson too short: {start}..{tutor_last}"
    );
    student_pings_until_ended(&client, &handle, &d, 7).await;
    let on_chain = ended_on_chain(&node, d.escrow, 1).await;
    assert!(
        on_chain.end.abs_diff(tutor_last) <= 1,
        "stopAt dated {} (session start {start}), tutor last seen {tutor_last}",
        on_chain.end
    );
    // The tutor fell silent, and is named.
    assert_eq!(stopped_for(&node, d.escrow, 1).await, 2);
    assert_eq!(handle.metrics.stops_failed.get(), 0);
    handle.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// One second of a lesson: the student's heartbeat goes to the first relayer, the
/// tutor's to the second (behind a round-robin balancer), or both to one.
async fn round(client: &Client, d: &Deployment, relayers: &[&Handle; 2], seq: u64) {
    let (s, v) = client
        .ping(relayers[0], &d.student_key, Role::Student, seq)
        .await;
    assert_eq!(s, 200, "student via relayer 0: {v}");
    let (s, v) = client
        .ping(relayers[1], &d.tutor_key, Role::Tutor, seq)
        .await;
    assert_eq!(s, 200, "tutor via relayer 1: {v}");
}

/// What a relayer's admin endpoint says it last heard from `role` (Unix seconds).
async fn last_seen(h: &Handle, role: &str) -> Option<u64> {
    let status: Value = reqwest::get(format!("http://{}/v1/sessions/1", h.admin_addr))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    status["last_seen"][role]["at"].as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_redis_never_false_stop_and_a_survivor_stops_at_the_last_heartbeat() {
    let test =
        "instances_sharing_redis_never_false_stop_and_a_survivor_stops_at_the_last_heartbeat";
    let Some(bin) = anvil_or_skip(test) else {
        return;
    };
    let Some(redis_bin) = support::redis::or_skip(test) else {
        return;
    };
    let mut redis = support::redis::Redis::start(&redis_bin).await;
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let dir = temp_dir("shared");
    let mut relayers = Vec::new();
    for (i, key) in [RELAYER_KEY, SECOND_RELAYER_KEY].into_iter().enumerate() {
        let mut c = config(&node, d.escrow, &dir.join(format!("cursor-{i}.json")));
        c.key = Some(parse_private_key(key).unwrap());
        c.redis_url = Some(redis.url());
        let h = synced(c).await;
        relayers.push(h);
    }
    let client = app(&d);
    // A round-robin balancer in front: request k goes to relayer k mod 2. With the
    // student and the tutor each pinging once a second, every student heartbeat lands
    // on relayer 0 and every tutor heartbeat on relayer 1: alone, each would judge the
    // other party silent after the 4 s grace period.
    let mut seq = 0;
    for _ in 0..10 {
        seq += 1;
        round(&client, &d, &[&relayers[0], &relayers[1]], seq).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Redis dies and comes back empty (no persistence) in the middle of the lesson.
    redis.restart().await;
    for _ in 0..8 {
        seq += 1;
        round(&client, &d, &[&relayers[0], &relayers[1]], seq).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(session(&node, d.escrow, 1).await.state, 2, "false stop");
    for h in &relayers {
        assert_eq!(h.metrics.stops_submitted.get(), 0, "false stop decided");
        // Each judged the party it never hears silent, and the store said otherwise.
        assert!(h.metrics.stops_averted_by_store.get() > 0);
    }

    // The tutor's last heartbeats reach relayer 1 only, which then dies; relayer 0
    // never heard the tutor itself (it knows the tutor only through the store), and must
    // stop the session at that last heartbeat.
    for _ in 0..2 {
        seq += 1;
        round(&client, &d, &[&relayers[0], &relayers[1]], seq).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let tutor_last = last_seen(&relayers[1], "tutor").await.unwrap();
    let survivor = relayers.remove(0);
    relayers.pop().unwrap().shutdown().await.unwrap();
    student_pings_until_ended(&client, &survivor, &d, seq + 1).await;
    let on_chain = ended_on_chain(&node, d.escrow, 1).await;
    assert!(
        on_chain.end.abs_diff(tutor_last) <= 1,
        "stopped at {}, the tutor was last heard at {tutor_last}",
        on_chain.end
    );
    survivor.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_at_by_a_non_relayer_reverts_escrow_not_relayer() {
    let Some(bin) = anvil_or_skip("stop_at_by_a_non_relayer_reverts_escrow_not_relayer") else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let call = TransactionRequest::default()
        .from(STUDENT.parse().unwrap())
        .to(d.escrow)
        .input(
            Bytes::from(
                minuto_chain::bindings::ISessionEscrow::stopAtCall {
                    id: U256::from(1),
                    at: 0,
                    silent: 2,
                }
                .abi_encode(),
            )
            .into(),
        );
    let err = node.p.call(call).await.unwrap_err();
    let data = err.as_error_resp().and_then(|p| p.as_revert_data());
    // Like the escrow (abi/ISessionEscrow.sol), which the relayer's revert decoding reads.
    match minuto_relayer::evm::classify_revert(data.as_ref(), &err.to_string()) {
        minuto_relayer::submit::Precheck::Reverted(m) => assert!(
            m.starts_with(&format!(
                "EscrowNotRelayer(caller = {})",
                STUDENT.parse::<Address>().unwrap()
            )),
            "{m}"
        ),
        other => panic!("expected EscrowNotRelayer, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_replayed_to_another_instance_sharing_redis_is_refused() {
    let test = "heartbeat_replayed_to_another_instance_sharing_redis_is_refused";
    let Some(bin) = anvil_or_skip(test) else {
        return;
    };
    let Some(redis_bin) = support::redis::or_skip(test) else {
        return;
    };
    let redis = support::redis::Redis::start(&redis_bin).await;
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let dir = temp_dir("replay");
    let mut relayers = Vec::new();
    for (i, key) in [RELAYER_KEY, SECOND_RELAYER_KEY].into_iter().enumerate() {
        let mut c = config(&node, d.escrow, &dir.join(format!("cursor-{i}.json")));
        c.key = Some(parse_private_key(key).unwrap());
        c.redis_url = Some(redis.url());
        let h = synced(c).await;
        relayers.push(h);
    }
    let domain = HeartbeatDomain::new(CHAIN_ID, d.escrow);
    let http = reqwest::Client::new();
    let post = |h: &Handle, seq: u64, sent_at: u64| {
        let sig = domain.sign(&d.tutor_key, U256::from(1), Role::Tutor, seq, sent_at);
        let body = json!({
            "session": "1", "role": "tutor", "seq": seq, "sent_at": sent_at,
            "signature": format!("0x{}", alloy_primitives::hex::encode(sig)),
        });
        let req = http
            .post(format!("http://{}/v1/heartbeat", h.local_addr))
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let now = Clock::system().now_unix();
    let (s, v) = post(&relayers[0], 5, now).await;
    assert_eq!(s, 200, "{v}");
    // The same heartbeat, and an older one, replayed to the other instance.
    for (seq, sent_at) in [(5, now), (4, now), (9, now - 1)] {
        let (s, v) = post(&relayers[1], seq, sent_at).await;
        assert_eq!(s, 409, "({seq}, {sent_at}) accepted: {v}");
        assert_eq!(v["error"], "replay", "{v}");
    }
    // A later one is accepted by either.
    let (s, v) = post(&relayers[1], 6, now).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(&relayers[0], 6, now).await;
    assert_eq!(s, 409, "{v}");
    for h in relayers {
        h.shutdown().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_writer_flushes_pending_writes_before_shutdown_returns() {
    use minuto_relayer::store::{LivenessStore, RedisStore};
    let test = "redis_writer_flushes_pending_writes_before_shutdown_returns";
    let Some(redis_bin) = support::redis::or_skip(test) else {
        return;
    };
    let redis = support::redis::Redis::start(&redis_bin).await;
    let escrow = Address::repeat_byte(0xe5);
    let ttl = Duration::from_secs(60);
    let stop = tokio_util::sync::CancellationToken::new();
    let (store, writer) = RedisStore::connect(&redis.url(), CHAIN_ID, escrow, ttl, stop.clone())
        .await
        .unwrap();
    // Recorded and stopped at once: the write is still pending when the writer is told
    // to stop, and must be in Redis once it has returned.
    store.record(U256::from(7), Role::Tutor, 1_767_225_600_123);
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .expect("writer stops within its bound")
        .unwrap();
    let (reader, reader_writer) =
        RedisStore::connect(&redis.url(), CHAIN_ID, escrow, ttl, Default::default())
            .await
            .unwrap();
    assert_eq!(
        reader.last_seen(U256::from(7)).await.unwrap(),
        [None, Some(1_767_225_600_123)]
    );
    reader_writer.abort();
}

/// The production chain client of `RELAYER_KEY` against `escrow`, with the tests'
/// submission settings changed by `tune`.
async fn evm_chain(
    node: &Node,
    escrow: Address,
    tune: impl FnOnce(&mut minuto_relayer::config::TxSettings),
) -> minuto_relayer::evm::EvmChain {
    let mut config = config(node, escrow, Path::new("unused"));
    config.rpc_timeout = Duration::from_secs(5);
    tune(&mut config.tx);
    minuto_relayer::evm::EvmChain::connect(&config)
        .await
        .unwrap()
}

async fn relayer_nonce(node: &Node) -> u64 {
    node.p
        .get_transaction_count(parse_private_key(RELAYER_KEY).unwrap().address())
        .pending()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_for_a_session_already_ended_is_not_sent() {
    let Some(bin) = anvil_or_skip("a_stop_for_a_session_already_ended_is_not_sent") else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    // The student ends the session themself.
    send(
        &node,
        STUDENT,
        Some(d.escrow),
        IEscrowDouble::stopCall { id: U256::from(1) }.abi_encode(),
    )
    .await;
    let ended = session(&node, d.escrow, 1).await;
    assert_eq!(ended.state, 3);
    let chain = evm_chain(&node, d.escrow, |_| {}).await;
    let at = Clock::system().now_unix();
    assert_eq!(
        chain.stop_at(U256::from(1), at, 2).await.unwrap(),
        StopOutcome::AlreadyEnded
    );
    // Nothing was sent: the relayer's nonce did not move, and the end stands.
    assert_eq!(relayer_nonce(&node).await, 0);
    assert_eq!(session(&node, d.escrow, 1).await.end, ended.end);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_is_confirmed_from_its_blocks_receipts() {
    let Some(bin) = anvil_or_skip("a_stop_is_confirmed_from_its_blocks_receipts") else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let start = session(&node, d.escrow, 1).await.start;
    let chain = evm_chain(&node, d.escrow, |_| {}).await;
    let at = start.max(Clock::system().now_unix() - 1);
    let StopOutcome::Stopped { tx, at: landed } =
        chain.stop_at(U256::from(1), at, 1).await.unwrap()
    else {
        panic!("not stopped")
    };
    assert_eq!(landed, at);
    let on_chain = session(&node, d.escrow, 1).await;
    assert_eq!((on_chain.state, on_chain.end), (3, at));
    // The silent party reached the escrow as sent.
    assert_eq!(stopped_for(&node, d.escrow, 1).await, 1);
    let receipt = node.p.get_transaction_receipt(tx).await.unwrap().unwrap();
    assert!(receipt.status());
    let counts = chain.receipt_counts();
    assert_eq!(counts.found_in_blocks, 1, "{counts:?}");
    assert_eq!(counts.looked_up, 0, "{counts:?}");
    assert!(counts.blocks_scanned >= 1, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_dropped_by_the_node_is_sent_again_and_mined() {
    let Some(bin) = anvil_or_skip("a_stop_dropped_by_the_node_is_sent_again_and_mined") else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let start = session(&node, d.escrow, 1).await.start;
    let chain = evm_chain(&node, d.escrow, |s| {
        s.receipt_timeout = Duration::from_secs(2);
    })
    .await;
    // No block while the stop is in the pool, so it can be dropped before it is mined.
    let () = node
        .p
        .raw_request("evm_setIntervalMining".into(), [0])
        .await
        .unwrap();
    let at = start.max(Clock::system().now_unix() - 1);
    let SentStop::Pending(pending) = chain.send_stop(U256::from(1), at, 2).await.unwrap() else {
        panic!("expected a pending stop")
    };
    let dropped = pending.sent[0];
    let gone: Option<B256> = node
        .p
        .raw_request("anvil_dropTransaction".into(), [dropped])
        .await
        .unwrap();
    assert_eq!(gone, Some(dropped));
    let () = node
        .p
        .raw_request("evm_setIntervalMining".into(), [1])
        .await
        .unwrap();
    let StopOutcome::Stopped { tx, at: landed } = chain.confirm_stop(pending).await.unwrap() else {
        panic!("not stopped")
    };
    // A replacement under the same nonce (fees bumped) was mined instead.
    assert_ne!(tx, dropped);
    assert_eq!(landed, at);
    let on_chain = session(&node, d.escrow, 1).await;
    assert_eq!((on_chain.state, on_chain.end), (3, at));
    assert!(node
        .p
        .get_transaction_receipt(dropped)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        node.p
            .get_transaction_receipt(tx)
            .await
            .unwrap()
            .unwrap()
            .transaction_index,
        Some(0)
    );
    assert_eq!(relayer_nonce(&node).await, 1);
    let counts = chain.receipt_counts();
    assert_eq!(
        (counts.looked_up, counts.found_in_blocks),
        (1, 1),
        "{counts:?}"
    );
}

/// A JSON-RPC proxy to `upstream` that refuses `eth_estimateGas` with block overrides
/// (a fourth parameter) as nodes without them do (`-32602`, no revert data), counting
/// the refusals, and passes everything else on.
async fn refusing_block_overrides(
    upstream: url::Url,
) -> (url::Url, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let refused = Arc::new(AtomicU32::new(0));
    let count = refused.clone();
    let http = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let (http, upstream, count) = (http.clone(), upstream.clone(), count.clone());
            async move {
                if body["method"] == "eth_estimateGas"
                    && body["params"].as_array().is_some_and(|p| p.len() == 4)
                {
                    count.fetch_add(1, Ordering::SeqCst);
                    return axum::Json(json!({
                        "jsonrpc": "2.0",
                        "id": body["id"],
                        "error": {"code": -32602, "message": "Invalid params: expected 3, actual 4"},
                    }));
                }
                let answer: Value = http
                    .post(upstream)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                axum::Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refusing_block_overrides_gets_dry_runs_on_the_pending_block() {
    let Some(bin) =
        anvil_or_skip("a_node_refusing_block_overrides_gets_dry_runs_on_the_pending_block")
    else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let start = session(&node, d.escrow, 1).await.start;
    let (proxy, refused) = refusing_block_overrides(node.url.clone()).await;
    let mut config = config(&node, d.escrow, Path::new("unused"));
    (config.rpc_url, config.rpc_timeout) = (proxy, Duration::from_secs(5));
    let chain = minuto_relayer::evm::EvmChain::connect(&config)
        .await
        .unwrap();
    let at = start.max(Clock::system().now_unix() - 1);
    let StopOutcome::Stopped { at: landed, .. } =
        chain.stop_at(U256::from(1), at, 2).await.unwrap()
    else {
        panic!("not stopped")
    };
    assert_eq!(landed, at);
    assert_eq!(session(&node, d.escrow, 1).await.end, at);
    // Asked once with overrides; from then on straight to the pending block, which
    // still tells an ended session apart.
    assert_eq!(
        chain.stop_at(U256::from(1), at, 2).await.unwrap(),
        StopOutcome::AlreadyEnded
    );
    assert_eq!(refused.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(relayer_nonce(&node).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_undone_by_a_reorg_is_sent_again_at_the_same_at() {
    let Some(bin) = anvil_or_skip("a_stop_undone_by_a_reorg_is_sent_again_at_the_same_at") else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let dir = temp_dir("reorg");
    let mut cfg = config(&node, d.escrow, &dir.join("cursor.json"));
    cfg.tx.receipt_timeout = Duration::from_secs(2);
    let mut handle = minuto_relayer::spawn(cfg).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle.wait_synced())
        .await
        .unwrap();
    let client = app(&d);
    for seq in 1..=3 {
        round(&client, &d, &[&handle, &handle], seq).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let tutor_last = last_seen(&handle, "tutor").await.unwrap();
    student_pings_until_ended(&client, &handle, &d, 4).await;
    assert_eq!(ended_on_chain(&node, d.escrow, 1).await.end, tutor_last);
    // The block that ended it (the session can read Ended a moment before the block is
    // sealed), once the stop is confirmed and the follower has read that block.
    let mut ended_in = None;
    for _ in 0..50 {
        let filter = alloy::rpc::types::Filter::new()
            .address(d.escrow)
            .event_signature(
                <minuto_chain::bindings::ISessionEscrow::SessionEnded as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
            )
            .from_block(0)
            .to_block(node.p.get_block_number().await.unwrap());
        ended_in = node
            .p
            .get_logs(&filter)
            .await
            .unwrap()
            .first()
            .and_then(|l| l.block_number);
        if ended_in.is_some() && handle.metrics.stops_confirmed.get() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ended_in = ended_in.expect("no SessionEnded log");
    assert_eq!(handle.metrics.stops_confirmed.get(), 1);
    for _ in 0..50 {
        if handle.sync_status().next_block > ended_in {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(handle.sync_status().next_block > ended_in);
    // Those blocks are replaced by others without the stop: the session is Active
    // again on chain, and the relayer's account nonce is back where it was.
    let head = node.p.get_block_number().await.unwrap();
    let () = node
        .p
        .raw_request("anvil_rollback".into(), [head - ended_in + 1])
        .await
        .unwrap();
    assert_eq!(session(&node, d.escrow, 1).await.state, 2);
    let undone = std::time::Instant::now();
    let mut on_chain = session(&node, d.escrow, 1).await;
    while on_chain.state != 3 && undone.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        on_chain = session(&node, d.escrow, 1).await;
    }
    assert_eq!(on_chain.state, 3, "the undone stop was not sent again");
    assert_eq!(on_chain.end, tutor_last);
    // Grace period (4 s), one receipt timeout (2 s) for the stop sent above the nonce
    // the reorganisation gave back, and a block; not five timeouts and a retry.
    assert!(
        undone.elapsed() < Duration::from_secs(15),
        "re-stopped {:.1} s after the reorg",
        undone.elapsed().as_secs_f64()
    );
    assert!(handle.metrics.follower_reorgs.get() >= 1);
    handle.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// The follower reads only blocks buried under `confirmations` (8 here). The stop is
/// mined and its receipt read, and its block is reorganised away before the follower
/// has read it: the follower never sees a SessionEnded (nor a reorganisation) to react
/// to. The relayer kept the session since the receipt, looks at it again
/// (`end_check_after`: 4 × `retry_after` = 4 s), finds it Active on chain and stops it
/// again at the tutor's last heartbeat; the session leaves once the follower reads the
/// new end. Before, it was forgotten at the receipt and never stopped again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_undone_before_the_follower_confirmed_it_is_sent_again_at_the_same_at() {
    let test = "a_stop_undone_before_the_follower_confirmed_it_is_sent_again_at_the_same_at";
    let Some(bin) = anvil_or_skip(test) else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let dir = temp_dir("unconfirmed-reorg");
    let mut cfg = config(&node, d.escrow, &dir.join("cursor.json"));
    cfg.confirmations = 8;
    cfg.tx.receipt_timeout = Duration::from_secs(2);
    cfg.tx.retry_after = Duration::from_secs(1);
    let mut handle = minuto_relayer::spawn(cfg).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), handle.wait_synced())
        .await
        .unwrap();
    // The session's start is read once buried 8 blocks deep (a block a second).
    for _ in 0..150 {
        if handle.registry.watched() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        handle.registry.watched(),
        1,
        "the follower never read the start"
    );
    let client = app(&d);
    for seq in 1..=3 {
        round(&client, &d, &[&handle, &handle], seq).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let tutor_last = last_seen(&handle, "tutor").await.unwrap();
    student_pings_until_ended(&client, &handle, &d, 4).await;
    // The receipt is in: the stop's block is known, the follower is below it.
    for _ in 0..100 {
        if handle.metrics.stops_confirmed.get() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(handle.metrics.stops_confirmed.get(), 1);
    let filter = alloy::rpc::types::Filter::new()
        .address(d.escrow)
        .event_signature(
            <minuto_chain::bindings::ISessionEscrow::SessionEnded as alloy_sol_types::SolEvent>::SIGNATURE_HASH,
        )
        .from_block(0)
        .to_block(node.p.get_block_number().await.unwrap());
    let ended_in = node.p.get_logs(&filter).await.unwrap()[0]
        .block_number
        .unwrap();
    let head = node.p.get_block_number().await.unwrap();
    let () = node
        .p
        .raw_request("anvil_rollback".into(), [head - ended_in + 1])
        .await
        .unwrap();
    assert!(
        handle.sync_status().next_block <= ended_in,
        "the follower read the stop's block before the rollback: not the case under test"
    );
    assert_eq!(session(&node, d.escrow, 1).await.state, 2);
    let kept = handle.registry.status(U256::from(1)).expect("forgotten");
    assert_eq!(
        kept.session.phase,
        minuto_relayer::sessions::Phase::Unconfirmed
    );
    assert_eq!(handle.registry.watched(), 0);
    let undone = std::time::Instant::now();
    let mut on_chain = session(&node, d.escrow, 1).await;
    while on_chain.state != 3 && undone.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        on_chain = session(&node, d.escrow, 1).await;
    }
    assert_eq!(on_chain.state, 3, "the undone stop was not sent again");
    assert_eq!(on_chain.end, tutor_last);
    // The end check (4 s after the receipt), a receipt timeout (2 s) for the stop sent
    // above the nonce the reorganisation gave back, and a block.
    assert!(
        undone.elapsed() < Duration::from_secs(15),
        "re-stopped {:.1} s after the reorg",
        undone.elapsed().as_secs_f64()
    );
    // The follower reads the new end (8 blocks later): the session leaves.
    for _ in 0..200 {
        if handle.registry.is_ended(U256::from(1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(handle.registry.is_ended(U256::from(1)));
    assert_eq!(handle.registry.len(), 0);
    // The follower never read the undone block: no rewind was involved.
    assert_eq!(handle.metrics.follower_reorgs.get(), 0);
    assert_eq!(handle.metrics.stops_failed.get(), 0);
    handle.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// The stop for session 1 goes out at the fees of a quiet chain, and then the base fee
/// jumps above its fee cap and stays there (every block, as under congestion): it sits
/// in the pool under the relayer's lowest nonce, and the stop for session 2, sent at the
/// going fees under the next nonce, can only be mined after it. After one receipt
/// timeout the stuck stop is replaced under its nonce at no less than the going fees,
/// both are mined with their `at`, and the second is not held up longer. Before, each
/// replacement only added `fee_bump_percent` to the stuck fees, which never caught up
/// with the base fee: both stops gave up unmined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_stuck_below_a_risen_base_fee_is_replaced_at_the_going_fees_and_later_stops_follow()
{
    let test =
        "a_stop_stuck_below_a_risen_base_fee_is_replaced_at_the_going_fees_and_later_stops_follow";
    let Some(bin) = anvil_or_skip(test) else {
        return;
    };
    let node = start_anvil(&bin).await;
    let d = deploy(&node).await;
    let (second, _, _) = open_session(&node, d.escrow).await;
    assert_eq!(second, 2);
    let receipt_timeout = Duration::from_secs(2);
    let chain = evm_chain(&node, d.escrow, |s| s.receipt_timeout = receipt_timeout).await;
    // No block until the base fee has risen.
    let () = node
        .p
        .raw_request("evm_setIntervalMining".into(), [0])
        .await
        .unwrap();
    let now = Clock::system().now_unix();
    let at1 = session(&node, d.escrow, 1).await.start.max(now - 1);
    let at2 = session(&node, d.escrow, 2).await.start.max(now - 1);
    let SentStop::Pending(stuck) = chain.send_stop(U256::from(1), at1, 2).await.unwrap() else {
        panic!("expected a pending stop")
    };
    let high = stuck.fees.max_fee_per_gas * 10;
    // Congestion: every block from now on has base fee `high`.
    let congestion = {
        let p = node.p.clone();
        tokio::spawn(async move {
            loop {
                let () = p
                    .raw_request("anvil_setNextBlockBaseFeePerGas".into(), [U256::from(high)])
                    .await
                    .unwrap();
                let _: String = p.raw_request("evm_mine".into(), ()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    for _ in 0..50 {
        let latest = node
            .p
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .unwrap()
            .unwrap();
        if latest.header.base_fee_per_gas == Some(high as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Blocks are mined, the stuck stop is not.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(node
        .p
        .get_transaction_receipt(stuck.sent[0])
        .await
        .unwrap()
        .is_none());
    let SentStop::Pending(later) = chain.send_stop(U256::from(2), at2, 2).await.unwrap() else {
        panic!("expected a pending stop")
    };
    assert_eq!(later.nonce, stuck.nonce + 1);
    assert!(later.fees.max_fee_per_gas > high, "{:?}", later.fees);
    let stuck_hash = stuck.sent[0];
    let began = std::time::Instant::now();
    let (first, then) = tokio::join!(chain.confirm_stop(stuck), async {
        let outcome = chain.confirm_stop(later).await;
        (outcome, began.elapsed())
    });
    let first = first.unwrap();
    let (then, then_took) = (then.0.unwrap(), then.1);
    congestion.abort();
    let StopOutcome::Stopped { tx, at } = first else {
        panic!("not stopped: {first:?}")
    };
    assert_eq!(at, at1);
    assert_ne!(tx, stuck_hash, "the stuck transaction itself was mined");
    let replacement = node.p.get_transaction_receipt(tx).await.unwrap().unwrap();
    assert!(replacement.status());
    assert!(
        replacement.effective_gas_price >= high,
        "mined at {} per gas, base fee {high}",
        replacement.effective_gas_price
    );
    assert!(node
        .p
        .get_transaction_receipt(stuck_hash)
        .await
        .unwrap()
        .is_none());
    assert!(
        matches!(then, StopOutcome::Stopped { at, .. } if at == at2),
        "{then:?}"
    );
    for (id, at) in [(1, at1), (2, at2)] {
        let s = session(&node, d.escrow, id).await;
        assert_eq!((s.state, s.end), (3, at), "session {id}");
    }
    assert_eq!(relayer_nonce(&node).await, 2);
    // One receipt timeout for the replacement, then a block or two (every 0.5 s).
    assert!(
        then_took < receipt_timeout + Duration::from_secs(3),
        "the later stop took {:.1} s",
        then_took.as_secs_f64()
    );
}

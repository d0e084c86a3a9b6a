//! Tests of `minuto_relayer::follower` through its public API.

use minuto_relayer::follower::*;
use std::sync::Arc;

use minuto_relayer::chain::{Chain, ChainError};
use minuto_relayer::metrics::Metrics;
use minuto_relayer::sessions::{Registry, SessionRecord};

/// What the relayer's cursor file holds beside the next block.
type Snapshot = Vec<SessionRecord>;
use tokio::sync::watch;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use alloy_primitives::{Address, U256};

use minuto_relayer::chain::{Head, StopOutcome};
use minuto_relayer::clock::Clock;
use minuto_relayer::escrow::{EscrowEvent, EscrowLog};

/// A chain of `events`; with `fork` set, blocks from 30 on hash by it, so changing it
/// replaces them, as a reorganisation does (unset: no block hashes, no checkpoints).
struct FakeChain {
    head: Mutex<u64>,
    events: Mutex<Vec<EscrowLog>>,
    ranges: Mutex<Vec<(u64, u64)>>,
    fork: Mutex<Option<u8>>,
}

impl FakeChain {
    fn new(head: u64, events: Vec<EscrowLog>, fork: Option<u8>) -> Arc<Self> {
        Arc::new(Self {
            head: Mutex::new(head),
            events: Mutex::new(events),
            ranges: Mutex::default(),
            fork: Mutex::new(fork),
        })
    }
}

impl Chain for FakeChain {
    async fn head(&self) -> Result<Head, ChainError> {
        Ok(Head {
            number: *self.head.lock().unwrap(),
            timestamp: 0,
        })
    }
    async fn logs(&self, from: u64, to: u64) -> Result<Vec<EscrowLog>, ChainError> {
        self.ranges.lock().unwrap().push((from, to));
        Ok(self
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| (from..=to).contains(&e.block))
            .cloned()
            .collect())
    }
    async fn max_backdate(&self) -> Result<u64, ChainError> {
        Ok(60)
    }
    async fn stop_at(&self, _: U256, _: u64, _: u8) -> Result<StopOutcome, ChainError> {
        Ok(StopOutcome::AlreadyEnded)
    }
    async fn block_hash(&self, n: u64) -> Result<Option<alloy_primitives::B256>, ChainError> {
        let Some(fork) = *self.fork.lock().unwrap() else {
            return Ok(None);
        };
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&n.to_be_bytes());
        h[31] = if n >= 30 { fork } else { 0 };
        Ok(Some(h.into()))
    }
}

fn registry() -> Arc<Registry> {
    Arc::new(crate::registry_at(Clock::starting_at(1_000_000), 1.0, 60))
}

const DEPLOYMENT: Deployment = Deployment {
    chain_id: 31337,
    escrow: Address::repeat_byte(0xe5),
};

fn events() -> Vec<EscrowLog> {
    let id = U256::from(1);
    vec![
        EscrowLog {
            block: 3,
            log_index: 0,
            event: EscrowEvent::Opened {
                id,
                student_key: Address::repeat_byte(1),
                rate: 7,
                deposit: 100,
                fee_bps: 5,
            },
        },
        EscrowLog {
            block: 12,
            log_index: 0,
            event: EscrowEvent::Started {
                id,
                tutor_key: Address::repeat_byte(2),
                start: 50,
            },
        },
        EscrowLog {
            block: 31,
            log_index: 0,
            event: EscrowEvent::Withdrawn { id, amount: 9 },
        },
    ]
}

fn follower(
    chain: Arc<FakeChain>,
    registry: Arc<Registry>,
    path: &Path,
    next_block: u64,
) -> Follower<FakeChain> {
    Follower::new(
        chain,
        registry,
        Arc::new(Metrics::new()),
        FollowerConfig {
            confirmations: 5,
            start_block: 0,
            cursor_file: path.to_path_buf(),
            chunk_blocks: 10,
            poll_interval: Duration::from_millis(10),
        },
        DEPLOYMENT,
        next_block,
        watch::channel(SyncStatus::default()).0,
    )
}

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("minuto-follow-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d.join("cursor.json")
}

#[tokio::test]
async fn poll_reads_confirmed_blocks_in_bounded_chunks_and_saves_cursor() {
    let path = temp("chunks");
    let chain = FakeChain::new(40, events(), None);
    let reg = registry();
    let mut f = follower(chain.clone(), reg.clone(), &path, 0);
    assert!(f.poll().await.unwrap());
    // Head 40 with 5 confirmations: blocks 0..=35, at most 10 per request.
    assert_eq!(
        *chain.ranges.lock().unwrap(),
        vec![(0, 9), (10, 19), (20, 29), (30, 35)]
    );
    let cursor = load_cursor::<Snapshot>(&path, 31337, DEPLOYMENT.escrow)
        .unwrap()
        .unwrap();
    assert_eq!(cursor.next_block, 36);
    assert_eq!(cursor.sessions.len(), 1);
    let s = &cursor.sessions[0];
    assert_eq!((s.start, s.rate, s.deposited, s.withdrawn), (50, 7, 100, 9));
    assert!(s.active);
    assert_eq!(reg.watched(), 1);
    // Nothing new: no request at all.
    assert!(f.poll().await.unwrap());
    assert_eq!(chain.ranges.lock().unwrap().len(), 4);
    // The atomic save leaves nothing beside the cursor (no temporary file of any name).
    let files: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, vec![std::ffi::OsString::from("cursor.json")]);
}

#[tokio::test]
async fn restart_resumes_from_cursor_and_restores_sessions() {
    let path = temp("resume");
    let chain = FakeChain::new(40, events(), None);
    follower(chain, registry(), &path, 0).poll().await.unwrap();

    let cursor = load_cursor::<Snapshot>(&path, 31337, DEPLOYMENT.escrow)
        .unwrap()
        .unwrap();
    let reg = registry();
    reg.rewind(&cursor.sessions);
    let chain = FakeChain::new(50, events(), None);
    let mut f = follower(chain.clone(), reg.clone(), &path, cursor.next_block);
    f.poll().await.unwrap();
    assert_eq!(*chain.ranges.lock().unwrap(), vec![(36, 45)]);
    assert_eq!(reg.watched(), 1);
    let status = reg.status(U256::from(1)).unwrap();
    // Withdrawn was not applied twice.
    assert_eq!(status.session.withdrawn, 9);
}

#[tokio::test]
async fn reorg_of_blocks_already_read_is_rewound() {
    let path = temp("reorg");
    let id = U256::from(1);
    let mut events = events();
    // On the first fork the session ends in block 32.
    events.push(EscrowLog {
        block: 32,
        log_index: 0,
        event: EscrowEvent::Ended { id, end: 60 },
    });
    let chain = FakeChain::new(25, events, Some(0));
    let reg = registry();
    let metrics = Arc::new(Metrics::new());
    let mut f = Follower::new(
        chain.clone(),
        reg.clone(),
        metrics.clone(),
        FollowerConfig {
            confirmations: 5,
            start_block: 0,
            cursor_file: path.clone(),
            chunk_blocks: 10,
            poll_interval: Duration::from_millis(10),
        },
        DEPLOYMENT,
        0,
        watch::channel(SyncStatus::default()).0,
    );
    f.poll().await.unwrap(); // blocks 0..=20: opened and started
    assert_eq!(reg.watched(), 1);
    *chain.head.lock().unwrap() = 40;
    f.poll().await.unwrap(); // blocks 21..=35: ended in 32
    assert_eq!(reg.watched(), 0);
    assert!(reg.is_ended(id));

    // Blocks from 30 on are replaced: on the new fork the session never ended there.
    *chain.fork.lock().unwrap() = Some(1);
    chain.events.lock().unwrap().retain(|e| e.block != 32);
    f.poll().await.unwrap();
    assert_eq!(metrics.follower_reorgs.get(), 1);
    assert_eq!(reg.watched(), 1, "the reorganised end was undone");
    assert!(!reg.is_ended(id));
    let status = reg.status(id).unwrap();
    assert_eq!(
        status.session.withdrawn, 9,
        "Withdrawn of block 31 applied once"
    );
    assert_eq!(f.next_block(), 36);
    // Nothing more on the next poll.
    f.poll().await.unwrap();
    assert_eq!(metrics.follower_reorgs.get(), 1);
}

#[test]
fn load_cursor_rejects_foreign_and_corrupt_files() {
    let path = temp("foreign");
    save_cursor(
        &path,
        &Cursor {
            version: 1,
            chain_id: 1,
            escrow: DEPLOYMENT.escrow,
            next_block: 5,
            sessions: vec![],
        },
    )
    .unwrap();
    assert!(matches!(
        load_cursor::<Snapshot>(&path, 31337, DEPLOYMENT.escrow),
        Err(CursorError::Foreign { chain_id: 1, .. })
    ));
    assert_eq!(
        load_cursor::<Snapshot>(&path, 1, DEPLOYMENT.escrow)
            .unwrap()
            .unwrap()
            .next_block,
        5
    );
    std::fs::write(&path, b"{oops").unwrap();
    assert!(matches!(
        load_cursor::<Snapshot>(&path, 1, DEPLOYMENT.escrow),
        Err(CursorError::Corrupt { .. })
    ));
    assert!(
        load_cursor::<Snapshot>(&path.with_extension("missing"), 1, DEPLOYMENT.escrow)
            .unwrap()
            .is_none()
    );
}

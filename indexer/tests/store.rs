//! The store on its own, on SQLite and on PostgreSQL (a server started by minuto-anvil's
//! harness): writes are idempotent, a rewind deletes exactly what the replaced blocks
//! wrote, a database is bound to one deployment, bad URLs are refused.

use alloy_primitives::{Address, B256, U256};
use minuto_anvil::postgres::Postgres;
use minuto_chain::follower::Located;
use minuto_indexer::events::{Fact, Indexed, Source};
use minuto_indexer::query::{self, Role};
use minuto_indexer::store::{Batch, Cursor, Store, StoreError};

const STUDENT: Address = Address::repeat_byte(0x51);
const TUTOR: Address = Address::repeat_byte(0x7e);
const TOKEN: Address = Address::repeat_byte(0x70);
const ESCROW: Address = Address::repeat_byte(0xe5);

/// A fresh database: SQLite in a temporary directory, or PostgreSQL in a new server.
/// `None` (skipped loudly, failing under CI) without PostgreSQL binaries.
async fn database(postgres: bool, test: &str) -> Option<(Store, Guard)> {
    if postgres {
        let bin = minuto_anvil::postgres::or_skip(test)?;
        let pg = Postgres::start(&bin).await;
        let url = pg.create_database("index").await;
        Some((Store::open(&url).await.unwrap(), Guard::Postgres(pg)))
    } else {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("i.sqlite").display());
        Some((Store::open(&url).await.unwrap(), Guard::Sqlite(dir)))
    }
}

#[allow(dead_code)]
enum Guard {
    Sqlite(tempfile::TempDir),
    Postgres(Postgres),
}

fn log(block: u64, log_index: u64, ts: u64, name: &'static str, fact: Fact) -> Located<Indexed> {
    Located {
        block,
        log_index,
        event: Indexed {
            block_hash: B256::with_last_byte(block as u8),
            tx_hash: B256::repeat_byte(0xaa),
            ts,
            source: Source::Escrow,
            name,
            fact: Some(fact),
        },
    }
}

fn session_logs() -> Vec<Located<Indexed>> {
    vec![
        log(
            10,
            0,
            1_000,
            "SessionOpened",
            Fact::Opened {
                id: 1,
                student: STUDENT,
                tutor: TUTOR,
                token: TOKEN,
                rate: U256::from(10u64).pow(U256::from(22)),
                deposit: U256::from(5_000_000u64),
                student_key: STUDENT,
                credential_kind: 0,
                fee_bps: 250,
            },
        ),
        log(
            11,
            3,
            1_010,
            "SessionStarted",
            Fact::Started {
                id: 1,
                tutor_key: TUTOR,
                start: 1_010,
            },
        ),
        log(
            12,
            1,
            1_110,
            "SessionEnded",
            Fact::Ended {
                id: 1,
                by: STUDENT,
                end: 1_110,
                billed: U256::from(1_000_000u64),
                tutor_paid: U256::from(975_000u64),
                fee: U256::from(25_000u64),
                refund: U256::from(4_000_000u64),
            },
        ),
    ]
}

async fn a_range_written_twice_counts_once(postgres: bool) {
    let Some((store, _guard)) = database(postgres, "a_range_written_twice_counts_once").await
    else {
        return;
    };
    assert_eq!(store.bind(31_337, ESCROW).await.unwrap(), None);
    let batch = Batch {
        rewind_from: None,
        events: session_logs(),
        cursor: Some(Cursor {
            next_block: 13,
            last_hash: B256::with_last_byte(12),
        }),
    };
    store.write(&batch).await.unwrap();
    store.write(&batch).await.unwrap();
    assert_eq!(store.event_count().await.unwrap(), 3);
    let stats = query::stats(&store, 30).await.unwrap();
    assert_eq!(stats.sessions_ended, 1);
    assert_eq!(stats.volume[0].billed, "1000000");
    assert_eq!(stats.median_seconds, Some(100));
    assert_eq!(
        store.bind(31_337, ESCROW).await.unwrap(),
        Some(Cursor {
            next_block: 13,
            last_hash: B256::with_last_byte(12)
        })
    );

    // Block 12 replaced by one without the stop: the session is active again.
    store
        .write(&Batch {
            rewind_from: Some(12),
            events: vec![],
            cursor: Some(Cursor {
                next_block: 12,
                last_hash: B256::with_last_byte(11),
            }),
        })
        .await
        .unwrap();
    assert_eq!(store.event_count().await.unwrap(), 2);
    let page = query::sessions(&store, STUDENT, Role::Student, None, 10)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].state, "active");
    assert_eq!(page.items[0].billed, None);
    assert_eq!(query::stats(&store, 30).await.unwrap().sessions_ended, 0);
    store.close().await;
}

async fn a_database_of_another_deployment_is_refused(postgres: bool) {
    let Some((store, _guard)) =
        database(postgres, "a_database_of_another_deployment_is_refused").await
    else {
        return;
    };
    assert_eq!(store.bind(31_337, ESCROW).await.unwrap(), None);
    let err = store
        .bind(31_337, Address::repeat_byte(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Foreign {
                chain_id: 31_337,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the database indexes chain 31337 / escrow 0xe5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5, \
         not this deployment; use another database"
    );
    assert!(matches!(
        store.bind(1, ESCROW).await.unwrap_err(),
        StoreError::Foreign {
            chain_id: 31_337,
            ..
        }
    ));
    store.close().await;
}

/// 250 sessions in one batch: more rows per table than one `INSERT` takes.
async fn a_batch_larger_than_one_statement_is_stored_whole(postgres: bool) {
    let Some((store, _guard)) = database(
        postgres,
        "a_batch_larger_than_one_statement_is_stored_whole",
    )
    .await
    else {
        return;
    };
    store.bind(31_337, ESCROW).await.unwrap();
    let mut events = Vec::new();
    for i in 0..250u64 {
        for (k, mut log) in session_logs().into_iter().enumerate() {
            log.block = 100 + i;
            log.log_index = k as u64;
            match &mut log.event.fact {
                Some(
                    Fact::Opened { id, .. } | Fact::Started { id, .. } | Fact::Ended { id, .. },
                ) => {
                    *id = i as i64 + 1;
                }
                _ => unreachable!(),
            }
            events.push(log);
        }
    }
    let batch = Batch {
        rewind_from: None,
        events,
        cursor: None,
    };
    store.write(&batch).await.unwrap();
    store.write(&batch).await.unwrap();
    assert_eq!(store.event_count().await.unwrap(), 750);
    let stats = query::stats(&store, 30).await.unwrap();
    assert_eq!(stats.sessions_opened, 250);
    assert_eq!(stats.sessions_ended, 250);
    assert_eq!(stats.volume[0].billed, (250u64 * 1_000_000).to_string());
    let page = query::sessions(&store, STUDENT, Role::Any, Some(101), 200)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 100);
    assert_eq!(page.items[0].id, "100");
    assert_eq!(page.next, None);
    store.close().await;
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_is_stored_whole_on_sqlite() {
    a_batch_larger_than_one_statement_is_stored_whole(false).await;
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_is_stored_whole_on_postgres() {
    a_batch_larger_than_one_statement_is_stored_whole(true).await;
}

#[tokio::test]
async fn a_range_written_twice_counts_once_on_sqlite() {
    a_range_written_twice_counts_once(false).await;
}

#[tokio::test]
async fn a_range_written_twice_counts_once_on_postgres() {
    a_range_written_twice_counts_once(true).await;
}

#[tokio::test]
async fn a_database_of_another_deployment_is_refused_on_sqlite() {
    a_database_of_another_deployment_is_refused(false).await;
}

#[tokio::test]
async fn a_database_of_another_deployment_is_refused_on_postgres() {
    a_database_of_another_deployment_is_refused(true).await;
}

#[tokio::test]
async fn database_urls_of_other_kinds_are_refused() {
    for url in [
        "mysql://root@localhost/x",
        "sqlite://",
        "http://example.invalid/db",
    ] {
        let err = Store::open(url).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Url(ref u) if u == url),
            "{url}: {err:?}"
        );
    }
}

//! The store on its own, on SQLite and on PostgreSQL (a server started by minuto-anvil's
//! harness): writes are idempotent, a rewind deletes exactly what the replaced blocks
//! wrote, a database is bound to one deployment, bad URLs are refused.

use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use minuto_anvil::postgres::Postgres;
use minuto_chain::follower::Located;
use minuto_indexer::events::{Fact, Indexed, Source};
use minuto_indexer::query::{self, Role};
use minuto_indexer::store::{Batch, Cursor, Store, StoreError};
use minuto_indexer::Status;

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
        Some((writer(&url).await, Guard::Postgres(pg)))
    } else {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("i.sqlite").display());
        Some((writer(&url).await, Guard::Sqlite(dir)))
    }
}

/// The database at `url`, opened as its writer (the lease taken for a minute).
async fn writer(url: &str) -> Store {
    let store = Store::open(url).await.unwrap();
    assert!(store
        .claim_writer(now_ms(), Duration::from_secs(60), &Status::default(), false)
        .await
        .unwrap());
    store
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
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

/// A booking requested (block 20), accepted (21) and joined (22), with the tutor's rate
/// and policy (20); the request ten minutes after the block time of 20.
fn booking_logs() -> Vec<Located<Indexed>> {
    use minuto_indexer::events::BookingState;
    let booking = |block, index, ts, name, fact| {
        let mut l = log(block, index, ts, name, fact);
        l.event.source = Source::Booking;
        l
    };
    let changed =
        |state, by, refund: Option<u64>, escrowed: Option<u64>, session_id| Fact::BookingChanged {
            id: 1,
            state,
            by,
            tutor_fee: None,
            refund: refund.map(U256::from),
            escrowed: escrowed.map(U256::from),
            session_id,
            reason: None,
            held: None,
        };
    vec![
        booking(
            20,
            0,
            2_000,
            "RateSet",
            Fact::RateSet {
                tutor: TUTOR,
                token: TOKEN,
                rate: U256::from(10u64).pow(U256::from(22)),
            },
        ),
        booking(
            20,
            1,
            2_000,
            "PolicySet",
            Fact::PolicySet {
                tutor: TUTOR,
                free_notice: 3_600,
                late_cancel_fee_bps: 2_000,
                no_show_fee_bps: 5_000,
            },
        ),
        booking(
            20,
            2,
            2_000,
            "BookingRequested",
            Fact::BookingRequested {
                id: 1,
                student: STUDENT,
                tutor: TUTOR,
                token: TOKEN,
                start: 2_600,
                duration: 1_800,
                rate: U256::from(10u64).pow(U256::from(22)),
                deposit: U256::from(20_000_000u64),
                credential_kind: 0,
                answer_deadline: 2_100,
                free_notice: 3_600,
                late_cancel_fee_bps: 2_000,
                no_show_fee_bps: 5_000,
            },
        ),
        booking(
            21,
            0,
            2_010,
            "BookingAccepted",
            changed(BookingState::Accepted, Some(TUTOR), None, None, None),
        ),
        booking(
            22,
            0,
            2_020,
            "BookingJoined",
            changed(
                BookingState::Joined,
                None,
                Some(2_000_000),
                Some(18_000_000),
                Some(4),
            ),
        ),
    ]
}

/// Booking rows: a range written twice stores each once; rewinds bring back the earlier
/// state (joined → accepted → requested); reminders fire once per booking and offset,
/// whatever the calls, none for a booking no longer accepted or already started.
async fn booking_rows_are_written_once_and_rewound_to_the_earlier_state(postgres: bool) {
    use minuto_indexer::booking::{self, Order, REMINDER_BASE};
    let test = "booking_rows_are_written_once_and_rewound_to_the_earlier_state";
    let Some((store, _guard)) = database(postgres, test).await else {
        return;
    };
    store.bind(31_337, ESCROW).await.unwrap();
    let batch = Batch {
        rewind_from: None,
        events: booking_logs(),
        cursor: Some(Cursor {
            next_block: 23,
            last_hash: B256::with_last_byte(22),
        }),
    };
    store.write(&batch).await.unwrap();
    store.write(&batch).await.unwrap();
    assert_eq!(store.event_count().await.unwrap(), 5);
    let state = || async {
        let page = booking::bookings(&store, STUDENT, Order::NewestFirst, None, 10)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        let b = &page.items[0];
        (
            b.state,
            b.changes.len(),
            b.escrowed.clone(),
            b.session_id.clone(),
        )
    };
    assert_eq!(
        state().await,
        ("joined", 2, Some("18000000".into()), Some("4".into()))
    );
    let rewind = |from: u64| Batch {
        rewind_from: Some(from),
        events: vec![],
        cursor: Some(Cursor {
            next_block: from,
            last_hash: B256::with_last_byte(from as u8 - 1),
        }),
    };
    store.write(&rewind(22)).await.unwrap();
    assert_eq!(state().await, ("accepted", 1, None, None));

    // Accepted, starting at 2,600: nothing at 799 s before; the 30-minute one at 2,600 −
    // 1,800 (once, however often asked); both by 2,300 (the 5-minute one once); none
    // after the start.
    assert_eq!(booking::fire_reminders(&store, 799, 22).await.unwrap(), 0);
    assert_eq!(booking::fire_reminders(&store, 800, 22).await.unwrap(), 1);
    assert_eq!(booking::fire_reminders(&store, 800, 22).await.unwrap(), 0);
    assert_eq!(booking::fire_reminders(&store, 2_300, 22).await.unwrap(), 1);
    assert_eq!(booking::fire_reminders(&store, 2_400, 23).await.unwrap(), 0);
    let fired: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT booking_id, minutes, block, log_index, fired_at FROM booking_reminder \
         ORDER BY block, log_index",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        fired,
        [
            (1, 30, 22, REMINDER_BASE, 800),
            (1, 5, 22, REMINDER_BASE + 1, 2_300)
        ]
    );

    // Back to requested: no reminder for it; a rewind leaves the fired ones.
    store.write(&rewind(21)).await.unwrap();
    assert_eq!(state().await, ("requested", 0, None, None));
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM booking_reminder")
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    assert_eq!(count().await, 2);
    store.write(&rewind(20)).await.unwrap();
    assert_eq!(store.event_count().await.unwrap(), 0);
    for table in ["booking", "booking_change", "rate_set", "policy_set"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(booking::fire_reminders(&store, 2_300, 20).await.unwrap(), 0);
    store.close().await;
}

/// Lessons 2 and 3 of a series funded lesson by lesson (requested at block 30, each with
/// its `BookingFundingDue`, fundBy 100,000), 2 accepted (31) and funded (32). Written
/// twice: stored once; 2 funded, 3 not. `fire_reminders`: 3's funding reminders once
/// each at 24 h and 1 h before its fundBy (2, funded, none), at their places; a rewind
/// that drops 2's `BookingFunded` makes it unfunded again and both its reminders, passed,
/// fire at once in order; a rewind to the request leaves no funding row.
async fn funding_rows_are_rewound_and_funding_reminders_fire_once(postgres: bool) {
    use minuto_indexer::booking::{self, Order, REMINDER_BASE};
    use minuto_indexer::events::BookingState;
    let test = "funding_rows_are_rewound_and_funding_reminders_fire_once";
    let Some((store, _guard)) = database(postgres, test).await else {
        return;
    };
    store.bind(31_337, ESCROW).await.unwrap();
    const FUND_BY: i64 = 100_000;
    let booking = |block, index, ts, name, fact| {
        let mut l = log(block, index, ts, name, fact);
        l.event.source = Source::Booking;
        l
    };
    let request = |id: i64, start: u64| Fact::BookingRequested {
        id,
        student: STUDENT,
        tutor: TUTOR,
        token: TOKEN,
        start,
        duration: 1_800,
        rate: U256::from(10u64).pow(U256::from(22)),
        deposit: U256::from(20_000_000u64),
        credential_kind: 0,
        answer_deadline: 2_100,
        free_notice: 3_600,
        late_cancel_fee_bps: 2_000,
        no_show_fee_bps: 5_000,
    };
    let due = |id| Fact::BookingFundingDue {
        id,
        fund_by: FUND_BY as u64,
    };
    let logs = vec![
        booking(30, 0, 3_000, "BookingRequested", request(2, 200_000)),
        booking(30, 1, 3_000, "BookingFundingDue", due(2)),
        booking(30, 2, 3_000, "BookingRequested", request(3, 200_000)),
        booking(30, 3, 3_000, "BookingFundingDue", due(3)),
        booking(
            31,
            0,
            3_010,
            "BookingAccepted",
            Fact::BookingChanged {
                id: 2,
                state: BookingState::Accepted,
                by: Some(TUTOR),
                tutor_fee: None,
                refund: None,
                escrowed: None,
                session_id: None,
                reason: None,
                held: None,
            },
        ),
        booking(
            32,
            0,
            3_020,
            "BookingFunded",
            Fact::BookingFunded {
                id: 2,
                amount: U256::from(20_000_000u64),
            },
        ),
    ];
    let batch = Batch {
        rewind_from: None,
        events: logs,
        cursor: Some(Cursor {
            next_block: 33,
            last_hash: B256::with_last_byte(32),
        }),
    };
    store.write(&batch).await.unwrap();
    store.write(&batch).await.unwrap();
    let funding_rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM booking_funding")
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    assert_eq!(funding_rows().await, 3);
    let funding = || async {
        booking::bookings(&store, STUDENT, Order::NewestFirst, None, 10)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|b| (b.id, b.state, b.fund_by, b.funded, b.funded_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        funding().await,
        [
            ("3".to_owned(), "requested", Some(FUND_BY), false, None),
            ("2".to_owned(), "accepted", None, true, Some(3_020)),
        ]
    );
    let fired = || async {
        sqlx::query_as::<_, (i64, String, i64, i64, i64, i64)>(
            "SELECT booking_id, kind, minutes, block, log_index, fired_at FROM booking_reminder \
             ORDER BY block, log_index",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
    };
    assert_eq!(
        booking::fire_reminders(&store, FUND_BY - 86_401, 33)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        booking::fire_reminders(&store, FUND_BY - 86_400, 33)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        booking::fire_reminders(&store, FUND_BY - 86_400, 33)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        booking::fire_reminders(&store, FUND_BY - 3_600, 33)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        booking::fire_reminders(&store, FUND_BY - 1, 33)
            .await
            .unwrap(),
        0
    );
    let f = |id: i64, minutes: i64, block: i64, k: i64, at: i64| {
        (
            id,
            "funding".to_owned(),
            minutes,
            block,
            REMINDER_BASE + k,
            at,
        )
    };
    assert_eq!(
        fired().await,
        [
            f(3, 1_440, 33, 0, FUND_BY - 86_400),
            f(3, 60, 33, 1, FUND_BY - 3_600)
        ]
    );

    // The funding dropped: 2 unfunded again, its passed reminders fire at once.
    let rewind = |from: u64| Batch {
        rewind_from: Some(from),
        events: vec![],
        cursor: Some(Cursor {
            next_block: from,
            last_hash: B256::with_last_byte(from as u8 - 1),
        }),
    };
    store.write(&rewind(32)).await.unwrap();
    assert_eq!(funding_rows().await, 2);
    assert_eq!(
        funding().await[1],
        ("2".to_owned(), "accepted", Some(FUND_BY), false, None)
    );
    assert_eq!(
        booking::fire_reminders(&store, FUND_BY - 3_600, 32)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        fired().await[..2],
        [
            f(2, 1_440, 32, 0, FUND_BY - 3_600),
            f(2, 60, 32, 1, FUND_BY - 3_600)
        ]
    );
    // After fundBy, or once the lesson ended: nothing.
    assert_eq!(
        booking::fire_reminders(&store, FUND_BY, 32).await.unwrap(),
        0
    );
    store.write(&rewind(30)).await.unwrap();
    assert_eq!(funding_rows().await, 0);
    assert_eq!(fired().await.len(), 4);
    store.close().await;
}

#[tokio::test]
async fn funding_rows_are_rewound_and_funding_reminders_fire_once_on_sqlite() {
    funding_rows_are_rewound_and_funding_reminders_fire_once(false).await;
}

#[tokio::test]
async fn funding_rows_are_rewound_and_funding_reminders_fire_once_on_postgres() {
    funding_rows_are_rewound_and_funding_reminders_fire_once(true).await;
}

/// A database at version 6 with a fired `booking_reminder`: migration 7 keeps it as a
/// `lesson` reminder at its place (it does not fire again), adds `booking_funding`, and the
/// other offset still fires once.
async fn migration_7_keeps_the_reminders_fired(postgres: bool) {
    use minuto_indexer::booking::{self, REMINDER_BASE};
    let Some((store, guard)) = database(postgres, "migration_7_keeps_the_reminders_fired").await
    else {
        return;
    };
    store.bind(31_337, ESCROW).await.unwrap();
    // Booking 1 requested (20) and accepted (21), starting at 2,600.
    let batch = Batch {
        rewind_from: None,
        events: booking_logs()
            .into_iter()
            .filter(|l| l.block < 22)
            .collect(),
        cursor: Some(Cursor {
            next_block: 22,
            last_hash: B256::with_last_byte(21),
        }),
    };
    store.write(&batch).await.unwrap();
    // As version 6 left it, with its 30-minute reminder fired (one connection).
    let mut tx = store.pool().begin().await.unwrap();
    for sql in [
        "DROP TABLE booking_funding".to_owned(),
        "DROP TABLE booking_reminder".to_owned(),
        "CREATE TABLE booking_reminder (booking_id BIGINT NOT NULL, minutes BIGINT NOT NULL, \
         block BIGINT NOT NULL, log_index BIGINT NOT NULL, fired_at BIGINT NOT NULL, \
         PRIMARY KEY (booking_id, minutes))"
            .to_owned(),
        "CREATE UNIQUE INDEX booking_reminder_at ON booking_reminder (block, log_index)".to_owned(),
        format!(
            "INSERT INTO booking_reminder (booking_id, minutes, block, log_index, fired_at) \
             VALUES (1, 30, 22, {REMINDER_BASE}, 800)"
        ),
        "DELETE FROM _sqlx_migrations WHERE version = 7".to_owned(),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let url = match &guard {
        Guard::Sqlite(dir) => format!("sqlite://{}", dir.path().join("i.sqlite").display()),
        Guard::Postgres(pg) => pg.url("index"),
    };
    store.close().await;
    let store = writer(&url).await;
    let fired = || async {
        sqlx::query_as::<_, (i64, String, i64, i64, i64, i64)>(
            "SELECT booking_id, kind, minutes, block, log_index, fired_at FROM booking_reminder \
             ORDER BY block, log_index",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
    };
    let lesson = |minutes: i64, k: i64, at: i64| {
        (1, "lesson".to_owned(), minutes, 22, REMINDER_BASE + k, at)
    };
    assert_eq!(fired().await, [lesson(30, 0, 800)]);
    assert_eq!(booking::fire_reminders(&store, 800, 22).await.unwrap(), 0);
    assert_eq!(booking::fire_reminders(&store, 2_300, 22).await.unwrap(), 1);
    assert_eq!(fired().await, [lesson(30, 0, 800), lesson(5, 1, 2_300)]);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM booking_funding")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    store.close().await;
}

#[tokio::test]
async fn migration_7_keeps_the_reminders_fired_on_sqlite() {
    migration_7_keeps_the_reminders_fired(false).await;
}

#[tokio::test]
async fn migration_7_keeps_the_reminders_fired_on_postgres() {
    migration_7_keeps_the_reminders_fired(true).await;
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

const RELAYER: Address = Address::repeat_byte(0x4e);
/// A relayer that was allowed and then removed before it stopped anything.
const REMOVED: Address = Address::repeat_byte(0x4d);
const OTHER_TOKEN: Address = Address::repeat_byte(0x71);

/// Session `i` (from 1) at block `100 + i`: ten sessions per UTC day (from day 20,000),
/// two tokens, stopped by the student, the tutor, the allowed relayer (detected `i % 5`
/// seconds late) or the removed one. Sessions 1–3 have no SessionOpened stored (the index
/// started later) and 1–2 no SessionStarted either; at sessions 25 and 50 another session
/// is cancelled.
fn numbered_session(i: u64) -> Vec<Located<Indexed>> {
    let id = i as i64;
    let block = 100 + i;
    let start = 20_000 * 86_400 + i * 8_640 + 50;
    let end = start + 300 + (i * 37) % 900;
    let by = [STUDENT, TUTOR, RELAYER, REMOVED][(i % 4) as usize];
    let billed = U256::from(10u64).pow(U256::from(20)) * U256::from(i);
    let fee = billed / U256::from(40u64);
    let mut logs = vec![];
    if i > 3 {
        logs.push(log(
            block,
            0,
            start - 5,
            "SessionOpened",
            Fact::Opened {
                id,
                student: STUDENT,
                tutor: TUTOR,
                token: if i.is_multiple_of(3) {
                    OTHER_TOKEN
                } else {
                    TOKEN
                },
                rate: U256::from(10u64).pow(U256::from(22)),
                deposit: billed * U256::from(2u64),
                student_key: STUDENT,
                credential_kind: 0,
                fee_bps: 250,
            },
        ));
    }
    if i > 2 {
        logs.push(log(
            block,
            1,
            start,
            "SessionStarted",
            Fact::Started {
                id,
                tutor_key: TUTOR,
                start,
            },
        ));
    }
    if i.is_multiple_of(25) {
        // Another session, cancelled before it started.
        logs.push(log(
            block,
            5,
            start,
            "SessionCancelled",
            Fact::Cancelled {
                id: 1_000 + id,
                by: STUDENT,
                refund: billed,
            },
        ));
    }
    logs.push(log(
        block,
        2,
        end + if by == RELAYER { i % 5 } else { 0 },
        "SessionEnded",
        Fact::Ended {
            id,
            by,
            end,
            billed,
            tutor_paid: billed - fee,
            fee,
            refund: billed,
        },
    ));
    logs
}

fn relayer_logs() -> Vec<Located<Indexed>> {
    let update = |block, relayer, allowed| {
        log(
            block,
            0,
            1_000 + block,
            "RelayerUpdated",
            Fact::RelayerUpdated { relayer, allowed },
        )
    };
    vec![
        update(50, RELAYER, true),
        update(51, REMOVED, true),
        update(52, REMOVED, false),
    ]
}

/// /v1/stats computed the way it was before the totals: from every stored session.
async fn stats_by_scan(store: &Store, days: i64) -> serde_json::Value {
    use sqlx::Row;
    let pool = store.pool();
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let per_day: Vec<serde_json::Value> = sqlx::query(
        "SELECT end_at / 86400 AS day, COUNT(*) AS n FROM session_ended \
         GROUP BY end_at / 86400 ORDER BY day DESC LIMIT $1",
    )
    .bind(days)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let day: i64 = r.get("day");
        let date = chrono_day(day);
        serde_json::json!({"day": date, "sessions": r.get::<i64, _>("n")})
    })
    .collect();
    let mut volume: std::collections::BTreeMap<String, (u64, U256, U256)> = Default::default();
    for r in sqlx::query(
        "SELECT o.token, e.billed, e.fee FROM session_ended e JOIN session_opened o ON o.id = e.id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        let v = volume.entry(r.get("token")).or_default();
        v.0 += 1;
        v.1 += r.get::<String, _>("billed").parse::<U256>().unwrap();
        v.2 += r.get::<String, _>("fee").parse::<U256>().unwrap();
    }
    let ended = count("SELECT COUNT(*) FROM session_ended").await;
    let median: Option<i64> = if ended == 0 {
        None
    } else {
        sqlx::query_scalar(
            "SELECT e.end_at - s.start_at AS len FROM session_ended e \
             JOIN session_started s ON s.id = e.id ORDER BY len LIMIT 1 OFFSET $1",
        )
        .bind((ended - 1) / 2)
        .fetch_optional(pool)
        .await
        .unwrap()
    };
    let stops = sqlx::query(
        "SELECT e.end_at, e.ts FROM session_ended e JOIN session_opened o ON o.id = e.id \
         WHERE e.ended_by <> o.student AND e.ended_by <> o.tutor AND \
         (SELECT r.allowed FROM relayer_updated r WHERE r.relayer = e.ended_by \
          AND (r.block < e.block OR (r.block = e.block AND r.log_index < e.log_index)) \
          ORDER BY r.block DESC, r.log_index DESC LIMIT 1) = 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let delay: i64 = stops
        .iter()
        .map(|r| r.get::<i64, _>("ts") - r.get::<i64, _>("end_at"))
        .sum();
    let n = stops.len();
    serde_json::json!({
        "sessionsOpened": count("SELECT COUNT(*) FROM session_opened").await,
        "sessionsEnded": ended,
        "sessionsCancelled": count("SELECT COUNT(*) FROM session_cancelled").await,
        "sessionsPerDay": per_day,
        "volume": volume.into_iter().map(|(token, (sessions, billed, fees))| serde_json::json!({
            "token": token.parse::<Address>().unwrap(),
            "sessions": sessions,
            "billed": billed.to_string(),
            "fees": fees.to_string(),
        })).collect::<Vec<_>>(),
        "medianSeconds": median,
        "endedByRelayer": (ended > 0).then(|| n as f64 / ended as f64),
        "averageDetectionSeconds": (n > 0).then(|| delay as f64 / n as f64),
        "events": count("SELECT COUNT(*) FROM events").await,
    })
}

/// `YYYY-MM-DD` of UTC day `day` (days since 1970-01-01; civil-from-days).
fn chrono_day(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

async fn assert_stats_exact(store: &Store) {
    for days in [30, 3] {
        assert_eq!(
            serde_json::to_value(query::stats(store, days as u32).await.unwrap()).unwrap(),
            stats_by_scan(store, days).await,
            "days={days}"
        );
    }
}

async fn stats_totals_stay_exact_through_rewinds_replays_and_upgrades(postgres: bool) {
    let test = "stats_totals_stay_exact_through_rewinds_replays_and_upgrades";
    let Some((store, guard)) = database(postgres, test).await else {
        return;
    };
    let sessions = |range: std::ops::RangeInclusive<u64>| -> Vec<Located<Indexed>> {
        range.flat_map(numbered_session).collect()
    };
    let write = |rewind_from, events| {
        let store = store.clone();
        async move {
            store
                .write(&Batch {
                    rewind_from,
                    events,
                    cursor: None,
                })
                .await
                .unwrap();
        }
    };
    write(None, relayer_logs()).await;
    // 60 sessions on 6 days, 7 per batch: most days filled by two or three batches.
    for first in (1..=60).step_by(7) {
        write(None, sessions(first..=(first + 6).min(60))).await;
    }
    let st = query::stats(&store, 30).await.unwrap();
    assert_eq!(st.sessions_ended, 60);
    assert_eq!(st.sessions_opened, 57);
    assert_eq!(st.sessions_cancelled, 2);
    assert_eq!(st.events, 3 + 57 + 58 + 60 + 2);
    assert_eq!(st.sessions_per_day.len(), 7);
    assert_eq!(st.sessions_per_day[0].sessions, 1);
    // Stops by the allowed relayer among sessions 4–60: i % 4 == 2.
    assert_eq!(st.ended_by_relayer, Some(14.0 / 60.0));
    assert_stats_exact(&store).await;

    // A reorganisation from session 35's block (mid-day): 26 sessions gone.
    write(Some(135), vec![]).await;
    let st = query::stats(&store, 30).await.unwrap();
    assert_eq!(st.sessions_ended, 34);
    assert_eq!(st.sessions_per_day[0].sessions, 5);
    assert_stats_exact(&store).await;

    // The new branch stores 35–44 again, then a range from 20 on is read twice.
    write(None, sessions(35..=44)).await;
    assert_stats_exact(&store).await;
    write(None, sessions(20..=60)).await;
    write(None, sessions(20..=60)).await;
    assert_eq!(query::stats(&store, 30).await.unwrap().sessions_ended, 60);
    assert_stats_exact(&store).await;

    // A rewind and the replacement in one batch, as ingestion writes it.
    write(Some(150), sessions(50..=55)).await;
    assert_eq!(query::stats(&store, 30).await.unwrap().sessions_ended, 55);
    assert_stats_exact(&store).await;

    // A database upgraded to version 4 with sessions stored: as migration 4 leaves it.
    let pool = store.pool();
    for sql in [
        "DELETE FROM stats_daily",
        "DELETE FROM session_length",
        "INSERT INTO stats_pending (day) SELECT DISTINCT end_at / 86400 FROM session_ended",
        "DELETE FROM row_counts",
        "INSERT INTO row_counts (name, n) SELECT 'events', COUNT(*) FROM events",
        "INSERT INTO row_counts (name, n) SELECT 'session_opened', COUNT(*) FROM session_opened",
        "INSERT INTO row_counts (name, n) \
         SELECT 'session_cancelled', COUNT(*) FROM session_cancelled",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    assert_eq!(query::stats(&store, 30).await.unwrap().sessions_ended, 0);
    let url = match &guard {
        Guard::Sqlite(dir) => format!("sqlite://{}", dir.path().join("i.sqlite").display()),
        Guard::Postgres(pg) => pg.url("index"),
    };
    store.close().await;
    let store = writer(&url).await;
    assert_eq!(query::stats(&store, 30).await.unwrap().sessions_ended, 55);
    assert_stats_exact(&store).await;
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stats_pending")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(pending, 0);
    store.close().await;
}

#[tokio::test]
async fn stats_totals_stay_exact_through_rewinds_replays_and_upgrades_on_sqlite() {
    stats_totals_stay_exact_through_rewinds_replays_and_upgrades(false).await;
}

#[tokio::test]
async fn stats_totals_stay_exact_through_rewinds_replays_and_upgrades_on_postgres() {
    stats_totals_stay_exact_through_rewinds_replays_and_upgrades(true).await;
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
async fn booking_rows_are_written_once_and_rewound_to_the_earlier_state_on_sqlite() {
    booking_rows_are_written_once_and_rewound_to_the_earlier_state(false).await;
}

#[tokio::test]
async fn booking_rows_are_written_once_and_rewound_to_the_earlier_state_on_postgres() {
    booking_rows_are_written_once_and_rewound_to_the_earlier_state(true).await;
}

#[tokio::test]
async fn a_database_of_another_deployment_is_refused_on_sqlite() {
    a_database_of_another_deployment_is_refused(false).await;
}

#[tokio::test]
async fn a_database_of_another_deployment_is_refused_on_postgres() {
    a_database_of_another_deployment_is_refused(true).await;
}

/// The writer lease: one holder at a time. Another instance takes it only once it lapsed
/// (or was given up); the one that lost it writes nothing (`NotWriter`, no row, no cursor)
/// and cannot take it back while it is held. The holder publishes its progress with each
/// renewal; a rewind is counted in the database in the rewind's own transaction.
async fn one_writer_at_a_time(postgres: bool) {
    let Some((a, guard)) = database(postgres, "one_writer_at_a_time").await else {
        return;
    };
    let url = match &guard {
        Guard::Sqlite(dir) => format!("sqlite://{}", dir.path().join("i.sqlite").display()),
        Guard::Postgres(pg) => pg.url("index"),
    };
    a.bind(31_337, ESCROW).await.unwrap();
    let b = Store::open(&url).await.unwrap();
    assert_ne!(a.instance(), b.instance());
    // `a` holds it for 60 s from `t` (the `database` helper took it just now).
    let held = a.writer().await.unwrap();
    assert_eq!(held.holder, a.instance());
    let t = held.until - 60_000;
    let lease = Duration::from_secs(5);
    let mut published = Status::default();
    assert!(!b
        .claim_writer(t + 59_999, lease, &published, false)
        .await
        .unwrap());
    let batch = Batch {
        rewind_from: None,
        events: session_logs(),
        cursor: Some(Cursor {
            next_block: 12,
            last_hash: B256::repeat_byte(0x12),
        }),
    };
    assert!(matches!(b.write(&batch).await, Err(StoreError::NotWriter)));
    assert_eq!(b.event_count().await.unwrap(), 0);
    assert_eq!(b.writer().await.unwrap().holder, a.instance());

    // Lapsed: `b` takes it, publishing its progress; `a` can neither write nor take it
    // back before `b`'s lapses.
    published.progress.head = 40;
    published.progress.next_block = 12;
    published.progress.caught_up = true;
    published.undecodable = 3;
    assert!(b
        .claim_writer(t + 60_001, lease, &published, false)
        .await
        .unwrap());
    assert!(matches!(a.write(&batch).await, Err(StoreError::NotWriter)));
    assert_eq!(a.event_count().await.unwrap(), 0);
    assert_eq!(
        a.bind(31_337, ESCROW).await.unwrap(),
        None,
        "no cursor written"
    );
    assert!(!a
        .claim_writer(t + 65_000, lease, &Status::default(), false)
        .await
        .unwrap());
    b.write(&batch).await.unwrap();
    b.write(&Batch {
        rewind_from: Some(11),
        events: vec![],
        cursor: Some(Cursor {
            next_block: 11,
            last_hash: B256::repeat_byte(0x11),
        }),
    })
    .await
    .unwrap();
    let seen = a.writer().await.unwrap();
    assert_eq!(
        (seen.holder.as_str(), seen.until),
        (b.instance(), t + 65_001)
    );
    let mut want = published;
    want.stored = 11;
    want.rewinds = 1;
    want.rewound_from = 11;
    assert_eq!(seen.status, want);
    assert_eq!(
        a.event_count().await.unwrap(),
        1,
        "the rewind kept block 10"
    );
    // Each rewind listed: a stream that saw none moves back to the earliest.
    b.write(&Batch {
        rewind_from: Some(12),
        events: vec![],
        cursor: None,
    })
    .await
    .unwrap();
    assert_eq!(
        (
            a.rewound_since(0).await.unwrap(),
            a.rewound_since(1).await.unwrap(),
            a.rewound_since(2).await.unwrap()
        ),
        (Some(11), Some(12), None)
    );

    // Restarted under its name, an instance takes its own lease back at once.
    let b_again = Store::open(&url).await.unwrap().named(b.instance());
    assert!(!b_again
        .claim_writer(t + 60_003, lease, &Status::default(), false)
        .await
        .unwrap());
    assert!(b_again
        .claim_writer(t + 60_003, lease, &Status::default(), true)
        .await
        .unwrap());
    assert!(!a
        .claim_writer(t + 60_004, lease, &Status::default(), false)
        .await
        .unwrap());
    b_again.write(&Batch::default()).await.unwrap();
    // The process it replaced, if still alive (two instances given one name): refused.
    assert!(matches!(
        b.write(&Batch::default()).await,
        Err(StoreError::NotWriter)
    ));
    assert!(!b
        .claim_writer(t + 60_004, lease, &Status::default(), false)
        .await
        .unwrap());
    // Given up (as on shutdown): taken at once, whatever the time.
    b.close().await;
    assert!(
        !a.claim_writer(t + 60_002, lease, &Status::default(), false)
            .await
            .unwrap(),
        "the replaced process's close gave nothing up"
    );
    b_again.close().await;
    assert!(!a.writer().await.unwrap().status.progress.caught_up);
    assert!(a
        .claim_writer(t + 60_002, lease, &Status::default(), false)
        .await
        .unwrap());
    a.write(&batch).await.unwrap();
    assert_eq!(
        a.event_count().await.unwrap(),
        session_logs().len() as u64,
        "the rewound ones again"
    );
}

#[tokio::test]
async fn one_writer_at_a_time_on_sqlite() {
    one_writer_at_a_time(false).await;
}

#[tokio::test]
async fn one_writer_at_a_time_on_postgres() {
    one_writer_at_a_time(true).await;
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

//! The database: SQLite (a file, the default) or PostgreSQL (a `postgres://` URL), through
//! sqlx's `Any` driver so one set of SQL statements and one schema serve both. Migrations
//! are embedded in the binary and applied at start-up.
//!
//! Writes come in [`Batch`]es, each one transaction: an optional rewind (delete every row
//! from a block on), the events, and the cursor. A crash between batches leaves the
//! cursor at the last batch written, and the rows agree with it.
//!
//! Several indexers may share one database (replicas behind a load balancer): one of them,
//! the holder of the writer lease ([`Store::claim_writer`]), ingests; every [`Store::write`]
//! checks in its own transaction that this instance still holds the lease and writes
//! nothing otherwise ([`StoreError::NotWriter`]), so an instance that lost the lease while
//! paused or cut off cannot write behind its successor's back. The others read.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use minuto_chain::follower::Located;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row};

use crate::events::{Fact, Indexed};
use crate::ingest::Status;

/// The schema's migrations, in order. The same SQL runs on both databases.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "events", include_str!("../migrations/0001_events.sql")),
    (
        2,
        "webhook cursors",
        include_str!("../migrations/0002_webhooks.sql"),
    ),
    (3, "vetting", include_str!("../migrations/0003_vetting.sql")),
    (
        4,
        "stats totals",
        include_str!("../migrations/0004_stats_totals.sql"),
    ),
    (
        5,
        "badge settings",
        include_str!("../migrations/0005_badge_settings.sql"),
    ),
    (6, "booking", include_str!("../migrations/0006_booking.sql")),
    (
        7,
        "booking funding",
        include_str!("../migrations/0007_booking_funding.sql"),
    ),
    (
        8,
        "booking early end",
        include_str!("../migrations/0008_booking_early_end.sql"),
    ),
    (9, "writer", include_str!("../migrations/0009_writer.sql")),
];

/// Event tables whose rows are counted in `row_counts`.
const COUNTED: &[&str] = &["events", "session_opened", "session_cancelled"];

/// Tables whose rows a rewind deletes (every one keyed by `block`).
const EVENT_TABLES: &[&str] = &[
    "events",
    "session_opened",
    "session_started",
    "session_topped_up",
    "withdrawn",
    "session_ended",
    "session_cancelled",
    "payout_credited",
    "claimed",
    "relayer_updated",
    "credential_issued",
    "credential_ended",
    "badge_claimed",
    "badge_setting",
    "rated",
    "vetting_opened",
    "vetting_voted",
    "vetting_closed",
    "booking",
    "booking_series",
    "booking_change",
    "rate_set",
    "policy_set",
    "booking_funding",
];

#[derive(Debug)]
struct Embedded;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> futures_core::future::BoxFuture<'s, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Database failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no database this build speaks.
    #[error("database URL {0:?}: use a file path, sqlite://PATH or postgres://USER@HOST/DB")]
    Url(String),
    /// A query failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database holds another deployment's events.
    #[error("the database indexes chain {chain_id} / escrow {escrow}, not this deployment; use another database")]
    Foreign {
        /// Its chain.
        chain_id: i64,
        /// Its escrow.
        escrow: String,
    },
    /// Another instance holds the writer lease: this one may not write.
    #[error("another indexer holds this database's writer lease")]
    NotWriter,
    /// A stored value is not what the schema promises (edited by hand?).
    #[error("database holds a malformed value in {column}: {value:?}")]
    Corrupt {
        /// Column.
        column: &'static str,
        /// Value.
        value: String,
    },
}

/// Where ingestion stands, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// First block not yet stored.
    pub next_block: u64,
    /// Hash of block `next_block - 1` when it was read (zero: not known).
    pub last_hash: B256,
}

/// One transaction's worth of writes.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Delete every row from this block on first (a reorganisation replaced them).
    pub rewind_from: Option<u64>,
    /// Events to insert (duplicates of stored ones are ignored).
    pub events: Vec<Located<Indexed>>,
    /// The cursor after this batch.
    pub cursor: Option<Cursor>,
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// This instance's name in the writer lease: random per [`Store::open`] unless
    /// [`Store::named`].
    instance: std::sync::Arc<str>,
    /// This process's token in the writer lease, random per [`Store::open`]: two live
    /// instances given one name are still told apart.
    token: std::sync::Arc<str>,
}

/// The writer lease as stored: who holds it, until when, and what it published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writer {
    /// The holding instance (empty: never held).
    pub holder: String,
    /// Unix milliseconds the lease lasts until, unless renewed.
    pub until: i64,
    /// What the holder last published, with the stored cursor and rewinds.
    pub status: Status,
}

/// A name for this instance no other is likely to draw: process id, time and the
/// standard library's per-process random hash keys.
fn instance_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:016x}-{}", h.finish(), std::process::id())
}

/// `0x…` lowercase hex, as stored.
pub fn hex_addr(a: &Address) -> String {
    format!("{a:#x}")
}

fn hex_hash(h: &B256) -> String {
    format!("{h:#x}")
}

/// A stored amount.
pub fn amount(row: &AnyRow, column: &'static str) -> Result<U256, StoreError> {
    let s: String = row.try_get(column)?;
    U256::from_str_radix(&s, 10).map_err(|_| StoreError::Corrupt { column, value: s })
}

/// A stored optional amount.
pub fn amount_opt(row: &AnyRow, column: &'static str) -> Result<Option<U256>, StoreError> {
    let s: Option<String> = row.try_get(column)?;
    s.map(|s| U256::from_str_radix(&s, 10).map_err(|_| StoreError::Corrupt { column, value: s }))
        .transpose()
}

/// A stored address.
pub fn address(row: &AnyRow, column: &'static str) -> Result<Address, StoreError> {
    let s: String = row.try_get(column)?;
    Address::from_str(&s).map_err(|_| StoreError::Corrupt { column, value: s })
}

impl Store {
    /// Connects to `url` (a path or `sqlite://PATH`: an SQLite file, created if missing;
    /// `postgres://…`: PostgreSQL) and applies the migrations.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is unusable, the database unreachable, or a migration
    /// fails.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .or_else(|| (!url.contains("://")).then_some(url))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(StoreError::Url(url.to_owned()));
            }
            (Backend::Sqlite, format!("sqlite://{path}?mode=rwc"))
        } else {
            return Err(StoreError::Url(url.to_owned()));
        };
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(match backend {
                // One writer at a time in SQLite anyway; readers share the WAL.
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            });
        let options = if backend == Backend::Postgres {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    // A writer frozen inside a transaction (paused VM, cut-off network)
                    // would hold its rows' locks, and in the last moment before its commit
                    // the writer lease's row: PostgreSQL ends its session after 10 s idle.
                    conn.execute("SET idle_in_transaction_session_timeout = '10s'")
                        .await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL: readers never wait for the writer; NORMAL sync is durable at
                    // every checkpoint and never corrupts (a crash may lose the last
                    // batches, which the cursor then reads again).
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(&url).await?;
        Migrator::new(Embedded).await?.run(&pool).await?;
        // Days left to compute by migration 4 (an upgraded database's sessions).
        let mut tx = pool.begin().await?;
        let pending: Vec<i64> = sqlx::query_scalar("SELECT day FROM stats_pending")
            .fetch_all(&mut *tx)
            .await?;
        for day in pending {
            recompute_day(&mut tx, day).await?;
        }
        sqlx::query("DELETE FROM stats_pending")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Self {
            pool,
            backend,
            instance: instance_name().into(),
            token: instance_name().into(),
        })
    }

    /// This instance's name in the writer lease.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Names this instance in the writer lease (instead of a random name): a process
    /// restarted under the same name takes its predecessor's lease back at once. Each of
    /// the instances sharing the database needs its own.
    #[must_use]
    pub fn named(mut self, instance: &str) -> Self {
        self.instance = instance.into();
        self
    }

    /// Fails with [`StoreError::NotWriter`] unless this process holds the writer lease;
    /// run last before the commit of a transaction that writes what only the holder may:
    /// it then holds the lease's row until the commit, so the transaction commits only if
    /// the lease was this process's when it did (an instance taking the lease over waits
    /// for it), and for no more than that moment (the holder's own renewal never waits
    /// for a long write).
    ///
    /// # Errors
    /// [`StoreError::NotWriter`]; [`StoreError::Sql`].
    pub async fn fence(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
        let holds = sqlx::query(
            "UPDATE writer SET holder = $1 WHERE id = 1 AND holder = $1 AND token = $2",
        )
        .bind(&*self.instance)
        .bind(&*self.token)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if holds == 1 {
            Ok(())
        } else {
            Err(StoreError::NotWriter)
        }
    }

    /// The first block of the earliest rewind after the `seen` first ones (`None`: none).
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub async fn rewound_since(&self, seen: u64) -> Result<Option<u64>, StoreError> {
        let from: Option<i64> =
            sqlx::query_scalar("SELECT MIN(from_block) FROM rewind WHERE n > $1")
                .bind(i64::try_from(seen).unwrap_or(i64::MAX))
                .fetch_one(&self.pool)
                .await?;
        Ok(from.map(|f| f.max(0) as u64))
    }

    /// Takes or renews the writer lease until `now_ms + lease` and publishes `status`
    /// with it. The lease is taken only if this process holds it, or it lapsed (`until`
    /// before `now_ms`), or, with `reclaim` (a process's first claim), an instance of this
    /// name held it (a restart takes its lease back at once; of two live instances given
    /// one name, the later started takes it and the other's writes are refused). Returns
    /// whether this process holds it now.
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub async fn claim_writer(
        &self,
        now_ms: i64,
        lease: Duration,
        status: &Status,
        reclaim: bool,
    ) -> Result<bool, StoreError> {
        let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let p = &status.progress;
        let n = sqlx::query(
            "UPDATE writer SET holder = $1, token = $2, until = $3, head = $4, \
             next_block = $5, caught_up = $6, reorgs = $7, undecodable = $8 \
             WHERE id = 1 AND ((holder = $1 AND (token = $2 OR $9 = 1)) OR until < $10)",
        )
        .bind(&*self.instance)
        .bind(&*self.token)
        .bind(until)
        .bind(p.head as i64)
        .bind(p.next_block as i64)
        .bind(i64::from(p.caught_up))
        .bind(p.reorgs as i64)
        .bind(status.undecodable as i64)
        .bind(i64::from(reclaim))
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Gives the writer lease up (on shutdown), if this instance holds it: another
    /// instance takes it at its next try instead of after the lease lapses.
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub async fn release_writer(&self) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE writer SET until = 0, caught_up = 0 WHERE id = 1 AND holder = $1 AND token = $2",
        )
        .bind(&*self.instance)
        .bind(&*self.token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The writer lease and what its holder published, with the stored cursor and the
    /// rewinds written.
    ///
    /// # Errors
    /// [`StoreError::Sql`].
    pub async fn writer(&self) -> Result<Writer, StoreError> {
        let r = sqlx::query(
            "SELECT w.holder, w.until, w.head, w.next_block, w.caught_up, w.reorgs, \
             w.undecodable, w.rewinds, w.rewound_from, c.next_block \
             FROM writer w LEFT JOIN cursor c ON c.id = 1 WHERE w.id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        let n = |i: usize| r.try_get::<i64, _>(i).map(|v| v.max(0) as u64);
        let stored: Option<i64> = r.try_get(9)?;
        Ok(Writer {
            holder: r.try_get(0)?,
            until: r.try_get(1)?,
            status: Status {
                progress: minuto_chain::follower::Progress {
                    head: n(2)?,
                    next_block: n(3)?,
                    caught_up: n(4)? != 0,
                    reorgs: n(5)?,
                },
                undecodable: n(6)?,
                rewinds: n(7)?,
                rewound_from: n(8)?,
                stored: stored.map_or(0, |v| v.max(0) as u64),
            },
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Gives the writer lease up if this instance holds it, then closes every connection.
    pub async fn close(&self) {
        if let Err(e) = self.release_writer().await {
            tracing::warn!(error = %e, "cannot give the writer lease up");
        }
        self.pool.close().await;
    }

    /// The stored cursor, after checking that the database belongs to this deployment
    /// (an empty one is bound to it here).
    ///
    /// # Errors
    /// [`StoreError::Foreign`] for another deployment's database; [`StoreError::Sql`].
    pub async fn bind(&self, chain_id: u64, escrow: Address) -> Result<Option<Cursor>, StoreError> {
        // Several instances may start on an empty database at once: the first insert
        // binds it, the others find its row.
        sqlx::query(
            "INSERT INTO cursor (id, chain_id, escrow, next_block, last_hash) \
             VALUES (1, $1, $2, -1, '') ON CONFLICT (id) DO NOTHING",
        )
        .bind(chain_id as i64)
        .bind(hex_addr(&escrow))
        .execute(&self.pool)
        .await?;
        let row =
            sqlx::query("SELECT chain_id, escrow, next_block, last_hash FROM cursor WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        let (stored_chain, stored_escrow): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        if stored_chain != chain_id as i64 || stored_escrow != hex_addr(&escrow) {
            return Err(StoreError::Foreign {
                chain_id: stored_chain,
                escrow: stored_escrow,
            });
        }
        let next: i64 = row.try_get(2)?;
        let hash: String = row.try_get(3)?;
        if next < 0 {
            return Ok(None);
        }
        Ok(Some(Cursor {
            next_block: next as u64,
            last_hash: B256::from_str(&hash).unwrap_or_default(),
        }))
    }

    /// The stored blocks holding events, newest first, at most `limit`: what a restart
    /// compares with the chain.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn recent_blocks(&self, limit: i64) -> Result<Vec<(u64, B256)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT block, block_hash FROM events ORDER BY block DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let hash: String = r.try_get(1)?;
                let parsed = B256::from_str(&hash).map_err(|_| StoreError::Corrupt {
                    column: "events.block_hash",
                    value: hash,
                })?;
                Ok((r.try_get::<i64, _>(0)? as u64, parsed))
            })
            .collect()
    }

    /// How many events are stored.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn event_count(&self) -> Result<u64, StoreError> {
        self.row_count("events").await
    }

    /// Rows stored in `table`, one of `events`, `session_opened` and `session_cancelled`
    /// (counted at every write, not by a scan).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn row_count(&self, table: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT n FROM row_counts WHERE name = $1")
            .bind(table)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Writes `batch` in one transaction.
    ///
    /// # Errors
    /// [`StoreError`]; nothing of the batch is written then.
    pub async fn write(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // UTC days (of `end_at`) whose stats totals this batch changes.
        let mut days = BTreeSet::new();
        // Rows added (negative: removed) per table of `EVENT_TABLES`.
        let mut added = [0i64; EVENT_TABLES.len()];
        if let Some(from) = batch.rewind_from {
            let rewound: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT end_at / 86400 FROM session_ended WHERE block >= $1",
            )
            .bind(from as i64)
            .fetch_all(&mut *tx)
            .await?;
            days.extend(rewound);
            sqlx::query(
                "DELETE FROM session_length WHERE id IN \
                 (SELECT id FROM session_ended WHERE block >= $1)",
            )
            .bind(from as i64)
            .execute(&mut *tx)
            .await?;
            for (table, added) in EVENT_TABLES.iter().zip(&mut added) {
                *added -= sqlx::query(&format!("DELETE FROM {table} WHERE block >= $1"))
                    .bind(from as i64)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() as i64;
            }
        }
        // Grouped by table, in the order of `EVENT_TABLES` (`events` first).
        let mut by_table: Vec<Vec<NewRow>> = EVENT_TABLES.iter().map(|_| Vec::new()).collect();
        for log in &batch.events {
            for row in rows(log) {
                let at = EVENT_TABLES
                    .iter()
                    .position(|t| *t == row.table)
                    .expect("every row's table is an event table");
                by_table[at].push(row);
            }
        }
        for (rows, added) in by_table.iter().zip(&mut added) {
            *added += insert_rows(&mut tx, rows).await? as i64;
        }
        for (table, added) in EVENT_TABLES.iter().zip(added) {
            if added != 0 && COUNTED.contains(table) {
                sqlx::query("UPDATE row_counts SET n = n + $1 WHERE name = $2")
                    .bind(added)
                    .bind(*table)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for log in &batch.events {
            if let Some(Fact::Ended { end, .. }) = &log.event.fact {
                days.insert(*end as i64 / SECONDS_PER_DAY);
            }
        }
        for day in days {
            recompute_day(&mut tx, day).await?;
        }
        if let Some(c) = batch.cursor {
            sqlx::query("UPDATE cursor SET next_block = $1, last_hash = $2 WHERE id = 1")
                .bind(c.next_block as i64)
                .bind(hex_hash(&c.last_hash))
                .execute(&mut *tx)
                .await?;
        }
        self.fence(&mut tx).await?;
        if let Some(from) = batch.rewind_from {
            sqlx::query("UPDATE writer SET rewinds = rewinds + 1, rewound_from = $1 WHERE id = 1")
                .bind(from as i64)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO rewind (n, from_block) SELECT rewinds, $1 FROM writer WHERE id = 1",
            )
            .bind(from as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

/// Recomputes the stats totals of UTC day `day` from the event tables: its `stats_daily`
/// rows (replaced) and its sessions' lengths (added where missing; a rewind deletes the
/// lengths of the sessions it deletes). Idempotent.
async fn recompute_day(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    day: i64,
) -> Result<(), StoreError> {
    let (from, to) = (day * SECONDS_PER_DAY, (day + 1) * SECONDS_PER_DAY);
    sqlx::query("DELETE FROM stats_daily WHERE day = $1")
        .bind(day)
        .execute(&mut **tx)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT o.token, o.student, o.tutor, e.ended_by, e.billed, e.fee, e.end_at, e.ts, \
         {} AS allowed \
         FROM session_ended e LEFT JOIN session_opened o ON o.id = e.id \
         WHERE e.end_at >= $1 AND e.end_at < $2",
        crate::query::BY_RELAYER
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?;
    // Per token: sessions, billed, fees, relayer stops, detection seconds.
    let mut totals: BTreeMap<String, (i64, U256, U256, i64, i64)> = BTreeMap::new();
    for r in &rows {
        // The token is '' when the session's SessionOpened is not stored.
        let token: Option<String> = r.try_get("token")?;
        let parties: [Option<String>; 2] = [r.try_get("student")?, r.try_get("tutor")?];
        let by: String = r.try_get("ended_by")?;
        let allowed: Option<i64> = r.try_get("allowed")?;
        let t = totals.entry(token.unwrap_or_default()).or_default();
        t.0 += 1;
        t.1 += amount(r, "billed")?;
        t.2 += amount(r, "fee")?;
        // A stop by an allowed relayer that is neither party (as the history tells it).
        if parties.iter().all(|p| p.as_ref().is_some_and(|p| *p != by)) && allowed == Some(1) {
            t.3 += 1;
            t.4 += r.try_get::<i64, _>("ts")? - r.try_get::<i64, _>("end_at")?;
        }
    }
    for (token, (sessions, billed, fees, stops, delay)) in totals {
        sqlx::query(
            "INSERT INTO stats_daily \
             (day, token, sessions, billed, fees, relayer_stops, detection_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(day)
        .bind(token)
        .bind(sessions)
        .bind(billed.to_string())
        .bind(fees.to_string())
        .bind(stops)
        .bind(delay)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO session_length (id, seconds) \
         SELECT e.id, e.end_at - s.start_at FROM session_ended e \
         JOIN session_started s ON s.id = e.id WHERE e.end_at >= $1 AND e.end_at < $2 \
         ON CONFLICT DO NOTHING",
    )
    .bind(from)
    .bind(to)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A value bound to a statement.
#[derive(Clone, Debug)]
enum V {
    I(i64),
    T(String),
    /// NULL or an integer.
    NI(Option<i64>),
    /// NULL or text.
    NT(Option<String>),
}

/// One row for `table`.
struct NewRow {
    table: &'static str,
    columns: &'static [&'static str],
    values: Vec<V>,
}

/// Rows per `INSERT` (at most 16 columns: 1,300 parameters, far below either database's
/// limit). Measured with the backfill example: one row per statement is ~4,000 events/s
/// on PostgreSQL (a round trip each); 64–256 rows are 3–4× that on both; thousands of rows
/// made SQLite several times slower (not investigated further).
const ROWS_PER_STATEMENT: usize = 100;

/// Inserts `rows` (all of one table) with multi-row `INSERT … ON CONFLICT DO NOTHING`
/// statements: one round trip per few thousand values instead of one per row. Returns the
/// rows inserted (not those already stored).
async fn insert_rows(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rows: &[NewRow],
) -> Result<u64, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(0);
    };
    let mut inserted = 0;
    let width = first.columns.len();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            first.table,
            first.columns.join(", ")
        );
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for c in 0..width {
                n += 1;
                sql.push_str(&format!("{}${n}", if c == 0 { "" } else { ", " }));
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT DO NOTHING");
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in &row.values {
                q = match v {
                    V::I(i) => q.bind(*i),
                    V::T(t) => q.bind(t.clone()),
                    V::NI(i) => q.bind(*i),
                    V::NT(t) => q.bind(t.clone()),
                };
            }
        }
        inserted += q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(inserted)
}

/// The rows `log` writes: one in `events`, and one in its fact's table.
fn rows(log: &Located<Indexed>) -> Vec<NewRow> {
    use V::{I, T};
    let e = &log.event;
    let (block, index, ts) = (log.block as i64, log.log_index as i64, e.ts as i64);
    let mut out = vec![NewRow {
        table: "events",
        columns: &[
            "block",
            "log_index",
            "block_hash",
            "tx_hash",
            "ts",
            "contract",
            "name",
        ],
        values: vec![
            I(block),
            I(index),
            T(hex_hash(&e.block_hash)),
            T(hex_hash(&e.tx_hash)),
            I(ts),
            T(e.source.key().into()),
            T(e.name.into()),
        ],
    }];
    let Some(fact) = &e.fact else {
        return out;
    };
    let a = |x: &Address| T(hex_addr(x));
    let n = |v: &U256| T(v.to_string());
    let (table, columns, values): (&'static str, &'static [&'static str], Vec<V>) = match fact {
        Fact::Opened {
            id,
            student,
            tutor,
            token,
            rate,
            deposit,
            student_key,
            credential_kind,
            fee_bps,
        } => (
            "session_opened",
            &[
                "block",
                "log_index",
                "ts",
                "id",
                "student",
                "tutor",
                "token",
                "rate",
                "deposit",
                "student_key",
                "credential_kind",
                "fee_bps",
            ],
            vec![
                I(*id),
                a(student),
                a(tutor),
                a(token),
                n(rate),
                n(deposit),
                a(student_key),
                I(i64::from(*credential_kind)),
                I(i64::from(*fee_bps)),
            ],
        ),
        Fact::Started {
            id,
            tutor_key,
            start,
        } => (
            "session_started",
            &["block", "log_index", "ts", "id", "tutor_key", "start_at"],
            vec![I(*id), a(tutor_key), I(*start as i64)],
        ),
        Fact::ToppedUp {
            id,
            amount,
            deposited,
        } => (
            "session_topped_up",
            &["block", "log_index", "ts", "id", "amount", "deposited"],
            vec![I(*id), n(amount), n(deposited)],
        ),
        Fact::Withdrawn { id, tutor, amount } => (
            "withdrawn",
            &["block", "log_index", "ts", "id", "tutor", "amount"],
            vec![I(*id), a(tutor), n(amount)],
        ),
        Fact::Ended {
            id,
            by,
            end,
            billed,
            tutor_paid,
            fee,
            refund,
        } => (
            "session_ended",
            &[
                "block",
                "log_index",
                "ts",
                "id",
                "ended_by",
                "end_at",
                "billed",
                "tutor_paid",
                "fee",
                "refund",
            ],
            vec![
                I(*id),
                a(by),
                I(*end as i64),
                n(billed),
                n(tutor_paid),
                n(fee),
                n(refund),
            ],
        ),
        Fact::Cancelled { id, by, refund } => (
            "session_cancelled",
            &["block", "log_index", "ts", "id", "cancelled_by", "refund"],
            vec![I(*id), a(by), n(refund)],
        ),
        Fact::PayoutCredited {
            token,
            account,
            amount,
        } => (
            "payout_credited",
            &["block", "log_index", "ts", "token", "account", "amount"],
            vec![a(token), a(account), n(amount)],
        ),
        Fact::Claimed {
            token,
            account,
            to,
            amount,
        } => (
            "claimed",
            &[
                "block",
                "log_index",
                "ts",
                "token",
                "account",
                "recipient",
                "amount",
            ],
            vec![a(token), a(account), a(to), n(amount)],
        ),
        Fact::RelayerUpdated { relayer, allowed } => (
            "relayer_updated",
            &["block", "log_index", "ts", "relayer", "allowed"],
            vec![a(relayer), I(i64::from(*allowed))],
        ),
        Fact::CredentialIssued {
            token_id,
            holder,
            kind,
            expiry,
            uri,
            issuer,
        } => (
            "credential_issued",
            &[
                "block",
                "log_index",
                "ts",
                "token_id",
                "holder",
                "kind",
                "expiry",
                "uri",
                "issuer",
            ],
            vec![
                n(token_id),
                a(holder),
                I(i64::from(*kind)),
                I(i64::try_from(*expiry).unwrap_or(i64::MAX)),
                T(uri.clone()),
                a(issuer),
            ],
        ),
        Fact::CredentialEnded {
            token_id,
            holder,
            kind,
            revoked,
        } => (
            "credential_ended",
            &[
                "block",
                "log_index",
                "ts",
                "token_id",
                "holder",
                "kind",
                "how",
            ],
            vec![
                n(token_id),
                a(holder),
                I(i64::from(*kind)),
                T(if *revoked { "revoked" } else { "burned" }.into()),
            ],
        ),
        Fact::BadgeClaimed {
            token_id,
            session_id,
            holder,
            role,
        } => (
            "badge_claimed",
            &[
                "block",
                "log_index",
                "ts",
                "token_id",
                "session_id",
                "holder",
                "role",
            ],
            vec![n(token_id), I(*session_id), a(holder), I(i64::from(*role))],
        ),
        Fact::BadgeSetting { token, value } => (
            "badge_setting",
            &["block", "log_index", "ts", "setting", "token", "value"],
            vec![
                T(if token.is_some() {
                    "min_billed"
                } else {
                    "min_duration"
                }
                .into()),
                T(token.as_ref().map(hex_addr).unwrap_or_default()),
                T(value.to_string()),
            ],
        ),
        Fact::Rated {
            session_id,
            rater,
            ratee,
            rater_role,
            score,
            content_hash,
            cid,
        } => (
            "rated",
            &[
                "block",
                "log_index",
                "ts",
                "session_id",
                "rater",
                "ratee",
                "rater_role",
                "score",
                "content_hash",
                "cid",
            ],
            vec![
                I(*session_id),
                a(rater),
                a(ratee),
                I(i64::from(*rater_role)),
                I(i64::from(*score)),
                T(hex_hash(content_hash)),
                T(cid.clone()),
            ],
        ),
        Fact::VettingOpened {
            application_id,
            tutor,
            kind,
            action,
            token_id,
            opened_by,
            deadline,
            cid,
        } => (
            "vetting_opened",
            &[
                "block",
                "log_index",
                "ts",
                "application_id",
                "tutor",
                "kind",
                "action",
                "token_id",
                "opened_by",
                "deadline",
                "cid",
            ],
            vec![
                I(*application_id),
                a(tutor),
                I(i64::from(*kind)),
                I(i64::from(*action)),
                n(token_id),
                a(opened_by),
                I(i64::try_from(*deadline).unwrap_or(i64::MAX)),
                T(cid.clone()),
            ],
        ),
        Fact::VettingVoted {
            application_id,
            reviewer,
            approve,
            approvals,
            rejections,
            reason_cid,
        } => (
            "vetting_voted",
            &[
                "block",
                "log_index",
                "ts",
                "application_id",
                "reviewer",
                "approve",
                "approvals",
                "rejections",
                "reason_cid",
            ],
            vec![
                I(*application_id),
                a(reviewer),
                I(i64::from(*approve)),
                I(i64::from(*approvals)),
                I(i64::from(*rejections)),
                T(reason_cid.clone()),
            ],
        ),
        Fact::VettingClosed {
            application_id,
            outcome,
            token_id,
            revocation_id,
        } => (
            "vetting_closed",
            &[
                "block",
                "log_index",
                "ts",
                "application_id",
                "outcome",
                "token_id",
                "revocation_id",
            ],
            vec![
                I(*application_id),
                T(outcome.key().into()),
                n(token_id),
                n(revocation_id),
            ],
        ),
        Fact::RateSet { tutor, token, rate } => (
            "rate_set",
            &["block", "log_index", "ts", "tutor", "token", "rate"],
            vec![a(tutor), a(token), n(rate)],
        ),
        Fact::PolicySet {
            tutor,
            free_notice,
            late_cancel_fee_bps,
            no_show_fee_bps,
        } => (
            "policy_set",
            &[
                "block",
                "log_index",
                "ts",
                "tutor",
                "free_notice",
                "late_cancel_fee_bps",
                "no_show_fee_bps",
            ],
            vec![
                a(tutor),
                I(i64::from(*free_notice)),
                I(i64::from(*late_cancel_fee_bps)),
                I(i64::from(*no_show_fee_bps)),
            ],
        ),
        Fact::BookingRequested {
            id,
            student,
            tutor,
            token,
            start,
            duration,
            rate,
            deposit,
            credential_kind,
            answer_deadline,
            free_notice,
            late_cancel_fee_bps,
            no_show_fee_bps,
        } => (
            "booking",
            &[
                "block",
                "log_index",
                "ts",
                "id",
                "student",
                "tutor",
                "token",
                "start_at",
                "duration",
                "rate",
                "deposit",
                "credential_kind",
                "answer_deadline",
                "free_notice",
                "late_cancel_fee_bps",
                "no_show_fee_bps",
            ],
            vec![
                I(*id),
                a(student),
                a(tutor),
                a(token),
                I(i64::try_from(*start).unwrap_or(i64::MAX)),
                I(i64::from(*duration)),
                n(rate),
                n(deposit),
                I(i64::from(*credential_kind)),
                I(i64::try_from(*answer_deadline).unwrap_or(i64::MAX)),
                I(i64::from(*free_notice)),
                I(i64::from(*late_cancel_fee_bps)),
                I(i64::from(*no_show_fee_bps)),
            ],
        ),
        Fact::SeriesRequested {
            first_id,
            student,
            tutor,
            lessons,
            interval,
        } => (
            "booking_series",
            &[
                "block",
                "log_index",
                "ts",
                "first_id",
                "student",
                "tutor",
                "lessons",
                "interval_seconds",
            ],
            vec![
                I(*first_id),
                a(student),
                a(tutor),
                I(i64::from(*lessons)),
                I(i64::from(*interval)),
            ],
        ),
        Fact::BookingFundingDue { id, fund_by } => (
            "booking_funding",
            &[
                "block",
                "log_index",
                "ts",
                "id",
                "kind",
                "fund_by",
                "amount",
            ],
            vec![
                I(*id),
                T("due".into()),
                V::NI(Some(i64::try_from(*fund_by).unwrap_or(i64::MAX))),
                V::NT(None),
            ],
        ),
        Fact::BookingFunded { id, amount } => (
            "booking_funding",
            &[
                "block",
                "log_index",
                "ts",
                "id",
                "kind",
                "fund_by",
                "amount",
            ],
            vec![
                I(*id),
                T("funded".into()),
                V::NI(None),
                V::NT(Some(amount.to_string())),
            ],
        ),
        Fact::BookingChanged {
            id,
            state,
            by,
            tutor_fee,
            refund,
            escrowed,
            session_id,
            reason,
            held,
        } => (
            "booking_change",
            &[
                "block",
                "log_index",
                "ts",
                "id",
                "state",
                "actor",
                "tutor_fee",
                "refund",
                "escrowed",
                "session_id",
                "reason",
                "held",
            ],
            vec![
                I(*id),
                T(state.key().into()),
                T(by.as_ref().map(hex_addr).unwrap_or_default()),
                V::NT(tutor_fee.map(|v| v.to_string())),
                V::NT(refund.map(|v| v.to_string())),
                V::NT(escrowed.map(|v| v.to_string())),
                V::NI(*session_id),
                V::NI(reason.map(i64::from)),
                V::NI(held.map(|h| h as i64)),
            ],
        ),
    };
    // Every event table starts with the log's place and its block's time.
    let mut all = vec![I(block), I(index), I(ts)];
    all.extend(values);
    out.push(NewRow {
        table,
        columns,
        values: all,
    });
    out
}

//! The database: SQLite (a file, the default) or PostgreSQL (a `postgres://` URL), through
//! sqlx's `Any` driver so one set of SQL statements and one schema serve both. Migrations
//! are embedded in the binary and applied at start-up.
//!
//! Writes come in [`Batch`]es, each one transaction: an optional rewind (delete every row
//! from a block on), the events, and the cursor. A crash between batches leaves the
//! cursor at the last batch written, and the rows agree with it.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use minuto_chain::follower::Located;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row};

use crate::events::{Fact, Indexed};

/// The schema's migrations, in order. The same SQL runs on both databases.
const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "events", include_str!("../migrations/0001_events.sql"))];

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
    "rated",
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
        Ok(Self { pool, backend })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The stored cursor, after checking that the database belongs to this deployment
    /// (an empty one is bound to it here).
    ///
    /// # Errors
    /// [`StoreError::Foreign`] for another deployment's database; [`StoreError::Sql`].
    pub async fn bind(&self, chain_id: u64, escrow: Address) -> Result<Option<Cursor>, StoreError> {
        let row =
            sqlx::query("SELECT chain_id, escrow, next_block, last_hash FROM cursor WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else {
            sqlx::query(
                "INSERT INTO cursor (id, chain_id, escrow, next_block, last_hash) VALUES (1, $1, $2, -1, '')",
            )
            .bind(chain_id as i64)
            .bind(hex_addr(&escrow))
            .execute(&self.pool)
            .await?;
            return Ok(None);
        };
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
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
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
        if let Some(from) = batch.rewind_from {
            for table in EVENT_TABLES {
                sqlx::query(&format!("DELETE FROM {table} WHERE block >= $1"))
                    .bind(from as i64)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for log in &batch.events {
            insert(&mut tx, log).await?;
        }
        if let Some(c) = batch.cursor {
            sqlx::query("UPDATE cursor SET next_block = $1, last_hash = $2 WHERE id = 1")
                .bind(c.next_block as i64)
                .bind(hex_hash(&c.last_hash))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    log: &Located<Indexed>,
) -> Result<(), StoreError> {
    let e = &log.event;
    let (block, index, ts) = (log.block as i64, log.log_index as i64, e.ts as i64);
    let done = sqlx::query(
        "INSERT INTO events (block, log_index, block_hash, tx_hash, ts, contract, name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(block)
    .bind(index)
    .bind(hex_hash(&e.block_hash))
    .bind(hex_hash(&e.tx_hash))
    .bind(ts)
    .bind(e.source.key())
    .bind(e.name)
    .execute(&mut **tx)
    .await?;
    // Already stored (a range read again): its typed row is too.
    if done.rows_affected() == 0 {
        return Ok(());
    }
    let Some(fact) = &e.fact else {
        return Ok(());
    };
    let a = hex_addr;
    let n = |v: &U256| v.to_string();
    let q = match fact {
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
        } => sqlx::query(
            "INSERT INTO session_opened (block, log_index, ts, id, student, tutor, token, rate, \
             deposit, student_key, credential_kind, fee_bps) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(*id)
        .bind(a(student))
        .bind(a(tutor))
        .bind(a(token))
        .bind(n(rate))
        .bind(n(deposit))
        .bind(a(student_key))
        .bind(i64::from(*credential_kind))
        .bind(i64::from(*fee_bps)),
        Fact::Started {
            id,
            tutor_key,
            start,
        } => sqlx::query(
            "INSERT INTO session_started (block, log_index, ts, id, tutor_key, start_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(*id)
        .bind(a(tutor_key))
        .bind(*start as i64),
        Fact::ToppedUp {
            id,
            amount,
            deposited,
        } => sqlx::query(
            "INSERT INTO session_topped_up (block, log_index, ts, id, amount, deposited) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(*id)
        .bind(n(amount))
        .bind(n(deposited)),
        Fact::Withdrawn { id, tutor, amount } => sqlx::query(
            "INSERT INTO withdrawn (block, log_index, ts, id, tutor, amount) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(*id)
        .bind(a(tutor))
        .bind(n(amount)),
        Fact::Ended {
            id,
            by,
            end,
            billed,
            tutor_paid,
            fee,
            refund,
        } => sqlx::query(
            "INSERT INTO session_ended (block, log_index, ts, id, ended_by, end_at, billed, \
             tutor_paid, fee, refund) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(*id)
        .bind(a(by))
        .bind(*end as i64)
        .bind(n(billed))
        .bind(n(tutor_paid))
        .bind(n(fee))
        .bind(n(refund)),
        Fact::Cancelled { id, by, refund } => sqlx::query(
            "INSERT INTO session_cancelled (block, log_index, ts, id, cancelled_by, refund) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(*id)
        .bind(a(by))
        .bind(n(refund)),
        Fact::PayoutCredited {
            token,
            account,
            amount,
        } => sqlx::query(
            "INSERT INTO payout_credited (block, log_index, ts, token, account, amount) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(a(token))
        .bind(a(account))
        .bind(n(amount)),
        Fact::Claimed {
            token,
            account,
            to,
            amount,
        } => sqlx::query(
            "INSERT INTO claimed (block, log_index, ts, token, account, recipient, amount) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(a(token))
        .bind(a(account))
        .bind(a(to))
        .bind(n(amount)),
        Fact::RelayerUpdated { relayer, allowed } => sqlx::query(
            "INSERT INTO relayer_updated (block, log_index, ts, relayer, allowed) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(a(relayer))
        .bind(i64::from(*allowed)),
        Fact::CredentialIssued {
            token_id,
            holder,
            kind,
            expiry,
            uri,
            issuer,
        } => sqlx::query(
            "INSERT INTO credential_issued (block, log_index, ts, token_id, holder, kind, expiry, \
             uri, issuer) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(n(token_id))
        .bind(a(holder))
        .bind(i64::from(*kind))
        .bind(i64::try_from(*expiry).unwrap_or(i64::MAX))
        .bind(uri.clone())
        .bind(a(issuer)),
        Fact::CredentialEnded {
            token_id,
            holder,
            kind,
            revoked,
        } => sqlx::query(
            "INSERT INTO credential_ended (block, log_index, ts, token_id, holder, kind, how) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(n(token_id))
        .bind(a(holder))
        .bind(i64::from(*kind))
        .bind(if *revoked { "revoked" } else { "burned" }),
        Fact::BadgeClaimed {
            token_id,
            session_id,
            holder,
            role,
        } => sqlx::query(
            "INSERT INTO badge_claimed (block, log_index, ts, token_id, session_id, holder, role) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(n(token_id))
        .bind(*session_id)
        .bind(a(holder))
        .bind(i64::from(*role)),
        Fact::Rated {
            session_id,
            rater,
            ratee,
            rater_role,
            score,
            content_hash,
            cid,
        } => sqlx::query(
            "INSERT INTO rated (block, log_index, ts, session_id, rater, ratee, rater_role, \
             score, content_hash, cid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT DO NOTHING",
        )
        .bind(block)
        .bind(index)
        .bind(ts)
        .bind(*session_id)
        .bind(a(rater))
        .bind(a(ratee))
        .bind(i64::from(*rater_role))
        .bind(i64::from(*score))
        .bind(hex_hash(content_hash))
        .bind(cid.clone()),
    };
    q.execute(&mut **tx).await?;
    Ok(())
}

//! The answers the API serves, read from the [`Store`]. Amounts are summed exactly in
//! `U256` (stored as decimal text) and returned as decimal strings; times are unix
//! seconds; calendar buckets are UTC.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, U256};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::store::{address, amount, amount_opt, hex_addr, Store, StoreError};

/// Whose sessions to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// As student or tutor.
    Any,
    /// As student.
    Student,
    /// As tutor.
    Tutor,
}

/// Calendar bucket of the earnings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// UTC day.
    Day,
    /// ISO week (from Monday, UTC).
    Week,
    /// UTC calendar month.
    Month,
}

/// Whether the party that ended a session was an allowed relayer just before the
/// `SessionEnded` log (the latest `RelayerUpdated` for it earlier in the chain).
pub(crate) const BY_RELAYER: &str =
    "(SELECT r.allowed FROM relayer_updated r WHERE r.relayer = e.ended_by \
     AND (r.block < e.block OR (r.block = e.block AND r.log_index < e.log_index)) \
     ORDER BY r.block DESC, r.log_index DESC LIMIT 1)";

/// One session as the history lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Student.
    pub student: Address,
    /// Tutor.
    pub tutor: Address,
    /// Token.
    pub token: Address,
    /// Base units per second × 1e18.
    pub rate: String,
    /// Deposit after top-ups.
    pub deposited: String,
    /// Credential kind the tutor needed (0: none).
    pub credential_kind: u32,
    /// Protocol fee, basis points, fixed at open.
    pub fee_bps: u16,
    /// `open`, `active`, `ended` or `cancelled`.
    pub state: &'static str,
    /// When it was opened (block time).
    pub opened_at: i64,
    /// When accrual began.
    pub started_at: Option<i64>,
    /// When billing stopped (`end`; never after the funds ran out).
    pub ended_at: Option<i64>,
    /// When the stop was mined (block time of `SessionEnded` / `SessionCancelled`).
    pub settled_at: Option<i64>,
    /// `ended_at − started_at`.
    pub duration_seconds: Option<i64>,
    /// Billed (ended sessions).
    pub billed: Option<String>,
    /// Protocol fee.
    pub fee: Option<String>,
    /// Paid to the tutor at settlement.
    pub tutor_paid: Option<String>,
    /// Withdrawn by the tutor during the session.
    pub withdrawn: String,
    /// Refunded to the student.
    pub refund: Option<String>,
    /// Who ended or cancelled it.
    pub stopped_by: Option<Address>,
    /// `student`, `tutor`, `relayer` or `other`.
    pub stopped_by_role: Option<&'static str>,
    /// `funds_exhausted`, `student_stopped`, `tutor_stopped`, `relayer_detected_disconnect`,
    /// `stopped_by_other` or `cancelled`.
    pub reason: Option<&'static str>,
    /// For a relayer's stop: seconds from the stop's `at` (the silent peer's last
    /// heartbeat) to the block that mined it.
    pub detection_seconds: Option<i64>,
}

/// A page of sessions, newest first.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor of the next page (`None`: last page).
    pub next: Option<String>,
}

const SESSION_COLUMNS: &str = "o.id, o.student, o.tutor, o.token, o.rate, o.deposit, \
     o.credential_kind, o.fee_bps, o.ts AS opened_at, s.start_at, e.end_at, e.ended_by, \
     e.billed, e.tutor_paid, e.fee, e.refund, e.ts AS settled_at, c.cancelled_by, \
     c.refund AS cancel_refund, c.ts AS cancelled_at, \
     (SELECT t.deposited FROM session_topped_up t WHERE t.id = o.id \
      ORDER BY t.block DESC, t.log_index DESC LIMIT 1) AS topped_up";

const SESSION_JOINS: &str = "FROM session_opened o \
     LEFT JOIN session_started s ON s.id = o.id \
     LEFT JOIN session_ended e ON e.id = o.id \
     LEFT JOIN session_cancelled c ON c.id = o.id";

fn session(row: &AnyRow, withdrawn: U256) -> Result<Session, StoreError> {
    let student = address(row, "student")?;
    let tutor = address(row, "tutor")?;
    let deposit = amount(row, "deposit")?;
    let deposited = amount_opt(row, "topped_up")?.unwrap_or(deposit);
    let started_at: Option<i64> = row.try_get("start_at")?;
    let ended_at: Option<i64> = row.try_get("end_at")?;
    let billed = amount_opt(row, "billed")?;
    let fee = amount_opt(row, "fee")?;
    let tutor_paid = amount_opt(row, "tutor_paid")?;
    let by_relayer: Option<i64> = row.try_get("by_relayer")?;
    let ended_by: Option<String> = row.try_get("ended_by")?;
    let cancelled_by: Option<String> = row.try_get("cancelled_by")?;
    let cancelled = cancelled_by.is_some();
    let stopped_by = match ended_by.or(cancelled_by) {
        Some(s) => Some(s.parse::<Address>().map_err(|_| StoreError::Corrupt {
            column: "ended_by",
            value: s,
        })?),
        None => None,
    };
    let role = stopped_by.map(|by| {
        if by == student {
            "student"
        } else if by == tutor {
            "tutor"
        } else if by_relayer == Some(1) {
            "relayer"
        } else {
            "other"
        }
    });
    let (state, reason) = if ended_at.is_some() {
        let reason = if billed == Some(deposited) {
            "funds_exhausted"
        } else {
            match role {
                Some("student") => "student_stopped",
                Some("tutor") => "tutor_stopped",
                Some("relayer") => "relayer_detected_disconnect",
                _ => "stopped_by_other",
            }
        };
        ("ended", Some(reason))
    } else if cancelled {
        ("cancelled", Some("cancelled"))
    } else if started_at.is_some() {
        ("active", None)
    } else {
        ("open", None)
    };
    let settled_at: Option<i64> = match state {
        "ended" => row.try_get("settled_at")?,
        "cancelled" => row.try_get("cancelled_at")?,
        _ => None,
    };
    // Ended: whatever the tutor did not get at settlement of billed − fee was withdrawn.
    let withdrawn = match (billed, fee, tutor_paid) {
        (Some(b), Some(f), Some(p)) => b.saturating_sub(f).saturating_sub(p),
        _ => withdrawn,
    };
    let id: i64 = row.try_get("id")?;
    let kind: i64 = row.try_get("credential_kind")?;
    let fee_bps: i64 = row.try_get("fee_bps")?;
    Ok(Session {
        id: id.to_string(),
        student,
        tutor,
        token: address(row, "token")?,
        rate: amount(row, "rate")?.to_string(),
        deposited: deposited.to_string(),
        credential_kind: kind as u32,
        fee_bps: fee_bps as u16,
        state,
        opened_at: row.try_get("opened_at")?,
        started_at,
        ended_at,
        settled_at,
        duration_seconds: started_at.zip(ended_at).map(|(s, e)| e - s),
        billed: billed.map(|v| v.to_string()),
        fee: fee.map(|v| v.to_string()),
        tutor_paid: tutor_paid.map(|v| v.to_string()),
        withdrawn: withdrawn.to_string(),
        refund: amount_opt(row, "refund")?
            .or(amount_opt(row, "cancel_refund")?)
            .map(|v| v.to_string()),
        stopped_by,
        stopped_by_role: role,
        reason,
        detection_seconds: match (role, ended_at, settled_at) {
            (Some("relayer"), Some(end), Some(mined)) if state == "ended" => Some(mined - end),
            _ => None,
        },
    })
}

fn filter(role: Role) -> &'static str {
    match role {
        Role::Any => "(o.student = $1 OR o.tutor = $1)",
        Role::Student => "o.student = $1",
        Role::Tutor => "o.tutor = $1",
    }
}

/// `account`'s sessions with ids below `before`, newest first, at most `limit`.
///
/// # Errors
/// [`StoreError`].
pub async fn sessions(
    store: &Store,
    account: Address,
    role: Role,
    before: Option<i64>,
    limit: u32,
) -> Result<Page<Session>, StoreError> {
    let who = filter(role);
    // Either role: the page's ids from each role's index, then those sessions. The plain
    // `(o.student = $1 OR o.tutor = $1)` let PostgreSQL walk the whole id index backwards
    // for an account with few sessions (240–370 ms with 1,000,000 stored, on the custom
    // plans of each connection's first five executions).
    let page_ids = match role {
        Role::Any => {
            "o.id IN (SELECT id FROM (SELECT id FROM session_opened WHERE student = $1 \
             AND id < $2 ORDER BY id DESC LIMIT $3) AS as_student UNION ALL SELECT id FROM \
             (SELECT id FROM session_opened WHERE tutor = $1 AND id < $2 ORDER BY id DESC \
             LIMIT $3) AS as_tutor)"
        }
        Role::Student | Role::Tutor => who,
    };
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, {BY_RELAYER} AS by_relayer {SESSION_JOINS} \
         WHERE {page_ids} AND o.id < $2 ORDER BY o.id DESC LIMIT $3"
    );
    let before = before.unwrap_or(i64::MAX);
    let rows = sqlx::query(&sql)
        .bind(hex_addr(&account))
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(store.pool())
        .await?;
    let more = rows.len() > limit as usize;
    let rows = &rows[..rows.len().min(limit as usize)];
    // Withdrawals of the page's sessions (only those still running need them).
    let mut withdrawn: BTreeMap<i64, U256> = BTreeMap::new();
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let (hi, lo): (i64, i64) = (first.try_get("id")?, last.try_get("id")?);
        let sql = format!(
            "SELECT w.id, w.amount FROM withdrawn w JOIN session_opened o ON o.id = w.id \
             WHERE {who} AND w.id <= $2 AND w.id >= $3"
        );
        let ws = sqlx::query(&sql)
            .bind(hex_addr(&account))
            .bind(hi)
            .bind(lo)
            .fetch_all(store.pool())
            .await?;
        for w in &ws {
            let slot = withdrawn.entry(w.try_get("id")?).or_default();
            *slot = slot.saturating_add(amount(w, "amount")?);
        }
    }
    let items = rows
        .iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            session(r, withdrawn.get(&id).copied().unwrap_or_default())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next = more.then(|| items.last().map(|s| s.id.clone())).flatten();
    Ok(Page { items, next })
}

/// One session by id.
///
/// # Errors
/// [`StoreError`].
pub async fn session_by_id(store: &Store, id: i64) -> Result<Option<Session>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, {BY_RELAYER} AS by_relayer {SESSION_JOINS} WHERE o.id = $1"
    );
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let mut withdrawn = U256::ZERO;
    for w in sqlx::query("SELECT amount FROM withdrawn WHERE id = $1")
        .bind(id)
        .fetch_all(store.pool())
        .await?
    {
        withdrawn = withdrawn.saturating_add(amount(&w, "amount")?);
    }
    session(&row, withdrawn).map(Some)
}

// ---------------------------------------------------------------- calendar

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The bucket `ts` falls in: `2026-12-03` (day), `2026-11-30` (its week's Monday), or
/// `2026-12` (month).
pub fn bucket(ts: i64, period: Period) -> String {
    let day = ts.div_euclid(86_400);
    match period {
        Period::Day => {
            let (y, m, d) = civil(day);
            format!("{y:04}-{m:02}-{d:02}")
        }
        Period::Week => {
            // 1970-01-01 was a Thursday: Monday is 3 days before.
            let (y, m, d) = civil(day - (day + 3).rem_euclid(7));
            format!("{y:04}-{m:02}-{d:02}")
        }
        Period::Month => {
            let (y, m, _) = civil(day);
            format!("{y:04}-{m:02}")
        }
    }
}

// ---------------------------------------------------------------- earnings

/// Earnings of one bucket in one token (sessions that ended in it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Earnings {
    /// Bucket (`2026-12-03`, `2026-11-30`, `2026-12`); absent in totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Token.
    pub token: Address,
    /// Sessions ended.
    pub sessions: u64,
    /// Billed.
    pub gross: String,
    /// Protocol fee.
    pub fee: String,
    /// `gross − fee`: the tutor's.
    pub net: String,
    /// Withdrawn during the sessions (the rest of `net` was paid, or credited, at
    /// settlement).
    pub withdrawn: String,
    /// Totals only: credited payouts the token refused, not yet claimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimable: Option<String>,
}

#[derive(Default)]
struct Sums {
    sessions: u64,
    gross: U256,
    fee: U256,
    withdrawn: U256,
}

impl Sums {
    fn add(&mut self, billed: U256, fee: U256, paid: U256) {
        self.sessions += 1;
        self.gross += billed;
        self.fee += fee;
        self.withdrawn += billed.saturating_sub(fee).saturating_sub(paid);
    }

    fn out(&self, period: Option<String>, token: Address, claimable: Option<U256>) -> Earnings {
        Earnings {
            period,
            token,
            sessions: self.sessions,
            gross: self.gross.to_string(),
            fee: self.fee.to_string(),
            net: (self.gross - self.fee).to_string(),
            withdrawn: self.withdrawn.to_string(),
            claimable: claimable.map(|c| c.to_string()),
        }
    }
}

/// A tutor's earnings: buckets newest first (those before `before`, at most `limit`
/// periods) and totals per token.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TutorEarnings {
    /// The tutor.
    pub tutor: Address,
    /// `day`, `week` or `month`.
    pub period: &'static str,
    /// One entry per period and token.
    pub buckets: Vec<Earnings>,
    /// Per token, every ended session, with what is claimable.
    pub totals: Vec<Earnings>,
    /// Cursor of the next page of buckets.
    pub next: Option<String>,
}

/// Credited minus claimed per token for `account`.
async fn claimable(store: &Store, account: Address) -> Result<BTreeMap<Address, U256>, StoreError> {
    let mut out: BTreeMap<Address, U256> = BTreeMap::new();
    for r in sqlx::query("SELECT token, amount FROM payout_credited WHERE account = $1")
        .bind(hex_addr(&account))
        .fetch_all(store.pool())
        .await?
    {
        *out.entry(address(&r, "token")?).or_default() += amount(&r, "amount")?;
    }
    for r in sqlx::query("SELECT token, amount FROM claimed WHERE account = $1")
        .bind(hex_addr(&account))
        .fetch_all(store.pool())
        .await?
    {
        let slot = out.entry(address(&r, "token")?).or_default();
        *slot = slot.saturating_sub(amount(&r, "amount")?);
    }
    Ok(out)
}

/// `tutor`'s earnings by `period`.
///
/// # Errors
/// [`StoreError`].
pub async fn earnings(
    store: &Store,
    tutor: Address,
    period: Period,
    before: Option<&str>,
    limit: u32,
) -> Result<TutorEarnings, StoreError> {
    let rows = sqlx::query(
        "SELECT o.token, e.end_at, e.billed, e.fee, e.tutor_paid FROM session_ended e \
         JOIN session_opened o ON o.id = e.id WHERE o.tutor = $1",
    )
    .bind(hex_addr(&tutor))
    .fetch_all(store.pool())
    .await?;
    let mut buckets: BTreeMap<(String, Address), Sums> = BTreeMap::new();
    let mut totals: BTreeMap<Address, Sums> = BTreeMap::new();
    for r in &rows {
        let token = address(r, "token")?;
        let (billed, fee, paid) = (
            amount(r, "billed")?,
            amount(r, "fee")?,
            amount(r, "tutor_paid")?,
        );
        let key = bucket(r.try_get("end_at")?, period);
        buckets
            .entry((key, token))
            .or_default()
            .add(billed, fee, paid);
        totals.entry(token).or_default().add(billed, fee, paid);
    }
    // Withdrawals from sessions still running count in the totals too.
    for r in sqlx::query(
        "SELECT o.token, w.amount FROM withdrawn w JOIN session_opened o ON o.id = w.id \
         LEFT JOIN session_ended e ON e.id = w.id WHERE o.tutor = $1 AND e.id IS NULL",
    )
    .bind(hex_addr(&tutor))
    .fetch_all(store.pool())
    .await?
    {
        totals.entry(address(&r, "token")?).or_default().withdrawn += amount(&r, "amount")?;
    }
    let credit = claimable(store, tutor).await?;
    let periods: BTreeSet<&String> = buckets
        .keys()
        .map(|(p, _)| p)
        .filter(|p| before.is_none_or(|b| p.as_str() < b))
        .collect();
    let page: Vec<&String> = periods.iter().rev().take(limit as usize).copied().collect();
    let next = (periods.len() > page.len())
        .then(|| page.last().map(|p| (*p).clone()))
        .flatten();
    let mut out = Vec::new();
    for p in &page {
        for ((key, token), sums) in buckets.range(((*p).clone(), Address::ZERO)..) {
            if key != *p {
                break;
            }
            out.push(sums.out(Some(key.clone()), *token, None));
        }
    }
    let mut tokens: BTreeSet<Address> = totals.keys().copied().collect();
    tokens.extend(credit.keys().copied());
    let totals = tokens
        .into_iter()
        .map(|t| {
            let none = Sums::default();
            let s = totals.get(&t).unwrap_or(&none);
            s.out(None, t, Some(credit.get(&t).copied().unwrap_or_default()))
        })
        .collect();
    Ok(TutorEarnings {
        tutor,
        period: match period {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        },
        buckets: out,
        totals,
        next,
    })
}

// ---------------------------------------------------------------- progress

/// Time and sessions with one tutor or in one credential kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Time {
    /// Ended sessions.
    pub sessions: u64,
    /// Seconds billed (`end − start`).
    pub seconds: i64,
    /// The same in hours.
    pub hours: f64,
}

impl Time {
    fn add(&mut self, seconds: i64) {
        self.sessions += 1;
        self.seconds += seconds;
        self.hours = self.seconds as f64 / 3600.0;
    }
}

/// Spend in one token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spend {
    /// Token.
    pub token: Address,
    /// Billed: what the lessons cost (fees included).
    pub billed: String,
}

/// Days in a row with at least one lesson ended (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Streaks {
    /// Through today or yesterday (0: the last lesson was earlier).
    pub current: u32,
    /// Longest ever.
    pub longest: u32,
    /// Distinct days with a lesson.
    pub active_days: u32,
}

/// Streaks over `days` (day numbers since 1970-01-01), as of day `today`.
pub fn streaks(days: &BTreeSet<i64>, today: i64) -> Streaks {
    let (mut longest, mut run, mut prev) = (0u32, 0u32, None::<i64>);
    for &d in days {
        run = if prev == Some(d - 1) { run + 1 } else { 1 };
        longest = longest.max(run);
        prev = Some(d);
    }
    let current = match prev {
        Some(last) if last >= today - 1 => run,
        _ => 0,
    };
    Streaks {
        current,
        longest,
        active_days: days.len() as u32,
    }
}

/// A student's learning progress.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The student.
    pub student: Address,
    /// Every ended lesson.
    pub total: Time,
    /// Per tutor.
    pub by_tutor: BTreeMap<Address, Time>,
    /// Per credential kind the tutor had to hold (0: none required).
    pub by_credential_kind: BTreeMap<u32, Time>,
    /// Billed per token.
    pub spend: Vec<Spend>,
    /// Days in a row.
    pub streaks: Streaks,
}

/// `student`'s progress as of `now`.
///
/// # Errors
/// [`StoreError`].
pub async fn progress(store: &Store, student: Address, now: i64) -> Result<Progress, StoreError> {
    let rows = sqlx::query(
        "SELECT o.tutor, o.token, o.credential_kind, s.start_at, e.end_at, e.billed \
         FROM session_ended e JOIN session_opened o ON o.id = e.id \
         JOIN session_started s ON s.id = e.id WHERE o.student = $1",
    )
    .bind(hex_addr(&student))
    .fetch_all(store.pool())
    .await?;
    let mut total = Time::default();
    let mut by_tutor: BTreeMap<Address, Time> = BTreeMap::new();
    let mut by_kind: BTreeMap<u32, Time> = BTreeMap::new();
    let mut spend: BTreeMap<Address, U256> = BTreeMap::new();
    let mut days = BTreeSet::new();
    for r in &rows {
        let (start, end): (i64, i64) = (r.try_get("start_at")?, r.try_get("end_at")?);
        let secs = end - start;
        let kind: i64 = r.try_get("credential_kind")?;
        total.add(secs);
        by_tutor.entry(address(r, "tutor")?).or_default().add(secs);
        by_kind.entry(kind as u32).or_default().add(secs);
        *spend.entry(address(r, "token")?).or_default() += amount(r, "billed")?;
        days.insert(end.div_euclid(86_400));
    }
    Ok(Progress {
        student,
        total,
        by_tutor,
        by_credential_kind: by_kind,
        spend: spend
            .into_iter()
            .map(|(token, billed)| Spend {
                token,
                billed: billed.to_string(),
            })
            .collect(),
        streaks: streaks(&days, now.div_euclid(86_400)),
    })
}

// ---------------------------------------------------------------- profile

/// Ratings received in one role.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ratings {
    /// How many.
    pub count: u64,
    /// Sum of scores (1–5 each).
    pub sum: u64,
    /// `sum / count` (`None` without ratings).
    pub average: Option<f64>,
}

/// An attendance badge claimed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Badge {
    /// Token id.
    pub token_id: String,
    /// Session it attests.
    pub session_id: String,
    /// `student` or `tutor`.
    pub role: &'static str,
    /// When it was claimed.
    pub claimed_at: i64,
}

/// A credential valid now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// Token id.
    pub token_id: String,
    /// Kind.
    pub kind: u32,
    /// Expiry (0: never).
    pub expiry: i64,
    /// Metadata URI.
    pub uri: String,
    /// Issuer.
    pub issuer: Address,
    /// When it was issued.
    pub issued_at: i64,
}

/// Sessions held, ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    /// As tutor.
    pub as_tutor: u64,
    /// As student.
    pub as_student: u64,
    /// Seconds taught.
    pub seconds_as_tutor: i64,
    /// Seconds learnt.
    pub seconds_as_student: i64,
}

/// A public profile.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The account.
    pub account: Address,
    /// Ratings received from students.
    pub ratings_as_tutor: Ratings,
    /// Ratings received from tutors.
    pub ratings_as_student: Ratings,
    /// Badges claimed, oldest first.
    pub badges: Vec<Badge>,
    /// Credentials neither revoked, burned nor expired at `now`.
    pub credentials: Vec<Credential>,
    /// Ended sessions.
    pub sessions: Held,
}

/// `account`'s profile as of `now`.
///
/// # Errors
/// [`StoreError`].
pub async fn profile(store: &Store, account: Address, now: i64) -> Result<Profile, StoreError> {
    let who = hex_addr(&account);
    let mut as_tutor = Ratings::default();
    let mut as_student = Ratings::default();
    for r in sqlx::query(
        "SELECT rater_role, COUNT(*) AS n, CAST(SUM(score) AS BIGINT) AS total FROM rated \
         WHERE ratee = $1 GROUP BY rater_role",
    )
    .bind(&who)
    .fetch_all(store.pool())
    .await?
    {
        let (role, n, total): (i64, i64, i64) = (
            r.try_get("rater_role")?,
            r.try_get("n")?,
            r.try_get("total")?,
        );
        // A student (rater role 1) rates the tutor; a tutor (2) the student.
        let slot = if role == 1 {
            &mut as_tutor
        } else {
            &mut as_student
        };
        slot.count += n as u64;
        slot.sum += total as u64;
    }
    for r in [&mut as_tutor, &mut as_student] {
        r.average = (r.count > 0).then(|| r.sum as f64 / r.count as f64);
    }
    let badges = sqlx::query(
        "SELECT token_id, session_id, role, ts FROM badge_claimed WHERE holder = $1 \
         ORDER BY block, log_index",
    )
    .bind(&who)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        let session: i64 = r.try_get("session_id")?;
        let role: i64 = r.try_get("role")?;
        Ok(Badge {
            token_id: r.try_get("token_id")?,
            session_id: session.to_string(),
            role: if role == 1 { "student" } else { "tutor" },
            claimed_at: r.try_get("ts")?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    let credentials = sqlx::query(
        "SELECT i.token_id, i.kind, i.expiry, i.uri, i.issuer, i.ts FROM credential_issued i \
         WHERE i.holder = $1 AND (i.expiry = 0 OR i.expiry > $2) AND NOT EXISTS \
         (SELECT 1 FROM credential_ended x WHERE x.token_id = i.token_id) \
         ORDER BY i.block, i.log_index",
    )
    .bind(&who)
    .bind(now)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| {
        let kind: i64 = r.try_get("kind")?;
        Ok(Credential {
            token_id: r.try_get("token_id")?,
            kind: kind as u32,
            expiry: r.try_get("expiry")?,
            uri: r.try_get("uri")?,
            issuer: address(r, "issuer")?,
            issued_at: r.try_get("ts")?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    let mut held = Held::default();
    for r in sqlx::query(
        "SELECT o.student, o.tutor, s.start_at, e.end_at FROM session_ended e \
         JOIN session_opened o ON o.id = e.id JOIN session_started s ON s.id = e.id \
         WHERE o.student = $1 OR o.tutor = $1",
    )
    .bind(&who)
    .fetch_all(store.pool())
    .await?
    {
        let secs = r.try_get::<i64, _>("end_at")? - r.try_get::<i64, _>("start_at")?;
        if address(&r, "tutor")? == account {
            held.as_tutor += 1;
            held.seconds_as_tutor += secs;
        }
        if address(&r, "student")? == account {
            held.as_student += 1;
            held.seconds_as_student += secs;
        }
    }
    Ok(Profile {
        account,
        ratings_as_tutor: as_tutor,
        ratings_as_student: as_student,
        badges,
        credentials,
        sessions: held,
    })
}

// ---------------------------------------------------------------- stats

/// Sessions ended on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Day {
    /// `2026-12-03`.
    pub day: String,
    /// Sessions ended.
    pub sessions: u64,
}

/// Volume in one token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Token.
    pub token: Address,
    /// Sessions ended.
    pub sessions: u64,
    /// Billed.
    pub billed: String,
    /// Protocol fees.
    pub fees: String,
}

/// Protocol-wide numbers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Sessions opened.
    pub sessions_opened: u64,
    /// Sessions ended (settled).
    pub sessions_ended: u64,
    /// Sessions cancelled before they started.
    pub sessions_cancelled: u64,
    /// Per day, newest first (the last `days` days with sessions).
    pub sessions_per_day: Vec<Day>,
    /// Per token.
    pub volume: Vec<Volume>,
    /// Median `end − start` of ended sessions (the lower middle for an even count).
    pub median_seconds: Option<i64>,
    /// Share of ended sessions a relayer stopped (0–1).
    pub ended_by_relayer: Option<f64>,
    /// Mean seconds from a relayer's `at` to the block that mined its stop.
    pub average_detection_seconds: Option<f64>,
    /// Events stored.
    pub events: u64,
}

/// The protocol's numbers; `days` bounds the per-day list.
///
/// # Errors
/// [`StoreError`].
pub async fn stats(store: &Store, days: u32) -> Result<Stats, StoreError> {
    // The totals ingestion keeps per UTC day and token (see migration 4): a few rows per day.
    let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
    let mut volume: BTreeMap<Address, (u64, U256, U256)> = BTreeMap::new();
    let (mut ended, mut n, mut delay) = (0u64, 0u64, 0i64);
    for r in sqlx::query(
        "SELECT day, token, sessions, billed, fees, relayer_stops, detection_seconds \
         FROM stats_daily",
    )
    .fetch_all(store.pool())
    .await?
    {
        let sessions = r.try_get::<i64, _>("sessions")? as u64;
        *per_day.entry(r.try_get("day")?).or_default() += sessions;
        ended += sessions;
        n += r.try_get::<i64, _>("relayer_stops")? as u64;
        delay += r.try_get::<i64, _>("detection_seconds")?;
        // '': ended sessions whose SessionOpened is not stored (no token known).
        if r.try_get::<String, _>("token")?.is_empty() {
            continue;
        }
        let v = volume.entry(address(&r, "token")?).or_default();
        v.0 += sessions;
        v.1 += amount(&r, "billed")?;
        v.2 += amount(&r, "fees")?;
    }
    let per_day = per_day
        .into_iter()
        .rev()
        .take(days as usize)
        .map(|(day, sessions)| Day {
            day: bucket(day * 86_400, Period::Day),
            sessions,
        })
        .collect();
    let median_seconds = if ended == 0 {
        None
    } else {
        sqlx::query_scalar("SELECT seconds FROM session_length ORDER BY seconds LIMIT 1 OFFSET $1")
            .bind(((ended - 1) / 2) as i64)
            .fetch_optional(store.pool())
            .await?
    };
    Ok(Stats {
        sessions_opened: store.row_count("session_opened").await?,
        sessions_ended: ended,
        sessions_cancelled: store.row_count("session_cancelled").await?,
        sessions_per_day: per_day,
        volume: volume
            .into_iter()
            .map(|(token, (sessions, billed, fees))| Volume {
                token,
                sessions,
                billed: billed.to_string(),
                fees: fees.to_string(),
            })
            .collect(),
        median_seconds,
        ended_by_relayer: (ended > 0).then(|| n as f64 / ended as f64),
        average_detection_seconds: (n > 0).then(|| delay as f64 / n as f64),
        events: store.event_count().await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_utc_calendar() {
        // 2026-12-03 13:00:00 UTC, a Thursday.
        let ts = 1_796_302_800;
        assert_eq!(bucket(ts, Period::Day), "2026-12-03");
        assert_eq!(bucket(ts, Period::Week), "2026-11-30");
        assert_eq!(bucket(ts, Period::Month), "2026-12");
        assert_eq!(bucket(0, Period::Day), "1970-01-01");
        assert_eq!(bucket(0, Period::Week), "1969-12-29");
        // 2024-02-29 (leap day) 23:59:59 and one second later.
        assert_eq!(bucket(1_709_251_199, Period::Day), "2024-02-29");
        assert_eq!(bucket(1_709_251_200, Period::Month), "2024-03");
    }

    #[test]
    fn streaks_count_consecutive_days() {
        let days: BTreeSet<i64> = [10, 11, 12, 20, 21].into_iter().collect();
        assert_eq!(
            streaks(&days, 22),
            Streaks {
                current: 2,
                longest: 3,
                active_days: 5
            }
        );
        assert_eq!(streaks(&days, 21).current, 2);
        assert_eq!(streaks(&days, 23).current, 0);
        assert_eq!(streaks(&BTreeSet::new(), 5), Streaks::default());
    }
}

/// A vetting application's status filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VettingStatus {
    /// Not closed yet (taking votes, or past its deadline until someone calls `expire`).
    Open,
    /// Closed as `outcome`.
    Closed(crate::events::Outcome),
}

/// What to list of the vetting applications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VettingFilter {
    /// Only with this status.
    pub status: Option<VettingStatus>,
    /// Only this tutor's.
    pub tutor: Option<Address>,
    /// Only of this credential kind.
    pub kind: Option<u32>,
}

/// One vetting application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Application id.
    pub id: String,
    /// The tutor it is about.
    pub tutor: Address,
    /// Credential kind.
    pub kind: u32,
    /// `issue`, `renew` or `revoke`.
    pub action: &'static str,
    /// The credential a revocation is about (`None` for an issue or renewal).
    pub revokes: Option<String>,
    /// Who opened it: the tutor, or the reviewer proposing a revocation.
    pub opened_by: Address,
    /// When it was opened (block time).
    pub opened_at: i64,
    /// Votes are taken until then (unix seconds).
    pub deadline: i64,
    /// The evidence (issue, renew) or the reason (revoke).
    pub cid: String,
    /// `open`, `approved`, `rejected`, `expired` or `superseded`.
    pub status: &'static str,
    /// Approving votes cast.
    pub approvals: i64,
    /// Rejecting votes cast.
    pub rejections: i64,
    /// How it was closed (`None` while open).
    pub closed: Option<Closed>,
}

/// How and when a vetting application was closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Closed {
    /// Block time of the decision, expiry or supersession.
    pub at: i64,
    /// Approved: the credential issued (issue, renew) or revoked (`None`: a revocation
    /// whose credential was already gone).
    pub credential: Option<String>,
    /// Superseded: the revocation that took the application's place.
    pub superseded_by: Option<String>,
}

/// One reviewer's vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    /// The reviewer.
    pub reviewer: Address,
    /// Approve (`true`) or reject.
    pub approve: bool,
    /// The reason's CID (may be empty).
    pub reason_cid: String,
    /// Block time of the vote.
    pub at: i64,
}

/// A vetting application with its votes, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApplicationDetail {
    /// The application.
    #[serde(flatten)]
    pub application: Application,
    /// Its votes.
    pub votes: Vec<Vote>,
}

const APPLICATION_SELECT: &str = "SELECT o.application_id, o.tutor, o.kind, o.action, \
     o.token_id, o.opened_by, o.ts AS opened_at, o.deadline, o.cid, c.outcome, \
     c.ts AS closed_at, c.token_id AS closed_token, c.revocation_id, \
     (SELECT COUNT(*) FROM vetting_voted v WHERE v.application_id = o.application_id \
      AND v.approve = 1) AS approvals, \
     (SELECT COUNT(*) FROM vetting_voted v WHERE v.application_id = o.application_id \
      AND v.approve = 0) AS rejections \
     FROM vetting_opened o LEFT JOIN vetting_closed c ON c.application_id = o.application_id";

/// A uint256 stored as decimal text, `None` when zero.
fn nonzero(row: &AnyRow, column: &'static str) -> Result<Option<String>, StoreError> {
    Ok(amount_opt(row, column)?
        .filter(|v| !v.is_zero())
        .map(|v| v.to_string()))
}

fn application_row(row: &AnyRow) -> Result<Application, StoreError> {
    let id: i64 = row.try_get("application_id")?;
    let kind: i64 = row.try_get("kind")?;
    let action: i64 = row.try_get("action")?;
    let outcome: Option<String> = row.try_get("outcome")?;
    let status = match outcome.as_deref() {
        None => "open",
        Some("approved") => "approved",
        Some("rejected") => "rejected",
        Some("expired") => "expired",
        Some("superseded") => "superseded",
        Some(other) => {
            return Err(StoreError::Corrupt {
                column: "outcome",
                value: other.into(),
            })
        }
    };
    let closed = match row.try_get::<Option<i64>, _>("closed_at")? {
        None => None,
        Some(at) => Some(Closed {
            at,
            credential: nonzero(row, "closed_token")?,
            superseded_by: nonzero(row, "revocation_id")?,
        }),
    };
    Ok(Application {
        id: id.to_string(),
        tutor: address(row, "tutor")?,
        kind: kind as u32,
        action: match action {
            1 => "issue",
            2 => "renew",
            3 => "revoke",
            _ => "unknown",
        },
        revokes: nonzero(row, "token_id")?,
        opened_by: address(row, "opened_by")?,
        opened_at: row.try_get("opened_at")?,
        deadline: row.try_get("deadline")?,
        cid: row.try_get("cid")?,
        status,
        approvals: row.try_get("approvals")?,
        rejections: row.try_get("rejections")?,
        closed,
    })
}

/// Vetting applications matching `filter` with ids below `before`, newest first, at most
/// `limit`.
///
/// # Errors
/// [`StoreError`].
pub async fn applications(
    store: &Store,
    filter: VettingFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<Page<Application>, StoreError> {
    enum P {
        I(i64),
        T(String),
    }
    let mut sql = format!("{APPLICATION_SELECT} WHERE o.application_id < $1");
    let mut params = vec![P::I(before.unwrap_or(i64::MAX))];
    let mut and = |sql: &mut String, column: &str, p: P| {
        params.push(p);
        sql.push_str(&format!(" AND {column} = ${}", params.len()));
    };
    match filter.status {
        None => {}
        Some(VettingStatus::Open) => sql.push_str(" AND c.outcome IS NULL"),
        Some(VettingStatus::Closed(outcome)) => {
            and(&mut sql, "c.outcome", P::T(outcome.key().into()));
        }
    }
    if let Some(tutor) = filter.tutor {
        and(&mut sql, "o.tutor", P::T(hex_addr(&tutor)));
    }
    if let Some(kind) = filter.kind {
        and(&mut sql, "o.kind", P::I(i64::from(kind)));
    }
    params.push(P::I(i64::from(limit) + 1));
    sql.push_str(&format!(
        " ORDER BY o.application_id DESC LIMIT ${}",
        params.len()
    ));
    let mut q = sqlx::query(&sql);
    for p in params {
        q = match p {
            P::I(i) => q.bind(i),
            P::T(t) => q.bind(t),
        };
    }
    let rows = q.fetch_all(store.pool()).await?;
    let more = rows.len() > limit as usize;
    let items = rows[..rows.len().min(limit as usize)]
        .iter()
        .map(application_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next = more.then(|| items.last().map(|a| a.id.clone())).flatten();
    Ok(Page { items, next })
}

/// One vetting application with its votes.
///
/// # Errors
/// [`StoreError`].
pub async fn application_by_id(
    store: &Store,
    id: i64,
) -> Result<Option<ApplicationDetail>, StoreError> {
    let sql = format!("{APPLICATION_SELECT} WHERE o.application_id = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let application = application_row(&row)?;
    let votes = sqlx::query(
        "SELECT reviewer, approve, reason_cid, ts FROM vetting_voted \
         WHERE application_id = $1 ORDER BY block, log_index",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|v| {
        let approve: i64 = v.try_get("approve")?;
        Ok(Vote {
            reviewer: address(v, "reviewer")?,
            approve: approve == 1,
            reason_cid: v.try_get("reason_cid")?,
            at: v.try_get("ts")?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(ApplicationDetail { application, votes }))
}

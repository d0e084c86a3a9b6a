//! minuto-booking as the API serves it: a party's bookings with their state, the
//! tutors a student keeps coming back to with the arguments to book them again, and the
//! `booking_reminder`s and `booking_funding_reminder`s the indexer fires by its clock.
//!
//! A booking's state is never stored: it is its latest `booking_change` row (none:
//! `requested`), so a rewind that deletes rows brings back the state the chain now has.

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};
use minuto_chain::alloy::sol_types::SolCall;
use minuto_chain::bindings::IBooking;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::query::Page;
use crate::store::{address, amount, amount_opt, hex_addr, Store, StoreError};

/// Minutes before a booking's start at which `booking_reminder` fires, largest first.
pub const REMINDER_MINUTES: [i64; 2] = [30, 5];

/// Minutes before an unfunded lesson's `fundBy` at which `booking_funding_reminder` fires
/// (24 h and 1 h), largest first.
pub const FUNDING_REMINDER_MINUTES: [i64; 2] = [1_440, 60];

/// Log index of the first reminder fired at a block (see [`fire_reminders`]): far below
/// any real log index, so a reminder sorts after every stored log and before the logs of
/// the block it fired at.
pub const REMINDER_BASE: i64 = -(1 << 40);

/// The tutor's cancellation policy, snapshotted at request (or published now).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Cancellations at least this many seconds before the start are free.
    pub free_notice: u32,
    /// Later ones cost this share of the price.
    pub late_cancel_fee_bps: u16,
    /// A student no-show costs this share of the price.
    pub no_show_fee_bps: u16,
}

/// One of a booking's events after its request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The state it moved the booking to.
    pub state: &'static str,
    /// Its block's time.
    pub at: i64,
    /// Its block.
    pub block: i64,
    /// The address the event names (the tutor who answered, who cancelled, expired or
    /// settled a no-show); `None` for a join and a refused join.
    pub by: Option<Address>,
}

/// One booking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    /// Booking id.
    pub id: String,
    /// Student.
    pub student: Address,
    /// Tutor.
    pub tutor: Address,
    /// Token.
    pub token: Address,
    /// The lesson's start (unix seconds).
    pub start: i64,
    /// Booked seconds.
    pub duration: i64,
    /// `start + duration`.
    pub end: i64,
    /// Base units a second × 1e18.
    pub rate: String,
    /// `floor(duration × rate / 1e18)`: what a join escrows.
    pub price: String,
    /// Pulled at request.
    pub deposit: String,
    /// Credential kind the tutor must hold (0: none).
    pub credential_kind: u32,
    /// The tutor answers by then.
    pub answer_deadline: i64,
    /// The tutor's policy at request.
    pub policy: Policy,
    /// A lesson of a series funded lesson by lesson not funded yet: the time by which the
    /// student must `fund` it (`BookingFundingDue`); `None` while the deposit is held.
    pub fund_by: Option<i64>,
    /// Whether the deposit is held: `false` for a lesson booked without it and not funded
    /// (then `deposit` is what it will hold), until its `BookingFunded`.
    pub funded: bool,
    /// When the deposit of a lesson booked without it was pulled in (`BookingFunded`'s
    /// block time); `None` otherwise.
    pub funded_at: Option<i64>,
    /// The first booking of its series (`SeriesRequested`); `None` for a single lesson.
    pub series_first_id: Option<String>,
    /// `requested`, `accepted`, `declined`, `expired`, `cancelled`, `joined`,
    /// `student_no_show`, `tutor_no_show`, `join_refused` or `tutor_ended_early`: its
    /// latest event's.
    pub state: &'static str,
    /// Block time of the request.
    pub requested_at: i64,
    /// Block of the request.
    pub requested_block: i64,
    /// To the tutor: a late cancellation's or a student no-show's fee.
    pub tutor_fee: Option<String>,
    /// Back to the student: a decline's, expiry's, cancellation's, no-show's or refused
    /// join's, or at a join the deposit above the price.
    pub refund: Option<String>,
    /// Into the escrow session at the join (the price).
    pub escrowed: Option<String>,
    /// The escrow session once joined.
    pub session_id: Option<String>,
    /// A refused join's reason (1 not the escrow's booking contract, 2 escrow paused, 3
    /// token delisted).
    pub join_refused_reason: Option<u8>,
    /// The seconds the session ran when its tutor ended it short of the booked time
    /// (`tutor_ended_early`).
    pub held: Option<u64>,
    /// Every event after the request, oldest first.
    pub changes: Vec<Change>,
}

/// `floor(duration × rate / 1e18)`, the contract's price.
pub fn price(duration: u64, rate: U256) -> U256 {
    U256::from(duration).saturating_mul(rate) / U256::from(10u64).pow(U256::from(18))
}

/// The columns [`booking_row`] reads, from `booking b`.
const COLUMNS: &str = "b.id, b.block, b.ts, b.student, b.tutor, b.token, b.start_at, \
     b.duration, b.rate, b.deposit, b.credential_kind, b.answer_deadline, b.free_notice, \
     b.late_cancel_fee_bps, b.no_show_fee_bps, \
     (SELECT s.first_id FROM booking_series s WHERE s.student = b.student \
      AND s.first_id <= b.id AND b.id < s.first_id + s.lessons \
      ORDER BY s.first_id DESC LIMIT 1) AS series_first, \
     (SELECT f.fund_by FROM booking_funding f WHERE f.id = b.id AND f.kind = 'due' \
      ORDER BY f.block DESC, f.log_index DESC LIMIT 1) AS fund_by, \
     (SELECT f.ts FROM booking_funding f WHERE f.id = b.id AND f.kind = 'funded' \
      ORDER BY f.block, f.log_index LIMIT 1) AS funded_at";

fn booking_row(r: &AnyRow, changes: Vec<(Change, ChangeAmounts)>) -> Result<Booking, StoreError> {
    let start: i64 = r.try_get("start_at")?;
    let duration: i64 = r.try_get("duration")?;
    let rate = amount(r, "rate")?;
    let due: Option<i64> = r.try_get("fund_by")?;
    let funded_at: Option<i64> = r.try_get("funded_at")?;
    let funded = due.is_none() || funded_at.is_some();
    let mut b = Booking {
        id: r.try_get::<i64, _>("id")?.to_string(),
        student: address(r, "student")?,
        tutor: address(r, "tutor")?,
        token: address(r, "token")?,
        start,
        duration,
        end: start + duration,
        rate: rate.to_string(),
        price: price(duration as u64, rate).to_string(),
        deposit: amount(r, "deposit")?.to_string(),
        credential_kind: r.try_get::<i64, _>("credential_kind")? as u32,
        answer_deadline: r.try_get("answer_deadline")?,
        policy: Policy {
            free_notice: r.try_get::<i64, _>("free_notice")? as u32,
            late_cancel_fee_bps: r.try_get::<i64, _>("late_cancel_fee_bps")? as u16,
            no_show_fee_bps: r.try_get::<i64, _>("no_show_fee_bps")? as u16,
        },
        series_first_id: r
            .try_get::<Option<i64>, _>("series_first")?
            .map(|v| v.to_string()),
        fund_by: if funded { None } else { due },
        funded,
        funded_at: due.and(funded_at),
        state: "requested",
        requested_at: r.try_get("ts")?,
        requested_block: r.try_get("block")?,
        tutor_fee: None,
        refund: None,
        escrowed: None,
        session_id: None,
        join_refused_reason: None,
        held: None,
        changes: vec![],
    };
    // Later events' amounts replace earlier ones; a tutor no-show (no amounts) keeps the
    // join's escrowed and refund.
    for (c, x) in changes {
        b.state = c.state;
        b.tutor_fee = x.tutor_fee.map(|v| v.to_string()).or(b.tutor_fee);
        b.refund = x.refund.map(|v| v.to_string()).or(b.refund);
        b.escrowed = x.escrowed.map(|v| v.to_string()).or(b.escrowed);
        b.session_id = x.session_id.map(|v| v.to_string()).or(b.session_id);
        b.join_refused_reason = x.reason.or(b.join_refused_reason);
        b.held = x.held.or(b.held);
        b.changes.push(c);
    }
    Ok(b)
}

/// What a `booking_change` row carries besides its [`Change`].
#[derive(Clone, Debug, Default)]
struct ChangeAmounts {
    tutor_fee: Option<U256>,
    refund: Option<U256>,
    escrowed: Option<U256>,
    session_id: Option<i64>,
    reason: Option<u8>,
    held: Option<u64>,
}

/// The changes of bookings `ids`, oldest first per booking.
async fn changes(
    store: &Store,
    ids: &[i64],
) -> Result<BTreeMap<i64, Vec<(Change, ChangeAmounts)>>, StoreError> {
    let mut out: BTreeMap<i64, Vec<(Change, ChangeAmounts)>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        // Ids read from the database: integers, safe to inline.
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT id, block, ts, state, actor, tutor_fee, refund, escrowed, session_id, reason, held \
             FROM booking_change WHERE id IN ({list}) ORDER BY block, log_index"
        ))
        .fetch_all(store.pool())
        .await?;
        for r in &rows {
            let state: String = r.try_get("state")?;
            let state = crate::events::BookingState::from_key(&state)
                .ok_or(StoreError::Corrupt {
                    column: "booking_change.state",
                    value: state,
                })?
                .key();
            let actor: String = r.try_get("actor")?;
            let by = if actor.is_empty() {
                None
            } else {
                Some(address(r, "actor")?)
            };
            out.entry(r.try_get("id")?).or_default().push((
                Change {
                    state,
                    at: r.try_get("ts")?,
                    block: r.try_get("block")?,
                    by,
                },
                ChangeAmounts {
                    tutor_fee: amount_opt(r, "tutor_fee")?,
                    refund: amount_opt(r, "refund")?,
                    escrowed: amount_opt(r, "escrowed")?,
                    session_id: r.try_get("session_id")?,
                    reason: r.try_get::<Option<i64>, _>("reason")?.map(|v| v as u8),
                    held: r.try_get::<Option<i64>, _>("held")?.map(|v| v as u64),
                },
            ));
        }
    }
    Ok(out)
}

async fn with_changes(store: &Store, rows: &[AnyRow]) -> Result<Vec<Booking>, StoreError> {
    let ids = rows
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut all = changes(store, &ids).await?;
    rows.iter()
        .zip(&ids)
        .map(|(r, id)| booking_row(r, all.remove(id).unwrap_or_default()))
        .collect()
}

/// Which bookings to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Every booking, the latest start first.
    NewestFirst,
    /// Bookings starting at or after `now`, the soonest first.
    Upcoming {
        /// Unix seconds.
        now: i64,
    },
}

/// A page's cursor: the last booking's `start:id`.
pub type BookingCursor = (i64, i64);

/// `who`'s bookings (as student or tutor) past `cursor` in `order`, at most `limit`.
///
/// # Errors
/// [`StoreError`].
pub async fn bookings(
    store: &Store,
    who: Address,
    order: Order,
    cursor: Option<BookingCursor>,
    limit: u32,
) -> Result<Page<Booking>, StoreError> {
    let (filter, sort, (start, id), floor) = match order {
        Order::NewestFirst => (
            "(b.start_at < $2 OR (b.start_at = $2 AND b.id < $3))",
            "b.start_at DESC, b.id DESC",
            cursor.unwrap_or((i64::MAX, i64::MAX)),
            i64::MIN,
        ),
        Order::Upcoming { now } => (
            "(b.start_at > $2 OR (b.start_at = $2 AND b.id > $3))",
            "b.start_at, b.id",
            cursor.unwrap_or((now, -1)),
            now,
        ),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM booking b WHERE (b.student = $1 OR b.tutor = $1) AND {filter} \
         AND b.start_at >= $4 ORDER BY {sort} LIMIT $5"
    );
    let rows = sqlx::query(&sql)
        .bind(hex_addr(&who))
        .bind(start)
        .bind(id)
        .bind(floor)
        .bind(i64::from(limit) + 1)
        .fetch_all(store.pool())
        .await?;
    let more = rows.len() > limit as usize;
    let rows = &rows[..rows.len().min(limit as usize)];
    let items = with_changes(store, rows).await?;
    let next = more
        .then(|| items.last().map(|b| format!("{}:{}", b.start, b.id)))
        .flatten();
    Ok(Page { items, next })
}

/// `who`'s bookings starting at or after `since`, by start (the calendar feed).
///
/// # Errors
/// [`StoreError`].
pub async fn bookings_since(
    store: &Store,
    who: Address,
    since: i64,
) -> Result<Vec<Booking>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM booking b WHERE (b.student = $1 OR b.tutor = $1) \
         AND b.start_at >= $2 ORDER BY b.start_at, b.id"
    ))
    .bind(hex_addr(&who))
    .bind(since)
    .fetch_all(store.pool())
    .await?;
    with_changes(store, &rows).await
}

// ---------------------------------------------------------------- reminders

/// Fires the reminders due at `now`, of both kinds ([`Reminder`]): for every booking a
/// kind applies to, each of its offsets whose time has come (`now ≥ deadline − offset`,
/// `now < deadline`) and that has not fired yet. Each is stored once per booking, kind
/// and offset (never fired twice, whatever restarts), at the place
/// `(stored, REMINDER_BASE + n)`: after every stored log, in the order they fell due.
/// Returns how many fired.
///
/// # Errors
/// [`StoreError`].
pub async fn fire_reminders(store: &Store, now: i64, stored: u64) -> Result<u64, StoreError> {
    // (when it fell due, booking, kind, minutes)
    let mut due: Vec<(i64, i64, Reminder, i64)> = Vec::new();
    for kind in [Reminder::Lesson, Reminder::Funding] {
        let rows = sqlx::query(kind.due_sql())
            .bind(now)
            .bind(now + kind.minutes()[0] * 60)
            .fetch_all(store.pool())
            .await?;
        for r in &rows {
            let (id, deadline): (i64, i64) = (r.try_get("id")?, r.try_get("deadline")?);
            for minutes in kind.minutes() {
                let at = deadline - minutes * 60;
                if now >= at {
                    due.push((at, id, kind, minutes));
                }
            }
        }
    }
    if due.is_empty() {
        return Ok(0);
    }
    due.sort_by_key(|&(at, id, kind, minutes)| (at, id, kind, -minutes));
    let block = i64::try_from(stored).unwrap_or(i64::MAX);
    let mut tx = store.pool().begin().await?;
    let mut n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM booking_reminder WHERE block = $1")
        .bind(block)
        .fetch_one(&mut *tx)
        .await?;
    let mut fired = 0;
    for (_, id, kind, minutes) in due {
        let added = sqlx::query(
            "INSERT INTO booking_reminder \
               (booking_id, kind, minutes, block, log_index, fired_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(kind.key())
        .bind(minutes)
        .bind(block)
        .bind(REMINDER_BASE + n)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added > 0 {
            n += 1;
            fired += 1;
        }
    }
    store.fence(&mut tx).await?;
    tx.commit().await?;
    Ok(fired)
}

/// The kinds of reminders the indexer fires by its clock (`booking_reminder.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reminder {
    /// `booking_reminder`: [`REMINDER_MINUTES`] before the start of an accepted booking
    /// (no later event) that has not started, funded or not.
    Lesson,
    /// `booking_funding_reminder`: [`FUNDING_REMINDER_MINUTES`] before the `fundBy` of a
    /// lesson booked without its deposit and not funded, requested or accepted (no other
    /// event), whose `fundBy` has not passed.
    Funding,
}

impl Reminder {
    /// Stored in `booking_reminder.kind`.
    pub fn key(self) -> &'static str {
        match self {
            Reminder::Lesson => "lesson",
            Reminder::Funding => "funding",
        }
    }

    /// The kind stored under `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        [Reminder::Lesson, Reminder::Funding]
            .into_iter()
            .find(|k| k.key() == key)
    }

    /// Its offsets before the deadline, minutes, largest first.
    pub fn minutes(self) -> [i64; 2] {
        match self {
            Reminder::Lesson => REMINDER_MINUTES,
            Reminder::Funding => FUNDING_REMINDER_MINUTES,
        }
    }

    /// The notification's name.
    pub fn name(self) -> &'static str {
        match self {
            Reminder::Lesson => "booking_reminder",
            Reminder::Funding => "booking_funding_reminder",
        }
    }

    /// The bookings it applies to whose deadline (`deadline`) is in `($1, $2]`.
    fn due_sql(self) -> &'static str {
        match self {
            Reminder::Lesson => {
                "SELECT b.id, b.start_at AS deadline FROM booking b \
                 WHERE b.start_at > $1 AND b.start_at <= $2 \
                 AND EXISTS (SELECT 1 FROM booking_change c WHERE c.id = b.id \
                   AND c.state = 'accepted') \
                 AND NOT EXISTS (SELECT 1 FROM booking_change c WHERE c.id = b.id \
                   AND c.state <> 'accepted') \
                 ORDER BY b.start_at, b.id"
            }
            Reminder::Funding => {
                "SELECT f.id, f.fund_by AS deadline FROM booking_funding f \
                 WHERE f.kind = 'due' AND f.fund_by > $1 AND f.fund_by <= $2 \
                 AND NOT EXISTS (SELECT 1 FROM booking_funding g WHERE g.id = f.id \
                   AND g.kind = 'funded') \
                 AND NOT EXISTS (SELECT 1 FROM booking_change c WHERE c.id = f.id \
                   AND c.state <> 'accepted') \
                 ORDER BY f.fund_by, f.id"
            }
        }
    }
}

// ---------------------------------------------------------------- favourites

/// The arguments of `IBooking.request` to book a tutor again (`start` and
/// `answerDeadline` left to the caller).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rebook {
    /// The tutor.
    pub tutor: Address,
    /// The last booking's (or session's) token.
    pub token: Address,
    /// Its duration, seconds.
    pub duration: u32,
    /// Its rate, capped at what the tutor publishes for the token now.
    pub rate: String,
    /// The price at that rate: the smallest deposit.
    pub deposit: String,
    /// Its credential kind.
    pub credential_kind: u32,
    /// The tutor's current policy, as the request's bounds.
    pub max_free_notice: u32,
    /// Likewise.
    pub max_late_cancel_fee_bps: u16,
    /// Likewise.
    pub max_no_show_fee_bps: u16,
}

/// A tutor a student has booked or met.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Favourite {
    /// The tutor.
    pub tutor: Address,
    /// Bookings accepted (whatever came after) plus started escrow sessions that no
    /// booking opened.
    pub lessons: u64,
    /// Bookings the tutor accepted.
    pub bookings: u64,
    /// Escrow sessions with the tutor that started (booked or not).
    pub sessions: u64,
    /// The latest of those lessons' starts.
    pub last_lesson_at: i64,
    /// How to book the tutor again (`None`: see `rebookUnavailable`).
    pub rebook: Option<Rebook>,
    /// Why there is no `rebook`: `no_rate` (the tutor publishes no rate for the token
    /// now), `zero_price` (the duration at that rate bills nothing), `no_duration` (met
    /// only in a session that has not ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebook_unavailable: Option<&'static str>,
}

/// The last lesson of a pair to copy: (token, duration, rate, credential kind).
type Template = (Address, Option<u32>, U256, u32);

#[derive(Default)]
struct Tally {
    bookings: u64,
    sessions: u64,
    extra: u64,
    last: i64,
    /// (id order key, template) of the latest booking, else of the latest session.
    booking: Option<(i64, Template)>,
    session: Option<(i64, Template)>,
}

/// What `tutor` publishes now: its rate for `token` (latest `RateSet`; 0 or none: it
/// takes no bookings in it) and its policy (latest `PolicySet`; none: all zero).
async fn published(
    store: &Store,
    tutor: Address,
    token: Address,
) -> Result<(U256, Policy), StoreError> {
    let rate = sqlx::query(
        "SELECT rate FROM rate_set WHERE tutor = $1 AND token = $2 \
         ORDER BY block DESC, log_index DESC LIMIT 1",
    )
    .bind(hex_addr(&tutor))
    .bind(hex_addr(&token))
    .fetch_optional(store.pool())
    .await?
    .map(|r| amount(&r, "rate"))
    .transpose()?
    .unwrap_or_default();
    let policy = sqlx::query(
        "SELECT free_notice, late_cancel_fee_bps, no_show_fee_bps FROM policy_set \
         WHERE tutor = $1 ORDER BY block DESC, log_index DESC LIMIT 1",
    )
    .bind(hex_addr(&tutor))
    .fetch_optional(store.pool())
    .await?
    .map(|r| {
        Ok::<_, StoreError>(Policy {
            free_notice: r.try_get::<i64, _>("free_notice")? as u32,
            late_cancel_fee_bps: r.try_get::<i64, _>("late_cancel_fee_bps")? as u16,
            no_show_fee_bps: r.try_get::<i64, _>("no_show_fee_bps")? as u16,
        })
    })
    .transpose()?
    .unwrap_or_default();
    Ok((rate, policy))
}

/// The tutors `student` has booked (bookings the tutor accepted) or met (escrow sessions
/// that started), most lessons first, then the most recent; each with how to book it
/// again.
///
/// # Errors
/// [`StoreError`].
pub async fn favourite_tutors(
    store: &Store,
    student: Address,
) -> Result<Vec<Favourite>, StoreError> {
    let who = hex_addr(&student);
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM booking b WHERE b.student = $1 ORDER BY b.id"
    ))
    .bind(&who)
    .fetch_all(store.pool())
    .await?;
    let booked = with_changes(store, &rows).await?;
    let mut tally: BTreeMap<Address, Tally> = BTreeMap::new();
    let mut booked_sessions = std::collections::BTreeSet::new();
    for b in &booked {
        if let Some(s) = &b.session_id {
            booked_sessions.insert(s.clone());
        }
        if !b.changes.iter().any(|c| c.state == "accepted") {
            continue;
        }
        let t = tally.entry(b.tutor).or_default();
        t.bookings += 1;
        t.last = t.last.max(b.start);
        let rate = U256::from_str_radix(&b.rate, 10).unwrap_or_default();
        let id: i64 = b.id.parse().unwrap_or_default();
        if t.booking.as_ref().is_none_or(|(at, _)| id > *at) {
            let duration = u32::try_from(b.duration).ok();
            t.booking = Some((id, (b.token, duration, rate, b.credential_kind)));
        }
    }
    let sessions = sqlx::query(
        "SELECT o.id, o.tutor, o.token, o.rate, o.credential_kind, s.start_at, e.end_at \
         FROM session_opened o JOIN session_started s ON s.id = o.id \
         LEFT JOIN session_ended e ON e.id = o.id WHERE o.student = $1 ORDER BY o.id",
    )
    .bind(&who)
    .fetch_all(store.pool())
    .await?;
    for r in &sessions {
        let id: i64 = r.try_get("id")?;
        let start: i64 = r.try_get("start_at")?;
        let end: Option<i64> = r.try_get("end_at")?;
        let t = tally.entry(address(r, "tutor")?).or_default();
        t.sessions += 1;
        if booked_sessions.contains(&id.to_string()) {
            continue;
        }
        t.extra += 1;
        t.last = t.last.max(start);
        let duration = end
            .map(|e| e - start)
            .filter(|d| (1..=86_400).contains(d))
            .map(|d| d as u32);
        let kind: i64 = r.try_get("credential_kind")?;
        t.session = Some((
            id,
            (
                address(r, "token")?,
                duration,
                amount(r, "rate")?,
                kind as u32,
            ),
        ));
    }
    let mut out = Vec::new();
    for (tutor, t) in tally {
        if t.bookings + t.extra == 0 {
            continue;
        }
        let Some((_, (token, duration, last_rate, kind))) = t.booking.or(t.session) else {
            continue;
        };
        let (published_rate, policy) = published(store, tutor, token).await?;
        let rate = last_rate.min(published_rate);
        let (rebook, why) = match duration {
            _ if published_rate.is_zero() => (None, Some("no_rate")),
            None => (None, Some("no_duration")),
            Some(d) if price(u64::from(d), rate).is_zero() => (None, Some("zero_price")),
            Some(d) => (
                Some(Rebook {
                    tutor,
                    token,
                    duration: d,
                    rate: rate.to_string(),
                    deposit: price(u64::from(d), rate).to_string(),
                    credential_kind: kind,
                    max_free_notice: policy.free_notice,
                    max_late_cancel_fee_bps: policy.late_cancel_fee_bps,
                    max_no_show_fee_bps: policy.no_show_fee_bps,
                }),
                None,
            ),
        };
        out.push(Favourite {
            tutor,
            lessons: t.bookings + t.extra,
            bookings: t.bookings,
            sessions: t.sessions,
            last_lesson_at: t.last,
            rebook,
            rebook_unavailable: why,
        });
    }
    out.sort_by(|a, b| {
        (b.lessons, b.last_lesson_at)
            .cmp(&(a.lessons, a.last_lesson_at))
            .then(a.tutor.cmp(&b.tutor))
    });
    Ok(out)
}

/// A transaction a wallet sends as is (`eth_sendTransaction`'s `to` and `data`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebookCall {
    /// The booking contract.
    pub to: Address,
    /// ABI calldata of `IBooking.request`.
    pub data: String,
    /// The call's arguments.
    pub args: RequestArgs,
}

/// `IBooking.request`'s arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RequestArgs {
    pub tutor: Address,
    pub token: Address,
    pub start: u64,
    pub duration: u32,
    pub rate: String,
    pub deposit: String,
    pub credential_kind: u32,
    pub answer_deadline: u64,
    pub max_free_notice: u32,
    pub max_late_cancel_fee_bps: u16,
    pub max_no_show_fee_bps: u16,
}

/// The `IBooking.request` call booking `r` again at `start`, answered by
/// `answer_deadline`, with `deposit` (at least `r.deposit`, the price).
pub fn rebook_call(
    booking: Address,
    r: &Rebook,
    start: u64,
    answer_deadline: u64,
    deposit: U256,
) -> RebookCall {
    let rate = U256::from_str_radix(&r.rate, 10).unwrap_or_default();
    let call = IBooking::requestCall {
        tutor: r.tutor,
        token: r.token,
        start,
        duration: r.duration,
        rate,
        deposit,
        credential_kind: r.credential_kind,
        answer_deadline,
        max_free_notice: r.max_free_notice,
        max_late_cancel_fee_bps: r.max_late_cancel_fee_bps,
        max_no_show_fee_bps: r.max_no_show_fee_bps,
    };
    RebookCall {
        to: booking,
        data: format!("0x{}", hex::encode(call.abi_encode())),
        args: RequestArgs {
            tutor: r.tutor,
            token: r.token,
            start,
            duration: r.duration,
            rate: rate.to_string(),
            deposit: deposit.to_string(),
            credential_kind: r.credential_kind,
            answer_deadline,
            max_free_notice: r.max_free_notice,
            max_late_cancel_fee_bps: r.max_late_cancel_fee_bps,
            max_no_show_fee_bps: r.max_no_show_fee_bps,
        },
    }
}

//! Live notifications: `GET /v1/notifications/{address}`, a server-sent-events stream of
//! what concerns one address.
//!
//! Chain events (`session_started`, `badge_claimable`, `session_ended`, `rating_received`)
//! are read from the store, never from the follower's buffer: an event is sent once the
//! rows it comes from are committed and served by the API (only blocks below
//! [`Status::stored`]). Their id is the log's place, `block:log_index`; a client
//! reconnecting with `Last-Event-ID` gets every later one from the store (at-least-once).
//!
//! `badge_claimable` comes from a `SessionEnded` that meets the badges contract's rules
//! with its settings (`BadgeMinDurationUpdated`, `BadgeMinBilledUpdated`) as stored before
//! that log, unless the party had already claimed; it is sent just before that
//! `session_ended`, with the id `block:log_index:badge`.
//!
//! `low_funds` is computed, not stored: each active session of the address is checked
//! every [`NotifyConfig::tick`] against the clock, and each threshold
//! ([`LOW_FUNDS_MINUTES`]) fires once per session and deposit (a top-up re-arms it). Its
//! id starts with the position of the last chain event sent before it, so a resume from
//! it misses no chain event; it is recomputed on every connection.
//!
//! minuto-booking's events go to both parties of the booking: `booking_requested`,
//! `booking_accepted`, `booking_declined`, `booking_expired`, `booking_cancelled`,
//! `booking_joined`, `booking_no_show` (`noShow`: `student` or `tutor`),
//! `booking_join_refused`, `booking_tutor_ended_early` (`held`: the seconds the session ran)
//! and `booking_funded` (a lesson booked without its deposit was
//! funded), ids `block:log_index` like every chain event.
//!
//! `booking_reminder` (30 and 5 minutes before an accepted booking's start, with `funded`
//! as stored at its place) and `booking_funding_reminder` (to the student, 24 h and 1 h
//! before an unfunded lesson's fundBy; see [`crate::booking::fire_reminders`]) are fired by
//! the indexer's clock and stored once per booking, kind and offset, at a place after
//! every log stored when it fired: its id is `block:reminder:n:booking:minutes` (or
//! `block:reminder:n:booking:funding:minutes`; `block`: the first block not yet stored
//! then; `n`: its rank among the reminders fired at that block). A resume from it or from
//! any later id does not send it again; a resume from an earlier id does, with the same
//! id.
//!
//! When ingestion rewinds (a reorganisation replaced stored blocks), a stream that had
//! sent events from the replaced blocks sends the new blocks' events from there on
//! (possibly with ids it used before: the ids name places in the chain).

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{Address, U256};
use axum::response::sse::Event;
use futures_core::Stream;
use serde_json::{json, Value};
use sqlx::Row;
use tokio::sync::watch;

use crate::ingest::Status;
use crate::store::{address, amount, hex_addr, Store, StoreError};

/// Unix seconds now.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Runway thresholds, in minutes, at which `low_funds` fires.
pub const LOW_FUNDS_MINUTES: [u64; 2] = [10, 3];

/// Rows per query per wake-up.
const PAGE: i64 = 200;

/// The notification streams' settings.
#[derive(Clone)]
pub struct NotifyConfig {
    /// The clock runways are computed at (and the API's "now").
    pub clock: Clock,
    /// How often active sessions' runways are checked (and the store, besides every
    /// stored batch).
    pub tick: Duration,
    /// Interval of keep-alive comments.
    pub keep_alive: Duration,
}

impl std::fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("tick", &self.tick)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            clock: Arc::new(crate::unix_now),
            tick: Duration::from_secs(1),
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// A place in the chain: (block, log index).
pub type Position = (i64, i64);

/// Parses a `Last-Event-ID`: `block:log_index` or `block:reminder:n` (a
/// `booking_reminder`'s place), optionally followed by `:…` (a `low_funds`,
/// `badge_claimable` or `booking_reminder` id).
pub fn parse_event_id(s: &str) -> Option<Position> {
    let mut parts = s.split(':');
    let block = parts.next()?.parse::<i64>().ok().filter(|b| *b >= 0)?;
    let log = parts.next()?;
    if log == REMINDER {
        let n = parts.next()?.parse::<i64>().ok().filter(|n| *n >= 0)?;
        let n = n.checked_add(crate::booking::REMINDER_BASE)?;
        return (n < REMINDER_END).then_some((block, n));
    }
    let log = log.parse::<i64>().ok().filter(|l| *l >= 0)?;
    if parts.next() == Some(BADGE) {
        // Sent before the `session_ended` of the same log: resuming after it sends that
        // log's events again (it too, at least once).
        return Some((block, log - 1));
    }
    Some((block, log))
}

/// The second part of a `booking_reminder`'s place (`block:reminder:n`).
const REMINDER: &str = "reminder";

/// Reminders' log indexes are `REMINDER_BASE + n` below this.
const REMINDER_END: i64 = crate::booking::REMINDER_BASE / 2;

/// A place as ids write it: `block:log_index`, or `block:reminder:n` for a reminder's.
pub fn position_id((block, log): Position) -> String {
    if log < REMINDER_END {
        format!("{block}:{REMINDER}:{}", log - crate::booking::REMINDER_BASE)
    } else {
        format!("{block}:{log}")
    }
}

/// The suffix of a `badge_claimable` id (`block:log_index:badge`).
const BADGE: &str = "badge";

/// Where a stream without `Last-Event-ID` starts: after the blocks stored when it
/// connects (before ingestion has resumed, after the newest stored event).
///
/// # Errors
/// [`StoreError`].
pub async fn start_position(store: &Store, stored: u64) -> Result<Position, StoreError> {
    // After the reminders fired so far too (they sit at the first block not yet stored).
    let reminder: Option<Position> = sqlx::query(
        "SELECT block, log_index FROM booking_reminder \
         ORDER BY block DESC, log_index DESC LIMIT 1",
    )
    .fetch_optional(store.pool())
    .await?
    .map(|r| Ok::<_, StoreError>((r.try_get("block")?, r.try_get("log_index")?)))
    .transpose()?;
    let chain = if stored > 0 {
        (i64::try_from(stored).unwrap_or(i64::MAX) - 1, i64::MAX)
    } else {
        let newest: Option<i64> = sqlx::query("SELECT MAX(block) AS b FROM events")
            .fetch_one(store.pool())
            .await?
            .try_get("b")?;
        (newest.unwrap_or(-1), i64::MAX)
    };
    Ok(reminder.map_or(chain, |r| r.max(chain)))
}

/// One address's stream state.
pub struct Conn {
    store: Store,
    who: Address,
    after: Position,
    status: watch::Receiver<Status>,
    cfg: NotifyConfig,
    queue: VecDeque<Notification>,
    /// (session, minutes, deposited) already sent on this connection.
    fired: HashSet<(i64, u64, U256)>,
    /// Ingestion's rewinds seen.
    rewinds: u64,
}

fn role_of(who: Address, student: Address) -> &'static str {
    if who == student {
        "student"
    } else {
        "tutor"
    }
}

/// One notification: what the stream sends as an SSE event and a webhook POSTs.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// `session_started`, `badge_claimable`, `session_ended`, `rating_received`,
    /// `low_funds`, `booking_*`, `booking_reminder` or `booking_funding_reminder`.
    pub name: &'static str,
    /// `block:log_index` (`…:low:session:minutes` for `low_funds`, `…:badge` for
    /// `badge_claimable`, `block:reminder:n:booking:minutes` for `booking_reminder`,
    /// `block:reminder:n:booking:funding:minutes` for `booking_funding_reminder`).
    pub id: String,
    /// The place in the chain it comes from (for `low_funds`, of the last chain event
    /// before it): a consumer resuming after it misses nothing.
    pub position: Position,
    /// The payload.
    pub data: Value,
}

impl Notification {
    /// The server-sent event.
    pub fn sse(&self) -> Event {
        Event::default()
            .event(self.name)
            .id(self.id.clone())
            .data(self.data.to_string())
    }
}

fn event(name: &'static str, id: String, position: Position, data: Value) -> Notification {
    Notification {
        name,
        id,
        position,
        data,
    }
}

impl Conn {
    /// A stream for `who`, after `after`.
    pub fn new(
        store: Store,
        who: Address,
        after: Position,
        status: watch::Receiver<Status>,
        cfg: NotifyConfig,
    ) -> Self {
        let rewinds = status.borrow().rewinds;
        Self {
            store,
            who,
            after,
            cfg,
            rewinds,
            status,
            queue: VecDeque::new(),
            fired: HashSet::new(),
        }
    }

    /// Queues what is new; returns whether anything is.
    async fn fill(&mut self) -> Result<bool, StoreError> {
        let status = *self.status.borrow_and_update();
        if status.rewinds != self.rewinds {
            // Blocks were replaced: what was sent from them on is sent again as the new
            // blocks have it, from the earliest of the rewinds not seen yet (several may
            // come between two looks).
            let earliest = self.store.rewound_since(self.rewinds).await?;
            self.rewinds = status.rewinds;
            let from = earliest.map_or(status.rewound_from, |e| e.min(status.rewound_from));
            let from = i64::try_from(from).unwrap_or(i64::MAX);
            if self.after.0 >= from {
                self.after = (from - 1, i64::MAX);
            }
        }
        let stored = i64::try_from(status.stored).unwrap_or(i64::MAX);
        for (pos, e) in chain_events(&self.store, self.who, self.after, stored).await? {
            self.after = pos;
            self.queue.push_back(e);
        }
        self.low_funds(stored).await?;
        Ok(!self.queue.is_empty())
    }

    /// Sessions started in blocks below `stored` (their start already sent).
    async fn low_funds(&mut self, stored: i64) -> Result<(), StoreError> {
        let who = hex_addr(&self.who);
        let rows = sqlx::query(
            "SELECT o.id, o.student, o.token, o.rate, o.deposit, s.start_at, \
               (SELECT u.deposited FROM session_topped_up u WHERE u.id = o.id \
                ORDER BY u.block DESC, u.log_index DESC LIMIT 1) AS topped \
             FROM session_opened o JOIN session_started s ON s.id = o.id \
             WHERE (o.student = $1 OR o.tutor = $1) AND s.block < $2 \
               AND NOT EXISTS (SELECT 1 FROM session_ended e WHERE e.id = o.id) \
               AND NOT EXISTS (SELECT 1 FROM session_cancelled c WHERE c.id = o.id) \
             ORDER BY o.id",
        )
        .bind(&who)
        .bind(stored)
        .fetch_all(self.store.pool())
        .await?;
        let now = (self.cfg.clock)();
        let scale = U256::from(10u64).pow(U256::from(18));
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let rate = amount(&row, "rate")?;
            if rate.is_zero() {
                continue;
            }
            let deposited = match crate::store::amount_opt(&row, "topped")? {
                Some(d) => d,
                None => amount(&row, "deposit")?,
            };
            let start: i64 = row.try_get("start_at")?;
            let elapsed = U256::from(u64::try_from(now - start).unwrap_or(0));
            let billed = (elapsed.saturating_mul(rate) / scale).min(deposited);
            let runway = (deposited - billed).saturating_mul(scale) / rate;
            let role = role_of(self.who, address(&row, "student")?);
            for minutes in LOW_FUNDS_MINUTES {
                if runway > U256::from(minutes * 60) || !self.fired.insert((id, minutes, deposited))
                {
                    continue;
                }
                let data = json!({
                    "session": id.to_string(),
                    "role": role,
                    "token": hex_addr(&address(&row, "token")?),
                    "minutes": minutes,
                    "runwaySeconds": runway.to::<u64>(),
                    "deposited": deposited.to_string(),
                    "billed": billed.to_string(),
                    "at": now,
                });
                let at = self.after;
                self.queue.push_back(event(
                    "low_funds",
                    format!("{}:low:{id}:{minutes}", position_id(at)),
                    at,
                    data,
                ));
            }
        }
        Ok(())
    }

    /// The next notification: queued ones first, then waits for a stored batch or a
    /// tick. `None` once ingestion stopped (the service is shutting down).
    pub async fn next(&mut self) -> Option<Notification> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some(e);
            }
            match self.fill().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "notifications: store read failed"),
            }
            let tick = self.cfg.tick;
            tokio::select! {
                r = self.status.changed() => {
                    if r.is_err() {
                        return None;
                    }
                }
                () = tokio::time::sleep(tick) => {}
            }
        }
    }

    /// The SSE stream of [`Conn::next`].
    pub fn stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send {
        futures_util::stream::unfold(self, |mut c| async move {
            let n = c.next().await?;
            Some((Ok(n.sse()), c))
        })
    }
}

/// Chain events for `who` after `after` in blocks below `stored`, in chain order.
async fn chain_events(
    store: &Store,
    who: Address,
    after: Position,
    stored: i64,
) -> Result<Vec<(Position, Notification)>, StoreError> {
    let w = hex_addr(&who);
    let range = "(x.block > $2 OR (x.block = $2 AND x.log_index > $3)) AND x.block < $4";
    let run = |sql: String| {
        let w = w.clone();
        async move {
            sqlx::query(&sql)
                .bind(w)
                .bind(after.0)
                .bind(after.1)
                .bind(stored)
                .bind(PAGE)
                .fetch_all(store.pool())
                .await
        }
    };
    // The badges contract's settings in force at the session's end (the latest before
    // its log), and whether `who` had already claimed its badge then.
    let before = "(b.block < x.block OR (b.block = x.block AND b.log_index < x.log_index))";
    let setting = |name: &str, token: &str| {
        format!(
            "(SELECT b.value FROM badge_setting b WHERE b.setting = '{name}' AND b.token = {token} \
               AND {before} ORDER BY b.block DESC, b.log_index DESC LIMIT 1)"
        )
    };
    let (min_duration, min_billed) = (
        setting("min_duration", "''"),
        setting("min_billed", "o.token"),
    );
    let claimed = format!(
        "(SELECT COUNT(*) FROM badge_claimed b WHERE b.session_id = x.id AND b.holder = $1 \
           AND b.role = CASE WHEN o.student = $1 THEN 1 ELSE 2 END AND {before})"
    );
    let started = run(format!(
        "SELECT x.block, x.log_index, x.id, x.start_at, o.student, o.tutor, o.token, o.rate, \
           o.deposit FROM session_started x JOIN session_opened o ON o.id = x.id \
         WHERE (o.student = $1 OR o.tutor = $1) AND {range} \
         ORDER BY x.block, x.log_index LIMIT $5"
    ))
    .await?;
    let ended = run(format!(
        "SELECT x.block, x.log_index, x.id, x.end_at, x.billed, x.fee, x.tutor_paid, x.refund, \
           x.ended_by, s.start_at, o.student, o.tutor, o.token, o.fee_bps, \
           {min_duration} AS min_duration, {min_billed} AS min_billed, {claimed} AS claimed \
         FROM session_ended x JOIN session_opened o ON o.id = x.id \
           LEFT JOIN session_started s ON s.id = x.id \
         WHERE (o.student = $1 OR o.tutor = $1) AND {range} \
         ORDER BY x.block, x.log_index LIMIT $5"
    ))
    .await?;
    let rated = run(format!(
        "SELECT x.block, x.log_index, x.session_id, x.rater, x.rater_role, x.score, x.cid \
         FROM rated x WHERE x.ratee = $1 AND {range} ORDER BY x.block, x.log_index LIMIT $5"
    ))
    .await?;
    let requested = run(format!(
        "SELECT x.block, x.log_index, x.id, x.student, x.tutor, x.token, x.start_at, \
           x.duration, x.rate, x.deposit, x.credential_kind, x.answer_deadline, \
           x.free_notice, x.late_cancel_fee_bps, x.no_show_fee_bps, \
           (SELECT s.first_id FROM booking_series s WHERE s.student = x.student \
            AND s.first_id <= x.id AND x.id < s.first_id + s.lessons \
            ORDER BY s.first_id DESC LIMIT 1) AS series_first, \
           (SELECT f.fund_by FROM booking_funding f WHERE f.id = x.id AND f.kind = 'due' \
            ORDER BY f.block, f.log_index LIMIT 1) AS fund_by \
         FROM booking x WHERE (x.student = $1 OR x.tutor = $1) AND {range} \
         ORDER BY x.block, x.log_index LIMIT $5"
    ))
    .await?;
    let changed = run(format!(
        "SELECT x.block, x.log_index, x.id, x.state, x.actor, x.tutor_fee, x.refund, \
           x.escrowed, x.session_id, x.reason, x.held, b.student, b.tutor, b.token, b.start_at, \
           b.duration \
         FROM booking_change x JOIN booking b ON b.id = x.id \
         WHERE (b.student = $1 OR b.tutor = $1) AND {range} \
         ORDER BY x.block, x.log_index LIMIT $5"
    ))
    .await?;
    let funded = run(format!(
        "SELECT x.block, x.log_index, x.id, x.amount, b.student, b.tutor, b.token, \
           b.start_at, b.duration \
         FROM booking_funding x JOIN booking b ON b.id = x.id \
         WHERE x.kind = 'funded' AND (b.student = $1 OR b.tutor = $1) AND {range} \
         ORDER BY x.block, x.log_index LIMIT $5"
    ))
    .await?;
    // Reminders sit at the first block not yet stored (see `booking::fire_reminders`);
    // a funding reminder goes to the student only. The lesson's funding is as of the
    // reminder's place: its `BookingFundingDue` and `BookingFunded` stored before it.
    let stored_before =
        "AND (f.block < x.block OR (f.block = x.block AND f.log_index < x.log_index))";
    let reminded = run(format!(
        "SELECT x.block, x.log_index, x.booking_id, x.kind, x.minutes, x.fired_at, \
           b.student, b.tutor, b.token, b.start_at, b.duration, b.deposit, \
           (SELECT MAX(f.fund_by) FROM booking_funding f WHERE f.id = x.booking_id \
             AND f.kind = 'due' {stored_before}) AS due_by, \
           (SELECT COUNT(*) FROM booking_funding f WHERE f.id = x.booking_id \
             AND f.kind = 'funded' {stored_before}) AS funded_n \
         FROM booking_reminder x JOIN booking b ON b.id = x.booking_id \
         WHERE (b.student = $1 OR (b.tutor = $1 AND x.kind = 'lesson')) \
           AND (x.block > $2 OR (x.block = $2 AND x.log_index > $3)) AND x.block <= $4 \
         ORDER BY x.block, x.log_index LIMIT $5"
    ))
    .await?;
    // A query that filled its page may have more after its last row: nothing past the
    // earliest such row is sent this round (the next round continues from there).
    let mut until: Option<Position> = None;
    for rows in [
        &started, &ended, &rated, &requested, &changed, &funded, &reminded,
    ] {
        if rows.len() as i64 == PAGE {
            let last = rows.last().expect("a full page");
            let p = (last.try_get("block")?, last.try_get("log_index")?);
            until = Some(until.map_or(p, |u: Position| u.min(p)));
        }
    }
    let mut out = Vec::new();
    let pos = |r: &sqlx::any::AnyRow| -> Result<Position, StoreError> {
        Ok((r.try_get("block")?, r.try_get("log_index")?))
    };
    for r in &started {
        let student = address(r, "student")?;
        let data = json!({
            "session": r.try_get::<i64, _>("id")?.to_string(),
            "role": role_of(who, student),
            "student": hex_addr(&student),
            "tutor": hex_addr(&address(r, "tutor")?),
            "token": hex_addr(&address(r, "token")?),
            "rate": amount(r, "rate")?.to_string(),
            "deposit": amount(r, "deposit")?.to_string(),
            "startedAt": r.try_get::<i64, _>("start_at")?,
        });
        out.push((pos(r)?, "session_started", data));
    }
    for r in &ended {
        let student = address(r, "student")?;
        let role = role_of(who, student);
        let end: i64 = r.try_get("end_at")?;
        let start: Option<i64> = r.try_get("start_at")?;
        let duration = start.map(|s| (end - s).max(0));
        let billed = amount(r, "billed")?;
        let id = r.try_get::<i64, _>("id")?.to_string();
        let token = hex_addr(&address(r, "token")?);
        if let Some(used) = badge_claimable(r, duration, billed)? {
            let data = json!({
                "session": id,
                "role": role,
                "token": token,
                "durationSeconds": duration,
                "billed": billed.to_string(),
                "minDuration": used.0.to_string(),
                "minBilled": used.1.to_string(),
                "feeBps": used.2,
            });
            out.push((pos(r)?, "badge_claimable", data));
        }
        let mut data = json!({
            "session": id,
            "role": role,
            "token": token,
            "endedAt": end,
            "durationSeconds": duration,
            "endedBy": hex_addr(&address(r, "ended_by")?),
            "billed": billed.to_string(),
        });
        if role == "student" {
            data["refund"] = amount(r, "refund")?.to_string().into();
        } else {
            data["fee"] = amount(r, "fee")?.to_string().into();
            data["tutorPaid"] = amount(r, "tutor_paid")?.to_string().into();
        }
        out.push((pos(r)?, "session_ended", data));
    }
    for r in &rated {
        let role: i64 = r.try_get("rater_role")?;
        let data = json!({
            "session": r.try_get::<i64, _>("session_id")?.to_string(),
            "rater": hex_addr(&address(r, "rater")?),
            "raterRole": match role { 1 => "student", 2 => "tutor", _ => "other" },
            "score": r.try_get::<i64, _>("score")?,
            "cid": r.try_get::<String, _>("cid")?,
        });
        out.push((pos(r)?, "rating_received", data));
    }
    let lesson = |r: &sqlx::any::AnyRow, id: &str| -> Result<Value, StoreError> {
        let student = address(r, "student")?;
        Ok(json!({
            "booking": r.try_get::<i64, _>(id)?.to_string(),
            "role": role_of(who, student),
            "student": hex_addr(&student),
            "tutor": hex_addr(&address(r, "tutor")?),
            "token": hex_addr(&address(r, "token")?),
            "start": r.try_get::<i64, _>("start_at")?,
            "duration": r.try_get::<i64, _>("duration")?,
        }))
    };
    for r in &requested {
        let mut data = lesson(r, "id")?;
        data["rate"] = amount(r, "rate")?.to_string().into();
        data["deposit"] = amount(r, "deposit")?.to_string().into();
        data["credentialKind"] = r.try_get::<i64, _>("credential_kind")?.into();
        data["answerDeadline"] = r.try_get::<i64, _>("answer_deadline")?.into();
        data["policy"] = json!({
            "freeNotice": r.try_get::<i64, _>("free_notice")?,
            "lateCancelFeeBps": r.try_get::<i64, _>("late_cancel_fee_bps")?,
            "noShowFeeBps": r.try_get::<i64, _>("no_show_fee_bps")?,
        });
        data["seriesFirstId"] = r
            .try_get::<Option<i64>, _>("series_first")?
            .map(|v| v.to_string())
            .into();
        data["fundBy"] = r.try_get::<Option<i64>, _>("fund_by")?.into();
        out.push((pos(r)?, "booking_requested", data));
    }
    for r in &changed {
        let mut data = lesson(r, "id")?;
        let state: String = r.try_get("state")?;
        let name = match state.as_str() {
            "accepted" => "booking_accepted",
            "declined" => "booking_declined",
            "expired" => "booking_expired",
            "cancelled" => "booking_cancelled",
            "joined" => "booking_joined",
            "student_no_show" | "tutor_no_show" => {
                data["noShow"] = state.trim_end_matches("_no_show").into();
                "booking_no_show"
            }
            "join_refused" => "booking_join_refused",
            "tutor_ended_early" => "booking_tutor_ended_early",
            _ => {
                return Err(StoreError::Corrupt {
                    column: "booking_change.state",
                    value: state,
                })
            }
        };
        let actor: String = r.try_get("actor")?;
        if !actor.is_empty() {
            data["by"] = hex_addr(&address(r, "actor")?).into();
        }
        for (column, key) in [
            ("tutor_fee", "tutorFee"),
            ("refund", "refund"),
            ("escrowed", "escrowed"),
        ] {
            if let Some(v) = crate::store::amount_opt(r, column)? {
                data[key] = v.to_string().into();
            }
        }
        if let Some(sid) = r.try_get::<Option<i64>, _>("session_id")? {
            data["sessionId"] = sid.to_string().into();
        }
        if let Some(why) = r.try_get::<Option<i64>, _>("reason")? {
            data["reason"] = why.into();
        }
        if let Some(held) = r.try_get::<Option<i64>, _>("held")? {
            data["held"] = held.into();
        }
        out.push((pos(r)?, name, data));
    }
    for r in &funded {
        let mut data = lesson(r, "id")?;
        data["amount"] = amount(r, "amount")?.to_string().into();
        out.push((pos(r)?, "booking_funded", data));
    }
    for r in &reminded {
        let mut data = lesson(r, "booking_id")?;
        let start: i64 = r.try_get("start_at")?;
        let fired_at: i64 = r.try_get("fired_at")?;
        let due_by: Option<i64> = r.try_get("due_by")?;
        let funded = due_by.is_none() || r.try_get::<i64, _>("funded_n")? > 0;
        data["minutes"] = r.try_get::<i64, _>("minutes")?.into();
        let kind: String = r.try_get("kind")?;
        let kind = crate::booking::Reminder::from_key(&kind).ok_or(StoreError::Corrupt {
            column: "booking_reminder.kind",
            value: kind,
        })?;
        match kind {
            crate::booking::Reminder::Lesson => {
                data["startsInSeconds"] = (start - fired_at).into();
                data["funded"] = funded.into();
            }
            crate::booking::Reminder::Funding => {
                let fund_by = due_by.unwrap_or_default();
                data["fundBy"] = fund_by.into();
                data["dueInSeconds"] = (fund_by - fired_at).into();
                data["deposit"] = amount(r, "deposit")?.to_string().into();
            }
        }
        out.push((pos(r)?, kind.name(), data));
    }
    // Stable: a `badge_claimable` stays before the `session_ended` of its log.
    out.sort_by_key(|(p, _, _)| *p);
    Ok(out
        .into_iter()
        .filter(|(p, _, _)| until.is_none_or(|u| *p <= u))
        .map(|(p, name, data)| {
            if name == "badge_claimable" {
                // Resuming after it sends its log's `session_ended` (see `parse_event_id`).
                let at = (p.0, p.1 - 1);
                (
                    at,
                    event(name, format!("{}:{}:{BADGE}", p.0, p.1), at, data),
                )
            } else if name == "booking_reminder" || name == "booking_funding_reminder" {
                // Deterministic: the place it was stored at, the booking, the kind and
                // the offset.
                let id = format!(
                    "{}:{}:{}{}",
                    position_id(p),
                    data["booking"].as_str().unwrap_or_default(),
                    if name == "booking_reminder" {
                        ""
                    } else {
                        "funding:"
                    },
                    data["minutes"]
                );
                (p, event(name, id, p, data))
            } else {
                (p, event(name, format!("{}:{}", p.0, p.1), p, data))
            }
        })
        .collect())
}

/// The badges contract's settings a session's `SessionEnded` row met, as
/// `(minDuration, minBilled, feeBps)`: the contract's `claim` rules (`Session::check` of
/// minuto-escrow-view) with the settings in force at its end — billed duration at least
/// `minDuration`, a minimum set for its token (above 0) and billed at least that, a fee
/// paid (`feeBps` above 0 at open) — and `who`'s badge not claimed before. `None` when
/// one fails or a setting is not stored (the indexer started after it was emitted).
fn badge_claimable(
    r: &sqlx::any::AnyRow,
    duration: Option<i64>,
    billed: U256,
) -> Result<Option<(u64, u128, i64)>, StoreError> {
    let setting = |column: &'static str| -> Result<Option<u128>, StoreError> {
        let v: Option<String> = r.try_get(column)?;
        v.map(|v| {
            v.parse::<u128>()
                .map_err(|_| StoreError::Corrupt { column, value: v })
        })
        .transpose()
    };
    let (Some(min_duration), Some(min_billed), Some(duration)) =
        (setting("min_duration")?, setting("min_billed")?, duration)
    else {
        return Ok(None);
    };
    let fee_bps: i64 = r.try_get("fee_bps")?;
    let claimed: i64 = r.try_get("claimed")?;
    let met = u128::try_from(duration).unwrap_or(0) >= min_duration
        && min_billed > 0
        && billed >= U256::from(min_billed)
        && fee_bps > 0
        && claimed == 0;
    Ok(met.then(|| {
        (
            u64::try_from(min_duration).unwrap_or(u64::MAX),
            min_billed,
            fee_bps,
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::parse_event_id;

    #[test]
    fn event_ids_parse_to_their_place_in_the_chain() {
        assert_eq!(parse_event_id("1041:0"), Some((1041, 0)));
        assert_eq!(parse_event_id("1041:0:low:1:10"), Some((1041, 0)));
        // Just before its log: its `session_ended` follows it.
        assert_eq!(parse_event_id("1041:3:badge"), Some((1041, 2)));
        assert_eq!(parse_event_id("1041:0:badge"), Some((1041, -1)));
        // A reminder's place: after every stored log, before the logs of its block.
        let base = crate::booking::REMINDER_BASE;
        assert_eq!(parse_event_id("1041:reminder:0:7:30"), Some((1041, base)));
        assert_eq!(
            parse_event_id("1041:reminder:2:7:5"),
            Some((1041, base + 2))
        );
        // A funding reminder's id: the same place.
        assert_eq!(
            parse_event_id("1041:reminder:3:7:funding:1440"),
            Some((1041, base + 3))
        );
        assert_eq!(
            parse_event_id("1041:reminder:2:low:3:10"),
            Some((1041, base + 2))
        );
        assert_eq!(super::position_id((1041, base + 2)), "1041:reminder:2");
        assert_eq!(super::position_id((1041, 3)), "1041:3");
        assert_eq!(parse_event_id("1041:reminder:-1:7:5"), None);
        assert_eq!(parse_event_id("1041:reminder"), None);
        assert_eq!(parse_event_id("12:-1"), None);
        assert_eq!(parse_event_id("-1:3"), None);
        assert_eq!(parse_event_id("1041"), None);
        assert_eq!(parse_event_id("yesterday"), None);
        assert_eq!(parse_event_id(""), None);
    }
}

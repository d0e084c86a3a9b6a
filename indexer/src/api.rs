//! The HTTP API: JSON, cursor-paginated lists, typed errors
//! (`{"error": "invalid_address", "message": "…"}` with a 4xx status; internal failures
//! are logged and answered `{"error": "internal", …}` with 500, never with their text).

use alloy_primitives::{Address, U256};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::ingest::Status;
use crate::notify::{self, NotifyConfig};
use crate::query::{self, Period, Role};
use crate::store::{Store, StoreError};

/// Largest page.
pub const MAX_LIMIT: u32 = 200;
/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;

/// What the handlers share.
#[derive(Clone)]
pub struct App {
    /// The database.
    pub store: Store,
    /// Ingestion's progress.
    pub status: watch::Receiver<Status>,
    /// Whether this instance holds the writer lease (ingests).
    pub writer: watch::Receiver<bool>,
    /// The clock (unix seconds) for expiries, streaks and runways; notification settings.
    pub notify: NotifyConfig,
    /// The booking contract, if the deployment lists one.
    pub booking: Option<Address>,
    /// The chain (in the calendar feed's UIDs).
    pub chain_id: u64,
}

/// A request the API refuses, or a failure behind it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The path's address is not a 20-byte hex address.
    #[error("{0:?} is not an address (0x followed by 40 hex digits)")]
    InvalidAddress(String),
    /// `limit` out of range.
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    InvalidLimit,
    /// `cursor` not one this API returned.
    #[error("cursor {0:?} is not one this endpoint returned")]
    InvalidCursor(String),
    /// A query parameter with a value outside its set.
    #[error("{name} must be one of {allowed}")]
    InvalidParameter {
        /// Parameter.
        name: &'static str,
        /// Allowed values.
        allowed: &'static str,
    },
    /// `Last-Event-ID` is not an id the notification stream sent.
    #[error("Last-Event-ID {0:?} is not an id this stream sent (block:log_index…)")]
    InvalidEventId(String),
    /// No such session.
    #[error("no session {0}")]
    SessionNotFound(String),
    /// No such vetting application.
    #[error("no vetting application {0}")]
    ApplicationNotFound(String),
    /// A required query parameter is missing.
    #[error("{0} is required")]
    MissingParameter(&'static str),
    /// A number out of its range or not a number.
    #[error("{name} must be {expected}")]
    InvalidNumber {
        /// Parameter.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A rebooking whose start is not in the future.
    #[error("start {start} is not after now ({now})")]
    StartInPast {
        /// Asked start.
        start: u64,
        /// The indexer's clock.
        now: i64,
    },
    /// An answer deadline in the past or not before the start.
    #[error("answerDeadline {deadline} must be from now ({now}) to before start {start}")]
    InvalidAnswerDeadline {
        /// Asked deadline.
        deadline: u64,
        /// Asked start.
        start: u64,
        /// The indexer's clock.
        now: i64,
    },
    /// A deposit below the price.
    #[error("deposit {deposit} is below the price {price}")]
    DepositTooLow {
        /// Asked deposit.
        deposit: U256,
        /// The price.
        price: U256,
    },
    /// The student never booked nor met the tutor.
    #[error("{student} has no lesson with {tutor} to book again")]
    UnknownPair {
        /// Student.
        student: String,
        /// Tutor.
        tutor: String,
    },
    /// The pair is known but cannot be booked again (`no_rate`, `zero_price`,
    /// `no_duration`).
    #[error("cannot book {tutor} again: {reason}")]
    NotRebookable {
        /// Tutor.
        tutor: String,
        /// Why (the favourite's `rebookUnavailable`).
        reason: &'static str,
    },
    /// The deployment lists no booking contract.
    #[error("this deployment has no booking contract")]
    BookingNotDeployed,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::InvalidAddress(_) => (StatusCode::BAD_REQUEST, "invalid_address"),
            ApiError::InvalidLimit => (StatusCode::BAD_REQUEST, "invalid_limit"),
            ApiError::InvalidCursor(_) => (StatusCode::BAD_REQUEST, "invalid_cursor"),
            ApiError::InvalidParameter { .. } => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            ApiError::InvalidEventId(_) => (StatusCode::BAD_REQUEST, "invalid_event_id"),
            ApiError::SessionNotFound(_) => (StatusCode::NOT_FOUND, "session_not_found"),
            ApiError::ApplicationNotFound(_) => (StatusCode::NOT_FOUND, "application_not_found"),
            ApiError::MissingParameter(_) => (StatusCode::BAD_REQUEST, "missing_parameter"),
            ApiError::InvalidNumber { .. } => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            ApiError::StartInPast { .. } => (StatusCode::BAD_REQUEST, "start_in_past"),
            ApiError::InvalidAnswerDeadline { .. } => {
                (StatusCode::BAD_REQUEST, "invalid_answer_deadline")
            }
            ApiError::DepositTooLow { .. } => (StatusCode::BAD_REQUEST, "deposit_too_low"),
            ApiError::UnknownPair { .. } => (StatusCode::BAD_REQUEST, "unknown_pair"),
            ApiError::NotRebookable { reason, .. } => (StatusCode::BAD_REQUEST, *reason),
            ApiError::BookingNotDeployed => (StatusCode::NOT_FOUND, "booking_not_deployed"),
            ApiError::Store(e) => {
                tracing::error!(error = %e, "query failed");
                let body = ErrorBody {
                    error: "internal",
                    message: "the index could not answer; try again".into(),
                };
                return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
            }
        };
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

fn account(s: &str) -> Result<Address, ApiError> {
    let ok = s.len() == 42 && s.starts_with("0x");
    ok.then(|| s.parse::<Address>().ok())
        .flatten()
        .ok_or_else(|| ApiError::InvalidAddress(s.to_owned()))
}

fn limit(l: Option<u32>) -> Result<u32, ApiError> {
    match l {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::InvalidLimit),
    }
}

/// Query of the session history.
#[derive(Debug, Deserialize)]
pub struct SessionsQuery {
    /// `any` (default), `student` or `tutor`.
    pub role: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// The previous page's `next`.
    pub cursor: Option<String>,
}

async fn sessions(
    State(app): State<App>,
    Path(who): Path<String>,
    Query(q): Query<SessionsQuery>,
) -> Result<Json<query::Page<query::Session>>, ApiError> {
    let who = account(&who)?;
    let role = match q.role.as_deref() {
        None | Some("any") => Role::Any,
        Some("student") => Role::Student,
        Some("tutor") => Role::Tutor,
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "role",
                allowed: "any, student, tutor",
            })
        }
    };
    let page = query::sessions(&app.store, who, role, before(q.cursor)?, limit(q.limit)?).await?;
    Ok(Json(page))
}

async fn session(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<query::Session>, ApiError> {
    let n = id
        .parse::<i64>()
        .map_err(|_| ApiError::SessionNotFound(id.clone()))?;
    query::session_by_id(&app.store, n)
        .await?
        .map(Json)
        .ok_or(ApiError::SessionNotFound(id))
}

/// A list's cursor: the last id of the previous page.
fn before(cursor: Option<String>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ApiError::InvalidCursor(c))
        })
        .transpose()
}

/// Query of the vetting applications.
#[derive(Debug, Deserialize)]
pub struct ApplicationsQuery {
    /// `open`, `approved`, `rejected`, `expired` or `superseded` (default: any).
    pub status: Option<String>,
    /// Only this tutor's.
    pub tutor: Option<String>,
    /// Only of this credential kind.
    pub kind: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// The previous page's `next`.
    pub cursor: Option<String>,
}

async fn applications(
    State(app): State<App>,
    Query(q): Query<ApplicationsQuery>,
) -> Result<Json<query::Page<query::Application>>, ApiError> {
    use crate::events::Outcome;
    use query::VettingStatus as S;
    let status = match q.status.as_deref() {
        None => None,
        Some("open") => Some(S::Open),
        Some("approved") => Some(S::Closed(Outcome::Approved)),
        Some("rejected") => Some(S::Closed(Outcome::Rejected)),
        Some("expired") => Some(S::Closed(Outcome::Expired)),
        Some("superseded") => Some(S::Closed(Outcome::Superseded)),
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "status",
                allowed: "open, approved, rejected, expired, superseded",
            })
        }
    };
    let tutor = q.tutor.as_deref().map(account).transpose()?;
    let kind = match q.kind {
        None => None,
        Some(k) => Some(k.parse::<u32>().map_err(|_| ApiError::InvalidParameter {
            name: "kind",
            allowed: "0 to 4294967295",
        })?),
    };
    let filter = query::VettingFilter {
        status,
        tutor,
        kind,
    };
    let page = query::applications(&app.store, filter, before(q.cursor)?, limit(q.limit)?).await?;
    Ok(Json(page))
}

async fn application(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<query::ApplicationDetail>, ApiError> {
    let n = id
        .parse::<i64>()
        .map_err(|_| ApiError::ApplicationNotFound(id.clone()))?;
    query::application_by_id(&app.store, n)
        .await?
        .map(Json)
        .ok_or(ApiError::ApplicationNotFound(id))
}

/// Query of the earnings.
#[derive(Debug, Deserialize)]
pub struct EarningsQuery {
    /// `day` (default), `week` or `month`.
    pub period: Option<String>,
    /// Periods per page.
    pub limit: Option<u32>,
    /// The previous page's `next`.
    pub cursor: Option<String>,
}

async fn earnings(
    State(app): State<App>,
    Path(who): Path<String>,
    Query(q): Query<EarningsQuery>,
) -> Result<Json<query::TutorEarnings>, ApiError> {
    let who = account(&who)?;
    let period = match q.period.as_deref() {
        None | Some("day") => Period::Day,
        Some("week") => Period::Week,
        Some("month") => Period::Month,
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "period",
                allowed: "day, week, month",
            })
        }
    };
    if let Some(c) = &q.cursor {
        let shape_ok =
            c.len() >= 7 && c.len() <= 10 && c.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        if !shape_ok {
            return Err(ApiError::InvalidCursor(c.clone()));
        }
    }
    let out = query::earnings(
        &app.store,
        who,
        period,
        q.cursor.as_deref(),
        limit(q.limit)?,
    )
    .await?;
    Ok(Json(out))
}

async fn progress(
    State(app): State<App>,
    Path(who): Path<String>,
) -> Result<Json<query::Progress>, ApiError> {
    let who = account(&who)?;
    Ok(Json(
        query::progress(&app.store, who, (app.notify.clock)()).await?,
    ))
}

async fn profile(
    State(app): State<App>,
    Path(who): Path<String>,
) -> Result<Json<query::Profile>, ApiError> {
    let who = account(&who)?;
    Ok(Json(
        query::profile(&app.store, who, (app.notify.clock)()).await?,
    ))
}

/// Query of the stats.
#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    /// Days in `sessionsPerDay` (default 30, at most 366).
    pub days: Option<u32>,
}

async fn stats(
    State(app): State<App>,
    Query(q): Query<StatsQuery>,
) -> Result<Json<query::Stats>, ApiError> {
    let days = match q.days {
        None => 30,
        Some(d) if (1..=366).contains(&d) => d,
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "days",
                allowed: "1 to 366",
            })
        }
    };
    Ok(Json(query::stats(&app.store, days).await?))
}

/// The notification stream, with `X-Accel-Buffering: no`: nginx then passes each event on
/// at once (and drops the header) even where the location is left at its defaults
/// (`proxy_buffering on` and HTTP/1.0 to the indexer, which hold a stream back).
async fn notifications(
    State(app): State<App>,
    Path(who): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let who = account(&who)?;
    let after = match headers.get("last-event-id") {
        // From the blocks stored when the client connected.
        None => {
            let stored = app.status.borrow().stored;
            notify::start_position(&app.store, stored).await?
        }
        Some(v) => {
            let s = String::from_utf8_lossy(v.as_bytes()).into_owned();
            notify::parse_event_id(&s).ok_or(ApiError::InvalidEventId(s))?
        }
    };
    let keep_alive = app.notify.keep_alive;
    let conn = notify::Conn::new(app.store, who, after, app.status, app.notify);
    Ok((
        [(header::HeaderName::from_static("x-accel-buffering"), "no")],
        Sse::new(conn.stream()).keep_alive(KeepAlive::new().interval(keep_alive)),
    ))
}

/// Query of the bookings.
#[derive(Debug, Deserialize)]
pub struct BookingsQuery {
    /// Student or tutor (required).
    pub address: Option<String>,
    /// `true`: only bookings starting from now on, soonest first.
    pub upcoming: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
    /// The previous page's `next` (`start:id`).
    pub cursor: Option<String>,
}

async fn bookings(
    State(app): State<App>,
    Query(q): Query<BookingsQuery>,
) -> Result<Json<query::Page<crate::booking::Booking>>, ApiError> {
    let who = account(
        q.address
            .as_deref()
            .ok_or(ApiError::MissingParameter("address"))?,
    )?;
    let order = match q.upcoming.as_deref() {
        None | Some("false") => crate::booking::Order::NewestFirst,
        Some("true") => crate::booking::Order::Upcoming {
            now: (app.notify.clock)(),
        },
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "upcoming",
                allowed: "true, false",
            })
        }
    };
    let cursor = q
        .cursor
        .map(|c| {
            c.split_once(':')
                .and_then(|(s, i)| Some((s.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
                .filter(|(s, i)| *s >= 0 && *i > 0)
                .ok_or(ApiError::InvalidCursor(c))
        })
        .transpose()?;
    let page = crate::booking::bookings(&app.store, who, order, cursor, limit(q.limit)?).await?;
    Ok(Json(page))
}

/// `/v1/students/{address}/favourite-tutors`' body.
#[derive(Debug, Serialize)]
struct Favourites {
    student: Address,
    tutors: Vec<crate::booking::Favourite>,
}

async fn favourite_tutors(
    State(app): State<App>,
    Path(who): Path<String>,
) -> Result<Json<Favourites>, ApiError> {
    let student = account(&who)?;
    let tutors = crate::booking::favourite_tutors(&app.store, student).await?;
    Ok(Json(Favourites { student, tutors }))
}

/// Query of a rebooking.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RebookQuery {
    /// The student (the transaction's sender).
    pub student: Option<String>,
    /// The tutor to book again.
    pub tutor: Option<String>,
    /// The lesson's start (unix seconds).
    pub start: Option<String>,
    /// The tutor answers by then.
    pub answer_deadline: Option<String>,
    /// Base units to deposit (default: the price).
    pub deposit: Option<String>,
}

fn number(v: Option<&str>, name: &'static str) -> Result<u64, ApiError> {
    v.ok_or(ApiError::MissingParameter(name))?
        .parse::<u64>()
        .map_err(|_| ApiError::InvalidNumber {
            name,
            expected: "unix seconds (0 to 2^64 - 1)",
        })
}

async fn rebook(
    State(app): State<App>,
    Query(q): Query<RebookQuery>,
) -> Result<Json<crate::booking::RebookCall>, ApiError> {
    let contract = app.booking.ok_or(ApiError::BookingNotDeployed)?;
    let student = account(
        q.student
            .as_deref()
            .ok_or(ApiError::MissingParameter("student"))?,
    )?;
    let tutor = account(
        q.tutor
            .as_deref()
            .ok_or(ApiError::MissingParameter("tutor"))?,
    )?;
    let start = number(q.start.as_deref(), "start")?;
    let deadline = number(q.answer_deadline.as_deref(), "answerDeadline")?;
    let deposit = q
        .deposit
        .map(|d| {
            U256::from_str_radix(&d, 10).map_err(|_| ApiError::InvalidNumber {
                name: "deposit",
                expected: "a decimal amount of base units",
            })
        })
        .transpose()?;
    let now = (app.notify.clock)();
    if i128::from(start) <= i128::from(now) {
        return Err(ApiError::StartInPast { start, now });
    }
    if i128::from(deadline) < i128::from(now) || deadline >= start {
        return Err(ApiError::InvalidAnswerDeadline {
            deadline,
            start,
            now,
        });
    }
    let favourite = crate::booking::favourite_tutors(&app.store, student)
        .await?
        .into_iter()
        .find(|f| f.tutor == tutor)
        .ok_or_else(|| ApiError::UnknownPair {
            student: crate::store::hex_addr(&student),
            tutor: crate::store::hex_addr(&tutor),
        })?;
    let Some(r) = favourite.rebook else {
        return Err(ApiError::NotRebookable {
            tutor: crate::store::hex_addr(&tutor),
            reason: favourite.rebook_unavailable.unwrap_or("no_rate"),
        });
    };
    let price = U256::from_str_radix(&r.deposit, 10).unwrap_or_default();
    let deposit = deposit.unwrap_or(price);
    if deposit < price {
        return Err(ApiError::DepositTooLow { deposit, price });
    }
    Ok(Json(crate::booking::rebook_call(
        contract, &r, start, deadline, deposit,
    )))
}

async fn calendar(State(app): State<App>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let who = account(file.strip_suffix(".ics").unwrap_or(&file))?;
    let since = (app.notify.clock)() - crate::calendar::PAST_DAYS * 86_400;
    let bookings = crate::booking::bookings_since(&app.store, who, since).await?;
    let body = crate::calendar::feed(
        who,
        &bookings,
        app.booking.unwrap_or_default(),
        app.chain_id,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// `/readyz`'s body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Ready {
    ready: bool,
    stored_through: Option<u64>,
    next_block: u64,
    head: u64,
    reorgs: u64,
    undecodable: u64,
    writer: bool,
}

async fn readyz(State(app): State<App>) -> impl IntoResponse {
    let s = *app.status.borrow();
    let body = Ready {
        ready: s.progress.caught_up && s.stored >= s.progress.next_block,
        stored_through: s.stored.checked_sub(1),
        next_block: s.progress.next_block,
        head: s.progress.head,
        reorgs: s.progress.reorgs,
        undecodable: s.undecodable,
        writer: *app.writer.borrow(),
    };
    let code = if body.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}

/// The routes, answering browsers from `origins` (empty: any origin; the API is public
/// and read-only).
pub fn router(app: App, origins: &[HeaderValue]) -> Router {
    let allow = if origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().cloned())
    };
    let cors = CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET])
        .allow_headers([header::CONTENT_TYPE]);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/v1/accounts/{address}/sessions", get(sessions))
        .route("/v1/accounts/{address}/profile", get(profile))
        .route("/v1/tutors/{address}/earnings", get(earnings))
        .route("/v1/students/{address}/progress", get(progress))
        .route("/v1/sessions/{id}", get(session))
        .route("/v1/stats", get(stats))
        .route("/v1/vetting/applications", get(applications))
        .route("/v1/vetting/applications/{id}", get(application))
        .route("/v1/notifications/{address}", get(notifications))
        .route("/v1/bookings", get(bookings))
        .route(
            "/v1/students/{address}/favourite-tutors",
            get(favourite_tutors),
        )
        .route("/v1/rebook", get(rebook))
        .route("/v1/calendar/{file}", get(calendar))
        .merge(crate::dashboard::router())
        .layer(cors)
        .with_state(app)
}

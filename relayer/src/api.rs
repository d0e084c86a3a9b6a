//! The HTTP API. Public listener: `POST /v1/heartbeat`, `/healthz`, `/readyz` (with
//! CORS for browser dApps). Admin listener: `GET /v1/sessions/{id}`, `/metrics`,
//! `/healthz`, `/readyz`, behind a bearer token when one is configured. Every refusal is
//! `{"error": "<code>", "message": "…"}` with a fitting status; the codes are stable and
//! documented in the README.

use std::net::SocketAddr;
use std::sync::Arc;

use alloy_primitives::{Address, U256};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{AdminToken, ApiLimits, CorsOrigins, HttpSettings};
use crate::follower::SyncStatus;
use crate::heartbeat::{recover_key, verify_key, HeartbeatDomain, Role};
use crate::metrics::Metrics;
use crate::ratelimit::IpLimiter;
use crate::sessions::{Phase, Refusal, Registry, Standing};

/// Why a request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("too many requests from this address")]
    RateLimitedIp,
    #[error("sent_at {sent_at} is {skew}s away from the relayer's clock (max {max}s)")]
    ClockSkew { sent_at: u64, skew: u64, max: u64 },
    #[error("signature is invalid")]
    BadSignature,
    #[error("signed by {signer}, not by the {role} key registered on chain")]
    WrongKey { signer: Address, role: Role },
    /// The registry's refusals: session unknown, ended or not started, the session's
    /// flood limit, a replay.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The session is unknown or not started here while this relayer has not read the
    /// chain up to its head (start-up, a new replica, the node unreachable): another
    /// instance, or this one a little later, may know it.
    #[error(
        "this relayer has not read the chain up to its head yet: {0}; retry, or another instance"
    )]
    Syncing(Refusal),
}

impl ApiError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        self.kind().0
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.kind().1
    }

    fn kind(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::Malformed(_) => ("malformed", StatusCode::BAD_REQUEST),
            ApiError::PayloadTooLarge(_) => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::RateLimitedIp => ("rate_limited_ip", StatusCode::TOO_MANY_REQUESTS),
            ApiError::ClockSkew { .. } => ("clock_skew", StatusCode::UNPROCESSABLE_ENTITY),
            ApiError::BadSignature => ("bad_signature", StatusCode::UNAUTHORIZED),
            ApiError::WrongKey { .. } => ("wrong_key", StatusCode::UNAUTHORIZED),
            ApiError::Syncing(_) => ("syncing", StatusCode::SERVICE_UNAVAILABLE),
            ApiError::Refused(r) => match r {
                Refusal::UnknownSession => ("unknown_session", StatusCode::NOT_FOUND),
                Refusal::SessionEnded => ("session_ended", StatusCode::CONFLICT),
                Refusal::SessionNotActive => ("session_not_active", StatusCode::CONFLICT),
                Refusal::RateLimited => ("rate_limited_session", StatusCode::TOO_MANY_REQUESTS),
                Refusal::Replay { .. } => ("replay", StatusCode::CONFLICT),
            },
        }
    }
}

/// A refusal in the API's shape: `{"error": code, "message": message}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = matches!(
            self.status(),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        )
        .then_some("1");
        let retry_after = retry.map(|s| [(header::RETRY_AFTER, s)]);
        (
            retry_after,
            error(self.status(), self.code(), &self.to_string()),
        )
            .into_response()
    }
}

/// A session id as JSON: a number, or a decimal or `0x` hex string.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum SessionId {
    Number(u64),
    Text(String),
}

impl SessionId {
    fn parse(&self) -> Result<U256, String> {
        match self {
            SessionId::Number(n) => Ok(U256::from(*n)),
            SessionId::Text(s) => {
                (s.parse()).map_err(|_| format!("session {s:?} is not a uint256"))
            }
        }
    }
}

/// A heartbeat body, parsed (its signature not yet checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParsedHeartbeat {
    /// A number, or a decimal or `0x` hex string.
    #[serde(deserialize_with = "session_id")]
    pub session: U256,
    pub role: Role,
    pub seq: u64,
    pub sent_at: u64,
    /// 65-byte signature, hex (`0x` optional).
    #[serde(deserialize_with = "signature")]
    pub signature: [u8; 65],
}

fn session_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
    SessionId::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

fn signature<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 65], D::Error> {
    let hex = String::deserialize(d)?;
    (alloy_primitives::hex::decode_to_array(&hex))
        .map_err(|_| serde::de::Error::custom("signature must be 65 bytes of hex"))
}

/// Parses a heartbeat body.
///
/// # Errors
/// [`ApiError::Malformed`] with serde's reason.
pub fn parse_heartbeat(body: &[u8]) -> Result<ParsedHeartbeat, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Malformed(e.to_string()))
}

/// The low-funds flag: warn at 10 and at 3 minutes of runway.
pub fn low_funds(runway_seconds: u64) -> &'static str {
    match runway_seconds {
        0..=180 => "warn3m",
        181..=600 => "warn10m",
        _ => "none",
    }
}

/// A successful heartbeat's reply.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeartbeatReply {
    /// Session id (decimal).
    pub session: String,
    pub role: Role,
    pub seq: u64,
    /// Billed so far (decimal base units).
    pub billed: String,
    /// Withdrawable by the tutor now (decimal base units).
    pub withdrawable: String,
    /// Total deposit (decimal base units).
    pub deposited: String,
    /// Seconds until the deposit runs out.
    pub runway_seconds: u64,
    /// `none`, `warn10m` or `warn3m`.
    pub low_funds: String,
    /// Silence after which the relayer stops the session.
    pub silence_timeout_seconds: u64,
}

/// Shared state of the HTTP handlers.
#[derive(Debug)]
pub struct ApiState {
    pub registry: Arc<Registry>,
    pub domain: HeartbeatDomain,
    pub metrics: Arc<Metrics>,
    pub limits: ApiLimits,
    /// Per-IP flood control.
    pub ip_limiter: IpLimiter,
    pub sync: watch::Receiver<SyncStatus>,
    pub clock: Clock,
    /// Proxies, CORS, timeouts, admin token.
    pub http: HttpSettings,
}

impl ApiState {
    /// Verifies and records one heartbeat (everything after the per-IP limit).
    ///
    /// # Errors
    /// [`ApiError`] for each refusal.
    pub fn accept(&self, hb: &ParsedHeartbeat) -> Result<Standing, ApiError> {
        self.verify(hb)?;
        Ok(self.record(hb)?)
    }

    /// The checks before a heartbeat is recorded: clock skew, session, signature, key.
    ///
    /// # Errors
    /// [`ApiError`] for each refusal.
    pub fn verify(&self, hb: &ParsedHeartbeat) -> Result<(), ApiError> {
        let now = self.clock.now_unix();
        let skew = now.abs_diff(hb.sent_at);
        let max = self.limits.max_clock_skew.as_secs();
        if skew > max {
            return Err(ApiError::ClockSkew {
                sent_at: hb.sent_at,
                skew,
                max,
            });
        }
        let (key, known) = (self.registry)
            .heartbeat_key(hb.session, hb.role)
            .map_err(|r| self.refusal(r))?;
        let hash = self
            .domain
            .signing_hash(hb.session, hb.role, hb.seq, hb.sent_at);
        if known.is_some_and(|public| verify_key(&hb.signature, hash, &public)) {
            return Ok(());
        }
        let (signer, public) =
            recover_key(&hb.signature, hash).map_err(|_| ApiError::BadSignature)?;
        if signer != key {
            return Err(ApiError::WrongKey {
                signer,
                role: hb.role,
            });
        }
        self.registry.remember_key(hb.session, hb.role, key, public);
        Ok(())
    }

    /// A refusal of the registry as the API answers it: a session not known, or not
    /// known started, is `syncing` (503, retryable) while the follower is behind the
    /// chain's head, so a balancer passes the heartbeat to an instance that is not.
    fn refusal(&self, r: Refusal) -> ApiError {
        let s = *self.sync.borrow();
        match r {
            Refusal::UnknownSession | Refusal::SessionNotActive if !(s.caught_up && s.chain_ok) => {
                ApiError::Syncing(r)
            }
            r => r.into(),
        }
    }

    /// Records a verified heartbeat (replay order, flood limit per session and role).
    fn record(&self, hb: &ParsedHeartbeat) -> Result<Standing, Refusal> {
        (self.registry).record_heartbeat(hb.session, hb.role, hb.seq, hb.sent_at)
    }

    fn reject(&self, e: ApiError) -> Response {
        self.metrics
            .heartbeats_rejected
            .with_label_values(&[e.code()])
            .inc();
        e.into_response()
    }

    /// Checks and records one heartbeat body, after the per-client limit: also
    /// refused if any instance accepted this heartbeat or a later one.
    async fn heartbeat(
        &self,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<HeartbeatReply, ApiError> {
        let body = body.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(self.limits.max_body_bytes),
            _ => ApiError::Malformed(rejection.body_text()),
        })?;
        let hb = parse_heartbeat(&body)?;
        self.verify(&hb)?;
        let claim = (self.registry)
            .claim_heartbeat(hb.session, hb.role, hb.sent_at, hb.seq)
            .await;
        if let Some((last_sent_at, last_seq)) = claim {
            let (seq, sent_at) = (hb.seq, hb.sent_at);
            let replay = Refusal::Replay {
                seq,
                sent_at,
                last_seq,
                last_sent_at,
            };
            return Err(replay.into());
        }
        let standing = self.record(&hb)?;
        Ok(HeartbeatReply {
            session: hb.session.to_string(),
            role: hb.role,
            seq: hb.seq,
            billed: standing.billed.to_string(),
            withdrawable: standing.withdrawable.to_string(),
            deposited: standing.deposited.to_string(),
            runway_seconds: standing.runway_seconds,
            low_funds: low_funds(standing.runway_seconds).to_owned(),
            silence_timeout_seconds: self.registry.liveness().silence_timeout.as_secs(),
        })
    }
}

async fn heartbeat(
    State(state): State<Arc<ApiState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (trusted, header) = (&state.http.trusted_proxies, state.http.forwarded_header);
    if crate::server::proxy_sent_no_header(peer, &headers, trusted, header) {
        state.metrics.forwarded_header_missing.inc();
    }
    let client = crate::server::client_ip(peer, &headers, trusted, header);
    let reply = match state.ip_limiter.allow(client, state.clock.now()) {
        true => state.heartbeat(body).await,
        false => Err(ApiError::RateLimitedIp),
    };
    match reply {
        Ok(reply) => {
            state.metrics.heartbeats_accepted.inc();
            Json(reply).into_response()
        }
        Err(e) => state.reject(e),
    }
}

async fn session(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = SessionId::Text(id).parse().map_err(ApiError::Malformed)?;
    let status = state
        .registry
        .status(id)
        .ok_or_else(|| match state.registry.is_ended(id) {
            true => Refusal::SessionEnded,
            false => Refusal::UnknownSession,
        })?;
    let s = &status.session;
    let seen = |role: Role| s.seen[role.index()].map(|x| json!({ "seq": x.seq, "at": x.unix }));
    let phase = match s.phase {
        Phase::Open => "open",
        Phase::Active => "active",
        Phase::Stopping | Phase::Sending | Phase::Unconfirmed => "stopping",
    };
    Ok(Json(json!({
        "session": id.to_string(),
        "phase": phase,
        "student_key": s.student_key,
        "tutor_key": s.tutor_key,
        "start": s.terms.start,
        "rate": s.terms.rate.to_string(),
        "deposited": s.terms.deposited.to_string(),
        "billed": status.standing.billed.to_string(),
        "withdrawable": status.standing.withdrawable.to_string(),
        "runway_seconds": status.standing.runway_seconds,
        "low_funds": low_funds(status.standing.runway_seconds),
        "last_seen": { "student": seen(Role::Student), "tutor": seen(Role::Tutor) },
    })))
}

async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    let s = *state.sync.borrow();
    let (code, status) = match (s.authorized, s.caught_up && s.chain_ok) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "not_a_relayer"),
        (true, false) => (StatusCode::SERVICE_UNAVAILABLE, "syncing"),
        (true, true) => (StatusCode::OK, "ready"),
    };
    let body = json!({
        "status": status,
        "chain_ok": s.chain_ok,
        "authorized": s.authorized,
        "next_block": s.next_block,
        "head": s.head,
    });
    (code, Json(body)).into_response()
}

async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    state
        .metrics
        .sessions_watched
        .set(state.registry.watched() as i64);
    state
        .metrics
        .liveness_store_up
        .set(i64::from(state.registry.store_up()));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Refusal of an admin request without the configured bearer token.
fn unauthorized() -> Response {
    let message = "admin endpoint: send Authorization: Bearer <MINUTO_RELAYER_ADMIN_TOKEN>";
    let response = error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    ([(header::WWW_AUTHENTICATE, "Bearer")], response).into_response()
}

fn bearer_matches(headers: &HeaderMap, token: &AdminToken) -> bool {
    let given = (headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Constant time in the token's length: no byte-by-byte timing oracle.
    given.is_some_and(|g| g.as_bytes().ct_eq(token.expose_secret().as_bytes()).into())
}

async fn require_token(
    State(state): State<Arc<ApiState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match &state.http.admin_token {
        Some(token) if !bearer_matches(request.headers(), token) => unauthorized(),
        _ => next.run(request).await,
    }
}

/// A request that took longer than `http.request_timeout` (tower-http answers 408 with
/// an empty body; give it the API's error shape).
async fn timeout_body(response: Response) -> Response {
    match response.status() {
        StatusCode::REQUEST_TIMEOUT => error(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "request not completed in time",
        ),
        _ => response,
    }
}

fn common_layers(router: Router<Arc<ApiState>>, state: &ApiState) -> Router<Arc<ApiState>> {
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.http.request_timeout,
        ))
        // Outside the timeout layer, so that it sees the timeout's own 408.
        .layer(axum::middleware::map_response(timeout_body))
}

/// The public router: heartbeats, health and readiness, with CORS.
pub fn router(state: Arc<ApiState>) -> Router {
    let cors = tower_http::cors::CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(3600));
    let cors = match &state.http.cors_allowed_origins {
        CorsOrigins::Any => Some(cors.allow_origin(tower_http::cors::Any)),
        CorsOrigins::List(list) if list.is_empty() => None,
        CorsOrigins::List(list) => Some(cors.allow_origin(list.clone())),
    };
    let router = Router::new()
        .route("/v1/heartbeat", post(heartbeat))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let cors = tower::util::option_layer(cors);
    common_layers(router, &state).layer(cors).with_state(state)
}

/// The admin router: session status and metrics (bearer token when configured), health
/// and readiness (always open, for orchestrators' probes).
pub fn admin_router(state: Arc<ApiState>) -> Router {
    let protected = Router::new()
        .route("/v1/sessions/{id}", get(session))
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ));
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(protected);
    common_layers(router, &state).with_state(state)
}

//! HTTP and WebSocket front: sign-in, the client socket, health; metrics on the admin
//! listener.
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/auth/nonce` | `{"nonce"}` |
//! | `POST /v1/auth/verify` `{"message","signature"}` | `{"token","address","expires_in"}`; 400/401/503 `{"error","message"}` |
//! | `GET /v1/ws` | WebSocket; first frame `{"type":"hello","token"}` within 10 s |
//! | `GET /healthz` | 200 while the process runs |
//! | `GET /readyz` | 200 when the chain answers, else 503 |
//! | admin `GET /metrics` | Prometheus text |

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy_primitives::{hex, Address};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::{Auth, AuthError};
use crate::chain::ChainView;
use crate::cluster::Cluster;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::protocol::{ClientMsg, ErrorCode, ServerMsg};

/// How long a new socket has to say `hello`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The server pings each socket this often…
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
/// …and closes it after this long without any frame (a dropped tutor goes offline).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(25);
/// Longest wait for Redis to claim a sign-in nonce.
pub const CLAIM_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest client frame.
pub const MAX_FRAME: usize = 16 * 1024;

/// What the routes share.
pub struct App<C> {
    /// The hub.
    pub hub: Arc<Hub<C>>,
    /// Sign-in.
    pub auth: Arc<Auth>,
    /// With several instances: where nonces are claimed once for all of them.
    pub cluster: Option<Arc<Cluster>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Free WebSocket slots.
    pub slots: Arc<Semaphore>,
    /// Messages per second per client.
    pub messages_per_second: u32,
}

impl<C> Clone for App<C> {
    fn clone(&self) -> Self {
        Self {
            hub: Arc::clone(&self.hub),
            auth: Arc::clone(&self.auth),
            cluster: self.cluster.clone(),
            metrics: Arc::clone(&self.metrics),
            slots: Arc::clone(&self.slots),
            messages_per_second: self.messages_per_second,
        }
    }
}

fn refuse(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(json!({ "error": code, "message": message.to_string() })),
    )
        .into_response()
}

/// The public routes, with CORS for `origins` (none: any origin).
pub fn public<C: ChainView>(app: App<C>, origins: &[String]) -> Router {
    let allow = if origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let cors = CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    Router::new()
        .route("/v1/auth/nonce", get(nonce::<C>))
        .route("/v1/auth/verify", post(verify::<C>))
        .route("/v1/ws", get(ws::<C>))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready::<C>))
        .layer(cors)
        .with_state(app)
}

/// The admin routes.
pub fn admin(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let m = Arc::clone(&metrics);
            async move { m.render() }
        }),
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn nonce<C: ChainView>(State(app): State<App<C>>) -> Response {
    Json(json!({ "nonce": app.auth.nonce(unix_now()) })).into_response()
}

#[derive(Deserialize)]
struct Verify {
    message: String,
    signature: String,
}

async fn verify<C: ChainView>(State(app): State<App<C>>, body: axum::body::Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Verify>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected {\"message\": SIWE text, \"signature\": 0x-hex}",
        );
    };
    let Ok(sig) = hex::decode(v.signature.trim()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "signature is not hex",
        );
    };
    let now = unix_now();
    let signed = match app.auth.verify(&v.message, &sig, now) {
        Ok(s) => match &app.cluster {
            None => Ok(s),
            Some(c) => match tokio::time::timeout(CLAIM_TIMEOUT, c.claim_nonce(s.nonce, now)).await
            {
                Ok(Ok(true)) => Ok(s),
                Ok(Ok(false)) => Err(AuthError::BadNonce),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot claim a sign-in nonce in Redis");
                    Err(AuthError::ClusterUnavailable)
                }
                Err(_) => {
                    tracing::warn!("claiming a sign-in nonce in Redis timed out");
                    Err(AuthError::ClusterUnavailable)
                }
            },
        },
        Err(e) => Err(e),
    };
    match signed {
        Ok(s) => {
            app.metrics.sign_ins.inc();
            Json(json!({
                "token": s.token,
                "address": s.address,
                "expires_in": app.auth.config().session_ttl.as_secs(),
            }))
            .into_response()
        }
        Err(AuthError::Busy) => refuse(StatusCode::SERVICE_UNAVAILABLE, "busy", AuthError::Busy),
        Err(e @ AuthError::ClusterUnavailable) => {
            refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e)
        }
        Err(e @ AuthError::Malformed(_)) => refuse(StatusCode::BAD_REQUEST, "bad_request", e),
        Err(e) => refuse(StatusCode::UNAUTHORIZED, "unauthorized", e),
    }
}

async fn ready<C: ChainView>(State(app): State<App<C>>) -> Response {
    match tokio::time::timeout(Duration::from_secs(3), app.hub.chain().fee_bps()).await {
        Ok(Ok(_)) => "ready".into_response(),
        Ok(Err(e)) => refuse(StatusCode::SERVICE_UNAVAILABLE, "chain_unavailable", e),
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "chain_unavailable",
            "the chain did not answer in 3 s",
        ),
    }
}

async fn ws<C: ChainView>(State(app): State<App<C>>, upgrade: WebSocketUpgrade) -> Response {
    let Ok(permit) = Arc::clone(&app.slots).try_acquire_owned() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many connections",
        );
    };
    // Frames are small: 4 KiB buffers instead of the 128 KiB defaults cut a
    // connection's resident memory from ~170 KiB to ~40 KiB (examples/find_now_bench.rs).
    upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| async move {
            client(app, socket).await;
            drop(permit);
        })
}

fn text(msg: &ServerMsg) -> Message {
    Message::Text(
        serde_json::to_string(msg)
            .expect("server messages serialize")
            .into(),
    )
}

fn bad(message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error {
        code: ErrorCode::BadMessage,
        message: message.into(),
    }
}

/// Waits for `hello` and returns the signed-in address.
async fn hello<C: ChainView>(app: &App<C>, socket: &mut WebSocket) -> Option<Address> {
    let first = tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await;
    let refusal = match first {
        Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<ClientMsg>(&t) {
            Ok(ClientMsg::Hello { token }) => match app.auth.session(&token, unix_now()) {
                Some(me) => return Some(me),
                None => "unknown or expired token: sign in again",
            },
            _ => "the first message must be {\"type\":\"hello\",\"token\":…}",
        },
        Err(_) => "no hello within 10 s",
        _ => "the first message must be a text frame with hello",
    };
    let _ = socket
        .send(text(&ServerMsg::Error {
            code: ErrorCode::Unauthorized,
            message: refusal.into(),
        }))
        .await;
    None
}

/// One signed-in client, until it closes, goes quiet, is replaced or is too slow.
async fn client<C: ChainView>(app: App<C>, mut socket: WebSocket) {
    let Some(me) = hello(&app, &mut socket).await else {
        let _ = socket.close().await;
        return;
    };
    if socket
        .send(text(&ServerMsg::Welcome { address: me }))
        .await
        .is_err()
    {
        return;
    }
    let (id, mut outbox) = app.hub.connect(me);
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.reset();
    let mut last_heard = Instant::now();
    let rate = f64::from(app.messages_per_second);
    let mut tokens = rate * 2.0;
    let mut refilled = Instant::now();
    loop {
        tokio::select! {
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                last_heard = Instant::now();
                let t = match frame {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    Message::Binary(_) => {
                        app.hub_send_direct(&mut sink, bad("binary frames are not part of the protocol")).await;
                        continue;
                    }
                    _ => continue,
                };
                let now = Instant::now();
                tokens = (tokens + rate * (now - refilled).as_secs_f64()).min(rate * 2.0);
                refilled = now;
                if tokens < 1.0 {
                    app.hub_send_direct(&mut sink, ServerMsg::Error {
                        code: ErrorCode::RateLimited,
                        message: format!("at most {} messages a second", app.messages_per_second),
                    }).await;
                    continue;
                }
                tokens -= 1.0;
                match serde_json::from_str::<ClientMsg>(&t) {
                    Ok(msg) => app.hub.submit(me, msg).await,
                    Err(e) => app.hub_send_direct(&mut sink, bad(e.to_string())).await,
                }
            }
            out = outbox.recv() => {
                let Some(msg) = out else { break };
                let last = matches!(msg, ServerMsg::Error { code: ErrorCode::Unauthorized, .. });
                if sink.send(text(&msg)).await.is_err() || last {
                    break;
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT || sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    app.hub.disconnect(me, id);
    let _ = sink.close().await;
}

impl<C> App<C> {
    async fn hub_send_direct(
        &self,
        sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
        msg: ServerMsg,
    ) {
        let _ = sink.send(text(&msg)).await;
    }
}

//! The HTTP front: hyper connections with a header-read timeout, a bound on open
//! connections, graceful shutdown, and the client's address as the router sees it.
//!
//! `axum::serve` offers neither of the first two, so connections are accepted here and
//! handed to hyper's HTTP/1 server. Past `max_connections` a new connection is answered
//! at once with 503 `too_many_connections` and closed: a client left in the kernel's
//! backlog would go silent unawares and its session be stopped, a refused one can retry
//! or try another instance.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use ipnet::IpNet;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::config::{ForwardedHeader, HttpSettings};

/// Serves `app` on `listener` with `limits.max_connections` and
/// `limits.header_read_timeout` (the slow-loris defence) until `stop` is cancelled, then
/// lets open connections finish their request (up to `drain`).
///
/// # Errors
/// Never in practice: accept errors (out of file descriptors) are logged and retried.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &HttpSettings,
    drain: Duration,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Refusals being written at once; past this (a flood), excess connections are
    // dropped without an answer.
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            debug!(%peer, "connection limit reached: refused");
            if let Ok(slot) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(slot);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let svc = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(%peer, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("http: connections still open after the drain bound");
    }
    Ok(())
}

/// Refusals written concurrently at most (each holds a socket for up to twice
/// [`REFUSAL_WAIT`]).
const REFUSALS_IN_FLIGHT: usize = 1024;
/// How long a refused connection's request head is awaited before the answer (HTTP
/// clients drop an answer that comes before their request), and how long it is read
/// from after the answer (so that unread bytes do not turn the close into a reset that
/// hides the answer).
const REFUSAL_WAIT: Duration = Duration::from_millis(500);
/// The answer to a connection over the limit, in the API's error shape.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 84\r\n\r\n\
{\"error\":\"too_many_connections\",\"message\":\"connection limit reached; retry shortly\"}";

/// Answers 503 `too_many_connections` and closes, reading no more than the request's
/// head (or what arrives within [`REFUSAL_WAIT`]).
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(REFUSAL_WAIT, async {
        while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let answered = tokio::time::timeout(REFUSAL_WAIT, async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await?;
        while stream.read(&mut buf).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
    if let Ok(Err(e)) = answered {
        debug!(error = %e, "refusal not delivered");
    }
}

/// The address a request comes from.
///
/// The TCP peer, unless it is one of `trusted` proxies: then the proxies' own `header`
/// is read from the right (the hop nearest to us) past every trusted hop, and the first
/// address that is not a trusted proxy is the client. Only that one header is read: a
/// proxy passes on unchanged a header it does not write itself (nginx appends to
/// `X-Forwarded-For` and leaves a client's `Forwarded` as it came). A client cannot
/// choose its bucket by sending the header itself either: what it wrote is to the left
/// of what the trusted proxies appended, and only a trusted peer's header is read at all.
pub fn client_ip(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = canonical(peer.ip());
    if !is_trusted(&client) {
        return client;
    }
    for hop in forwarded_hops(headers, header).into_iter().rev() {
        // An obfuscated or unknown hop ("unknown", "_hidden"): nothing to the left of it
        // can be vouched for; it stands for one client.
        let Some(ip) = hop else { return client };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// Whether `peer` is one of the `trusted` proxies and sent no `header`: a proxy that
/// writes the other header, or none, puts every client behind it in one bucket.
pub fn proxy_sent_no_header(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> bool {
    let peer = canonical(peer.ip());
    trusted.iter().any(|net| net.contains(&peer)) && !headers.contains_key(header.name())
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The hops named by `header` (`Forwarded`: its `for=` parameters), left to right;
/// `None` for a hop that is not an address: not UTF-8, `unknown`, obfuscated, or a
/// `Forwarded` element without `for=`. Header values are split as bytes, so a hop a
/// client wrote in other bytes does not hide the ones the proxies appended.
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let elements = (headers.get_all(header.name()).iter())
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(|e| std::str::from_utf8(e).ok());
    let node = |element: &str| match header {
        ForwardedHeader::XForwardedFor => parse_node(element),
        ForwardedHeader::Forwarded => element.split(';').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse_node(value))?
        }),
    };
    elements.map(|e| e.and_then(node)).collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:443"`, `2001:db8::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    let ip = (s.parse::<IpAddr>().ok())
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| s.strip_prefix('[')?.split(']').next()?.parse().ok())?;
    Some(canonical(ip))
}

//! The dashboard page: `GET /dashboard?address=0x…` — a tutor's earnings chart and
//! sessions, a student's history and progress — plain HTML, CSS and a script calling the
//! JSON API on the same origin, with uPlot (vendored from the npm package pinned in the
//! root `package.json`) drawing the charts. The files are compiled into the binary, so a
//! deployed indexer needs no asset directory; nothing is built to run it.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// A file under `/dashboard/`.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "dashboard.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../dashboard/dashboard.js"),
    },
    Asset {
        path: "dashboard.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../dashboard/dashboard.css"),
    },
    Asset {
        path: "vendor/uPlot.iife.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../dashboard/vendor/uplot/uPlot.iife.min.js"),
    },
    Asset {
        path: "vendor/uPlot.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../dashboard/vendor/uplot/uPlot.min.css"),
    },
    Asset {
        path: "vendor/uPlot-LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../dashboard/vendor/uplot/LICENSE"),
    },
];

const PAGE: &str = include_str!("../dashboard/index.html");

/// Only this origin's scripts, styles and API; no inline script, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' data:; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";

fn file(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    file("text/html; charset=utf-8", PAGE.as_bytes())
}

async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(a) => file(a.content_type, a.body),
        None => (StatusCode::NOT_FOUND, "no such dashboard file").into_response(),
    }
}

/// `GET /dashboard`, its files under `/dashboard/…`, and `/dashboard/` sent to
/// `/dashboard` (the page's links are relative to it).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/dashboard", get(page))
        .route(
            "/dashboard/",
            get(|| async { Redirect::permanent("../dashboard") }),
        )
        .route("/dashboard/{*path}", get(asset))
}

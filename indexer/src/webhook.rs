//! Signed webhooks: every notification the SSE stream of an address sends
//! ([`crate::notify::Conn`], the one source) is POSTed as JSON to each configured endpoint
//! subscribed to that address.
//!
//! Each request carries [`HEADER_ID`] (the notification's id: the idempotency key),
//! [`HEADER_TIMESTAMP`] (unix seconds when signed) and [`HEADER_SIGNATURE`]:
//! `sha256=` and the lowercase hex HMAC-SHA256 of `{timestamp}.{body}` keyed with the
//! endpoint's secret.
//!
//! Delivery is at-least-once, in chain order per (endpoint, address): a notification is
//! retried with exponential backoff (from `retry_initial`, doubling, capped at
//! `retry_max`) until the endpoint answers 2xx; only then is the endpoint's cursor in
//! `webhook_cursor` advanced past it. After a restart delivery resumes after the cursor,
//! so the only notification that can arrive twice is the one in flight when the indexer
//! stopped (and `low_funds`, which is recomputed, not stored).

use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::Address;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use sqlx::Row;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use url::Url;
use zeroize::Zeroizing;

use crate::ingest::Status;
use crate::notify::{self, Conn, NotifyConfig, Position};
use crate::store::{hex_addr, Store, StoreError};

/// The idempotency key: the notification's id.
pub const HEADER_ID: &str = "minuto-webhook-id";
/// Unix seconds at which the request was signed.
pub const HEADER_TIMESTAMP: &str = "minuto-webhook-timestamp";
/// `sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
pub const HEADER_SIGNATURE: &str = "minuto-webhook-signature";

/// A webhook secret: zeroized when dropped, never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

/// One endpoint.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Names the endpoint's cursors in the database (renaming starts it afresh).
    pub name: String,
    /// Where notifications are POSTed.
    pub url: Url,
    /// The HMAC key.
    pub secret: Secret,
    /// The addresses whose notifications it receives.
    pub addresses: Vec<Address>,
    /// Per request.
    pub timeout: Duration,
    /// First pause after a failed attempt (doubled after each).
    pub retry_initial: Duration,
    /// The longest pause.
    pub retry_max: Duration,
}

/// `sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}` keyed with `secret`.
pub fn signature(secret: &Secret, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The stored cursor of (`endpoint`, `who`), if any.
///
/// # Errors
/// [`StoreError`].
pub async fn cursor(
    store: &Store,
    endpoint: &str,
    who: Address,
) -> Result<Option<Position>, StoreError> {
    let row = sqlx::query(
        "SELECT block, log_index FROM webhook_cursor WHERE endpoint = $1 AND address = $2",
    )
    .bind(endpoint)
    .bind(hex_addr(&who))
    .fetch_optional(store.pool())
    .await?;
    row.map(|r| Ok((r.try_get("block")?, r.try_get("log_index")?)))
        .transpose()
}

async fn save(store: &Store, endpoint: &str, who: Address, at: Position) -> Result<(), StoreError> {
    // Only the writer lease's holder delivers, so only it moves a cursor (one that lost
    // the lease mid-delivery cannot move it back under its successor).
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO webhook_cursor (endpoint, address, block, log_index) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (endpoint, address) DO UPDATE \
         SET block = excluded.block, log_index = excluded.log_index",
    )
    .bind(endpoint)
    .bind(hex_addr(&who))
    .bind(at.0)
    .bind(at.1)
    .execute(&mut *tx)
    .await?;
    store.fence(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// What a delivery task needs besides its endpoint and address.
#[derive(Clone)]
pub(crate) struct Shared {
    pub store: Store,
    pub status: watch::Receiver<Status>,
    pub notify: NotifyConfig,
    pub client: reqwest::Client,
    pub cancel: CancellationToken,
}

/// A client for webhook requests: no redirects followed (a redirect is a failure).
pub(crate) fn client() -> reqwest::Client {
    minuto_chain::install_tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client without custom TLS builds")
}

/// Delivers every `(hook, address)`'s notifications while this instance holds the
/// writer lease (`writer`), until cancelled: only one of several instances sharing a
/// database delivers. A delivery in flight when the lease passes on is dropped, its
/// cursor not advanced: the new holder sends it again (at least once).
pub(crate) async fn serve(
    hooks: Vec<(Arc<Webhook>, Address)>,
    s: Shared,
    mut writer: watch::Receiver<bool>,
) {
    if hooks.is_empty() {
        return;
    }
    loop {
        tokio::select! {
            () = s.cancel.cancelled() => return,
            r = writer.wait_for(|w| *w) => if r.is_err() { return },
        }
        let term = Shared {
            cancel: s.cancel.child_token(),
            ..s.clone()
        };
        let tasks: Vec<_> = hooks
            .iter()
            .map(|(hook, who)| tokio::spawn(run(Arc::clone(hook), *who, term.clone())))
            .collect();
        tokio::select! {
            () = s.cancel.cancelled() => {}
            _ = writer.wait_for(|w| !*w) => {}
        }
        term.cancel.cancel();
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Delivers `who`'s notifications to `hook` until cancelled or ingestion stops.
pub(crate) async fn run(hook: Arc<Webhook>, who: Address, s: Shared) {
    let start = loop {
        let found = match cursor(&s.store, &hook.name, who).await {
            Ok(Some(p)) => Ok(p),
            Ok(None) => {
                // First run: from what is new, remembered at once so that a restart
                // before the first delivery does not skip anything.
                let stored = s.status.borrow().stored;
                match notify::start_position(&s.store, stored).await {
                    Ok(p) => save(&s.store, &hook.name, who, p).await.map(|()| p),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match found {
            Ok(p) => break p,
            Err(e) => {
                tracing::warn!(endpoint = %hook.name, error = %e, "webhook: cursor read failed");
                tokio::select! {
                    () = s.cancel.cancelled() => return,
                    () = tokio::time::sleep(hook.retry_max) => {}
                }
            }
        }
    };
    let mut conn = Conn::new(
        s.store.clone(),
        who,
        start,
        s.status.clone(),
        s.notify.clone(),
    );
    loop {
        let n = tokio::select! {
            () = s.cancel.cancelled() => return,
            n = conn.next() => match n {
                Some(n) => n,
                None => return,
            },
        };
        let body = json!({
            "id": n.id,
            "event": n.name,
            "address": hex_addr(&who),
            "data": n.data,
        })
        .to_string();
        let mut pause = hook.retry_initial;
        loop {
            let attempt = tokio::select! {
                () = s.cancel.cancelled() => return,
                r = deliver(&s, &hook, &n.id, &body) => r,
            };
            match attempt {
                Ok(()) => break,
                Err(why) => tracing::warn!(
                    endpoint = %hook.name, id = %n.id, error = %why, retry_in = ?pause,
                    "webhook delivery failed"
                ),
            }
            tokio::select! {
                () = s.cancel.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(hook.retry_max);
        }
        // Delivered: a failed write only means it may be delivered again.
        while let Err(e) = save(&s.store, &hook.name, who, n.position).await {
            tracing::warn!(endpoint = %hook.name, error = %e, "webhook: cursor write failed");
            tokio::select! {
                () = s.cancel.cancelled() => return,
                () = tokio::time::sleep(hook.retry_max) => {}
            }
        }
    }
}

/// One signed POST; `Err` names why it does not count as delivered.
async fn deliver(s: &Shared, hook: &Webhook, id: &str, body: &str) -> Result<(), String> {
    let timestamp = (s.notify.clock)();
    let r = s
        .client
        .post(hook.url.clone())
        .timeout(hook.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(HEADER_ID, id)
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_SIGNATURE, signature(&hook.secret, timestamp, body))
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", r.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::{signature, Secret};

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Pins the format against a value computed with openssl:
        // printf '1700000000.{"id":"5:0"}' | openssl dgst -sha256 -hmac 'whsec-test'
        assert_eq!(
            signature(
                &Secret::new("whsec-test".into()),
                1_700_000_000,
                r#"{"id":"5:0"}"#
            ),
            "sha256=2f0b9aa70525192f0e1ba0b66e997a94b5494919b7f438543e7e10df2a64db52"
        );
        assert_eq!(
            format!("{:?}", Secret::new("whsec-test".into())),
            "Secret(redacted)"
        );
    }
}

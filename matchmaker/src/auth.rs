//! Sign-In with Ethereum (EIP-4361) and the session tokens it hands out.
//!
//! `GET /v1/auth/nonce` issues a single-use nonce; the wallet signs a SIWE message that
//! carries it, for this service's domain and chain; `POST /v1/auth/verify` checks the
//! message and the EIP-191 signature and returns a bearer token bound to the address.
//! Nonces and tokens live in memory with a time to live and a cap, so neither a flood of
//! nonce requests nor of sign-ins can grow them without bound.
//!
//! Smart-contract wallets (EIP-1271) are not accepted yet: the signature must recover to
//! the message's address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy_primitives::{hex, Address};
use rand::distributions::Alphanumeric;
use rand::Rng;

/// How sign-in is checked.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// The domain (RFC 3986 authority, e.g. `app.minuto.example`) the message must name:
    /// the dApp's own, so a message signed for another site is refused.
    pub domain: String,
    /// The chain the message must name.
    pub chain_id: u64,
    /// How long an issued nonce can be used.
    pub nonce_ttl: Duration,
    /// How long a session token is valid.
    pub session_ttl: Duration,
    /// Most nonces outstanding and most sessions alive (each).
    pub capacity: usize,
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Not a SIWE message.
    #[error("not a Sign-In with Ethereum message: {0}")]
    Malformed(String),
    /// The message names another domain.
    #[error("the message is for domain {0:?}, not this service's")]
    WrongDomain(String),
    /// The message names another chain.
    #[error("the message is for chain {0}, not this service's")]
    WrongChain(u64),
    /// The nonce was not issued here, was used, or expired.
    #[error("unknown, used or expired nonce")]
    BadNonce,
    /// Outside the message's not-before / expiration time.
    #[error("the message is not valid at this time")]
    NotValidNow,
    /// The signature is malformed or not the address's.
    #[error("the signature is not the message address's")]
    BadSignature,
    /// Too many nonces or sessions outstanding.
    #[error("too many sign-ins in progress; try again shortly")]
    Busy,
}

/// Nonces, sessions, and the check between them.
#[derive(Debug)]
pub struct Auth {
    config: AuthConfig,
    nonces: Mutex<HashMap<String, Instant>>,
    sessions: Mutex<HashMap<String, (Address, Instant)>>,
}

/// Drops expired entries; errs if the map is still at `cap`.
fn make_room<V>(
    map: &mut HashMap<String, V>,
    cap: usize,
    expired: impl Fn(&V) -> bool,
) -> Result<(), AuthError> {
    if map.len() >= cap {
        map.retain(|_, v| !expired(v));
    }
    if map.len() >= cap {
        return Err(AuthError::Busy);
    }
    Ok(())
}

impl Auth {
    /// Empty.
    pub fn new(config: AuthConfig) -> Self {
        Self {
            config,
            nonces: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// A fresh single-use nonce (17 alphanumeric characters, as SIWE asks ≥ 8).
    ///
    /// # Errors
    /// [`AuthError::Busy`] when `capacity` unexpired nonces are outstanding.
    pub fn nonce(&self, now: Instant) -> Result<String, AuthError> {
        let nonce: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(17)
            .map(char::from)
            .collect();
        let mut nonces = self.nonces.lock().unwrap();
        make_room(&mut nonces, self.config.capacity, |until| *until <= now)?;
        nonces.insert(nonce.clone(), now + self.config.nonce_ttl);
        Ok(nonce)
    }

    /// Checks a signed SIWE message and returns a session token and the address.
    /// `unix_now` is wall-clock time for the message's validity window; `now` the
    /// monotonic time for the nonce and session expiry.
    ///
    /// # Errors
    /// [`AuthError`], naming the first check that failed. The nonce is used up by any
    /// attempt that names it, failed or not, so a signature cannot be retried.
    pub fn verify(
        &self,
        message: &str,
        signature: &[u8],
        unix_now: i64,
        now: Instant,
    ) -> Result<(String, Address), AuthError> {
        let msg: siwe::Message = message
            .parse()
            .map_err(|e: siwe::ParseError| AuthError::Malformed(e.to_string()))?;
        let fresh = self
            .nonces
            .lock()
            .unwrap()
            .remove(&msg.nonce)
            .is_some_and(|until| until > now);
        if msg.domain.as_str() != self.config.domain {
            return Err(AuthError::WrongDomain(msg.domain.to_string()));
        }
        if msg.chain_id != self.config.chain_id {
            return Err(AuthError::WrongChain(msg.chain_id));
        }
        if !fresh {
            return Err(AuthError::BadNonce);
        }
        let at = time::OffsetDateTime::from_unix_timestamp(unix_now)
            .map_err(|_| AuthError::NotValidNow)?;
        if !msg.valid_at(&at) {
            return Err(AuthError::NotValidNow);
        }
        let sig: &[u8; 65] = signature.try_into().map_err(|_| AuthError::BadSignature)?;
        msg.verify_eip191(sig)
            .map_err(|_| AuthError::BadSignature)?;
        let address = Address::from(msg.address);
        let token = hex::encode(rand::thread_rng().gen::<[u8; 32]>());
        let mut sessions = self.sessions.lock().unwrap();
        make_room(&mut sessions, self.config.capacity, |(_, until)| {
            *until <= now
        })?;
        sessions.insert(token.clone(), (address, now + self.config.session_ttl));
        Ok((token, address))
    }

    /// The address a live session token belongs to.
    pub fn session(&self, token: &str, now: Instant) -> Option<Address> {
        let sessions = self.sessions.lock().unwrap();
        sessions
            .get(token)
            .filter(|(_, until)| *until > now)
            .map(|(a, _)| *a)
    }
}

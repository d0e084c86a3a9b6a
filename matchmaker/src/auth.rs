//! Sign-In with Ethereum (EIP-4361) and the session tokens it hands out.
//!
//! `GET /v1/auth/nonce` issues a nonce; the wallet signs a SIWE message that carries it,
//! for this service's domain and chain; `POST /v1/auth/verify` checks the message and the
//! EIP-191 signature and returns a bearer token bound to the address.
//!
//! Nonces and tokens carry their own expiry and a MAC keyed by the session secret, so any
//! instance sharing the secret accepts what another issued (several instances behind a
//! load balancer) and nothing is stored per token. A nonce is single-use on each instance
//! (a bounded set of used nonces until they expire) and, with several instances, across
//! them: a sign-in that passes every check here also claims its nonce in the cluster's
//! Redis ([`SignIn::nonce`], `crate::cluster::Cluster::claim_nonce`), so one signed
//! message yields at most one session token however many instances it is sent to.
//!
//! Smart-contract wallets (EIP-1271) are not accepted yet: the signature must recover to
//! the message's address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use alloy_primitives::{hex, keccak256, Address};
use rand::Rng;

/// How sign-in is checked.
#[derive(Clone)]
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
    /// Most used nonces remembered (until they expire) — bounds memory under a flood.
    pub capacity: usize,
    /// Keys the MAC of nonces and tokens; the same on every instance.
    pub secret: [u8; 32],
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("domain", &self.domain)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
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
    /// Too many sign-ins in progress.
    #[error("too many sign-ins in progress; try again shortly")]
    Busy,
    /// With several instances: the nonce could not be claimed in the shared Redis (it is
    /// used up here all the same; sign in again with a new one).
    #[error("the cluster's store cannot be reached to claim the nonce; try again shortly")]
    ClusterUnavailable,
}

/// A sign-in that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// The session token.
    pub token: String,
    /// The address signed in.
    pub address: Address,
    /// The nonce's id and its expiry (unix seconds): claimed once across instances.
    pub nonce: ([u8; 8], u64),
}

/// Nonces, tokens, and the check between them.
#[derive(Debug)]
pub struct Auth {
    config: AuthConfig,
    /// Nonces used on this instance, until their expiry.
    used: Mutex<HashMap<[u8; 8], u64>>,
}

const MAC_LEN: usize = 16;

impl Auth {
    /// Ready to sign people in.
    pub fn new(config: AuthConfig) -> Self {
        Self {
            config,
            used: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    fn mac(&self, kind: &[u8], body: &[u8]) -> [u8; MAC_LEN] {
        let mut buf = Vec::with_capacity(32 + kind.len() + body.len());
        buf.extend_from_slice(&self.config.secret);
        buf.extend_from_slice(kind);
        buf.extend_from_slice(body);
        let h = keccak256(&buf);
        h[..MAC_LEN].try_into().expect("16 of 32 bytes")
    }

    /// `body ‖ MAC(kind, body)`, hex.
    fn seal(&self, kind: &[u8], body: &[u8]) -> String {
        let mut out = body.to_vec();
        out.extend_from_slice(&self.mac(kind, body));
        hex::encode(out)
    }

    /// The body of a sealed value, if its MAC holds.
    fn open(&self, kind: &[u8], sealed: &str, body_len: usize) -> Option<Vec<u8>> {
        let bytes = hex::decode(sealed.trim()).ok()?;
        if bytes.len() != body_len + MAC_LEN {
            return None;
        }
        let (body, mac) = bytes.split_at(body_len);
        (self.mac(kind, body) == mac).then(|| body.to_vec())
    }

    /// A fresh nonce: 8 random bytes and the expiry, MAC'd (hex, as SIWE asks: ≥ 8
    /// alphanumeric characters).
    pub fn nonce(&self, unix_now: u64) -> String {
        let mut body = rand::thread_rng().gen::<[u8; 8]>().to_vec();
        let expiry = unix_now + self.config.nonce_ttl.as_secs();
        body.extend_from_slice(&expiry.to_be_bytes());
        self.seal(b"nonce", &body)
    }

    /// Checks a signed SIWE message at `unix_now` and returns the session token, the
    /// address and the nonce.
    ///
    /// # Errors
    /// [`AuthError`], naming the first check that failed. A nonce is used up by any
    /// attempt that names it, failed or not, so a signature cannot be retried.
    pub fn verify(
        &self,
        message: &str,
        signature: &[u8],
        unix_now: u64,
    ) -> Result<SignIn, AuthError> {
        let msg: siwe::Message = message
            .parse()
            .map_err(|e: siwe::ParseError| AuthError::Malformed(e.to_string()))?;
        let nonce = self.open(b"nonce", &msg.nonce, 16);
        let fresh = match nonce {
            Some(body) => {
                let id: [u8; 8] = body[..8].try_into().expect("8 bytes");
                let expiry = u64::from_be_bytes(body[8..].try_into().expect("8 bytes"));
                let mut used = self.used.lock().unwrap();
                if used.len() >= self.config.capacity {
                    used.retain(|_, until| *until > unix_now);
                }
                if used.len() >= self.config.capacity {
                    return Err(AuthError::Busy);
                }
                (expiry > unix_now && used.insert(id, expiry).is_none()).then_some((id, expiry))
            }
            None => None,
        };
        if msg.domain.as_str() != self.config.domain {
            return Err(AuthError::WrongDomain(msg.domain.to_string()));
        }
        if msg.chain_id != self.config.chain_id {
            return Err(AuthError::WrongChain(msg.chain_id));
        }
        let nonce = fresh.ok_or(AuthError::BadNonce)?;
        let at = i64::try_from(unix_now)
            .ok()
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or(AuthError::NotValidNow)?;
        if !msg.valid_at(&at) {
            return Err(AuthError::NotValidNow);
        }
        let sig: &[u8; 65] = signature.try_into().map_err(|_| AuthError::BadSignature)?;
        msg.verify_eip191(sig)
            .map_err(|_| AuthError::BadSignature)?;
        let address = Address::from(msg.address);
        let mut body = address.to_vec();
        body.extend_from_slice(&(unix_now + self.config.session_ttl.as_secs()).to_be_bytes());
        Ok(SignIn {
            token: self.seal(b"session", &body),
            address,
            nonce,
        })
    }

    /// The address a live session token belongs to.
    pub fn session(&self, token: &str, unix_now: u64) -> Option<Address> {
        let body = self.open(b"session", token, 28)?;
        let expiry = u64::from_be_bytes(body[20..].try_into().ok()?);
        (expiry > unix_now).then(|| Address::from_slice(&body[..20]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(secret: u8) -> Auth {
        Auth::new(AuthConfig {
            domain: "app.test".into(),
            chain_id: 1,
            nonce_ttl: Duration::from_secs(300),
            session_ttl: Duration::from_secs(60),
            capacity: 2,
            secret: [secret; 32],
        })
    }

    #[test]
    fn tokens_hold_only_under_the_same_secret_and_until_they_expire() {
        let (a, b, other) = (auth(1), auth(1), auth(2));
        let who = Address::repeat_byte(0x42);
        let mut body = who.to_vec();
        body.extend_from_slice(&1_060u64.to_be_bytes());
        let token = a.seal(b"session", &body);
        assert_eq!(b.session(&token, 1_000), Some(who), "another instance");
        assert_eq!(b.session(&token, 1_060), None, "expired");
        assert_eq!(other.session(&token, 1_000), None, "another secret");
        let mut forged = token.clone();
        forged.replace_range(0..2, "43");
        assert_eq!(a.session(&forged, 1_000), None, "altered address");
        // A nonce is not a session token (and the other way round).
        assert_eq!(a.session(&a.nonce(1_000), 1_000), None);
    }
}

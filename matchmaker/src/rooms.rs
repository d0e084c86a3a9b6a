//! Where a matched pair meets: a room id and one join token per party.
//!
//! The matchmaker does not run calls. A [`Rooms`] provider names the room; the default,
//! [`KeyedRooms`], mints an opaque id and join tokens that a video gateway holding the
//! same secret checks with [`KeyedRooms::check`] — no call back to the matchmaker.
//! A token is `keccak256(secret ‖ room id ‖ party ‖ expiry)`: keyed keccak is not open to
//! length extension, so it serves as a MAC without another dependency.

use alloy_primitives::{hex, keccak256, Address};
use rand::Rng;

use crate::protocol::Room;

/// Names the room for a match.
pub trait Rooms: Send + Sync + 'static {
    /// The room for `student` and `tutor`, as each of them joins it.
    fn open(&self, student: Address, tutor: Address, unix_now: u64) -> (Room, Room);
}

/// The default provider: opaque ids, join tokens keyed by a shared secret.
pub struct KeyedRooms {
    secret: [u8; 32],
    ttl_secs: u64,
}

impl std::fmt::Debug for KeyedRooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedRooms")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl KeyedRooms {
    /// Tokens valid for `ttl_secs`, keyed by `secret`.
    pub fn new(secret: [u8; 32], ttl_secs: u64) -> Self {
        Self { secret, ttl_secs }
    }

    fn token(&self, room: &str, party: Address, expires: u64) -> String {
        let mut buf = Vec::with_capacity(32 + room.len() + 20 + 8);
        buf.extend_from_slice(&self.secret);
        buf.extend_from_slice(room.as_bytes());
        buf.extend_from_slice(party.as_slice());
        buf.extend_from_slice(&expires.to_be_bytes());
        hex::encode(keccak256(&buf))
    }

    /// Whether `token` lets `party` join `room` at `unix_now`.
    pub fn check(
        &self,
        room: &str,
        party: Address,
        expires: u64,
        token: &str,
        unix_now: u64,
    ) -> bool {
        unix_now < expires && self.token(room, party, expires) == token
    }
}

impl Rooms for KeyedRooms {
    fn open(&self, student: Address, tutor: Address, unix_now: u64) -> (Room, Room) {
        let id = hex::encode(rand::thread_rng().gen::<[u8; 16]>());
        let expires = unix_now + self.ttl_secs;
        let room = |party| Room {
            id: id.clone(),
            token: self.token(&id, party, expires),
            expires,
        };
        (room(student), room(tutor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_party_gets_a_token_that_checks_only_for_them_until_it_expires() {
        let rooms = KeyedRooms::new([7; 32], 3_600);
        let (s, t) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let (a, b) = rooms.open(s, t, 1_000);
        assert_eq!(a.id, b.id);
        assert_eq!(a.expires, 4_600);
        assert!(rooms.check(&a.id, s, a.expires, &a.token, 4_599));
        assert!(rooms.check(&b.id, t, b.expires, &b.token, 1_000));
        assert!(
            !rooms.check(&a.id, t, a.expires, &a.token, 1_000),
            "other party"
        );
        assert!(
            !rooms.check(&a.id, s, a.expires, &a.token, 4_600),
            "expired"
        );
        assert!(
            !rooms.check(&a.id, s, a.expires + 1, &a.token, 1_000),
            "expiry altered"
        );
        let other = KeyedRooms::new([8; 32], 3_600);
        assert!(
            !other.check(&a.id, s, a.expires, &a.token, 1_000),
            "other secret"
        );
        let (c, _) = rooms.open(s, t, 1_000);
        assert_ne!(a.id, c.id, "a fresh room per match");
    }
}

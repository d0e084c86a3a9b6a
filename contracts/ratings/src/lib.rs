//! Minuto rating registry: append-only ratings between the parties of ended sessions.
//!
//! After a session has ended in the escrow, its student and its tutor may each
//! [`rate`](Ratings::rate) the other once: a score of 1 to 5 and the keccak-256 hash of
//! an IPFS CID whose document holds the text. The CID itself goes only in the [`Rated`]
//! event, for indexers; the contract checks that it hashes to the stored `contentHash`,
//! so an indexer can trust the pair.
//!
//! Rules:
//! - The session must be Ended (not Open, Active or Cancelled) and its billed duration
//!   `end − start` at least `minDuration` seconds (300 at deploy): sessions that never
//!   really ran cannot produce ratings, the first defence against fake reviews. A session
//!   that ran out of funds ended when they did.
//! - It must also have billed at least `minBilled(token)` base units of its token, a floor
//!   the admin sets per token (e.g. 1 USDC); a token without a floor earns no ratings. A
//!   session at a dust rate proves nothing: a rating must cost real money to fake.
//! - It must have paid the protocol fee (`feeBps` above 0 when it was opened): the tutor
//!   can hand the student everything else back, so only the fee is a colluding pair's
//!   real cost.
//! - A rating is accepted while `block.timestamp ≤ end + ratingWindow` (14 days at
//!   deploy, 1,209,600 s). `end` is when billing stopped: for a session whose deposit ran
//!   out, when it ran out, even if it was settled much later. One settled more than the
//!   window after that can never be rated (audit L4; the escrow does not record when it
//!   was settled).
//! - Only the student or the tutor may rate, and always the other party; nobody rates
//!   themselves. One rating per rater per session: no edits, no deletes.
//! - Per address, on chain: count and sum of the scores received as a tutor and as a
//!   student, kept apart ([`Ratings::aggregates`]); per session, both ratings
//!   ([`Ratings::session_ratings`]).
//!
//! The admin may change `minDuration`, `ratingWindow` and the per-token floors; the change
//! applies to ratings from then on. The admin role moves in two steps (`transferAdmin`,
//! then `acceptAdmin` by the successor); the escrow must be a contract at deployment.
//!
//! The Solidity interface is the SDK's export of the `#[public]` impl plus the
//! declarations between the `abi:begin` and `abi:end` markers (events and errors).
//! Calls are routed, errors and events ABI-encoded by hand, and host access goes through
//! the SDK's free functions, as in the escrow: each generic encoder instance costs about
//! 1 KB of WASM, and every call pays to load the program (issue #17).
#![cfg_attr(target_arch = "wasm32", no_std)]

#[macro_use]
extern crate alloc;

mod router;
use minuto_escrow_view as escrow;

use alloc::{string::String, vec::Vec};

use alloy_primitives::{Address, Uint, B256, U256};
use alloy_sol_types::SolEvent;
use minuto_wire::{admin::Admin, small, u128_slot, wide, Word};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageB256, StorageMap, StorageU128, StorageU32, StorageU64, StorageU8,
    },
};

/// The deployed program's entry: every call goes through the hand-written router
/// ([`Ratings::dispatch`]); host builds (tests, ABI export) use the SDK's.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[entrypoint]
fn ratings_entrypoint(input: Vec<u8>, host: stylus_sdk::host::VM) -> stylus_sdk::ArbResult {
    // SAFETY: the contract's storage at its root, as the SDK's own router creates it.
    let mut ratings =
        unsafe { <Ratings as stylus_sdk::storage::StorageType>::new(U256::ZERO, 0, host) };
    ratings.dispatch(&input)
}

/// Bare-metal WASM has no unwinding: a panic (which no code path should reach) traps.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The minimum billed duration the deploy passes: five minutes.
pub const DEFAULT_MIN_DURATION: u64 = 300;

/// The rating window the deploy passes: 14 days.
pub const DEFAULT_RATING_WINDOW: u64 = 14 * 24 * 60 * 60;

/// Lowest and highest score.
pub const MIN_SCORE: u8 = 1;
/// Highest score.
pub const MAX_SCORE: u8 = 5;

/// Longest CID accepted, in bytes (a CIDv1 in base32 is 59; room for a path).
pub const MAX_CID_LEN: usize = 256;

/// A party's role in a session, as events record the rater's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    /// The session's student (who paid).
    Student = 1,
    /// The session's tutor (who was paid).
    Tutor = 2,
}

pub use sol::*;

mod sol {
    use alloy_sol_types::sol;

    sol! {
        #![sol(all_derives)]
        // abi:begin
        /// `rater`, the student (`raterRole` 1) or tutor (`raterRole` 2) of session `sessionId`, gave `ratee` `score` (1-5). `contentHash` is `keccak256(bytes(cid))`; the document at the IPFS `cid` holds the text.
        event Rated(uint256 indexed sessionId, address indexed rater, address indexed ratee, uint8 raterRole, uint8 score, bytes32 contentHash, string cid);
        /// The settings are now `minDuration` (seconds billed, at least) and `ratingWindow` (seconds after a session's end).
        event RatingConfigUpdated(uint64 minDuration, uint64 ratingWindow);
        /// Sessions in `token` need at least `minBilled` base units billed for ratings (0: none may be rated).
        event RatingMinBilledUpdated(address indexed token, uint128 minBilled);
        /// `admin` named `pendingAdmin` as its successor (zero: the hand-over was cancelled).
        event AdminTransferStarted(address indexed admin, address indexed pendingAdmin);
        /// `admin` took the role from `previousAdmin` (zero at deployment).
        event AdminTransferred(address indexed previousAdmin, address indexed admin);

        /// The constructor's `admin` is the zero address, or its `escrow` holds no code.
        error RatingInvalidAddress(address account);
        /// `minDuration` and `ratingWindow` must both be at least 1 second, and `minDuration` at most 2^32 - 1.
        error RatingInvalidConfig(uint64 minDuration, uint64 ratingWindow);
        /// Only the admin may change the settings (and only the named successor accept the role); `caller` may not.
        error RatingNotAdmin(address caller);
        /// A score is 1 to 5; `score` is not.
        error RatingInvalidScore(uint8 score);
        /// A CID is 1 to 256 bytes long; this one is `length` bytes.
        error RatingInvalidCid(uint256 length);
        /// `contentHash` is not `keccak256(bytes(cid))`, which is `cidHash`.
        error RatingHashMismatch(bytes32 contentHash, bytes32 cidHash);
        /// The escrow knows no session `sessionId` (it reverted or answered something else).
        error RatingUnknownSession(uint256 sessionId);
        /// Session `sessionId` is not Ended: its escrow `state` is 1 Open, 2 Active or 4 Cancelled.
        error RatingSessionNotEnded(uint256 sessionId, uint8 state);
        /// Session `sessionId` billed `duration` seconds, under the minimum of `minDuration`.
        error RatingTooShort(uint256 sessionId, uint64 duration, uint64 minDuration);
        /// Session `sessionId` is in `token`, for which the admin set no minimum billed value: it cannot be rated.
        error RatingTokenNotEligible(uint256 sessionId, address token);
        /// Session `sessionId` billed `billed` base units of its token, under the minimum of `minBilled`.
        error RatingTooLittleBilled(uint256 sessionId, uint128 billed, uint128 minBilled);
        /// Session `sessionId` took no protocol fee (its `feeBps` was 0 at open): colluding parties got everything back, so it cannot be rated.
        error RatingNoFeePaid(uint256 sessionId);
        /// Ratings of session `sessionId` closed at `deadline` (its end plus the rating window).
        error RatingWindowClosed(uint256 sessionId, uint64 deadline);
        /// `caller` is neither the student nor the tutor of session `sessionId`.
        error RatingNotAParty(uint256 sessionId, address caller);
        /// `rater` would rate themselves in session `sessionId`.
        error RatingSelfRating(uint256 sessionId, address rater);
        /// `rater` already rated session `sessionId`; ratings cannot be changed.
        error RatingAlreadyRated(uint256 sessionId, address rater);
        /// `account`'s aggregates would overflow 64 bits (unreachable in practice).
        error RatingAggregateOverflow(address account);
        // abi:end
    }
}

minuto_wire::errors! {
    #[derive(Debug, PartialEq, Eq)]
    InvalidAddress(RatingInvalidAddress { account }),
    InvalidConfig(RatingInvalidConfig { minDuration, ratingWindow }),
    NotAdmin(RatingNotAdmin { caller }),
    InvalidScore(RatingInvalidScore { score }),
    InvalidCid(RatingInvalidCid { length }),
    HashMismatch(RatingHashMismatch { contentHash, cidHash }),
    UnknownSession(RatingUnknownSession { sessionId }),
    SessionNotEnded(RatingSessionNotEnded { sessionId, state }),
    TooShort(RatingTooShort { sessionId, duration, minDuration }),
    WindowClosed(RatingWindowClosed { sessionId, deadline }),
    NotAParty(RatingNotAParty { sessionId, caller }),
    SelfRating(RatingSelfRating { sessionId, rater }),
    AlreadyRated(RatingAlreadyRated { sessionId, rater }),
    AggregateOverflow(RatingAggregateOverflow { account }),
    TokenNotEligible(RatingTokenNotEligible { sessionId, token }),
    TooLittleBilled(RatingTooLittleBilled { sessionId, billed, minBilled }),
    NoFeePaid(RatingNoFeePaid { sessionId }),
}

/// The ratings an address has received, by the role it had in the rated sessions: four
/// 64-bit counters in one storage slot.
#[storage]
pub struct Aggregate {
    tutor_count: StorageU64,
    tutor_sum: StorageU64,
    student_count: StorageU64,
    student_sum: StorageU64,
}

/// Both ratings of one session, each by the party it is named after (the student's
/// rating is of the tutor). Score 0: not rated. Three slots: both scores, then the hashes.
#[storage]
pub struct SessionRating {
    student_score: StorageU8,
    tutor_score: StorageU8,
    student_hash: StorageB256,
    tutor_hash: StorageB256,
}

/// The ratings contract.
#[cfg_attr(
    not(all(target_arch = "wasm32", not(feature = "export-abi"))),
    entrypoint
)]
#[storage]
pub struct Ratings {
    admin: Admin,
    /// Token → the least a session in it must bill, in base units (0: it cannot be rated).
    min_billed: StorageMap<Address, StorageU128>,
    /// One slot: `escrow | rating_window | min_duration`, so that a rating reads all
    /// three in one cold read (2,100 gas less than two slots); hence 32 bits for the
    /// minimum duration.
    escrow: StorageAddress,
    rating_window: StorageU64,
    min_duration: StorageU32,
    /// Ratee → what it has received.
    aggregates: StorageMap<Address, Aggregate>,
    /// Session id → its ratings.
    sessions: StorageMap<U256, SessionRating>,
}

#[public]
impl Ratings {
    /// Sets the admin (who may change the settings), the session escrow whose sessions
    /// may be rated, the minimum billed duration in seconds and the rating window in
    /// seconds (the deploy passes [`DEFAULT_MIN_DURATION`] and [`DEFAULT_RATING_WINDOW`]).
    ///
    /// # Errors
    ///
    /// * [`RatingInvalidAddress`] - `admin` is the zero address, or `escrow` holds no code.
    /// * [`RatingInvalidConfig`] - `min_duration` or `rating_window` is 0, or
    ///   `min_duration` is above 2^32 − 1 seconds.
    ///
    /// # Events
    ///
    /// * `AdminTransferred(0, admin)`, [`RatingConfigUpdated`].
    #[constructor]
    pub fn constructor(
        &mut self,
        admin: Address,
        escrow: Address,
        min_duration: u64,
        rating_window: u64,
    ) -> Result<(), Error> {
        if admin.is_zero() {
            return Err(RatingInvalidAddress { account: admin }.into());
        }
        // Sessions are read from its `session` view: an address without code would answer
        // every call with nothing.
        if !minuto_wire::has_code(escrow) {
            return Err(RatingInvalidAddress { account: escrow }.into());
        }
        self.admin.init(admin);
        self.escrow.set(escrow);
        self.write_config(min_duration, rating_window)
    }

    /// The caller, a party of ended session `session_id`, rates the other party with
    /// `score` (1-5) and the text document at IPFS `cid`, whose keccak-256 hash is
    /// `content_hash`. Once per rater per session.
    ///
    /// # Errors
    ///
    /// * [`RatingInvalidScore`] - `score` is not 1 to 5.
    /// * [`RatingInvalidCid`] - `cid` is empty or longer than [`MAX_CID_LEN`] bytes.
    /// * [`RatingHashMismatch`] - `content_hash` is not `keccak256(bytes(cid))`.
    /// * [`RatingUnknownSession`] - the escrow has no such session.
    /// * [`RatingSessionNotEnded`] - the session is Open, Active or Cancelled.
    /// * [`RatingTooShort`] - its billed duration `end − start` is under `minDuration`.
    /// * [`RatingTokenNotEligible`] - no minimum billed value is set for its token.
    /// * [`RatingTooLittleBilled`] - it billed less than `minBilled(token)`.
    /// * [`RatingNoFeePaid`] - it took no protocol fee (`feeBps` 0 at open).
    /// * [`RatingWindowClosed`] - `block.timestamp` is past `end + ratingWindow`.
    /// * [`RatingNotAParty`] - the caller is neither its student nor its tutor.
    /// * [`RatingSelfRating`] - the caller is both (the escrow forbids it; checked anyway).
    /// * [`RatingAlreadyRated`] - the caller already rated it.
    /// * [`RatingAggregateOverflow`] - the ratee's counters are full (unreachable).
    ///
    /// # Events
    ///
    /// * [`Rated`].
    pub fn rate(
        &mut self,
        session_id: U256,
        score: u8,
        content_hash: B256,
        cid: String,
    ) -> Result<(), Error> {
        if !(MIN_SCORE..=MAX_SCORE).contains(&score) {
            return Err(RatingInvalidScore { score }.into());
        }
        if cid.is_empty() || cid.len() > MAX_CID_LEN {
            return Err(RatingInvalidCid {
                length: U256::from(cid.len()),
            }
            .into());
        }
        let cid_hash = host::keccak(cid.as_bytes());
        if cid_hash != content_hash {
            return Err(RatingHashMismatch {
                contentHash: content_hash,
                cidHash: cid_hash,
            }
            .into());
        }

        let session =
            escrow::session(self.escrow.get(), session_id).ok_or(RatingUnknownSession {
                sessionId: session_id,
            })?;
        session
            .check(
                small(self.min_duration.get()),
                wide(self.min_billed.get(session.token)),
            )
            .map_err(|why| ineligible(session_id, why))?;
        let deadline = session.end.saturating_add(small(self.rating_window.get()));
        if now() > deadline {
            return Err(RatingWindowClosed {
                sessionId: session_id,
                deadline,
            }
            .into());
        }
        let rater = host::sender();
        let (role, ratee) = if rater == session.student {
            (Role::Student, session.tutor)
        } else if rater == session.tutor {
            (Role::Tutor, session.student)
        } else {
            return Err(RatingNotAParty {
                sessionId: session_id,
                caller: rater,
            }
            .into());
        };
        if ratee == rater {
            return Err(RatingSelfRating {
                sessionId: session_id,
                rater,
            }
            .into());
        }
        let ratings = self.sessions.getter(session_id);
        let given = match role {
            Role::Student => ratings.student_score.get(),
            Role::Tutor => ratings.tutor_score.get(),
        };
        if !given.is_zero() {
            return Err(RatingAlreadyRated {
                sessionId: session_id,
                rater,
            }
            .into());
        }

        // The student rates the tutor, who receives it as a tutor, and vice versa.
        let (count, sum) = {
            let a = self.aggregates.getter(ratee);
            match role {
                Role::Student => (a.tutor_count.get(), a.tutor_sum.get()),
                Role::Tutor => (a.student_count.get(), a.student_sum.get()),
            }
        };
        let (Some(count), Some(sum)) = (
            small(count).checked_add(1),
            small(sum).checked_add(u64::from(score)),
        ) else {
            return Err(RatingAggregateOverflow { account: ratee }.into());
        };
        let mut aggregate = self.aggregates.setter(ratee);
        match role {
            Role::Student => {
                aggregate.tutor_count.set(Uint::from_limbs([count]));
                aggregate.tutor_sum.set(Uint::from_limbs([sum]));
            }
            Role::Tutor => {
                aggregate.student_count.set(Uint::from_limbs([count]));
                aggregate.student_sum.set(Uint::from_limbs([sum]));
            }
        }
        let mut ratings = self.sessions.setter(session_id);
        let score_slot = Uint::from_limbs([u64::from(score)]);
        match role {
            Role::Student => {
                ratings.student_score.set(score_slot);
                ratings.student_hash.set(content_hash);
            }
            Role::Tutor => {
                ratings.tutor_score.set(score_slot);
                ratings.tutor_hash.set(content_hash);
            }
        }

        emit_rated(session_id, rater, ratee, role, score, content_hash, &cid);
        Ok(())
    }

    /// What `account` has received, as `(tutorCount, tutorSum, studentCount,
    /// studentSum)`: the number and the sum of the scores given to it in sessions where
    /// it was the tutor, then where it was the student. Average = sum / count.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn aggregates(&self, account: Address) -> (u64, u64, u64, u64) {
        let a = self.aggregates.getter(account);
        (
            small(a.tutor_count.get()),
            small(a.tutor_sum.get()),
            small(a.student_count.get()),
            small(a.student_sum.get()),
        )
    }

    /// Session `session_id`'s ratings as `(studentScore, studentHash, tutorScore,
    /// tutorHash)`: the rating the student gave (of the tutor), then the one the tutor
    /// gave (of the student). Score 0 and hash 0: not rated (yet).
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn session_ratings(&self, session_id: U256) -> (u8, B256, u8, B256) {
        let r = self.sessions.getter(session_id);
        (
            small(r.student_score.get()) as u8,
            r.student_hash.get(),
            small(r.tutor_score.get()) as u8,
            r.tutor_hash.get(),
        )
    }

    /// The least a session in `token` must bill, in base units, to be rated (0: sessions
    /// in it cannot be).
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn min_billed(&self, token: Address) -> u128 {
        wide(self.min_billed.get(token))
    }

    /// Sets the least a session in `token` must bill, in base units, to be rated (0:
    /// sessions in it cannot be). Applies to ratings from now on.
    ///
    /// # Errors
    ///
    /// * [`RatingNotAdmin`] - the caller is not the admin.
    ///
    /// # Events
    ///
    /// * [`RatingMinBilledUpdated`].
    pub fn set_min_billed(&mut self, token: Address, min_billed: u128) -> Result<(), Error> {
        self.only_admin()?;
        self.min_billed.setter(token).set(u128_slot(min_billed));
        host::log(
            &[RatingMinBilledUpdated::SIGNATURE_HASH, token.word()],
            &[min_billed.word()],
            &[],
        );
        Ok(())
    }

    /// The successor the admin named, until it accepts (zero: none).
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn pending_admin(&self) -> Address {
        self.admin.pending()
    }

    /// Names `new_admin` as the admin's successor (zero cancels); it takes the role with
    /// `acceptAdmin`.
    ///
    /// # Errors
    ///
    /// * [`RatingNotAdmin`] - the caller is not the admin.
    ///
    /// # Events
    ///
    /// * [`AdminTransferStarted`].
    pub fn transfer_admin(&mut self, new_admin: Address) -> Result<(), Error> {
        self.admin.transfer(new_admin).map_err(not_admin)
    }

    /// The named successor takes the admin role.
    ///
    /// # Errors
    ///
    /// * [`RatingNotAdmin`] - the caller is not the named successor.
    ///
    /// # Events
    ///
    /// * [`AdminTransferred`].
    pub fn accept_admin(&mut self) -> Result<(), Error> {
        self.admin.accept().map_err(not_admin)
    }

    /// The settings as `(admin, escrow, minDuration, ratingWindow)`.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn config(&self) -> (Address, Address, u64, u64) {
        (
            self.admin.get(),
            self.escrow.get(),
            small(self.min_duration.get()),
            small(self.rating_window.get()),
        )
    }

    /// Sets the minimum billed duration and the rating window, both in seconds. They
    /// apply to ratings from now on; ratings already given stay.
    ///
    /// # Errors
    ///
    /// * [`RatingNotAdmin`] - the caller is not the admin.
    /// * [`RatingInvalidConfig`] - `min_duration` or `rating_window` is 0, or
    ///   `min_duration` is above 2^32 − 1 seconds.
    ///
    /// # Events
    ///
    /// * [`RatingConfigUpdated`].
    pub fn set_config(&mut self, min_duration: u64, rating_window: u64) -> Result<(), Error> {
        self.only_admin()?;
        self.write_config(min_duration, rating_window)
    }
}

/// The typed error for a session that cannot be rated.
fn ineligible(session_id: U256, why: escrow::Ineligible) -> Error {
    minuto_escrow_view::ineligible_error!(
        why,
        session_id,
        RatingSessionNotEnded,
        RatingTooShort,
        RatingTokenNotEligible,
        RatingTooLittleBilled,
        RatingNoFeePaid
    )
}

fn not_admin(caller: Address) -> Error {
    RatingNotAdmin { caller }.into()
}

impl Ratings {
    fn only_admin(&self) -> Result<Address, Error> {
        self.admin.only_admin().map_err(not_admin)
    }

    /// Checks and stores the settings; emits [`RatingConfigUpdated`].
    fn write_config(&mut self, min_duration: u64, rating_window: u64) -> Result<(), Error> {
        if min_duration == 0 || min_duration > u64::from(u32::MAX) || rating_window == 0 {
            return Err(RatingInvalidConfig {
                minDuration: min_duration,
                ratingWindow: rating_window,
            }
            .into());
        }
        self.min_duration.set(Uint::from_limbs([min_duration]));
        self.rating_window.set(Uint::from_limbs([rating_window]));
        host::log(
            &[RatingConfigUpdated::SIGNATURE_HASH],
            &[min_duration.word(), rating_window.word()],
            &[],
        );
        Ok(())
    }
}

/// [`Rated`]: the data is `(uint8 raterRole, uint8 score, bytes32 contentHash, string
/// cid)`, so the head holds the string's offset (four words) and the tail its length and
/// bytes.
fn emit_rated(
    session_id: U256,
    rater: Address,
    ratee: Address,
    role: Role,
    score: u8,
    content_hash: B256,
    cid: &str,
) {
    host::log(
        &[
            Rated::SIGNATURE_HASH,
            session_id.word(),
            rater.word(),
            ratee.word(),
        ],
        // SAFETY (cast): `cid` is at most `MAX_CID_LEN` bytes.
        &[
            (role as u8).word(),
            score.word(),
            content_hash,
            (4u64 * 32).word(),
            (cid.len() as u64).word(),
        ],
        cid.as_bytes(),
    );
}

/// The current block time, through one door so that tests can move it together with the
/// escrow's (motsu fixes `block.timestamp`; see `minuto_escrow::test_clock`).
fn now() -> u64 {
    let t = host::timestamp();
    #[cfg(test)]
    let t = t + minuto_escrow::test_clock::offset();
    t
}

/// Host access through the SDK's free functions. The SDK deprecates them in favour of
/// `self.vm()`, but that returns a `dyn Host` whose vtable links every host import and
/// its glue (several KB of WASM).
#[allow(deprecated)]
mod host {
    use alloy_primitives::{Address, B256};

    /// `msg.sender`.
    pub(crate) fn sender() -> Address {
        stylus_sdk::msg::sender()
    }

    /// `block.timestamp`.
    pub(crate) fn timestamp() -> u64 {
        stylus_sdk::block::timestamp()
    }

    /// keccak-256 by the host (no software keccak in the WASM).
    pub(crate) fn keccak(bytes: &[u8]) -> B256 {
        stylus_sdk::crypto::keccak(bytes)
    }

    pub(crate) use minuto_wire::log;
}

#[cfg(test)]
mod tests;

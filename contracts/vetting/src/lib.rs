//! Minuto tutor vetting: tutors apply, a DAO of reviewers votes, and the decision itself
//! issues, renews or revokes the soul-bound credential (DESIGN.md §8).
//!
//! This contract holds the credentials contract's `ISSUER_ROLE` (the credentials admin
//! grants it). Its own admin (the DAO's multisig) manages the reviewers, the quorum and
//! the rules of each credential kind; the admin role moves in two steps
//! (`transferAdmin`, then `acceptAdmin` by the successor).
//!
//! Rules:
//! - **Apply**: a tutor calls [`applyFor`](Vetting::apply_for)`(kind, evidenceCid)`. The kind must
//!   have a rule (`setKind`); the tutor must have received at least `minRatedSessions`
//!   ratings as a tutor in the rating registry, with an average score of at least
//!   `minAverage` (hundredths: 450 = 4.50). Ratings count only real, paid, ended sessions
//!   of the escrow (the registry's own gate), so the registry is the one source read.
//!   An applicant who already holds a valid credential of the kind applies for a
//!   **renewal**; otherwise for an **issue**.
//! - **One open case per (tutor, kind)**: an application or a revocation; a second one
//!   fails with `VettingApplicationPending` until the first is decided or expired — except
//!   that a revocation proposal always proceeds: it closes the holder's open issue or
//!   renewal as superseded (`VettingSuperseded`, status 5, no cooldown), so a holder
//!   cannot shield their credential by keeping an application open. After a rejection, or
//!   an approved revocation, the tutor waits `cooldown` seconds before applying for that
//!   kind again.
//! - **Vote**: each reviewer votes once per application, approve or reject, with a reason
//!   CID (may be empty). Nobody votes on their own case. The first side to reach the
//!   application's quorum decides, in that same transaction: an approved issue or renewal
//!   issues a credential of the kind valid for the kind's `term` (0: never expires) with
//!   the kind's metadata URI — for a renewal, the still-valid credential is revoked first,
//!   since the credentials contract holds one current credential per (holder, kind); an
//!   approved revocation revokes the credential (unless its holder already burned it or
//!   it was already revoked). A decided application is closed: no vote counts after it.
//! - **Votes already cast stay as cast**: each application snapshots the quorum when it
//!   opens, and each vote is counted when it is cast by whoever is a reviewer at that
//!   moment. Removing a reviewer (or changing the quorum) never takes back a vote or moves
//!   an open application's threshold; a removed reviewer cannot vote from then on, and an
//!   added one can vote on applications already open.
//! - **Deadline**: an application is open for votes until `deadline` (opening time plus
//!   `votingPeriod`) inclusive; after it, anyone may [`expire`](Vetting::expire) it.
//!   Expiry imposes no cooldown.
//! - **Revocation**: a reviewer proposes one with
//!   [`propose_revocation`](Vetting::propose_revocation)`(tokenId, reasonCid)` of the
//!   holder's current valid credential of its kind (an expired or replaced one fails with
//!   `VettingCredentialNotCurrent`); it is voted like an application (the proposer votes
//!   separately). Approved, it starts the holder's cooldown for the kind, whether or not
//!   the holder burned the credential meanwhile.
//! - **Renounce**: a holder burns their own credential with the credentials contract's
//!   `burn(tokenId)`; vetting has nothing to add.
//!
//! Every step emits an event carrying its CID for indexers: `VettingApplicationOpened`,
//! `VettingVoted`, `VettingDecided`, `VettingExpired`, `VettingSuperseded`.
//!
//! The deployed program routes calls by hand ([`router`]); `#[public]` serves the ABI
//! export and the host tests' VM. Errors and events are ABI-encoded by hand
//! ([`minuto_wire`]), as in the other contracts.
#![cfg_attr(target_arch = "wasm32", no_std)]

#[macro_use]
extern crate alloc;

mod calls;
mod router;

use alloc::{string::String, vec::Vec};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use minuto_wire::{
    admin::Admin,
    small,
    storage::{read_chunks, write_chunks, Chunks},
    uint, Word,
};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageBool, StorageMap, StorageU16, StorageU256, StorageU32, StorageU64,
        StorageU8,
    },
};

/// The deployed program's entry: every call goes through the hand-written router.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[entrypoint]
fn vetting_entrypoint(input: Vec<u8>, host: stylus_sdk::host::VM) -> stylus_sdk::ArbResult {
    // SAFETY: the contract's storage at its root, as the SDK's own router creates it.
    let mut vetting =
        unsafe { <Vetting as stylus_sdk::storage::StorageType>::new(U256::ZERO, 0, host) };
    vetting.dispatch(&input)
}

/// Bare-metal WASM has no unwinding: a panic (which no code path should reach) traps.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Longest evidence or reason CID accepted, in bytes (a CIDv1 in base32 is 59; room for a
/// path).
pub const MAX_CID_LEN: usize = 256;

/// Longest metadata URI of a kind, in bytes: the credentials contract's limit.
pub const MAX_URI_LEN: usize = 512;

/// Highest `minAverage`: a score of 5.00, in hundredths.
pub const MAX_AVERAGE: u16 = 500;

/// What an application asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Action {
    /// A first credential of the kind (or one after the last expired, was revoked or
    /// burned).
    Issue = 1,
    /// A fresh credential replacing the applicant's still-valid one.
    Renew = 2,
    /// Revoking credential `tokenId`, proposed by a reviewer.
    Revoke = 3,
}

/// Where an application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// No such application.
    None = 0,
    /// Open for votes until its deadline.
    Open = 1,
    /// Approved: the credential was issued, renewed or revoked.
    Approved = 2,
    /// Rejected by the quorum.
    Rejected = 3,
    /// Not decided by its deadline.
    Expired = 4,
    /// An issue or renewal closed undecided when a revocation of the same (tutor, kind)
    /// was proposed.
    Superseded = 5,
}

impl Status {
    fn from_u64(v: u64) -> Self {
        match v {
            1 => Status::Open,
            2 => Status::Approved,
            3 => Status::Rejected,
            4 => Status::Expired,
            5 => Status::Superseded,
            _ => Status::None,
        }
    }
}

/// A reviewer's vote as stored (0: none).
const APPROVE: u8 = 1;
const REJECT: u8 = 2;

pub use sol::*;

mod sol {
    use alloy_sol_types::sol;

    sol! {
        #![sol(all_derives)]
        // abi:begin
        /// Application `applicationId` opened for `tutor` and `kind`: `action` 1 issue, 2 renew (the tutor holds a valid credential of `kind`), 3 revoke credential `tokenId` (0 otherwise), by `openedBy` (the tutor, or the reviewer proposing a revocation). Votes are taken until `deadline`. `cid`: the evidence (issue, renew) or the reason (revoke).
        event VettingApplicationOpened(uint256 indexed applicationId, address indexed tutor, uint32 indexed kind, uint8 action, uint256 tokenId, address openedBy, uint64 deadline, string cid);
        /// `reviewer` voted on `applicationId` (`approve` or reject) with the reason at `reasonCid` (may be empty); the tallies are now `approvals` and `rejections`.
        event VettingVoted(uint256 indexed applicationId, address indexed reviewer, bool approve, uint32 approvals, uint32 rejections, string reasonCid);
        /// The quorum decided `applicationId` (`approved` or rejected). `tokenId`: the credential issued (approved issue or renew), revoked (approved revoke: 0 if its holder had burned it or it was already revoked), else 0.
        event VettingDecided(uint256 indexed applicationId, address indexed tutor, uint32 indexed kind, uint8 action, bool approved, uint256 tokenId);
        /// `applicationId` passed its deadline undecided; it is closed.
        event VettingExpired(uint256 indexed applicationId, address indexed tutor, uint32 indexed kind);
        /// Issue or renewal `applicationId` of `tutor` for `kind` was closed undecided (status 5, no cooldown): revocation `revocationId` of the tutor's credential of `kind` was proposed, and takes the (tutor, kind) slot.
        event VettingSuperseded(uint256 indexed applicationId, address indexed tutor, uint32 indexed kind, uint256 revocationId);
        /// `reviewer` joined; there are now `reviewers`.
        event VettingReviewerAdded(address indexed reviewer, uint32 reviewers);
        /// `reviewer` left (votes already cast stay); there are now `reviewers`.
        event VettingReviewerRemoved(address indexed reviewer, uint32 reviewers);
        /// Applications opened from now on are decided by `quorum` votes of one side (`reviewers` reviewers now).
        event VettingQuorumSet(uint32 quorum, uint32 reviewers);
        /// The rule of `kind`: at least `minRatedSessions` ratings received as a tutor, averaging at least `minAverage` hundredths; credentials issued for `term` seconds (0: no expiry), with metadata at `uri`.
        event VettingKindSet(uint32 indexed kind, uint64 minRatedSessions, uint16 minAverage, uint64 term, string uri);
        /// Applications opened from now on take votes for `votingPeriod` seconds; a rejection (or an approved revocation) bars the tutor from the kind for `cooldown` seconds.
        event VettingConfigUpdated(uint64 votingPeriod, uint64 cooldown);
        /// `admin` named `pendingAdmin` as its successor (zero: the hand-over was cancelled).
        event AdminTransferStarted(address indexed admin, address indexed pendingAdmin);
        /// `admin` took the role from `previousAdmin` (zero at deployment).
        event AdminTransferred(address indexed previousAdmin, address indexed admin);

        /// The constructor's `admin` is the zero address, or its `credentials` or `ratings` holds no code; or a reviewer would be the zero address.
        error VettingInvalidAddress(address account);
        /// `votingPeriod` must be at least 1 second.
        error VettingInvalidConfig(uint64 votingPeriod, uint64 cooldown);
        /// Only the admin may do this (and only the named successor accept the role); `caller` may not.
        error VettingNotAdmin(address caller);
        /// `account` is not a reviewer.
        error VettingNotReviewer(address account);
        /// `account` is already a reviewer.
        error VettingAlreadyReviewer(address account);
        /// The quorum must be 1 to the number of reviewers: `quorum` with `reviewers` reviewers is not (lower the quorum before removing a reviewer).
        error VettingInvalidQuorum(uint32 quorum, uint32 reviewers);
        /// No quorum is set yet: nothing can be decided.
        error VettingNoQuorum();
        /// `kind` 0 is not a credential kind.
        error VettingInvalidKind(uint32 kind);
        /// `minAverage` is in hundredths of a score, at most 500; `minAverage` is not.
        error VettingInvalidAverage(uint32 kind, uint16 minAverage);
        /// A kind's metadata URI must be 1 to 512 bytes long; this one is `length` bytes.
        error VettingInvalidUri(uint256 length);
        /// The admin set no rule for `kind`: nobody can apply for it.
        error VettingUnknownKind(uint32 kind);
        /// An evidence CID must be 1 to 256 bytes long, a reason CID 0 to 256; this one is `length` bytes.
        error VettingInvalidCid(uint256 length);
        /// `tutor` already has application `applicationId` open for `kind` (for a revocation proposal: an open revocation; an open issue or renewal is superseded instead).
        error VettingApplicationPending(address tutor, uint32 kind, uint256 applicationId);
        /// `tutor` was rejected for `kind` (or had a credential of `kind` revoked by vote) and may apply again from `until`.
        error VettingCooldown(address tutor, uint32 kind, uint64 until);
        /// `tutor` has `rated` ratings as a tutor; `kind` needs `minRated`.
        error VettingTooFewRatings(address tutor, uint32 kind, uint64 rated, uint64 minRated);
        /// `tutor`'s ratings as a tutor sum to `scoreSum` over `rated`; `kind` needs an average of `minAverage` hundredths.
        error VettingAverageTooLow(address tutor, uint32 kind, uint64 scoreSum, uint64 rated, uint16 minAverage);
        /// The rating registry at `ratings` did not answer `aggregates` as expected.
        error VettingRatingsUnavailable(address ratings);
        /// The credentials contract at `credentials` did not answer a view as expected.
        error VettingCredentialsUnavailable(address credentials);
        /// The credentials contract knows no credential `tokenId`.
        error VettingUnknownCredential(uint256 tokenId);
        /// Credential `tokenId` is not in force (`status` 2 revoked, 3 burned): nothing to revoke.
        error VettingCredentialNotActive(uint256 tokenId, uint8 status);
        /// Credential `tokenId` is not `holder`'s current valid credential of `kind`: it has expired (`current` is `tokenId` itself) or was replaced by `current` (0: none).
        error VettingCredentialNotCurrent(uint256 tokenId, address holder, uint32 kind, uint256 current);
        /// No application `applicationId`.
        error VettingUnknownApplication(uint256 applicationId);
        /// Application `applicationId` is closed: `status` 2 approved, 3 rejected, 4 expired, 5 superseded by a revocation.
        error VettingNotOpen(uint256 applicationId, uint8 status);
        /// Application `applicationId` stopped taking votes at `deadline`; `expire` closes it.
        error VettingVotingClosed(uint256 applicationId, uint64 deadline);
        /// Application `applicationId` takes votes until `deadline`; it cannot expire before.
        error VettingVotingOpen(uint256 applicationId, uint64 deadline);
        /// `reviewer` is the tutor of application `applicationId` and may not vote on it.
        error VettingSelfVote(uint256 applicationId, address reviewer);
        /// `reviewer` already voted on application `applicationId`.
        error VettingAlreadyVoted(uint256 applicationId, address reviewer);
        /// The decision of `applicationId` could not issue or revoke its credential (the credentials contract reverted: has this contract `ISSUER_ROLE`?). Nothing was recorded; the vote can be cast again once fixed.
        error VettingCredentialCallFailed(uint256 applicationId);
        /// No fresh application id is left (unreachable in practice).
        error VettingIdUnavailable();
        // abi:end
    }
}

minuto_wire::errors! {
    #[derive(Debug, PartialEq, Eq)]
    InvalidAddress(VettingInvalidAddress { account }),
    InvalidConfig(VettingInvalidConfig { votingPeriod, cooldown }),
    NotAdmin(VettingNotAdmin { caller }),
    NotReviewer(VettingNotReviewer { account }),
    AlreadyReviewer(VettingAlreadyReviewer { account }),
    InvalidQuorum(VettingInvalidQuorum { quorum, reviewers }),
    NoQuorum(VettingNoQuorum {}),
    InvalidKind(VettingInvalidKind { kind }),
    InvalidAverage(VettingInvalidAverage { kind, minAverage }),
    InvalidUri(VettingInvalidUri { length }),
    UnknownKind(VettingUnknownKind { kind }),
    InvalidCid(VettingInvalidCid { length }),
    ApplicationPending(VettingApplicationPending { tutor, kind, applicationId }),
    Cooldown(VettingCooldown { tutor, kind, until }),
    TooFewRatings(VettingTooFewRatings { tutor, kind, rated, minRated }),
    AverageTooLow(VettingAverageTooLow { tutor, kind, scoreSum, rated, minAverage }),
    RatingsUnavailable(VettingRatingsUnavailable { ratings }),
    CredentialsUnavailable(VettingCredentialsUnavailable { credentials }),
    UnknownCredential(VettingUnknownCredential { tokenId }),
    CredentialNotActive(VettingCredentialNotActive { tokenId, status }),
    CredentialNotCurrent(VettingCredentialNotCurrent { tokenId, holder, kind, current }),
    UnknownApplication(VettingUnknownApplication { applicationId }),
    NotOpen(VettingNotOpen { applicationId, status }),
    VotingClosed(VettingVotingClosed { applicationId, deadline }),
    VotingOpen(VettingVotingOpen { applicationId, deadline }),
    SelfVote(VettingSelfVote { applicationId, reviewer }),
    AlreadyVoted(VettingAlreadyVoted { applicationId, reviewer }),
    CredentialCallFailed(VettingCredentialCallFailed { applicationId }),
    IdUnavailable(VettingIdUnavailable {}),
}

/// The rule of one credential kind. Set when `uri_len` is not 0.
#[storage]
pub struct KindRule {
    min_rated: StorageU64,
    min_average: StorageU16,
    term: StorageU64,
    uri_len: StorageU16,
    /// Word `i` holds bytes `32 * i ..` of the metadata URI, zero-padded.
    uri: Chunks,
}

/// One application (or revocation proposal). Slot 0: tutor, kind, action, status,
/// quorum; slot 1: the tallies and the deadline; slot 2: the credential.
#[storage]
pub struct Application {
    tutor: StorageAddress,
    kind: StorageU32,
    action: StorageU8,
    status: StorageU8,
    quorum: StorageU32,
    approvals: StorageU32,
    rejections: StorageU32,
    deadline: StorageU64,
    /// Revoke: the credential to revoke; issue and renew: the one issued, once approved.
    token_id: StorageU256,
    /// Reviewer → [`APPROVE`], [`REJECT`] or 0 (not voted).
    votes: StorageMap<Address, StorageU8>,
}

/// A tutor's standing for one kind.
#[storage]
pub struct Standing {
    /// The open application (0: none).
    open: StorageU256,
    /// After a rejection or an approved revocation: the first moment the tutor may apply
    /// again.
    cooldown_until: StorageU64,
}

/// The vetting contract. The deployed program routes calls with
/// [`dispatch`](Vetting::dispatch); host builds (tests, ABI export) with the SDK's router.
#[cfg_attr(
    not(all(target_arch = "wasm32", not(feature = "export-abi"))),
    entrypoint
)]
#[storage]
pub struct Vetting {
    admin: Admin,
    /// Slot: `credentials | voting_period`.
    credentials: StorageAddress,
    voting_period: StorageU64,
    /// Slot: `ratings | cooldown | quorum`.
    ratings: StorageAddress,
    cooldown: StorageU64,
    quorum: StorageU32,
    reviewer_count: StorageU32,
    reviewers: StorageMap<Address, StorageBool>,
    kinds: StorageMap<u32, KindRule>,
    applications: StorageMap<U256, Application>,
    /// Last application id (0: none yet).
    last_id: StorageU256,
    /// Tutor → kind → standing.
    standing: StorageMap<Address, StorageMap<u32, Standing>>,
}

#[public]
impl Vetting {
    /// Sets the admin (the DAO's multisig), the credentials contract whose `ISSUER_ROLE`
    /// this contract will hold, the rating registry read for eligibility, the voting
    /// period and the cooldown after a rejection, both in seconds. Reviewers, quorum and
    /// kind rules are set by the admin afterwards.
    ///
    /// # Errors
    ///
    /// * [`VettingInvalidAddress`] - `admin` is zero, or `credentials` or `ratings` holds
    ///   no code.
    /// * [`VettingInvalidConfig`] - `voting_period` is 0.
    ///
    /// # Events
    ///
    /// * `AdminTransferred(0, admin)`, [`VettingConfigUpdated`].
    #[constructor]
    pub fn constructor(
        &mut self,
        admin: Address,
        credentials: Address,
        ratings: Address,
        voting_period: u64,
        cooldown: u64,
    ) -> Result<(), Error> {
        if admin.is_zero() {
            return Err(VettingInvalidAddress { account: admin }.into());
        }
        for account in [credentials, ratings] {
            if !minuto_wire::has_code(account) {
                return Err(VettingInvalidAddress { account }.into());
            }
        }
        self.admin.init(admin);
        self.credentials.set(credentials);
        self.ratings.set(ratings);
        self.write_config(voting_period, cooldown)
    }

    /// The caller applies for a credential of `kind` with the evidence document at IPFS
    /// `evidence_cid`: a renewal if the caller holds a valid credential of `kind`, an
    /// issue otherwise. Returns the application id. (Solidity reserves the word
    /// `apply`, hence `applyFor`.)
    ///
    /// # Errors
    ///
    /// * [`VettingInvalidCid`] - `evidence_cid` is empty or longer than [`MAX_CID_LEN`].
    /// * [`VettingUnknownKind`] - the admin set no rule for `kind`.
    /// * [`VettingNoQuorum`] - no quorum is set.
    /// * [`VettingApplicationPending`] - the caller has a case open for `kind`.
    /// * [`VettingCooldown`] - the caller was rejected for `kind` less than `cooldown` ago.
    /// * [`VettingRatingsUnavailable`] - the rating registry did not answer.
    /// * [`VettingTooFewRatings`] - fewer ratings as a tutor than the kind needs.
    /// * [`VettingAverageTooLow`] - their average is under the kind's `minAverage`.
    /// * [`VettingCredentialsUnavailable`] - the credentials contract did not answer.
    /// * [`VettingIdUnavailable`] - no application id is left (unreachable).
    ///
    /// # Events
    ///
    /// * [`VettingApplicationOpened`] (action 1 or 2, tokenId 0, `cid` the evidence).
    pub fn apply_for(&mut self, kind: u32, evidence_cid: String) -> Result<U256, Error> {
        check_cid(&evidence_cid, 1)?;
        let tutor = host::sender();
        let (min_rated, min_average) = {
            let rule = self.kinds.getter(kind);
            if rule.uri_len.get().is_zero() {
                return Err(VettingUnknownKind { kind }.into());
            }
            (
                small(rule.min_rated.get()),
                small(rule.min_average.get()) as u16,
            )
        };
        self.check_free(tutor, kind)?;
        let now = now();
        let until = small(
            self.standing
                .getter(tutor)
                .getter(kind)
                .cooldown_until
                .get(),
        );
        if now < until {
            return Err(VettingCooldown { tutor, kind, until }.into());
        }
        let ratings = self.ratings.get();
        let (rated, sum) =
            calls::tutor_ratings(ratings, tutor).ok_or(VettingRatingsUnavailable { ratings })?;
        if rated < min_rated {
            return Err(VettingTooFewRatings {
                tutor,
                kind,
                rated,
                minRated: min_rated,
            }
            .into());
        }
        // sum / rated ≥ minAverage / 100, without division; u128 cannot overflow.
        if u128::from(sum) * 100 < u128::from(min_average) * u128::from(rated) {
            return Err(VettingAverageTooLow {
                tutor,
                kind,
                scoreSum: sum,
                rated,
                minAverage: min_average,
            }
            .into());
        }
        let credentials = self.credentials.get();
        let holds = calls::has_valid(credentials, tutor, kind)
            .ok_or(VettingCredentialsUnavailable { credentials })?;
        let action = if holds { Action::Renew } else { Action::Issue };
        self.open(tutor, kind, action, U256::ZERO, tutor, now, &evidence_cid)
    }

    /// A reviewer proposes revoking credential `token_id`, its holder's current valid
    /// credential of its kind, for the reason at IPFS `reason_cid`; reviewers then vote
    /// on it as on an application (the proposer too). An issue or renewal its holder has
    /// open for the kind is closed as superseded (status 5, no cooldown): a holder cannot
    /// block a revocation by keeping an application open. Returns the application id.
    ///
    /// # Errors
    ///
    /// * [`VettingInvalidCid`] - `reason_cid` is empty or longer than [`MAX_CID_LEN`].
    /// * [`VettingNotReviewer`] - the caller is not a reviewer.
    /// * [`VettingCredentialsUnavailable`] - the credentials contract did not answer.
    /// * [`VettingUnknownCredential`] - no credential `token_id` was ever issued.
    /// * [`VettingCredentialNotActive`] - it is revoked or burned already.
    /// * [`VettingCredentialNotCurrent`] - it has expired, or is no longer its holder's
    ///   current credential of its kind.
    /// * [`VettingApplicationPending`] - a revocation is open for its holder and kind.
    /// * [`VettingNoQuorum`] - no quorum is set.
    /// * [`VettingIdUnavailable`] - no application id is left (unreachable).
    ///
    /// # Events
    ///
    /// * [`VettingSuperseded`] (if the holder had an issue or renewal open for the kind),
    ///   then [`VettingApplicationOpened`] (action 3, `cid` the reason).
    pub fn propose_revocation(
        &mut self,
        token_id: U256,
        reason_cid: String,
    ) -> Result<U256, Error> {
        check_cid(&reason_cid, 1)?;
        let proposer = self.only_reviewer()?;
        let credentials = self.credentials.get();
        let (holder, kind, status, valid) = match calls::credential(credentials, token_id) {
            calls::Lookup::Found(c) => c,
            calls::Lookup::Missing => {
                return Err(VettingUnknownCredential { tokenId: token_id }.into())
            }
            calls::Lookup::Failed => {
                return Err(VettingCredentialsUnavailable { credentials }.into())
            }
        };
        if status != calls::ISSUED {
            return Err(VettingCredentialNotActive {
                tokenId: token_id,
                status,
            }
            .into());
        }
        let current = calls::credential_of(credentials, holder, kind)
            .ok_or(VettingCredentialsUnavailable { credentials })?;
        if !valid || current != token_id {
            return Err(VettingCredentialNotCurrent {
                tokenId: token_id,
                holder,
                kind,
                current,
            }
            .into());
        }
        let open = self.standing.getter(holder).getter(kind).open.get();
        if !open.is_zero() {
            if small(self.applications.getter(open).action.get()) == Action::Revoke as u64 {
                return Err(VettingApplicationPending {
                    tutor: holder,
                    kind,
                    applicationId: open,
                }
                .into());
            }
            // An issue or renewal gives way; the revocation takes the next id.
            let next = self
                .last_id
                .get()
                .checked_add(U256::from_limbs([1, 0, 0, 0]))
                .ok_or(VettingIdUnavailable {})?;
            self.close(open, holder, kind, Status::Superseded);
            host::log(
                &[
                    VettingSuperseded::SIGNATURE_HASH,
                    open.word(),
                    holder.word(),
                    kind.word(),
                ],
                &[next.word()],
                &[],
            );
        }
        self.open(
            holder,
            kind,
            Action::Revoke,
            token_id,
            proposer,
            now(),
            &reason_cid,
        )
    }

    /// The caller, a reviewer, votes on application `application_id`: `approve` or
    /// reject, with the reason at IPFS `reason_cid` (may be empty). When one side reaches
    /// the application's quorum, the application is decided in this call: approved, the
    /// credential is issued (after revoking the applicant's still-valid one, for a
    /// renewal) or revoked (starting the holder's cooldown for the kind); rejected, an
    /// issue or renewal starts the tutor's cooldown.
    ///
    /// # Errors
    ///
    /// * [`VettingInvalidCid`] - `reason_cid` is longer than [`MAX_CID_LEN`].
    /// * [`VettingUnknownApplication`] - no such application.
    /// * [`VettingNotOpen`] - it is decided or expired.
    /// * [`VettingVotingClosed`] - its deadline has passed.
    /// * [`VettingNotReviewer`] - the caller is not a reviewer.
    /// * [`VettingSelfVote`] - the caller is the application's tutor.
    /// * [`VettingAlreadyVoted`] - the caller voted on it already.
    /// * [`VettingCredentialCallFailed`] - the decision's issue or revoke reverted (the
    ///   whole vote reverts with it).
    ///
    /// # Events
    ///
    /// * [`VettingVoted`]; then, on a decision, the credentials contract's events
    ///   (`CredentialRevoked` of the old one for a renewal; `Transfer`, `Locked`,
    ///   `CredentialIssued`; or `CredentialRevoked`) and [`VettingDecided`].
    pub fn vote(
        &mut self,
        application_id: U256,
        approve: bool,
        reason_cid: String,
    ) -> Result<(), Error> {
        check_cid(&reason_cid, 0)?;
        let (tutor, kind, quorum, deadline) = self.require_open(application_id)?;
        let now = now();
        if now > deadline {
            return Err(VettingVotingClosed {
                applicationId: application_id,
                deadline,
            }
            .into());
        }
        let reviewer = self.only_reviewer()?;
        if reviewer == tutor {
            return Err(VettingSelfVote {
                applicationId: application_id,
                reviewer,
            }
            .into());
        }
        let (approvals, rejections) = {
            let mut app = self.applications.setter(application_id);
            if !app.votes.get(reviewer).is_zero() {
                return Err(VettingAlreadyVoted {
                    applicationId: application_id,
                    reviewer,
                }
                .into());
            }
            app.votes
                .setter(reviewer)
                .set(uint::<8>(if approve { APPROVE } else { REJECT }));
            // SAFETY (+1): each tally starts at 0 and the application closes when one reaches
            // `quorum`, a `u32`; an open application's tallies are below it.
            let (mut approvals, mut rejections) = (
                small(app.approvals.get()) as u32,
                small(app.rejections.get()) as u32,
            );
            if approve {
                approvals += 1;
                app.approvals.set(uint::<32>(approvals));
            } else {
                rejections += 1;
                app.rejections.set(uint::<32>(rejections));
            }
            (approvals, rejections)
        };
        emit::voted(
            application_id,
            reviewer,
            approve,
            approvals,
            rejections,
            &reason_cid,
        );
        if approvals == quorum {
            self.approve(application_id, tutor, kind, now)
        } else if rejections == quorum {
            self.reject(application_id, tutor, kind, now);
            Ok(())
        } else {
            Ok(())
        }
    }

    /// Closes application `application_id`, undecided past its deadline. Anyone may call.
    ///
    /// # Errors
    ///
    /// * [`VettingUnknownApplication`] - no such application.
    /// * [`VettingNotOpen`] - it is decided or expired already.
    /// * [`VettingVotingOpen`] - its deadline has not passed.
    ///
    /// # Events
    ///
    /// * [`VettingExpired`].
    pub fn expire(&mut self, application_id: U256) -> Result<(), Error> {
        let (tutor, kind, _, deadline) = self.require_open(application_id)?;
        if now() <= deadline {
            return Err(VettingVotingOpen {
                applicationId: application_id,
                deadline,
            }
            .into());
        }
        self.close(application_id, tutor, kind, Status::Expired);
        host::log(
            &[
                VettingExpired::SIGNATURE_HASH,
                application_id.word(),
                tutor.word(),
                kind.word(),
            ],
            &[],
            &[],
        );
        Ok(())
    }

    /// Application `application_id` as `(tutor, kind, action, status, quorum, approvals,
    /// rejections, deadline, tokenId)`: action 1 issue, 2 renew, 3 revoke; status 0 none,
    /// 1 open, 2 approved, 3 rejected, 4 expired (an open one past its deadline stays 1
    /// until `expire`), 5 superseded by a revocation; `tokenId` as in [`VettingDecided`] (the credential to revoke, for
    /// an open revocation).
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    #[allow(clippy::type_complexity)]
    pub fn application(
        &self,
        application_id: U256,
    ) -> (Address, u32, u8, u8, u32, u32, u32, u64, U256) {
        let a = self.applications.getter(application_id);
        (
            a.tutor.get(),
            small(a.kind.get()) as u32,
            small(a.action.get()) as u8,
            small(a.status.get()) as u8,
            small(a.quorum.get()) as u32,
            small(a.approvals.get()) as u32,
            small(a.rejections.get()) as u32,
            small(a.deadline.get()),
            a.token_id.get(),
        )
    }

    /// How `reviewer` voted on `application_id`: 0 not at all, 1 approve, 2 reject.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn vote_of(&self, application_id: U256, reviewer: Address) -> u8 {
        small(self.applications.getter(application_id).votes.get(reviewer)) as u8
    }

    /// `tutor`'s standing for `kind` as `(openApplication, cooldownUntil)`: the open
    /// case (0: none) and, after a rejection or an approved revocation, when they may
    /// apply again.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn standing(&self, tutor: Address, kind: u32) -> (U256, u64) {
        let s = self.standing.getter(tutor);
        let s = s.getter(kind);
        (s.open.get(), small(s.cooldown_until.get()))
    }

    /// The rule of `kind` as `(minRatedSessions, minAverage, term, uri)`; all zero and
    /// empty when unset.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn kind_rule(&self, kind: u32) -> (u64, u16, u64, String) {
        let r = self.kinds.getter(kind);
        (
            small(r.min_rated.get()),
            small(r.min_average.get()) as u16,
            small(r.term.get()),
            r.uri(),
        )
    }

    /// Whether `account` is a reviewer.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn is_reviewer(&self, account: Address) -> bool {
        self.reviewers.get(account)
    }

    /// The settings as `(admin, credentials, ratings, votingPeriod, cooldown, quorum,
    /// reviewers)`.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    #[allow(clippy::type_complexity)]
    pub fn config(&self) -> (Address, Address, Address, u64, u64, u32, u32) {
        (
            self.admin.get(),
            self.credentials.get(),
            self.ratings.get(),
            small(self.voting_period.get()),
            small(self.cooldown.get()),
            small(self.quorum.get()) as u32,
            small(self.reviewer_count.get()) as u32,
        )
    }

    /// Adds `reviewer`. It may vote on every open application from now on.
    ///
    /// # Errors
    ///
    /// * [`VettingNotAdmin`] - the caller is not the admin.
    /// * [`VettingInvalidAddress`] - `reviewer` is the zero address.
    /// * [`VettingAlreadyReviewer`] - it is one already.
    ///
    /// # Events
    ///
    /// * [`VettingReviewerAdded`].
    pub fn add_reviewer(&mut self, reviewer: Address) -> Result<(), Error> {
        self.only_admin()?;
        if reviewer.is_zero() {
            return Err(VettingInvalidAddress { account: reviewer }.into());
        }
        if self.reviewers.get(reviewer) {
            return Err(VettingAlreadyReviewer { account: reviewer }.into());
        }
        // SAFETY (+1): one per distinct address added; 2^32 reviewers cannot be added
        // for gas, and the count is checked anyway.
        let count = (small(self.reviewer_count.get()) as u32)
            .checked_add(1)
            .ok_or(VettingInvalidQuorum {
                quorum: small(self.quorum.get()) as u32,
                reviewers: u32::MAX,
            })?;
        self.reviewers.setter(reviewer).set(true);
        self.reviewer_count.set(uint::<32>(count));
        host::log(
            &[VettingReviewerAdded::SIGNATURE_HASH, reviewer.word()],
            &[count.word()],
            &[],
        );
        Ok(())
    }

    /// Removes `reviewer`. Its votes already cast stay counted; it cannot vote again.
    ///
    /// # Errors
    ///
    /// * [`VettingNotAdmin`] - the caller is not the admin.
    /// * [`VettingNotReviewer`] - `reviewer` is not one.
    /// * [`VettingInvalidQuorum`] - fewer reviewers than the quorum would remain (lower
    ///   the quorum first).
    ///
    /// # Events
    ///
    /// * [`VettingReviewerRemoved`].
    pub fn remove_reviewer(&mut self, reviewer: Address) -> Result<(), Error> {
        self.only_admin()?;
        if !self.reviewers.get(reviewer) {
            return Err(VettingNotReviewer { account: reviewer }.into());
        }
        // SAFETY (−1): `reviewer` is one, so the count is at least 1.
        let count = small(self.reviewer_count.get()) as u32 - 1;
        let quorum = small(self.quorum.get()) as u32;
        if count < quorum {
            return Err(VettingInvalidQuorum {
                quorum,
                reviewers: count,
            }
            .into());
        }
        self.reviewers.setter(reviewer).set(false);
        self.reviewer_count.set(uint::<32>(count));
        host::log(
            &[VettingReviewerRemoved::SIGNATURE_HASH, reviewer.word()],
            &[count.word()],
            &[],
        );
        Ok(())
    }

    /// Sets the quorum (M of the N reviewers) for applications opened from now on; open
    /// applications keep the one they opened with. The first side to reach M decides, so
    /// with M ≤ N/2 a minority can decide before the others vote: choose a majority
    /// (2M > N), and raise M before adding reviewers. Not enforced: checked in
    /// `addReviewer`, it would make going from one reviewer to two impossible.
    ///
    /// # Errors
    ///
    /// * [`VettingNotAdmin`] - the caller is not the admin.
    /// * [`VettingInvalidQuorum`] - `quorum` is 0 or more than the reviewers.
    ///
    /// # Events
    ///
    /// * [`VettingQuorumSet`].
    pub fn set_quorum(&mut self, quorum: u32) -> Result<(), Error> {
        self.only_admin()?;
        let reviewers = small(self.reviewer_count.get()) as u32;
        if quorum == 0 || quorum > reviewers {
            return Err(VettingInvalidQuorum { quorum, reviewers }.into());
        }
        self.quorum.set(uint::<32>(quorum));
        host::log(
            &[VettingQuorumSet::SIGNATURE_HASH],
            &[quorum.word(), reviewers.word()],
            &[],
        );
        Ok(())
    }

    /// Sets the rule of `kind`: applicants need `min_rated_sessions` ratings received as
    /// a tutor averaging `min_average` hundredths (0 to 500); credentials are issued for
    /// `term` seconds (0: no expiry) with metadata `uri`. Applications are checked
    /// against the rule when they open; the term and URI apply when one is approved (an
    /// expiry past `2^64 − 1` saturates there). To close a kind to new applications, set
    /// `min_rated_sessions` to `2^64 − 1`.
    ///
    /// # Errors
    ///
    /// * [`VettingNotAdmin`] - the caller is not the admin.
    /// * [`VettingInvalidKind`] - `kind` is 0.
    /// * [`VettingInvalidAverage`] - `min_average` is over 500.
    /// * [`VettingInvalidUri`] - `uri` is empty or longer than [`MAX_URI_LEN`] bytes.
    ///
    /// # Events
    ///
    /// * [`VettingKindSet`].
    pub fn set_kind(
        &mut self,
        kind: u32,
        min_rated_sessions: u64,
        min_average: u16,
        term: u64,
        uri: String,
    ) -> Result<(), Error> {
        self.only_admin()?;
        if kind == 0 {
            return Err(VettingInvalidKind { kind }.into());
        }
        if min_average > MAX_AVERAGE {
            return Err(VettingInvalidAverage {
                kind,
                minAverage: min_average,
            }
            .into());
        }
        if uri.is_empty() || uri.len() > MAX_URI_LEN {
            return Err(VettingInvalidUri {
                length: U256::from(uri.len()),
            }
            .into());
        }
        let mut rule = self.kinds.setter(kind);
        rule.min_rated.set(uint::<64>(min_rated_sessions));
        rule.min_average.set(uint::<16>(min_average));
        rule.term.set(uint::<64>(term));
        // SAFETY (cast): at most MAX_URI_LEN bytes.
        rule.uri_len.set(uint::<16>(uri.len() as u16));
        write_chunks(&mut rule.uri, &uri);
        host::log(
            &[VettingKindSet::SIGNATURE_HASH, kind.word()],
            &[
                min_rated_sessions.word(),
                min_average.word(),
                term.word(),
                (4u64 * 32).word(),
                (uri.len() as u64).word(),
            ],
            uri.as_bytes(),
        );
        Ok(())
    }

    /// Sets the voting period and the cooldown after a rejection, in seconds, for
    /// applications opened (and rejections decided) from now on.
    ///
    /// # Errors
    ///
    /// * [`VettingNotAdmin`] - the caller is not the admin.
    /// * [`VettingInvalidConfig`] - `voting_period` is 0.
    ///
    /// # Events
    ///
    /// * [`VettingConfigUpdated`].
    pub fn set_config(&mut self, voting_period: u64, cooldown: u64) -> Result<(), Error> {
        self.only_admin()?;
        self.write_config(voting_period, cooldown)
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
    /// * [`VettingNotAdmin`] - the caller is not the admin.
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
    /// * [`VettingNotAdmin`] - the caller is not the named successor.
    ///
    /// # Events
    ///
    /// * [`AdminTransferred`].
    pub fn accept_admin(&mut self) -> Result<(), Error> {
        self.admin.accept().map_err(not_admin)
    }
}

fn not_admin(caller: Address) -> Error {
    VettingNotAdmin { caller }.into()
}

/// A CID of `min` to [`MAX_CID_LEN`] bytes.
fn check_cid(cid: &str, min: usize) -> Result<(), Error> {
    if cid.len() < min || cid.len() > MAX_CID_LEN {
        return Err(VettingInvalidCid {
            length: U256::from(cid.len()),
        }
        .into());
    }
    Ok(())
}

impl KindRule {
    fn uri(&self) -> String {
        let bytes = read_chunks::<0>(&self.uri, small(self.uri_len.get()) as usize);
        // Written from a `String` by `set_kind`: UTF-8.
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Vetting {
    fn only_admin(&self) -> Result<Address, Error> {
        self.admin.only_admin().map_err(not_admin)
    }

    fn only_reviewer(&self) -> Result<Address, Error> {
        let caller = host::sender();
        if !self.reviewers.get(caller) {
            return Err(VettingNotReviewer { account: caller }.into());
        }
        Ok(caller)
    }

    /// Fails if `tutor` has a case open for `kind`.
    fn check_free(&self, tutor: Address, kind: u32) -> Result<(), Error> {
        let open = self.standing.getter(tutor).getter(kind).open.get();
        if !open.is_zero() {
            return Err(VettingApplicationPending {
                tutor,
                kind,
                applicationId: open,
            }
            .into());
        }
        Ok(())
    }

    /// `(tutor, kind, quorum, deadline)` of open application `id`.
    fn require_open(&self, id: U256) -> Result<(Address, u32, u32, u64), Error> {
        let a = self.applications.getter(id);
        match Status::from_u64(small(a.status.get())) {
            Status::Open => Ok((
                a.tutor.get(),
                small(a.kind.get()) as u32,
                small(a.quorum.get()) as u32,
                small(a.deadline.get()),
            )),
            Status::None => Err(VettingUnknownApplication { applicationId: id }.into()),
            status => Err(VettingNotOpen {
                applicationId: id,
                status: status as u8,
            }
            .into()),
        }
    }

    /// Opens an application with the current quorum and voting period; emits
    /// [`VettingApplicationOpened`].
    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        tutor: Address,
        kind: u32,
        action: Action,
        token_id: U256,
        by: Address,
        now: u64,
        cid: &str,
    ) -> Result<U256, Error> {
        let quorum = small(self.quorum.get()) as u32;
        if quorum == 0 {
            return Err(VettingNoQuorum {}.into());
        }
        let id = self
            .last_id
            .get()
            .checked_add(U256::from_limbs([1, 0, 0, 0]))
            .ok_or(VettingIdUnavailable {})?;
        let deadline = now.saturating_add(small(self.voting_period.get()));
        self.last_id.set(id);
        {
            let mut a = self.applications.setter(id);
            a.tutor.set(tutor);
            a.kind.set(uint::<32>(kind));
            a.action.set(uint::<8>(action as u8));
            a.status.set(uint::<8>(Status::Open as u8));
            a.quorum.set(uint::<32>(quorum));
            a.deadline.set(uint::<64>(deadline));
            a.token_id.set(token_id);
        }
        self.standing.setter(tutor).setter(kind).open.set(id);
        host::log(
            &[
                VettingApplicationOpened::SIGNATURE_HASH,
                id.word(),
                tutor.word(),
                kind.word(),
            ],
            // SAFETY (cast): `cid` is at most MAX_CID_LEN bytes.
            &[
                (action as u8).word(),
                token_id.word(),
                by.word(),
                deadline.word(),
                (5u64 * 32).word(),
                (cid.len() as u64).word(),
            ],
            cid.as_bytes(),
        );
        Ok(id)
    }

    /// Marks `id` closed with `status` and frees its tutor's kind.
    fn close(&mut self, id: U256, tutor: Address, kind: u32, status: Status) {
        self.applications
            .setter(id)
            .status
            .set(uint::<8>(status as u8));
        self.standing
            .setter(tutor)
            .setter(kind)
            .open
            .set(U256::ZERO);
    }

    /// The quorum approved `id`: closes it, then (state first) issues, or starts the
    /// holder's cooldown and revokes.
    fn approve(&mut self, id: U256, tutor: Address, kind: u32, now: u64) -> Result<(), Error> {
        self.close(id, tutor, kind, Status::Approved);
        let (action, target) = {
            let a = self.applications.getter(id);
            (small(a.action.get()) as u8, a.token_id.get())
        };
        let credentials = self.credentials.get();
        let failed = || Error::from(VettingCredentialCallFailed { applicationId: id });
        let token_id = if action == Action::Revoke as u8 {
            // The cooldown starts even if the holder burned the credential meanwhile: a
            // burn must not dodge it.
            let until = now.saturating_add(small(self.cooldown.get()));
            self.standing
                .setter(tutor)
                .setter(kind)
                .cooldown_until
                .set(uint::<64>(until));
            // The holder may have burned it, or another issuer revoked it, meanwhile.
            match calls::credential(credentials, target) {
                calls::Lookup::Found((_, _, calls::ISSUED, _)) => {
                    calls::revoke(credentials, target).ok_or_else(failed)?;
                    target
                }
                calls::Lookup::Failed => return Err(failed()),
                _ => U256::ZERO,
            }
        } else {
            let (term, uri) = {
                let rule = self.kinds.getter(kind);
                (small(rule.term.get()), rule.uri())
            };
            // The credentials contract keeps one current credential per (holder, kind):
            // a still-valid one (a renewal, or one issued meanwhile) makes way.
            if calls::has_valid(credentials, tutor, kind).ok_or_else(failed)? {
                let old = calls::credential_of(credentials, tutor, kind).ok_or_else(failed)?;
                calls::revoke(credentials, old).ok_or_else(failed)?;
            }
            let expiry = if term == 0 {
                0
            } else {
                now.saturating_add(term)
            };
            let issued = calls::issue(credentials, tutor, kind, expiry, &uri).ok_or_else(failed)?;
            self.applications.setter(id).token_id.set(issued);
            issued
        };
        emit::decided(id, tutor, kind, action, true, token_id);
        Ok(())
    }

    /// The quorum rejected `id`: closes it; an issue or renewal starts the cooldown.
    fn reject(&mut self, id: U256, tutor: Address, kind: u32, now: u64) {
        self.close(id, tutor, kind, Status::Rejected);
        let action = small(self.applications.getter(id).action.get()) as u8;
        if action != Action::Revoke as u8 {
            let until = now.saturating_add(small(self.cooldown.get()));
            self.standing
                .setter(tutor)
                .setter(kind)
                .cooldown_until
                .set(uint::<64>(until));
        }
        emit::decided(id, tutor, kind, action, false, U256::ZERO);
    }

    /// Checks and stores the settings; emits [`VettingConfigUpdated`].
    fn write_config(&mut self, voting_period: u64, cooldown: u64) -> Result<(), Error> {
        if voting_period == 0 {
            return Err(VettingInvalidConfig {
                votingPeriod: voting_period,
                cooldown,
            }
            .into());
        }
        self.voting_period.set(uint::<64>(voting_period));
        self.cooldown.set(uint::<64>(cooldown));
        host::log(
            &[VettingConfigUpdated::SIGNATURE_HASH],
            &[voting_period.word(), cooldown.word()],
            &[],
        );
        Ok(())
    }
}

/// Events with a dynamic tail or several callers, encoded by hand.
mod emit {
    use alloy_primitives::{Address, U256};
    use alloy_sol_types::SolEvent;
    use minuto_wire::Word;

    use super::{host, VettingDecided, VettingVoted};

    /// [`VettingVoted`]: the data is `(bool, uint32, uint32, string)`.
    pub(crate) fn voted(
        id: U256,
        reviewer: Address,
        approve: bool,
        approvals: u32,
        rejections: u32,
        cid: &str,
    ) {
        host::log(
            &[VettingVoted::SIGNATURE_HASH, id.word(), reviewer.word()],
            // SAFETY (cast): `cid` is at most MAX_CID_LEN bytes.
            &[
                approve.word(),
                approvals.word(),
                rejections.word(),
                (4u64 * 32).word(),
                (cid.len() as u64).word(),
            ],
            cid.as_bytes(),
        );
    }

    /// [`VettingDecided`].
    pub(crate) fn decided(
        id: U256,
        tutor: Address,
        kind: u32,
        action: u8,
        approved: bool,
        token_id: U256,
    ) {
        host::log(
            &[
                VettingDecided::SIGNATURE_HASH,
                id.word(),
                tutor.word(),
                kind.word(),
            ],
            &[action.word(), approved.word(), token_id.word()],
            &[],
        );
    }
}

/// The current block time, through one door so that tests can move it together with the
/// escrow's (motsu fixes `block.timestamp`; see `minuto_escrow::test_clock`).
fn now() -> u64 {
    let t = host::timestamp();
    #[cfg(test)]
    let t = t + minuto_escrow::test_clock::offset();
    t
}

/// Host access through the SDK's free functions (see the ratings contract: `self.vm()`
/// links every host import).
#[allow(deprecated)]
mod host {
    use alloy_primitives::Address;

    /// `msg.sender`.
    pub(crate) fn sender() -> Address {
        stylus_sdk::msg::sender()
    }

    /// `block.timestamp`.
    pub(crate) fn timestamp() -> u64 {
        stylus_sdk::block::timestamp()
    }

    pub(crate) use minuto_wire::log;
}

#[cfg(test)]
mod tests;

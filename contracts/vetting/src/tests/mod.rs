//! Tests with motsu: the real session escrow (with the clock its `test-clock` feature lets
//! tests move), an OpenZeppelin ERC-20 it bills in, the real rating registry and
//! credentials contract, and the vetting contract holding the credentials' issuer role.
//! One test per rule and per rejection, exact errors and exact events.

mod abi;
mod admin;
mod apply;
mod properties;
mod revoke;
mod router;
mod vote;

use alloy_primitives::{keccak256, Address, LogData, B256, U256};
pub use minuto_credentials::Credentials;
pub use minuto_escrow::{test_clock as clock, SessionEscrow};
pub use minuto_ratings::Ratings;
use motsu::prelude::*;
use openzeppelin_stylus::{access::control::IAccessControl, token::erc20::IErc20};

pub use crate::*;

pub use minuto_test_support::{assert_reverts, with_events, TestToken};

/// The credential kind the tests vet.
pub const KIND: u32 = 7;
/// Its rule: two ratings as a tutor averaging 4.00, a one-year term.
pub const MIN_RATED: u64 = 2;
pub const MIN_AVERAGE: u16 = 400;
pub const TERM: u64 = 365 * 24 * 60 * 60;
pub const URI: &str = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/7.json";
/// Votes are taken for a week; a rejection bars the tutor for thirty days.
pub const PERIOD: u64 = 7 * 24 * 60 * 60;
pub const COOLDOWN: u64 = 30 * 24 * 60 * 60;
/// An evidence or reason CID.
pub const CID: &str = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

/// The escrow's rate: 10,000 base units a second (scaled by 10^18); a 300-second session
/// bills 3,000,000, over the ratings' floor of 1,000,000.
const RATE: u128 = 10_000 * 1_000_000_000_000_000_000;
const DEPOSIT: u128 = 10_000_000;
const MIN_BILLED: u128 = 1_000_000;
const MIN_DURATION: u64 = 300;

/// motsu's fixed `block.timestamp`, before the test clock moves it.
pub const T0: u64 = 1_735_689_600;

pub fn id(v: u64) -> U256 {
    U256::from(v)
}

/// The contracts of one test and its people.
pub struct World<'a> {
    pub escrow: &'a Contract<SessionEscrow>,
    pub token: &'a Contract<TestToken>,
    pub ratings: &'a Contract<Ratings>,
    pub credentials: &'a Contract<Credentials>,
    pub vetting: &'a Contract<Vetting>,
    /// Admin of every contract.
    pub admin: Address,
    /// Pays for the sessions that earn the tutors their ratings.
    pub student: Address,
    /// The applicant.
    pub tutor: Address,
    /// Three reviewers; the quorum is two.
    pub reviewers: [Address; 3],
    /// Nobody in particular.
    pub stranger: Address,
}

impl<'a> World<'a> {
    /// Deploys everything (the escrow checks credentials), grants vetting the issuer
    /// role, adds three reviewers with a quorum of two and sets [`KIND`]'s rule. Time
    /// starts at motsu's block timestamp.
    pub fn new(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        ratings: &'a Contract<Ratings>,
        credentials: &'a Contract<Credentials>,
        vetting: &'a Contract<Vetting>,
    ) -> Self {
        let w = Self::bare(escrow, token, ratings, credentials, vetting);
        for r in w.reviewers {
            vetting.sender(w.admin).add_reviewer(r).motsu_unwrap();
        }
        vetting.sender(w.admin).set_quorum(2).motsu_unwrap();
        vetting
            .sender(w.admin)
            .set_kind(KIND, MIN_RATED, MIN_AVERAGE, TERM, URI.into())
            .motsu_unwrap();
        w
    }

    /// As [`World::new`] without reviewers, quorum or kind rule.
    pub fn bare(
        escrow: &'a Contract<SessionEscrow>,
        token: &'a Contract<TestToken>,
        ratings: &'a Contract<Ratings>,
        credentials: &'a Contract<Credentials>,
        vetting: &'a Contract<Vetting>,
    ) -> Self {
        clock::reset();
        let w = Self {
            escrow,
            token,
            ratings,
            credentials,
            vetting,
            admin: Address::repeat_byte(0xad),
            student: Address::repeat_byte(0x51),
            tutor: Address::repeat_byte(0x70),
            reviewers: [
                Address::repeat_byte(0xa1),
                Address::repeat_byte(0xa2),
                Address::repeat_byte(0xa3),
            ],
            stranger: Address::repeat_byte(0x5e),
        };
        let admin = w.admin;
        escrow
            .sender(admin)
            .constructor(
                admin,
                Address::repeat_byte(0x7e),
                credentials.address(),
                250,
                600,
                60,
            )
            .motsu_unwrap();
        escrow
            .sender(admin)
            .set_token_allowed(token.address(), true)
            .motsu_unwrap();
        token
            .sender(admin)
            .mint(w.student, U256::from(100 * DEPOSIT))
            .motsu_unwrap();
        token
            .sender(w.student)
            .approve(escrow.address(), U256::MAX)
            .motsu_unwrap();
        ratings
            .sender(admin)
            .constructor(admin, escrow.address(), MIN_DURATION, 14 * 24 * 60 * 60)
            .motsu_unwrap();
        ratings
            .sender(admin)
            .set_min_billed(token.address(), MIN_BILLED)
            .motsu_unwrap();
        credentials.sender(admin).constructor(admin).motsu_unwrap();
        credentials
            .sender(admin)
            .grant_role(
                B256::from(minuto_credentials::ISSUER_ROLE),
                vetting.address(),
            )
            .motsu_unwrap();
        vetting
            .sender(admin)
            .constructor(
                admin,
                credentials.address(),
                ratings.address(),
                PERIOD,
                COOLDOWN,
            )
            .motsu_unwrap();
        w
    }

    /// The student takes a 5-minute lesson with `tutor` (no credential required) and
    /// rates them `score`.
    pub fn rate(&self, tutor: Address, score: u8) {
        let session = self.lesson(tutor, 0).motsu_unwrap();
        self.escrow
            .sender(tutor)
            .start(session, Address::repeat_byte(0x4b))
            .motsu_unwrap();
        clock::advance(MIN_DURATION);
        self.escrow
            .sender(self.student)
            .stop(session)
            .motsu_unwrap();
        self.ratings
            .sender(self.student)
            .rate(session, score, keccak256(CID), CID.into())
            .motsu_unwrap();
    }

    /// The student opens a session with `tutor` requiring credential `kind` (0: none).
    pub fn lesson(&self, tutor: Address, kind: u32) -> Result<U256, minuto_escrow::Error> {
        self.escrow.sender(self.student).open(
            tutor,
            self.token.address(),
            U256::from(RATE),
            U256::from(DEPOSIT),
            Address::repeat_byte(0x5b),
            kind,
        )
    }

    /// The tutor earns two fives: eligible for [`KIND`].
    pub fn eligible(&self) {
        self.rate(self.tutor, 5);
        self.rate(self.tutor, 5);
    }

    /// The tutor, eligible, applies for [`KIND`]; returns the application id.
    pub fn applied(&self) -> U256 {
        self.eligible();
        self.vetting
            .sender(self.tutor)
            .apply_for(KIND, CID.into())
            .motsu_unwrap()
    }

    /// Reviewer `r` votes on `app` without a reason.
    pub fn vote(&self, r: usize, app: U256, approve: bool) -> Result<(), Error> {
        self.vetting
            .sender(self.reviewers[r])
            .vote(app, approve, String::new())
    }

    /// The tutor applies and two reviewers approve; returns (application, token id).
    pub fn certified(&self) -> (U256, U256) {
        let app = self.applied();
        self.vote(0, app, true).motsu_unwrap();
        self.vote(1, app, true).motsu_unwrap();
        assert!(self
            .credentials
            .sender(self.stranger)
            .has_valid(self.tutor, KIND));
        (app, self.vetting.sender(self.stranger).application(app).8)
    }

    /// Block time as the contracts under test see it.
    pub fn now(&self) -> u64 {
        T0 + clock::offset()
    }
}

/// Runs `call` and returns its result with the events vetting and credentials emitted.
pub fn with_both<R>(
    vetting: &Contract<Vetting>,
    credentials: &Contract<Credentials>,
    call: impl FnOnce() -> R,
) -> (R, Vec<LogData>, Vec<LogData>) {
    let before = credentials.all_events().len();
    let (r, v) = with_events(vetting, call);
    (r, v, credentials.all_events()[before..].to_vec())
}

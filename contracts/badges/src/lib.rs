//! Minuto attendance badges (POAP-style).
//!
//! After a session has ended in the escrow with at least a minimum billed duration and a
//! minimum billed value in its token, its student and its tutor may each [`claim`](Badges::claim) one badge for it: a
//! transferable ERC-721 token that records the session id and the holder's role in it.
//!
//! Rules:
//! - The session must be Ended (stopped and settled; not Open, Active or Cancelled) and
//!   its billed duration `end − start` at least `minDuration` seconds (300 at deploy; the
//!   admin may change it). A session that ran out of funds ended when they did.
//! - It must also have billed at least `minBilled(token)` base units of its token, a floor
//!   the admin sets per token (e.g. 1 USDC); a token without a floor earns no badges. A
//!   session at a dust rate proves nothing: a badge must cost real money to fake.
//! - It must have paid the protocol fee (`feeBps` above 0 when it was opened): the tutor
//!   can hand the student everything else back, so only the fee is a colluding pair's
//!   real cost.
//! - The admin role moves in two steps (`transferAdmin`, then `acceptAdmin` by the
//!   successor); the escrow must be a contract at deployment.
//! - Only the session's student or tutor may claim, each exactly once per session; the
//!   badge is minted to the caller. Once claimed, a badge moves like any ERC-721 token,
//!   and the claim stays used.
//! - A badge's token id is derived from what it attests: `2 × sessionId` for the
//!   student's, `2 × sessionId + 1` for the tutor's. [`badge`](Badges::badge) reads
//!   `(sessionId, role)` back from it (role 1 for the student, 2 for the tutor), and a
//!   party has claimed when its id has an owner: a claim stores nothing but ERC-721's
//!   owner and balance. There is no burn, and ERC-721 refuses transfers to the zero
//!   address, so a minted id keeps an owner for good.
//! - Metadata: `tokenURI(id)` is the base URI given at deploy followed by the decimal id
//!   (empty when the base URI is empty).
//!
//! The session comes from the escrow's `session(uint256)` view (see [`escrow`]); an
//! unknown session makes the escrow revert, which surfaces as [`BadgeUnknownSession`].
//!
//! The Solidity interface is the SDK's export of the `#[public]` impl plus the
//! declarations between the `abi:begin` and `abi:end` markers here and in [`abi`]
//! (events, errors and the ERC-721 functions that come from trait impls); tests hold
//! those declarations to what the contract routes, returns and emits.
//!
//! Size (the limit is 24,576 bytes of brotli-compressed WASM), as in the credentials
//! contract: name and symbol are constants, `tokenURI` formats the id with a small
//! routine, the base URI is stored as raw words, this contract's errors and events are
//! ABI-encoded by hand, and host access goes through the SDK's free functions.
#![cfg_attr(target_arch = "wasm32", no_std)]

#[macro_use]
extern crate alloc;

pub mod abi;
mod router;
use minuto_escrow_view as escrow;

use alloc::{string::String, vec::Vec};

use alloy_primitives::{aliases::B32, Address, Uint, U256};
use alloy_sol_types::{SolError, SolEvent};
use minuto_wire::{
    admin::Admin,
    revert_data, small,
    storage::{read_chunks, write_chunks, Chunks},
    Word,
};
use openzeppelin_stylus::{
    token::erc721::{
        self, extensions::IErc721Metadata, ERC721InvalidOwner, ERC721NonexistentToken, Erc721,
        IErc721,
    },
    utils::introspection::erc165::IErc165,
};
use stylus_sdk::{
    abi::Bytes,
    prelude::*,
    storage::{StorageAddress, StorageMap, StorageU128, StorageU16, StorageU64},
};

/// The deployed program's entry: every call goes through the hand-written router
/// ([`Badges::dispatch`]); host builds (tests, ABI export) use the SDK's.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[entrypoint]
fn badges_entrypoint(input: Vec<u8>, host: stylus_sdk::host::VM) -> stylus_sdk::ArbResult {
    // SAFETY: the contract's storage at its root, as the SDK's own router creates it.
    let mut badges =
        unsafe { <Badges as stylus_sdk::storage::StorageType>::new(U256::ZERO, 0, host) };
    badges.dispatch(&input)
}

/// Bare-metal WASM has no unwinding: a panic (which no code path should reach) traps.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Collection name returned by `name()`.
pub const NAME: &str = "Minuto Attendance Badge";

/// Collection symbol returned by `symbol()`.
pub const SYMBOL: &str = "MINUTO-BADGE";

/// The minimum billed duration the deploy passes: five minutes.
pub const DEFAULT_MIN_DURATION: u64 = 300;

/// Longest base URI accepted at deploy, in bytes.
pub const MAX_BASE_URI_LEN: usize = 256;

/// ERC-165 ids answered by `supportsInterface`: ERC-165, ERC-721 and ERC-721 Metadata.
/// Constants, because OpenZeppelin's `interface_id()` hashes at run time; a test checks
/// them against it.
pub const SUPPORTED_INTERFACES: [[u8; 4]; 3] = [
    [0x01, 0xff, 0xc9, 0xa7],
    [0x80, 0xac, 0x58, 0xcd],
    [0x5b, 0x5e, 0x13, 0x9f],
];

/// A party's role in a session, as badges and events record it.
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
        /// `holder`, the session's student (`role` 1) or tutor (`role` 2), claimed badge `tokenId` for session `sessionId`.
        event BadgeClaimed(uint256 indexed tokenId, uint256 indexed sessionId, address indexed holder, uint8 role);
        /// The minimum billed duration a session needs for badges is now `minDuration` seconds.
        event BadgeMinDurationUpdated(uint64 minDuration);
        /// Sessions in `token` need at least `minBilled` base units billed for badges (0: none earn badges).
        event BadgeMinBilledUpdated(address indexed token, uint128 minBilled);
        /// `admin` named `pendingAdmin` as its successor (zero: the hand-over was cancelled).
        event AdminTransferStarted(address indexed admin, address indexed pendingAdmin);
        /// `admin` took the role from `previousAdmin` (zero at deployment).
        event AdminTransferred(address indexed previousAdmin, address indexed admin);

        /// The constructor's `admin` is the zero address, or its `escrow` holds no code.
        error BadgeInvalidAddress(address account);
        /// A minimum duration of 0 would let sessions that never ran produce badges.
        error BadgeInvalidMinDuration(uint64 minDuration);
        /// The base URI is longer than 256 bytes; this one is `length` bytes.
        error BadgeInvalidBaseUri(uint256 length);
        /// Only the admin may change the settings (and only the named successor accept the role); `caller` may not.
        error BadgeNotAdmin(address caller);
        /// The escrow knows no session `sessionId` (it reverted or answered something else).
        error BadgeUnknownSession(uint256 sessionId);
        /// Session `sessionId` is not Ended: its escrow `state` is 1 Open, 2 Active or 4 Cancelled.
        error BadgeSessionNotEnded(uint256 sessionId, uint8 state);
        /// Session `sessionId` billed `duration` seconds, under the minimum of `minDuration`.
        error BadgeTooShort(uint256 sessionId, uint64 duration, uint64 minDuration);
        /// Session `sessionId` is in `token`, for which the admin set no minimum billed value: it earns no badges.
        error BadgeTokenNotEligible(uint256 sessionId, address token);
        /// Session `sessionId` billed `billed` base units of its token, under the minimum of `minBilled`.
        error BadgeTooLittleBilled(uint256 sessionId, uint128 billed, uint128 minBilled);
        /// Session `sessionId` took no protocol fee (its `feeBps` was 0 at open): colluding parties got everything back, so it earns no badges.
        error BadgeNoFeePaid(uint256 sessionId);
        /// `caller` is neither the student nor the tutor of session `sessionId`.
        error BadgeNotAParty(uint256 sessionId, address caller);
        /// The party with `role` already claimed badge `tokenId` for session `sessionId`.
        error BadgeAlreadyClaimed(uint256 sessionId, uint8 role, uint256 tokenId);
        // abi:end
    }
}

minuto_wire::errors! {
    #[derive(Debug)]
    InvalidAddress(BadgeInvalidAddress { account }),
    InvalidMinDuration(BadgeInvalidMinDuration { minDuration }),
    InvalidBaseUri(BadgeInvalidBaseUri { length }),
    NotAdmin(BadgeNotAdmin { caller }),
    UnknownSession(BadgeUnknownSession { sessionId }),
    SessionNotEnded(BadgeSessionNotEnded { sessionId, state }),
    TooShort(BadgeTooShort { sessionId, duration, minDuration }),
    NotAParty(BadgeNotAParty { sessionId, caller }),
    AlreadyClaimed(BadgeAlreadyClaimed { sessionId, role, tokenId }),
    TokenNotEligible(BadgeTokenNotEligible { sessionId, token }),
    TooLittleBilled(BadgeTooLittleBilled { sessionId, billed, minBilled }),
    NoFeePaid(BadgeNoFeePaid { sessionId }),
    ;
    // An ERC-721 error from OpenZeppelin's `Erc721` (ERC-6093), in transfers, approvals
    // and views.
    Erc721(erc721::Error) => erc721_revert_data,
}

impl From<erc721::Error> for Error {
    fn from(e: erc721::Error) -> Self {
        Error::Erc721(e)
    }
}

/// OpenZeppelin's ERC-721 errors, encoded by hand like this contract's: all but
/// `InvalidReceiverWithReason` have static fields. That one carries the receiver's
/// revert data as a string; it is ABI-encoded as `Error(string)`'s sibling would be.
fn erc721_revert_data(e: erc721::Error) -> Vec<u8> {
    use erc721::Error as E;
    match e {
        E::InvalidOwner(e) => revert_data(ERC721InvalidOwner::SELECTOR, &[e.owner.word()]),
        E::NonexistentToken(e) => {
            revert_data(ERC721NonexistentToken::SELECTOR, &[e.token_id.word()])
        }
        E::IncorrectOwner(e) => revert_data(
            erc721::ERC721IncorrectOwner::SELECTOR,
            &[e.sender.word(), e.token_id.word(), e.owner.word()],
        ),
        E::InvalidSender(e) => {
            revert_data(erc721::ERC721InvalidSender::SELECTOR, &[e.sender.word()])
        }
        E::InvalidReceiver(e) => revert_data(
            erc721::ERC721InvalidReceiver::SELECTOR,
            &[e.receiver.word()],
        ),
        E::InvalidReceiverWithReason(e) => {
            let reason = e.reason.as_bytes();
            // SAFETY (cast): revert data is far below 2^64 bytes.
            let mut data = revert_data(
                erc721::InvalidReceiverWithReason::SELECTOR,
                &[32u64.word(), (reason.len() as u64).word()],
            );
            data.extend_from_slice(reason);
            data.resize(4 + (data.len() - 4).div_ceil(32) * 32, 0);
            data
        }
        E::InsufficientApproval(e) => revert_data(
            erc721::ERC721InsufficientApproval::SELECTOR,
            &[e.operator.word(), e.token_id.word()],
        ),
        E::InvalidApprover(e) => revert_data(
            erc721::ERC721InvalidApprover::SELECTOR,
            &[e.approver.word()],
        ),
        E::InvalidOperator(e) => revert_data(
            erc721::ERC721InvalidOperator::SELECTOR,
            &[e.operator.word()],
        ),
    }
}

/// The badges contract.
#[cfg_attr(
    not(all(target_arch = "wasm32", not(feature = "export-abi"))),
    entrypoint
)]
#[storage]
pub struct Badges {
    erc721: Erc721,
    admin: Admin,
    /// Token → the least a session in it must bill, in base units (0: it earns nothing).
    min_billed: StorageMap<Address, StorageU128>,
    /// One slot: `escrow | base_uri_len | min_duration`, so that a claim reads the escrow
    /// and the minimum duration in one cold read (2,100 gas less than two slots).
    escrow: StorageAddress,
    base_uri_len: StorageU16,
    min_duration: StorageU64,
    /// Word `i` holds bytes `32 * i ..` of the base URI, zero-padded. Raw words rather
    /// than a `StorageString`, whose code links U256 division and Rust's formatting.
    base_uri: Chunks,
}

#[public]
#[implements(IErc721<Error = Error>, IErc721Metadata<Error = Error>, IErc165)]
impl Badges {
    /// Sets the admin (who may change `minDuration`), the session escrow whose sessions
    /// earn badges, the minimum billed duration in seconds (the deploy passes
    /// [`DEFAULT_MIN_DURATION`]) and the metadata base URI (may be empty).
    ///
    /// # Errors
    ///
    /// * [`BadgeInvalidAddress`] - `admin` is the zero address, or `escrow` holds no code.
    /// * [`BadgeInvalidMinDuration`] - `min_duration` is 0.
    /// * [`BadgeInvalidBaseUri`] - `base_uri` is longer than [`MAX_BASE_URI_LEN`] bytes.
    ///
    /// # Events
    ///
    /// * `AdminTransferred(0, admin)`, [`BadgeMinDurationUpdated`].
    #[constructor]
    pub fn constructor(
        &mut self,
        admin: Address,
        escrow: Address,
        min_duration: u64,
        base_uri: String,
    ) -> Result<(), Error> {
        if admin.is_zero() {
            return Err(BadgeInvalidAddress { account: admin }.into());
        }
        // Sessions are read from its `session` view: an address without code would answer
        // every call with nothing.
        if !minuto_wire::has_code(escrow) {
            return Err(BadgeInvalidAddress { account: escrow }.into());
        }
        if base_uri.len() > MAX_BASE_URI_LEN {
            return Err(BadgeInvalidBaseUri {
                length: U256::from(base_uri.len()),
            }
            .into());
        }
        self.admin.init(admin);
        self.escrow.set(escrow);
        self.set_base_uri(base_uri.as_bytes());
        self.write_min_duration(min_duration)
    }

    /// Mints the caller a badge for session `session_id`, which must have ended with at
    /// least `minDuration` seconds and `minBilled(token)` base units billed; the caller
    /// must be its student or its tutor and must not have claimed for it before. Returns
    /// the new token id: `2 × session_id`, plus 1 for the tutor.
    ///
    /// # Errors
    ///
    /// * [`BadgeUnknownSession`] - the escrow has no such session.
    /// * [`BadgeSessionNotEnded`] - the session is Open, Active or Cancelled.
    /// * [`BadgeTooShort`] - its billed duration `end − start` is under `minDuration`.
    /// * [`BadgeTokenNotEligible`] - no minimum billed value is set for its token.
    /// * [`BadgeTooLittleBilled`] - it billed less than `minBilled(token)`.
    /// * [`BadgeNoFeePaid`] - it took no protocol fee (`feeBps` 0 at open).
    /// * [`BadgeNotAParty`] - the caller is neither its student nor its tutor.
    /// * [`BadgeAlreadyClaimed`] - the caller already claimed a badge for it.
    ///
    /// # Events
    ///
    /// * `Transfer(address(0), caller, tokenId)`, then [`BadgeClaimed`].
    pub fn claim(&mut self, session_id: U256) -> Result<U256, Error> {
        let session = escrow::session(self.escrow.get(), session_id)
            .filter(|_| session_id < SESSION_ID_END)
            .ok_or(BadgeUnknownSession {
                sessionId: session_id,
            })?;
        let min_billed = minuto_wire::wide(self.min_billed.get(session.token));
        session
            .check(small(self.min_duration.get()), min_billed)
            .map_err(|why| ineligible(session_id, why))?;
        let caller = host::sender();
        let role = if caller == session.student {
            Role::Student
        } else if caller == session.tutor {
            Role::Tutor
        } else {
            return Err(BadgeNotAParty {
                sessionId: session_id,
                caller,
            }
            .into());
        };
        // The session id is below `SESSION_ID_END` (checked above).
        let token_id = token_id(session_id.as_limbs()[0], role);
        if !self.erc721._owner_of(token_id).is_zero() {
            return Err(BadgeAlreadyClaimed {
                sessionId: session_id,
                role: role as u8,
                tokenId: token_id,
            }
            .into());
        }
        // `caller` is not zero (it is a party of the session, and the escrow forbids
        // zero parties) and the id has no owner: `_mint` cannot fail.
        self.erc721._mint(caller, token_id)?;

        minuto_wire::log(
            &[
                BadgeClaimed::SIGNATURE_HASH,
                token_id.word(),
                session_id.word(),
                caller.word(),
            ],
            &[(role as u8).word()],
            &[],
        );
        Ok(token_id)
    }

    /// Badge `token_id` as `(sessionId, role)`: the session it attests and the role (1
    /// student, 2 tutor) of the party who claimed it, whoever holds it now.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never minted.
    ///
    /// # Events
    ///
    /// None.
    pub fn badge(&self, token_id: U256) -> Result<(U256, u8), Error> {
        self.require_owned(token_id)?;
        // A minted id is `2 × sessionId + (tutor ? 1 : 0)`, below 2^64 (`token_id`).
        let id = token_id.as_limbs()[0];
        // SAFETY (cast): `id & 1` is 0 or 1.
        Ok((U256::from(id >> 1), (id & 1) as u8 + Role::Student as u8))
    }

    /// The badges claimed for session `session_id` as `(studentTokenId, tutorTokenId)`;
    /// 0 where that party has not claimed.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn claimed(&self, session_id: U256) -> (U256, U256) {
        (
            self.claimed_by(session_id, Role::Student),
            self.claimed_by(session_id, Role::Tutor),
        )
    }

    /// The least a session in `token` must bill, in base units, for badges (0: sessions
    /// in it earn none).
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn min_billed(&self, token: Address) -> u128 {
        minuto_wire::wide(self.min_billed.get(token))
    }

    /// Sets the least a session in `token` must bill, in base units, for its badges (0:
    /// sessions in it earn none). Applies to claims from now on.
    ///
    /// # Errors
    ///
    /// * [`BadgeNotAdmin`] - the caller is not the admin.
    ///
    /// # Events
    ///
    /// * [`BadgeMinBilledUpdated`].
    pub fn set_min_billed(&mut self, token: Address, min_billed: u128) -> Result<(), Error> {
        self.only_admin()?;
        self.min_billed
            .setter(token)
            .set(minuto_wire::u128_slot(min_billed));
        minuto_wire::log(
            &[BadgeMinBilledUpdated::SIGNATURE_HASH, token.word()],
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
    /// * [`BadgeNotAdmin`] - the caller is not the admin.
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
    /// * [`BadgeNotAdmin`] - the caller is not the named successor.
    ///
    /// # Events
    ///
    /// * [`AdminTransferred`].
    pub fn accept_admin(&mut self) -> Result<(), Error> {
        self.admin.accept().map_err(not_admin)
    }

    /// The settings as `(admin, escrow, minDuration)`.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn config(&self) -> (Address, Address, u64) {
        (
            self.admin.get(),
            self.escrow.get(),
            small(self.min_duration.get()),
        )
    }

    /// Sets the minimum billed duration, in seconds, a session needs for its badges.
    /// Applies to claims from now on; badges already claimed stay.
    ///
    /// # Errors
    ///
    /// * [`BadgeNotAdmin`] - the caller is not the admin.
    /// * [`BadgeInvalidMinDuration`] - `min_duration` is 0.
    ///
    /// # Events
    ///
    /// * [`BadgeMinDurationUpdated`].
    pub fn set_min_duration(&mut self, min_duration: u64) -> Result<(), Error> {
        self.only_admin()?;
        self.write_min_duration(min_duration)
    }
}

#[public]
impl IErc721 for Badges {
    type Error = Error;

    /// Number of badges `owner` holds.
    ///
    /// # Errors
    ///
    /// * [`ERC721InvalidOwner`] - `owner` is the zero address.
    ///
    /// # Events
    ///
    /// None.
    fn balance_of(&self, owner: Address) -> Result<U256, Error> {
        Ok(self.erc721.balance_of(owner)?)
    }

    /// Holder of `token_id`.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never minted.
    ///
    /// # Events
    ///
    /// None.
    fn owner_of(&self, token_id: U256) -> Result<Address, Error> {
        self.require_owned(token_id)
    }

    /// Moves `token_id` from `from` to `to`, checking that a contract `to` accepts it.
    ///
    /// # Errors
    ///
    /// ERC-6093: `ERC721NonexistentToken`, `ERC721IncorrectOwner`,
    /// `ERC721InsufficientApproval`, `ERC721InvalidReceiver`, and
    /// `InvalidReceiverWithReason` when the receiver reverts with a reason.
    ///
    /// # Events
    ///
    /// * `Transfer(from, to, tokenId)`.
    fn safe_transfer_from(
        &mut self,
        from: Address,
        to: Address,
        token_id: U256,
    ) -> Result<(), Error> {
        Ok(self.erc721.safe_transfer_from(from, to, token_id)?)
    }

    /// As `safeTransferFrom(from, to, tokenId)`, passing `data` to a contract `to`.
    ///
    /// # Errors
    ///
    /// As `safeTransferFrom(from, to, tokenId)`.
    ///
    /// # Events
    ///
    /// * `Transfer(from, to, tokenId)`.
    #[selector(name = "safeTransferFrom")]
    fn safe_transfer_from_with_data(
        &mut self,
        from: Address,
        to: Address,
        token_id: U256,
        data: Bytes,
    ) -> Result<(), Error> {
        Ok(self
            .erc721
            .safe_transfer_from_with_data(from, to, token_id, data)?)
    }

    /// Moves `token_id` from `from` to `to` without asking a contract `to`.
    ///
    /// # Errors
    ///
    /// ERC-6093: `ERC721NonexistentToken`, `ERC721IncorrectOwner`,
    /// `ERC721InsufficientApproval`, `ERC721InvalidReceiver` (zero `to`).
    ///
    /// # Events
    ///
    /// * `Transfer(from, to, tokenId)`.
    fn transfer_from(&mut self, from: Address, to: Address, token_id: U256) -> Result<(), Error> {
        Ok(self.erc721.transfer_from(from, to, token_id)?)
    }

    /// Lets `to` move `token_id` (the zero address clears the approval).
    ///
    /// # Errors
    ///
    /// * `ERC721NonexistentToken`, `ERC721InvalidApprover` (the caller is neither the
    ///   holder nor its operator).
    ///
    /// # Events
    ///
    /// * `Approval(owner, to, tokenId)`.
    fn approve(&mut self, to: Address, token_id: U256) -> Result<(), Error> {
        Ok(self.erc721.approve(to, token_id)?)
    }

    /// Lets `operator` move all the caller's badges, or stops it.
    ///
    /// # Errors
    ///
    /// * `ERC721InvalidOperator` - `operator` is the zero address.
    ///
    /// # Events
    ///
    /// * `ApprovalForAll(caller, operator, approved)`.
    fn set_approval_for_all(&mut self, operator: Address, approved: bool) -> Result<(), Error> {
        Ok(self.erc721.set_approval_for_all(operator, approved)?)
    }

    /// The account approved to move `token_id` (the zero address if none).
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never minted.
    ///
    /// # Events
    ///
    /// None.
    fn get_approved(&self, token_id: U256) -> Result<Address, Error> {
        Ok(self.erc721.get_approved(token_id)?)
    }

    /// Whether `operator` may move all of `owner`'s badges.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    fn is_approved_for_all(&self, owner: Address, operator: Address) -> bool {
        self.erc721.is_approved_for_all(owner, operator)
    }
}

#[public]
impl IErc721Metadata for Badges {
    type Error = Error;

    /// The constant [`NAME`].
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    fn name(&self) -> String {
        String::from(NAME)
    }

    /// The constant [`SYMBOL`].
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    fn symbol(&self) -> String {
        String::from(SYMBOL)
    }

    /// The base URI followed by the decimal `token_id`; empty if the base URI is empty.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never minted.
    ///
    /// # Events
    ///
    /// None.
    #[selector(name = "tokenURI")]
    fn token_uri(&self, token_id: U256) -> Result<String, Error> {
        self.require_owned(token_id)?;
        let mut uri = self.base_uri();
        if !uri.is_empty() {
            // Minted ids are below 2^64 (see `SESSION_ID_END`).
            push_decimal(&mut uri, token_id.as_limbs()[0]);
        }
        // The base URI was written from a `String`, and digits are ASCII: UTF-8.
        // `from_utf8_lossy` is linked anyway (the ABI decoder uses it for `string`).
        Ok(String::from_utf8_lossy(&uri).into_owned())
    }
}

#[public]
impl IErc165 for Badges {
    /// True for ERC-165, ERC-721 and ERC-721 Metadata.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    fn supports_interface(&self, interface_id: B32) -> bool {
        SUPPORTED_INTERFACES.contains(&interface_id.0)
    }
}

/// The typed error for a session that cannot earn a badge.
fn ineligible(session_id: U256, why: escrow::Ineligible) -> Error {
    minuto_escrow_view::ineligible_error!(
        why,
        session_id,
        BadgeSessionNotEnded,
        BadgeTooShort,
        BadgeTokenNotEligible,
        BadgeTooLittleBilled,
        BadgeNoFeePaid
    )
}

fn not_admin(caller: Address) -> Error {
    BadgeNotAdmin { caller }.into()
}

impl Badges {
    fn only_admin(&self) -> Result<Address, Error> {
        self.admin.only_admin().map_err(not_admin)
    }

    /// The holder of `token_id`, or [`ERC721NonexistentToken`].
    fn require_owned(&self, token_id: U256) -> Result<Address, Error> {
        let holder = self.erc721._owner_of(token_id);
        if holder.is_zero() {
            return Err(
                erc721::Error::NonexistentToken(ERC721NonexistentToken { token_id }).into(),
            );
        }
        Ok(holder)
    }

    /// The token id the party with `role` claimed for `session_id` (0: none).
    fn claimed_by(&self, session_id: U256, role: Role) -> U256 {
        if session_id >= SESSION_ID_END {
            // No such session (and `2 × session_id` could wrap onto a minted id).
            return U256::ZERO;
        }
        let id = token_id(session_id.as_limbs()[0], role);
        if self.erc721._owner_of(id).is_zero() {
            U256::ZERO
        } else {
            id
        }
    }

    /// Checks and stores the minimum duration; emits [`BadgeMinDurationUpdated`].
    fn write_min_duration(&mut self, min_duration: u64) -> Result<(), Error> {
        if min_duration == 0 {
            return Err(BadgeInvalidMinDuration {
                minDuration: min_duration,
            }
            .into());
        }
        self.min_duration.set(Uint::from_limbs([min_duration]));
        minuto_wire::log(
            &[BadgeMinDurationUpdated::SIGNATURE_HASH],
            &[min_duration.word()],
            &[],
        );
        Ok(())
    }

    /// Stores `uri`, at most [`MAX_BASE_URI_LEN`] bytes (checked by the caller).
    fn set_base_uri(&mut self, uri: &[u8]) {
        // SAFETY (casts): `uri.len() <= MAX_BASE_URI_LEN`, so the length fits in 16 bits
        // and the word index in 32.
        self.base_uri_len.set(Uint::from_limbs([uri.len() as u64]));
        write_chunks(&mut self.base_uri, uri);
    }

    /// The stored base URI's bytes, with room for a token id's 20 digits.
    fn base_uri(&self) -> Vec<u8> {
        read_chunks::<20>(&self.base_uri, small(self.base_uri_len.get()) as usize)
    }
}

/// Session ids from here on are refused as unknown ([`BadgeUnknownSession`]): none can
/// exist: the escrow numbers sessions one by one from 1 with a `u64` counter, and would
/// need 2^63 (about 9.2 × 10^18) opens to get here. The bound keeps every token id
/// (`2 × sessionId + 1` at most) below 2^64, so `tokenURI` prints limb 0 with
/// [`push_decimal`]: one constant, where printing a full `uint256` would need 256-bit
/// division (or a multi-limb routine), more code in a contract near its size budget.
pub const SESSION_ID_END: U256 = U256::from_limbs([1 << 63, 0, 0, 0]);

/// The badge id of the party with `role` in session `session_id` (below
/// [`SESSION_ID_END`]): `2 × session_id` for the student, plus 1 for the tutor.
fn token_id(session_id: u64, role: Role) -> U256 {
    U256::from((session_id << 1) | (role as u64 - Role::Student as u64))
}

/// Appends `value` in decimal. A dozen instructions instead of `core::fmt` (~8 KB).
fn push_decimal(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        // SAFETY (cast): a remainder of 10 is a single digit.
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Host access through the SDK's free functions. The SDK deprecates them in favour of
/// `self.vm()`, but that returns a `dyn Host` whose vtable links every host import and
/// its glue (several KB of WASM); OpenZeppelin 0.3 uses the free functions anyway.
#[allow(deprecated)]
mod host {
    use alloy_primitives::Address;

    /// `msg.sender`.
    pub(crate) fn sender() -> Address {
        stylus_sdk::msg::sender()
    }
}

#[cfg(test)]
mod tests;

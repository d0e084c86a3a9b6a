//! Minuto soul-bound tutor credentials.
//!
//! An issuer (a DAO multisig in production) issues a tutor a credential of some `kind`
//! (for example "certified native Spanish speaker, C2"), with an optional expiry and a
//! metadata URI. Each credential is an ERC-721 token that can never move: it is ERC-5192
//! `locked`, and every transfer and approval entry point reverts with a typed error. The
//! issuer may revoke a credential; the holder may burn their own.
//!
//! The session escrow and dApps ask [`Credentials::has_valid`] (`hasValid(address,uint32)`)
//! whether a holder currently has a valid credential of a kind: issued, not revoked, not
//! burned and not expired. It costs two storage reads: the contract keeps, for every
//! `(holder, kind)`, the id of the holder's current credential of that kind.
//!
//! Rules:
//! - Token ids start at 1 and only grow; an id is never reused.
//! - `kind` 0 is invalid; `expiry` 0 means "never expires", otherwise the credential is
//!   valid while `block.timestamp < expiry`.
//! - One current credential per `(holder, kind)`: issuing a second one while the current
//!   one is still valid reverts with `CredentialAlreadyHeld`. Once it has expired, been
//!   revoked or been burned, a new one may be issued (a renewal); an expired credential
//!   stays with its holder as history.
//! - A revoked credential stays with its holder (still locked, still readable, marked
//!   revoked); the holder may burn it.
//!
//! Roles come from OpenZeppelin's `AccessControl`: the constructor's `admin` holds
//! `DEFAULT_ADMIN_ROLE` and grants [`ISSUER_ROLE`] to issuers. The role is never left
//! empty: the last admin can neither renounce nor be revoked (grant a successor first).
//!
//! The Solidity interface is the SDK's export of the `#[public]` impl plus the
//! declarations between the `abi:begin` and `abi:end` markers here and in [`abi`]
//! (events, errors and the functions that come from trait impls); tests hold those
//! declarations to what the contract routes, returns and emits.
//!
//! Size (the limit is 24,576 bytes of brotli-compressed WASM): name, symbol and the
//! ERC-165 answers are constants, the metadata URI is stored as raw words, errors and
//! this contract's events are ABI-encoded by hand, and host access goes through the SDK's
//! free functions. Each choice is explained where it is made; together they keep out
//! about 25 KB of uncompressed WASM (OpenZeppelin's `Erc721Metadata`, the SDK's string
//! storage, Rust's formatting machinery, alloy's generic encoders, the `dyn Host` vtable).
#![cfg_attr(target_arch = "wasm32", no_std)]

#[macro_use]
extern crate alloc;

pub mod abi;
mod router;

use alloc::{string::String, vec::Vec};

use alloy_primitives::{aliases::B32, Address, B256, U16, U256, U32, U64, U8};
use alloy_sol_types::SolError;
use minuto_wire::storage::{read_chunks, write_chunks, Chunks};
use openzeppelin_stylus::{
    access::control::{
        self as access_control, AccessControl, AccessControlBadConfirmation,
        AccessControlUnauthorizedAccount, IAccessControl,
    },
    token::erc721::{
        extensions::IErc721Metadata, ERC721InvalidOwner, ERC721NonexistentToken, Erc721, IErc721,
    },
    utils::introspection::erc165::IErc165,
};
use stylus_sdk::{
    abi::Bytes,
    function_selector,
    keccak_const::Keccak256,
    prelude::*,
    storage::{StorageMap, StorageU16, StorageU256, StorageU32, StorageU64, StorageU8},
};

/// The deployed program's entry: every call goes through the hand-written router.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[entrypoint]
fn credentials_entrypoint(input: Vec<u8>, host: stylus_sdk::host::VM) -> stylus_sdk::ArbResult {
    // SAFETY: the contract's storage at its root, as the SDK's own router creates it.
    let mut credentials =
        unsafe { <Credentials as stylus_sdk::storage::StorageType>::new(U256::ZERO, 0, host) };
    credentials.dispatch(&input)
}

/// Bare-metal WASM has no unwinding: a panic (which no code path should reach) traps.
#[cfg(all(target_arch = "wasm32", not(feature = "export-abi")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Role allowed to issue and revoke credentials: `keccak256("ISSUER_ROLE")`.
pub const ISSUER_ROLE: [u8; 32] = Keccak256::new().update(b"ISSUER_ROLE").finalize();

/// Collection name returned by `name()`.
pub const NAME: &str = "Minuto Tutor Credential";

/// Collection symbol returned by `symbol()`.
pub const SYMBOL: &str = "MINUTO-CRED";

/// ERC-165 ids answered by `supportsInterface`: ERC-165, ERC-721, ERC-721 Metadata and
/// ERC-5192. Constants, because OpenZeppelin's `interface_id()` hashes at run time (~1 KB
/// of WASM); a test checks them against it.
pub const SUPPORTED_INTERFACES: [[u8; 4]; 4] = [
    [0x01, 0xff, 0xc9, 0xa7],
    [0x80, 0xac, 0x58, 0xcd],
    [0x5b, 0x5e, 0x13, 0x9f],
    ERC5192_INTERFACE_ID,
];

/// Longest metadata URI accepted at issue, in bytes.
pub const MAX_URI_LEN: usize = 512;

/// ERC-5192 interface id: the selector of its only function, `locked(uint256)`
/// (`0xb45a3c0e`).
pub const ERC5192_INTERFACE_ID: [u8; 4] = function_selector!("locked", U256);

pub use sol::*;

mod sol {
    use alloy_sol_types::sol;

    sol! {
        #![sol(all_derives)]
        // abi:begin
        /// A credential of `kind` was issued to `holder` by `issuer`. `expiry` 0 = never.
        event CredentialIssued(uint256 indexed tokenId, address indexed holder, uint32 indexed kind, uint64 expiry, string uri, address issuer);
        /// The credential was revoked by `issuer`; it stays with its holder, marked revoked.
        event CredentialRevoked(uint256 indexed tokenId, address indexed holder, uint32 indexed kind, address issuer);
        /// The holder burned their credential.
        event CredentialBurned(uint256 indexed tokenId, address indexed holder, uint32 indexed kind);
        /// ERC-5192: the token is locked (emitted once, at issue; it is never unlocked).
        event Locked(uint256 tokenId);

        /// Credentials are soul-bound: transfers and approvals of `tokenId` always fail.
        error CredentialSoulbound(uint256 tokenId);
        /// Credentials are soul-bound: operators cannot be approved.
        error CredentialSoulboundOperator(address operator);
        /// The constructor's `admin` is the zero address.
        error CredentialInvalidAdmin(address admin);
        /// A credential cannot be issued to `holder` (the zero address).
        error CredentialInvalidHolder(address holder);
        /// `kind` 0 is not a credential kind.
        error CredentialInvalidKind(uint32 kind);
        /// `expiry` is not after the block `timestamp`; use 0 for a credential that never expires.
        error CredentialInvalidExpiry(uint64 expiry, uint64 timestamp);
        /// A metadata URI must be 1 to 512 bytes long; this one is `length` bytes.
        error CredentialInvalidUri(uint256 length);
        /// `holder` already has a valid credential `tokenId` of `kind`; revoke it first.
        error CredentialAlreadyHeld(address holder, uint32 kind, uint256 tokenId);
        /// `tokenId` is already revoked.
        error CredentialAlreadyRevoked(uint256 tokenId);
        /// Only the holder of `tokenId` may burn it; `account` is not.
        error CredentialNotHolder(uint256 tokenId, address account);
        /// No fresh token id is available (the id counter is exhausted).
        error CredentialIdUnavailable();
        /// `account` is the last holder of `DEFAULT_ADMIN_ROLE`: revoking or renouncing it would leave no one to manage roles. Grant the role to a successor first.
        error CredentialLastAdmin(address account);
        /// `role` cannot be granted to `account`, the zero address: no one can act as it, and an admin role held by it would let the last real admin leave.
        error CredentialInvalidAccount(bytes32 role, address account);
        // abi:end
    }
}

/// Every way a call can fail.
///
/// Encoded by hand rather than with `#[derive(SolidityError)]`: the derive inlines alloy's
/// generic ABI encoder once per variant (~6 KB of WASM here), while every error below has
/// only static fields, i.e. a selector and one 32-byte word per field. A test checks each
/// variant against alloy's encoding.
#[derive(Debug)]
pub enum Error {
    /// A transfer or token approval of a soul-bound credential.
    Soulbound(CredentialSoulbound),
    /// An operator approval on a soul-bound collection.
    SoulboundOperator(CredentialSoulboundOperator),
    /// Zero admin in the constructor.
    InvalidAdmin(CredentialInvalidAdmin),
    /// Zero holder at issue.
    InvalidHolder(CredentialInvalidHolder),
    /// Kind 0 at issue.
    InvalidKind(CredentialInvalidKind),
    /// Expiry not in the future at issue.
    InvalidExpiry(CredentialInvalidExpiry),
    /// Empty or too long metadata URI at issue.
    InvalidUri(CredentialInvalidUri),
    /// The holder already has a valid credential of that kind.
    AlreadyHeld(CredentialAlreadyHeld),
    /// Revoking a credential twice.
    AlreadyRevoked(CredentialAlreadyRevoked),
    /// Burning someone else's credential.
    NotHolder(CredentialNotHolder),
    /// No fresh token id.
    IdUnavailable(CredentialIdUnavailable),
    /// Revoking or renouncing the last admin.
    LastAdmin(CredentialLastAdmin),
    /// Granting a role to the zero address.
    InvalidAccount(CredentialInvalidAccount),
    /// The token was never issued or has been burned (ERC-6093).
    NonexistentToken(ERC721NonexistentToken),
    /// `balanceOf(address(0))` (ERC-6093).
    InvalidOwner(ERC721InvalidOwner),
    /// The caller lacks the role the function needs.
    UnauthorizedAccount(AccessControlUnauthorizedAccount),
    /// `renounceRole` for someone other than the caller.
    BadConfirmation(AccessControlBadConfirmation),
}

/// `From<E> for Error` for each variant's error type, as the derive would write them.
macro_rules! error_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(
            impl From<$ty> for Error {
                fn from(error: $ty) -> Self {
                    Error::$variant(error)
                }
            }
        )*
    };
}

error_from!(
    Soulbound(CredentialSoulbound),
    SoulboundOperator(CredentialSoulboundOperator),
    InvalidAdmin(CredentialInvalidAdmin),
    InvalidHolder(CredentialInvalidHolder),
    InvalidKind(CredentialInvalidKind),
    InvalidExpiry(CredentialInvalidExpiry),
    InvalidUri(CredentialInvalidUri),
    AlreadyHeld(CredentialAlreadyHeld),
    AlreadyRevoked(CredentialAlreadyRevoked),
    NotHolder(CredentialNotHolder),
    IdUnavailable(CredentialIdUnavailable),
    LastAdmin(CredentialLastAdmin),
    InvalidAccount(CredentialInvalidAccount),
    NonexistentToken(ERC721NonexistentToken),
    InvalidOwner(ERC721InvalidOwner),
    UnauthorizedAccount(AccessControlUnauthorizedAccount),
    BadConfirmation(AccessControlBadConfirmation),
);

/// Revert data: the ABI encoding of the error.
impl From<Error> for Vec<u8> {
    fn from(error: Error) -> Vec<u8> {
        match error {
            Error::Soulbound(e) => revert_data(CredentialSoulbound::SELECTOR, &[e.tokenId.into()]),
            Error::SoulboundOperator(e) => revert_data(
                CredentialSoulboundOperator::SELECTOR,
                &[e.operator.into_word()],
            ),
            Error::InvalidAdmin(e) => {
                revert_data(CredentialInvalidAdmin::SELECTOR, &[e.admin.into_word()])
            }
            Error::InvalidHolder(e) => {
                revert_data(CredentialInvalidHolder::SELECTOR, &[e.holder.into_word()])
            }
            Error::InvalidKind(e) => {
                revert_data(CredentialInvalidKind::SELECTOR, &[word(e.kind.into())])
            }
            Error::InvalidExpiry(e) => revert_data(
                CredentialInvalidExpiry::SELECTOR,
                &[word(e.expiry), word(e.timestamp)],
            ),
            Error::InvalidUri(e) => revert_data(CredentialInvalidUri::SELECTOR, &[e.length.into()]),
            Error::AlreadyHeld(e) => revert_data(
                CredentialAlreadyHeld::SELECTOR,
                &[e.holder.into_word(), word(e.kind.into()), e.tokenId.into()],
            ),
            Error::AlreadyRevoked(e) => {
                revert_data(CredentialAlreadyRevoked::SELECTOR, &[e.tokenId.into()])
            }
            Error::NotHolder(e) => revert_data(
                CredentialNotHolder::SELECTOR,
                &[e.tokenId.into(), e.account.into_word()],
            ),
            Error::IdUnavailable(_) => revert_data(CredentialIdUnavailable::SELECTOR, &[]),
            Error::LastAdmin(e) => {
                revert_data(CredentialLastAdmin::SELECTOR, &[e.account.into_word()])
            }
            Error::InvalidAccount(e) => revert_data(
                CredentialInvalidAccount::SELECTOR,
                &[e.role, e.account.into_word()],
            ),
            Error::NonexistentToken(e) => {
                revert_data(ERC721NonexistentToken::SELECTOR, &[e.token_id.into()])
            }
            Error::InvalidOwner(e) => {
                revert_data(ERC721InvalidOwner::SELECTOR, &[e.owner.into_word()])
            }
            Error::UnauthorizedAccount(e) => revert_data(
                AccessControlUnauthorizedAccount::SELECTOR,
                &[e.account.into_word(), e.needed_role],
            ),
            Error::BadConfirmation(_) => revert_data(AccessControlBadConfirmation::SELECTOR, &[]),
        }
    }
}

/// The SDK's export would list the errors without parameter names; they are declared,
/// with names, in the `abi:begin` fragments instead (see [`abi`]).
#[cfg(feature = "export-abi")]
impl stylus_sdk::abi::export::internal::InnerTypes for Error {}

impl From<access_control::Error> for Error {
    fn from(e: access_control::Error) -> Self {
        match e {
            access_control::Error::UnauthorizedAccount(e) => Error::UnauthorizedAccount(e),
            access_control::Error::BadConfirmation(e) => Error::BadConfirmation(e),
        }
    }
}

/// Life of a credential as stored. Expiry is not a status: it follows from `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Never issued.
    None = 0,
    /// Issued and neither revoked nor burned (it may still have expired).
    Issued = 1,
    /// Revoked by an issuer; still held.
    Revoked = 2,
    /// Burned by its holder.
    Burned = 3,
}

impl Status {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Status::Issued,
            2 => Status::Revoked,
            3 => Status::Burned,
            _ => Status::None,
        }
    }
}

/// One credential. `kind`, `status`, `issued_at`, `expiry` and `uri_len` share one
/// storage slot; the holder is the ERC-721 owner.
///
/// The metadata URI is kept as 32-byte words rather than in a `StorageString`: the SDK's
/// string storage links U256 division and Rust's formatting machinery (~8 KB of WASM).
#[storage]
pub struct Credential {
    kind: StorageU32,
    status: StorageU8,
    issued_at: StorageU64,
    expiry: StorageU64,
    uri_len: StorageU16,
    /// Word `i` holds bytes `32 * i ..` of the URI, zero-padded.
    uri: Chunks,
}

/// The credentials contract. The deployed program routes calls with
/// [`dispatch`](Credentials::dispatch); host builds (tests, ABI export) with the SDK's
/// router.
#[cfg_attr(
    not(all(target_arch = "wasm32", not(feature = "export-abi"))),
    entrypoint
)]
#[storage]
pub struct Credentials {
    erc721: Erc721,
    access: AccessControl,
    /// Token id → its record.
    credentials: StorageMap<U256, Credential>,
    /// Holder → kind → id of the holder's current credential of that kind (0: none).
    /// Cleared when that credential is revoked or burned; replaced by a renewal.
    current: StorageMap<Address, StorageMap<u32, StorageU256>>,
    /// Last token id issued (0: none yet).
    last_id: StorageU256,
    /// How many accounts hold `DEFAULT_ADMIN_ROLE`; never brought to zero.
    admin_count: StorageU64,
}

#[public]
#[implements(IErc721<Error = Error>, IErc721Metadata<Error = Error>, IErc165, IAccessControl<Error = Error>)]
impl Credentials {
    /// Makes `admin` the holder of `DEFAULT_ADMIN_ROLE`, who grants [`ISSUER_ROLE`].
    ///
    /// # Errors
    ///
    /// * [`CredentialInvalidAdmin`] - `admin` is the zero address.
    ///
    /// # Events
    ///
    /// * `RoleGranted(DEFAULT_ADMIN_ROLE, admin, sender)`.
    #[constructor]
    pub fn constructor(&mut self, admin: Address) -> Result<(), Error> {
        if admin.is_zero() {
            return Err(CredentialInvalidAdmin { admin }.into());
        }
        self.access
            ._grant_role(AccessControl::DEFAULT_ADMIN_ROLE.into(), admin);
        self.admin_count.set(U64::from_limbs([1]));
        Ok(())
    }

    /// The role allowed to issue and revoke: `keccak256("ISSUER_ROLE")`.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    #[selector(name = "ISSUER_ROLE")]
    pub fn issuer_role(&self) -> B256 {
        ISSUER_ROLE.into()
    }

    /// Issues `holder` a locked credential of `kind`, valid until `expiry` (0: forever),
    /// whose metadata lives at `uri`. Returns the new token id.
    ///
    /// # Errors
    ///
    /// * [`AccessControlUnauthorizedAccount`] - the caller lacks [`ISSUER_ROLE`].
    /// * [`CredentialInvalidHolder`] - `holder` is the zero address.
    /// * [`CredentialInvalidKind`] - `kind` is 0.
    /// * [`CredentialInvalidExpiry`] - `expiry` is not 0 and not after `block.timestamp`.
    /// * [`CredentialInvalidUri`] - `uri` is empty or longer than [`MAX_URI_LEN`] bytes.
    /// * [`CredentialAlreadyHeld`] - `holder` has a valid credential of `kind`.
    /// * [`CredentialIdUnavailable`] - no fresh token id is left.
    ///
    /// # Events
    ///
    /// * `Transfer(address(0), holder, tokenId)`, then [`Locked`], then
    ///   [`CredentialIssued`].
    pub fn issue(
        &mut self,
        holder: Address,
        kind: u32,
        expiry: u64,
        uri: String,
    ) -> Result<U256, Error> {
        let issuer = host::sender();
        self.access._check_role(ISSUER_ROLE.into(), issuer)?;
        if holder.is_zero() {
            return Err(CredentialInvalidHolder { holder }.into());
        }
        if kind == 0 {
            return Err(CredentialInvalidKind { kind }.into());
        }
        let now = host::timestamp();
        if expired(expiry, now) {
            return Err(CredentialInvalidExpiry {
                expiry,
                timestamp: now,
            }
            .into());
        }
        if uri.is_empty() || uri.len() > MAX_URI_LEN {
            return Err(CredentialInvalidUri {
                length: U256::from(uri.len()),
            }
            .into());
        }
        let held = self.current.getter(holder).get(kind);
        if !held.is_zero() && !self.is_expired(held, now) {
            return Err(CredentialAlreadyHeld {
                holder,
                kind,
                tokenId: held,
            }
            .into());
        }

        let token_id = self
            .last_id
            .get()
            .checked_add(U256::from(1))
            .ok_or(CredentialIdUnavailable {})?;
        self.last_id.set(token_id);
        let mut credential = self.credentials.setter(token_id);
        credential.kind.set(U32::from(kind));
        credential.status.set(U8::from(Status::Issued as u8));
        credential.issued_at.set(U64::from(now));
        credential.expiry.set(U64::from(expiry));
        credential.set_uri(uri.as_bytes());
        self.current.setter(holder).setter(kind).set(token_id);
        // `holder` is not zero (checked above), so `_mint` can only fail on a taken id,
        // which a counter that only grows never hands out.
        self.erc721
            ._mint(holder, token_id)
            .map_err(|_| CredentialIdUnavailable {})?;

        emit::locked(token_id);
        emit::issued(token_id, holder, kind, expiry, &uri, issuer);
        Ok(token_id)
    }

    /// Revokes credential `token_id`: it no longer counts in [`Self::has_valid`], but
    /// stays with its holder, marked revoked.
    ///
    /// # Errors
    ///
    /// * [`AccessControlUnauthorizedAccount`] - the caller lacks [`ISSUER_ROLE`].
    /// * [`ERC721NonexistentToken`] - `token_id` was never issued or is burned.
    /// * [`CredentialAlreadyRevoked`] - `token_id` is already revoked.
    ///
    /// # Events
    ///
    /// * [`CredentialRevoked`].
    pub fn revoke(&mut self, token_id: U256) -> Result<(), Error> {
        let issuer = host::sender();
        self.access._check_role(ISSUER_ROLE.into(), issuer)?;
        let holder = self.require_owned(token_id)?;
        let credential = self.credentials.getter(token_id);
        if credential.status() == Status::Revoked {
            return Err(CredentialAlreadyRevoked { tokenId: token_id }.into());
        }
        let kind = credential.kind();

        self.credentials
            .setter(token_id)
            .status
            .set(U8::from(Status::Revoked as u8));
        self.clear_current(holder, kind, token_id);

        emit::revoked(token_id, holder, kind, issuer);
        Ok(())
    }

    /// Burns the caller's credential `token_id` (revoked or not). The record stays,
    /// marked burned; the token no longer exists for ERC-721.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never issued or is burned.
    /// * [`CredentialNotHolder`] - the caller does not hold `token_id`.
    ///
    /// # Events
    ///
    /// * `Transfer(holder, address(0), tokenId)`, then [`CredentialBurned`].
    pub fn burn(&mut self, token_id: U256) -> Result<(), Error> {
        let holder = self.require_owned(token_id)?;
        let account = host::sender();
        if account != holder {
            return Err(CredentialNotHolder {
                tokenId: token_id,
                account,
            }
            .into());
        }
        let kind = self.credentials.getter(token_id).kind();

        self.credentials
            .setter(token_id)
            .status
            .set(U8::from(Status::Burned as u8));
        self.clear_current(holder, kind, token_id);
        // The token exists (checked above): `_burn` cannot fail.
        self.erc721
            ._burn(token_id)
            .map_err(|_| ERC721NonexistentToken { token_id })?;

        emit::burned(token_id, holder, kind);
        Ok(())
    }

    /// Credential `token_id` as `(holder, kind, issuedAt, expiry, status, valid)`.
    /// `holder` is the zero address once burned; `status` is 1 issued, 2 revoked,
    /// 3 burned; `valid` is what [`Self::has_valid`] says for this token.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never issued.
    ///
    /// # Events
    ///
    /// None.
    #[allow(clippy::type_complexity)]
    pub fn credential(&self, token_id: U256) -> Result<(Address, u32, u64, u64, u8, bool), Error> {
        let credential = self.credentials.getter(token_id);
        let status = credential.status();
        if status == Status::None {
            return Err(ERC721NonexistentToken { token_id }.into());
        }
        let expiry = credential.expiry();
        let valid = status == Status::Issued && !expired(expiry, host::timestamp());
        Ok((
            self.erc721._owner_of(token_id),
            credential.kind(),
            credential.issued_at(),
            expiry,
            status as u8,
            valid,
        ))
    }

    /// Whether `holder` has a valid credential of `kind`: issued, neither revoked nor
    /// burned, and `expiry` 0 or after `block.timestamp`. Kind 0 is never valid.
    ///
    /// Solidity: `hasValid(address holder, uint32 kind) returns (bool)`; the escrow calls
    /// it by this selector.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn has_valid(&self, holder: Address, kind: u32) -> bool {
        let token_id = self.current.getter(holder).get(kind);
        !token_id.is_zero() && !self.is_expired(token_id, host::timestamp())
    }

    /// Id of `holder`'s current credential of `kind`, 0 if none: the latest one issued
    /// that is neither revoked nor burned. It may have expired; see [`Self::has_valid`].
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    pub fn credential_of(&self, holder: Address, kind: u32) -> U256 {
        self.current.getter(holder).get(kind)
    }

    /// ERC-5192: every credential is locked.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never issued or is burned.
    ///
    /// # Events
    ///
    /// None.
    pub fn locked(&self, token_id: U256) -> Result<bool, Error> {
        self.require_owned(token_id)?;
        Ok(true)
    }
}

#[public]
impl IErc721 for Credentials {
    type Error = Error;

    /// Number of credentials `owner` holds (revoked ones included).
    ///
    /// # Errors
    ///
    /// * [`ERC721InvalidOwner`] - `owner` is the zero address.
    ///
    /// # Events
    ///
    /// None.
    fn balance_of(&self, owner: Address) -> Result<U256, Error> {
        // `Erc721::balance_of` fails only for the zero owner.
        self.erc721
            .balance_of(owner)
            .map_err(|_| ERC721InvalidOwner { owner }.into())
    }

    /// Holder of `token_id`.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never issued or is burned.
    ///
    /// # Events
    ///
    /// None.
    fn owner_of(&self, token_id: U256) -> Result<Address, Error> {
        self.require_owned(token_id)
    }

    /// Always fails: credentials are soul-bound.
    ///
    /// # Errors
    ///
    /// * [`CredentialSoulbound`] - always.
    ///
    /// # Events
    ///
    /// None.
    fn safe_transfer_from(
        &mut self,
        _from: Address,
        _to: Address,
        token_id: U256,
    ) -> Result<(), Error> {
        Err(CredentialSoulbound { tokenId: token_id }.into())
    }

    /// Always fails: credentials are soul-bound.
    ///
    /// # Errors
    ///
    /// * [`CredentialSoulbound`] - always.
    ///
    /// # Events
    ///
    /// None.
    #[selector(name = "safeTransferFrom")]
    fn safe_transfer_from_with_data(
        &mut self,
        _from: Address,
        _to: Address,
        token_id: U256,
        _data: Bytes,
    ) -> Result<(), Error> {
        Err(CredentialSoulbound { tokenId: token_id }.into())
    }

    /// Always fails: credentials are soul-bound.
    ///
    /// # Errors
    ///
    /// * [`CredentialSoulbound`] - always.
    ///
    /// # Events
    ///
    /// None.
    fn transfer_from(&mut self, _from: Address, _to: Address, token_id: U256) -> Result<(), Error> {
        Err(CredentialSoulbound { tokenId: token_id }.into())
    }

    /// Always fails: credentials are soul-bound.
    ///
    /// # Errors
    ///
    /// * [`CredentialSoulbound`] - always.
    ///
    /// # Events
    ///
    /// None.
    fn approve(&mut self, _to: Address, token_id: U256) -> Result<(), Error> {
        Err(CredentialSoulbound { tokenId: token_id }.into())
    }

    /// Always fails: credentials are soul-bound.
    ///
    /// # Errors
    ///
    /// * [`CredentialSoulboundOperator`] - always.
    ///
    /// # Events
    ///
    /// None.
    fn set_approval_for_all(&mut self, operator: Address, _approved: bool) -> Result<(), Error> {
        Err(CredentialSoulboundOperator { operator }.into())
    }

    /// Always the zero address: nobody can be approved.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never issued or is burned.
    ///
    /// # Events
    ///
    /// None.
    fn get_approved(&self, token_id: U256) -> Result<Address, Error> {
        self.require_owned(token_id)?;
        Ok(Address::ZERO)
    }

    /// Always false: nobody can be an operator.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    fn is_approved_for_all(&self, _owner: Address, _operator: Address) -> bool {
        false
    }
}

#[public]
impl IErc721Metadata for Credentials {
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

    /// The metadata URI given at issue.
    ///
    /// # Errors
    ///
    /// * [`ERC721NonexistentToken`] - `token_id` was never issued or is burned.
    ///
    /// # Events
    ///
    /// None.
    #[selector(name = "tokenURI")]
    fn token_uri(&self, token_id: U256) -> Result<String, Error> {
        self.require_owned(token_id)?;
        Ok(self.credentials.getter(token_id).uri())
    }
}

#[public]
impl IErc165 for Credentials {
    /// True for ERC-165, ERC-721, ERC-721 Metadata and ERC-5192.
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

#[public]
impl IAccessControl for Credentials {
    type Error = Error;

    /// Whether `account` has `role`.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    fn has_role(&self, role: B256, account: Address) -> bool {
        self.access.has_role(role, account)
    }

    /// Succeeds only if the caller has `role`.
    ///
    /// # Errors
    ///
    /// * [`AccessControlUnauthorizedAccount`] - the caller lacks `role`.
    ///
    /// # Events
    ///
    /// None.
    fn only_role(&self, role: B256) -> Result<(), Error> {
        Ok(self.access.only_role(role)?)
    }

    /// The role that grants and revokes `role`: `DEFAULT_ADMIN_ROLE` (zero) for all.
    ///
    /// # Errors
    ///
    /// None.
    ///
    /// # Events
    ///
    /// None.
    fn get_role_admin(&self, role: B256) -> B256 {
        self.access.get_role_admin(role)
    }

    /// Grants `role` to `account` (a no-op if it has it). Never to the zero address:
    /// it would count as an admin that nobody controls, and the last real admin could
    /// then leave.
    ///
    /// # Errors
    ///
    /// * [`AccessControlUnauthorizedAccount`] - the caller lacks `role`'s admin role.
    /// * [`CredentialInvalidAccount`] - `account` is the zero address.
    ///
    /// # Events
    ///
    /// * `RoleGranted(role, account, sender)`, unless `account` already had `role`.
    fn grant_role(&mut self, role: B256, account: Address) -> Result<(), Error> {
        self.access.only_role(self.access.get_role_admin(role))?;
        if account.is_zero() {
            return Err(CredentialInvalidAccount { role, account }.into());
        }
        if self.access._grant_role(role, account) && role == DEFAULT_ADMIN_ROLE {
            // SAFETY: one per distinct account holding the role; far below 2^64.
            let count = self.admin_count.get().as_limbs()[0] + 1;
            self.admin_count.set(U64::from_limbs([count]));
        }
        Ok(())
    }

    /// Revokes `role` from `account` (a no-op if it lacks it). The last holder of
    /// `DEFAULT_ADMIN_ROLE` keeps it.
    ///
    /// # Errors
    ///
    /// * [`AccessControlUnauthorizedAccount`] - the caller lacks `role`'s admin role.
    /// * [`CredentialLastAdmin`] - `account` is the last admin.
    ///
    /// # Events
    ///
    /// * `RoleRevoked(role, account, sender)`, unless `account` lacked `role`.
    fn revoke_role(&mut self, role: B256, account: Address) -> Result<(), Error> {
        self.access.only_role(self.access.get_role_admin(role))?;
        self.take_role(role, account)
    }

    /// Gives up the caller's `role`; `confirmation` must be the caller. The last holder
    /// of `DEFAULT_ADMIN_ROLE` cannot give it up.
    ///
    /// # Errors
    ///
    /// * [`AccessControlBadConfirmation`] - `confirmation` is not the caller.
    /// * [`CredentialLastAdmin`] - the caller is the last admin.
    ///
    /// # Events
    ///
    /// * `RoleRevoked(role, caller, caller)`, unless the caller lacked `role`.
    fn renounce_role(&mut self, role: B256, confirmation: Address) -> Result<(), Error> {
        if host::sender() != confirmation {
            return Err(AccessControlBadConfirmation {}.into());
        }
        self.take_role(role, confirmation)
    }
}

/// `DEFAULT_ADMIN_ROLE` (zero), the role that grants and revokes every role.
const DEFAULT_ADMIN_ROLE: B256 = B256::ZERO;

impl Credentials {
    /// Takes `role` from `account` (already authorized), keeping at least one admin.
    fn take_role(&mut self, role: B256, account: Address) -> Result<(), Error> {
        if role == DEFAULT_ADMIN_ROLE && self.access.has_role(role, account) {
            let count = self.admin_count.get().as_limbs()[0];
            if count <= 1 {
                return Err(CredentialLastAdmin { account }.into());
            }
            self.admin_count.set(U64::from_limbs([count - 1]));
        }
        self.access._revoke_role(role, account);
        Ok(())
    }

    /// The holder of `token_id`, or [`ERC721NonexistentToken`].
    fn require_owned(&self, token_id: U256) -> Result<Address, Error> {
        let holder = self.erc721._owner_of(token_id);
        if holder.is_zero() {
            return Err(ERC721NonexistentToken { token_id }.into());
        }
        Ok(holder)
    }

    /// Whether credential `token_id` has expired at `now`.
    fn is_expired(&self, token_id: U256, now: u64) -> bool {
        expired(self.credentials.getter(token_id).expiry(), now)
    }

    /// Forgets `token_id` as `holder`'s current credential of `kind`, if it is.
    fn clear_current(&mut self, holder: Address, kind: u32, token_id: U256) {
        let mut current = self.current.setter(holder);
        let mut slot = current.setter(kind);
        if slot.get() == token_id {
            slot.set(U256::ZERO);
        }
    }
}

// The fields are as wide as the values they hold, so `saturating_to` never saturates; it
// is used over `to` because `to`'s panic path links Rust's formatting machinery (~5 KB).
impl Credential {
    fn kind(&self) -> u32 {
        self.kind.get().saturating_to()
    }

    fn status(&self) -> Status {
        Status::from_u8(self.status.get().saturating_to())
    }

    fn issued_at(&self) -> u64 {
        self.issued_at.get().saturating_to()
    }

    fn expiry(&self) -> u64 {
        self.expiry.get().saturating_to()
    }

    /// Stores `uri`, at most [`MAX_URI_LEN`] bytes (checked by the caller).
    fn set_uri(&mut self, uri: &[u8]) {
        // SAFETY (casts): `uri.len() <= MAX_URI_LEN`, so the length fits in 16 bits and
        // the word index in 32.
        self.uri_len.set(U16::from(uri.len() as u16));
        write_chunks(&mut self.uri, uri);
    }

    /// The stored URI.
    fn uri(&self) -> String {
        let bytes = read_chunks::<0>(&self.uri, self.uri_len.get().saturating_to());
        // The bytes were written from a `String` by `set_uri`, so they are UTF-8.
        // `from_utf8_lossy` is linked anyway (the ABI decoder uses it for `string`).
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Host access through the SDK's free functions. The SDK deprecates them in favour of
/// `self.vm()`, but that returns a `dyn Host` whose vtable links every host import and
/// its glue (several KB of WASM); OpenZeppelin 0.3 uses the free functions anyway.
#[allow(deprecated)]
mod host {
    use alloc::vec::Vec;

    use alloy_primitives::{Address, B256};

    /// `msg.sender`.
    pub(crate) fn sender() -> Address {
        stylus_sdk::msg::sender()
    }

    /// `block.timestamp`.
    pub(crate) fn timestamp() -> u64 {
        stylus_sdk::block::timestamp()
    }

    /// Emits a log of this contract's own events, encoded by hand: alloy's typed
    /// `evm::log` costs about 1 KB of WASM per event type. `topics` starts with the
    /// event's signature hash; the data is the `head` words, then `tail` zero-padded to
    /// a whole word. The tests check every event against alloy's encoding.
    pub(crate) fn log(topics: &[B256], head: &[B256], tail: &[u8]) {
        let mut data = Vec::with_capacity(32 * head.len() + tail.len().div_ceil(32) * 32);
        for word in head {
            data.extend_from_slice(word.as_slice());
        }
        data.extend_from_slice(tail);
        data.resize(data.len().div_ceil(32) * 32, 0);
        // `raw_log` fails only with more than four topics; no event here has more.
        let _ = stylus_sdk::evm::raw_log(topics, &data);
    }
}

/// This contract's own events, encoded by hand (see [`host::log`]). The tests compare
/// every emitted log with alloy's encoding of the typed event.
mod emit {
    use alloy_primitives::{Address, U256};
    use alloy_sol_types::SolEvent;

    use super::{host, word, CredentialBurned, CredentialIssued, CredentialRevoked, Locked};

    /// [`Locked`]`(tokenId)`.
    pub(crate) fn locked(token_id: U256) {
        host::log(&[Locked::SIGNATURE_HASH], &[token_id.into()], &[]);
    }

    /// [`CredentialIssued`]: the data is `(uint64 expiry, string uri, address issuer)`,
    /// so the head holds the string's offset (three words) and the tail its length and
    /// bytes.
    pub(crate) fn issued(
        token_id: U256,
        holder: Address,
        kind: u32,
        expiry: u64,
        uri: &str,
        issuer: Address,
    ) {
        host::log(
            &[
                CredentialIssued::SIGNATURE_HASH,
                token_id.into(),
                holder.into_word(),
                word(kind.into()),
            ],
            // SAFETY (cast): `uri` is at most `MAX_URI_LEN` bytes.
            &[
                word(expiry),
                word(3 * 32),
                issuer.into_word(),
                word(uri.len() as u64),
            ],
            uri.as_bytes(),
        );
    }

    /// [`CredentialRevoked`].
    pub(crate) fn revoked(token_id: U256, holder: Address, kind: u32, issuer: Address) {
        host::log(
            &[
                CredentialRevoked::SIGNATURE_HASH,
                token_id.into(),
                holder.into_word(),
                word(kind.into()),
            ],
            &[issuer.into_word()],
            &[],
        );
    }

    /// [`CredentialBurned`].
    pub(crate) fn burned(token_id: U256, holder: Address, kind: u32) {
        host::log(
            &[
                CredentialBurned::SIGNATURE_HASH,
                token_id.into(),
                holder.into_word(),
                word(kind.into()),
            ],
            &[],
            &[],
        );
    }
}

/// ABI encoding of an error with static fields: `selector`, then one word per field.
#[inline(never)]
fn revert_data(selector: [u8; 4], words: &[B256]) -> Vec<u8> {
    let mut data = Vec::with_capacity(4 + 32 * words.len());
    data.extend_from_slice(&selector);
    for word in words {
        data.extend_from_slice(word.as_slice());
    }
    data
}

/// A `uint32` or `uint64` as one ABI word.
#[inline(never)]
fn word(value: u64) -> B256 {
    B256::from(U256::from(value))
}

/// A credential with `expiry` is expired at `now` unless `expiry` is 0 (never) or later
/// than `now`.
const fn expired(expiry: u64, now: u64) -> bool {
    expiry != 0 && expiry <= now
}

#[cfg(test)]
mod tests;

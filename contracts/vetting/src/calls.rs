//! Vetting's external calls: the rating registry's `aggregates`, and the credentials
//! contract's views, `issue` and `revoke`. Call data is encoded and answers decoded by hand
//! ([`minuto_wire`]): a few fixed layouts, where a generic codec would be kilobytes.

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
#[allow(deprecated)]
use stylus_sdk::call::RawCall;
use stylus_sdk::function_selector;

use minuto_wire::{address_at, calldata, static_call, u64_at, Word};

/// `aggregates(address)` on the rating registry.
const AGGREGATES: [u8; 4] = function_selector!("aggregates", Address);
/// `hasValid(address,uint32)` on the credentials contract.
const HAS_VALID: [u8; 4] = function_selector!("hasValid", Address, u32);
/// `credentialOf(address,uint32)`.
const CREDENTIAL_OF: [u8; 4] = function_selector!("credentialOf", Address, u32);
/// `credential(uint256)`.
const CREDENTIAL: [u8; 4] = function_selector!("credential", U256);
/// `issue(address,uint32,uint64,string)`.
const ISSUE: [u8; 4] = function_selector!("issue", Address, u32, u64, alloc::string::String);
/// `revoke(uint256)`.
const REVOKE: [u8; 4] = function_selector!("revoke", U256);

/// The credentials contract's status of a credential in force (neither revoked nor
/// burned; it may have expired).
pub(crate) const ISSUED: u8 = 1;

/// `(count, sum)` of the ratings `tutor` received as a tutor; `None` if the registry did
/// not answer four words.
pub(crate) fn tutor_ratings(ratings: Address, tutor: Address) -> Option<(u64, u64)> {
    let out = static_call(ratings, &calldata(AGGREGATES, &[tutor.word()]), 4 * 32)?;
    Some((u64_at(&out, 0), u64_at(&out, 1)))
}

/// `credentials.hasValid(holder, kind)`; `None` if it did not answer a bool.
pub(crate) fn has_valid(credentials: Address, holder: Address, kind: u32) -> Option<bool> {
    let out = static_call(
        credentials,
        &calldata(HAS_VALID, &[holder.word(), kind.word()]),
        32,
    )?;
    Some(u64_at(&out, 0) != 0)
}

/// `credentials.credentialOf(holder, kind)`.
pub(crate) fn credential_of(credentials: Address, holder: Address, kind: u32) -> Option<U256> {
    let out = static_call(
        credentials,
        &calldata(CREDENTIAL_OF, &[holder.word(), kind.word()]),
        32,
    )?;
    word_at(&out)
}

/// What `credentials.credential(tokenId)` said.
pub(crate) enum Lookup {
    /// `(holder, kind, status)`.
    Found((Address, u32, u8)),
    /// It reverted: never issued (`ERC721NonexistentToken`).
    Missing,
    /// Anything else: an answer of the wrong length.
    Failed,
}

/// `credentials.credential(tokenId)`: `(holder, kind, issuedAt, expiry, status, valid)`.
#[allow(deprecated)]
pub(crate) fn credential(credentials: Address, token_id: U256) -> Lookup {
    let data = calldata(CREDENTIAL, &[token_id.word()]);
    // SAFETY: a static call cannot change state.
    match unsafe { RawCall::new_static().call(credentials, &data) } {
        Ok(out) if out.len() == 6 * 32 => Lookup::Found((
            address_at(&out, 0),
            u64_at(&out, 1) as u32,
            u64_at(&out, 4) as u8,
        )),
        Ok(_) => Lookup::Failed,
        Err(_) => Lookup::Missing,
    }
}

/// `credentials.issue(holder, kind, expiry, uri)`: the new token id, `None` if it
/// reverted.
pub(crate) fn issue(
    credentials: Address,
    holder: Address,
    kind: u32,
    expiry: u64,
    uri: &str,
) -> Option<U256> {
    // Head: three static words and the string's offset (four words); then its length
    // and its bytes, zero-padded.
    let mut data = calldata(
        ISSUE,
        &[
            holder.word(),
            kind.word(),
            expiry.word(),
            (4u64 * 32).word(),
            (uri.len() as u64).word(),
        ],
    );
    data.extend_from_slice(uri.as_bytes());
    data.resize(4 + (data.len() - 4).div_ceil(32) * 32, 0);
    word_at(&call(credentials, &data)?)
}

/// `credentials.revoke(tokenId)`; `None` if it reverted.
pub(crate) fn revoke(credentials: Address, token_id: U256) -> Option<()> {
    call(credentials, &calldata(REVOKE, &[token_id.word()])).map(|_| ())
}

/// A state-changing call; its return data, `None` if it reverted.
#[allow(deprecated)]
fn call(to: Address, data: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: the storage cache is flushed first, so the callee sees this contract's
    // committed state (the application already closed); Stylus rejects re-entry.
    unsafe { RawCall::new().flush_storage_cache().call(to, data) }.ok()
}

/// A single word answer as a `uint256`.
fn word_at(out: &[u8]) -> Option<U256> {
    let word: [u8; 32] = out.try_into().ok()?;
    Some(U256::from_be_bytes(word))
}

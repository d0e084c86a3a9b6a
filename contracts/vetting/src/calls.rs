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
/// The credentials contract's revert for a token never issued:
/// `ERC721NonexistentToken(uint256)` (an error selector hashes like a function's).
const NONEXISTENT: [u8; 4] = function_selector!("ERC721NonexistentToken", U256);
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
    /// `(holder, kind, status, valid)`.
    Found((Address, u32, u8, bool)),
    /// It reverted with `ERC721NonexistentToken`: never issued.
    Missing,
    /// Anything else: another revert, or an answer of the wrong length.
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
            u64_at(&out, 5) != 0,
        )),
        Err(revert) if revert.starts_with(&NONEXISTENT) => Lookup::Missing,
        _ => Lookup::Failed,
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
    word_at(&call(
        credentials,
        &issue_calldata(holder, kind, expiry, uri),
    )?)
}

/// The call data of `issue(holder, kind, expiry, uri)`: three static words and the
/// string's offset (the head, four words), then its length and its bytes, zero-padded.
fn issue_calldata(holder: Address, kind: u32, expiry: u64, uri: &str) -> Vec<u8> {
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
    data
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use alloy_sol_types::SolError;

    #[test]
    fn issue_calldata_encodes_as_alloy_does() {
        alloy_sol_types::sol! {
            function issue(address holder, uint32 kind, uint64 expiry, string uri);
        }
        let holder = Address::repeat_byte(7);
        for uri in ["", "a", &"x".repeat(32), &"y".repeat(33), &"z".repeat(512)] {
            let expected = alloy_sol_types::SolCall::abi_encode(&issueCall {
                holder,
                kind: u32::MAX,
                expiry: u64::MAX,
                uri: uri.into(),
            });
            assert_eq!(issue_calldata(holder, u32::MAX, u64::MAX, uri), expected);
        }
    }

    #[test]
    fn selectors_match_their_signatures() {
        assert_eq!(keccak256("aggregates(address)")[..4], AGGREGATES);
        assert_eq!(keccak256("hasValid(address,uint32)")[..4], HAS_VALID);
        assert_eq!(
            keccak256("credentialOf(address,uint32)")[..4],
            CREDENTIAL_OF
        );
        assert_eq!(keccak256("credential(uint256)")[..4], CREDENTIAL);
        assert_eq!(keccak256("issue(address,uint32,uint64,string)")[..4], ISSUE);
        assert_eq!(keccak256("revoke(uint256)")[..4], REVOKE);
        assert_eq!(
            openzeppelin_stylus::token::erc721::ERC721NonexistentToken::SELECTOR,
            NONEXISTENT
        );
    }
}

//! The booking contract's external calls: ERC-20 transfers, approvals and balances, and
//! the escrow's `tokenAllowed`, `openFor`, `cancel` and views (`session`, `config`,
//! `booking`). Call data is encoded by hand
//! ([`minuto_wire`]): a few fixed layouts, where a generic codec would be kilobytes.

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
#[allow(deprecated)]
use stylus_sdk::call::RawCall;
use stylus_sdk::function_selector;

use minuto_wire::{calldata, returned_true, static_call, Word};

const TRANSFER: [u8; 4] = function_selector!("transfer", Address, U256);
const TRANSFER_FROM: [u8; 4] = function_selector!("transferFrom", Address, Address, U256);
const APPROVE: [u8; 4] = function_selector!("approve", Address, U256);
const BALANCE_OF: [u8; 4] = function_selector!("balanceOf", Address);
const TOKEN_ALLOWED: [u8; 4] = function_selector!("tokenAllowed", Address);
const OPEN_FOR: [u8; 4] =
    function_selector!("openFor", Address, Address, Address, U256, U256, Address, u32, u32, u16);
const CANCEL: [u8; 4] = function_selector!("cancel", U256);
const SESSION: [u8; 4] = function_selector!("session", U256);
const ENDED_BY_TUTOR: [u8; 4] = function_selector!("endedByTutor", U256);
const CONFIG: [u8; 4] = function_selector!("config");
const BOOKING: [u8; 4] = function_selector!("booking");
const HAS_VALID: [u8; 4] = function_selector!("hasValid", Address, u32);

/// The escrow's state of a cancelled session.
pub(crate) const SESSION_CANCELLED: u8 = 4;

/// A state-changing call: its return data, or the callee's revert data.
#[allow(deprecated)]
fn call(to: Address, data: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    // SAFETY: a plain call; the storage cache is flushed first so the callee (and anything
    // it calls) sees this contract's committed state, which every caller here has already
    // moved on (state before the external call); Stylus rejects re-entry.
    unsafe { RawCall::new().flush_storage_cache().call(to, data) }
}

/// An ERC-20 call with SafeERC20's reading: it must succeed and return nothing (USDT-style
/// tokens) or `true`.
fn erc20(token: Address, data: &[u8]) -> bool {
    matches!(call(token, data), Ok(ref ret) if returned_true(ret, true))
}

/// `token.transfer(to, amount)`; whether it succeeded.
pub(crate) fn transfer(token: Address, to: Address, amount: U256) -> bool {
    erc20(token, &calldata(TRANSFER, &[to.word(), amount.word()]))
}

/// `token.transferFrom(from, to, amount)`; whether it succeeded.
pub(crate) fn transfer_from(token: Address, from: Address, to: Address, amount: U256) -> bool {
    erc20(
        token,
        &calldata(TRANSFER_FROM, &[from.word(), to.word(), amount.word()]),
    )
}

/// `token.approve(spender, amount)`; whether it succeeded.
pub(crate) fn approve(token: Address, spender: Address, amount: U256) -> bool {
    erc20(token, &calldata(APPROVE, &[spender.word(), amount.word()]))
}

/// `token.balanceOf(account)`; zero if the call fails or answers something else (the
/// caller then sees a balance that did not grow).
pub(crate) fn balance_of(token: Address, account: Address) -> U256 {
    match static_call(token, &calldata(BALANCE_OF, &[account.word()]), 32)
        .and_then(|out| <[u8; 32]>::try_from(out.as_slice()).ok())
    {
        Some(out) => U256::from_be_bytes(out),
        None => U256::ZERO,
    }
}

/// `escrow.tokenAllowed(token)`; a failing or malformed answer counts as `false`.
pub(crate) fn token_allowed(escrow: Address, token: Address) -> bool {
    let data = calldata(TOKEN_ALLOWED, &[token.word()]);
    matches!(static_call(escrow, &data, 32), Some(ref ret) if returned_true(ret, false))
}

/// `escrow.openFor(...)`: the new session id, or the escrow's revert data.
#[allow(clippy::too_many_arguments)]
pub(crate) fn open_for(
    escrow: Address,
    student: Address,
    tutor: Address,
    token: Address,
    rate: U256,
    deposit: U256,
    student_key: Address,
    credential_kind: u32,
    min_start_window: u32,
    min_billed: u16,
) -> Result<U256, Vec<u8>> {
    let data = calldata(
        OPEN_FOR,
        &[
            student.word(),
            tutor.word(),
            token.word(),
            rate.word(),
            deposit.word(),
            student_key.word(),
            credential_kind.word(),
            min_start_window.word(),
            min_billed.word(),
        ],
    );
    let out = call(escrow, &data)?;
    // The escrow answers one word; anything else is no session this contract can track.
    let out: [u8; 32] = out.as_slice().try_into().map_err(|_| Vec::new())?;
    Ok(U256::from_be_bytes(out))
}

/// `escrow.cancel(id)`: `Err` holds the escrow's revert data.
pub(crate) fn cancel(escrow: Address, id: U256) -> Result<(), Vec<u8>> {
    call(escrow, &calldata(CANCEL, &[id.word()])).map(|_| ())
}

/// A view of the escrow: its return data if the call succeeded and answered at least
/// `words` words. Only the words a caller needs are read, by their offset: a later escrow
/// that returns more (a field added at the end) is read the same.
fn escrow_view(escrow: Address, data: &[u8], words: usize) -> Option<Vec<u8>> {
    // SAFETY: a static call cannot change state, here or anywhere it reaches.
    #[allow(deprecated)]
    let out = unsafe { RawCall::new_static().call(escrow, data) }.ok()?;
    (out.len() >= words * 32).then_some(out)
}

/// The state of escrow session `id` (word 10 of `session(id)`); `None` if the escrow did
/// not answer (an unknown session reverts).
pub(crate) fn session_state(escrow: Address, id: U256) -> Option<u8> {
    let out = escrow_view(escrow, &calldata(SESSION, &[id.word()]), 11)?;
    Some(minuto_wire::u64_at(&out, 10) as u8)
}

/// How long escrow session `id` was held (`end − start`, words 7 and 6 of `session(id)`)
/// if its tutor ended it while its deposit still ran (`endedByTutor(id)`); `None`
/// otherwise, or if the escrow did not answer.
pub(crate) fn held_if_tutor_ended(escrow: Address, id: U256) -> Option<u64> {
    let data = calldata(ENDED_BY_TUTOR, &[id.word()]);
    if !matches!(static_call(escrow, &data, 32), Some(ref ret) if returned_true(ret, false)) {
        return None;
    }
    let out = escrow_view(escrow, &calldata(SESSION, &[id.word()]), 11)?;
    Some(minuto_wire::u64_at(&out, 7).saturating_sub(minuto_wire::u64_at(&out, 6)))
}

/// The credentials contract the escrow checks gated sessions against (word 3 of the
/// escrow's `config()`); `None` if the escrow did not answer.
pub(crate) fn credentials(escrow: Address) -> Option<Address> {
    let out = escrow_view(escrow, &calldata(CONFIG, &[]), 4)?;
    Some(minuto_wire::address_at(&out, 3))
}

/// Whether the escrow pauses new money (word 7 of its `config()`); `None` if it did not
/// answer.
pub(crate) fn paused(escrow: Address) -> Option<bool> {
    let out = escrow_view(escrow, &calldata(CONFIG, &[]), 8)?;
    Some(minuto_wire::u64_at(&out, 7) != 0)
}

/// The booking contract the escrow takes `openFor` from (its `booking()`); `None` if it
/// did not answer.
pub(crate) fn registered_booking(escrow: Address) -> Option<Address> {
    let out = escrow_view(escrow, &calldata(BOOKING, &[]), 1)?;
    Some(minuto_wire::address_at(&out, 0))
}

/// `credentials.hasValid(holder, kind)`; a failing or malformed answer counts as `false`.
pub(crate) fn has_valid(credentials: Address, holder: Address, kind: u32) -> bool {
    let data = calldata(HAS_VALID, &[holder.word(), kind.word()]);
    matches!(static_call(credentials, &data, 32), Some(ref ret) if returned_true(ret, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn selectors_match_their_signatures() {
        for (signature, selector) in [
            ("transfer(address,uint256)", TRANSFER),
            ("transferFrom(address,address,uint256)", TRANSFER_FROM),
            ("approve(address,uint256)", APPROVE),
            ("balanceOf(address)", BALANCE_OF),
            ("tokenAllowed(address)", TOKEN_ALLOWED),
            (
                "openFor(address,address,address,uint256,uint256,address,uint32,uint32,uint16)",
                OPEN_FOR,
            ),
            ("cancel(uint256)", CANCEL),
            ("session(uint256)", SESSION),
            ("endedByTutor(uint256)", ENDED_BY_TUTOR),
            ("config()", CONFIG),
            ("booking()", BOOKING),
            ("hasValid(address,uint32)", HAS_VALID),
        ] {
            assert_eq!(keccak256(signature)[..4], selector, "{signature}");
        }
    }
}

//! The deployed program's call router, written out by hand (as the escrow's): the SDK's
//! `#[public]` router instantiates alloy's generic codec per signature, kilobytes of
//! WASM. `#[public]` stays for the ABI export and the host tests' VM; the tests send
//! every function of `abi/IBadges.sol` through [`Badges::dispatch`] with alloy's encoding.

use alloc::vec::Vec;
use alloy_primitives::{aliases::B32, Address, U256};
use minuto_wire::{
    router::{dispatch, out, out_bytes, Args, ACCEPT_ADMIN, PENDING_ADMIN, TRANSFER_ADMIN},
    selector, Word,
};
use openzeppelin_stylus::{
    token::erc721::{extensions::IErc721Metadata, IErc721},
    utils::introspection::erc165::IErc165,
};
use stylus_sdk::{abi::Bytes, stylus_core::host::ConstructorGuard};

use crate::{Badges, Error};

const CONSTRUCTOR: u32 = stylus_sdk::abi::CONSTRUCTOR_SELECTOR;
const CLAIM: u32 = selector!("claim", U256);
const BADGE: u32 = selector!("badge", U256);
const CLAIMED: u32 = selector!("claimed", U256);
const MIN_BILLED: u32 = selector!("minBilled", Address);
const SET_MIN_BILLED: u32 = selector!("setMinBilled", Address, u128);
const CONFIG: u32 = selector!("config");
const SET_MIN_DURATION: u32 = selector!("setMinDuration", u64);
const BALANCE_OF: u32 = selector!("balanceOf", Address);
const OWNER_OF: u32 = selector!("ownerOf", U256);
const SAFE_TRANSFER_FROM_DATA: u32 = selector!("safeTransferFrom", Address, Address, U256, Bytes);
const SAFE_TRANSFER_FROM: u32 = selector!("safeTransferFrom", Address, Address, U256);
const TRANSFER_FROM: u32 = selector!("transferFrom", Address, Address, U256);
const APPROVE: u32 = selector!("approve", Address, U256);
const SET_APPROVAL_FOR_ALL: u32 = selector!("setApprovalForAll", Address, bool);
const GET_APPROVED: u32 = selector!("getApproved", U256);
const IS_APPROVED_FOR_ALL: u32 = selector!("isApprovedForAll", Address, Address);
const NAME: u32 = selector!("name");
const SYMBOL: u32 = selector!("symbol");
const TOKEN_URI: u32 = selector!("tokenURI", U256);
const SUPPORTS_INTERFACE: u32 = selector!("supportsInterface", B32);

impl Badges {
    /// Runs the call `input` (selector and ABI-encoded arguments) as the deployed program
    /// does: its result's ABI encoding, or the revert data (a typed error's encoding;
    /// empty for an unknown selector, malformed arguments, attached value or a second
    /// constructor call).
    pub fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        dispatch(input, |selector, args| self.route(selector, args))
    }

    /// `None` for an unknown selector or malformed arguments.
    fn route(&mut self, selector: u32, a: &Args<'_>) -> Option<Result<Vec<u8>, Error>> {
        let empty = |r: Result<(), Error>| r.map(|()| Vec::new());
        let one = |w: alloy_primitives::B256| Ok(out(&[w]));
        Some(match selector {
            CONSTRUCTOR => {
                let (admin, escrow, min) = (a.address(0)?, a.address(1)?, a.uint(2, 8)?);
                // Invalid UTF-8 is replaced (U+FFFD), where the SDK's router (alloy's strict
                // decoder) refuses it. Refusing here measured ~300 B of brotli; a replaced
                // character only changes what this URI's own `tokenURI` returns.
                let uri = alloc::string::String::from_utf8_lossy(&a.bytes(3)?).into_owned();
                if self.check_constructor_slot().is_err() {
                    return None;
                }
                empty(self.constructor(admin, escrow, min, uri))
            }
            CLAIM => self.claim(a.u256(0)?).map(|id| out(&[id.word()])),
            BADGE => self
                .badge(a.u256(0)?)
                .map(|(s, r)| out(&[s.word(), r.word()])),
            CLAIMED => {
                let (s, t) = self.claimed(a.u256(0)?);
                Ok(out(&[s.word(), t.word()]))
            }
            MIN_BILLED => one(self.min_billed(a.address(0)?).word()),
            SET_MIN_BILLED => empty(self.set_min_billed(a.address(0)?, a.u128(1)?)),
            PENDING_ADMIN => one(self.pending_admin().word()),
            TRANSFER_ADMIN => empty(self.transfer_admin(a.address(0)?)),
            ACCEPT_ADMIN => empty(self.accept_admin()),
            CONFIG => {
                let (admin, escrow, min) = self.config();
                Ok(out(&[admin.word(), escrow.word(), min.word()]))
            }
            SET_MIN_DURATION => empty(self.set_min_duration(a.uint(0, 8)?)),
            BALANCE_OF => self.balance_of(a.address(0)?).map(|v| out(&[v.word()])),
            OWNER_OF => self.owner_of(a.u256(0)?).map(|v| out(&[v.word()])),
            SAFE_TRANSFER_FROM_DATA => empty(self.safe_transfer_from_with_data(
                a.address(0)?,
                a.address(1)?,
                a.u256(2)?,
                a.bytes(3)?.into(),
            )),
            SAFE_TRANSFER_FROM => {
                empty(self.safe_transfer_from(a.address(0)?, a.address(1)?, a.u256(2)?))
            }
            TRANSFER_FROM => empty(self.transfer_from(a.address(0)?, a.address(1)?, a.u256(2)?)),
            APPROVE => empty(self.approve(a.address(0)?, a.u256(1)?)),
            SET_APPROVAL_FOR_ALL => empty(self.set_approval_for_all(a.address(0)?, a.bool(1)?)),
            GET_APPROVED => self.get_approved(a.u256(0)?).map(|v| out(&[v.word()])),
            IS_APPROVED_FOR_ALL => one(self
                .is_approved_for_all(a.address(0)?, a.address(1)?)
                .word()),
            NAME => Ok(out_bytes(self.name().as_bytes())),
            SYMBOL => Ok(out_bytes(self.symbol().as_bytes())),
            TOKEN_URI => self
                .token_uri(a.u256(0)?)
                .map(|uri| out_bytes(uri.as_bytes())),
            SUPPORTS_INTERFACE => one(self.supports_interface(B32::from(a.bytes4(0)?)).word()),
            _ => return None,
        })
    }
}

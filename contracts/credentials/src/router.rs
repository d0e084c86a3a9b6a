//! The deployed program's call router, written out by hand (as the escrow's and the
//! badges'): the SDK's `#[public]` router instantiates alloy's generic codec per
//! signature, kilobytes of WASM. `#[public]` stays for the ABI export and the host tests'
//! VM; the tests send every function of `abi/ICredentials.sol` through
//! [`Credentials::dispatch`] with alloy's encoding.

use alloc::vec::Vec;
use alloy_primitives::{aliases::B32, Address, B256, U256};
use minuto_wire::{
    router::{dispatch, out, out_bytes, Args},
    selector, Word,
};
use openzeppelin_stylus::{
    access::control::IAccessControl,
    token::erc721::{extensions::IErc721Metadata, IErc721},
    utils::introspection::erc165::IErc165,
};
use stylus_sdk::{abi::Bytes, stylus_core::host::ConstructorGuard};

use crate::{Credentials, Error};

const CONSTRUCTOR: u32 = stylus_sdk::abi::CONSTRUCTOR_SELECTOR;
const ISSUER_ROLE: u32 = selector!("ISSUER_ROLE");
const ISSUE: u32 = selector!("issue", Address, u32, u64, alloc::string::String);
const REVOKE: u32 = selector!("revoke", U256);
const BURN: u32 = selector!("burn", U256);
const CREDENTIAL: u32 = selector!("credential", U256);
const HAS_VALID: u32 = selector!("hasValid", Address, u32);
const CREDENTIAL_OF: u32 = selector!("credentialOf", Address, u32);
const LOCKED: u32 = selector!("locked", U256);
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
const HAS_ROLE: u32 = selector!("hasRole", B256, Address);
const ONLY_ROLE: u32 = selector!("onlyRole", B256);
const GET_ROLE_ADMIN: u32 = selector!("getRoleAdmin", B256);
const GRANT_ROLE: u32 = selector!("grantRole", B256, Address);
const REVOKE_ROLE: u32 = selector!("revokeRole", B256, Address);
const RENOUNCE_ROLE: u32 = selector!("renounceRole", B256, Address);

impl Credentials {
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
        let one = |w: B256| Ok(out(&[w]));
        Some(match selector {
            CONSTRUCTOR => {
                let admin = a.address(0)?;
                if self.check_constructor_slot().is_err() {
                    return None;
                }
                empty(self.constructor(admin))
            }
            ISSUER_ROLE => one(self.issuer_role()),
            ISSUE => {
                // Invalid UTF-8 is replaced (U+FFFD), where the SDK's router (alloy's strict
                // decoder) refuses it. Refusing here measured ~300 B of brotli; a replaced
                // character only changes what this URI's own `tokenURI` returns.
                let uri = alloc::string::String::from_utf8_lossy(&a.bytes(3)?).into_owned();
                self.issue(a.address(0)?, a.uint(1, 4)? as u32, a.uint(2, 8)?, uri)
                    .map(|id| out(&[id.word()]))
            }
            REVOKE => empty(self.revoke(a.u256(0)?)),
            BURN => empty(self.burn(a.u256(0)?)),
            CREDENTIAL => self.credential(a.u256(0)?).map(|c| {
                out(&[
                    c.0.word(),
                    c.1.word(),
                    c.2.word(),
                    c.3.word(),
                    c.4.word(),
                    c.5.word(),
                ])
            }),
            HAS_VALID => one(self.has_valid(a.address(0)?, a.uint(1, 4)? as u32).word()),
            CREDENTIAL_OF => one(self
                .credential_of(a.address(0)?, a.uint(1, 4)? as u32)
                .word()),
            LOCKED => self.locked(a.u256(0)?).map(|v| out(&[v.word()])),
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
            HAS_ROLE => one(self.has_role(a.b256(0)?, a.address(1)?).word()),
            ONLY_ROLE => empty(self.only_role(a.b256(0)?)),
            GET_ROLE_ADMIN => one(self.get_role_admin(a.b256(0)?)),
            GRANT_ROLE => empty(self.grant_role(a.b256(0)?, a.address(1)?)),
            REVOKE_ROLE => empty(self.revoke_role(a.b256(0)?, a.address(1)?)),
            RENOUNCE_ROLE => empty(self.renounce_role(a.b256(0)?, a.address(1)?)),
            _ => return None,
        })
    }
}

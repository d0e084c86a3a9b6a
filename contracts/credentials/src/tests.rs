//! Unit tests (motsu): one test per rule, exact errors and exact events.
//!
//! motsu fixes `block.timestamp` at [`NOW`] and cannot move it; expiry is tested with
//! expiries around `NOW`, and "time passes" by moving a stored expiry back to `NOW`.

use alloc::{string::ToString, vec::Vec};
use alloy_primitives::{Address, B256, U256, U64};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use motsu::prelude::*;
use openzeppelin_stylus::{
    access::control::{RoleGranted, RoleRevoked},
    token::erc721::{self, Transfer},
};
use proptest::prelude::*;

use minuto_test_support::{assert_reverts, assert_routes_all, route, view, with_events};

use super::*;
use crate::abi::ICredentialsInherited as inherited;

/// `block.timestamp` under motsu.
const NOW: u64 = 1_735_689_600;
const KIND: u32 = 7;
const URI: &str =
    "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/spanish-c2.json";
const DEFAULT_ADMIN: B256 = B256::ZERO;

/// Deploys with `admin` and makes `issuer` an issuer.
fn deploy(contract: &Contract<Credentials>, admin: Address, issuer: Address) {
    contract.sender(admin).constructor(admin).motsu_unwrap();
    contract
        .sender(admin)
        .grant_role(ISSUER_ROLE.into(), issuer)
        .motsu_unwrap();
}

/// Issues `holder` a never-expiring credential of [`KIND`].
fn issue(contract: &Contract<Credentials>, issuer: Address, holder: Address) -> U256 {
    contract
        .sender(issuer)
        .issue(holder, KIND, 0, URI.to_string())
        .motsu_unwrap()
}

/// Moves credential `token_id`'s expiry to `expiry`, as if time had passed.
fn set_expiry(contract: &Contract<Credentials>, token_id: U256, expiry: u64) {
    contract
        .sender(Address::ZERO)
        .credentials
        .setter(token_id)
        .expiry
        .set(U64::from(expiry));
}

fn unauthorized(account: Address) -> AccessControlUnauthorizedAccount {
    AccessControlUnauthorizedAccount {
        account,
        needed_role: ISSUER_ROLE.into(),
    }
}

// --- constructor and roles ---------------------------------------------------------------

#[motsu::test]
fn constructor_rejects_zero_admin(contract: Contract<Credentials>, deployer: Address) {
    assert_reverts(
        &contract,
        CredentialInvalidAdmin {
            admin: Address::ZERO,
        },
        || contract.sender(deployer).constructor(Address::ZERO),
    );
}

#[motsu::test]
fn constructor_grants_default_admin_role(
    contract: Contract<Credentials>,
    deployer: Address,
    admin: Address,
) {
    let ((), events) = with_events(&contract, || {
        contract.sender(deployer).constructor(admin).motsu_unwrap()
    });
    assert!(contract.sender(admin).has_role(DEFAULT_ADMIN, admin));
    assert!(!contract.sender(admin).has_role(DEFAULT_ADMIN, deployer));
    assert!(!contract.sender(admin).has_role(ISSUER_ROLE.into(), admin));
    assert_eq!(
        events,
        [RoleGranted {
            role: DEFAULT_ADMIN,
            account: admin,
            sender: deployer
        }
        .encode_log_data()]
    );
}

#[motsu::test]
fn issuer_role_is_keccak_of_its_name(contract: Contract<Credentials>, alice: Address) {
    let expected = alloy_primitives::keccak256("ISSUER_ROLE");
    assert_eq!(B256::from(ISSUER_ROLE), expected);
    assert_eq!(contract.sender(alice).issuer_role(), expected);
}

#[motsu::test]
fn grant_role_by_non_admin_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    mallory: Address,
) {
    contract.sender(admin).constructor(admin).motsu_unwrap();
    assert_reverts(
        &contract,
        AccessControlUnauthorizedAccount {
            account: mallory,
            needed_role: DEFAULT_ADMIN,
        },
        || {
            contract
                .sender(mallory)
                .grant_role(ISSUER_ROLE.into(), mallory)
        },
    );
}

#[motsu::test]
fn revoke_role_removes_issuer(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let ((), events) = with_events(&contract, || {
        contract
            .sender(admin)
            .revoke_role(ISSUER_ROLE.into(), issuer)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [RoleRevoked {
            role: ISSUER_ROLE.into(),
            account: issuer,
            sender: admin
        }
        .encode_log_data()]
    );
    assert_reverts(&contract, unauthorized(issuer), || {
        contract
            .sender(issuer)
            .issue(alice, KIND, 0, URI.to_string())
    });
}

#[motsu::test]
fn renounce_role_for_someone_else_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
) {
    deploy(&contract, admin, issuer);
    assert_reverts(&contract, AccessControlBadConfirmation {}, || {
        contract
            .sender(admin)
            .renounce_role(ISSUER_ROLE.into(), issuer)
    });
    contract
        .sender(issuer)
        .renounce_role(ISSUER_ROLE.into(), issuer)
        .motsu_unwrap();
    assert!(!contract.sender(issuer).has_role(ISSUER_ROLE.into(), issuer));
}

#[motsu::test]
fn the_last_admin_can_neither_renounce_nor_be_revoked(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
) {
    deploy(&contract, admin, issuer);
    assert_reverts(&contract, CredentialLastAdmin { account: admin }, || {
        contract.sender(admin).renounce_role(DEFAULT_ADMIN, admin)
    });
    assert_reverts(&contract, CredentialLastAdmin { account: admin }, || {
        contract.sender(admin).revoke_role(DEFAULT_ADMIN, admin)
    });
    assert!(contract.sender(admin).has_role(DEFAULT_ADMIN, admin));
    // Other roles come and go as before.
    contract
        .sender(admin)
        .revoke_role(ISSUER_ROLE.into(), issuer)
        .motsu_unwrap();
}

#[motsu::test]
fn grant_role_to_the_zero_address_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
) {
    // Audit L3: a zero-address admin would count towards the admins, and the real admin
    // could then renounce, leaving the role to an address nobody controls.
    deploy(&contract, admin, issuer);
    for role in [DEFAULT_ADMIN, ISSUER_ROLE.into()] {
        assert_reverts(
            &contract,
            CredentialInvalidAccount {
                role,
                account: Address::ZERO,
            },
            || contract.sender(admin).grant_role(role, Address::ZERO),
        );
        assert!(!contract.sender(admin).has_role(role, Address::ZERO));
    }
    // So the real admin is still the last one.
    assert_reverts(&contract, CredentialLastAdmin { account: admin }, || {
        contract.sender(admin).renounce_role(DEFAULT_ADMIN, admin)
    });
    // Authorization is checked first: a stranger learns nothing new.
    assert_reverts(
        &contract,
        AccessControlUnauthorizedAccount {
            account: issuer,
            needed_role: DEFAULT_ADMIN,
        },
        || {
            contract
                .sender(issuer)
                .grant_role(DEFAULT_ADMIN, Address::ZERO)
        },
    );
}

#[motsu::test]
fn admin_hands_over_by_granting_a_successor_then_renouncing(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    successor: Address,
) {
    deploy(&contract, admin, issuer);
    contract
        .sender(admin)
        .grant_role(DEFAULT_ADMIN, successor)
        .motsu_unwrap();
    // Granting again does not count twice.
    contract
        .sender(admin)
        .grant_role(DEFAULT_ADMIN, successor)
        .motsu_unwrap();
    let ((), events) = with_events(&contract, || {
        contract
            .sender(admin)
            .renounce_role(DEFAULT_ADMIN, admin)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [RoleRevoked {
            role: DEFAULT_ADMIN,
            account: admin,
            sender: admin
        }
        .encode_log_data()]
    );
    assert!(!contract.sender(admin).has_role(DEFAULT_ADMIN, admin));
    // The successor is now the last admin.
    assert_reverts(
        &contract,
        CredentialLastAdmin { account: successor },
        || {
            contract
                .sender(successor)
                .revoke_role(DEFAULT_ADMIN, successor)
        },
    );
    // Renouncing a role one lacks is a no-op, even for the last admin's role.
    contract
        .sender(admin)
        .renounce_role(DEFAULT_ADMIN, admin)
        .motsu_unwrap();
}

// --- issue ---------------------------------------------------------------------------------

#[motsu::test]
fn issue_by_non_issuer_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    // Not even the admin may issue without the issuer role.
    assert_reverts(&contract, unauthorized(admin), || {
        contract
            .sender(admin)
            .issue(alice, KIND, 0, URI.to_string())
    });
    assert_reverts(&contract, unauthorized(alice), || {
        contract
            .sender(alice)
            .issue(alice, KIND, 0, URI.to_string())
    });
    assert!(!contract.sender(alice).has_valid(alice, KIND));
}

#[motsu::test]
fn issue_emits_transfer_locked_and_issued(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let expiry = NOW + 365 * 24 * 3600;
    let (token_id, events) = with_events(&contract, || {
        contract
            .sender(issuer)
            .issue(alice, KIND, expiry, URI.to_string())
            .motsu_unwrap()
    });
    assert_eq!(token_id, U256::from(1));
    assert_eq!(
        events,
        [
            Transfer {
                from: Address::ZERO,
                to: alice,
                token_id
            }
            .encode_log_data(),
            Locked { tokenId: token_id }.encode_log_data(),
            CredentialIssued {
                tokenId: token_id,
                holder: alice,
                kind: KIND,
                expiry,
                uri: URI.to_string(),
                issuer,
            }
            .encode_log_data(),
        ]
    );
    assert_eq!(
        contract.sender(alice).owner_of(token_id).motsu_unwrap(),
        alice
    );
    assert_eq!(
        contract.sender(alice).balance_of(alice).motsu_unwrap(),
        U256::from(1)
    );
    assert_eq!(contract.sender(alice).credential_of(alice, KIND), token_id);
    assert_eq!(
        contract.sender(alice).credential(token_id).motsu_unwrap(),
        (alice, KIND, NOW, expiry, Status::Issued as u8, true)
    );
}

#[motsu::test]
fn issue_numbers_tokens_from_one(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    assert_eq!(issue(&contract, issuer, alice), U256::from(1));
    assert_eq!(issue(&contract, issuer, bob), U256::from(2));
    let third = contract
        .sender(issuer)
        .issue(alice, KIND + 1, 0, URI.to_string())
        .motsu_unwrap();
    assert_eq!(third, U256::from(3));
    assert_eq!(
        contract.sender(alice).balance_of(alice).motsu_unwrap(),
        U256::from(2)
    );
}

#[motsu::test]
fn issue_rejects_zero_holder(contract: Contract<Credentials>, admin: Address, issuer: Address) {
    deploy(&contract, admin, issuer);
    assert_reverts(
        &contract,
        CredentialInvalidHolder {
            holder: Address::ZERO,
        },
        || {
            contract
                .sender(issuer)
                .issue(Address::ZERO, KIND, 0, URI.to_string())
        },
    );
}

#[motsu::test]
fn issue_rejects_zero_kind(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    assert_reverts(&contract, CredentialInvalidKind { kind: 0 }, || {
        contract.sender(issuer).issue(alice, 0, 0, URI.to_string())
    });
    assert!(!contract.sender(alice).has_valid(alice, 0));
}

#[motsu::test]
fn issue_rejects_expiry_not_in_future(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    for expiry in [1, NOW - 1, NOW] {
        assert_reverts(
            &contract,
            CredentialInvalidExpiry {
                expiry,
                timestamp: NOW,
            },
            || {
                contract
                    .sender(issuer)
                    .issue(alice, KIND, expiry, URI.to_string())
            },
        );
    }
    // One second ahead is the earliest accepted expiry; 0 means never.
    contract
        .sender(issuer)
        .issue(alice, KIND, NOW + 1, URI.to_string())
        .motsu_unwrap();
    contract
        .sender(issuer)
        .issue(alice, KIND + 1, 0, URI.to_string())
        .motsu_unwrap();
}

#[motsu::test]
fn issue_rejects_empty_or_too_long_uri(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    assert_reverts(
        &contract,
        CredentialInvalidUri { length: U256::ZERO },
        || {
            contract
                .sender(issuer)
                .issue(alice, KIND, 0, alloc::string::String::new())
        },
    );
    let too_long = "a".repeat(MAX_URI_LEN + 1);
    assert_reverts(
        &contract,
        CredentialInvalidUri {
            length: U256::from(MAX_URI_LEN + 1),
        },
        || contract.sender(issuer).issue(alice, KIND, 0, too_long),
    );
    let longest = "a".repeat(MAX_URI_LEN);
    let token_id = contract
        .sender(issuer)
        .issue(alice, KIND, 0, longest.clone())
        .motsu_unwrap();
    assert_eq!(
        contract.sender(alice).token_uri(token_id).motsu_unwrap(),
        longest
    );
}

#[motsu::test]
fn issue_rejects_second_valid_credential_of_same_kind(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let first = contract
        .sender(issuer)
        .issue(alice, KIND, NOW + 10, URI.to_string())
        .motsu_unwrap();
    assert_reverts(
        &contract,
        CredentialAlreadyHeld {
            holder: alice,
            kind: KIND,
            tokenId: first,
        },
        || {
            contract
                .sender(issuer)
                .issue(alice, KIND, 0, URI.to_string())
        },
    );
    // Another kind, or another holder, is fine.
    contract
        .sender(issuer)
        .issue(alice, KIND + 1, 0, URI.to_string())
        .motsu_unwrap();
}

#[motsu::test]
fn issue_renews_expired_credential(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let old = contract
        .sender(issuer)
        .issue(alice, KIND, NOW + 10, URI.to_string())
        .motsu_unwrap();
    set_expiry(&contract, old, NOW);
    let new = issue(&contract, issuer, alice);
    assert_eq!(contract.sender(alice).credential_of(alice, KIND), new);
    assert!(contract.sender(alice).has_valid(alice, KIND));
    // The expired one stays with its holder, as history.
    assert_eq!(contract.sender(alice).owner_of(old).motsu_unwrap(), alice);
    assert_eq!(
        contract.sender(alice).credential(old).motsu_unwrap(),
        (alice, KIND, NOW, NOW, Status::Issued as u8, false)
    );
}

#[motsu::test]
fn issue_after_revoke_or_burn_allowed(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let first = issue(&contract, issuer, alice);
    contract.sender(issuer).revoke(first).motsu_unwrap();
    let second = issue(&contract, issuer, alice);
    contract.sender(alice).burn(second).motsu_unwrap();
    let third = issue(&contract, issuer, alice);
    assert_eq!(third, U256::from(3));
    assert_eq!(contract.sender(alice).credential_of(alice, KIND), third);
    assert!(contract.sender(alice).has_valid(alice, KIND));
}

#[motsu::test]
fn issue_rejects_exhausted_ids(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    contract.sender(admin).last_id.set(U256::MAX);
    assert_reverts(&contract, CredentialIdUnavailable {}, || {
        contract
            .sender(issuer)
            .issue(alice, KIND, 0, URI.to_string())
    });
}

// --- soul-bound: every transfer and approval path fails -------------------------------------

#[motsu::test]
fn transfer_from_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    assert_reverts(&contract, CredentialSoulbound { tokenId: token_id }, || {
        contract.sender(alice).transfer_from(alice, bob, token_id)
    });
    assert_eq!(
        contract.sender(alice).owner_of(token_id).motsu_unwrap(),
        alice
    );
}

#[motsu::test]
fn safe_transfer_from_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    assert_reverts(&contract, CredentialSoulbound { tokenId: token_id }, || {
        contract
            .sender(alice)
            .safe_transfer_from(alice, bob, token_id)
    });
}

#[motsu::test]
fn safe_transfer_from_with_data_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    assert_reverts(&contract, CredentialSoulbound { tokenId: token_id }, || {
        contract
            .sender(alice)
            .safe_transfer_from_with_data(alice, bob, token_id, vec![1, 2].into())
    });
}

#[motsu::test]
fn approve_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    assert_reverts(&contract, CredentialSoulbound { tokenId: token_id }, || {
        contract.sender(alice).approve(bob, token_id)
    });
    assert_eq!(
        contract.sender(alice).get_approved(token_id).motsu_unwrap(),
        Address::ZERO
    );
}

#[motsu::test]
fn set_approval_for_all_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    issue(&contract, issuer, alice);
    for approved in [true, false] {
        assert_reverts(
            &contract,
            CredentialSoulboundOperator { operator: bob },
            || contract.sender(alice).set_approval_for_all(bob, approved),
        );
    }
    assert!(!contract.sender(alice).is_approved_for_all(alice, bob));
}

#[motsu::test]
fn get_approved_unknown_token_rejected(contract: Contract<Credentials>, alice: Address) {
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken {
            token_id: U256::from(1),
        },
        || contract.sender(alice).get_approved(U256::from(1)),
    );
}

// --- ERC-5192 and ERC-165 -----------------------------------------------------------------

#[motsu::test]
fn locked_true_for_issued_credential(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    assert!(contract.sender(alice).locked(token_id).motsu_unwrap());
    // A revoked credential is still held, so still locked.
    contract.sender(issuer).revoke(token_id).motsu_unwrap();
    assert!(contract.sender(alice).locked(token_id).motsu_unwrap());
}

#[motsu::test]
fn locked_unknown_or_burned_token_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken {
            token_id: U256::from(1),
        },
        || contract.sender(alice).locked(U256::from(1)),
    );
    let token_id = issue(&contract, issuer, alice);
    contract.sender(alice).burn(token_id).motsu_unwrap();
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken { token_id },
        || contract.sender(alice).locked(token_id),
    );
}

#[motsu::test]
fn supports_interface_ids(contract: Contract<Credentials>, alice: Address) {
    for (id, expected) in [
        (0x01ff_c9a7_u32, true), // ERC-165
        (0x80ac_58cd, true),     // ERC-721
        (0x5b5e_139f, true),     // ERC-721 Metadata
        (0xb45a_3c0e, true),     // ERC-5192
        (0x780e_9d63, false),    // ERC-721 Enumerable
        (0x7965_db0b, false),    // Solidity's IAccessControl (OZ Stylus adds `onlyRole`)
        (0xffff_ffff, false),    // ERC-165: must be false
        (0x0000_0000, false),
    ] {
        let supported = contract
            .sender(alice)
            .supports_interface(id.to_be_bytes().into());
        assert_eq!(supported, expected, "interface {id:#010x}");
    }
}

#[motsu::test]
fn supported_interface_ids_match_openzeppelin() {
    assert_eq!(
        SUPPORTED_INTERFACES[0],
        <Credentials as IErc165>::interface_id().0
    );
    assert_eq!(
        SUPPORTED_INTERFACES[1],
        <Credentials as IErc721>::interface_id().0
    );
    assert_eq!(
        SUPPORTED_INTERFACES[2],
        <Credentials as IErc721Metadata>::interface_id().0
    );
    assert_eq!(ERC5192_INTERFACE_ID, 0xb45a_3c0e_u32.to_be_bytes());
}

// --- hasValid ------------------------------------------------------------------------------

#[motsu::test]
fn has_valid_true_after_issue(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    assert!(!contract.sender(alice).has_valid(alice, KIND));
    contract
        .sender(issuer)
        .issue(alice, KIND, NOW + 1, URI.to_string())
        .motsu_unwrap();
    assert!(contract.sender(alice).has_valid(alice, KIND));
    // Only for that holder and that kind.
    assert!(!contract.sender(alice).has_valid(bob, KIND));
    assert!(!contract.sender(alice).has_valid(alice, KIND + 1));
}

#[motsu::test]
fn has_valid_false_after_revoke(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    contract.sender(issuer).revoke(token_id).motsu_unwrap();
    assert!(!contract.sender(alice).has_valid(alice, KIND));
    assert_eq!(
        contract.sender(alice).credential_of(alice, KIND),
        U256::ZERO
    );
}

#[motsu::test]
fn has_valid_false_after_burn(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    contract.sender(alice).burn(token_id).motsu_unwrap();
    assert!(!contract.sender(alice).has_valid(alice, KIND));
    assert_eq!(
        contract.sender(alice).credential_of(alice, KIND),
        U256::ZERO
    );
}

#[motsu::test]
fn has_valid_false_once_expired(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = contract
        .sender(issuer)
        .issue(alice, KIND, NOW + 1, URI.to_string())
        .motsu_unwrap();
    assert!(contract.sender(alice).has_valid(alice, KIND));
    // Expiry is exclusive: at `block.timestamp == expiry` the credential is expired.
    set_expiry(&contract, token_id, NOW);
    assert!(!contract.sender(alice).has_valid(alice, KIND));
    set_expiry(&contract, token_id, NOW - 1);
    assert!(!contract.sender(alice).has_valid(alice, KIND));
    assert!(!contract.sender(alice).credential(token_id).motsu_unwrap().5);
}

#[test]
fn expired_boundaries() {
    assert!(!expired(0, NOW), "0 never expires");
    assert!(!expired(0, u64::MAX));
    assert!(!expired(NOW + 1, NOW));
    assert!(expired(NOW, NOW));
    assert!(expired(NOW - 1, NOW));
}

// --- revoke --------------------------------------------------------------------------------

#[motsu::test]
fn revoke_emits_event_and_keeps_token(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    let ((), events) = with_events(&contract, || {
        contract.sender(issuer).revoke(token_id).motsu_unwrap()
    });
    assert_eq!(
        events,
        [CredentialRevoked {
            tokenId: token_id,
            holder: alice,
            kind: KIND,
            issuer
        }
        .encode_log_data()]
    );
    assert_eq!(
        contract.sender(alice).owner_of(token_id).motsu_unwrap(),
        alice
    );
    assert_eq!(
        contract.sender(alice).credential(token_id).motsu_unwrap(),
        (alice, KIND, NOW, 0, Status::Revoked as u8, false)
    );
}

#[motsu::test]
fn revoke_by_non_issuer_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    assert_reverts(&contract, unauthorized(alice), || {
        contract.sender(alice).revoke(token_id)
    });
    assert!(contract.sender(alice).has_valid(alice, KIND));
}

#[motsu::test]
fn revoke_twice_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    contract.sender(issuer).revoke(token_id).motsu_unwrap();
    assert_reverts(
        &contract,
        CredentialAlreadyRevoked { tokenId: token_id },
        || contract.sender(issuer).revoke(token_id),
    );
}

#[motsu::test]
fn revoke_unknown_or_burned_token_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken {
            token_id: U256::from(1),
        },
        || contract.sender(issuer).revoke(U256::from(1)),
    );
    let token_id = issue(&contract, issuer, alice);
    contract.sender(alice).burn(token_id).motsu_unwrap();
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken { token_id },
        || contract.sender(issuer).revoke(token_id),
    );
}

#[motsu::test]
fn revoke_of_old_credential_keeps_renewal_valid(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let old = contract
        .sender(issuer)
        .issue(alice, KIND, NOW + 10, URI.to_string())
        .motsu_unwrap();
    set_expiry(&contract, old, NOW);
    let new = issue(&contract, issuer, alice);
    contract.sender(issuer).revoke(old).motsu_unwrap();
    assert_eq!(contract.sender(alice).credential_of(alice, KIND), new);
    assert!(contract.sender(alice).has_valid(alice, KIND));
}

// --- burn ----------------------------------------------------------------------------------

#[motsu::test]
fn burn_by_holder(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    let ((), events) = with_events(&contract, || {
        contract.sender(alice).burn(token_id).motsu_unwrap()
    });
    assert_eq!(
        events,
        [
            Transfer {
                from: alice,
                to: Address::ZERO,
                token_id
            }
            .encode_log_data(),
            CredentialBurned {
                tokenId: token_id,
                holder: alice,
                kind: KIND
            }
            .encode_log_data(),
        ]
    );
    assert_eq!(
        contract.sender(alice).balance_of(alice).motsu_unwrap(),
        U256::ZERO
    );
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken { token_id },
        || contract.sender(alice).owner_of(token_id),
    );
    assert_eq!(
        contract.sender(alice).credential(token_id).motsu_unwrap(),
        (Address::ZERO, KIND, NOW, 0, Status::Burned as u8, false)
    );
}

#[motsu::test]
fn burn_of_revoked_credential_by_holder(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    contract.sender(issuer).revoke(token_id).motsu_unwrap();
    contract.sender(alice).burn(token_id).motsu_unwrap();
    assert_eq!(
        contract.sender(alice).credential(token_id).motsu_unwrap().4,
        Status::Burned as u8
    );
}

#[motsu::test]
fn burn_by_non_holder_rejected(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    for account in [bob, issuer, admin] {
        assert_reverts(
            &contract,
            CredentialNotHolder {
                tokenId: token_id,
                account,
            },
            || contract.sender(account).burn(token_id),
        );
    }
    assert!(contract.sender(alice).has_valid(alice, KIND));
}

#[motsu::test]
fn burn_unknown_token_rejected(contract: Contract<Credentials>, alice: Address) {
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken {
            token_id: U256::from(1),
        },
        || contract.sender(alice).burn(U256::from(1)),
    );
}

// --- metadata and views --------------------------------------------------------------------

#[motsu::test]
fn name_and_symbol_are_constant(contract: Contract<Credentials>, alice: Address) {
    assert_eq!(contract.sender(alice).name(), NAME);
    assert_eq!(contract.sender(alice).symbol(), SYMBOL);
}

#[motsu::test]
fn token_uri_returns_uri_given_at_issue(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    deploy(&contract, admin, issuer);
    // Shorter than, exactly, and longer than one storage word; non-ASCII too.
    let uris = [
        "ipfs://x",
        "https://minuto.example/c/0000001",
        URI,
        "https://minuto.example/credenciales/español-ñ/✓",
    ];
    assert_eq!(uris[1].len(), 32);
    for (kind, uri) in (1..).zip(uris) {
        let token_id = contract
            .sender(issuer)
            .issue(alice, kind, 0, uri.to_string())
            .motsu_unwrap();
        assert_eq!(
            contract.sender(alice).token_uri(token_id).motsu_unwrap(),
            uri
        );
    }
}

#[motsu::test]
fn token_uri_unknown_token_rejected(contract: Contract<Credentials>, alice: Address) {
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken {
            token_id: U256::from(1),
        },
        || contract.sender(alice).token_uri(U256::from(1)),
    );
}

#[motsu::test]
fn credential_never_issued_rejected(contract: Contract<Credentials>, alice: Address) {
    assert_reverts(
        &contract,
        erc721::ERC721NonexistentToken {
            token_id: U256::from(1),
        },
        || contract.sender(alice).credential(U256::from(1)),
    );
}

#[motsu::test]
fn balance_of_zero_address_rejected(contract: Contract<Credentials>, alice: Address) {
    assert_reverts(
        &contract,
        erc721::ERC721InvalidOwner {
            owner: Address::ZERO,
        },
        || contract.sender(alice).balance_of(Address::ZERO),
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any URI of 1 to [`MAX_URI_LEN`] bytes comes back from `tokenURI` unchanged.
    #[test]
    fn token_uri_round_trips(uri in "\\PC{1,170}") {
        prop_assume!(uri.len() <= MAX_URI_LEN);
        let contract = Contract::<Credentials>::new();
        let (admin, issuer, alice) = (Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3));
        deploy(&contract, admin, issuer);
        let token_id = contract.sender(issuer).issue(alice, KIND, 0, uri.clone()).motsu_unwrap();
        prop_assert_eq!(contract.sender(alice).token_uri(token_id).motsu_unwrap(), uri);
    }
}

// --- the ABI cannot lie ----------------------------------------------------------------------

#[motsu::test]
fn router_routes_every_declared_inherited_function(
    contract: Contract<Credentials>,
    alice: Address,
) {
    assert_routes_all(
        &contract,
        alice,
        inherited::ICredentialsInheritedCalls::SELECTORS,
    );
}

#[motsu::test]
fn router_answers_declared_inherited_functions_as_declared(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
    bob: Address,
) {
    deploy(&contract, admin, issuer);
    let token_id = issue(&contract, issuer, alice);
    let issuer_role: B256 = ISSUER_ROLE.into();

    // Views: decode the answer with the declared return types.
    assert_eq!(
        view(&contract, alice, inherited::balanceOfCall { owner: alice }).balance,
        U256::from(1)
    );
    assert_eq!(
        view(
            &contract,
            alice,
            inherited::ownerOfCall { tokenId: token_id }
        )
        .owner,
        alice
    );
    assert_eq!(
        view(
            &contract,
            alice,
            inherited::getApprovedCall { tokenId: token_id }
        )
        .operator,
        Address::ZERO
    );
    assert!(
        !view(
            &contract,
            alice,
            inherited::isApprovedForAllCall {
                owner: alice,
                operator: bob
            }
        )
        .approved
    );
    assert_eq!(view(&contract, alice, inherited::nameCall {})._0, NAME);
    assert_eq!(view(&contract, alice, inherited::symbolCall {})._0, SYMBOL);
    assert_eq!(
        view(
            &contract,
            alice,
            inherited::tokenURICall { tokenId: token_id }
        )
        .uri,
        URI
    );
    assert!(
        view(
            &contract,
            alice,
            inherited::supportsInterfaceCall {
                interfaceId: ERC5192_INTERFACE_ID.into()
            }
        )
        .supported
    );
    assert!(
        view(
            &contract,
            alice,
            inherited::hasRoleCall {
                role: issuer_role,
                account: issuer
            }
        )
        .granted
    );
    assert_eq!(
        view(
            &contract,
            alice,
            inherited::getRoleAdminCall { role: issuer_role }
        )
        .adminRole,
        DEFAULT_ADMIN
    );

    // Transfers and approvals: revert with the declared soul-bound errors.
    let soulbound = CredentialSoulbound { tokenId: token_id }.abi_encode();
    for calldata in [
        inherited::safeTransferFrom_0Call {
            from: alice,
            to: bob,
            tokenId: token_id,
            data: vec![1].into(),
        }
        .abi_encode(),
        inherited::safeTransferFrom_1Call {
            from: alice,
            to: bob,
            tokenId: token_id,
        }
        .abi_encode(),
        inherited::transferFromCall {
            from: alice,
            to: bob,
            tokenId: token_id,
        }
        .abi_encode(),
        inherited::approveCall {
            to: bob,
            tokenId: token_id,
        }
        .abi_encode(),
    ] {
        assert_eq!(
            route(&contract, alice, &calldata).unwrap(),
            Err(soulbound.clone())
        );
    }
    let calldata = inherited::setApprovalForAllCall {
        operator: bob,
        approved: true,
    }
    .abi_encode();
    assert_eq!(
        route(&contract, alice, &calldata).unwrap(),
        Err(CredentialSoulboundOperator { operator: bob }.abi_encode())
    );

    // Role management, through the router too.
    let only_role = inherited::onlyRoleCall { role: issuer_role }.abi_encode();
    assert_eq!(
        route(&contract, issuer, &only_role).unwrap(),
        Ok(Vec::new())
    );
    assert_eq!(
        route(&contract, alice, &only_role).unwrap(),
        Err(unauthorized(alice).abi_encode())
    );
    let grant = inherited::grantRoleCall {
        role: issuer_role,
        account: bob,
    }
    .abi_encode();
    assert_eq!(route(&contract, admin, &grant).unwrap(), Ok(Vec::new()));
    let revoke = inherited::revokeRoleCall {
        role: issuer_role,
        account: bob,
    }
    .abi_encode();
    assert_eq!(route(&contract, admin, &revoke).unwrap(), Ok(Vec::new()));
    let renounce = inherited::renounceRoleCall {
        role: issuer_role,
        confirmation: issuer,
    }
    .abi_encode();
    assert_eq!(route(&contract, issuer, &renounce).unwrap(), Ok(Vec::new()));
    assert!(!contract.sender(alice).has_role(issuer_role, issuer));
}

/// One value of every error variant; the `match` fails to compile when a variant is added
/// and not listed here.
fn every_error() -> Vec<(Error, Vec<u8>)> {
    let (id, a) = (U256::from(42), Address::repeat_byte(0xa1));
    let all = vec![
        (
            Error::from(CredentialSoulbound { tokenId: id }),
            CredentialSoulbound { tokenId: id }.abi_encode(),
        ),
        (
            CredentialSoulboundOperator { operator: a }.into(),
            CredentialSoulboundOperator { operator: a }.abi_encode(),
        ),
        (
            CredentialInvalidAdmin { admin: a }.into(),
            CredentialInvalidAdmin { admin: a }.abi_encode(),
        ),
        (
            CredentialInvalidHolder { holder: a }.into(),
            CredentialInvalidHolder { holder: a }.abi_encode(),
        ),
        (
            CredentialInvalidKind { kind: u32::MAX }.into(),
            CredentialInvalidKind { kind: u32::MAX }.abi_encode(),
        ),
        (
            CredentialInvalidExpiry {
                expiry: u64::MAX,
                timestamp: NOW,
            }
            .into(),
            CredentialInvalidExpiry {
                expiry: u64::MAX,
                timestamp: NOW,
            }
            .abi_encode(),
        ),
        (
            CredentialInvalidUri { length: id }.into(),
            CredentialInvalidUri { length: id }.abi_encode(),
        ),
        (
            CredentialAlreadyHeld {
                holder: a,
                kind: 3,
                tokenId: id,
            }
            .into(),
            CredentialAlreadyHeld {
                holder: a,
                kind: 3,
                tokenId: id,
            }
            .abi_encode(),
        ),
        (
            CredentialAlreadyRevoked { tokenId: id }.into(),
            CredentialAlreadyRevoked { tokenId: id }.abi_encode(),
        ),
        (
            CredentialNotHolder {
                tokenId: id,
                account: a,
            }
            .into(),
            CredentialNotHolder {
                tokenId: id,
                account: a,
            }
            .abi_encode(),
        ),
        (
            CredentialIdUnavailable {}.into(),
            CredentialIdUnavailable {}.abi_encode(),
        ),
        (
            CredentialLastAdmin { account: a }.into(),
            CredentialLastAdmin { account: a }.abi_encode(),
        ),
        (
            CredentialInvalidAccount {
                role: ISSUER_ROLE.into(),
                account: a,
            }
            .into(),
            CredentialInvalidAccount {
                role: ISSUER_ROLE.into(),
                account: a,
            }
            .abi_encode(),
        ),
        (
            erc721::ERC721NonexistentToken { token_id: id }.into(),
            erc721::ERC721NonexistentToken { token_id: id }.abi_encode(),
        ),
        (
            erc721::ERC721InvalidOwner { owner: a }.into(),
            erc721::ERC721InvalidOwner { owner: a }.abi_encode(),
        ),
        (unauthorized(a).into(), unauthorized(a).abi_encode()),
        (
            AccessControlBadConfirmation {}.into(),
            AccessControlBadConfirmation {}.abi_encode(),
        ),
    ];
    for (error, _) in &all {
        match error {
            Error::Soulbound(_)
            | Error::SoulboundOperator(_)
            | Error::InvalidAdmin(_)
            | Error::InvalidHolder(_)
            | Error::InvalidKind(_)
            | Error::InvalidExpiry(_)
            | Error::InvalidUri(_)
            | Error::AlreadyHeld(_)
            | Error::AlreadyRevoked(_)
            | Error::NotHolder(_)
            | Error::IdUnavailable(_)
            | Error::LastAdmin(_)
            | Error::InvalidAccount(_)
            | Error::NonexistentToken(_)
            | Error::InvalidOwner(_)
            | Error::UnauthorizedAccount(_)
            | Error::BadConfirmation(_) => {}
        }
    }
    assert_eq!(all.len(), 17, "one entry per variant");
    all
}

#[test]
fn errors_encode_as_alloy_does() {
    for (error, expected) in every_error() {
        let name = alloc::format!("{error:?}");
        assert_eq!(Vec::<u8>::from(error), expected, "{name}");
    }
}

#[test]
fn errors_are_all_declared_in_the_abi() {
    let declared: Vec<[u8; 4]> = [
        CredentialSoulbound::SELECTOR,
        CredentialSoulboundOperator::SELECTOR,
        CredentialInvalidAdmin::SELECTOR,
        CredentialInvalidHolder::SELECTOR,
        CredentialInvalidKind::SELECTOR,
        CredentialInvalidExpiry::SELECTOR,
        CredentialInvalidUri::SELECTOR,
        CredentialAlreadyHeld::SELECTOR,
        CredentialAlreadyRevoked::SELECTOR,
        CredentialNotHolder::SELECTOR,
        CredentialIdUnavailable::SELECTOR,
        CredentialLastAdmin::SELECTOR,
        CredentialInvalidAccount::SELECTOR,
    ]
    .into_iter()
    .chain(
        inherited::ICredentialsInheritedErrors::SELECTORS
            .iter()
            .copied(),
    )
    .collect();
    for (error, encoded) in every_error() {
        assert!(
            declared.contains(&encoded[..4].try_into().unwrap()),
            "{error:?} is not declared in an abi fragment"
        );
    }
}

#[motsu::test]
fn events_are_all_declared_in_the_abi(
    contract: Contract<Credentials>,
    admin: Address,
    issuer: Address,
    alice: Address,
) {
    // Every kind of state change the contract has.
    deploy(&contract, admin, issuer);
    let first = issue(&contract, issuer, alice);
    contract.sender(issuer).revoke(first).motsu_unwrap();
    contract.sender(alice).burn(first).motsu_unwrap();
    contract
        .sender(admin)
        .revoke_role(ISSUER_ROLE.into(), issuer)
        .motsu_unwrap();

    let declared: Vec<B256> = [
        CredentialIssued::SIGNATURE_HASH,
        CredentialRevoked::SIGNATURE_HASH,
        CredentialBurned::SIGNATURE_HASH,
        Locked::SIGNATURE_HASH,
    ]
    .into_iter()
    .chain(
        inherited::ICredentialsInheritedEvents::SELECTORS
            .iter()
            .map(|s| B256::from(*s)),
    )
    .collect();
    let events = contract.all_events();
    assert_eq!(events.len(), 2 + 3 + 1 + 2 + 1);
    for event in events {
        assert!(
            declared.contains(&event.topics()[0]),
            "undeclared event {event:?}"
        );
    }
}

// --- the deployed router -------------------------------------------------------------------

mod router {
    //! The deployed program's hand-written router (`dispatch`), driven with alloy's
    //! encoding of `abi/ICredentials.sol`.
    use alloy_sol_types::{sol, SolValue};

    use super::*;

    mod abi {
        super::sol!(
            #![sol(all_derives)]
            "../../abi/ICredentials.sol"
        );
    }
    use abi::ICredentials as I;
    use minuto_test_support::{call, call_with_value, reverted, Dispatch};

    impl Dispatch for Credentials {
        fn dispatch(&mut self, input: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
            Credentials::dispatch(self, input)
        }
    }

    #[motsu::test]
    fn dispatch_rejects_attached_value(
        contract: Contract<Credentials>,
        admin: Address,
        issuer: Address,
        alice: Address,
    ) {
        // Audit L2: no function is payable, the constructor included.
        let one = U256::from(1);
        let mut ctor = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes().to_vec();
        ctor.extend(admin.abi_encode());
        admin.fund(one);
        assert_eq!(
            contract.sender_and_value(admin, one).dispatch(&ctor),
            Err(Vec::new())
        );
        assert_eq!(contract.sender(admin).dispatch(&ctor), Ok(Vec::new()));
        let role = B256::from(ISSUER_ROLE);
        assert_eq!(
            call_with_value(
                &contract,
                admin,
                one,
                I::grantRoleCall {
                    role,
                    account: issuer
                }
            ),
            Err(Vec::new())
        );
        assert_eq!(
            call_with_value(&contract, alice, one, I::nameCall {}),
            Err(Vec::new())
        );
        // Nothing happened; without value the grant goes through.
        assert!(
            !call(
                &contract,
                alice,
                I::hasRoleCall {
                    role,
                    account: issuer
                }
            )
            .unwrap()
            .granted
        );
        call(
            &contract,
            admin,
            I::grantRoleCall {
                role,
                account: issuer,
            },
        )
        .unwrap();
    }

    #[motsu::test]
    fn dispatch_routes_every_function_as_the_interface_declares(
        contract: Contract<Credentials>,
        admin: Address,
        issuer: Address,
        alice: Address,
        bob: Address,
    ) {
        let mut ctor = stylus_sdk::abi::CONSTRUCTOR_SELECTOR.to_be_bytes().to_vec();
        ctor.extend(admin.abi_encode());
        assert_eq!(contract.sender(admin).dispatch(&ctor), Ok(Vec::new()));
        assert_eq!(contract.sender(admin).dispatch(&ctor), Err(Vec::new()));

        let role = call(&contract, alice, I::ISSUER_ROLECall {}).unwrap()._0;
        assert_eq!(role, B256::from(ISSUER_ROLE));
        call(
            &contract,
            admin,
            I::grantRoleCall {
                role,
                account: issuer,
            },
        )
        .unwrap();
        assert!(
            call(
                &contract,
                alice,
                I::hasRoleCall {
                    role,
                    account: issuer
                }
            )
            .unwrap()
            .granted
        );
        assert_eq!(
            call(&contract, alice, I::getRoleAdminCall { role })
                .unwrap()
                .adminRole,
            DEFAULT_ADMIN
        );
        call(&contract, issuer, I::onlyRoleCall { role }).unwrap();
        let err = reverted(call(&contract, alice, I::onlyRoleCall { role }));
        assert_eq!(err, unauthorized(alice).abi_encode());

        let id = call(
            &contract,
            issuer,
            I::issueCall {
                holder: alice,
                kind: KIND,
                expiry: 0,
                uri: URI.into(),
            },
        )
        .unwrap()
        ._0;
        let c = call(&contract, bob, I::credentialCall { token_id: id }).unwrap();
        assert_eq!(
            (c._0, c._1, c._2, c._3, c._4, c._5),
            (alice, KIND, NOW, 0, 1, true)
        );
        assert!(
            call(
                &contract,
                bob,
                I::hasValidCall {
                    holder: alice,
                    kind: KIND
                }
            )
            .unwrap()
            ._0
        );
        assert_eq!(
            call(
                &contract,
                bob,
                I::credentialOfCall {
                    holder: alice,
                    kind: KIND
                }
            )
            .unwrap()
            ._0,
            id
        );
        assert!(
            call(&contract, bob, I::lockedCall { token_id: id })
                .unwrap()
                ._0
        );
        assert_eq!(
            call(&contract, bob, I::balanceOfCall { owner: alice })
                .unwrap()
                .balance,
            U256::from(1)
        );
        assert_eq!(
            call(&contract, bob, I::ownerOfCall { tokenId: id })
                .unwrap()
                .owner,
            alice
        );
        assert_eq!(call(&contract, bob, I::nameCall {}).unwrap()._0, NAME);
        assert_eq!(call(&contract, bob, I::symbolCall {}).unwrap()._0, SYMBOL);
        assert_eq!(
            call(&contract, bob, I::tokenURICall { tokenId: id })
                .unwrap()
                .uri,
            URI
        );
        assert!(
            call(
                &contract,
                bob,
                I::supportsInterfaceCall {
                    interfaceId: ERC5192_INTERFACE_ID.into()
                }
            )
            .unwrap()
            .supported
        );
        assert_eq!(
            call(&contract, bob, I::getApprovedCall { tokenId: id })
                .unwrap()
                .operator,
            Address::ZERO
        );
        assert!(
            !call(
                &contract,
                bob,
                I::isApprovedForAllCall {
                    owner: alice,
                    operator: bob
                }
            )
            .unwrap()
            .approved
        );
        // Soul-bound: every transfer and approval fails with its typed error.
        let soulbound = CredentialSoulbound { tokenId: id }.abi_encode();
        for err in [
            reverted(call(
                &contract,
                alice,
                I::transferFromCall {
                    from: alice,
                    to: bob,
                    tokenId: id,
                },
            )),
            reverted(call(
                &contract,
                alice,
                I::safeTransferFrom_1Call {
                    from: alice,
                    to: bob,
                    tokenId: id,
                },
            )),
            reverted(call(
                &contract,
                alice,
                I::safeTransferFrom_0Call {
                    from: alice,
                    to: bob,
                    tokenId: id,
                    data: vec![1u8].into(),
                },
            )),
            reverted(call(
                &contract,
                alice,
                I::approveCall {
                    to: bob,
                    tokenId: id,
                },
            )),
        ] {
            assert_eq!(err, soulbound);
        }
        assert_eq!(
            reverted(call(
                &contract,
                alice,
                I::setApprovalForAllCall {
                    operator: bob,
                    approved: true
                }
            )),
            CredentialSoulboundOperator { operator: bob }.abi_encode()
        );
        call(&contract, issuer, I::revokeCall { token_id: id }).unwrap();
        call(&contract, alice, I::burnCall { token_id: id }).unwrap();
        call(
            &contract,
            admin,
            I::revokeRoleCall {
                role,
                account: issuer,
            },
        )
        .unwrap();
        assert_eq!(
            reverted(call(
                &contract,
                admin,
                I::renounceRoleCall {
                    role: DEFAULT_ADMIN,
                    confirmation: admin
                }
            )),
            CredentialLastAdmin { account: admin }.abi_encode()
        );
        assert_eq!(
            contract.sender(bob).dispatch(&[0xde, 0xad, 0xbe, 0xef]),
            Err(Vec::new())
        );
    }
}

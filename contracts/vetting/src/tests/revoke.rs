//! Revocation through the same vote, and a holder's renouncing through the credentials
//! contract's `burn`.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use motsu::prelude::*;
use stylus_sdk::prelude::*;

use super::*;

#[motsu::test]
fn an_approved_revocation_revokes_the_credential(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let (_, token_id) = w.certified();
    let proposer = w.reviewers[2];
    let (case, events) = with_events(&vetting, || {
        vetting
            .sender(proposer)
            .propose_revocation(token_id, CID.into())
            .motsu_unwrap()
    });
    assert_eq!(case, id(2));
    assert_eq!(
        events,
        [VettingApplicationOpened {
            applicationId: case,
            tutor: w.tutor,
            kind: KIND,
            action: Action::Revoke as u8,
            tokenId: token_id,
            openedBy: proposer,
            deadline: w.now() + PERIOD,
            cid: CID.into(),
        }
        .encode_log_data()]
    );
    // The holder cannot apply (renew) while the revocation is open.
    assert_reverts(
        &vetting,
        VettingApplicationPending {
            tutor: w.tutor,
            kind: KIND,
            applicationId: case,
        },
        || vetting.sender(w.tutor).apply_for(KIND, CID.into()),
    );
    // Nor can a second revocation open.
    assert_reverts(
        &vetting,
        VettingApplicationPending {
            tutor: w.tutor,
            kind: KIND,
            applicationId: case,
        },
        || {
            vetting
                .sender(w.reviewers[0])
                .propose_revocation(token_id, CID.into())
        },
    );
    w.vote(2, case, true).motsu_unwrap();
    let ((), v, c) = with_both(&vetting, &credentials, || {
        w.vote(0, case, true).motsu_unwrap()
    });
    assert_eq!(
        c,
        [minuto_credentials::CredentialRevoked {
            tokenId: token_id,
            holder: w.tutor,
            kind: KIND,
            issuer: vetting.address(),
        }
        .encode_log_data()]
    );
    assert_eq!(
        v.last().unwrap(),
        &VettingDecided {
            applicationId: case,
            tutor: w.tutor,
            kind: KIND,
            action: Action::Revoke as u8,
            approved: true,
            tokenId: token_id,
        }
        .encode_log_data()
    );
    assert!(!credentials.sender(w.stranger).has_valid(w.tutor, KIND));
    // Revoked: nothing left to revoke.
    assert_reverts(
        &vetting,
        VettingCredentialNotActive {
            tokenId: token_id,
            status: 2,
        },
        || {
            vetting
                .sender(proposer)
                .propose_revocation(token_id, CID.into())
        },
    );
    // An approved revocation starts the cooldown, as a rejection does (audit L2: before,
    // it started none, and the holder, still eligible, could apply again in the next
    // transaction and make the reviewers decide again at once).
    let until = w.now() + COOLDOWN;
    assert_eq!(
        vetting.sender(w.stranger).standing(w.tutor, KIND),
        (U256::ZERO, until)
    );
    assert_reverts(
        &vetting,
        VettingCooldown {
            tutor: w.tutor,
            kind: KIND,
            until,
        },
        || vetting.sender(w.tutor).apply_for(KIND, CID.into()),
    );
    clock::advance(COOLDOWN);
    assert_eq!(
        vetting.sender(w.tutor).apply_for(KIND, CID.into()),
        Ok(id(3))
    );
}

/// Audit M1: a holder cannot block a revocation by keeping a renewal open; the
/// revocation closes it as superseded (no cooldown) and takes the slot.
#[motsu::test]
fn a_revocation_supersedes_the_holders_open_renewal(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let (_, token_id) = w.certified();
    let renewal = vetting
        .sender(w.tutor)
        .apply_for(KIND, CID.into())
        .motsu_unwrap();
    assert_eq!(renewal, id(2));
    w.vote(0, renewal, true).motsu_unwrap();
    let proposer = w.reviewers[2];
    let (case, events) = with_events(&vetting, || {
        vetting
            .sender(proposer)
            .propose_revocation(token_id, CID.into())
            .motsu_unwrap()
    });
    assert_eq!(case, id(3));
    assert_eq!(
        events,
        [
            VettingSuperseded {
                applicationId: renewal,
                tutor: w.tutor,
                kind: KIND,
                revocationId: case,
            }
            .encode_log_data(),
            VettingApplicationOpened {
                applicationId: case,
                tutor: w.tutor,
                kind: KIND,
                action: Action::Revoke as u8,
                tokenId: token_id,
                openedBy: proposer,
                deadline: w.now() + PERIOD,
                cid: CID.into(),
            }
            .encode_log_data(),
        ]
    );
    // The renewal is closed, undecided, with its vote kept; no cooldown.
    assert_eq!(
        vetting.sender(w.stranger).application(renewal),
        (
            w.tutor,
            KIND,
            Action::Renew as u8,
            Status::Superseded as u8,
            2,
            1,
            0,
            w.now() + PERIOD,
            U256::ZERO
        )
    );
    assert_eq!(Status::Superseded as u8, 5);
    assert_eq!(
        vetting.sender(w.stranger).standing(w.tutor, KIND),
        (case, 0)
    );
    assert_reverts(
        &vetting,
        VettingNotOpen {
            applicationId: renewal,
            status: 5,
        },
        || w.vote(1, renewal, true),
    );
    // The revocation holds the slot: the holder cannot apply again, and a second
    // revocation cannot open.
    assert_reverts(
        &vetting,
        VettingApplicationPending {
            tutor: w.tutor,
            kind: KIND,
            applicationId: case,
        },
        || vetting.sender(w.tutor).apply_for(KIND, CID.into()),
    );
    assert_reverts(
        &vetting,
        VettingApplicationPending {
            tutor: w.tutor,
            kind: KIND,
            applicationId: case,
        },
        || {
            vetting
                .sender(w.reviewers[0])
                .propose_revocation(token_id, CID.into())
        },
    );
    // It is decided as any revocation.
    w.vote(0, case, true).motsu_unwrap();
    w.vote(1, case, true).motsu_unwrap();
    assert!(!credentials.sender(w.stranger).has_valid(w.tutor, KIND));
}

/// A stand-in for the credentials contract that reports credential 1 of [`KIND`] with
/// the validity and the holder's current credential a test sets: motsu fixes the real
/// contract's `block.timestamp`, so an expired credential, or one replaced after it
/// expired, cannot be produced there.
#[storage]
#[entrypoint]
pub struct StaleCredentials {
    holder: stylus_sdk::storage::StorageAddress,
    valid: stylus_sdk::storage::StorageBool,
    current: stylus_sdk::storage::StorageU256,
}

#[public]
impl StaleCredentials {
    pub fn set(&mut self, holder: Address, valid: bool, current: U256) {
        self.holder.set(holder);
        self.valid.set(valid);
        self.current.set(current);
    }

    /// As the credentials contract: `(holder, kind, issuedAt, expiry, status, valid)`,
    /// status 1 (issued, neither revoked nor burned).
    pub fn credential(&self, _token_id: U256) -> (Address, u32, u64, u64, u8, bool) {
        (self.holder.get(), KIND, T0, T0 + 1, 1, self.valid.get())
    }

    pub fn credential_of(&self, _holder: Address, _kind: u32) -> U256 {
        self.current.get()
    }
}

/// Audit L1: only the holder's current valid credential can be proposed for
/// revocation; an expired or replaced one would only occupy the holder's slot.
#[motsu::test]
fn propose_revocation_needs_the_current_valid_credential(
    stale: Contract<StaleCredentials>,
    ratings: Contract<Ratings>,
    vetting: Contract<Vetting>,
) {
    let (admin, reviewer, holder) = (
        Address::repeat_byte(0xad),
        Address::repeat_byte(0xa1),
        Address::repeat_byte(0x70),
    );
    vetting
        .sender(admin)
        .constructor(admin, stale.address(), ratings.address(), PERIOD, COOLDOWN)
        .motsu_unwrap();
    vetting.sender(admin).add_reviewer(reviewer).motsu_unwrap();
    vetting.sender(admin).set_quorum(1).motsu_unwrap();
    let propose = || {
        vetting
            .sender(reviewer)
            .propose_revocation(id(1), CID.into())
    };
    // Expired: still its holder's current credential, no longer valid.
    stale.sender(admin).set(holder, false, id(1));
    assert_reverts(
        &vetting,
        VettingCredentialNotCurrent {
            tokenId: id(1),
            holder,
            kind: KIND,
            current: id(1),
        },
        propose,
    );
    // Replaced by credential 2 (issued after 1 expired).
    stale.sender(admin).set(holder, true, id(2));
    assert_reverts(
        &vetting,
        VettingCredentialNotCurrent {
            tokenId: id(1),
            holder,
            kind: KIND,
            current: id(2),
        },
        propose,
    );
    // Expired with no current credential left.
    stale.sender(admin).set(holder, false, U256::ZERO);
    assert_reverts(
        &vetting,
        VettingCredentialNotCurrent {
            tokenId: id(1),
            holder,
            kind: KIND,
            current: U256::ZERO,
        },
        propose,
    );
    // The current valid credential: the revocation opens.
    stale.sender(admin).set(holder, true, id(1));
    assert_eq!(propose(), Ok(id(1)));
    assert_eq!(vetting.sender(reviewer).standing(holder, KIND), (id(1), 0));
}

#[motsu::test]
fn a_rejected_revocation_leaves_the_credential(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let (_, token_id) = w.certified();
    let case = vetting
        .sender(w.reviewers[0])
        .propose_revocation(token_id, CID.into())
        .motsu_unwrap();
    w.vote(1, case, false).motsu_unwrap();
    let ((), v, c) = with_both(&vetting, &credentials, || {
        w.vote(2, case, false).motsu_unwrap()
    });
    assert!(c.is_empty());
    assert_eq!(
        v.last().unwrap(),
        &VettingDecided {
            applicationId: case,
            tutor: w.tutor,
            kind: KIND,
            action: Action::Revoke as u8,
            approved: false,
            tokenId: U256::ZERO,
        }
        .encode_log_data()
    );
    assert!(credentials.sender(w.stranger).has_valid(w.tutor, KIND));
    assert_eq!(
        vetting.sender(w.stranger).standing(w.tutor, KIND),
        (U256::ZERO, 0)
    );
}

#[motsu::test]
fn propose_revocation_is_for_reviewers_and_known_credentials(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let (_, token_id) = w.certified();
    for who in [w.stranger, w.admin, w.tutor] {
        assert_reverts(&vetting, VettingNotReviewer { account: who }, || {
            vetting.sender(who).propose_revocation(token_id, CID.into())
        });
    }
    assert_reverts(
        &vetting,
        VettingUnknownCredential { tokenId: id(99) },
        || {
            vetting
                .sender(w.reviewers[0])
                .propose_revocation(id(99), CID.into())
        },
    );
    assert_reverts(&vetting, VettingInvalidCid { length: U256::ZERO }, || {
        vetting
            .sender(w.reviewers[0])
            .propose_revocation(token_id, String::new())
    });
}

#[motsu::test]
fn a_holder_renounces_by_burning_and_an_open_revocation_then_revokes_nothing(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let (_, token_id) = w.certified();
    let case = vetting
        .sender(w.reviewers[0])
        .propose_revocation(token_id, CID.into())
        .motsu_unwrap();
    credentials.sender(w.tutor).burn(token_id).motsu_unwrap();
    assert!(!credentials.sender(w.stranger).has_valid(w.tutor, KIND));
    w.vote(1, case, true).motsu_unwrap();
    let ((), v, c) = with_both(&vetting, &credentials, || {
        w.vote(2, case, true).motsu_unwrap()
    });
    assert!(c.is_empty());
    assert_eq!(
        v.last().unwrap(),
        &VettingDecided {
            applicationId: case,
            tutor: w.tutor,
            kind: KIND,
            action: Action::Revoke as u8,
            approved: true,
            tokenId: U256::ZERO,
        }
        .encode_log_data()
    );
    // The approval starts the cooldown all the same: burning does not dodge it (audit L2).
    let until = w.now() + COOLDOWN;
    assert_reverts(
        &vetting,
        VettingCooldown {
            tutor: w.tutor,
            kind: KIND,
            until,
        },
        || vetting.sender(w.tutor).apply_for(KIND, CID.into()),
    );
    // Burned: a revocation cannot even be proposed now.
    assert_reverts(
        &vetting,
        VettingCredentialNotActive {
            tokenId: token_id,
            status: 3,
        },
        || {
            vetting
                .sender(w.reviewers[0])
                .propose_revocation(token_id, CID.into())
        },
    );
}

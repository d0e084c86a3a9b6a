//! Revocation through the same vote, and a holder's renouncing through the credentials
//! contract's `burn`.

use alloy_primitives::U256;
use alloy_sol_types::SolEvent;
use motsu::prelude::*;

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
    // A revocation starts no cooldown: the tutor may apply again at once.
    assert_eq!(
        vetting.sender(w.tutor).apply_for(KIND, CID.into()),
        Ok(id(3))
    );
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

//! Voting: who may vote and when, the decision at quorum in the same transaction, the
//! deadline, and votes that stay as cast while the reviewer set changes.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use motsu::prelude::*;

use super::*;

fn voted(app: U256, reviewer: Address, approve: bool, a: u32, r: u32, cid: &str) -> LogData {
    VettingVoted {
        applicationId: app,
        reviewer,
        approve,
        approvals: a,
        rejections: r,
        reasonCid: cid.into(),
    }
    .encode_log_data()
}

#[motsu::test]
fn the_quorums_approval_issues_the_credential_in_the_same_call(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    let [r0, r1, _] = w.reviewers;
    let ((), v, c) = with_both(&vetting, &credentials, || {
        vetting
            .sender(r0)
            .vote(app, true, CID.into())
            .motsu_unwrap()
    });
    assert_eq!(v, [voted(app, r0, true, 1, 0, CID)]);
    assert!(c.is_empty());
    assert!(!credentials.sender(w.stranger).has_valid(w.tutor, KIND));

    let ((), v, c) = with_both(&vetting, &credentials, || {
        vetting
            .sender(r1)
            .vote(app, true, String::new())
            .motsu_unwrap()
    });
    let token_id = U256::from(1);
    assert_eq!(
        v,
        [
            voted(app, r1, true, 2, 0, ""),
            VettingDecided {
                applicationId: app,
                tutor: w.tutor,
                kind: KIND,
                action: Action::Issue as u8,
                approved: true,
                tokenId: token_id,
            }
            .encode_log_data()
        ]
    );
    // Transfer (mint), Locked, CredentialIssued.
    assert_eq!(c.len(), 3);
    assert_eq!(
        c[2],
        minuto_credentials::CredentialIssued {
            tokenId: token_id,
            holder: w.tutor,
            kind: KIND,
            expiry: w.now() + TERM,
            uri: URI.into(),
            issuer: vetting.address(),
        }
        .encode_log_data()
    );
    assert!(credentials.sender(w.stranger).has_valid(w.tutor, KIND));
    assert_eq!(
        vetting.sender(w.stranger).application(app),
        (
            w.tutor,
            KIND,
            1,
            2,
            2,
            2,
            0,
            T0 + 2 * MIN_DURATION + PERIOD,
            token_id
        )
    );
    assert_eq!(
        vetting.sender(w.stranger).standing(w.tutor, KIND),
        (U256::ZERO, 0)
    );
    assert_eq!(vetting.sender(w.stranger).vote_of(app, r0), 1);
    assert_eq!(vetting.sender(w.stranger).vote_of(app, r1), 1);
    assert_eq!(vetting.sender(w.stranger).vote_of(app, w.reviewers[2]), 0);
    // Decided: the third reviewer's vote has nothing left to count.
    assert_reverts(
        &vetting,
        VettingNotOpen {
            applicationId: app,
            status: Status::Approved as u8,
        },
        || w.vote(2, app, false),
    );
}

#[motsu::test]
fn a_kind_with_term_zero_issues_a_credential_that_never_expires(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    vetting
        .sender(w.admin)
        .set_kind(KIND, MIN_RATED, MIN_AVERAGE, 0, URI.into())
        .motsu_unwrap();
    let (_, token_id) = w.certified();
    assert_eq!(
        credentials
            .sender(w.stranger)
            .credential(token_id)
            .unwrap()
            .3,
        0
    );
}

#[motsu::test]
fn the_quorums_rejection_closes_the_application(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    let [r0, r1, r2] = w.reviewers;
    w.vote(0, app, false).motsu_unwrap();
    w.vote(1, app, true).motsu_unwrap();
    let ((), v, c) = with_both(&vetting, &credentials, || {
        vetting
            .sender(r2)
            .vote(app, false, CID.into())
            .motsu_unwrap()
    });
    assert_eq!(
        v,
        [
            voted(app, r2, false, 1, 2, CID),
            VettingDecided {
                applicationId: app,
                tutor: w.tutor,
                kind: KIND,
                action: Action::Issue as u8,
                approved: false,
                tokenId: U256::ZERO,
            }
            .encode_log_data()
        ]
    );
    assert!(c.is_empty());
    assert!(!credentials.sender(w.stranger).has_valid(w.tutor, KIND));
    assert_eq!(vetting.sender(w.stranger).application(app).3, 3);
    assert_eq!(
        (
            vetting.sender(w.stranger).vote_of(app, r0),
            vetting.sender(w.stranger).vote_of(app, r1),
            vetting.sender(w.stranger).vote_of(app, r2)
        ),
        (2, 1, 2)
    );
}

#[motsu::test]
fn vote_is_for_reviewers_once_and_never_on_their_own_case(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    for who in [w.stranger, w.tutor, w.admin] {
        assert_reverts(&vetting, VettingNotReviewer { account: who }, || {
            vetting.sender(who).vote(app, true, String::new())
        });
    }
    w.vote(0, app, false).motsu_unwrap();
    assert_reverts(
        &vetting,
        VettingAlreadyVoted {
            applicationId: app,
            reviewer: w.reviewers[0],
        },
        || w.vote(0, app, true),
    );
    // A reviewer who applies does not vote on their own application.
    let reviewer = w.reviewers[1];
    w.rate(reviewer, 5);
    w.rate(reviewer, 4);
    let own = vetting
        .sender(reviewer)
        .apply_for(KIND, CID.into())
        .motsu_unwrap();
    assert_reverts(
        &vetting,
        VettingSelfVote {
            applicationId: own,
            reviewer,
        },
        || w.vote(1, own, true),
    );
}

#[motsu::test]
fn vote_rejects_an_unknown_application_and_a_long_reason(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    for app in [U256::ZERO, id(1), U256::MAX] {
        assert_reverts(
            &vetting,
            VettingUnknownApplication { applicationId: app },
            || w.vote(0, app, true),
        );
    }
    let app = w.applied();
    assert_reverts(
        &vetting,
        VettingInvalidCid {
            length: U256::from(MAX_CID_LEN + 1),
        },
        || {
            vetting
                .sender(w.reviewers[0])
                .vote(app, true, "r".repeat(MAX_CID_LEN + 1))
        },
    );
}

#[motsu::test]
fn an_application_takes_votes_until_its_deadline_then_expires(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    let deadline = w.now() + PERIOD;
    clock::advance(PERIOD);
    // At the deadline: still open.
    assert_reverts(
        &vetting,
        VettingVotingOpen {
            applicationId: app,
            deadline,
        },
        || vetting.sender(w.stranger).expire(app),
    );
    w.vote(0, app, true).motsu_unwrap();
    clock::advance(1);
    assert_reverts(
        &vetting,
        VettingVotingClosed {
            applicationId: app,
            deadline,
        },
        || w.vote(1, app, true),
    );
    let ((), events) = with_events(&vetting, || {
        vetting.sender(w.stranger).expire(app).motsu_unwrap()
    });
    assert_eq!(
        events,
        [VettingExpired {
            applicationId: app,
            tutor: w.tutor,
            kind: KIND,
        }
        .encode_log_data()]
    );
    assert_eq!(vetting.sender(w.stranger).application(app).3, 4);
    for call in [
        |w: &World, app| w.vote(1, app, true),
        |w: &World, app| w.vetting.sender(w.stranger).expire(app),
    ] {
        assert_reverts(
            &vetting,
            VettingNotOpen {
                applicationId: app,
                status: 4,
            },
            || call(&w, app),
        );
    }
    assert_reverts(
        &vetting,
        VettingUnknownApplication {
            applicationId: id(9),
        },
        || vetting.sender(w.stranger).expire(id(9)),
    );
    // No cooldown after an expiry: the tutor applies again at once.
    assert_eq!(
        vetting.sender(w.tutor).apply_for(KIND, CID.into()),
        Ok(id(2))
    );
}

#[motsu::test]
fn votes_cast_stay_when_reviewers_and_quorum_change(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    let r0 = w.reviewers[0];
    w.vote(0, app, true).motsu_unwrap();
    // r0 leaves, a newcomer joins, the quorum goes to 3 for later applications.
    vetting.sender(w.admin).remove_reviewer(r0).motsu_unwrap();
    let newcomer = Address::repeat_byte(0xa4);
    vetting
        .sender(w.admin)
        .add_reviewer(newcomer)
        .motsu_unwrap();
    vetting.sender(w.admin).set_quorum(3).motsu_unwrap();
    assert_eq!(vetting.sender(w.stranger).vote_of(app, r0), 1);
    assert_reverts(&vetting, VettingNotReviewer { account: r0 }, || {
        vetting.sender(r0).vote(app, false, String::new())
    });
    // r0's approval still counts and the quorum is still 2: the newcomer decides.
    let ((), v, _) = with_both(&vetting, &credentials, || {
        vetting
            .sender(newcomer)
            .vote(app, true, String::new())
            .motsu_unwrap()
    });
    assert_eq!(v[0], voted(app, newcomer, true, 2, 0, ""));
    assert_eq!(v.len(), 2);
    assert!(credentials.sender(w.stranger).has_valid(w.tutor, KIND));
    assert_eq!(vetting.sender(w.stranger).application(app).4, 2);
}

#[motsu::test]
fn a_decision_that_cannot_issue_reverts_the_vote(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    credentials
        .sender(w.admin)
        .revoke_role(
            alloy_primitives::B256::from(minuto_credentials::ISSUER_ROLE),
            vetting.address(),
        )
        .motsu_unwrap();
    w.vote(0, app, true).motsu_unwrap();
    assert_reverts(
        &vetting,
        VettingCredentialCallFailed { applicationId: app },
        || w.vote(1, app, true),
    );
    // Nothing was recorded: the application is open with one approval.
    assert_eq!(vetting.sender(w.stranger).application(app).3, 1);
    assert_eq!(vetting.sender(w.stranger).application(app).5, 1);
    assert_eq!(vetting.sender(w.stranger).vote_of(app, w.reviewers[1]), 0);
    // With the role back, the same vote decides.
    credentials
        .sender(w.admin)
        .grant_role(
            alloy_primitives::B256::from(minuto_credentials::ISSUER_ROLE),
            vetting.address(),
        )
        .motsu_unwrap();
    w.vote(1, app, true).motsu_unwrap();
    assert!(credentials.sender(w.stranger).has_valid(w.tutor, KIND));
}

#[motsu::test]
fn an_approval_replaces_a_credential_issued_meanwhile_by_another_issuer(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    // The credentials admin issues one by hand while the application is open.
    let role = alloy_primitives::B256::from(minuto_credentials::ISSUER_ROLE);
    credentials
        .sender(w.admin)
        .grant_role(role, w.admin)
        .motsu_unwrap();
    let manual = credentials
        .sender(w.admin)
        .issue(w.tutor, KIND, 0, "ipfs://manual".into())
        .motsu_unwrap();
    w.vote(0, app, true).motsu_unwrap();
    let ((), v, c) = with_both(&vetting, &credentials, || {
        w.vote(1, app, true).motsu_unwrap()
    });
    // The credentials contract holds one current credential per (holder, kind): the
    // manual one is revoked, the voted one issued with the kind's term and URI.
    let voted_id = manual + U256::from(1);
    assert_eq!(
        c[0],
        minuto_credentials::CredentialRevoked {
            tokenId: manual,
            holder: w.tutor,
            kind: KIND,
            issuer: vetting.address(),
        }
        .encode_log_data()
    );
    assert_eq!(
        v.last().unwrap(),
        &VettingDecided {
            applicationId: app,
            tutor: w.tutor,
            kind: KIND,
            action: Action::Issue as u8,
            approved: true,
            tokenId: voted_id,
        }
        .encode_log_data()
    );
    assert_eq!(
        credentials.sender(w.stranger).credential_of(w.tutor, KIND),
        voted_id
    );
    assert_eq!(
        credentials
            .sender(w.stranger)
            .credential(voted_id)
            .unwrap()
            .3,
        w.now() + TERM
    );
}

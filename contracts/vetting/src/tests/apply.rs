//! Applying: the kind's rule, eligibility from the rating registry, one open case per
//! (tutor, kind), the cooldown after a rejection, renewals.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use motsu::prelude::*;

use super::*;

#[motsu::test]
fn apply_opens_an_issue_application(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    w.eligible();
    let (app, events) = with_events(&vetting, || {
        vetting
            .sender(w.tutor)
            .apply_for(KIND, CID.into())
            .motsu_unwrap()
    });
    assert_eq!(app, id(1));
    let deadline = w.now() + PERIOD;
    assert_eq!(
        events,
        [VettingApplicationOpened {
            applicationId: app,
            tutor: w.tutor,
            kind: KIND,
            action: Action::Issue as u8,
            tokenId: U256::ZERO,
            openedBy: w.tutor,
            deadline,
            cid: CID.into(),
        }
        .encode_log_data()]
    );
    assert_eq!(
        vetting.sender(w.stranger).application(app),
        (w.tutor, KIND, 1, 1, 2, 0, 0, deadline, U256::ZERO)
    );
    assert_eq!(vetting.sender(w.stranger).standing(w.tutor, KIND), (app, 0));
}

#[motsu::test]
fn apply_rejects_a_kind_without_a_rule(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    w.eligible();
    for kind in [0, KIND + 1] {
        assert_reverts(&vetting, VettingUnknownKind { kind }, || {
            vetting.sender(w.tutor).apply_for(kind, CID.into())
        });
    }
}

#[motsu::test]
fn apply_rejects_an_empty_or_long_cid(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    w.eligible();
    for len in [0, MAX_CID_LEN + 1] {
        assert_reverts(
            &vetting,
            VettingInvalidCid {
                length: U256::from(len),
            },
            || vetting.sender(w.tutor).apply_for(KIND, "b".repeat(len)),
        );
    }
    vetting
        .sender(w.tutor)
        .apply_for(KIND, "b".repeat(MAX_CID_LEN))
        .motsu_unwrap();
}

#[motsu::test]
fn apply_needs_the_kinds_number_of_ratings(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let too_few = |rated| VettingTooFewRatings {
        tutor: w.tutor,
        kind: KIND,
        rated,
        minRated: MIN_RATED,
    };
    assert_reverts(&vetting, too_few(0), || {
        vetting.sender(w.tutor).apply_for(KIND, CID.into())
    });
    w.rate(w.tutor, 5);
    assert_reverts(&vetting, too_few(1), || {
        vetting.sender(w.tutor).apply_for(KIND, CID.into())
    });
    w.rate(w.tutor, 5);
    vetting
        .sender(w.tutor)
        .apply_for(KIND, CID.into())
        .motsu_unwrap();
}

#[motsu::test]
fn apply_needs_the_kinds_average(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    // 5 + 2 = 7 over 2: 3.50, under 4.00.
    w.rate(w.tutor, 5);
    w.rate(w.tutor, 2);
    assert_reverts(
        &vetting,
        VettingAverageTooLow {
            tutor: w.tutor,
            kind: KIND,
            scoreSum: 7,
            rated: 2,
            minAverage: MIN_AVERAGE,
        },
        || vetting.sender(w.tutor).apply_for(KIND, CID.into()),
    );
    // 5 + 2 + 5 = 12 over 3: exactly 4.00 is enough.
    w.rate(w.tutor, 5);
    vetting
        .sender(w.tutor)
        .apply_for(KIND, CID.into())
        .motsu_unwrap();
}

#[motsu::test]
fn apply_allows_one_open_case_per_tutor_and_kind(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    assert_reverts(
        &vetting,
        VettingApplicationPending {
            tutor: w.tutor,
            kind: KIND,
            applicationId: app,
        },
        || vetting.sender(w.tutor).apply_for(KIND, CID.into()),
    );
    // Another kind is another case.
    vetting
        .sender(w.admin)
        .set_kind(KIND + 1, 0, 0, 0, URI.into())
        .motsu_unwrap();
    assert_eq!(
        vetting.sender(w.tutor).apply_for(KIND + 1, CID.into()),
        Ok(id(2))
    );
}

#[motsu::test]
fn apply_needs_a_quorum(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::bare(&escrow, &token, &ratings, &credentials, &vetting);
    vetting
        .sender(w.admin)
        .set_kind(KIND, 0, 0, TERM, URI.into())
        .motsu_unwrap();
    assert_reverts(&vetting, VettingNoQuorum {}, || {
        vetting.sender(w.tutor).apply_for(KIND, CID.into())
    });
}

#[motsu::test]
fn a_rejection_bars_the_tutor_for_the_cooldown(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let app = w.applied();
    w.vote(0, app, false).motsu_unwrap();
    w.vote(2, app, false).motsu_unwrap();
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
    clock::advance(COOLDOWN - 1);
    assert_reverts(
        &vetting,
        VettingCooldown {
            tutor: w.tutor,
            kind: KIND,
            until,
        },
        || vetting.sender(w.tutor).apply_for(KIND, CID.into()),
    );
    clock::advance(1);
    assert_eq!(
        vetting.sender(w.tutor).apply_for(KIND, CID.into()),
        Ok(id(2))
    );
}

#[motsu::test]
fn a_holder_applying_again_asks_for_a_renewal(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let (_, old) = w.certified();
    clock::advance(TERM / 2);
    let (renewal, events) = with_events(&vetting, || {
        vetting
            .sender(w.tutor)
            .apply_for(KIND, CID.into())
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [VettingApplicationOpened {
            applicationId: renewal,
            tutor: w.tutor,
            kind: KIND,
            action: Action::Renew as u8,
            tokenId: U256::ZERO,
            openedBy: w.tutor,
            deadline: w.now() + PERIOD,
            cid: CID.into(),
        }
        .encode_log_data()]
    );
    w.vote(1, renewal, true).motsu_unwrap();
    let ((), v, c) = with_both(&vetting, &credentials, || {
        w.vote(2, renewal, true).motsu_unwrap()
    });
    let new = old + U256::from(1);
    // The old credential makes way, then the new one runs a full term from now.
    assert_eq!(
        c[0],
        minuto_credentials::CredentialRevoked {
            tokenId: old,
            holder: w.tutor,
            kind: KIND,
            issuer: vetting.address(),
        }
        .encode_log_data()
    );
    assert_eq!(
        c.last().unwrap(),
        &minuto_credentials::CredentialIssued {
            tokenId: new,
            holder: w.tutor,
            kind: KIND,
            expiry: w.now() + TERM,
            uri: URI.into(),
            issuer: vetting.address(),
        }
        .encode_log_data()
    );
    assert_eq!(
        v.last().unwrap(),
        &VettingDecided {
            applicationId: renewal,
            tutor: w.tutor,
            kind: KIND,
            action: Action::Renew as u8,
            approved: true,
            tokenId: new,
        }
        .encode_log_data()
    );
    assert_eq!(
        credentials.sender(w.stranger).credential_of(w.tutor, KIND),
        new
    );
    assert!(credentials.sender(w.stranger).has_valid(w.tutor, KIND));
    // The old one stays with its holder, revoked (status 2).
    assert_eq!(credentials.sender(w.stranger).credential(old).unwrap().4, 2);
}

#[motsu::test]
fn an_approved_credential_lets_gated_sessions_start(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    w.eligible();
    let gated = w.lesson(w.tutor, KIND).motsu_unwrap();
    let refused = escrow
        .sender(w.tutor)
        .start(gated, Address::repeat_byte(0x4b))
        .motsu_unwrap_err();
    assert_eq!(
        Vec::<u8>::from(refused),
        alloy_sol_types::SolError::abi_encode(&minuto_escrow::EscrowCredentialRequired {
            id: gated,
            tutor: w.tutor,
            kind: KIND,
        })
    );
    w.certified();
    escrow
        .sender(w.tutor)
        .start(gated, Address::repeat_byte(0x4b))
        .motsu_unwrap();
}

#[motsu::test]
fn apply_fails_typed_when_the_ratings_do_not_answer(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
    miswired: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    w.eligible();
    // A contract, but not a rating registry: the token has no `aggregates`.
    miswired
        .sender(w.admin)
        .constructor(
            w.admin,
            credentials.address(),
            token.address(),
            PERIOD,
            COOLDOWN,
        )
        .motsu_unwrap();
    miswired
        .sender(w.admin)
        .add_reviewer(w.reviewers[0])
        .motsu_unwrap();
    miswired.sender(w.admin).set_quorum(1).motsu_unwrap();
    miswired
        .sender(w.admin)
        .set_kind(KIND, MIN_RATED, MIN_AVERAGE, TERM, URI.into())
        .motsu_unwrap();
    assert_reverts(
        &miswired,
        VettingRatingsUnavailable {
            ratings: token.address(),
        },
        || miswired.sender(w.tutor).apply_for(KIND, CID.into()),
    );
}

#[motsu::test]
fn apply_fails_typed_when_the_credentials_do_not_answer(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
    miswired: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    w.eligible();
    miswired
        .sender(w.admin)
        .constructor(
            w.admin,
            token.address(),
            ratings.address(),
            PERIOD,
            COOLDOWN,
        )
        .motsu_unwrap();
    miswired
        .sender(w.admin)
        .add_reviewer(w.reviewers[0])
        .motsu_unwrap();
    miswired.sender(w.admin).set_quorum(1).motsu_unwrap();
    miswired
        .sender(w.admin)
        .set_kind(KIND, MIN_RATED, MIN_AVERAGE, TERM, URI.into())
        .motsu_unwrap();
    assert_reverts(
        &miswired,
        VettingCredentialsUnavailable {
            credentials: token.address(),
        },
        || miswired.sender(w.tutor).apply_for(KIND, CID.into()),
    );
    // A revocation proposal reads the credentials too.
    assert_reverts(
        &miswired,
        VettingCredentialsUnavailable {
            credentials: token.address(),
        },
        || {
            miswired
                .sender(w.reviewers[0])
                .propose_revocation(id(1), CID.into())
        },
    );
}

//! The constructor and the admin's settings: reviewers, quorum, kind rules, periods, and
//! the two-step hand-over.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use motsu::prelude::*;

use super::*;

#[motsu::test]
fn constructor_rejects_a_zero_admin_and_addresses_without_code(
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let admin = Address::repeat_byte(0xad);
    let nobody = Address::repeat_byte(0x99);
    assert_reverts(
        &vetting,
        VettingInvalidAddress {
            account: Address::ZERO,
        },
        || {
            vetting.sender(admin).constructor(
                Address::ZERO,
                credentials.address(),
                ratings.address(),
                PERIOD,
                COOLDOWN,
            )
        },
    );
    assert_reverts(&vetting, VettingInvalidAddress { account: nobody }, || {
        vetting
            .sender(admin)
            .constructor(admin, nobody, ratings.address(), PERIOD, COOLDOWN)
    });
    assert_reverts(&vetting, VettingInvalidAddress { account: nobody }, || {
        vetting
            .sender(admin)
            .constructor(admin, credentials.address(), nobody, PERIOD, COOLDOWN)
    });
    assert_reverts(
        &vetting,
        VettingInvalidConfig {
            votingPeriod: 0,
            cooldown: COOLDOWN,
        },
        || {
            vetting.sender(admin).constructor(
                admin,
                credentials.address(),
                ratings.address(),
                0,
                COOLDOWN,
            )
        },
    );
    let ((), events) = with_events(&vetting, || {
        vetting
            .sender(admin)
            .constructor(admin, credentials.address(), ratings.address(), PERIOD, 0)
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [
            AdminTransferred {
                previousAdmin: Address::ZERO,
                admin
            }
            .encode_log_data(),
            VettingConfigUpdated {
                votingPeriod: PERIOD,
                cooldown: 0
            }
            .encode_log_data()
        ]
    );
    assert_eq!(
        vetting.sender(nobody).config(),
        (
            admin,
            credentials.address(),
            ratings.address(),
            PERIOD,
            0,
            0,
            0
        )
    );
}

#[motsu::test]
fn reviewers_are_added_and_removed_by_the_admin(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::bare(&escrow, &token, &ratings, &credentials, &vetting);
    let r = w.reviewers[0];
    assert_reverts(&vetting, VettingNotAdmin { caller: w.stranger }, || {
        vetting.sender(w.stranger).add_reviewer(r)
    });
    assert_reverts(
        &vetting,
        VettingInvalidAddress {
            account: Address::ZERO,
        },
        || vetting.sender(w.admin).add_reviewer(Address::ZERO),
    );
    let ((), events) = with_events(&vetting, || {
        vetting.sender(w.admin).add_reviewer(r).motsu_unwrap()
    });
    assert_eq!(
        events,
        [VettingReviewerAdded {
            reviewer: r,
            reviewers: 1
        }
        .encode_log_data()]
    );
    assert!(vetting.sender(w.stranger).is_reviewer(r));
    assert_reverts(&vetting, VettingAlreadyReviewer { account: r }, || {
        vetting.sender(w.admin).add_reviewer(r)
    });
    vetting
        .sender(w.admin)
        .add_reviewer(w.reviewers[1])
        .motsu_unwrap();
    vetting.sender(w.admin).set_quorum(2).motsu_unwrap();
    // Two reviewers, quorum two: neither may leave until the quorum drops.
    assert_reverts(
        &vetting,
        VettingInvalidQuorum {
            quorum: 2,
            reviewers: 1,
        },
        || vetting.sender(w.admin).remove_reviewer(r),
    );
    assert_reverts(&vetting, VettingNotAdmin { caller: r }, || {
        vetting.sender(r).remove_reviewer(r)
    });
    assert_reverts(
        &vetting,
        VettingNotReviewer {
            account: w.stranger,
        },
        || vetting.sender(w.admin).remove_reviewer(w.stranger),
    );
    vetting.sender(w.admin).set_quorum(1).motsu_unwrap();
    let ((), events) = with_events(&vetting, || {
        vetting.sender(w.admin).remove_reviewer(r).motsu_unwrap()
    });
    assert_eq!(
        events,
        [VettingReviewerRemoved {
            reviewer: r,
            reviewers: 1
        }
        .encode_log_data()]
    );
    assert!(!vetting.sender(w.stranger).is_reviewer(r));
    assert_eq!(vetting.sender(w.stranger).config().6, 1);
}

#[motsu::test]
fn set_quorum_is_one_to_the_number_of_reviewers(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    for quorum in [0, 4] {
        assert_reverts(
            &vetting,
            VettingInvalidQuorum {
                quorum,
                reviewers: 3,
            },
            || vetting.sender(w.admin).set_quorum(quorum),
        );
    }
    assert_reverts(&vetting, VettingNotAdmin { caller: w.stranger }, || {
        vetting.sender(w.stranger).set_quorum(1)
    });
    let ((), events) = with_events(&vetting, || {
        vetting.sender(w.admin).set_quorum(3).motsu_unwrap()
    });
    assert_eq!(
        events,
        [VettingQuorumSet {
            quorum: 3,
            reviewers: 3
        }
        .encode_log_data()]
    );
    assert_eq!(vetting.sender(w.stranger).config().5, 3);
    // Applications opened from now on need three.
    let app = w.applied();
    assert_eq!(vetting.sender(w.stranger).application(app).4, 3);
}

#[motsu::test]
fn set_kind_checks_and_emits_the_rule(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::bare(&escrow, &token, &ratings, &credentials, &vetting);
    assert_reverts(&vetting, VettingNotAdmin { caller: w.stranger }, || {
        vetting
            .sender(w.stranger)
            .set_kind(KIND, 1, 1, 1, URI.into())
    });
    assert_reverts(&vetting, VettingInvalidKind { kind: 0 }, || {
        vetting.sender(w.admin).set_kind(0, 1, 1, 1, URI.into())
    });
    assert_reverts(
        &vetting,
        VettingInvalidAverage {
            kind: KIND,
            minAverage: 501,
        },
        || {
            vetting
                .sender(w.admin)
                .set_kind(KIND, 1, 501, 1, URI.into())
        },
    );
    for len in [0, MAX_URI_LEN + 1] {
        assert_reverts(
            &vetting,
            VettingInvalidUri {
                length: U256::from(len),
            },
            || {
                vetting
                    .sender(w.admin)
                    .set_kind(KIND, 1, 1, 1, "u".repeat(len))
            },
        );
    }
    let long = "u".repeat(MAX_URI_LEN);
    let ((), events) = with_events(&vetting, || {
        vetting
            .sender(w.admin)
            .set_kind(KIND, u64::MAX, MAX_AVERAGE, TERM, long.clone())
            .motsu_unwrap()
    });
    assert_eq!(
        events,
        [VettingKindSet {
            kind: KIND,
            minRatedSessions: u64::MAX,
            minAverage: MAX_AVERAGE,
            term: TERM,
            uri: long.clone(),
        }
        .encode_log_data()]
    );
    assert_eq!(
        vetting.sender(w.stranger).kind_rule(KIND),
        (u64::MAX, MAX_AVERAGE, TERM, long)
    );
    // A shorter URI replaces the longer one whole.
    vetting
        .sender(w.admin)
        .set_kind(KIND, 0, 0, 0, URI.into())
        .motsu_unwrap();
    assert_eq!(
        vetting.sender(w.stranger).kind_rule(KIND),
        (0, 0, 0, URI.to_string())
    );
    assert_eq!(
        vetting.sender(w.stranger).kind_rule(KIND + 1),
        (0, 0, 0, String::new())
    );
}

#[motsu::test]
fn set_config_is_admin_only_and_applies_to_new_applications(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    assert_reverts(&vetting, VettingNotAdmin { caller: w.stranger }, || {
        vetting.sender(w.stranger).set_config(1, 1)
    });
    assert_reverts(
        &vetting,
        VettingInvalidConfig {
            votingPeriod: 0,
            cooldown: 5,
        },
        || vetting.sender(w.admin).set_config(0, 5),
    );
    let ((), events) = with_events(&vetting, || {
        vetting.sender(w.admin).set_config(60, 5).motsu_unwrap()
    });
    assert_eq!(
        events,
        [VettingConfigUpdated {
            votingPeriod: 60,
            cooldown: 5
        }
        .encode_log_data()]
    );
    let app = w.applied();
    assert_eq!(vetting.sender(w.stranger).application(app).7, w.now() + 60);
}

#[motsu::test]
fn admin_hands_over_in_two_steps(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    let w = World::bare(&escrow, &token, &ratings, &credentials, &vetting);
    let next = Address::repeat_byte(0x4e);
    assert_reverts(&vetting, VettingNotAdmin { caller: w.stranger }, || {
        vetting.sender(w.stranger).transfer_admin(next)
    });
    let ((), events) = with_events(&vetting, || {
        vetting.sender(w.admin).transfer_admin(next).motsu_unwrap()
    });
    assert_eq!(
        events,
        [AdminTransferStarted {
            admin: w.admin,
            pendingAdmin: next
        }
        .encode_log_data()]
    );
    assert_eq!(vetting.sender(w.stranger).pending_admin(), next);
    assert_reverts(&vetting, VettingNotAdmin { caller: next }, || {
        vetting.sender(next).add_reviewer(next)
    });
    assert_reverts(&vetting, VettingNotAdmin { caller: w.stranger }, || {
        vetting.sender(w.stranger).accept_admin()
    });
    let ((), events) = with_events(&vetting, || {
        vetting.sender(next).accept_admin().motsu_unwrap()
    });
    assert_eq!(
        events,
        [AdminTransferred {
            previousAdmin: w.admin,
            admin: next
        }
        .encode_log_data()]
    );
    assert_eq!(vetting.sender(w.stranger).config().0, next);
    assert_eq!(vetting.sender(w.stranger).pending_admin(), Address::ZERO);
    assert_reverts(&vetting, VettingNotAdmin { caller: w.admin }, || {
        vetting.sender(w.admin).add_reviewer(next)
    });
    vetting.sender(next).add_reviewer(next).motsu_unwrap();
}

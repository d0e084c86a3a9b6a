//! The ABI cannot lie: the hand-written encodings equal alloy's, and the `abi:begin`
//! fragment declares every error the contract returns and every event it emits.

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolError, SolEvent};
use motsu::prelude::*;

use super::*;

/// One value of every error variant with alloy's encoding of it; the `match` fails to
/// compile when a variant is added and not listed here.
fn every_error() -> Vec<(Error, Vec<u8>)> {
    let (n, a) = (U256::MAX - U256::from(1), Address::repeat_byte(0xa1));
    macro_rules! pairs {
        ($($e:expr),* $(,)?) => {
            vec![$((Error::from($e), $e.abi_encode())),*]
        };
    }
    let all = pairs![
        VettingInvalidAddress { account: a },
        VettingInvalidConfig {
            votingPeriod: u64::MAX,
            cooldown: u64::MAX - 1
        },
        VettingNotAdmin { caller: a },
        VettingNotReviewer { account: a },
        VettingAlreadyReviewer { account: a },
        VettingInvalidQuorum {
            quorum: u32::MAX,
            reviewers: u32::MAX - 1
        },
        VettingNoQuorum {},
        VettingInvalidKind { kind: u32::MAX },
        VettingInvalidAverage {
            kind: u32::MAX,
            minAverage: u16::MAX
        },
        VettingInvalidUri { length: n },
        VettingUnknownKind { kind: u32::MAX },
        VettingInvalidCid { length: n },
        VettingApplicationPending {
            tutor: a,
            kind: u32::MAX,
            applicationId: n
        },
        VettingCooldown {
            tutor: a,
            kind: u32::MAX,
            until: u64::MAX
        },
        VettingTooFewRatings {
            tutor: a,
            kind: 3,
            rated: u64::MAX - 1,
            minRated: u64::MAX
        },
        VettingAverageTooLow {
            tutor: a,
            kind: 3,
            scoreSum: u64::MAX,
            rated: u64::MAX - 1,
            minAverage: u16::MAX
        },
        VettingRatingsUnavailable { ratings: a },
        VettingCredentialsUnavailable { credentials: a },
        VettingUnknownCredential { tokenId: n },
        VettingCredentialNotActive {
            tokenId: n,
            status: u8::MAX
        },
        VettingCredentialNotCurrent {
            tokenId: n,
            holder: a,
            kind: u32::MAX,
            current: U256::MAX
        },
        VettingUnknownApplication { applicationId: n },
        VettingNotOpen {
            applicationId: n,
            status: u8::MAX
        },
        VettingVotingClosed {
            applicationId: n,
            deadline: u64::MAX
        },
        VettingVotingOpen {
            applicationId: n,
            deadline: u64::MAX
        },
        VettingSelfVote {
            applicationId: n,
            reviewer: a
        },
        VettingAlreadyVoted {
            applicationId: n,
            reviewer: a
        },
        VettingCredentialCallFailed { applicationId: n },
        VettingIdUnavailable {},
    ];
    for (error, _) in &all {
        match error {
            Error::InvalidAddress(_)
            | Error::InvalidConfig(_)
            | Error::NotAdmin(_)
            | Error::NotReviewer(_)
            | Error::AlreadyReviewer(_)
            | Error::InvalidQuorum(_)
            | Error::NoQuorum(_)
            | Error::InvalidKind(_)
            | Error::InvalidAverage(_)
            | Error::InvalidUri(_)
            | Error::UnknownKind(_)
            | Error::InvalidCid(_)
            | Error::ApplicationPending(_)
            | Error::Cooldown(_)
            | Error::TooFewRatings(_)
            | Error::AverageTooLow(_)
            | Error::RatingsUnavailable(_)
            | Error::CredentialsUnavailable(_)
            | Error::UnknownCredential(_)
            | Error::CredentialNotActive(_)
            | Error::CredentialNotCurrent(_)
            | Error::UnknownApplication(_)
            | Error::NotOpen(_)
            | Error::VotingClosed(_)
            | Error::VotingOpen(_)
            | Error::SelfVote(_)
            | Error::AlreadyVoted(_)
            | Error::CredentialCallFailed(_)
            | Error::IdUnavailable(_) => {}
        }
    }
    all
}

#[test]
fn errors_encode_as_alloy_does() {
    for (error, expected) in every_error() {
        let name = format!("{error:?}");
        assert_eq!(Vec::<u8>::from(error), expected, "{name}");
    }
}

/// The declarations between `abi:begin` and `abi:end` in `lib.rs`, as the xtask reads
/// them.
fn fragment() -> &'static str {
    let source = include_str!("../lib.rs");
    // Spelled in two pieces so that the xtask does not take this file for a fragment.
    let begin = source.find(concat!("// abi:", "begin")).unwrap();
    let end = source.find(concat!("// abi:", "end")).unwrap();
    &source[begin..end]
}

#[test]
fn errors_are_all_declared_in_the_abi() {
    for (error, _) in every_error() {
        let name = format!("{error:?}");
        // `Variant(VettingVariant { .. })`: the Solidity name is the inner type's.
        let solidity = name.split(['(', ' ', ')']).nth(1).unwrap();
        assert!(
            fragment().contains(&format!("error {solidity}(")),
            "{solidity} is not declared in the abi fragment"
        );
    }
}

#[motsu::test]
fn events_are_all_declared_in_the_abi(
    escrow: Contract<SessionEscrow>,
    token: Contract<TestToken>,
    ratings: Contract<Ratings>,
    credentials: Contract<Credentials>,
    vetting: Contract<Vetting>,
) {
    // Every kind of state change the contract has.
    let w = World::new(&escrow, &token, &ratings, &credentials, &vetting);
    let (_, token_id) = w.certified();
    let case = vetting
        .sender(w.reviewers[0])
        .propose_revocation(token_id, CID.into())
        .motsu_unwrap();
    clock::advance(PERIOD + 1);
    vetting.sender(w.stranger).expire(case).motsu_unwrap();
    // A renewal superseded by a revocation.
    vetting
        .sender(w.tutor)
        .apply_for(KIND, CID.into())
        .motsu_unwrap();
    vetting
        .sender(w.reviewers[0])
        .propose_revocation(token_id, CID.into())
        .motsu_unwrap();
    vetting.sender(w.admin).set_config(60, 60).motsu_unwrap();
    vetting.sender(w.admin).set_quorum(3).motsu_unwrap();
    vetting.sender(w.admin).set_quorum(1).motsu_unwrap();
    vetting
        .sender(w.admin)
        .remove_reviewer(w.reviewers[2])
        .motsu_unwrap();
    vetting
        .sender(w.admin)
        .transfer_admin(w.tutor)
        .motsu_unwrap();
    vetting.sender(w.tutor).accept_admin().motsu_unwrap();

    let declared = [
        (
            VettingApplicationOpened::SIGNATURE_HASH,
            VettingApplicationOpened::SIGNATURE,
        ),
        (VettingVoted::SIGNATURE_HASH, VettingVoted::SIGNATURE),
        (VettingDecided::SIGNATURE_HASH, VettingDecided::SIGNATURE),
        (VettingExpired::SIGNATURE_HASH, VettingExpired::SIGNATURE),
        (
            VettingSuperseded::SIGNATURE_HASH,
            VettingSuperseded::SIGNATURE,
        ),
        (
            VettingReviewerAdded::SIGNATURE_HASH,
            VettingReviewerAdded::SIGNATURE,
        ),
        (
            VettingReviewerRemoved::SIGNATURE_HASH,
            VettingReviewerRemoved::SIGNATURE,
        ),
        (
            VettingQuorumSet::SIGNATURE_HASH,
            VettingQuorumSet::SIGNATURE,
        ),
        (VettingKindSet::SIGNATURE_HASH, VettingKindSet::SIGNATURE),
        (
            VettingConfigUpdated::SIGNATURE_HASH,
            VettingConfigUpdated::SIGNATURE,
        ),
        (
            AdminTransferStarted::SIGNATURE_HASH,
            AdminTransferStarted::SIGNATURE,
        ),
        (
            AdminTransferred::SIGNATURE_HASH,
            AdminTransferred::SIGNATURE,
        ),
    ];
    for (_, signature) in declared {
        let name = signature.split('(').next().unwrap();
        assert!(fragment().contains(&format!("event {name}(")), "{name}");
    }
    let events = vetting.all_events();
    let emitted: std::collections::BTreeSet<_> = events.iter().map(|e| e.topics()[0]).collect();
    for (hash, signature) in declared {
        assert!(emitted.contains(&hash), "{signature} was never emitted");
    }
    for event in events {
        assert!(
            declared.iter().any(|(h, _)| *h == event.topics()[0]),
            "undeclared event {event:?}"
        );
    }
}

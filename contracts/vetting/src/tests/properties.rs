//! Property: over any sequence of votes (by reviewers, outsiders and the applicant, with
//! reviewers removed and added in between), an application is decided exactly when one
//! side first reaches its quorum — never earlier, never twice — and the credential exists
//! exactly when the decision was an approval. Every refused vote fails with the error the
//! model predicts and changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, LogData, U256};
use alloy_sol_types::{SolError, SolEvent};
use motsu::prelude::*;
use proptest::prelude::*;

use super::*;

/// Six people: five may be reviewers (the first four are at the start), the sixth is
/// the applicant.
const PEOPLE: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    /// Person `i` votes.
    Vote(usize, bool),
    /// The admin removes person `i` as a reviewer.
    Remove(usize),
    /// The admin adds person `i` as a reviewer.
    Add(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..PEOPLE, any::<bool>()).prop_map(|(i, a)| Op::Vote(i, a)),
        1 => (0..PEOPLE - 1).prop_map(Op::Remove),
        1 => (0..PEOPLE - 1).prop_map(Op::Add),
    ]
}

fn person(i: usize) -> Address {
    Address::repeat_byte(0xa0 + i as u8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_decision_happens_exactly_at_quorum_and_once(
        quorum in 1u32..=4,
        ops in prop::collection::vec(op(), 0..24),
    ) {
        let escrow = Contract::<SessionEscrow>::new();
        let token = Contract::<TestToken>::new();
        let ratings = Contract::<Ratings>::new();
        let credentials = Contract::<Credentials>::new();
        let vetting = Contract::<Vetting>::new();
        let w = World::bare(&escrow, &token, &ratings, &credentials, &vetting);
        let tutor = person(PEOPLE - 1);
        let mut reviewers: BTreeSet<usize> = (0..4).collect();
        for &i in &reviewers {
            vetting.sender(w.admin).add_reviewer(person(i)).motsu_unwrap();
        }
        vetting.sender(w.admin).set_quorum(quorum).motsu_unwrap();
        // No ratings needed: eligibility is not under test here.
        vetting.sender(w.admin).set_kind(KIND, 0, 0, TERM, URI.into()).motsu_unwrap();
        let app = vetting.sender(tutor).apply_for(KIND, CID.into()).motsu_unwrap();

        // The model.
        let mut votes = BTreeMap::<usize, bool>::new();
        let (mut approvals, mut rejections) = (0u32, 0u32);
        let mut decided: Option<bool> = None;
        let mut decisions = Vec::<LogData>::new();

        for op in ops {
            match op {
                Op::Vote(i, approve) => {
                    let who = person(i);
                    let expected: Result<(), Vec<u8>> = if let Some(approved) = decided {
                        Err(VettingNotOpen {
                            applicationId: app,
                            status: if approved { 2 } else { 3 },
                        }.abi_encode())
                    } else if !reviewers.contains(&i) {
                        Err(VettingNotReviewer { account: who }.abi_encode())
                    } else if who == tutor {
                        unreachable!("the applicant is never a reviewer here")
                    } else if votes.contains_key(&i) {
                        Err(VettingAlreadyVoted { applicationId: app, reviewer: who }.abi_encode())
                    } else {
                        Ok(())
                    };
                    let (result, events) = with_events(&vetting, || {
                        vetting.sender(who).vote(app, approve, String::new())
                    });
                    prop_assert_eq!(result.map_err(Vec::<u8>::from), expected.clone());
                    if expected.is_err() {
                        prop_assert!(events.is_empty());
                        continue;
                    }
                    votes.insert(i, approve);
                    if approve { approvals += 1 } else { rejections += 1 }
                    let now_decided = if approvals == quorum {
                        Some(true)
                    } else if rejections == quorum {
                        Some(false)
                    } else {
                        None
                    };
                    // One VettingVoted, plus VettingDecided exactly when quorum is reached.
                    prop_assert_eq!(events.len(), 1 + usize::from(now_decided.is_some()));
                    if let Some(approved) = now_decided {
                        decided = Some(approved);
                        decisions.push(events[1].clone());
                    }
                }
                Op::Remove(i) => {
                    let allowed = reviewers.contains(&i) && reviewers.len() as u32 > quorum;
                    let result = vetting.sender(w.admin).remove_reviewer(person(i));
                    prop_assert_eq!(result.is_ok(), allowed);
                    if allowed {
                        reviewers.remove(&i);
                    }
                }
                Op::Add(i) => {
                    let allowed = !reviewers.contains(&i);
                    let result = vetting.sender(w.admin).add_reviewer(person(i));
                    prop_assert_eq!(result.is_ok(), allowed);
                    if allowed {
                        reviewers.insert(i);
                    }
                }
            }
        }

        // Never twice; and what was decided is what the contracts hold.
        prop_assert!(decisions.len() <= 1);
        let token_id = if decided == Some(true) { U256::from(1) } else { U256::ZERO };
        if let Some(approved) = decided {
            prop_assert_eq!(
                &decisions[0],
                &VettingDecided {
                    applicationId: app,
                    tutor,
                    kind: KIND,
                    action: Action::Issue as u8,
                    approved,
                    tokenId: token_id,
                }
                .encode_log_data()
            );
        }
        let a = vetting.sender(w.stranger).application(app);
        let status = match decided { None => 1, Some(true) => 2, Some(false) => 3 };
        prop_assert_eq!(
            (a.3, a.4, a.5, a.6, a.8),
            (status, quorum, approvals, rejections, token_id)
        );
        prop_assert_eq!(
            credentials.sender(w.stranger).has_valid(tutor, KIND),
            decided == Some(true)
        );
        for i in 0..PEOPLE {
            let v = vetting.sender(w.stranger).vote_of(app, person(i));
            prop_assert_eq!(v, votes.get(&i).map_or(0, |&a| if a { 1 } else { 2 }));
        }
    }
}

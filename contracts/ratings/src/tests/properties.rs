//! Property: over any sequence of rating attempts, valid and invalid, exactly the valid
//! ones are accepted, and every address's aggregates equal the sums of the ratings
//! accepted about it, per role.

use alloy_primitives::{Address, B256, U256};
use motsu::prelude::*;
use openzeppelin_stylus::token::erc20::IErc20;
use proptest::prelude::*;

use super::*;

/// Sessions between three people: `(student, tutor)` indices.
const SESSIONS: [(usize, usize); 4] = [(0, 1), (1, 2), (2, 0), (0, 2)];

/// One attempt: which session (4 = one that does not exist), which of the three people
/// (3 = an outsider) rates, the score (0..=6), and whether the hash matches the CID.
fn attempt() -> impl Strategy<Value = (usize, usize, u8, bool)> {
    (0..5usize, 0..4usize, 0..=6u8, prop::bool::weighted(0.8))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn aggregates_equal_the_sum_of_accepted_ratings(
        attempts in prop::collection::vec(attempt(), 0..24),
    ) {
        clock::reset();
        let escrow = Contract::<SessionEscrow>::new();
        let token = Contract::<TestToken>::new();
        let ratings = Contract::<Ratings>::new();
        let admin = Address::repeat_byte(0xad);
        let people = [
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            Address::repeat_byte(3),
            Address::repeat_byte(4),
        ];
        escrow
            .sender(admin)
            .constructor(admin, Address::repeat_byte(0x77), Address::ZERO, 250, 600, 60)
            .motsu_unwrap();
        escrow.sender(admin).set_token_allowed(token.address(), true).motsu_unwrap();
        ratings
            .sender(admin)
            .constructor(admin, escrow.address(), MIN_DURATION, WINDOW)
            .motsu_unwrap();
        ratings.sender(admin).set_min_billed(token.address(), MIN_BILLED).motsu_unwrap();
        let mut ids = Vec::new();
        for (s, t) in SESSIONS {
            let (student, tutor) = (people[s], people[t]);
            token.sender(admin).mint(student, U256::from(DEPOSIT)).motsu_unwrap();
            token.sender(student).approve(escrow.address(), U256::MAX).motsu_unwrap();
            let id = escrow
                .sender(student)
                .open(tutor, token.address(), U256::from(RATE), U256::from(DEPOSIT), Address::random(), 0)
                .motsu_unwrap();
            escrow.sender(tutor).start(id, Address::random()).motsu_unwrap();
            clock::advance(MIN_DURATION);
            escrow.sender(student).stop(id).motsu_unwrap();
            ids.push(id);
        }

        // The model: which (session, rater) pairs rated, and each address's aggregates.
        let mut rated = std::collections::BTreeSet::new();
        let mut expected = std::collections::BTreeMap::<Address, (u64, u64, u64, u64)>::new();
        let mut scores = [[0u8; 2]; 4];
        for (session, who, score, good_hash) in attempts {
            let rater = people[who];
            let id = ids.get(session).copied().unwrap_or(U256::from(99));
            let hash = if good_hash { cid_hash() } else { B256::repeat_byte(9) };
            let result = ratings.sender(rater).rate(id, score, hash, CID.into());

            let role = SESSIONS.get(session).and_then(|&(s, t)| {
                if who == s { Some((0, t)) } else if who == t { Some((1, s)) } else { None }
            });
            let valid = (1..=5).contains(&score)
                && good_hash
                && role.is_some()
                && !rated.contains(&(session, who));
            prop_assert_eq!(result.is_ok(), valid, "attempt {:?}", (session, who, score, good_hash));
            if let (true, Some((side, ratee))) = (valid, role) {
                rated.insert((session, who));
                scores[session][side] = score;
                let entry = expected.entry(people[ratee]).or_default();
                if side == 0 {
                    // The student rated the tutor.
                    entry.0 += 1;
                    entry.1 += u64::from(score);
                } else {
                    entry.2 += 1;
                    entry.3 += u64::from(score);
                }
            }
        }

        for person in people {
            prop_assert_eq!(
                ratings.sender(admin).aggregates(person),
                expected.get(&person).copied().unwrap_or_default()
            );
        }
        for (session, id) in ids.iter().enumerate() {
            let (student_score, _, tutor_score, _) = ratings.sender(admin).session_ratings(*id);
            prop_assert_eq!([student_score, tutor_score], scores[session]);
        }
    }
}

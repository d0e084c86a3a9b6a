//! Finding 1 of the contracts audit (reputation for free) and the admin rules: a session
//! must have billed a minimum value in its token, set per token by the admin; the admin
//! role moves in two steps; the escrow must hold code. The same tests as the badges
//! contract's, from `minuto_test_support::gate_tests!`.

use super::*;

minuto_test_support::gate_tests! {
    mod rate for Ratings {
        act: |ratings, who, id| ratings.sender(who).rate(id, 5, cid_hash(), CID.into()),
        deploy: |ratings, admin, escrow| ratings
            .sender(admin)
            .constructor(admin, escrow, MIN_DURATION, WINDOW),
        too_little_billed: RatingTooLittleBilled,
        no_fee_paid: RatingNoFeePaid,
        token_not_eligible: RatingTokenNotEligible,
        not_admin: RatingNotAdmin,
        invalid_address: RatingInvalidAddress,
        min_billed_updated: RatingMinBilledUpdated,
    }
}

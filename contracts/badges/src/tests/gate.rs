//! Finding 1 of the contracts audit (reputation for free) and the admin rules: a session
//! must have billed a minimum value in its token, set per token by the admin; the admin
//! role moves in two steps; the escrow must hold code. The same tests as the ratings
//! contract's, from `minuto_test_support::gate_tests!`.

use super::*;

minuto_test_support::gate_tests! {
    mod claim for Badges {
        act: |badges, who, id| badges.sender(who).claim(id),
        deploy: |badges, admin, escrow| badges
            .sender(admin)
            .constructor(admin, escrow, MIN_DURATION, BASE_URI.into()),
        too_little_billed: BadgeTooLittleBilled,
        no_fee_paid: BadgeNoFeePaid,
        token_not_eligible: BadgeTokenNotEligible,
        not_admin: BadgeNotAdmin,
        invalid_address: BadgeInvalidAddress,
        min_billed_updated: BadgeMinBilledUpdated,
    }
}

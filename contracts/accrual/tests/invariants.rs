//! Property tests of the billing rules (DESIGN.md invariants 1, 2 and 5) over the whole
//! input space the escrow admits.

use minuto_accrual::{
    billed, earned, mul_div, mul_div_ceil, rate_per_second, settle, Accrual, RATE_SCALE,
};
use proptest::prelude::*;

const THIRTY_DAYS: u64 = 30 * 24 * 3600;

fn any_fee() -> impl Strategy<Value = u16> {
    0u16..=minuto_accrual::MAX_FEE_BPS
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// mul_div agrees with plain u128 math wherever the product fits.
    #[test]
    fn mul_div_matches_narrow_math(a in any::<u64>(), b in any::<u64>(), d in 1u128..) {
        let exact = u128::from(a) * u128::from(b);
        prop_assert_eq!(mul_div(a.into(), b.into(), d), Some(exact / d));
        let ceil = exact / d + u128::from(exact % d != 0);
        prop_assert_eq!(mul_div_ceil(a.into(), b.into(), d), Some(ceil));
    }

    /// For any inputs, floor and ceil bracket the exact quotient: q·d ≤ a·b ≤ q'·d with
    /// q' − q ≤ 1, checked through (a·b)/b == a style identities on 128-bit values.
    #[test]
    fn mul_div_is_exact_for_any_u128(a in any::<u128>(), b in any::<u128>(), d in 1u128..) {
        let floor = mul_div(a, b, d);
        let ceil = mul_div_ceil(a, b, d);
        match (floor, ceil) {
            (Some(f), Some(c)) => {
                prop_assert!(c == f || c == f + 1);
                // a·b/b == a: multiplying then dividing by the same factor is exact.
                if b != 0 {
                    prop_assert_eq!(mul_div(a, b, b), Some(a));
                }
            }
            (Some(f), None) => prop_assert_eq!(f, u128::MAX),
            (None, c) => prop_assert_eq!(c, None),
        }
        // Never more than the exact value: floor(a·b/d)·d ≤ a·b, seen as floor(f·d / b) ≤ a.
        if let (Some(f), true) = (floor, b != 0) {
            if let Some(back) = mul_div(f, d, b) {
                prop_assert!(back <= a);
            }
        }
    }

    /// Invariant 2: billed never exceeds the deposit nor elapsed × rate, and rounds down
    /// by less than one base unit.
    #[test]
    fn billed_never_exceeds_deposit_or_exact_amount(
        elapsed in any::<u64>(), rate in any::<u128>(), deposited in any::<u128>(),
    ) {
        let b = billed(elapsed, rate, deposited);
        prop_assert!(b <= deposited);
        if let Some(exact_floor) = mul_div(u128::from(elapsed), rate, RATE_SCALE) {
            prop_assert_eq!(b, exact_floor.min(deposited));
        } else {
            prop_assert_eq!(b, deposited);
        }
    }

    /// Billing only grows with time, and stops growing exactly when the runway ends.
    #[test]
    fn billed_is_monotone_and_runway_is_exact(
        start in 0u64..=u64::from(u32::MAX),
        rate in 1u128..=u128::from(u64::MAX) * RATE_SCALE,
        deposited in 1u128..=u128::from(u64::MAX),
        t1 in 0u64..=THIRTY_DAYS,
        dt in 0u64..=THIRTY_DAYS,
    ) {
        let a = Accrual { start, rate, deposited };
        let (now, later) = (start + t1, start + t1 + dt);
        prop_assert!(a.billed_at(now) <= a.billed_at(later));

        let end = a.exhausted_at();
        if end != u64::MAX {
            prop_assert_eq!(a.billed_at(end), deposited);
            prop_assert!(a.billed_at(end - 1) < deposited);
            prop_assert_eq!(a.runway_at(now), end.saturating_sub(now));
        } else {
            prop_assert!(a.billed_at(u64::MAX) <= deposited);
        }
    }

    /// Invariant 1: the split adds up to the deposit to the base unit, whatever the fee and
    /// whatever was withdrawn mid-session.
    #[test]
    fn settle_conserves_the_deposit(
        deposited in any::<u128>(),
        billed_part in any::<u128>(),
        fee_bps in any_fee(),
        withdrawn_part in any::<u128>(),
    ) {
        let billed = if deposited == 0 { 0 } else { billed_part % (deposited + 1).max(1) };
        let earned = earned(billed, fee_bps).unwrap();
        let withdrawn = if earned == u128::MAX { withdrawn_part } else { withdrawn_part % (earned + 1) };
        let split = settle(deposited, billed, fee_bps, withdrawn).unwrap();
        let total = split.tutor
            .checked_add(split.fee).unwrap()
            .checked_add(split.student).unwrap()
            .checked_add(withdrawn).unwrap();
        prop_assert_eq!(total, deposited);
        prop_assert_eq!(split.student, deposited - billed);
    }

    /// What the tutor earns never shrinks as billing grows, so an early withdrawal is always
    /// covered at settlement.
    #[test]
    fn earned_is_monotone_in_billed(b1 in any::<u128>(), extra in any::<u128>(), fee_bps in any_fee()) {
        let b2 = b1.saturating_add(extra);
        prop_assert!(earned(b1, fee_bps).unwrap() <= earned(b2, fee_bps).unwrap());
    }

    /// Invariant 5: a per-hour or per-minute price in a 6-decimal stablecoin bills within one
    /// base unit of the exact rational amount, never above it, for any session of 1 s to
    /// 30 days.
    #[test]
    fn price_per_period_bills_within_one_base_unit(
        price in 1u128..=1_000_000_000_000u128, // up to 1,000,000 USDC a period
        per_hour in any::<bool>(),
        secs in 1u64..=THIRTY_DAYS,
    ) {
        let period = if per_hour { 3600 } else { 60 };
        let rate = rate_per_second(price, period).unwrap();
        let b = billed(secs, rate, u128::MAX);
        let exact_num = price * u128::from(secs); // exact amount = exact_num / period
        prop_assert!(b * u128::from(period) <= exact_num, "billed above the price");
        prop_assert!((b + 1) * u128::from(period) >= exact_num, "billed more than one unit short");
    }
}

/// The bound the escrow relies on: nothing a `u128` token amount and a `u64` clock can hold
/// makes the math panic.
#[test]
fn extremes_do_not_overflow() {
    for &rate in &[0, 1, RATE_SCALE, u128::MAX / 2, u128::MAX] {
        for &deposited in &[0, 1, u128::MAX] {
            for &t in &[0, 1, u64::MAX / 2, u64::MAX] {
                let a = Accrual {
                    start: 0,
                    rate,
                    deposited,
                };
                let b = a.billed_at(t);
                assert!(b <= deposited);
                let _ = a.runway_at(t);
                let split = settle(deposited, b, minuto_accrual::MAX_FEE_BPS, 0).unwrap();
                assert_eq!(split.student, deposited - b);
            }
        }
    }
}

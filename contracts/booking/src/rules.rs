//! The booking rules that are pure arithmetic on times and amounts, kept apart from
//! storage so that they are tested (and can be reused off chain) as plain functions.

use minuto_accrual::{billed, fee};

/// The join window opens this many seconds before the lesson's start (T − 5 min).
pub const JOIN_EARLY: u64 = 5 * 60;
/// The join window closes this many seconds after the lesson's start (T + 10 min).
pub const JOIN_LATE: u64 = 10 * 60;
/// The longest lesson that can be booked: one day.
pub const MAX_DURATION: u32 = 24 * 60 * 60;
/// The longest free-cancellation notice a tutor may ask for: seven days.
pub const MAX_FREE_NOTICE: u32 = 7 * 24 * 60 * 60;
/// The highest late-cancellation fee: half of the booked price.
pub const MAX_LATE_CANCEL_FEE_BPS: u16 = 5_000;
/// The highest no-show fee: the booked price (never the deposit beyond it).
pub const MAX_NO_SHOW_FEE_BPS: u16 = 10_000;

/// The most lessons one series books: a year of weekly lessons.
pub const MAX_SERIES_LESSONS: u16 = 52;
/// The longest interval between the lessons of a series: 90 days.
pub const MAX_SERIES_INTERVAL: u32 = 90 * 24 * 60 * 60;

/// The booked price: what `duration` seconds at `rate` (base units a second × 10^18)
/// bill in the escrow, `floor(duration × rate / 10^18)`.
pub fn price(duration: u32, rate: u128) -> u128 {
    billed(u64::from(duration), rate, u128::MAX)
}

/// The least time a joined lesson's escrow session bills when the student ends it early
/// (audit 15, H1): `floor(duration × max(late fee, no-show fee) / 10^4)` seconds, so
/// that joining and leaving costs at least what cancelling late or not showing up would
/// (both fees are shares of the price, and the price is `duration` seconds). At most
/// 2^16 − 1 here; the escrow counts at most its `MAX_MIN_BILLED` (65,533 s).
pub fn min_billed(duration: u32, late_cancel_fee_bps: u16, no_show_fee_bps: u16) -> u16 {
    let share = u64::from(late_cancel_fee_bps.max(no_show_fee_bps));
    // duration ≤ 2^32 and share ≤ 2^16: no overflow in 64 bits.
    (u64::from(duration) * share / 10_000).min(u64::from(u16::MAX)) as u16
}

/// How a deposit is divided when a booking ends without a session: `tutor` gets the fee,
/// `student` the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// `floor(price × fee_bps / 10_000)`.
    pub tutor: u128,
    /// `deposit − tutor`.
    pub student: u128,
}

/// The fee of `fee_bps` on `price` to the tutor and the rest of `deposit` to the student;
/// `None` if `fee_bps` is above 10,000 or `price` above `deposit` (neither happens for a
/// stored booking: the caps and the request's checks keep them).
pub fn split(deposit: u128, price: u128, fee_bps: u16) -> Option<Split> {
    if price > deposit {
        return None;
    }
    let tutor = fee(price, fee_bps).ok()?;
    // SAFETY: tutor ≤ price ≤ deposit.
    Some(Split {
        tutor,
        student: deposit - tutor,
    })
}

/// What a student's cancellation of an accepted booking costs at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StudentCancel {
    /// At least `free_notice` seconds before the start: full refund.
    Free,
    /// Later, but before the start: the late-cancellation fee.
    Late,
    /// At or after the start: too late to cancel (join, or it is a no-show).
    TooLate,
}

/// Classifies a student's cancellation at `now` of a lesson starting at `start`.
pub fn student_cancel(now: u64, start: u64, free_notice: u32) -> StudentCancel {
    if now >= start {
        StudentCancel::TooLate
    } else if now.saturating_add(u64::from(free_notice)) <= start {
        StudentCancel::Free
    } else {
        StudentCancel::Late
    }
}

/// The join window of a lesson starting at `start`: `[start − JOIN_EARLY, start +
/// JOIN_LATE]`, both ends included.
pub fn join_window(start: u64) -> (u64, u64) {
    (
        start.saturating_sub(JOIN_EARLY),
        start.saturating_add(JOIN_LATE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_minimum_time_is_the_larger_fee_share_of_the_lesson_rounded_down() {
        assert_eq!(min_billed(3_600, 2_500, 5_000), 1_800);
        assert_eq!(min_billed(3_600, 5_000, 2_500), 1_800);
        assert_eq!(min_billed(599, 0, 5_000), 299);
        assert_eq!(min_billed(3_600, 0, 0), 0);
        // A day at the whole price is 86,400 s: more than two bytes hold.
        assert_eq!(min_billed(MAX_DURATION, 0, MAX_NO_SHOW_FEE_BPS), u16::MAX);
        assert_eq!(min_billed(65_535, 0, 10_000), u16::MAX);
        assert_eq!(min_billed(65_534, 0, 10_000), 65_534);
    }

    #[test]
    fn price_bills_like_the_escrow() {
        // 36 USDC an hour is 10,000 base units a second: one hour costs 36,000,000.
        let rate = 10_000 * minuto_accrual::RATE_SCALE;
        assert_eq!(price(3_600, rate), 36_000_000);
        // 30 USDC an hour for one minute rounds down, as the escrow bills it.
        let rate = minuto_accrual::rate_per_second(30_000_000, 3_600).unwrap();
        assert_eq!(price(60, rate), 499_999);
        assert_eq!(price(0, rate), 0);
        // The largest terms do not overflow: floor(86,400 × (2^128 − 1) / 10^18).
        assert_eq!(
            price(MAX_DURATION, u128::MAX),
            29_400_396_501_969_083_243_235_566
        );
    }

    #[test]
    fn student_cancel_is_free_late_or_too_late_at_the_exact_seconds() {
        let start = 1_000_000;
        let notice = 86_400;
        assert_eq!(
            student_cancel(start - 86_400, start, notice),
            StudentCancel::Free
        );
        assert_eq!(
            student_cancel(start - 86_399, start, notice),
            StudentCancel::Late
        );
        assert_eq!(
            student_cancel(start - 1, start, notice),
            StudentCancel::Late
        );
        assert_eq!(student_cancel(start, start, notice), StudentCancel::TooLate);
        // No notice: free until the start.
        assert_eq!(student_cancel(start - 1, start, 0), StudentCancel::Free);
    }

    #[test]
    fn join_window_runs_from_five_minutes_before_to_ten_after() {
        assert_eq!(join_window(10_000), (9_700, 10_600));
        assert_eq!(join_window(100), (0, 700));
        assert_eq!(join_window(u64::MAX).1, u64::MAX);
    }

    #[test]
    fn split_refuses_what_a_booking_cannot_hold() {
        assert_eq!(split(10, 11, 0), None);
        assert_eq!(split(10, 10, 10_001), None);
        assert_eq!(
            split(15, 10, 5_000),
            Some(Split {
                tutor: 5,
                student: 10
            })
        );
    }

    proptest! {
        #[test]
        fn split_conserves_the_deposit_and_caps_the_fee_at_the_price(
            price in any::<u128>(),
            extra in any::<u128>(),
            bps in 0u16..=10_000,
        ) {
            let deposit = price.saturating_add(extra);
            let s = split(deposit, price, bps).unwrap();
            prop_assert_eq!(s.tutor + s.student, deposit);
            prop_assert!(s.tutor <= price);
            prop_assert!(s.student >= deposit - price);
        }
    }
}

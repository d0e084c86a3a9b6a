//! Pure billing math for Minuto's per-second sessions.
//!
//! Every quantity here is a pure function of the session's terms and of `now`, so the
//! escrow contract and the relayer compute the same numbers, and tests can check them
//! without a chain.
//!
//! # Units
//! - Token amounts are base units of the session's token, as `u128`. The escrow refuses
//!   larger amounts, so nothing a real token can hold overflows here.
//! - Rates are base units **per second, scaled by [`RATE_SCALE`]** (10^18), as `u128`.
//!   A price of 30 USDC (6 decimals) per hour is `30_000_000 × 10^18 / 3600`; the part
//!   below one base unit per second is kept, so long sessions bill exactly.
//! - Times are Unix seconds as `u64`.
//!
//! # Rules
//! - `billed(t) = min(floor(elapsed(t) × rate / 10^18), deposited)`: rounding always in
//!   the student's favour, by less than one base unit per session.
//! - The protocol fee is `floor(billed × fee_bps / 10_000)`; the tutor earns
//!   `billed − fee`, may withdraw it as it accrues, and the student gets back
//!   `deposited − billed`. The three parts add up to the deposit exactly.
//!
//! ```
//! use minuto_accrual::{rate_per_second, Accrual, settle};
//!
//! // 36 USDC an hour (10,000 base units a second), 10 USDC deposited, started at t = 1000.
//! let rate = rate_per_second(36_000_000, 3600).unwrap();
//! let session = Accrual { start: 1_000, rate, deposited: 10_000_000 };
//! assert_eq!(session.billed_at(1_060), 600_000); // one minute: 0.60 USDC
//! assert_eq!(session.exhausted_at(), 2_000); // 10 USDC last 1,000 seconds
//! assert_eq!(session.runway_at(1_060), 940);
//!
//! // Stop after a minute with a 5 % fee and nothing withdrawn yet.
//! let split = settle(10_000_000, session.billed_at(1_060), 500, 0).unwrap();
//! assert_eq!((split.tutor, split.fee, split.student), (570_000, 30_000, 9_400_000));
//!
//! // A price that is not a whole number of base units a second still bills exactly,
//! // rounded down: 30 USDC an hour for one minute is 0.499999 USDC, not 0.50.
//! let rate = rate_per_second(30_000_000, 3600).unwrap();
//! assert_eq!(minuto_accrual::billed(60, rate, u128::MAX), 499_999);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod wide;

pub use wide::{mul_div, mul_div_ceil};

/// Fixed-point scale of rates: a rate is base units per second times 10^18.
pub const RATE_SCALE: u128 = 1_000_000_000_000_000_000;

/// Basis points in one whole (100 %).
pub const BPS_DENOMINATOR: u16 = 10_000;

/// The largest protocol fee any session can carry: 10 %.
pub const MAX_FEE_BPS: u16 = 1_000;

/// What can go wrong in the math. Each variant means the inputs break a rule the escrow
/// keeps, so it is a bug or a bad input, never a normal outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccrualError {
    /// `billed` is larger than `deposited`.
    BilledExceedsDeposit,
    /// The tutor has withdrawn more than the session earned.
    WithdrawnExceedsEarned,
    /// A fee above [`BPS_DENOMINATOR`] basis points.
    FeeTooHigh,
    /// A rate or period of zero.
    Zero,
    /// A result does not fit in its type.
    Overflow,
}

/// The terms that decide what a running session has billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accrual {
    /// When accrual began (the block timestamp of `start`).
    pub start: u64,
    /// Base units per second, scaled by [`RATE_SCALE`].
    pub rate: u128,
    /// Everything the student has deposited: the cap on billing.
    pub deposited: u128,
}

impl Accrual {
    /// Seconds of accrual at `now`; zero before the start.
    pub fn elapsed_at(&self, now: u64) -> u64 {
        now.saturating_sub(self.start)
    }

    /// What the session has billed at `now`:
    /// `min(floor(elapsed × rate / 10^18), deposited)`.
    pub fn billed_at(&self, now: u64) -> u128 {
        billed(self.elapsed_at(now), self.rate, self.deposited)
    }

    /// The first second at which billing reaches the deposit, or `u64::MAX` if it never
    /// does (a zero rate, or a date past `u64`).
    pub fn exhausted_at(&self) -> u64 {
        if self.deposited == 0 {
            return self.start;
        }
        if self.rate == 0 {
            return u64::MAX;
        }
        // Smallest e with floor(e × rate / S) ≥ deposited is ceil(deposited × S / rate).
        match mul_div_ceil(self.deposited, RATE_SCALE, self.rate) {
            Some(secs) if secs <= u128::from(u64::MAX) => self.start.saturating_add(secs as u64),
            _ => u64::MAX,
        }
    }

    /// Seconds left at `now` before the deposit is used up (zero once it is).
    pub fn runway_at(&self, now: u64) -> u64 {
        let end = self.exhausted_at();
        if end == u64::MAX {
            return u64::MAX;
        }
        end.saturating_sub(now.max(self.start))
    }
}

/// `min(floor(elapsed × rate / 10^18), deposited)`. Never overflows: a product too large
/// for `u128` is past any deposit and bills the deposit.
pub fn billed(elapsed: u64, rate: u128, deposited: u128) -> u128 {
    match mul_div(u128::from(elapsed), rate, RATE_SCALE) {
        Some(amount) if amount < deposited => amount,
        _ => deposited,
    }
}

/// The protocol's cut of `billed`: `floor(billed × fee_bps / 10_000)`, rounded in the
/// tutor's favour.
///
/// # Errors
/// [`AccrualError::FeeTooHigh`] when `fee_bps` is above 10,000.
pub fn fee(billed: u128, fee_bps: u16) -> Result<u128, AccrualError> {
    if fee_bps > BPS_DENOMINATOR {
        return Err(AccrualError::FeeTooHigh);
    }
    // SAFETY of the unwrap-free form: fee_bps ≤ 10_000 so the quotient ≤ billed fits.
    mul_div(billed, u128::from(fee_bps), u128::from(BPS_DENOMINATOR)).ok_or(AccrualError::Overflow)
}

/// What the tutor has earned from `billed`: `billed − fee(billed)`. Never decreases as
/// `billed` grows, so what was withdrawn earlier stays covered.
///
/// # Errors
/// [`AccrualError::FeeTooHigh`] as [`fee`].
pub fn earned(billed: u128, fee_bps: u16) -> Result<u128, AccrualError> {
    let cut = fee(billed, fee_bps)?;
    // SAFETY: cut ≤ billed because fee_bps ≤ 10_000.
    Ok(billed - cut)
}

/// What the tutor may withdraw now: earned so far minus what was already withdrawn.
///
/// # Errors
/// [`AccrualError::WithdrawnExceedsEarned`] if `withdrawn` is larger than what was
/// earned; [`AccrualError::FeeTooHigh`] as [`fee`].
pub fn withdrawable(billed: u128, fee_bps: u16, withdrawn: u128) -> Result<u128, AccrualError> {
    earned(billed, fee_bps)?
        .checked_sub(withdrawn)
        .ok_or(AccrualError::WithdrawnExceedsEarned)
}

/// How a stopped session's deposit is divided. `tutor + fee + student + withdrawn` equals
/// the deposit exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// Still owed to the tutor: `billed − fee − withdrawn`.
    pub tutor: u128,
    /// The protocol fee on everything billed.
    pub fee: u128,
    /// Refund to the student: `deposited − billed`.
    pub student: u128,
}

/// Divides a stopped session's deposit.
///
/// # Errors
/// [`AccrualError::BilledExceedsDeposit`], [`AccrualError::WithdrawnExceedsEarned`],
/// [`AccrualError::FeeTooHigh`] when the inputs break the escrow's invariants.
pub fn settle(
    deposited: u128,
    billed: u128,
    fee_bps: u16,
    withdrawn: u128,
) -> Result<Split, AccrualError> {
    let student = deposited
        .checked_sub(billed)
        .ok_or(AccrualError::BilledExceedsDeposit)?;
    let cut = fee(billed, fee_bps)?;
    let tutor = withdrawable(billed, fee_bps, withdrawn)?;
    Ok(Split {
        tutor,
        fee: cut,
        student,
    })
}

/// The rate, in base units per second scaled by 10^18, for a price of `amount` base units
/// per `period` seconds (`3600` for a per-hour price). Rounded down: the student never
/// pays more than the price.
///
/// # Errors
/// [`AccrualError::Zero`] for a zero period; [`AccrualError::Overflow`] if the rate does
/// not fit in `u128`.
pub fn rate_per_second(amount: u128, period: u64) -> Result<u128, AccrualError> {
    if period == 0 {
        return Err(AccrualError::Zero);
    }
    mul_div(amount, RATE_SCALE, u128::from(period)).ok_or(AccrualError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USDC_PER_HOUR_30: u128 = 30_000_000;

    #[test]
    fn billed_is_zero_before_start() {
        let a = Accrual {
            start: 100,
            rate: RATE_SCALE,
            deposited: 10,
        };
        assert_eq!(a.billed_at(50), 0);
        assert_eq!(a.billed_at(100), 0);
        assert_eq!(a.billed_at(101), 1);
    }

    #[test]
    fn billed_caps_at_deposit() {
        let a = Accrual {
            start: 0,
            rate: 3 * RATE_SCALE,
            deposited: 10,
        };
        assert_eq!(a.billed_at(3), 9);
        assert_eq!(a.billed_at(4), 10);
        assert_eq!(a.billed_at(u64::MAX), 10);
        assert_eq!(a.exhausted_at(), 4);
        assert_eq!(a.runway_at(0), 4);
        assert_eq!(a.runway_at(4), 0);
        assert_eq!(a.runway_at(1_000), 0);
    }

    #[test]
    fn billed_keeps_sub_unit_rate() {
        // 30 USDC/h = 8333.33… base units a second.
        let rate = rate_per_second(USDC_PER_HOUR_30, 3600).unwrap();
        assert_eq!(rate, 8_333_333_333_333_333_333_333);
        assert_eq!(billed(3600, rate, u128::MAX), 29_999_999); // 29.999999999… rounds down
        assert_eq!(billed(1, rate, u128::MAX), 8_333);
        assert_eq!(billed(3, rate, u128::MAX), 24_999);
    }

    #[test]
    fn billed_never_overflows_at_extremes() {
        assert_eq!(billed(u64::MAX, u128::MAX, u128::MAX), u128::MAX);
        assert_eq!(billed(u64::MAX, u128::MAX, 7), 7);
        assert_eq!(billed(0, u128::MAX, u128::MAX), 0);
        assert_eq!(billed(u64::MAX, 0, u128::MAX), 0);
        let a = Accrual {
            start: u64::MAX - 1,
            rate: 1,
            deposited: u128::MAX,
        };
        assert_eq!(a.exhausted_at(), u64::MAX);
        assert_eq!(a.runway_at(0), u64::MAX);
    }

    #[test]
    fn exhausted_at_zero_rate_is_never() {
        let a = Accrual {
            start: 5,
            rate: 0,
            deposited: 1,
        };
        assert_eq!(a.exhausted_at(), u64::MAX);
        assert_eq!(a.runway_at(10), u64::MAX);
    }

    #[test]
    fn exhausted_at_empty_deposit_is_start() {
        let a = Accrual {
            start: 5,
            rate: 1,
            deposited: 0,
        };
        assert_eq!(a.exhausted_at(), 5);
        assert_eq!(a.runway_at(0), 0);
    }

    #[test]
    fn fee_rounds_for_tutor_and_rejects_above_whole() {
        assert_eq!(fee(9_999, 1), Ok(0));
        assert_eq!(fee(10_000, 1), Ok(1));
        assert_eq!(fee(u128::MAX, 10_000), Ok(u128::MAX));
        assert_eq!(fee(1, 10_001), Err(AccrualError::FeeTooHigh));
    }

    #[test]
    fn settle_rejects_broken_inputs() {
        assert_eq!(settle(5, 6, 0, 0), Err(AccrualError::BilledExceedsDeposit));
        assert_eq!(
            settle(100, 100, 1_000, 91),
            Err(AccrualError::WithdrawnExceedsEarned)
        );
        assert_eq!(
            settle(100, 100, 1_000, 90),
            Ok(Split {
                tutor: 0,
                fee: 10,
                student: 0
            })
        );
    }

    #[test]
    fn rate_per_second_rejects_zero_period_and_overflow() {
        assert_eq!(rate_per_second(1, 0), Err(AccrualError::Zero));
        assert_eq!(rate_per_second(u128::MAX, 1), Err(AccrualError::Overflow));
        assert_eq!(rate_per_second(1, 1), Ok(RATE_SCALE));
    }
}

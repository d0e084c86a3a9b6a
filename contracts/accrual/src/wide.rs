//! 256-bit intermediate products for `a × b / d` on `u128`, so the math never overflows
//! where the exact result fits. Small on purpose: it is compiled into the contract.

const LOW: u128 = u64::MAX as u128;

/// The full 256-bit product of `a × b` as `(high, low)` halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a0, a1) = (a & LOW, a >> 64);
    let (b0, b1) = (b & LOW, b >> 64);
    // SAFETY: each partial product of two 64-bit halves is below 2^128.
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // SAFETY: three terms below 2^64 each: below 2^66.
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let low = (p00 & LOW) | (mid << 64);
    // SAFETY: the whole product is below 2^256, so its high half cannot overflow.
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (high, low)
}

/// `(high·2^128 + low) / d` as `(quotient, remainder)`, or `None` when `d` is zero or the
/// quotient does not fit in `u128` (exactly when `high ≥ d`).
fn div_wide(high: u128, low: u128, d: u128) -> Option<(u128, u128)> {
    if d == 0 || high >= d {
        return None;
    }
    // Restoring binary long division; the running remainder stays below d. No `u128 /`
    // fast path on purpose: it links a 1 KB division routine into the contract's WASM.
    let mut rem = high;
    let mut quot = 0u128;
    for bit in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((low >> bit) & 1);
        quot <<= 1;
        if carry == 1 || rem >= d {
            // With the carry the true remainder is 2^128 + rem ≥ d; wrapping gives it back.
            rem = rem.wrapping_sub(d);
            quot |= 1;
        }
    }
    Some((quot, rem))
}

/// `floor(a × b / d)` with a 256-bit intermediate, or `None` when `d` is zero or the
/// result does not fit in `u128`.
pub fn mul_div(a: u128, b: u128, d: u128) -> Option<u128> {
    let (high, low) = mul_wide(a, b);
    div_wide(high, low, d).map(|(q, _)| q)
}

/// `ceil(a × b / d)` with a 256-bit intermediate, or `None` when `d` is zero or the
/// result does not fit in `u128`.
pub fn mul_div_ceil(a: u128, b: u128, d: u128) -> Option<u128> {
    let (high, low) = mul_wide(a, b);
    let (q, r) = div_wide(high, low, d)?;
    if r == 0 {
        Some(q)
    } else {
        q.checked_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_wide_matches_known_products() {
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(mul_wide(1 << 64, 1 << 64), (1, 0));
        assert_eq!(mul_wide(3, 5), (0, 15));
    }

    #[test]
    fn div_wide_handles_quotients_near_the_top() {
        // (2^256 − 2^129 + 1) / (2^128 − 1) = 2^128 − 1 exactly.
        assert_eq!(div_wide(u128::MAX - 1, 1, u128::MAX), Some((u128::MAX, 0)));
        assert_eq!(div_wide(1, 0, 2), Some((1 << 127, 0)));
        assert_eq!(div_wide(1, 0, 1), None);
        assert_eq!(div_wide(0, 7, 0), None);
    }

    #[test]
    fn mul_div_ceil_rounds_up_only_with_a_remainder() {
        assert_eq!(mul_div_ceil(10, 10, 4), Some(25));
        assert_eq!(mul_div_ceil(10, 10, 3), Some(34));
        assert_eq!(mul_div(10, 10, 3), Some(33));
        assert_eq!(mul_div_ceil(u128::MAX, 1, 1), Some(u128::MAX));
        assert_eq!(mul_div_ceil(u128::MAX, 2, 2), Some(u128::MAX));
    }
}

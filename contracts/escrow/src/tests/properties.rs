//! Property tests of DESIGN.md's invariants over random session histories, run against
//! the contract with a real ERC-20, checked against a model in plain integer math.
//!
//! 1. Conservation: tutor + fee + refund == deposits to the base unit; the escrow's
//!    balance always covers what it owes.
//! 2. No overpay: billed ≤ deposit and ≤ elapsed × rate (rounded down).
//! 3. No post-drop leakage: a relayer stop bills up to `at`, not to now.
//! 4. Each session settles exactly once.
//! 5. A per-hour price in a 6-decimal token bills within one base unit.
//! 6. A booked session (`openFor`) the student ends bills at least its minimum time,
//!    never past the deposit; ended by the tutor, the tutor's silence or an empty deposit,
//!    the seconds held.

use super::*;
use minuto_accrual::RATE_SCALE;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Advance(u64),
    TopUp(u128),
    Withdraw,
}

#[derive(Clone, Debug)]
enum Finish {
    StopByStudent,
    StopByTutor,
    /// The relayer stops at `now − backdate`, naming the silent party: 0 unknown, 1 the
    /// student, 2 the tutor.
    StopAt(u64, u8),
    /// Funds run out, then the student stops.
    Exhaust,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..2_000).prop_map(Op::Advance),
        1 => (1u128..1_000_000_000_000).prop_map(Op::TopUp),
        1 => Just(Op::Withdraw),
    ]
}

fn finish() -> impl Strategy<Value = Finish> {
    prop_oneof![
        Just(Finish::StopByStudent),
        Just(Finish::StopByTutor),
        (0u64..=u64::from(MAX_BACKDATE), 0u8..=2).prop_map(|(b, s)| Finish::StopAt(b, s)),
        Just(Finish::Exhaust),
    ]
}

/// The model: plain u128 math, independent of `minuto_accrual`.
struct Model {
    rate: u128,
    deposited: u128,
    withdrawn: u128,
    start: u64,
    fee_bps: u128,
}

impl Model {
    fn billed(&self, t: u64) -> u128 {
        // rate ≤ 10^24 and elapsed < 2^17 here (a minimum time included): the product fits.
        let exact = u128::from(t.saturating_sub(self.start)) * self.rate / RATE_SCALE;
        exact.min(self.deposited)
    }
    fn earned(&self, billed: u128) -> u128 {
        billed - billed * self.fee_bps / 10_000
    }
    fn exhausted(&self, t: u64) -> bool {
        self.billed(t) >= self.deposited
    }
}

const FUNDS: u128 = u128::MAX / 4;

fn run_history(
    rate: u128,
    deposit: u128,
    fee_bps: u16,
    ops: Vec<Op>,
    end: Finish,
    booked: Option<u16>,
) -> Result<(), TestCaseError> {
    let escrow = Contract::<SessionEscrow>::new();
    let token = Contract::<TestToken>::new();
    let creds = Contract::<TestCredentials>::new();
    let p = Parties::new();
    setup(&escrow, &token, creds.address(), &p, FUNDS);
    escrow
        .sender(p.admin)
        .set_config(
            p.treasury,
            creds.address(),
            fee_bps,
            START_WINDOW,
            MAX_BACKDATE,
        )
        .motsu_unwrap();
    // A booked session's deposit comes from the booking contract; top-ups from the student.
    let booking = Address::random();
    let id = match booked {
        None => escrow
            .sender(p.student)
            .open(
                p.tutor,
                token.address(),
                u(rate),
                u(deposit),
                p.student_key,
                0,
            )
            .motsu_unwrap(),
        Some(min_billed) => {
            escrow.sender(p.admin).set_booking(booking).motsu_unwrap();
            token
                .sender(p.admin)
                .mint(booking, u(deposit))
                .motsu_unwrap();
            token
                .sender(booking)
                .approve(escrow.address(), U256::MAX)
                .motsu_unwrap();
            escrow
                .sender(booking)
                .open_for(
                    p.student,
                    p.tutor,
                    token.address(),
                    u(rate),
                    u(deposit),
                    p.student_key,
                    0,
                    0,
                    min_billed,
                )
                .motsu_unwrap()
        }
    };
    escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
    let mut m = Model {
        rate,
        deposited: deposit,
        withdrawn: 0,
        start: now(),
        fee_bps: u128::from(fee_bps),
    };

    for op in ops {
        match op {
            Op::Advance(s) => clock::advance(s),
            Op::TopUp(a) => {
                let r = escrow.sender(p.student).top_up(id, u(a));
                if m.exhausted(now()) {
                    prop_assert_eq!(r.motsu_unwrap_err(), EscrowFundsExhausted { id }.into());
                } else {
                    r.motsu_unwrap();
                    m.deposited += a;
                }
            }
            Op::Withdraw => {
                // Withdrawals count billing up to now − maxBackdate.
                let through = now().saturating_sub(u64::from(MAX_BACKDATE));
                let due = m.earned(m.billed(through)) - m.withdrawn;
                let r = escrow.sender(p.tutor).withdraw(id);
                if due == 0 {
                    prop_assert_eq!(r.motsu_unwrap_err(), EscrowNothingToWithdraw { id }.into());
                } else {
                    prop_assert_eq!(r.motsu_unwrap(), u(due));
                    m.withdrawn += due;
                }
            }
        }
        // Invariant 2 while running, and the escrow holds everything still owed (1).
        let billed = escrow.sender(p.student).billed(id).motsu_unwrap();
        prop_assert_eq!(billed, u(m.billed(now())));
        prop_assert_eq!(balance(&token, escrow.address()), m.deposited - m.withdrawn);
        prop_assert_eq!(balance(&token, p.tutor), m.withdrawn);
    }

    let (by, at) = match end {
        Finish::StopByStudent => (p.student, now()),
        Finish::StopByTutor => (p.tutor, now()),
        Finish::StopAt(back, _) => {
            let at = now().saturating_sub(back).max(m.start);
            (p.relayer, at)
        }
        Finish::Exhaust => {
            let secs = (m.deposited * RATE_SCALE).div_ceil(m.rate) as u64;
            let out = m.start + secs;
            if out > now() {
                clock::advance(out - now());
            }
            (p.student, now())
        }
    };
    // Whose doing the end is: (the student's, the tutor's).
    let (by_student, by_tutor) = match end {
        Finish::StopAt(_, silent) => {
            escrow.sender(by).stop_at(id, at, silent).motsu_unwrap();
            (silent == SILENT_STUDENT, silent == SILENT_TUTOR)
        }
        _ => {
            escrow.sender(by).stop(id).motsu_unwrap();
            (by == p.student, by == p.tutor)
        }
    };

    // Invariant 3: billing ends at `at` (or when the funds ran out, if earlier); 6: a
    // booked session the student ended, no earlier than its minimum time.
    let least = match booked {
        Some(min) if by_student => u64::from(min.min(MAX_MIN_BILLED)),
        _ => 0,
    };
    let until = at.max(m.start + least);
    let billed = m.billed(until);
    let fee = billed * m.fee_bps / 10_000;
    let tutor_total = billed - fee;
    let refund = m.deposited - billed;
    prop_assert!(billed <= m.deposited);
    prop_assert!(billed * RATE_SCALE <= u128::from(until - m.start) * m.rate);
    prop_assert_eq!(
        escrow.sender(p.student).billed(id).motsu_unwrap(),
        u(billed)
    );
    // Audit 15, L2: a booked session its tutor ended (own stop or silence) while the
    // deposit still ran is marked for the booking contract; no other.
    prop_assert_eq!(
        escrow.sender(p.student).ended_by_tutor(id).motsu_unwrap(),
        booked.is_some() && by_tutor && !m.exhausted(at)
    );

    // Invariant 1: every base unit is accounted for, and nothing stays behind.
    prop_assert_eq!(balance(&token, p.tutor), tutor_total);
    prop_assert_eq!(balance(&token, p.treasury), fee);
    let student_paid = match booked {
        None => m.deposited,
        Some(_) => m.deposited - deposit,
    };
    prop_assert_eq!(balance(&token, p.student), FUNDS - student_paid + refund);
    prop_assert_eq!(tutor_total + fee + refund, m.deposited);
    prop_assert_eq!(balance(&token, escrow.address()), 0);

    // Invariant 4: settled once; every later stop fails and moves nothing.
    clock::advance(1);
    let ended: Error = EscrowInvalidState { id, state: 3 }.into();
    prop_assert_eq!(escrow.sender(p.student).stop(id).motsu_unwrap_err(), ended);
    prop_assert_eq!(
        escrow
            .sender(p.relayer)
            .stop_at(id, now(), SILENT_STUDENT)
            .motsu_unwrap_err(),
        EscrowInvalidState { id, state: 3 }.into()
    );
    prop_assert_eq!(balance(&token, p.treasury), fee);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_histories_keep_invariants_1_to_4(
        rate in 1u128..=1_000_000 * RATE_SCALE,
        deposit in 1u128..=1_000_000_000_000u128,
        fee_bps in 0u16..=minuto_accrual::MAX_FEE_BPS,
        ops in proptest::collection::vec(op(), 0..12),
        end in finish(),
    ) {
        run_history(rate, deposit, fee_bps, ops, end, None)?;
    }

    /// The same histories on a booked session with a random minimum time (up to past
    /// [`MAX_MIN_BILLED`]), ended by either party, the relayer naming either, or an
    /// empty deposit; marked `endedByTutor` exactly when the tutor's side ended it early.
    #[test]
    fn booked_histories_bill_the_minimum_only_when_the_student_ends_them(
        rate in 1u128..=1_000_000 * RATE_SCALE,
        deposit in 1u128..=1_000_000_000_000u128,
        fee_bps in 0u16..=minuto_accrual::MAX_FEE_BPS,
        ops in proptest::collection::vec(op(), 0..12),
        end in finish(),
        min_billed in prop_oneof![0u16..=3_000, any::<u16>()],
    ) {
        run_history(rate, deposit, fee_bps, ops, end, Some(min_billed))?;
    }

    /// Invariant 5 on chain: a per-hour or per-minute price in USDC (6 decimals), converted
    /// with `minuto_accrual::rate_per_second`, bills within one base unit of the exact
    /// amount and never above it.
    #[test]
    fn period_prices_bill_within_one_base_unit(
        price in 1u128..=1_000_000_000u128, // up to 1,000 USDC a period
        per_hour in any::<bool>(),
        secs in 1u64..=30 * 24 * 3600,
    ) {
        let period: u64 = if per_hour { 3600 } else { 60 };
        let rate = minuto_accrual::rate_per_second(price, period).unwrap();
        let escrow = Contract::<SessionEscrow>::new();
        let token = Contract::<TestToken>::new();
        let creds = Contract::<TestCredentials>::new();
        let p = Parties::new();
        setup(&escrow, &token, creds.address(), &p, FUNDS);
        let deposit = FUNDS;
        let id = escrow
            .sender(p.student)
            .open(p.tutor, token.address(), u(rate), u(deposit), p.student_key, 0)
            .motsu_unwrap();
        escrow.sender(p.tutor).start(id, p.tutor_key).motsu_unwrap();
        clock::advance(secs);
        escrow.sender(p.student).stop(id).motsu_unwrap();
        let billed = FUNDS - balance(&token, p.student);
        let exact_num = price * u128::from(secs); // exact = exact_num / period
        prop_assert!(billed * u128::from(period) <= exact_num);
        prop_assert!((billed + 1) * u128::from(period) >= exact_num);
    }
}

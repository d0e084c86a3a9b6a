//! The end-to-end scenarios (see the crate docs). A plain `main` (harness = false): the
//! scenarios share one deployment and run in order, and the gas table comes last.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::providers::Provider;
use anyhow::{bail, ensure, Context, Result};
use minuto_accrual::{settle, withdrawable, Accrual, RATE_SCALE};
use minuto_deploy::bindings::{
    IBadges,
    IBooking::{self, IBookingErrors},
    ICredentials, IRatings,
    ISessionEscrow::{self, ISessionEscrowErrors},
    IVetting::{self, IVettingErrors},
};
use minuto_e2e::{skip_reason, unix_now, Account, ITestToken, Node};

const FEE_BPS: u16 = 250;
const MAX_BACKDATE: u32 = 30;
const MIN_DURATION: u64 = 5;
/// 1,000 base units a second (3.6 tokens an hour at 6 decimals).
const RATE: u128 = 1_000 * RATE_SCALE;
const GATED_KIND: u32 = 7;
/// The floor on billed value for badges and ratings: one second at [`RATE`].
const MIN_BILLED: u128 = 1_000;
/// Vetting: seconds an application takes votes (`--vetting-voting-period`).
const VOTING_PERIOD: u64 = 600;
/// Vetting: seconds a rejected tutor waits (`--vetting-cooldown`): long enough for the
/// refused re-application to be sent well inside it, short enough to wait out.
const COOLDOWN: u64 = 15;
/// The credential kind the vetting scenario's reviewers approve (the gated scenario's
/// kind 7 is issued by hand).
const VETTED_KIND: u32 = 8;
/// The kind the reviewers reject.
const REJECTED_KIND: u32 = 9;
/// Term of a vetted credential: it expires this long after the deciding vote.
const TERM: u64 = 86_400;
/// A booked lesson: ten minutes at [`RATE`] (the tutor's published rate)…
const LESSON: u32 = 600;
/// …whose price, `floor(LESSON × RATE / 10^18)`, opens the escrow session at join…
const PRICE: u128 = 600_000;
/// …and the student's deposit: the price and 50,000 more, back at join.
const BOOKING_DEPOSIT: u128 = 650_000;
/// The tutor's policy: free cancellation until an hour before the start…
const FREE_NOTICE: u32 = 3_600;
/// …then a quarter of the price to the tutor…
const LATE_FEE_BPS: u16 = 2_500;
/// …and half of it when the student never joins.
const NO_SHOW_FEE_BPS: u16 = 5_000;
/// The booking contract's join window around the start `T`: from `T − 5 min`…
const JOIN_EARLY: u64 = 300;
/// …to `T + 10 min`.
const JOIN_LATE: u64 = 600;
/// A series' interval: weekly.
const WEEK: u32 = 7 * 24 * 3_600;
/// The escrow's start window while the tutor no-show lesson is joined (then 900 s again):
/// short enough to wait out.
const BOOKED_START_WINDOW: u32 = 30;

struct Suite {
    node: Node,
    escrow: Address,
    credentials: Address,
    badges: Address,
    ratings: Address,
    vetting: Address,
    booking: Address,
    token: Address,
    deploy_block: u64,
    student: Account,
    tutor: Account,
    relayer: Account,
    treasury: Account,
    stranger: Account,
    reviewers: [Account; 3],
    _dir: tempfile::TempDir,
}

type Scenario =
    for<'a> fn(&'a Suite, &'a mut Shared) -> Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

/// What one scenario leaves for the next: the settled billing session.
#[derive(Default)]
struct Shared {
    billed_session: Option<U256>,
}

const SCENARIOS: &[(&str, Scenario)] = &[
    ("redeploy_with_the_same_record_changes_nothing", |s, _| {
        Box::pin(redeploy_is_a_no_op(s))
    }),
    (
        "open_start_topup_withdraw_stop_at_settles_to_the_base_unit",
        |s, sh| Box::pin(billing(s, sh)),
    ),
    ("cancel_of_an_unstarted_session_refunds_in_full", |s, _| {
        Box::pin(cancel(s))
    }),
    ("credential_gated_session_refused_then_accepted", |s, _| {
        Box::pin(gated(s))
    }),
    ("both_parties_claim_one_badge_each", |s, sh| {
        Box::pin(badges(s, sh))
    }),
    ("both_parties_rate_once_and_aggregates_add_up", |s, sh| {
        Box::pin(ratings(s, sh))
    }),
    ("unauthorized_calls_fail_with_typed_errors", |s, _| {
        Box::pin(unauthorized(s))
    }),
    (
        "relayer_stops_a_silent_party_at_its_last_heartbeat",
        |s, _| Box::pin(relayer(s)),
    ),
    (
        "find_now_match_then_open_accepted_starts_in_one_transaction",
        |s, _| Box::pin(find_now(s)),
    ),
    (
        "pause_stops_new_sessions_starts_and_top_ups_never_money_leaving",
        |s, _| Box::pin(pause(s)),
    ),
    (
        "a_payout_the_token_refuses_is_credited_and_claimed_elsewhere",
        |s, _| Box::pin(refused_payout(s)),
    ),
    (
        "a_token_returning_no_data_settles_to_the_base_unit",
        |s, _| Box::pin(no_return_data(s)),
    ),
    ("a_fee_on_transfer_token_is_refused_at_open", |s, _| {
        Box::pin(fee_on_transfer(s))
    }),
    (
        "a_session_shorter_than_the_minimum_earns_no_badge",
        |s, _| Box::pin(too_short(s)),
    ),
    (
        "config_changes_keep_open_sessions_terms_and_the_signed_fee_cap",
        |s, _| Box::pin(config_changes(s)),
    ),
    ("reputation_needs_real_money_a_fee_and_the_floor", |s, _| {
        Box::pin(reputation_costs_money(s))
    }),
    ("escrow_admin_handover_takes_two_steps_and_back", |s, _| {
        Box::pin(handover(s))
    }),
    (
        "vetting_apply_votes_issue_the_credential_and_a_gated_session_starts",
        |s, _| Box::pin(vetting_approval(s)),
    ),
    (
        "vetting_rejection_bars_the_tutor_until_the_cooldown_ends",
        |s, _| Box::pin(vetting_rejection(s)),
    ),
    (
        "booked_lesson_joined_started_and_stopped_settles_to_the_base_unit",
        |s, _| Box::pin(booked_lesson(s)),
    ),
    (
        "booked_lesson_cancelled_late_by_the_student_pays_the_late_fee_exactly",
        |s, _| Box::pin(booked_late_cancel(s)),
    ),
    (
        "booked_lesson_the_student_never_joins_pays_the_no_show_fee_exactly",
        |s, _| Box::pin(booked_student_no_show(s)),
    ),
    (
        "booked_lesson_the_tutor_never_starts_refunds_in_full_and_counts_a_no_show",
        |s, _| Box::pin(booked_tutor_no_show(s)),
    ),
    (
        "booked_lesson_the_tutor_ends_at_once_counts_an_early_end",
        |s, _| Box::pin(booked_tutor_ends_early(s)),
    ),
    (
        "booked_series_requested_accepted_and_cancelled_one_call_each",
        |s, _| Box::pin(booked_series(s)),
    ),
    (
        "booked_series_funded_lesson_by_lesson_pulls_each_deposit_when_funded",
        |s, _| Box::pin(booked_series_funded_later(s)),
    ),
    (
        "steady_state_session_on_a_running_escrow_settles_every_unit",
        |s, _| Box::pin(steady_state(s)),
    ),
];

/// The gas regression check (issue #17): each operation's gas, uncached, on the Stylus VM
/// the suite was measured on (8 of 8 scenarios, 6-decimal token), plus 2 % for what a
/// program's size and the chain's state move from one run to the next. A run over any of
/// them fails, naming the operation. Rows of other names are not checked: a gated start
/// (`escrow.start (gated)`, which also reads the credentials contract) and the
/// scenario-specific stops (`escrow.stop`, `escrow.stop (booked)`, …) were not measured
/// there. Lower them as gas cuts land; the issue's targets
/// (whole session 190,000, top-up 35,000 and withdraw 50,000 beyond program init, badge
/// claim and rating 100,000) are the goal, not yet these budgets.
const GAS_BUDGETS: &[(&str, u64)] = &[
    ("escrow.open", 188_115),
    ("escrow.start", 80_981),
    ("escrow.stop (student)", 109_920),
    ("escrow.stop (tutor)", 109_920),
    ("escrow.stopAt (relayer, backdated)", 147_408),
    ("escrow.topUp", 104_098),
    ("escrow.withdraw", 139_634),
    ("credentials.issue", 216_123),
    ("badges.claim*", 233_487),
    ("ratings.rate*", 201_262),
];

/// What the README's gas model ("Where the gas goes") expects of each operation after the
/// issue #17 cuts, uncached, in this suite's fresh deployment: the issue's measured figure
/// less the 17 memory pages (15,008 a call; 17,089 more for the escrow view badges and
/// ratings call), the programs' smaller init (nitro's activation formula over
/// `cargo xtask wasm`'s modules), topUp's unread tutor slot (2,100), the claim's dropped
/// records (47,100 first, 30,000 second) and the settings read once (2,100 a claim or
/// rating). Printed beside the measured gas so a Stylus run shows how far the model is
/// off; not a check (the budgets are). With programs cached, [`gas_model`] takes their
/// init off.
const GAS_MODEL: &[(&str, u64)] = &[
    ("escrow.open", 164_786),
    ("escrow.open (steady)", 147_686),
    ("escrow.start", 61_853),
    ("escrow.start (steady)", 61_853),
    ("escrow.topUp", 82_416),
    ("escrow.topUp (steady)", 82_416),
    ("escrow.withdraw", 119_356),
    ("escrow.withdraw (steady)", 102_256),
    ("escrow.stop (student)", 90_224),
    ("escrow.stop (tutor)", 90_224),
    ("escrow.stop (student, steady)", 95_024),
    ("escrow.stopAt (relayer, backdated)", 126_978),
    ("credentials.issue", 196_400),
    ("badges.claim*", 143_529),
    ("ratings.rate (student)", 152_691),
    ("ratings.rate (tutor)", 135_591),
];

/// Program init the Stylus cache saves a call of each program (nitro's formula over
/// `cargo xtask wasm`'s modules: uncached less cached init).
const CACHE_SAVING: &[(&str, u64)] = &[
    ("escrow", 20_997 - 1_463),
    ("badges", 25_760 - 3_078),
    ("ratings", 18_912 - 2_025),
];

/// The programs this run deploys into the Stylus cache: none without
/// `MINUTO_E2E_CACHE_BID_WEI`, else those `MINUTO_E2E_CACHE` lists (the deploy tool's
/// `--cache`), the escrow by default.
fn cached_programs() -> Vec<String> {
    if std::env::var("MINUTO_E2E_CACHE_BID_WEI").is_err() {
        return Vec::new();
    }
    std::env::var("MINUTO_E2E_CACHE")
        .unwrap_or_else(|_| "escrow".into())
        .split(',')
        .map(|p| p.trim().to_string())
        .collect()
}

/// [`GAS_MODEL`] for a run with `cached` programs in the Stylus cache.
fn gas_model(cached: &[String]) -> Vec<(&'static str, u64)> {
    minuto_e2e::cached_model(GAS_MODEL, CACHE_SAVING, cached)
}

fn deploy_config(
    node: &Node,
    s: &SuiteAccounts,
    token: Address,
    out: PathBuf,
) -> Result<minuto_deploy::Config> {
    let root = minuto_deploy::find_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .context("repository root")?;
    let mut args = vec![
        "minuto-deploy".to_string(),
        "--rpc-url".into(),
        node.url.to_string(),
        "--private-key".into(),
        format!("0x{}", alloy::hex::encode(node.deployer.signer.to_bytes())),
        // Every setting explicit, so no MINUTO_* variable of the shell leaks in.
        "--admin".into(),
        node.deployer.address().to_string(),
        "--start-window".into(),
        "900".into(),
        "--rating-window".into(),
        "1209600".into(),
        "--treasury".into(),
        s.treasury.address().to_string(),
        "--relayer".into(),
        s.relayer.address().to_string(),
        "--token".into(),
        token.to_string(),
        "--issuer".into(),
        node.deployer.address().to_string(),
        "--fee-bps".into(),
        FEE_BPS.to_string(),
        "--max-backdate".into(),
        MAX_BACKDATE.to_string(),
        "--badge-min-duration".into(),
        MIN_DURATION.to_string(),
        "--badge-base-uri".into(),
        "ipfs://minuto-e2e/".into(),
        "--rating-min-duration".into(),
        MIN_DURATION.to_string(),
        "--min-billed".into(),
        MIN_BILLED.to_string(),
        "--vetting-voting-period".into(),
        VOTING_PERIOD.to_string(),
        "--vetting-cooldown".into(),
        COOLDOWN.to_string(),
        "--out".into(),
        out.display().to_string(),
        "--root".into(),
        root.display().to_string(),
    ];
    if let Ok(a) = std::env::var("MINUTO_STYLUS_DEPLOYER") {
        args.extend(["--stylus-deployer".into(), a]);
    }
    // The cached column of the gas table: the escrow bid into the Stylus cache.
    if let Ok(bid) = std::env::var("MINUTO_E2E_CACHE_BID_WEI") {
        args.extend(["--cache-bid-wei".into(), bid]);
        args.extend(["--cache".into(), cached_programs().join(",")]);
    }
    // A fresh salt per run: CREATE2 addresses would otherwise find the contracts (and
    // their state) of an earlier run on the same node with the same deployer.
    args.extend([
        "--salt".into(),
        alloy::primitives::keccak256(format!("{:?}", std::time::SystemTime::now())).to_string(),
    ]);
    use clap::Parser;
    Ok(minuto_deploy::Config::from_cli(
        minuto_deploy::Cli::try_parse_from(args)?,
    )?)
}

struct SuiteAccounts {
    treasury: Account,
    relayer: Account,
}

async fn setup() -> Result<Suite> {
    let node = Node::from_env().await?;
    println!(
        "e2e: chain {} at {}",
        node.chain_id,
        node.url.host_str().unwrap_or("?")
    );
    let token = node.deploy_token().await?;
    let student = node.account("student").await?;
    let tutor = node.account("tutor").await?;
    let relayer = node.account("relayer").await?;
    let treasury = node.account("treasury").await?;
    let stranger = node.account("stranger").await?;
    let reviewers = [
        node.account("reviewer 1").await?,
        node.account("reviewer 2").await?,
        node.account("reviewer 3").await?,
    ];
    let dir = tempfile::tempdir()?;
    let out = std::env::var("MINUTO_E2E_RECORD")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("deployment.json"));
    let cfg = deploy_config(
        &node,
        &SuiteAccounts {
            treasury: treasury.clone(),
            relayer: relayer.clone(),
        },
        token,
        out,
    )?;
    let report = minuto_deploy::run(&cfg).await?;
    for (op, gas) in &report.gas {
        node.record_gas(op.clone(), *gas);
    }
    ensure!(
        report.admin_calls.is_empty(),
        "admin calls left: {:?}",
        report.admin_calls
    );
    ensure!(report.pending.is_empty(), "pending: {:?}", report.pending);
    let record = report.record.context("no record")?;
    let at = |k: &str| {
        record
            .contracts
            .get(k)
            .map(|d| d.address)
            .context(k.to_string())
    };
    let suite = Suite {
        escrow: at("escrow")?,
        credentials: at("credentials")?,
        badges: at("badges")?,
        ratings: at("ratings")?,
        vetting: at("vetting")?,
        booking: at("booking")?,
        deploy_block: record.contracts["escrow"].block,
        token,
        node,
        student,
        tutor,
        relayer,
        treasury,
        stranger,
        reviewers,
        _dir: dir,
    };
    // The student's tokens and allowance.
    let t = ITestToken::new(token, &suite.student.p);
    let r = t
        .mint(suite.student.address(), U256::from(10_000_000_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    suite.node.mined("token.mint", &r)?;
    let r = t
        .approve(suite.escrow, U256::MAX)
        .send()
        .await?
        .get_receipt()
        .await?;
    suite.node.mined("token.approve", &r)?;
    // And the booking contract's, which pulls a booked lesson's deposit at request.
    let r = t
        .approve(suite.booking, U256::MAX)
        .send()
        .await?
        .get_receipt()
        .await?;
    suite.node.mined("token.approve (booking)", &r)?;
    Ok(suite)
}

async fn balance(s: &Suite, who: Address) -> Result<U256> {
    Ok(ITestToken::new(s.token, &s.node.deployer.p)
        .balanceOf(who)
        .call()
        .await?)
}

fn escrow(
    s: &Suite,
    who: &Account,
) -> ISessionEscrow::ISessionEscrowInstance<alloy::providers::DynProvider> {
    ISessionEscrow::new(s.escrow, who.p.clone())
}

/// Opens a session from the student and returns its id.
async fn open(s: &Suite, deposit: u64, student_key: Address, kind: u32) -> Result<U256> {
    open_as(s, "escrow.open", deposit, student_key, kind).await
}

/// [`open`], its gas recorded as `op`.
async fn open_as(
    s: &Suite,
    op: &str,
    deposit: u64,
    student_key: Address,
    kind: u32,
) -> Result<U256> {
    let r = escrow(s, &s.student)
        .open(
            s.tutor.address(),
            s.token,
            U256::from(RATE),
            U256::from(deposit),
            student_key,
            kind,
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined(op, &r)?;
    let log = r
        .decoded_log::<ISessionEscrow::SessionOpened>()
        .context("no SessionOpened")?;
    ensure!(log.student == s.student.address() && log.tutor == s.tutor.address());
    ensure!(log.deposit == U256::from(deposit) && log.rate == U256::from(RATE));
    ensure!(log.studentKey == student_key && log.feeBps == FEE_BPS);
    Ok(log.id)
}

async fn start(s: &Suite, id: U256, tutor_key: Address) -> Result<u64> {
    // A gated start also reads the credentials contract: its own row, outside the budget.
    let gated = escrow(s, &s.tutor).session(id).call().await?.credentialKind != 0;
    let r = escrow(s, &s.tutor)
        .start(id, tutor_key)
        .send()
        .await?
        .get_receipt()
        .await?;
    let op = if gated {
        "escrow.start (gated)"
    } else {
        "escrow.start"
    };
    s.node.mined(op, &r)?;
    let view = escrow(s, &s.tutor).session(id).call().await?;
    ensure!(view.state == 2, "state {} after start", view.state);
    ensure!(view.start == s.node.block_time(&r).await?);
    Ok(view.start)
}

/// The typed error of a call that must fail, decoded with the contract's ABI.
fn revert<E: alloy::sol_types::SolInterface, T>(
    r: std::result::Result<T, alloy::contract::Error>,
) -> Result<E> {
    match r {
        Ok(_) => bail!("call succeeded but had to fail"),
        Err(e) => e
            .as_decoded_interface_error::<E>()
            .with_context(|| format!("not the contract's typed error: {e}")),
    }
}

/// The escrow's typed error for a call that must fail.
fn escrow_error<T>(
    r: std::result::Result<T, alloy::contract::Error>,
) -> Result<ISessionEscrowErrors> {
    revert(r)
}

async fn redeploy_is_a_no_op(s: &Suite) -> Result<()> {
    // `setup` deployed through `minuto_deploy::run`; running it again with the same record
    // must find every contract and every wiring call already done.
    let dir = s._dir.path().join("deployment.json");
    let out = std::env::var("MINUTO_E2E_RECORD")
        .map(PathBuf::from)
        .unwrap_or(dir);
    let cfg = deploy_config(
        &s.node,
        &SuiteAccounts {
            treasury: s.treasury.clone(),
            relayer: s.relayer.clone(),
        },
        s.token,
        out,
    )?;
    let report = minuto_deploy::run(&cfg).await?;
    ensure!(
        report.gas.is_empty(),
        "re-run sent transactions: {:?}",
        report.gas
    );
    ensure!(report.admin_calls.is_empty());
    let record = report.record.context("no record")?;
    ensure!(record.contracts["escrow"].address == s.escrow);
    Ok(())
}

async fn billing(s: &Suite, shared: &mut Shared) -> Result<()> {
    let before = (
        balance(s, s.student.address()).await?,
        balance(s, s.tutor.address()).await?,
        balance(s, s.treasury.address()).await?,
        balance(s, s.escrow).await?,
    );
    let id = open(s, 100_000, Address::repeat_byte(0x51), 0).await?;
    let start = start(s, id, Address::repeat_byte(0x52)).await?;

    let r = escrow(s, &s.student)
        .topUp(id, U256::from(50_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.topUp", &r)?;
    let deposited: u128 = 150_000;

    // Mid-session withdrawal: it pays what was billed up to `now − maxBackdate`.
    tokio::time::sleep(Duration::from_secs(u64::from(MAX_BACKDATE) + 8)).await;
    let r = escrow(s, &s.tutor)
        .withdraw(id)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.withdraw", &r)?;
    let w = s.node.block_time(&r).await?;
    let terms = Accrual {
        start,
        rate: RATE,
        deposited,
    };
    let through = w.saturating_sub(u64::from(MAX_BACKDATE)).max(start);
    let expected_withdrawn = withdrawable(terms.billed_at(through), FEE_BPS, 0).unwrap();
    let got = r
        .decoded_log::<ISessionEscrow::Withdrawn>()
        .context("no Withdrawn")?
        .amount;
    ensure!(
        got == U256::from(expected_withdrawn),
        "withdrew {got}, expected {expected_withdrawn}"
    );
    ensure!(
        expected_withdrawn > 0,
        "nothing billed before the withdrawal"
    );

    // The relayer stops it, backdated by ten seconds.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let at = unix_now().saturating_sub(10).max(through);
    let r = escrow(s, &s.relayer)
        .stopAt(id, at, 2)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.stopAt (relayer, backdated)", &r)?;
    let view = escrow(s, &s.relayer).session(id).call().await?;
    ensure!(view.state == 3, "state {} after stopAt", view.state);
    ensure!(view.end == at, "ended at {}, asked {at}", view.end);

    let billed = terms.billed_at(at);
    let split = settle(deposited, billed, FEE_BPS, expected_withdrawn).unwrap();
    let after = (
        balance(s, s.student.address()).await?,
        balance(s, s.tutor.address()).await?,
        balance(s, s.treasury.address()).await?,
        balance(s, s.escrow).await?,
    );
    let u = U256::from;
    ensure!(
        after.0 == before.0 - u(deposited) + u(split.student),
        "student {} vs {}",
        after.0,
        before.0 - u(deposited) + u(split.student)
    );
    ensure!(
        after.1 == before.1 + u(expected_withdrawn) + u(split.tutor),
        "tutor {}",
        after.1
    );
    ensure!(after.2 == before.2 + u(split.fee), "treasury {}", after.2);
    ensure!(after.3 == before.3, "escrow kept {}", after.3 - before.3);
    println!(
        "    billed {billed} over {} s: tutor {} (withdrew {expected_withdrawn}), fee {}, refund {}",
        at - start,
        expected_withdrawn + split.tutor,
        split.fee,
        split.student
    );
    shared.billed_session = Some(id);
    Ok(())
}

async fn cancel(s: &Suite) -> Result<()> {
    let before = balance(s, s.student.address()).await?;
    let id = open(s, 20_000, Address::repeat_byte(0x61), 0).await?;
    let err = escrow_error(escrow(s, &s.stranger).cancel(id).call().await)?;
    ensure!(
        matches!(err, ISessionEscrowErrors::EscrowStartWindowOpen(ref e) if e.id == id),
        "{err:?}"
    );
    let r = escrow(s, &s.student)
        .cancel(id)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.cancel", &r)?;
    let log = r
        .decoded_log::<ISessionEscrow::SessionCancelled>()
        .context("no SessionCancelled")?;
    ensure!(log.refund == U256::from(20_000u64) && log.by == s.student.address());
    ensure!(balance(s, s.student.address()).await? == before);
    ensure!(escrow(s, &s.student).session(id).call().await?.state == 4);
    Ok(())
}

async fn gated(s: &Suite) -> Result<()> {
    let id = open(s, 30_000, Address::repeat_byte(0x71), GATED_KIND).await?;
    let err = escrow_error(
        escrow(s, &s.tutor)
            .start(id, Address::repeat_byte(0x72))
            .call()
            .await,
    )?;
    let want = ISessionEscrow::EscrowCredentialRequired {
        id,
        tutor: s.tutor.address(),
        kind: GATED_KIND,
    };
    ensure!(
        err == ISessionEscrowErrors::EscrowCredentialRequired(want),
        "{err:?}"
    );
    let creds = ICredentials::new(s.credentials, s.node.deployer.p.clone());
    let r = creds
        .issue(
            s.tutor.address(),
            GATED_KIND,
            unix_now() + 86_400,
            "ipfs://minuto-e2e/credential".into(),
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("credentials.issue", &r)?;
    ensure!(creds.hasValid(s.tutor.address(), GATED_KIND).call().await?);
    start(s, id, Address::repeat_byte(0x72)).await?;
    let r = escrow(s, &s.student)
        .stop(id)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.stop (student)", &r)?;
    ensure!(escrow(s, &s.student).session(id).call().await?.state == 3);
    Ok(())
}

async fn badges(s: &Suite, shared: &mut Shared) -> Result<()> {
    let id = shared
        .billed_session
        .context("billing scenario did not finish")?;
    // The deploy set the floor on billed value for the test token, on both contracts.
    let floor = IBadges::new(s.badges, s.stranger.p.clone())
        .minBilled(s.token)
        .call()
        .await?;
    let rating_floor = IRatings::new(s.ratings, s.stranger.p.clone())
        .minBilled(s.token)
        .call()
        .await?;
    ensure!(
        (floor, rating_floor) == (MIN_BILLED, MIN_BILLED),
        "floors {floor}, {rating_floor}"
    );
    let mut ids = Vec::new();
    for (who, role) in [(&s.student, 1u8), (&s.tutor, 2u8)] {
        // Token ids are derived: `2 × sessionId`, plus 1 for the tutor.
        let expected = id * U256::from(2) + U256::from(role - 1);
        let b = IBadges::new(s.badges, who.p.clone());
        let r = b.claim(id).send().await?.get_receipt().await?;
        s.node.mined(&format!("badges.claim ({})", who.name), &r)?;
        let again: IBadges::IBadgesErrors = revert(b.claim(id).call().await)?;
        ensure!(
            again
                == IBadges::IBadgesErrors::BadgeAlreadyClaimed(IBadges::BadgeAlreadyClaimed {
                    sessionId: id,
                    role,
                    tokenId: expected,
                }),
            "{again:?}"
        );
        let log = r
            .decoded_log::<IBadges::Transfer>()
            .context("no Transfer")?;
        ensure!(log.to == who.address() && log.from == Address::ZERO);
        ensure!(log.tokenId == expected, "token id {}", log.tokenId);
        let claimed = r
            .decoded_log::<IBadges::BadgeClaimed>()
            .context("no BadgeClaimed")?;
        let fields = (
            claimed.tokenId,
            claimed.sessionId,
            claimed.holder,
            claimed.role,
        );
        ensure!(fields == (expected, id, who.address(), role), "{fields:?}");
        ensure!(b.ownerOf(log.tokenId).call().await? == who.address());
        let badge = b.badge(log.tokenId).call().await?;
        ensure!(
            (badge._0, badge._1) == (id, role),
            "badge records session {}, role {}",
            badge._0,
            badge._1
        );
        ids.push(log.tokenId);
    }
    let claimed = IBadges::new(s.badges, s.stranger.p.clone())
        .claimed(id)
        .call()
        .await?;
    ensure!((claimed._0, claimed._1) == (ids[0], ids[1]), "{claimed:?}");
    let e: IBadges::IBadgesErrors = revert(
        IBadges::new(s.badges, s.stranger.p.clone())
            .claim(id)
            .call()
            .await,
    )?;
    ensure!(
        e == IBadges::IBadgesErrors::BadgeNotAParty(IBadges::BadgeNotAParty {
            sessionId: id,
            caller: s.stranger.address()
        }),
        "{e:?}"
    );
    Ok(())
}

async fn ratings(s: &Suite, shared: &mut Shared) -> Result<()> {
    let id = shared
        .billed_session
        .context("billing scenario did not finish")?;
    let cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    let hash: B256 = keccak256(cid);
    let before_tutor = IRatings::new(s.ratings, s.stranger.p.clone())
        .aggregates(s.tutor.address())
        .call()
        .await?;
    for (who, score) in [(&s.student, 5u8), (&s.tutor, 4u8)] {
        let r = IRatings::new(s.ratings, who.p.clone())
            .rate(id, score, hash, cid.into())
            .send()
            .await?
            .get_receipt()
            .await?;
        s.node.mined(&format!("ratings.rate ({})", who.name), &r)?;
    }
    let ratings = IRatings::new(s.ratings, s.stranger.p.clone());
    let one = ratings.sessionRatings(id).call().await?;
    ensure!(
        (one._0, one._1, one._2, one._3) == (5, hash, 4, hash),
        "{one:?}"
    );
    let after_tutor = ratings.aggregates(s.tutor.address()).call().await?;
    ensure!(after_tutor._0 == before_tutor._0 + 1 && after_tutor._1 == before_tutor._1 + 5);
    let student = ratings.aggregates(s.student.address()).call().await?;
    ensure!(student._2 >= 1 && student._3 >= 4, "{student:?}");

    let err = |r| revert::<IRatings::IRatingsErrors, _>(r);
    let again = IRatings::new(s.ratings, s.student.p.clone())
        .rate(id, 3, hash, cid.into())
        .call()
        .await;
    ensure!(
        err(again)?
            == (IRatings::IRatingsErrors::RatingAlreadyRated(IRatings::RatingAlreadyRated {
                sessionId: id,
                rater: s.student.address()
            }))
    );
    let bad_score = IRatings::new(s.ratings, s.student.p.clone())
        .rate(id, 6, hash, cid.into())
        .call()
        .await;
    ensure!(
        err(bad_score)?
            == (IRatings::IRatingsErrors::RatingInvalidScore(IRatings::RatingInvalidScore {
                score: 6
            }))
    );
    let stranger = ratings.rate(id, 5, hash, cid.into()).call().await;
    ensure!(
        err(stranger)?
            == (IRatings::IRatingsErrors::RatingNotAParty(IRatings::RatingNotAParty {
                sessionId: id,
                caller: s.stranger.address()
            }))
    );
    Ok(())
}

async fn unauthorized(s: &Suite) -> Result<()> {
    let x = s.stranger.address();
    let e = escrow(s, &s.stranger);
    let err = escrow_error(e.setRelayer(x, true).call().await)?;
    ensure!(
        err == ISessionEscrowErrors::EscrowNotAdmin(ISessionEscrow::EscrowNotAdmin { caller: x }),
        "{err:?}"
    );
    let err = escrow_error(e.setPaused(true).call().await)?;
    ensure!(
        err == ISessionEscrowErrors::EscrowNotAdmin(ISessionEscrow::EscrowNotAdmin { caller: x }),
        "{err:?}"
    );
    let err = escrow_error(e.setTokenAllowed(x, true).call().await)?;
    ensure!(
        err == ISessionEscrowErrors::EscrowNotAdmin(ISessionEscrow::EscrowNotAdmin { caller: x }),
        "{err:?}"
    );

    // A live session: strangers may neither stop nor withdraw from it.
    let id = open(s, 10_000, Address::repeat_byte(0x81), 0).await?;
    start(s, id, Address::repeat_byte(0x82)).await?;
    let err = escrow_error(e.stopAt(id, unix_now(), 2).call().await)?;
    ensure!(
        err == ISessionEscrowErrors::EscrowNotRelayer(ISessionEscrow::EscrowNotRelayer {
            caller: x
        }),
        "{err:?}"
    );
    let err = escrow_error(e.stop(id).call().await)?;
    ensure!(
        err == ISessionEscrowErrors::EscrowUnauthorized(ISessionEscrow::EscrowUnauthorized {
            id,
            caller: x
        }),
        "{err:?}"
    );
    let err = escrow_error(e.withdraw(id).call().await)?;
    ensure!(
        err == ISessionEscrowErrors::EscrowUnauthorized(ISessionEscrow::EscrowUnauthorized {
            id,
            caller: x
        }),
        "{err:?}"
    );
    let r = escrow(s, &s.tutor)
        .stop(id)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.stop (tutor)", &r)?;

    let creds = ICredentials::new(s.credentials, s.stranger.p.clone());
    let err = creds
        .issue(x, 1, unix_now() + 60, String::new())
        .call()
        .await;
    let err: ICredentials::ICredentialsErrors = revert(err)?;
    let role = creds.ISSUER_ROLE().call().await?;
    ensure!(
        err == (ICredentials::ICredentialsErrors::AccessControlUnauthorizedAccount(
            ICredentials::AccessControlUnauthorizedAccount {
                account: x,
                neededRole: role
            }
        )),
        "{err:?}"
    );
    let err = IBadges::new(s.badges, s.stranger.p.clone())
        .setMinDuration(1)
        .call()
        .await;
    let err: IBadges::IBadgesErrors = revert(err)?;
    ensure!(
        err == (IBadges::IBadgesErrors::BadgeNotAdmin(IBadges::BadgeNotAdmin { caller: x })),
        "{err:?}"
    );
    let err = IBadges::new(s.badges, s.stranger.p.clone())
        .setMinBilled(s.token, 1)
        .call()
        .await;
    let err: IBadges::IBadgesErrors = revert(err)?;
    ensure!(
        err == (IBadges::IBadgesErrors::BadgeNotAdmin(IBadges::BadgeNotAdmin { caller: x })),
        "{err:?}"
    );
    let err = IRatings::new(s.ratings, s.stranger.p.clone())
        .setConfig(1, 1)
        .call()
        .await;
    let err: IRatings::IRatingsErrors = revert(err)?;
    ensure!(
        err == (IRatings::IRatingsErrors::RatingNotAdmin(IRatings::RatingNotAdmin { caller: x })),
        "{err:?}"
    );
    // Admin roles are never taken by a stranger nor left empty.
    let err = IRatings::new(s.ratings, s.stranger.p.clone())
        .acceptAdmin()
        .call()
        .await;
    let err: IRatings::IRatingsErrors = revert(err)?;
    ensure!(
        err == (IRatings::IRatingsErrors::RatingNotAdmin(IRatings::RatingNotAdmin { caller: x })),
        "{err:?}"
    );
    // The suite deploys with the deployer as the only credentials admin.
    let d = s.node.deployer.address();
    let err = ICredentials::new(s.credentials, s.node.deployer.p.clone())
        .renounceRole(B256::ZERO, d)
        .call()
        .await;
    let err: ICredentials::ICredentialsErrors = revert(err)?;
    ensure!(
        err == (ICredentials::ICredentialsErrors::CredentialLastAdmin(
            ICredentials::CredentialLastAdmin { account: d }
        )),
        "{err:?}"
    );
    Ok(())
}

async fn relayer(s: &Suite) -> Result<()> {
    use minuto_relayer::heartbeat::{address_of, HeartbeatDomain, Role};
    let student_key = k256::ecdsa::SigningKey::random(&mut rand_core());
    let tutor_key = k256::ecdsa::SigningKey::random(&mut rand_core());
    let relayer_key = k256::ecdsa::SigningKey::from_slice(s.relayer.signer.to_bytes().as_slice())?;
    let dir = tempfile::tempdir()?;
    let mut cfg = minuto_relayer::config::Config::with_defaults(
        s.node.url.clone(),
        s.escrow,
        s.node.chain_id,
        minuto_relayer::evm::RelayerKey::new(relayer_key),
    );
    cfg.listen = "127.0.0.1:0".parse()?;
    cfg.silence_timeout = Duration::from_secs(6);
    cfg.grace_period = Duration::from_secs(6);
    cfg.confirmations = 0;
    // From the current head: with a reused record the deployment block may be far back.
    cfg.start_block = s
        .node
        .deployer
        .p
        .get_block_number()
        .await?
        .max(s.deploy_block);
    cfg.cursor_file = dir.path().join("cursor.json");
    cfg.poll_interval = Duration::from_millis(500);
    let handle = minuto_relayer::spawn(cfg).await?;
    // A nitro dev node makes blocks only for transactions, and the relayer dates a stop
    // no later than the latest block: keep a block coming every second meanwhile.
    let ticker = s.node.account("ticker").await?;
    let _ticking = AbortOnDrop(tokio::spawn({
        let p = ticker.p.clone();
        let me = ticker.address();
        async move {
            loop {
                let tx = alloy::rpc::types::TransactionRequest::default()
                    .with_to(me)
                    .with_value(U256::ZERO);
                if let Ok(pending) = p.send_transaction(tx).await {
                    let _ = pending.get_receipt().await;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }));

    let id = open(s, 200_000, address_of(&student_key), 0).await?;
    start(s, id, address_of(&tutor_key)).await?;
    let domain = HeartbeatDomain::new(s.node.chain_id, s.escrow);
    let http = reqwest::Client::new();
    let url = format!("http://{}/v1/heartbeat", handle.local_addr);
    let ping = |key: &k256::ecdsa::SigningKey, role: Role, seq: u64| {
        let sent_at = unix_now();
        let sig = domain.sign(key, id, role, seq, sent_at);
        let body = serde_json::json!({
            "session": id.to_string(),
            "role": role,
            "seq": seq,
            "sent_at": sent_at,
            "signature": format!("0x{}", alloy::hex::encode(sig)),
        });
        let req = http.post(&url).json(&body);
        async move {
            let r = req.send().await?;
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            // The relayer dates a heartbeat when it receives it: within [sent_at, now].
            anyhow::Ok((status, v, (sent_at, unix_now())))
        }
    };
    // Wait until the follower has seen the session start.
    let mut seen = false;
    for _ in 0..60 {
        let (st, _, _) = ping(&student_key, Role::Student, 1).await?;
        if st == 200 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    ensure!(seen, "relayer never picked up session {id}");
    let mut student_sent = (0, 0);
    for seq in 2..=4 {
        let (st, v, window) = ping(&student_key, Role::Student, seq).await?;
        ensure!(st == 200, "{v}");
        student_sent = window;
        let (st, v, _) = ping(&tutor_key, Role::Tutor, seq).await?;
        ensure!(st == 200, "{v}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let status: serde_json::Value = http
        .get(format!("http://{}/v1/sessions/{id}", handle.admin_addr))
        .send()
        .await?
        .json()
        .await?;
    let student_last = status["last_seen"]["student"]["at"]
        .as_u64()
        .context("no last_seen.student.at")?;
    // The student goes silent; the tutor keeps pinging until the relayer reports the end.
    let mut ended = false;
    for seq in 5..60 {
        let (st, v, _) = ping(&tutor_key, Role::Tutor, seq).await?;
        if st == 409 {
            ensure!(v["error"] == "session_ended", "{v}");
            ended = true;
            break;
        }
        ensure!(st == 200, "{v}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    ensure!(ended, "relayer never stopped session {id}");
    let mut view = escrow(s, &s.student).session(id).call().await?;
    for _ in 0..60 {
        if view.state == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        view = escrow(s, &s.student).session(id).call().await?;
    }
    ensure!(view.state == 3, "session {id} not ended on chain");
    // Against the heartbeat this test sent last, not only the relayer's own record.
    ensure!(
        (student_sent.0..=student_sent.1).contains(&view.end),
        "stopAt landed at {}, the student's last heartbeat was sent at {} and answered by {}",
        view.end,
        student_sent.0,
        student_sent.1
    );
    ensure!(
        view.end == student_last,
        "stopAt landed at {}, the relayer recorded the student's last heartbeat at {student_last}",
        view.end
    );
    handle.shutdown().await?;
    Ok(())
}

/// A tutor online in the matchmaker, a student's find-now, the tutor's signed acceptance,
/// and the student's `openAccepted` with it: one transaction and the lesson is billed. The
/// matchmaker then sees the tutor busy (escrow events) until the session ends.
async fn find_now(s: &Suite) -> Result<()> {
    use minuto_chain::follower::{Deployment, FollowerConfig};
    use minuto_matchmaker::client::{self, Client};
    use minuto_matchmaker::protocol::SignedAcceptance;
    use minuto_matchmaker::{auth, chain, hub, rooms, Follow, Settings, Terms};
    use serde_json::{json, Value};

    const DOMAIN: &str = "e2e.minuto.test";
    let chain_id = s.node.chain_id;
    let dir = tempfile::tempdir()?;
    let read = minuto_chain::http_provider(&s.node.url, Duration::from_secs(10))?;
    let head = read.get_block_number().await?;
    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        admin_listen: "127.0.0.1:0".parse()?,
        hub: hub::HubConfig {
            pool: minuto_matchmaker::Config::default(),
            chain_id,
            escrow: s.escrow,
            min_acceptance_validity: Duration::from_secs(120),
            max_acceptance_validity: Duration::from_secs(3_600),
            credential_refresh: Duration::from_secs(20),
            outbox: 64,
        },
        auth: auth::AuthConfig {
            domain: DOMAIN.into(),
            chain_id,
            nonce_ttl: Duration::from_secs(300),
            session_ttl: Duration::from_secs(3_600),
            capacity: 1_000,
            secret: [5; 32],
        },
        allowed_origins: vec![],
        max_connections: 100,
        messages_per_second: 50,
        rooms: Box::new(rooms::KeyedRooms::new(
            alloy::signers::local::PrivateKeySigner::random()
                .to_bytes()
                .0,
            3_600,
        )),
        follow: Some(Follow {
            provider: read.clone(),
            config: FollowerConfig {
                confirmations: 0,
                start_block: head,
                cursor_file: dir.path().join("cursor.json"),
                chunk_blocks: 1_000,
                poll_interval: Duration::from_millis(500),
            },
            deployment: Deployment {
                chain_id,
                escrow: s.escrow,
            },
        }),
        cluster_url: None,
    };
    let mm = minuto_matchmaker::spawn(
        settings,
        chain::EvmChain::new(read, s.escrow, s.credentials),
    )
    .await?;
    let base: url::Url = format!("http://{}/", mm.local_addr).parse()?;
    let http = reqwest::Client::new();
    let connect = |who: &Account| {
        let (http, base, signer) = (http.clone(), base.clone(), who.signer.clone());
        async move {
            let token = client::sign_in(&http, &base, &signer, DOMAIN, chain_id).await?;
            anyhow::Ok(Client::connect(&base, &token).await?)
        }
    };
    let wait = Duration::from_secs(30);
    let expect = |v: Value, kind: &str| -> Result<Value> {
        ensure!(v["type"] == kind, "expected {kind}, got {v}");
        Ok(v)
    };
    let mut tutor = connect(&s.tutor).await?;
    let mut student = connect(&s.student).await?;
    let profile = json!({ "languages": ["es"], "levels": ["B1"], "token": s.token,
                          "rate": U256::from(RATE), "credentials": [] });
    tutor
        .send(json!({ "type": "online", "profile": profile }))
        .await?;
    expect(tutor.recv(wait).await?, "online")?;
    let deposit = 60_000u64;
    let request = json!({ "language": "es", "level": "B1", "token": s.token,
                          "max_rate": U256::from(RATE), "credential": null,
                          "cap": U256::from(deposit) });
    student
        .send(json!({ "type": "find", "request": request }))
        .await?;
    expect(student.recv(wait).await?, "searching")?;
    let proposed = expect(tutor.recv(wait).await?, "proposed")?;
    let terms: Terms = serde_json::from_value(proposed["terms"].clone())?;
    ensure!(terms.student == s.student.address() && terms.rate == U256::from(RATE));
    let tutor_key = Address::repeat_byte(0x92);
    let nonce = U256::from(unix_now());
    let a = client::sign_acceptance(
        &s.tutor.signer,
        chain_id,
        s.escrow,
        &terms,
        tutor_key,
        FEE_BPS,
        nonce,
        unix_now() + 600,
    );
    tutor
        .send(json!({ "type": "accept", "proposal": proposed["proposal"], "acceptance": a }))
        .await?;
    let matched = expect(student.recv(wait).await?, "matched")?;
    expect(tutor.recv(wait).await?, "accepted")?;
    let a: SignedAcceptance = serde_json::from_value(matched["acceptance"].clone())?;

    // One transaction: open and start, with the tutor's signature.
    let student_key = Address::repeat_byte(0x91);
    let e = escrow(s, &s.student);
    let open_accepted = e.openAccepted(
        s.tutor.address(),
        a.token,
        a.rate,
        U256::from(deposit),
        student_key,
        0,
        a.tutor_key,
        a.max_fee_bps,
        a.nonce,
        a.expiry,
        a.signature.clone(),
    );
    let r = open_accepted.send().await?.get_receipt().await?;
    s.node.mined("escrow.openAccepted (find-now)", &r)?;
    let started = r
        .decoded_log::<ISessionEscrow::SessionStarted>()
        .context("no SessionStarted")?;
    ensure!(started.tutorKey == tutor_key, "{:?}", started.tutorKey);
    let id = started.id;
    let view = e.session(id).call().await?;
    ensure!(view.state == 2 && view.tutor == s.tutor.address() && view.rate == U256::from(RATE));
    ensure!(view.start == s.node.block_time(&r).await?);
    ensure!(e.nonceUsed(s.tutor.address(), nonce).call().await?);
    let again = escrow_error(open_accepted.call().await)?;
    ensure!(
        again
            == ISessionEscrowErrors::EscrowNonceUsed(ISessionEscrow::EscrowNonceUsed {
                tutor: s.tutor.address(),
                nonce
            }),
        "{again:?}"
    );

    // The matchmaker sees the tutor busy once the follower reads the start.
    let mut busy = false;
    for _ in 0..60 {
        student
            .send(json!({ "type": "find", "request": request }))
            .await?;
        let v = student.recv(wait).await?;
        if v["type"] == "no_match" {
            busy = true;
            break;
        }
        ensure!(v["type"] == "searching", "{v}");
        expect(tutor.recv(wait).await?, "proposed")?;
        student.send(json!({ "type": "cancel" })).await?;
        expect(student.recv(wait).await?, "cancelled")?;
        expect(tutor.recv(wait).await?, "proposal_closed")?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    ensure!(busy, "the matchmaker never saw the tutor's session start");
    let r = escrow(s, &s.tutor)
        .stop(id)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.stop (tutor, find-now)", &r)?;
    mm.shutdown().await;
    Ok(())
}

/// Sends a transaction built by `call`, checks it succeeded, records its gas as `op`.
macro_rules! mined {
    ($s:expr, $op:expr, $call:expr) => {{
        let r = $call.send().await?.get_receipt().await?;
        $s.node.mined($op, &r)?;
        r
    }};
}

async fn pause(s: &Suite) -> Result<()> {
    let admin = escrow(s, &s.node.deployer);
    let open_id = open(s, 10_000, Address::repeat_byte(0xa1), 0).await?;
    let live = open(s, 100_000, Address::repeat_byte(0xa2), 0).await?;
    start(s, live, Address::repeat_byte(0xa3)).await?;
    mined!(s, "escrow.setPaused(true)", admin.setPaused(true));
    ensure!(admin.config().call().await?._7, "not paused");
    let paused = ISessionEscrowErrors::EscrowPaused(ISessionEscrow::EscrowPaused {});
    let e = escrow(s, &s.student);
    let err = escrow_error(
        e.open(
            s.tutor.address(),
            s.token,
            U256::from(RATE),
            U256::from(10_000u64),
            Address::repeat_byte(0xa4),
            0,
        )
        .call()
        .await,
    )?;
    ensure!(err == paused, "open: {err:?}");
    let err = escrow_error(
        escrow(s, &s.tutor)
            .start(open_id, Address::repeat_byte(0xa5))
            .call()
            .await,
    )?;
    ensure!(err == paused, "start: {err:?}");
    let err = escrow_error(e.topUp(live, U256::from(1_000u64)).call().await)?;
    ensure!(err == paused, "topUp: {err:?}");
    // Money still leaves: the live session stops and settles, the open one is cancelled.
    let before = balance(s, s.student.address()).await?;
    let r = mined!(s, "escrow.stop (paused)", e.stop(live));
    let stopped = r
        .decoded_log::<ISessionEscrow::SessionEnded>()
        .context("no SessionEnded")?;
    ensure!(e.session(live).call().await?.state == 3);
    let r = mined!(s, "escrow.cancel (paused)", e.cancel(open_id));
    let cancelled = r
        .decoded_log::<ISessionEscrow::SessionCancelled>()
        .context("no SessionCancelled")?;
    ensure!(cancelled.refund == U256::from(10_000u64));
    let after = balance(s, s.student.address()).await?;
    ensure!(
        after == before + stopped.refund + cancelled.refund,
        "student {before} -> {after}, refunds {} + {}",
        stopped.refund,
        cancelled.refund
    );
    mined!(s, "escrow.setPaused(false)", admin.setPaused(false));
    ensure!(!admin.config().call().await?._7, "still paused");
    open(s, 10_000, Address::repeat_byte(0xa6), 0).await?;
    Ok(())
}

/// A quirk token (`fixtures/QuirkToken.sol`), allowed on the escrow, with the student
/// funded and the escrow approved.
async fn quirk_token(s: &Suite) -> Result<Address> {
    let q = s
        .node
        .deploy_evm("QuirkToken", minuto_e2e::QUIRK_TOKEN_BIN)
        .await?;
    mined!(
        s,
        "escrow.setTokenAllowed (quirk)",
        escrow(s, &s.node.deployer).setTokenAllowed(q, true)
    );
    let t = ITestToken::new(q, &s.student.p);
    mined!(
        s,
        "quirk.mint",
        t.mint(s.student.address(), U256::from(10_000_000u64))
    );
    mined!(s, "quirk.approve", t.approve(s.escrow, U256::MAX));
    Ok(q)
}

async fn refused_payout(s: &Suite) -> Result<()> {
    let q = quirk_token(s).await?;
    let e = escrow(s, &s.student);
    let r = mined!(
        s,
        "escrow.open (quirk token)",
        e.open(
            s.tutor.address(),
            q,
            U256::from(RATE),
            U256::from(100_000u64),
            Address::repeat_byte(0xb1),
            0
        )
    );
    let id = r
        .decoded_log::<ISessionEscrow::SessionOpened>()
        .context("no SessionOpened")?
        .id;
    start(s, id, Address::repeat_byte(0xb2)).await?;
    // The token now refuses every transfer to the tutor.
    mined!(
        s,
        "quirk.setBlocked(tutor)",
        minuto_e2e::IQuirkToken::new(q, &s.node.deployer.p).setBlocked(s.tutor.address(), true)
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = mined!(s, "escrow.stop (payout refused)", e.stop(id));
    let ended = r
        .decoded_log::<ISessionEscrow::SessionEnded>()
        .context("no SessionEnded")?;
    let credited = r
        .decoded_log::<ISessionEscrow::PayoutCredited>()
        .context("no PayoutCredited")?;
    ensure!(
        credited.token == q
            && credited.account == s.tutor.address()
            && credited.amount == ended.tutorPaid
            && !credited.amount.is_zero(),
        "{credited:?} vs {ended:?}"
    );
    ensure!(e.claimable(q, s.tutor.address()).call().await? == credited.amount);
    // The tutor claims to an address the token accepts.
    let to = Address::repeat_byte(0xb3);
    let t = escrow(s, &s.tutor);
    let r = mined!(s, "escrow.claim", t.claim(q, to));
    let claimed = r
        .decoded_log::<ISessionEscrow::Claimed>()
        .context("no Claimed")?;
    ensure!(
        claimed.account == s.tutor.address()
            && claimed.to == to
            && claimed.amount == credited.amount,
        "{claimed:?}"
    );
    let got = ITestToken::new(q, &s.node.deployer.p)
        .balanceOf(to)
        .call()
        .await?;
    ensure!(
        got == credited.amount,
        "received {got}, credited {}",
        credited.amount
    );
    ensure!(e.claimable(q, s.tutor.address()).call().await?.is_zero());
    let err = escrow_error(t.claim(q, to).call().await)?;
    ensure!(
        err == ISessionEscrowErrors::EscrowNothingToClaim(ISessionEscrow::EscrowNothingToClaim {
            token: q,
            account: s.tutor.address()
        }),
        "{err:?}"
    );
    Ok(())
}

/// USDT-style: `transfer`/`transferFrom` return no data; the escrow treats that as success.
async fn no_return_data(s: &Suite) -> Result<()> {
    let q = quirk_token(s).await?;
    mined!(
        s,
        "quirk.setNoReturn(true)",
        minuto_e2e::IQuirkToken::new(q, &s.node.deployer.p).setNoReturn(true)
    );
    let t = ITestToken::new(q, &s.node.deployer.p);
    let who = [
        s.student.address(),
        s.tutor.address(),
        s.treasury.address(),
        s.escrow,
    ];
    let mut before = Vec::new();
    for a in who {
        before.push(t.balanceOf(a).call().await?);
    }
    let e = escrow(s, &s.student);
    let deposit = U256::from(50_000u64);
    let r = mined!(
        s,
        "escrow.open (no-return token)",
        e.open(
            s.tutor.address(),
            q,
            U256::from(RATE),
            deposit,
            Address::repeat_byte(0xe1),
            0
        )
    );
    let id = r
        .decoded_log::<ISessionEscrow::SessionOpened>()
        .context("no SessionOpened")?
        .id;
    start(s, id, Address::repeat_byte(0xe2)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = mined!(s, "escrow.stop (no-return token)", e.stop(id));
    let ended = r
        .decoded_log::<ISessionEscrow::SessionEnded>()
        .context("no SessionEnded")?;
    ensure!(
        r.decoded_log::<ISessionEscrow::PayoutCredited>().is_none(),
        "a payout was credited"
    );
    ensure!(
        ended.tutorPaid + ended.fee + ended.refund == deposit,
        "{ended:?}"
    );
    let mut after = Vec::new();
    for a in who {
        after.push(t.balanceOf(a).call().await?);
    }
    ensure!(
        after[0] == before[0] - deposit + ended.refund,
        "student {:?}",
        after
    );
    ensure!(after[1] == before[1] + ended.tutorPaid, "tutor {:?}", after);
    ensure!(after[2] == before[2] + ended.fee, "treasury {:?}", after);
    ensure!(after[3] == before[3], "escrow kept {:?}", after);
    Ok(())
}

async fn fee_on_transfer(s: &Suite) -> Result<()> {
    let q = quirk_token(s).await?;
    mined!(
        s,
        "quirk.setFeeBps(100)",
        minuto_e2e::IQuirkToken::new(q, &s.node.deployer.p).setFeeBps(100)
    );
    let err = escrow_error(
        escrow(s, &s.student)
            .open(
                s.tutor.address(),
                q,
                U256::from(RATE),
                U256::from(10_000u64),
                Address::repeat_byte(0xc1),
                0,
            )
            .call()
            .await,
    )?;
    ensure!(
        err == ISessionEscrowErrors::EscrowFeeOnTransfer(ISessionEscrow::EscrowFeeOnTransfer {
            token: q,
            amount: U256::from(10_000u64),
            received: U256::from(9_900u64)
        }),
        "{err:?}"
    );
    Ok(())
}

async fn too_short(s: &Suite) -> Result<()> {
    let id = open(s, 10_000, Address::repeat_byte(0xd1), 0).await?;
    start(s, id, Address::repeat_byte(0xd2)).await?;
    mined!(s, "escrow.stop (too short)", escrow(s, &s.student).stop(id));
    let view = escrow(s, &s.student).session(id).call().await?;
    let duration = view.end - view.start;
    ensure!(duration < MIN_DURATION, "lasted {duration} s");
    let err: IBadges::IBadgesErrors = revert(
        IBadges::new(s.badges, s.student.p.clone())
            .claim(id)
            .call()
            .await,
    )?;
    ensure!(
        err == IBadges::IBadgesErrors::BadgeTooShort(IBadges::BadgeTooShort {
            sessionId: id,
            duration,
            minDuration: MIN_DURATION
        }),
        "{err:?}"
    );
    Ok(())
}

/// Sets the escrow's fee and start window (treasury, credentials and backdate as deployed).
async fn set_terms(s: &Suite, fee_bps: u16, start_window: u32) -> Result<()> {
    let admin = escrow(s, &s.node.deployer);
    mined!(
        s,
        "escrow.setConfig",
        admin.setConfig(
            s.treasury.address(),
            s.credentials,
            fee_bps,
            start_window,
            MAX_BACKDATE
        )
    );
    let c = admin.config().call().await?;
    ensure!((c._4, c._5) == (fee_bps, start_window), "config {c:?}");
    Ok(())
}

/// The start window and fee are fixed per session at open; a raised fee cannot exceed
/// the cap a tutor signed.
async fn config_changes(s: &Suite) -> Result<()> {
    let early = open(s, 10_000, Address::repeat_byte(0xf1), 0).await?;
    set_terms(s, FEE_BPS, 1).await?;
    let late = open(s, 10_000, Address::repeat_byte(0xf2), 0).await?;
    let late_opened = escrow(s, &s.student).session(late).call().await?.start;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Opened under a 900 s window: still startable.
    start(s, early, Address::repeat_byte(0xf3)).await?;
    // Opened under a 1 s window: expired.
    let err = escrow_error(
        escrow(s, &s.tutor)
            .start(late, Address::repeat_byte(0xf4))
            .call()
            .await,
    )?;
    ensure!(
        err == ISessionEscrowErrors::EscrowStartWindowExpired(
            ISessionEscrow::EscrowStartWindowExpired {
                id: late,
                deadline: late_opened + 1
            }
        ),
        "{err:?}"
    );
    set_terms(s, FEE_BPS, 900).await?;
    mined!(s, "escrow.stop", escrow(s, &s.student).stop(early));

    // A tutor signs with a fee cap of today's fee; the admin then raises the fee.
    let terms = minuto_matchmaker::Terms {
        student: s.student.address(),
        token: s.token,
        rate: U256::from(RATE),
    };
    let nonce = U256::from(unix_now()) + U256::from(1u8);
    let a = minuto_matchmaker::client::sign_acceptance(
        &s.tutor.signer,
        s.node.chain_id,
        s.escrow,
        &terms,
        Address::repeat_byte(0xf5),
        FEE_BPS,
        nonce,
        unix_now() + 600,
    );
    set_terms(s, FEE_BPS + 1, 900).await?;
    let err = escrow_error(
        escrow(s, &s.student)
            .openAccepted(
                s.tutor.address(),
                s.token,
                U256::from(RATE),
                U256::from(10_000u64),
                Address::repeat_byte(0xf6),
                0,
                a.tutor_key,
                a.max_fee_bps,
                a.nonce,
                a.expiry,
                a.signature.clone(),
            )
            .call()
            .await,
    )?;
    set_terms(s, FEE_BPS, 900).await?;
    ensure!(
        err == ISessionEscrowErrors::EscrowFeeTooHigh(ISessionEscrow::EscrowFeeTooHigh {
            feeBps: FEE_BPS + 1,
            maxFeeBps: FEE_BPS
        }),
        "{err:?}"
    );
    Ok(())
}

/// Badges (and ratings, through the same gate) are refused for a session that billed
/// less than the floor, or paid no protocol fee.
async fn reputation_costs_money(s: &Suite) -> Result<()> {
    let badges = IBadges::new(s.badges, s.student.p.clone());
    // One base unit a second for 6 s: longer than the minimum, far below the floor.
    let e = escrow(s, &s.student);
    let r = mined!(
        s,
        "escrow.open (dust)",
        e.open(
            s.tutor.address(),
            s.token,
            U256::from(RATE_SCALE),
            U256::from(1_000u64),
            Address::repeat_byte(0xf7),
            0
        )
    );
    let dust = r
        .decoded_log::<ISessionEscrow::SessionOpened>()
        .context("no SessionOpened")?
        .id;
    start(s, dust, Address::repeat_byte(0xf8)).await?;
    tokio::time::sleep(Duration::from_secs(MIN_DURATION + 1)).await;
    let r = mined!(s, "escrow.stop (dust)", e.stop(dust));
    let billed = r
        .decoded_log::<ISessionEscrow::SessionEnded>()
        .context("no SessionEnded")?
        .billed;
    let err: IBadges::IBadgesErrors = revert(badges.claim(dust).call().await)?;
    ensure!(
        err == IBadges::IBadgesErrors::BadgeTooLittleBilled(IBadges::BadgeTooLittleBilled {
            sessionId: dust,
            billed: billed.to::<u128>(),
            minBilled: MIN_BILLED
        }),
        "{err:?}"
    );
    // A session opened while the fee is 0 bills enough but paid no fee.
    set_terms(s, 0, 900).await?;
    let free = open(s, 100_000, Address::repeat_byte(0xf9), 0).await?;
    set_terms(s, FEE_BPS, 900).await?;
    start(s, free, Address::repeat_byte(0xfa)).await?;
    tokio::time::sleep(Duration::from_secs(MIN_DURATION + 1)).await;
    mined!(s, "escrow.stop (no fee)", e.stop(free));
    let err: IBadges::IBadgesErrors = revert(badges.claim(free).call().await)?;
    ensure!(
        err == IBadges::IBadgesErrors::BadgeNoFeePaid(IBadges::BadgeNoFeePaid { sessionId: free }),
        "{err:?}"
    );
    Ok(())
}

async fn handover(s: &Suite) -> Result<()> {
    let (d, x) = (s.node.deployer.address(), s.stranger.address());
    let by_deployer = escrow(s, &s.node.deployer);
    let by_stranger = escrow(s, &s.stranger);
    mined!(s, "escrow.transferAdmin", by_deployer.transferAdmin(x));
    let c = by_deployer.config().call().await?;
    ensure!((c._0, c._1) == (d, x), "admin {} pending {}", c._0, c._1);
    // Named is not yet admin.
    let not_admin =
        |caller| ISessionEscrowErrors::EscrowNotAdmin(ISessionEscrow::EscrowNotAdmin { caller });
    let err = escrow_error(by_stranger.setPaused(true).call().await)?;
    ensure!(err == not_admin(x), "{err:?}");
    let r = mined!(s, "escrow.acceptAdmin", by_stranger.acceptAdmin());
    let moved = r
        .decoded_log::<ISessionEscrow::AdminTransferred>()
        .context("no AdminTransferred")?;
    ensure!(moved.previousAdmin == d && moved.admin == x, "{moved:?}");
    let c = by_deployer.config().call().await?;
    ensure!((c._0, c._1) == (x, Address::ZERO));
    let err = escrow_error(by_deployer.setPaused(true).call().await)?;
    ensure!(err == not_admin(d), "{err:?}");
    // And back, so that a rerun with the same record finds the deployer admin.
    mined!(
        s,
        "escrow.transferAdmin (back)",
        by_stranger.transferAdmin(d)
    );
    mined!(s, "escrow.acceptAdmin (back)", by_deployer.acceptAdmin());
    ensure!(by_deployer.config().call().await?._0 == d);
    Ok(())
}

fn vetting(s: &Suite, who: &Account) -> IVetting::IVettingInstance<alloy::providers::DynProvider> {
    IVetting::new(s.vetting, who.p.clone())
}

fn vetting_error<T>(r: std::result::Result<T, alloy::contract::Error>) -> Result<IVettingErrors> {
    revert(r)
}

/// The DAO's board as the vetting scenarios need it: the three reviewers, two of them
/// decide. Sent once (the first scenario to run), with its exact events.
async fn vetting_board(s: &Suite) -> Result<()> {
    let admin = vetting(s, &s.node.deployer);
    for (i, r) in s.reviewers.iter().enumerate() {
        if admin.isReviewer(r.address()).call().await? {
            continue;
        }
        let receipt = mined!(s, "vetting.addReviewer", admin.addReviewer(r.address()));
        let e = receipt
            .decoded_log::<IVetting::VettingReviewerAdded>()
            .context("no VettingReviewerAdded")?;
        ensure!(
            (e.reviewer, e.reviewers) == (r.address(), i as u32 + 1),
            "{e:?}"
        );
    }
    if admin.config().call().await?._5 != 2 {
        let receipt = mined!(s, "vetting.setQuorum", admin.setQuorum(2));
        let e = receipt
            .decoded_log::<IVetting::VettingQuorumSet>()
            .context("no VettingQuorumSet")?;
        ensure!((e.quorum, e.reviewers) == (2, 3), "{e:?}");
    }
    Ok(())
}

/// The tutor applies for `kind`; returns the application id and the block time.
async fn apply(s: &Suite, kind: u32, cid: &str) -> Result<(U256, u64)> {
    let r = mined!(
        s,
        "vetting.applyFor",
        vetting(s, &s.tutor).applyFor(kind, cid.into())
    );
    let t = s.node.block_time(&r).await?;
    let e = r
        .decoded_log::<IVetting::VettingApplicationOpened>()
        .context("no VettingApplicationOpened")?;
    ensure!(
        (
            e.tutor,
            e.kind,
            e.action,
            e.tokenId,
            e.openedBy,
            e.deadline,
            e.cid.as_str()
        ) == (
            s.tutor.address(),
            kind,
            1,
            U256::ZERO,
            s.tutor.address(),
            t + VOTING_PERIOD,
            cid
        ),
        "{e:?}"
    );
    Ok((e.applicationId, t))
}

/// A reviewer's vote; checks its `VettingVoted` (tallies after it) and returns the receipt.
async fn vote(
    s: &Suite,
    reviewer: &Account,
    id: U256,
    approve: bool,
    reason: &str,
    tallies: (u32, u32),
) -> Result<alloy::rpc::types::TransactionReceipt> {
    let op = format!(
        "vetting.vote ({})",
        if approve { "approve" } else { "reject" }
    );
    let r = mined!(
        s,
        &op,
        vetting(s, reviewer).vote(id, approve, reason.into())
    );
    let e = r
        .decoded_log::<IVetting::VettingVoted>()
        .context("no VettingVoted")?;
    ensure!(
        (
            e.applicationId,
            e.reviewer,
            e.approve,
            e.approvals,
            e.rejections,
            e.reasonCid.as_str()
        ) == (
            id,
            reviewer.address(),
            approve,
            tallies.0,
            tallies.1,
            reason
        ),
        "{e:?}"
    );
    Ok(r)
}

/// Deployed by the tool with the issuer role; the tutor is refused until rated enough,
/// applies, two of three reviewers approve, the second vote issues the credential (the
/// kind's term from that block), and the session requiring it, refused before, starts.
async fn vetting_approval(s: &Suite) -> Result<()> {
    let creds = ICredentials::new(s.credentials, s.stranger.p.clone());
    let d = s.node.deployer.address();
    // What the deploy tool left: the role, and the constructor's settings from its flags.
    ensure!(
        creds
            .hasRole(keccak256("ISSUER_ROLE"), s.vetting)
            .call()
            .await?,
        "vetting lacks ISSUER_ROLE"
    );
    let c = vetting(s, &s.stranger).config().call().await?;
    ensure!(
        (c._0, c._1, c._2, c._3, c._4) == (d, s.credentials, s.ratings, VOTING_PERIOD, COOLDOWN),
        "{c:?}"
    );
    let err = vetting_error(
        vetting(s, &s.stranger)
            .addReviewer(s.stranger.address())
            .call()
            .await,
    )?;
    ensure!(
        err == IVettingErrors::VettingNotAdmin(IVetting::VettingNotAdmin {
            caller: s.stranger.address()
        }),
        "{err:?}"
    );
    vetting_board(s).await?;

    // The kind's rule: one more rating than the tutor has now, averaging 4.50.
    let ratings = IRatings::new(s.ratings, s.stranger.p.clone());
    let before = ratings.aggregates(s.tutor.address()).call().await?;
    let min_rated = before._0 + 1;
    let uri = "ipfs://minuto-e2e/kinds/8.json";
    let r = mined!(
        s,
        "vetting.setKind",
        vetting(s, &s.node.deployer).setKind(VETTED_KIND, min_rated, 450, TERM, uri.into())
    );
    let e = r
        .decoded_log::<IVetting::VettingKindSet>()
        .context("no VettingKindSet")?;
    ensure!(
        (
            e.kind,
            e.minRatedSessions,
            e.minAverage,
            e.term,
            e.uri.as_str()
        ) == (VETTED_KIND, min_rated, 450, TERM, uri),
        "{e:?}"
    );

    // A session requiring the kind cannot start yet.
    let gated = open(s, 30_000, Address::repeat_byte(0x81), VETTED_KIND).await?;
    let err = escrow_error(
        escrow(s, &s.tutor)
            .start(gated, Address::repeat_byte(0x82))
            .call()
            .await,
    )?;
    ensure!(
        err == ISessionEscrowErrors::EscrowCredentialRequired(
            ISessionEscrow::EscrowCredentialRequired {
                id: gated,
                tutor: s.tutor.address(),
                kind: VETTED_KIND
            }
        ),
        "{err:?}"
    );
    let evidence = "bafkreievidenceofteachingminutoe2etutorvetting0000000000000000";
    let err = vetting_error(
        vetting(s, &s.tutor)
            .applyFor(VETTED_KIND, evidence.into())
            .call()
            .await,
    )?;
    ensure!(
        err == IVettingErrors::VettingTooFewRatings(IVetting::VettingTooFewRatings {
            tutor: s.tutor.address(),
            kind: VETTED_KIND,
            rated: before._0,
            minRated: min_rated
        }),
        "{err:?}"
    );

    // One more paid session, rated 5 by the student.
    let lesson = open(s, 100_000, Address::repeat_byte(0x83), 0).await?;
    start(s, lesson, Address::repeat_byte(0x84)).await?;
    tokio::time::sleep(Duration::from_secs(MIN_DURATION + 1)).await;
    mined!(s, "escrow.stop", escrow(s, &s.student).stop(lesson));
    let cid = "bafkreiratingofthevettedtutorminutoe2e00000000000000000000000";
    mined!(
        s,
        "ratings.rate (student)",
        IRatings::new(s.ratings, s.student.p.clone()).rate(lesson, 5, keccak256(cid), cid.into())
    );
    let after = ratings.aggregates(s.tutor.address()).call().await?;
    ensure!(
        (after._0, after._1) == (min_rated, before._1 + 5),
        "aggregates {after:?} after {before:?}"
    );
    ensure!(
        after._1 * 100 >= 450 * after._0,
        "the tutor's average is under 4.50 ({} over {}): another scenario rated it low",
        after._1,
        after._0
    );

    // Apply; a second application for the kind is refused while it is open.
    let (id, _) = apply(s, VETTED_KIND, evidence).await?;
    let err = vetting_error(
        vetting(s, &s.tutor)
            .applyFor(VETTED_KIND, evidence.into())
            .call()
            .await,
    )?;
    ensure!(
        err == IVettingErrors::VettingApplicationPending(IVetting::VettingApplicationPending {
            tutor: s.tutor.address(),
            kind: VETTED_KIND,
            applicationId: id
        }),
        "{err:?}"
    );
    let err = vetting_error(
        vetting(s, &s.stranger)
            .vote(id, true, String::new())
            .call()
            .await,
    )?;
    ensure!(
        err == IVettingErrors::VettingNotReviewer(IVetting::VettingNotReviewer {
            account: s.stranger.address()
        }),
        "{err:?}"
    );

    // First approval: counted, nothing decided.
    let [r1, r2, r3] = &s.reviewers;
    let reason = "bafkreireviewer1readtheevidenceminutoe2e000000000000000000000";
    let receipt = vote(s, r1, id, true, reason, (1, 0)).await?;
    ensure!(receipt.decoded_log::<IVetting::VettingDecided>().is_none());
    ensure!(
        !creds
            .hasValid(s.tutor.address(), VETTED_KIND)
            .call()
            .await?
    );
    ensure!(
        vetting(s, &s.stranger)
            .voteOf(id, r1.address())
            .call()
            .await?
            == 1
    );
    let err = vetting_error(vetting(s, r1).vote(id, true, String::new()).call().await)?;
    ensure!(
        err == IVettingErrors::VettingAlreadyVoted(IVetting::VettingAlreadyVoted {
            applicationId: id,
            reviewer: r1.address()
        }),
        "{err:?}"
    );

    // The second approval reaches the quorum: decided and issued in that transaction.
    let receipt = vote(s, r2, id, true, "", (2, 0)).await?;
    let decided_at = s.node.block_time(&receipt).await?;
    let decided = receipt
        .decoded_log::<IVetting::VettingDecided>()
        .context("no VettingDecided")?;
    let token = decided.tokenId;
    ensure!(
        (
            decided.applicationId,
            decided.tutor,
            decided.kind,
            decided.action,
            decided.approved
        ) == (id, s.tutor.address(), VETTED_KIND, 1, true)
            && !token.is_zero(),
        "{decided:?}"
    );
    let issued = receipt
        .decoded_log::<ICredentials::CredentialIssued>()
        .context("no CredentialIssued")?;
    ensure!(
        issued.address == s.credentials,
        "issued by {}",
        issued.address
    );
    ensure!(
        (
            issued.tokenId,
            issued.holder,
            issued.kind,
            issued.expiry,
            issued.uri.as_str(),
            issued.issuer
        ) == (
            token,
            s.tutor.address(),
            VETTED_KIND,
            decided_at + TERM,
            uri,
            s.vetting
        ),
        "{issued:?}"
    );
    ensure!(
        creds
            .hasValid(s.tutor.address(), VETTED_KIND)
            .call()
            .await?
    );
    ensure!(
        creds
            .credentialOf(s.tutor.address(), VETTED_KIND)
            .call()
            .await?
            == token
    );
    let a = vetting(s, &s.stranger).application(id).call().await?;
    ensure!(
        (a._0, a._1, a._2, a._3, a._4, a._5, a._6, a._8)
            == (s.tutor.address(), VETTED_KIND, 1, 2, 2, 2, 0, token),
        "{a:?}"
    );
    // Decided: a third vote is refused.
    let err = vetting_error(vetting(s, r3).vote(id, false, String::new()).call().await)?;
    ensure!(
        err == IVettingErrors::VettingNotOpen(IVetting::VettingNotOpen {
            applicationId: id,
            status: 2
        }),
        "{err:?}"
    );

    // The session that required the kind now starts.
    start(s, gated, Address::repeat_byte(0x82)).await?;
    mined!(s, "escrow.stop (vetted)", escrow(s, &s.student).stop(gated));
    Ok(())
}

/// Two reviewers reject: decided in the second vote, no credential, the tutor barred from
/// the kind until `COOLDOWN` seconds after that block, then free to apply again.
async fn vetting_rejection(s: &Suite) -> Result<()> {
    vetting_board(s).await?;
    let uri = "ipfs://minuto-e2e/kinds/9.json";
    mined!(
        s,
        "vetting.setKind",
        vetting(s, &s.node.deployer).setKind(REJECTED_KIND, 1, 100, 0, uri.into())
    );
    let evidence = "bafkreievidencethereviewerswillrejectminutoe2e0000000000000000";
    let (id, _) = apply(s, REJECTED_KIND, evidence).await?;
    let [r1, r2, r3] = &s.reviewers;
    let reason = "bafkreireviewer1foundtheevidencelackingminutoe2e0000000000000";
    vote(s, r1, id, false, reason, (0, 1)).await?;
    let receipt = vote(s, r3, id, false, "", (0, 2)).await?;
    let decided_at = s.node.block_time(&receipt).await?;
    let decided = receipt
        .decoded_log::<IVetting::VettingDecided>()
        .context("no VettingDecided")?;
    ensure!(
        (
            decided.applicationId,
            decided.tutor,
            decided.kind,
            decided.action,
            decided.approved,
            decided.tokenId
        ) == (id, s.tutor.address(), REJECTED_KIND, 1, false, U256::ZERO),
        "{decided:?}"
    );
    ensure!(receipt
        .decoded_log::<ICredentials::CredentialIssued>()
        .is_none());
    let until = decided_at + COOLDOWN;
    let v = vetting(s, &s.stranger);
    let standing = v.standing(s.tutor.address(), REJECTED_KIND).call().await?;
    ensure!(
        (standing._0, standing._1) == (U256::ZERO, until),
        "{standing:?}"
    );
    ensure!(v.application(id).call().await?._3 == 3);
    ensure!(
        !ICredentials::new(s.credentials, s.stranger.p.clone())
            .hasValid(s.tutor.address(), REJECTED_KIND)
            .call()
            .await?
    );
    let err = vetting_error(vetting(s, r2).vote(id, true, String::new()).call().await)?;
    ensure!(
        err == IVettingErrors::VettingNotOpen(IVetting::VettingNotOpen {
            applicationId: id,
            status: 3
        }),
        "{err:?}"
    );
    let err = vetting_error(
        vetting(s, &s.tutor)
            .applyFor(REJECTED_KIND, evidence.into())
            .call()
            .await,
    )?;
    ensure!(
        err == IVettingErrors::VettingCooldown(IVetting::VettingCooldown {
            tutor: s.tutor.address(),
            kind: REJECTED_KIND,
            until
        }),
        "{err:?}"
    );
    // Once the cooldown is over (by this machine's clock, plus a block's slack), the
    // tutor may apply again: a new application.
    let wait = (until + 2).saturating_sub(unix_now());
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (again, at) = apply(s, REJECTED_KIND, evidence).await?;
    ensure!(at >= until && again != id, "applied at {at}, id {again}");
    let standing = v.standing(s.tutor.address(), REJECTED_KIND).call().await?;
    ensure!(standing._0 == again, "{standing:?}");
    Ok(())
}

alloy::sol! {
    /// The test token's transfers, to see where a booked lesson's money came from.
    event Transfer(address indexed from, address indexed to, uint256 value);
}

fn booking(s: &Suite, who: &Account) -> IBooking::IBookingInstance<alloy::providers::DynProvider> {
    IBooking::new(s.booking, who.p.clone())
}

fn booking_error<T>(r: std::result::Result<T, alloy::contract::Error>) -> Result<IBookingErrors> {
    revert(r)
}

/// The later of the node's latest block time and this machine's clock: a start time
/// counted from it is in the future when the request is mined.
async fn chain_now(s: &Suite) -> Result<u64> {
    let b = s
        .node
        .deployer
        .p
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("no latest block")?;
    Ok(b.header.timestamp.max(unix_now()))
}

/// Sleeps until this machine's clock is past `until` (plus a block's slack), then mines a
/// block (a transfer of nothing) so that calls and gas estimates run at a time past it.
async fn wait_past(s: &Suite, until: u64) -> Result<()> {
    let wait = (until + 2).saturating_sub(unix_now());
    println!("    waiting {wait} s (until {until} on chain)");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let tx = alloy::rpc::types::TransactionRequest::default()
        .with_to(s.stranger.address())
        .with_value(U256::ZERO);
    let r = s
        .node
        .deployer
        .p
        .send_transaction(tx)
        .await?
        .get_receipt()
        .await?;
    s.node.mined("block past a deadline", &r)?;
    let at = s.node.block_time(&r).await?;
    ensure!(at > until, "mined at {at}, not past {until}");
    Ok(())
}

/// Token balances of the student, tutor, treasury, escrow and booking contract.
async fn booking_balances(s: &Suite) -> Result<[U256; 5]> {
    Ok([
        balance(s, s.student.address()).await?,
        balance(s, s.tutor.address()).await?,
        balance(s, s.treasury.address()).await?,
        balance(s, s.escrow).await?,
        balance(s, s.booking).await?,
    ])
}

/// `floor(PRICE × bps / 10,000)`: a fee on the booked price.
fn fee_on_price(bps: u16) -> u128 {
    PRICE * u128::from(bps) / 10_000
}

/// The tutor publishes [`RATE`] for the token and the policy above (once; later calls find
/// them on chain).
async fn tutor_terms(s: &Suite) -> Result<()> {
    let b = booking(s, &s.tutor);
    let tutor = s.tutor.address();
    if b.rateOf(tutor, s.token).call().await? != U256::from(RATE) {
        let r = mined!(s, "booking.setRate", b.setRate(s.token, U256::from(RATE)));
        let log = r.decoded_log::<IBooking::RateSet>().context("no RateSet")?;
        ensure!(
            (log.tutor, log.token, log.rate) == (tutor, s.token, U256::from(RATE)),
            "{log:?}"
        );
    }
    let policy = (FREE_NOTICE, LATE_FEE_BPS, NO_SHOW_FEE_BPS);
    let p = b.policyOf(tutor).call().await?;
    if (p._0, p._1, p._2) != policy {
        let r = mined!(
            s,
            "booking.setPolicy",
            b.setPolicy(FREE_NOTICE, LATE_FEE_BPS, NO_SHOW_FEE_BPS)
        );
        let log = r
            .decoded_log::<IBooking::PolicySet>()
            .context("no PolicySet")?;
        ensure!(
            (log.freeNotice, log.lateCancelFeeBps, log.noShowFeeBps) == policy,
            "{log:?}"
        );
    }
    Ok(())
}

/// The student books a [`LESSON`] starting at `start` (the tutor to answer a second before), with
/// [`BOOKING_DEPOSIT`]; the tutor accepts. Returns the booking id.
async fn booked(s: &Suite, start: u64) -> Result<U256> {
    tutor_terms(s).await?;
    let (student, tutor) = (s.student.address(), s.tutor.address());
    let r = mined!(
        s,
        "booking.request",
        booking(s, &s.student).request(
            tutor,
            s.token,
            start,
            LESSON,
            U256::from(RATE),
            U256::from(BOOKING_DEPOSIT),
            0,
            start - 1,
            // The student's bounds: exactly the policy the tutor published.
            FREE_NOTICE,
            LATE_FEE_BPS,
            NO_SHOW_FEE_BPS
        )
    );
    let req = r
        .decoded_log::<IBooking::BookingRequested>()
        .context("no BookingRequested")?;
    ensure!(
        (req.student, req.tutor, req.token, req.start, req.duration)
            == (student, tutor, s.token, start, LESSON),
        "{req:?}"
    );
    ensure!(
        (req.rate, req.deposit, req.answerDeadline)
            == (U256::from(RATE), U256::from(BOOKING_DEPOSIT), start - 1),
        "{req:?}"
    );
    // The tutor's policy, snapshotted into the booking.
    ensure!(
        (req.freeNotice, req.lateCancelFeeBps, req.noShowFeeBps)
            == (FREE_NOTICE, LATE_FEE_BPS, NO_SHOW_FEE_BPS),
        "{req:?}"
    );
    let id = req.id;
    let r = mined!(s, "booking.accept", booking(s, &s.tutor).accept(id));
    let acc = r
        .decoded_log::<IBooking::BookingAccepted>()
        .context("no BookingAccepted")?;
    ensure!((acc.id, acc.tutor) == (id, tutor), "{acc:?}");
    let view = booking(s, &s.stranger).booking(id).call().await?;
    ensure!(view.state == 2, "state {} after accept", view.state);
    Ok(id)
}

/// The student joins booking `id` with heartbeat key `key`: the escrow session opened by
/// the booking contract for the student, paid from the booking contract's balance, the
/// surplus back. Returns the receipt and the escrow session id.
async fn join(
    s: &Suite,
    id: U256,
    key: Address,
) -> Result<(alloy::rpc::types::TransactionReceipt, U256)> {
    let r = mined!(s, "booking.join", booking(s, &s.student).join(id, key));
    let joined = r
        .decoded_log::<IBooking::BookingJoined>()
        .context("no BookingJoined")?;
    let surplus = U256::from(BOOKING_DEPOSIT - PRICE);
    ensure!(
        (joined.id, joined.escrowed, joined.refund) == (id, U256::from(PRICE), surplus),
        "{joined:?}"
    );
    let session = joined.sessionId;
    let opened = r
        .decoded_log::<ISessionEscrow::SessionOpened>()
        .context("no SessionOpened")?;
    ensure!(
        (opened.id, opened.student, opened.tutor, opened.token)
            == (session, s.student.address(), s.tutor.address(), s.token),
        "{opened:?}"
    );
    ensure!(
        (
            opened.rate,
            opened.deposit,
            opened.studentKey,
            opened.credentialKind,
            opened.feeBps
        ) == (U256::from(RATE), U256::from(PRICE), key, 0, FEE_BPS),
        "{opened:?}"
    );
    // The price moved from the booking contract to the escrow, the surplus from the
    // booking contract to the student: nothing from the student's own balance.
    let moved = token_moves(s, &r);
    ensure!(
        moved
            == [
                (s.booking, s.escrow, U256::from(PRICE)),
                (s.booking, s.student.address(), surplus)
            ],
        "transfers {moved:?}"
    );
    let view = escrow(s, &s.stranger).session(session).call().await?;
    ensure!(
        (view.student, view.tutor, view.deposited, view.state)
            == (s.student.address(), s.tutor.address(), U256::from(PRICE), 1),
        "{view:?}"
    );
    let b = booking(s, &s.stranger).booking(id).call().await?;
    ensure!((b.state, b.sessionId) == (6, session), "{b:?}");
    Ok((r, session))
}

/// Request → accept → join in the window → the tutor starts the escrow session → the
/// student stops it: the session's student is the student, its deposit came from the
/// booking contract, and every balance moves to the base unit as `minuto-accrual` says.
async fn booked_lesson(s: &Suite) -> Result<()> {
    // The deploy tool registered the booking contract: it alone may open sessions for
    // students.
    let e = escrow(s, &s.student);
    ensure!(
        e.booking().call().await? == s.booking,
        "booking not registered"
    );
    let err = escrow_error(
        e.openFor(
            s.student.address(),
            s.tutor.address(),
            s.token,
            U256::from(RATE),
            U256::from(PRICE),
            Address::repeat_byte(0xb0),
            0,
            0,
            0,
        )
        .call()
        .await,
    )?;
    ensure!(
        err == ISessionEscrowErrors::EscrowNotBooking(ISessionEscrow::EscrowNotBooking {
            caller: s.student.address()
        }),
        "{err:?}"
    );
    let before = booking_balances(s).await?;
    // The window opens at T − 5 min: a lesson starting in a minute can be joined now.
    let start_at = chain_now(s).await? + 60;
    let id = booked(s, start_at).await?;
    let (r, session) = join(s, id, Address::repeat_byte(0xb1)).await?;
    let joined_at = s.node.block_time(&r).await?;
    ensure!(
        joined_at + JOIN_EARLY >= start_at && joined_at <= start_at + JOIN_LATE,
        "joined at {joined_at}, outside the window of {start_at}"
    );
    let started = start(s, session, Address::repeat_byte(0xb2)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = mined!(
        s,
        "escrow.stop (booked)",
        escrow(s, &s.student).stop(session)
    );
    let ended = r
        .decoded_log::<ISessionEscrow::SessionEnded>()
        .context("no SessionEnded")?;
    ensure!(ended.end == s.node.block_time(&r).await?, "{ended:?}");
    // The student left a few seconds in: the session bills the larger fee's share of the
    // lesson (50 %: 300 s), not the seconds held (audit 15, H1).
    let least = u64::from(LESSON) * u64::from(LATE_FEE_BPS.max(NO_SHOW_FEE_BPS)) / 10_000;
    let billed = Accrual {
        start: started,
        rate: RATE,
        deposited: PRICE,
    }
    .billed_at(ended.end.max(started + least));
    ensure!(
        billed == fee_on_price(NO_SHOW_FEE_BPS),
        "billed {billed}, not the no-show share"
    );
    ensure!(billed > 0, "nothing billed");
    let split = settle(PRICE, billed, FEE_BPS, 0).unwrap();
    let u = U256::from;
    ensure!(
        (ended.billed, ended.tutorPaid, ended.fee, ended.refund)
            == (u(billed), u(split.tutor), u(split.fee), u(split.student)),
        "{ended:?} vs billed {billed}, {split:?}"
    );
    let after = booking_balances(s).await?;
    let expected = [
        before[0] - u(BOOKING_DEPOSIT) + u(BOOKING_DEPOSIT - PRICE) + u(split.student),
        before[1] + u(split.tutor),
        before[2] + u(split.fee),
        before[3],
        before[4],
    ];
    ensure!(
        after == expected,
        "balances (student, tutor, treasury, escrow, booking) {after:?}, expected {expected:?}"
    );
    println!(
        "    booked {PRICE}, billed {billed} over {} s: tutor {}, fee {}, refund {} + {}",
        ended.end - started,
        split.tutor,
        split.fee,
        BOOKING_DEPOSIT - PRICE,
        split.student
    );
    Ok(())
}

/// The student cancels an accepted lesson inside the tutor's free-cancellation notice:
/// the late fee (a quarter of the price) to the tutor, the rest of the deposit back.
async fn booked_late_cancel(s: &Suite) -> Result<()> {
    let before = booking_balances(s).await?;
    let start_at = chain_now(s).await? + 120;
    let id = booked(s, start_at).await?;
    let err = booking_error(booking(s, &s.stranger).cancel(id).call().await)?;
    ensure!(
        err == IBookingErrors::BookingUnauthorized(IBooking::BookingUnauthorized {
            id,
            caller: s.stranger.address()
        }),
        "{err:?}"
    );
    let r = mined!(
        s,
        "booking.cancel (late)",
        booking(s, &s.student).cancel(id)
    );
    mined_late(s, &r, start_at).await?;
    let fee = fee_on_price(LATE_FEE_BPS);
    ensure!(fee == 150_000);
    let c = r
        .decoded_log::<IBooking::BookingCancelled>()
        .context("no BookingCancelled")?;
    let u = U256::from;
    ensure!(
        (c.id, c.by, c.tutorFee, c.refund)
            == (id, s.student.address(), u(fee), u(BOOKING_DEPOSIT - fee)),
        "{c:?}"
    );
    only_the_fee_moved(s, before, fee_on_price(LATE_FEE_BPS)).await?;
    ensure!(booking(s, &s.stranger).booking(id).call().await?.state == 5);
    // A student's cancellation is not the tutor's: no cancellation counted.
    let record = booking(s, &s.stranger)
        .tutorRecord(s.tutor.address())
        .call()
        .await?;
    ensure!(record._0 == 0, "{record:?}");
    Ok(())
}

/// An accepted lesson the student never joins: nobody may claim the no-show fee while
/// the join window is open; once it closes (T + 10 min, waited out), joining is refused
/// and anyone's `claimNoShow` pays the tutor half the price and the student the rest.
async fn booked_student_no_show(s: &Suite) -> Result<()> {
    let before = booking_balances(s).await?;
    let start_at = chain_now(s).await? + 20;
    let id = booked(s, start_at).await?;
    let (opens, closes) = (start_at - JOIN_EARLY, start_at + JOIN_LATE);
    let err = booking_error(booking(s, &s.tutor).claimNoShow(id).call().await)?;
    ensure!(
        err == IBookingErrors::BookingJoinWindowOpen(IBooking::BookingJoinWindowOpen {
            id,
            closes
        }),
        "{err:?}"
    );
    wait_past(s, closes).await?;
    let err = booking_error(
        booking(s, &s.student)
            .join(id, Address::repeat_byte(0xc1))
            .call()
            .await,
    )?;
    ensure!(
        err == IBookingErrors::BookingOutsideJoinWindow(IBooking::BookingOutsideJoinWindow {
            id,
            opens,
            closes
        }),
        "{err:?}"
    );
    let r = mined!(
        s,
        "booking.claimNoShow",
        booking(s, &s.stranger).claimNoShow(id)
    );
    let fee = fee_on_price(NO_SHOW_FEE_BPS);
    ensure!(fee == 300_000);
    let u = U256::from;
    let log = r
        .decoded_log::<IBooking::BookingStudentNoShow>()
        .context("no BookingStudentNoShow")?;
    ensure!(
        (log.id, log.by, log.tutorFee, log.refund)
            == (id, s.stranger.address(), u(fee), u(BOOKING_DEPOSIT - fee)),
        "{log:?}"
    );
    only_the_fee_moved(s, before, fee).await?;
    ensure!(booking(s, &s.stranger).booking(id).call().await?.state == 7);
    Ok(())
}

/// The student joins, the tutor never starts: while the escrow's start window is open
/// the report fails with the escrow's own error; after it, anyone's report has the escrow
/// cancel the session (the price back to the student, who got the surplus at join: the
/// whole deposit), and the tutor's no-show count is 1.
async fn booked_tutor_no_show(s: &Suite) -> Result<()> {
    let before = booking_balances(s).await?;
    let start_at = chain_now(s).await? + 60;
    let id = booked(s, start_at).await?;
    // The session keeps the start window in force when it is opened; the window is set
    // back once the report inside it has been refused (or anything before failed).
    set_terms(s, FEE_BPS, BOOKED_START_WINDOW).await?;
    let inside = async {
        let (r, session) = join(s, id, Address::repeat_byte(0xd1)).await?;
        // The tutor may start until the escrow's window or the join window, whichever
        // ends later, has passed (the booking asks openFor for the longer one).
        let deadline = (s.node.block_time(&r).await? + u64::from(BOOKED_START_WINDOW))
            .max(start_at + JOIN_LATE);
        let err = escrow_error(booking(s, &s.stranger).reportTutorNoShow(id).call().await)?;
        ensure!(
            err == ISessionEscrowErrors::EscrowStartWindowOpen(
                ISessionEscrow::EscrowStartWindowOpen {
                    id: session,
                    deadline
                }
            ),
            "{err:?}"
        );
        anyhow::Ok((session, deadline))
    }
    .await;
    set_terms(s, FEE_BPS, 900).await?;
    let (session, deadline) = inside?;
    wait_past(s, deadline).await?;
    let r = mined!(
        s,
        "booking.reportTutorNoShow",
        booking(s, &s.stranger).reportTutorNoShow(id)
    );
    let cancelled = r
        .decoded_log::<ISessionEscrow::SessionCancelled>()
        .context("no SessionCancelled")?;
    ensure!(
        (cancelled.id, cancelled.by, cancelled.refund) == (session, s.booking, U256::from(PRICE)),
        "{cancelled:?}"
    );
    let log = r
        .decoded_log::<IBooking::BookingTutorNoShow>()
        .context("no BookingTutorNoShow")?;
    ensure!(
        (log.id, log.sessionId, log.by) == (id, session, s.stranger.address()),
        "{log:?}"
    );
    let record = booking(s, &s.stranger)
        .tutorRecord(s.tutor.address())
        .call()
        .await?;
    ensure!((record._0, record._1, record._2) == (0, 1, 0), "{record:?}");
    ensure!(booking(s, &s.stranger).booking(id).call().await?.state == 8);
    ensure!(escrow(s, &s.stranger).session(session).call().await?.state == 4);
    let after = booking_balances(s).await?;
    ensure!(
        after == before,
        "balances {after:?}, expected unchanged {before:?}"
    );
    Ok(())
}

/// Audit 15, L2: the student joins, the tutor starts the session and stops it at once:
/// the escrow bills the seconds held and marks the session `endedByTutor`; a stranger's
/// report counts an early end against the tutor (state 10) and moves no money; a second
/// report is refused.
async fn booked_tutor_ends_early(s: &Suite) -> Result<()> {
    let start_at = chain_now(s).await? + 60;
    let id = booked(s, start_at).await?;
    let (_, session) = join(s, id, Address::repeat_byte(0xe1)).await?;
    start(s, session, Address::repeat_byte(0xe2)).await?;
    let r = mined!(
        s,
        "escrow.stop (booked, tutor)",
        escrow(s, &s.tutor).stop(session)
    );
    let ended = r
        .decoded_log::<ISessionEscrow::SessionEnded>()
        .context("no SessionEnded")?;
    ensure!(ended.by == s.tutor.address(), "{ended:?}");
    ensure!(
        escrow(s, &s.stranger).endedByTutor(session).call().await?,
        "the tutor's early stop is not marked"
    );
    let view = escrow(s, &s.stranger).session(session).call().await?;
    let held = view.end - view.start;
    let record = booking(s, &s.stranger)
        .tutorRecord(s.tutor.address())
        .call()
        .await?;
    let before = booking_balances(s).await?;
    let r = mined!(
        s,
        "booking.reportTutorEarlyEnd",
        booking(s, &s.stranger).reportTutorEarlyEnd(id)
    );
    let log = r
        .decoded_log::<IBooking::BookingTutorEndedEarly>()
        .context("no BookingTutorEndedEarly")?;
    ensure!(
        (log.id, log.sessionId, log.by, log.held) == (id, session, s.stranger.address(), held),
        "{log:?}"
    );
    let moved = token_moves(s, &r);
    ensure!(moved.is_empty(), "transfers {moved:?}");
    let after = booking(s, &s.stranger)
        .tutorRecord(s.tutor.address())
        .call()
        .await?;
    ensure!(
        (after._0, after._1, after._2) == (record._0, record._1, record._2 + 1),
        "{record:?} then {after:?}"
    );
    ensure!(booking(s, &s.stranger).booking(id).call().await?.state == 10);
    let balances = booking_balances(s).await?;
    ensure!(
        balances == before,
        "balances {balances:?}, expected {before:?}"
    );
    let err = booking_error(booking(s, &s.stranger).reportTutorEarlyEnd(id).call().await)?;
    ensure!(
        err == IBookingErrors::BookingInvalidState(IBooking::BookingInvalidState { id, state: 10 }),
        "{err:?}"
    );
    Ok(())
}

/// The student requests a weekly series of `lessons` [`LESSON`]s at [`RATE`] from
/// `start_at` (answered by a second before), [`BOOKING_DEPOSIT`] each, the bounds the
/// tutor's policy, funded lesson by lesson when `fund_lead` is not 0.
async fn request_series(
    s: &Suite,
    op: &str,
    start_at: u64,
    lessons: u16,
    fund_lead: u32,
) -> Result<alloy::rpc::types::TransactionReceipt> {
    tutor_terms(s).await?;
    Ok(mined!(
        s,
        op,
        booking(s, &s.student).requestSeries(
            s.tutor.address(),
            s.token,
            start_at,
            WEEK,
            lessons,
            LESSON,
            U256::from(RATE),
            U256::from(BOOKING_DEPOSIT),
            0,
            start_at - 1,
            FREE_NOTICE,
            LATE_FEE_BPS,
            NO_SHOW_FEE_BPS,
            fund_lead
        )
    ))
}

/// The test token's transfers in `r`: (from, to, value).
fn token_moves(
    s: &Suite,
    r: &alloy::rpc::types::TransactionReceipt,
) -> Vec<(Address, Address, U256)> {
    r.inner
        .logs()
        .iter()
        .filter(|l| l.address() == s.token)
        .filter_map(|l| l.log_decode::<Transfer>().ok())
        .map(|l| (l.inner.from, l.inner.to, l.inner.value))
        .collect()
}

/// `r` was mined inside the free notice before a lesson at `start_at`: a late cancel.
async fn mined_late(
    s: &Suite,
    r: &alloy::rpc::types::TransactionReceipt,
    start_at: u64,
) -> Result<()> {
    let at = s.node.block_time(r).await?;
    ensure!(
        at < start_at && at + u64::from(FREE_NOTICE) > start_at,
        "cancelled at {at}: not late for a lesson at {start_at}"
    );
    Ok(())
}

/// Every balance as `before`, but `fee` moved from the student to the tutor.
async fn only_the_fee_moved(s: &Suite, before: [U256; 5], fee: u128) -> Result<()> {
    let fee = U256::from(fee);
    let after = booking_balances(s).await?;
    let expected = [
        before[0] - fee,
        before[1] + fee,
        before[2],
        before[3],
        before[4],
    ];
    ensure!(
        after == expected,
        "balances {after:?}, expected {expected:?}"
    );
    Ok(())
}

/// A weekly series of three lessons, the first two minutes away: one `requestSeries` (one
/// pull of the three deposits: `BookingRequested` for each, a week apart, then
/// `SeriesRequested`), one `acceptSeries` (three `BookingAccepted`), and one
/// `cancelSeries` by the student inside the first lesson's notice: the first pays the late
/// fee, the two others are free; one transfer of the fee to the tutor and one of the
/// refunds to the student, to the base unit.
async fn booked_series(s: &Suite) -> Result<()> {
    let before = booking_balances(s).await?;
    let (student, tutor) = (s.student.address(), s.tutor.address());
    let start_at = chain_now(s).await? + 120;
    let u = U256::from;
    let r = request_series(s, "booking.requestSeries (3)", start_at, 3, 0).await?;
    let logs = r.inner.logs();
    let requested: Vec<_> = logs
        .iter()
        .filter_map(|l| l.log_decode::<IBooking::BookingRequested>().ok())
        .map(|l| (l.inner.id, l.inner.start, l.inner.deposit))
        .collect();
    let first = requested.first().context("no BookingRequested")?.0;
    let lessons: Vec<(U256, u64, U256)> = (0..3u64)
        .map(|i| {
            (
                first + U256::from(i),
                start_at + i * u64::from(WEEK),
                u(BOOKING_DEPOSIT),
            )
        })
        .collect();
    ensure!(requested == lessons, "{requested:?}");
    let series = r
        .decoded_log::<IBooking::SeriesRequested>()
        .context("no SeriesRequested")?;
    ensure!(
        (
            series.firstId,
            series.student,
            series.tutor,
            series.lessons,
            series.interval
        ) == (first, student, tutor, 3, WEEK),
        "{series:?}"
    );
    let pulls = token_moves(s, &r);
    ensure!(
        pulls == [(student, s.booking, u(3 * BOOKING_DEPOSIT))],
        "transfers {pulls:?}"
    );
    let view = booking(s, &s.stranger).series(first).call().await?;
    ensure!((view._0, view._1) == (3, WEEK), "{view:?}");

    let r = mined!(
        s,
        "booking.acceptSeries (3)",
        booking(s, &s.tutor).acceptSeries(first)
    );
    let accepted: Vec<U256> = r
        .inner
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<IBooking::BookingAccepted>().ok())
        .map(|l| l.inner.id)
        .collect();
    ensure!(
        accepted == [first, first + u(1), first + u(2)],
        "{accepted:?}"
    );

    let r = mined!(
        s,
        "booking.cancelSeries (3)",
        booking(s, &s.student).cancelSeries(first)
    );
    mined_late(s, &r, start_at).await?;
    let fee = fee_on_price(LATE_FEE_BPS);
    let cancelled: Vec<(U256, U256, U256)> = r
        .inner
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<IBooking::BookingCancelled>().ok())
        .map(|l| (l.inner.id, l.inner.tutorFee, l.inner.refund))
        .collect();
    ensure!(
        cancelled
            == [
                (first, u(fee), u(BOOKING_DEPOSIT - fee)),
                (first + u(1), U256::ZERO, u(BOOKING_DEPOSIT)),
                (first + u(2), U256::ZERO, u(BOOKING_DEPOSIT)),
            ],
        "{cancelled:?}"
    );
    let moved = token_moves(s, &r);
    ensure!(
        moved
            == [
                (s.booking, tutor, u(fee)),
                (s.booking, student, u(3 * BOOKING_DEPOSIT - fee)),
            ],
        "transfers {moved:?}"
    );
    only_the_fee_moved(s, before, fee_on_price(LATE_FEE_BPS)).await?;
    let err = booking_error(booking(s, &s.student).cancelSeries(first).call().await)?;
    ensure!(
        err == IBookingErrors::BookingSeriesNothingLeft(IBooking::BookingSeriesNothingLeft {
            firstId: first
        }),
        "{err:?}"
    );
    Ok(())
}

/// A weekly series of two lessons funded lesson by lesson (`fundLead` = the tutor's free
/// notice, an hour): the first lesson, two minutes away, is pulled at request; the second
/// is booked without its deposit (`BookingFundingDue` at its start less an hour,
/// `booking(id).fundBy`); `join` of it would be refused; the student's `fund` pulls it in
/// (`BookingFunded`, one transfer student → booking); `cancelSeries` then pays the first
/// lesson's late fee and refunds the rest, to the base unit.
async fn booked_series_funded_later(s: &Suite) -> Result<()> {
    let before = booking_balances(s).await?;
    let student = s.student.address();
    let start_at = chain_now(s).await? + 120;
    let u = U256::from;
    let r = request_series(
        s,
        "booking.requestSeries (2, funded lesson by lesson)",
        start_at,
        2,
        FREE_NOTICE,
    )
    .await?;
    let first = r
        .decoded_log::<IBooking::SeriesRequested>()
        .context("no SeriesRequested")?
        .firstId;
    let second = first + u(1);
    let due = r
        .decoded_log::<IBooking::BookingFundingDue>()
        .context("no BookingFundingDue")?;
    let fund_by = start_at + u64::from(WEEK) - u64::from(FREE_NOTICE);
    ensure!((due.id, due.fundBy) == (second, fund_by), "{due:?}");
    let pulled = token_moves(s, &r);
    ensure!(
        pulled == [(student, s.booking, u(BOOKING_DEPOSIT))],
        "transfers {pulled:?}"
    );
    let view = booking(s, &s.stranger).booking(second).call().await?;
    ensure!(view.fundBy == fund_by, "{view:?}");
    mined!(
        s,
        "booking.acceptSeries (2)",
        booking(s, &s.tutor).acceptSeries(first)
    );
    let err = booking_error(booking(s, &s.student).claimNoShow(second).call().await)?;
    ensure!(
        err == IBookingErrors::BookingFunding(IBooking::BookingFunding {
            id: second,
            fundBy: fund_by,
            funded: false
        }),
        "{err:?}"
    );

    let r = mined!(s, "booking.fund", booking(s, &s.student).fund(second));
    let funded = r
        .decoded_log::<IBooking::BookingFunded>()
        .context("no BookingFunded")?;
    ensure!(
        (funded.id, funded.amount) == (second, u(BOOKING_DEPOSIT)),
        "{funded:?}"
    );
    ensure!(booking(s, &s.stranger).booking(second).call().await?.fundBy == 0);

    let r = mined!(
        s,
        "booking.cancelSeries (2)",
        booking(s, &s.student).cancelSeries(first)
    );
    mined_late(s, &r, start_at).await?;
    only_the_fee_moved(s, before, fee_on_price(LATE_FEE_BPS)).await
}

/// The billing session again, on a running escrow: another session keeps tokens in it and
/// the tutor and the treasury hold tokens already (earlier scenarios paid them), so no
/// transaction pays for a balance coming into existence, as the fresh deployment's first
/// open, withdraw and relayer stop do (about 17,100 gas each). Its gas rows end in
/// `(steady)`, beside the fresh ones. Every token unit stays among the student, tutor,
/// treasury and escrow, and the escrow ends holding what it held before.
async fn steady_state(s: &Suite) -> Result<()> {
    let holders = |b: [U256; 5]| b[0] + b[1] + b[2] + b[3];
    let before = booking_balances(s).await?;
    let holder = open(s, 10_000, Address::repeat_byte(0x5c), 0).await?;
    let id = open_as(
        s,
        "escrow.open (steady)",
        100_000,
        Address::repeat_byte(0x5d),
        0,
    )
    .await?;
    let r = escrow(s, &s.tutor)
        .start(id, Address::repeat_byte(0x5e))
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.start (steady)", &r)?;
    let r = escrow(s, &s.student)
        .topUp(id, U256::from(50_000u64))
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.topUp (steady)", &r)?;
    tokio::time::sleep(Duration::from_secs(u64::from(MAX_BACKDATE) + 8)).await;
    let r = escrow(s, &s.tutor)
        .withdraw(id)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.withdraw (steady)", &r)?;
    let r = escrow(s, &s.student)
        .stop(id)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.stop (student, steady)", &r)?;
    ensure!(escrow(s, &s.stranger).session(id).call().await?.state == 3);
    let r = escrow(s, &s.student)
        .cancel(holder)
        .send()
        .await?
        .get_receipt()
        .await?;
    s.node.mined("escrow.cancel", &r)?;
    let after = booking_balances(s).await?;
    ensure!(
        holders(after) == holders(before) && after[3] == before[3],
        "balances {after:?}, before {before:?}"
    );
    Ok(())
}

/// Stops a background task when the scenario ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn rand_core() -> impl k256::elliptic_curve::rand_core::CryptoRngCore {
    k256::elliptic_curve::rand_core::OsRng
}

fn main() -> std::process::ExitCode {
    if let Some(why) = skip_reason() {
        for (name, _) in SCENARIOS {
            println!("e2e {name} ... SKIPPED: {why}");
        }
        println!("\ne2e: {} scenarios skipped (not failed)", SCENARIOS.len());
        return std::process::ExitCode::SUCCESS;
    }
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let suite = match setup().await {
            Ok(s) => s,
            Err(e) => {
                println!("e2e setup FAILED: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let mut shared = Shared::default();
        let mut failed = 0;
        for (name, scenario) in SCENARIOS {
            match scenario(&suite, &mut shared).await {
                Ok(()) => println!("e2e {name} ... ok"),
                Err(e) => {
                    failed += 1;
                    println!("e2e {name} ... FAILED: {e:#}");
                }
            }
        }
        println!(
            "\nGas used on chain {}:\n{}",
            suite.node.chain_id,
            suite.node.gas_table(&gas_model(&cached_programs()), false)
        );
        // The same table in Markdown, for the README, where MINUTO_E2E_GAS_MD names a file.
        let mut written = true;
        if let Some(path) = std::env::var_os("MINUTO_E2E_GAS_MD") {
            let table = suite.node.gas_table(&gas_model(&cached_programs()), true);
            if let Err(e) = std::fs::write(&path, table) {
                println!(
                    "e2e: writing MINUTO_E2E_GAS_MD {}: {e}",
                    path.to_string_lossy()
                );
                written = false;
            }
        }
        let over = suite.node.over_budget(GAS_BUDGETS);
        for line in &over {
            println!("e2e gas budget exceeded: {line}");
        }
        println!("e2e: {} passed, {failed} failed", SCENARIOS.len() - failed);
        if failed == 0 && over.is_empty() && written {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        }
    })
}

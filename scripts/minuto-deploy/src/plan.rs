//! The wiring: which calls bring the deployed contracts to the configuration asked for.
//!
//! [`read_state`] reads the contracts' views (or, for a contract not deployed yet, takes
//! what its constructor will leave); [`actions`] is a pure function from that state to
//! the calls still needed, so a re-run sends only what is missing.

use alloy::primitives::{keccak256, Address, Bytes, B256};
use alloy::providers::DynProvider;
use alloy::sol_types::SolCall;

use crate::bindings::{IBadges, IBooking, ICredentials, IRatings, ISessionEscrow, IVetting};
use crate::{Config, Contract, DeployError, Record};

/// Who must send a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// The deployer key this tool holds.
    Deployer,
    /// The admin (e.g. a multisig): printed, not sent.
    Admin,
}

/// One wiring call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// Contract called.
    pub contract: Contract,
    /// Its address (`None` while not deployed, in a dry run).
    pub to: Option<Address>,
    /// Human-readable call.
    pub what: String,
    /// Calldata.
    pub data: Bytes,
    /// Who sends it.
    pub sender: Sender,
}

impl Action {
    /// The target, or `<name>` while not deployed.
    pub fn to_label(&self) -> String {
        self.to
            .map(|a| a.to_string())
            .unwrap_or_else(|| format!("<{}>", self.contract.key()))
    }
}

/// The escrow's wiring as the chain has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowState {
    /// Current admin.
    pub admin: Address,
    /// Admin nominated by `transferAdmin`, not yet accepted.
    pub pending_admin: Address,
    /// Fee recipient.
    pub treasury: Address,
    /// Credentials contract.
    pub credentials: Address,
    /// Fee.
    pub fee_bps: u16,
    /// Start window.
    pub start_window: u32,
    /// Relayer backdate bound.
    pub max_backdate: u32,
    /// Configured relayers not yet allowed.
    pub relayers_missing: Vec<Address>,
    /// Configured tokens not yet allowed.
    pub tokens_missing: Vec<Address>,
    /// The booking contract (recorded or planned), when the escrow does not register it
    /// (`booking()` names none, or another).
    pub booking_missing: Option<Address>,
}

/// The credentials contract's roles as the chain has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialsState {
    /// The deployer holds the default admin role.
    pub deployer_is_admin: bool,
    /// The configured admin holds it.
    pub admin_is_admin: bool,
    /// Configured issuers without the issuer role.
    pub issuers_missing: Vec<Address>,
    /// The record's deployer, when it is neither this run's deployer nor the admin and
    /// still holds the default admin role (a rotated deploy key).
    pub former_deployer_admin: Option<Address>,
    /// The vetting contract (recorded or planned), when it lacks the issuer role.
    pub vetting_issuer_missing: Option<Address>,
}

/// The vetting contract's settings as the chain has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VettingState {
    /// Admin.
    pub admin: Address,
    /// Seconds an application takes votes.
    pub voting_period: u64,
    /// Seconds a rejected tutor waits.
    pub cooldown: u64,
}

/// Badges or ratings settings as the chain has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReputationState {
    /// Admin.
    pub admin: Address,
    /// Minimum billed duration.
    pub min_duration: u64,
    /// Rating window (ratings only; 0 for badges).
    pub window: u64,
    /// Configured tokens whose minimum billed value differs from the configured one.
    pub floors_missing: Vec<Address>,
}

/// Everything [`actions`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// Credentials.
    pub credentials: CredentialsState,
    /// Escrow.
    pub escrow: EscrowState,
    /// Badges.
    pub badges: ReputationState,
    /// Ratings.
    pub ratings: ReputationState,
    /// Vetting.
    pub vetting: VettingState,
}

/// `keccak256("ISSUER_ROLE")`, the credentials contract's issuer role.
pub fn issuer_role() -> B256 {
    keccak256("ISSUER_ROLE")
}

impl State {
    /// What the constructors leave: the state of a fresh deployment whose credentials
    /// contract is at `credentials`, vetting contract at `vetting` and booking contract at
    /// `booking`.
    pub fn fresh(cfg: &Config, credentials: Address, vetting: Address, booking: Address) -> Self {
        let deployer = cfg.deployer();
        Self {
            credentials: CredentialsState {
                deployer_is_admin: true,
                admin_is_admin: cfg.admin == deployer,
                issuers_missing: cfg.issuers.clone(),
                former_deployer_admin: None,
                vetting_issuer_missing: Some(vetting),
            },
            escrow: EscrowState {
                admin: deployer,
                pending_admin: Address::ZERO,
                treasury: cfg.treasury,
                credentials,
                fee_bps: cfg.fee_bps,
                start_window: cfg.start_window,
                max_backdate: cfg.max_backdate,
                relayers_missing: cfg.relayers.clone(),
                tokens_missing: cfg.tokens.clone(),
                booking_missing: Some(booking),
            },
            badges: ReputationState {
                admin: cfg.admin,
                min_duration: cfg.badge_min_duration,
                window: 0,
                floors_missing: cfg.tokens.clone(),
            },
            ratings: ReputationState {
                admin: cfg.admin,
                min_duration: cfg.rating_min_duration,
                window: cfg.rating_window,
                floors_missing: cfg.tokens.clone(),
            },
            vetting: VettingState {
                admin: cfg.admin,
                voting_period: cfg.vetting_voting_period,
                cooldown: cfg.vetting_cooldown,
            },
        }
    }
}

fn node(what: &str) -> impl Fn(alloy::contract::Error) -> DeployError + '_ {
    move |e| DeployError::Rpc(format!("reading {what}: {e}"))
}

/// Reads the wiring of every deployed contract in `record`; contracts not deployed yet
/// get their fresh state. `planned` gives the addresses of contracts the run deploys but
/// has not yet (a dry run or estimate), so calls naming them can be planned.
///
/// # Errors
/// [`DeployError::Rpc`] if a view call fails; [`DeployError::StaleEscrow`] or
/// [`DeployError::StaleVetting`] if a contract reads another one than the recorded.
pub async fn read_state(
    p: &DynProvider,
    cfg: &Config,
    record: &Record,
    planned: &[(Contract, Address)],
) -> Result<State, DeployError> {
    let addr = |c| record.get(c).map(|d| d.address);
    let recorded_or_planned = |contract| {
        addr(contract)
            .or_else(|| {
                planned
                    .iter()
                    .find(|(c, _)| *c == contract)
                    .map(|(_, a)| *a)
            })
            .unwrap_or_default()
    };
    let vetting = recorded_or_planned(Contract::Vetting);
    let booking = recorded_or_planned(Contract::Booking);
    let mut state = State::fresh(
        cfg,
        addr(Contract::Credentials).unwrap_or_default(),
        vetting,
        booking,
    );
    // Nothing to register while the booking contract is neither deployed nor planned.
    if booking.is_zero() {
        state.escrow.booking_missing = None;
    }
    if let Some(a) = addr(Contract::Credentials) {
        let c = ICredentials::new(a, p);
        let admin_role = B256::ZERO;
        let mut missing = Vec::new();
        for &i in &cfg.issuers {
            if !c
                .hasRole(issuer_role(), i)
                .call()
                .await
                .map_err(node("hasRole"))?
            {
                missing.push(i);
            }
        }
        state.credentials = CredentialsState {
            deployer_is_admin: c
                .hasRole(admin_role, cfg.deployer())
                .call()
                .await
                .map_err(node("hasRole"))?,
            admin_is_admin: c
                .hasRole(admin_role, cfg.admin)
                .call()
                .await
                .map_err(node("hasRole"))?,
            issuers_missing: missing,
            former_deployer_admin: None,
            // The role check of every re-run: granted once, nothing more is sent.
            vetting_issuer_missing: (!c
                .hasRole(issuer_role(), vetting)
                .call()
                .await
                .map_err(node("hasRole"))?)
            .then_some(vetting),
        };
        let former = record.deployer;
        if !former.is_zero()
            && former != cfg.deployer()
            && former != cfg.admin
            && c.hasRole(admin_role, former)
                .call()
                .await
                .map_err(node("hasRole"))?
        {
            state.credentials.former_deployer_admin = Some(former);
        }
    }
    if let Some(a) = addr(Contract::Escrow) {
        let e = ISessionEscrow::new(a, p);
        let c = e.config().call().await.map_err(node("escrow config"))?;
        let mut relayers_missing = Vec::new();
        for &r in &cfg.relayers {
            if !e.isRelayer(r).call().await.map_err(node("isRelayer"))? {
                relayers_missing.push(r);
            }
        }
        let mut tokens_missing = Vec::new();
        for &t in &cfg.tokens {
            if !e
                .tokenAllowed(t)
                .call()
                .await
                .map_err(node("tokenAllowed"))?
            {
                tokens_missing.push(t);
            }
        }
        // The registration check of every re-run: set once, nothing more is sent.
        let registered = e.booking().call().await.map_err(node("escrow booking"))?;
        state.escrow = EscrowState {
            admin: c._0,
            pending_admin: c._1,
            treasury: c._2,
            credentials: c._3,
            fee_bps: c._4,
            start_window: c._5,
            max_backdate: c._6,
            relayers_missing,
            tokens_missing,
            booking_missing: (!booking.is_zero() && registered != booking).then_some(booking),
        };
    }
    let escrow = addr(Contract::Escrow).unwrap_or_default();
    let stale = |contract, reads: Address| {
        if reads == escrow {
            Ok(())
        } else {
            Err(DeployError::StaleEscrow {
                contract,
                reads,
                recorded: escrow,
            })
        }
    };
    if let Some(a) = addr(Contract::Badges) {
        let b = IBadges::new(a, p);
        let c = b.config().call().await.map_err(node("badges config"))?;
        stale("badges", c._1)?;
        let mut floors_missing = Vec::new();
        for &t in &cfg.tokens {
            if b.minBilled(t).call().await.map_err(node("minBilled"))? != cfg.min_billed {
                floors_missing.push(t);
            }
        }
        state.badges = ReputationState {
            admin: c._0,
            min_duration: c._2,
            window: 0,
            floors_missing,
        };
    }
    if let Some(a) = addr(Contract::Ratings) {
        let r = IRatings::new(a, p);
        let c = r.config().call().await.map_err(node("ratings config"))?;
        stale("ratings", c._1)?;
        let mut floors_missing = Vec::new();
        for &t in &cfg.tokens {
            if r.minBilled(t).call().await.map_err(node("minBilled"))? != cfg.min_billed {
                floors_missing.push(t);
            }
        }
        state.ratings = ReputationState {
            admin: c._0,
            min_duration: c._2,
            window: c._3,
            floors_missing,
        };
    }
    if let Some(a) = addr(Contract::Booking) {
        let c = IBooking::new(a, p)
            .config()
            .call()
            .await
            .map_err(node("booking config"))?;
        stale("booking", c._0)?;
    }
    if let Some(a) = addr(Contract::Vetting) {
        let c = IVetting::new(a, p)
            .config()
            .call()
            .await
            .map_err(node("vetting config"))?;
        for (what, reads, contract) in [
            ("credentials", c._1, Contract::Credentials),
            ("ratings", c._2, Contract::Ratings),
        ] {
            let recorded = addr(contract).unwrap_or_default();
            if reads != recorded {
                return Err(DeployError::StaleVetting {
                    what,
                    reads,
                    recorded,
                });
            }
        }
        state.vetting = VettingState {
            admin: c._0,
            voting_period: c._3,
            cooldown: c._4,
        };
    }
    Ok(state)
}

/// The calls that bring `state` to what `cfg` asks, in the order they must be sent.
pub fn actions(cfg: &Config, record: &Record, state: &State) -> Vec<Action> {
    let deployer = cfg.deployer();
    let addr = |c| record.get(c).map(|d| d.address);
    let mut out = Vec::new();
    let mut push = |contract, what: String, data: Vec<u8>, sender| {
        out.push(Action {
            contract,
            to: addr(contract),
            what,
            data: data.into(),
            sender,
        })
    };

    // Credentials: issuers, then hand the admin role over.
    let cred = &state.credentials;
    let by = if cred.deployer_is_admin {
        Sender::Deployer
    } else {
        Sender::Admin
    };
    for &i in &cred.issuers_missing {
        push(
            Contract::Credentials,
            format!("credentials.grantRole(ISSUER_ROLE, {i})"),
            ICredentials::grantRoleCall {
                role: issuer_role(),
                account: i,
            }
            .abi_encode(),
            by,
        );
    }
    // The vetting contract issues what its reviewers approve: it needs the issuer role,
    // granted while the deployer still holds the admin role (before the handover below).
    if let Some(v) = cred
        .vetting_issuer_missing
        .filter(|v| !cred.issuers_missing.contains(v))
    {
        push(
            Contract::Credentials,
            format!("credentials.grantRole(ISSUER_ROLE, {v}) (vetting)"),
            ICredentials::grantRoleCall {
                role: issuer_role(),
                account: v,
            }
            .abi_encode(),
            by,
        );
    }
    if cfg.admin != deployer {
        if !cred.admin_is_admin {
            push(
                Contract::Credentials,
                format!("credentials.grantRole(DEFAULT_ADMIN_ROLE, {})", cfg.admin),
                ICredentials::grantRoleCall {
                    role: B256::ZERO,
                    account: cfg.admin,
                }
                .abi_encode(),
                by,
            );
        }
        // The deployer lets go only once the admin has shown it holds its key, by
        // accepting the escrow: a mistyped --admin must not lock everyone out.
        if cred.deployer_is_admin && state.escrow.admin == cfg.admin {
            push(
                Contract::Credentials,
                format!("credentials.renounceRole(DEFAULT_ADMIN_ROLE, {deployer})"),
                ICredentials::renounceRoleCall {
                    role: B256::ZERO,
                    confirmation: deployer,
                }
                .abi_encode(),
                Sender::Deployer,
            );
        }
    }

    // A former deploy key that still holds the admin role loses it.
    if let Some(former) = cred.former_deployer_admin {
        push(
            Contract::Credentials,
            format!("credentials.revokeRole(DEFAULT_ADMIN_ROLE, {former}) (a former deploy key)"),
            ICredentials::revokeRoleCall {
                role: B256::ZERO,
                account: former,
            }
            .abi_encode(),
            by,
        );
    }

    // Escrow: relayers, tokens, config, then the admin handover.
    let esc = &state.escrow;
    let by = if esc.admin == deployer {
        Sender::Deployer
    } else {
        Sender::Admin
    };
    for &r in &esc.relayers_missing {
        push(
            Contract::Escrow,
            format!("escrow.setRelayer({r}, true)"),
            ISessionEscrow::setRelayerCall {
                relayer: r,
                allowed: true,
            }
            .abi_encode(),
            by,
        );
    }
    for &t in &esc.tokens_missing {
        push(
            Contract::Escrow,
            format!("escrow.setTokenAllowed({t}, true)"),
            ISessionEscrow::setTokenAllowedCall {
                token: t,
                allowed: true,
            }
            .abi_encode(),
            by,
        );
    }
    let credentials = addr(Contract::Credentials).unwrap_or(esc.credentials);
    let wanted = (
        cfg.treasury,
        credentials,
        cfg.fee_bps,
        cfg.start_window,
        cfg.max_backdate,
    );
    let have = (
        esc.treasury,
        esc.credentials,
        esc.fee_bps,
        esc.start_window,
        esc.max_backdate,
    );
    if wanted != have {
        push(
            Contract::Escrow,
            format!(
                "escrow.setConfig({}, {}, {}, {}, {})",
                wanted.0, wanted.1, wanted.2, wanted.3, wanted.4
            ),
            ISessionEscrow::setConfigCall {
                treasury: wanted.0,
                credentials: wanted.1,
                fee_bps: wanted.2,
                start_window: wanted.3,
                max_backdate: wanted.4,
            }
            .abi_encode(),
            by,
        );
    }
    // The booking contract opens its lessons' sessions with `openFor`, which only the
    // contract the escrow registers may call; set before the admin handover, so the
    // deployer still sends it on a fresh deployment.
    if let Some(b) = esc.booking_missing {
        push(
            Contract::Escrow,
            format!("escrow.setBooking({b})"),
            ISessionEscrow::setBookingCall { booking: b }.abi_encode(),
            by,
        );
    }
    if esc.admin != cfg.admin {
        if esc.pending_admin != cfg.admin {
            push(
                Contract::Escrow,
                format!("escrow.transferAdmin({})", cfg.admin),
                ISessionEscrow::transferAdminCall {
                    new_admin: cfg.admin,
                }
                .abi_encode(),
                by,
            );
        }
        push(
            Contract::Escrow,
            "escrow.acceptAdmin()".into(),
            ISessionEscrow::acceptAdminCall {}.abi_encode(),
            Sender::Admin,
        );
    }

    // Badges and ratings take their admin at construction; only settings can drift.
    let by = |admin: Address| {
        if admin == deployer {
            Sender::Deployer
        } else {
            Sender::Admin
        }
    };
    if state.badges.min_duration != cfg.badge_min_duration {
        push(
            Contract::Badges,
            format!("badges.setMinDuration({})", cfg.badge_min_duration),
            IBadges::setMinDurationCall {
                min_duration: cfg.badge_min_duration,
            }
            .abi_encode(),
            by(state.badges.admin),
        );
    }
    if (state.ratings.min_duration, state.ratings.window)
        != (cfg.rating_min_duration, cfg.rating_window)
    {
        push(
            Contract::Ratings,
            format!(
                "ratings.setConfig({}, {})",
                cfg.rating_min_duration, cfg.rating_window
            ),
            IRatings::setConfigCall {
                min_duration: cfg.rating_min_duration,
                rating_window: cfg.rating_window,
            }
            .abi_encode(),
            by(state.ratings.admin),
        );
    }
    // Per-token floors on billed value, without which a token's sessions earn nothing.
    for &t in &state.badges.floors_missing {
        push(
            Contract::Badges,
            format!("badges.setMinBilled({t}, {})", cfg.min_billed),
            IBadges::setMinBilledCall {
                token: t,
                min_billed: cfg.min_billed,
            }
            .abi_encode(),
            by(state.badges.admin),
        );
    }
    for &t in &state.ratings.floors_missing {
        push(
            Contract::Ratings,
            format!("ratings.setMinBilled({t}, {})", cfg.min_billed),
            IRatings::setMinBilledCall {
                token: t,
                min_billed: cfg.min_billed,
            }
            .abi_encode(),
            by(state.ratings.admin),
        );
    }
    let vet = &state.vetting;
    if (vet.voting_period, vet.cooldown) != (cfg.vetting_voting_period, cfg.vetting_cooldown) {
        push(
            Contract::Vetting,
            format!(
                "vetting.setConfig({}, {})",
                cfg.vetting_voting_period, cfg.vetting_cooldown
            ),
            IVetting::setConfigCall {
                voting_period: cfg.vetting_voting_period,
                cooldown: cfg.vetting_cooldown,
            }
            .abi_encode(),
            by(vet.admin),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cli, Deployed};
    use alloy::primitives::U256;
    use clap::Parser;

    const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    fn cfg(extra: &[&str]) -> Config {
        let mut args = vec![
            "minuto-deploy",
            "--rpc-url",
            "http://localhost:8547",
            "--private-key",
            KEY,
            "--root",
            "/repo",
        ];
        args.extend_from_slice(extra);
        Config::from_cli(Cli::try_parse_from(args).unwrap()).unwrap()
    }

    fn deployed(cfg: &Config) -> Record {
        let mut r = Record::new(1, cfg.deployer(), cfg.admin);
        for (i, c) in Contract::ALL.into_iter().enumerate() {
            r.set(
                c,
                Deployed {
                    address: Address::repeat_byte(0xc0 + i as u8),
                    block: 1,
                    tx: B256::ZERO,
                    code_hash: None,
                    ..Deployed::default()
                },
            );
        }
        r
    }

    /// Where [`deployed`] puts the vetting contract (the fifth).
    const VETTING: Address = Address::repeat_byte(0xc4);
    /// Where [`deployed`] puts the booking contract (the sixth).
    const BOOKING: Address = Address::repeat_byte(0xc5);

    fn whats(actions: &[Action]) -> Vec<(String, Sender)> {
        actions.iter().map(|a| (a.what.clone(), a.sender)).collect()
    }

    #[test]
    fn fresh_deployment_by_its_own_admin_wires_issuers_relayers_and_tokens() {
        let c = cfg(&[
            "--relayer",
            "0x1111111111111111111111111111111111111111",
            "--token",
            "0x2222222222222222222222222222222222222222,0x3333333333333333333333333333333333333333",
            "--issuer",
            "0x4444444444444444444444444444444444444444",
        ]);
        let record = deployed(&c);
        let state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        let got = whats(&actions(&c, &record, &state));
        let d = Sender::Deployer;
        assert_eq!(
            got,
            vec![
                ("credentials.grantRole(ISSUER_ROLE, 0x4444444444444444444444444444444444444444)".into(), d),
                (format!("credentials.grantRole(ISSUER_ROLE, {VETTING}) (vetting)"), d),
                ("escrow.setRelayer(0x1111111111111111111111111111111111111111, true)".into(), d),
                ("escrow.setTokenAllowed(0x2222222222222222222222222222222222222222, true)".into(), d),
                ("escrow.setTokenAllowed(0x3333333333333333333333333333333333333333, true)".into(), d),
                (format!("escrow.setBooking({BOOKING})"), d),
                ("badges.setMinBilled(0x2222222222222222222222222222222222222222, 1000000)".into(), d),
                ("badges.setMinBilled(0x3333333333333333333333333333333333333333, 1000000)".into(), d),
                ("ratings.setMinBilled(0x2222222222222222222222222222222222222222, 1000000)".into(), d),
                ("ratings.setMinBilled(0x3333333333333333333333333333333333333333, 1000000)".into(), d),
            ]
        );
        // Calldata is the ABI encoding of the named call, sent to the recorded address.
        let all = actions(&c, &record, &state);
        assert_eq!(all[1].to, Some(Address::repeat_byte(0xc0)));
        assert_eq!(
            all[1].data,
            Bytes::from(
                ICredentials::grantRoleCall {
                    role: keccak256("ISSUER_ROLE"),
                    account: VETTING
                }
                .abi_encode()
            )
        );
        let a = &all[2];
        assert_eq!(a.to, Some(Address::repeat_byte(0xc1)));
        assert_eq!(
            a.data,
            Bytes::from(
                ISessionEscrow::setRelayerCall {
                    relayer: Address::repeat_byte(0x11),
                    allowed: true
                }
                .abi_encode()
            )
        );
    }

    #[test]
    fn multisig_admin_gets_the_roles_handed_over_and_must_accept_the_escrow() {
        let admin = "0x5555555555555555555555555555555555555555";
        let c = cfg(&["--admin", admin]);
        let record = deployed(&c);
        let state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        let deployer = c.deployer();
        assert_eq!(
            whats(&actions(&c, &record, &state)),
            vec![
                // Vetting gets the issuer role before the admin role changes hands.
                (
                    format!("credentials.grantRole(ISSUER_ROLE, {VETTING}) (vetting)"),
                    Sender::Deployer
                ),
                (
                    format!("credentials.grantRole(DEFAULT_ADMIN_ROLE, {admin})"),
                    Sender::Deployer
                ),
                // Booking is registered while the deployer is still the escrow's admin.
                (format!("escrow.setBooking({BOOKING})"), Sender::Deployer),
                (format!("escrow.transferAdmin({admin})"), Sender::Deployer),
                ("escrow.acceptAdmin()".into(), Sender::Admin),
            ]
        );
        // Once the admin has accepted the escrow, the next run renounces the deployer's
        // credentials role, and nothing else.
        let mut accepted = state.clone();
        accepted.credentials.admin_is_admin = true;
        accepted.escrow.admin = c.admin;
        accepted.escrow.booking_missing = None;
        // Had the vetting grant not gone through yet, it comes before the renounce, while
        // the deployer can still send it.
        assert_eq!(
            whats(&actions(&c, &record, &accepted)),
            vec![
                (
                    format!("credentials.grantRole(ISSUER_ROLE, {VETTING}) (vetting)"),
                    Sender::Deployer
                ),
                (
                    format!("credentials.renounceRole(DEFAULT_ADMIN_ROLE, {deployer})"),
                    Sender::Deployer
                ),
            ]
        );
        accepted.credentials.vetting_issuer_missing = None;
        assert_eq!(
            whats(&actions(&c, &record, &accepted)),
            vec![(
                format!("credentials.renounceRole(DEFAULT_ADMIN_ROLE, {deployer})"),
                Sender::Deployer
            )]
        );
        // The treasury defaults to the admin.
        assert_eq!(c.treasury, admin.parse::<Address>().unwrap());
    }

    #[test]
    fn a_former_deploy_key_still_admin_is_revoked() {
        let c = cfg(&[]);
        let record = deployed(&c);
        let mut state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        state.credentials.issuers_missing.clear();
        state.credentials.vetting_issuer_missing = None;
        state.escrow.relayers_missing.clear();
        state.escrow.booking_missing = None;
        let former = Address::repeat_byte(0x0f);
        state.credentials.former_deployer_admin = Some(former);
        let revoke = (
            format!("credentials.revokeRole(DEFAULT_ADMIN_ROLE, {former}) (a former deploy key)"),
            Sender::Deployer,
        );
        let first = actions(&c, &record, &state);
        assert_eq!(whats(&first), vec![revoke.clone()]);
        assert_eq!(
            first[0].data,
            Bytes::from(
                ICredentials::revokeRoleCall {
                    role: B256::ZERO,
                    account: former
                }
                .abi_encode()
            )
        );
        // Once the deployer has handed the role over, the admin must send it.
        state.credentials.deployer_is_admin = false;
        assert_eq!(
            whats(&actions(&c, &record, &state)),
            vec![(revoke.0, Sender::Admin)]
        );
    }

    #[test]
    fn converged_state_needs_no_calls_so_a_rerun_sends_nothing() {
        let c = cfg(&[
            "--relayer",
            "0x1111111111111111111111111111111111111111",
            "--issuer",
            "0x4444444444444444444444444444444444444444",
        ]);
        let record = deployed(&c);
        let mut state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        state.credentials.issuers_missing.clear();
        state.credentials.vetting_issuer_missing = None;
        state.escrow.relayers_missing.clear();
        state.escrow.booking_missing = None;
        assert_eq!(actions(&c, &record, &state), vec![]);
    }

    #[test]
    fn vetting_added_to_a_deployment_the_admin_already_took_over() {
        // An older deployment (no vetting in the record) whose credentials admin role the
        // multisig holds alone: the vetting contract's role is the admin's call to make,
        // and a re-run that finds it granted sends nothing.
        let admin = "0x5555555555555555555555555555555555555555";
        let c = cfg(&["--admin", admin]);
        let record = deployed(&c);
        let mut state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        state.credentials.deployer_is_admin = false;
        state.credentials.admin_is_admin = true;
        state.escrow.admin = c.admin;
        state.escrow.booking_missing = None;
        let a = actions(&c, &record, &state);
        assert_eq!(
            whats(&a),
            vec![(
                format!("credentials.grantRole(ISSUER_ROLE, {VETTING}) (vetting)"),
                Sender::Admin
            )]
        );
        assert_eq!(a[0].to, Some(Address::repeat_byte(0xc0)));
        state.credentials.vetting_issuer_missing = None;
        assert_eq!(actions(&c, &record, &state), vec![]);
    }

    #[test]
    fn vetting_named_as_an_issuer_too_is_granted_once() {
        let c = cfg(&["--issuer", &VETTING.to_string()]);
        let record = deployed(&c);
        let state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        assert_eq!(
            whats(&actions(&c, &record, &state)),
            vec![
                (
                    format!("credentials.grantRole(ISSUER_ROLE, {VETTING})"),
                    Sender::Deployer
                ),
                (format!("escrow.setBooking({BOOKING})"), Sender::Deployer),
            ]
        );
    }

    #[test]
    fn vetting_settings_come_from_the_flags_and_drift_is_reset_by_its_admin() {
        let c = cfg(&[
            "--vetting-voting-period",
            "86400",
            "--vetting-cooldown",
            "0",
        ]);
        assert_eq!((c.vetting_voting_period, c.vetting_cooldown), (86_400, 0));
        let record = deployed(&c);
        let mut state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        state.credentials.vetting_issuer_missing = None;
        state.escrow.booking_missing = None;
        // As constructed: nothing to do.
        assert_eq!(actions(&c, &record, &state), vec![]);
        // The DAO changed them; a run with these flags sets them back.
        state.vetting.cooldown = 3_600;
        let a = actions(&c, &record, &state);
        assert_eq!(
            whats(&a),
            vec![("vetting.setConfig(86400, 0)".into(), Sender::Deployer)]
        );
        assert_eq!(a[0].to, Some(VETTING));
        assert_eq!(
            a[0].data,
            Bytes::from(
                IVetting::setConfigCall {
                    voting_period: 86_400,
                    cooldown: 0
                }
                .abi_encode()
            )
        );
        // Once the DAO holds vetting's admin role, it is the admin's call.
        state.vetting.admin = Address::repeat_byte(0x55);
        assert_eq!(
            whats(&actions(&c, &record, &state)),
            vec![("vetting.setConfig(86400, 0)".into(), Sender::Admin)]
        );
        // Defaults: a week to vote, thirty days after a rejection.
        let d = cfg(&[]);
        assert_eq!(
            (d.vetting_voting_period, d.vetting_cooldown),
            (604_800, 2_592_000)
        );
    }

    #[test]
    fn booking_is_registered_in_the_escrow_once_and_before_the_admin_handover() {
        let admin = "0x5555555555555555555555555555555555555555";
        let c = cfg(&["--admin", admin]);
        let record = deployed(&c);
        let mut state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        state.credentials.vetting_issuer_missing = None;
        state.credentials.admin_is_admin = true;
        let a = actions(&c, &record, &state);
        assert_eq!(
            whats(&a),
            vec![
                (format!("escrow.setBooking({BOOKING})"), Sender::Deployer),
                (format!("escrow.transferAdmin({admin})"), Sender::Deployer),
                ("escrow.acceptAdmin()".into(), Sender::Admin),
            ]
        );
        // To the recorded escrow, the ABI encoding of setBooking(booking).
        assert_eq!(a[0].to, Some(Address::repeat_byte(0xc1)));
        assert_eq!(a[0].contract, Contract::Escrow);
        assert_eq!(
            a[0].data,
            Bytes::from(ISessionEscrow::setBookingCall { booking: BOOKING }.abi_encode())
        );
        assert_eq!(a[0].data[..4], keccak256("setBooking(address)")[..4]);
        // The re-run reads `booking()` back: registered, nothing more for it.
        state.escrow.booking_missing = None;
        assert_eq!(
            whats(&actions(&c, &record, &state)),
            vec![
                (format!("escrow.transferAdmin({admin})"), Sender::Deployer),
                ("escrow.acceptAdmin()".into(), Sender::Admin),
            ]
        );
    }

    #[test]
    fn booking_added_to_a_deployment_the_admin_already_took_over_is_the_admins_call() {
        // An older deployment (no booking in the record) whose escrow the multisig has
        // accepted: only it can register the new booking contract.
        let admin = "0x5555555555555555555555555555555555555555";
        let c = cfg(&["--admin", admin]);
        let record = deployed(&c);
        let mut state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        state.credentials.deployer_is_admin = false;
        state.credentials.admin_is_admin = true;
        state.credentials.vetting_issuer_missing = None;
        state.escrow.admin = c.admin;
        let a = actions(&c, &record, &state);
        assert_eq!(
            whats(&a),
            vec![(format!("escrow.setBooking({BOOKING})"), Sender::Admin)]
        );
        assert_eq!(a[0].to, Some(Address::repeat_byte(0xc1)));
        state.escrow.booking_missing = None;
        assert_eq!(actions(&c, &record, &state), vec![]);
    }

    #[test]
    fn pending_escrow_admin_only_needs_acceptance() {
        let admin: Address = "0x5555555555555555555555555555555555555555"
            .parse()
            .unwrap();
        let c = cfg(&["--admin", &admin.to_string()]);
        let record = deployed(&c);
        let mut state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        state.credentials.deployer_is_admin = false;
        state.credentials.admin_is_admin = true;
        state.credentials.vetting_issuer_missing = None;
        state.escrow.booking_missing = None;
        state.escrow.pending_admin = admin;
        assert_eq!(
            whats(&actions(&c, &record, &state)),
            vec![("escrow.acceptAdmin()".into(), Sender::Admin)]
        );
    }

    #[test]
    fn drifted_settings_are_reset_by_whoever_is_admin() {
        let admin = "0x5555555555555555555555555555555555555555";
        let c = cfg(&["--admin", admin, "--fee-bps", "250"]);
        let record = deployed(&c);
        let mut state = State::fresh(&c, Address::repeat_byte(0xc0), VETTING, BOOKING);
        // Handover done; then someone changed the fee and the badge minimum.
        state.credentials.deployer_is_admin = false;
        state.credentials.admin_is_admin = true;
        state.credentials.vetting_issuer_missing = None;
        state.escrow.booking_missing = None;
        state.escrow.admin = c.admin;
        state.escrow.fee_bps = 0;
        state.badges.min_duration = 60;
        let treasury = c.treasury;
        assert_eq!(
            whats(&actions(&c, &record, &state)),
            vec![
                (
                    format!(
                        "escrow.setConfig({treasury}, {}, 250, 900, 60)",
                        Address::repeat_byte(0xc0)
                    ),
                    Sender::Admin
                ),
                ("badges.setMinDuration(300)".into(), Sender::Admin),
            ]
        );
    }

    #[test]
    fn dry_run_actions_before_deployment_have_no_target_yet() {
        let c = cfg(&["--relayer", "0x1111111111111111111111111111111111111111"]);
        let record = Record::new(1, c.deployer(), c.admin);
        // The vetting contract's planned (CREATE2) address is known; none is deployed.
        let state = State::fresh(&c, Address::ZERO, VETTING, BOOKING);
        let a = actions(&c, &record, &state);
        assert_eq!(
            whats(&a),
            vec![
                (
                    format!("credentials.grantRole(ISSUER_ROLE, {VETTING}) (vetting)"),
                    Sender::Deployer
                ),
                (
                    "escrow.setRelayer(0x1111111111111111111111111111111111111111, true)".into(),
                    Sender::Deployer
                ),
                (format!("escrow.setBooking({BOOKING})"), Sender::Deployer),
            ]
        );
        assert_eq!((a[0].to, a[0].to_label()), (None, "<credentials>".into()));
        assert_eq!((a[1].to, a[1].to_label()), (None, "<escrow>".into()));
        assert_eq!((a[2].to, a[2].to_label()), (None, "<escrow>".into()));
    }

    #[test]
    fn the_cache_bid_is_for_the_escrow_unless_cache_names_programs() {
        let cfg = |extra: &[&str]| {
            let mut args = vec!["minuto-deploy", "--rpc-url", "http://x", "--root", "/r"];
            args.extend_from_slice(&["--private-key", KEY]);
            args.extend_from_slice(extra);
            Config::from_cli(Cli::try_parse_from(args).unwrap()).unwrap()
        };
        let plain = cfg(&[]);
        assert_eq!(
            (plain.cache_bid, plain.cache),
            (None, vec![Contract::Escrow])
        );
        let named = cfg(&[
            "--cache-bid-wei",
            "7",
            "--cache",
            "badges, escrow,badges,ratings",
        ]);
        assert_eq!(named.cache_bid, Some(U256::from(7)));
        assert_eq!(
            named.cache,
            [Contract::Badges, Contract::Escrow, Contract::Ratings]
        );
        // A list without a bid would bid nothing: refused by the parser.
        let mut args = vec!["minuto-deploy", "--rpc-url", "http://x", "--root", "/r"];
        args.extend_from_slice(&["--private-key", KEY, "--cache", "badges"]);
        assert!(Cli::try_parse_from(args).is_err());
    }

    fn cli_err(extra: &[&str]) -> String {
        let mut args = vec!["minuto-deploy", "--rpc-url", "http://x", "--root", "/r"];
        args.extend_from_slice(extra);
        if !extra.contains(&"--private-key") {
            args.extend_from_slice(&["--private-key", KEY]);
        }
        Config::from_cli(Cli::try_parse_from(args).unwrap())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_flags_are_refused_with_the_contracts_own_rules() {
        assert_eq!(
            cli_err(&["--fee-bps", "1001"]),
            "invalid --fee-bps: 1001 (at most 1000)"
        );
        assert_eq!(
            cli_err(&["--max-backdate", "29"]),
            "invalid --max-backdate: 29 (30 to 3600 seconds)"
        );
        assert_eq!(
            cli_err(&["--start-window", "0"]),
            "invalid --start-window: 0 (must be positive)"
        );
        assert_eq!(
            cli_err(&["--badge-min-duration", "0"]),
            "invalid --badge-min-duration: 0 (must be positive)"
        );
        assert_eq!(
            cli_err(&["--cache-bid-wei", "1", "--cache", "escrow,nft"]),
            "invalid --cache: nft (escrow, credentials, badges, ratings, vetting or booking)"
        );
        for bad in ["0", "4294967296"] {
            assert_eq!(
                cli_err(&["--rating-min-duration", bad]),
                format!("invalid --rating-min-duration: {bad} (1 to 4294967295 seconds)")
            );
        }
        assert_eq!(
            cli_err(&["--rating-window", "0"]),
            "invalid --rating-window: 0 (must be positive)"
        );
        assert_eq!(
            cli_err(&["--vetting-voting-period", "0"]),
            "invalid --vetting-voting-period: 0 (must be positive)"
        );
        let long = "x".repeat(257);
        assert_eq!(
            cli_err(&["--badge-base-uri", &long]),
            "invalid --badge-base-uri: 257 bytes (at most 256 bytes)"
        );
        assert_eq!(
            cli_err(&["--badge-base-uri", "ipfs://\"x"]),
            "invalid --badge-base-uri: ipfs://\"x (must not contain a double quote)"
        );
        assert_eq!(
            cli_err(&["--token", "0x0000000000000000000000000000000000000000"]),
            "invalid --token: the zero address"
        );
        assert_eq!(
            cli_err(&["--admin", "0x0000000000000000000000000000000000000000"]),
            "invalid --admin: the zero address"
        );
        let key_err = cli_err(&["--private-key", "0x1234"]);
        assert_eq!(
            key_err,
            "invalid deployer key from --private-key / MINUTO_DEPLOYER_KEY: not a 32-byte hex \
             secp256k1 key"
        );
        assert!(!key_err.contains("1234"));
        assert_eq!(
            cli_err(&["--salt", &format!("{}", B256::ZERO)]),
            "invalid --salt: zero (the StylusDeployer then uses CREATE, whose addresses depend \
             on its nonce)"
        );
    }

    #[test]
    fn repeated_and_comma_separated_lists_are_deduplicated() {
        let c = cfg(&[
            "--relayer",
            "0x1111111111111111111111111111111111111111,0x1111111111111111111111111111111111111111",
            "--relayer",
            "0x2222222222222222222222222222222222222222",
        ]);
        assert_eq!(
            c.relayers,
            vec![Address::repeat_byte(0x11), Address::repeat_byte(0x22)]
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let c = cfg(&[]);
        assert!(!format!("{c:?}").contains("59c6995e"));
    }
}

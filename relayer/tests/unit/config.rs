//! Tests of `minuto_relayer::config` through its public API.

use minuto_relayer::config::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_primitives::Address;
use clap::Parser;
use k256::ecdsa::SigningKey;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn env_with_key(name: &str) -> Option<String> {
    (name == ENV_PRIVATE_KEY).then(|| KEY.to_owned())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("minuto-cfg-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn environment_variables_fill_flags() {
    // Only this test touches these variables.
    std::env::set_var("MINUTO_RELAYER_SILENCE_TIMEOUT", "15s");
    std::env::set_var("MINUTO_RELAYER_CONFIRMATIONS", "3");
    std::env::set_var("MINUTO_RELAYER_DEPLOYMENT", "deployments/412346.json");
    let cli = Cli::try_parse_from(["minuto-relayer", "--confirmations", "4"]).unwrap();
    std::env::remove_var("MINUTO_RELAYER_SILENCE_TIMEOUT");
    std::env::remove_var("MINUTO_RELAYER_CONFIRMATIONS");
    std::env::remove_var("MINUTO_RELAYER_DEPLOYMENT");
    assert_eq!(cli.silence_timeout, Some(Duration::from_secs(15)));
    assert_eq!(
        cli.deployment,
        Some(PathBuf::from("deployments/412346.json"))
    );
    // A flag beats the environment.
    assert_eq!(cli.confirmations, Some(4));
}

#[test]
fn example_file_parses_and_http_values_are_checked() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("minuto-relayer.example.toml");
    let cli = Cli {
        config: Some(example),
        ..Cli::default()
    };
    let c = Config::load_with_env(&cli, env_with_key).unwrap();
    assert_eq!(c.http.cors_allowed_origins, CorsOrigins::Any);
    assert_eq!(
        c.http.admin_listen,
        SocketAddr::from(([127, 0, 0, 1], 9090))
    );
    assert!(c.http.trusted_proxies.is_empty());
    assert_eq!(c.redis_url, None);

    let dir = tmpdir("http");
    let base = "rpc_url = \"http://127.0.0.1:8545\"\nescrow = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\nchain_id = 1\n";
    let good = write(
        &dir,
        "good.toml",
        &format!("{base}redis_url = \"redis://127.0.0.1:6379/\"\n[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]\ncors_allowed_origins = [\"https://app.example\"]\n"),
    );
    let c = Config::load_with_env(
        &Cli {
            config: Some(good),
            ..Cli::default()
        },
        env_with_key,
    )
    .unwrap();
    assert_eq!(c.http.trusted_proxies.len(), 2);
    assert!(matches!(c.http.cors_allowed_origins, CorsOrigins::List(ref l) if l.len() == 1));
    for (i, (table, field)) in [
        (
            "[http]\ntrusted_proxies = [\"10.0.0.0/33\"]",
            "http.trusted_proxies",
        ),
        (
            "[http]\ncors_allowed_origins = [\"app.example\"]",
            "http.cors_allowed_origins",
        ),
        (
            "[http]\ncors_allowed_origins = [\"*\", \"https://a.example\"]",
            "http.cors_allowed_origins",
        ),
        ("[http]\nmax_connections = 0", "http.max_connections"),
        (
            "[http]\nheader_read_timeout = \"0s\"",
            "header_read_timeout",
        ),
        (
            "[http]\nheader_read_timeout = \"5s\"",
            "http.header_read_timeout",
        ),
        ("redis_url = \"http://127.0.0.1:6379\"", "redis_url"),
    ]
    .into_iter()
    .enumerate()
    {
        let path = write(&dir, &format!("bad{i}.toml"), &format!("{base}{table}\n"));
        let err = Config::load_with_env(
            &Cli {
                config: Some(path),
                ..Cli::default()
            },
            env_with_key,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(field), "{table}: {err}");
    }
    let short = |name: &str| match name {
        ENV_ADMIN_TOKEN => Some("short".to_owned()),
        other => env_with_key(other),
    };
    let cli = Cli {
        rpc_url: Some("http://127.0.0.1:8545".parse().unwrap()),
        escrow: Some(Address::repeat_byte(1)),
        chain_id: Some(1),
        ..Cli::default()
    };
    assert!(Config::load_with_env(&cli, short)
        .unwrap_err()
        .to_string()
        .contains(ENV_ADMIN_TOKEN));
}

#[test]
fn parse_duration_accepts_units_and_rejects_bare_numbers() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
    assert!(parse_duration("10").unwrap_err().contains("unit"));
    assert!(parse_duration("10x").unwrap_err().contains("\"10x\""));
    assert!(parse_duration("s").is_err());
}

#[test]
fn file_values_apply_and_flags_override_them() {
    let dir = tmpdir("merge");
    let path = write(
        &dir,
        "c.toml",
        r#"
rpc_url = "http://127.0.0.1:8545"
escrow = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
chain_id = 31337
silence_timeout = "12s"
grace_period = "30s"
[api]
max_clock_skew = "5s"
[tx]
max_attempts = 3
"#,
    );
    let cli = Cli {
        config: Some(path),
        chain_id: Some(42161),
        ..Cli::default()
    };
    let c = Config::load_with_env(&cli, env_with_key).unwrap();
    assert_eq!(c.chain_id, 42161);
    assert_eq!(c.silence_timeout, Duration::from_secs(12));
    assert_eq!(c.grace_period, Duration::from_secs(30));
    assert_eq!(c.api.max_clock_skew, Duration::from_secs(5));
    assert_eq!(c.tx.submit.max_attempts, 3);
    assert_eq!(c.ping_interval, Duration::from_secs(5));
    assert_eq!(
        c.key.address(),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse::<Address>()
            .unwrap()
    );
}

#[test]
fn debug_output_never_contains_the_key() {
    let cli = Cli {
        rpc_url: Some("https://rpc.example/v2/SECRETAPIKEY".parse().unwrap()),
        redis_url: Some(
            "redis://:REDISPASSWORD@redis.example:6379/"
                .parse()
                .unwrap(),
        ),
        escrow: Some(Address::repeat_byte(1)),
        chain_id: Some(1),
        ..Cli::default()
    };
    let token = "admin-token-0123456789abcdef";
    let env = |name: &str| match name {
        ENV_ADMIN_TOKEN => Some(token.to_owned()),
        other => env_with_key(other),
    };
    let c = Config::load_with_env(&cli, env).unwrap();
    let shown = format!("{c:?}");
    assert!(c.http.admin_token.is_some());
    assert!(!shown.contains(token), "{shown}");
    assert!(!shown.contains(&KEY[2..]));
    assert!(!shown.contains(&KEY[2..10]));
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains("SECRETAPIKEY"));
    assert!(shown.contains("rpc.example"));
    assert!(!shown.contains("REDISPASSWORD"), "{shown}");
    assert!(shown.contains("redis.example"), "{shown}");
}

#[test]
fn rejections_name_the_field() {
    let base = || Cli {
        rpc_url: Some("http://x".parse().unwrap()),
        escrow: Some(Address::repeat_byte(1)),
        chain_id: Some(1),
        ..Cli::default()
    };
    let err = |cli: Cli, env: fn(&str) -> Option<String>| {
        Config::load_with_env(&cli, env).unwrap_err().to_string()
    };
    assert_eq!(
        err(
            Cli {
                rpc_url: None,
                ..base()
            },
            env_with_key
        ),
        "missing `rpc_url` (set it in the config file, as --rpc-url, or in MINUTO_RELAYER_RPC_URL)"
    );
    assert_eq!(
        err(
            Cli {
                chain_id: None,
                ..base()
            },
            env_with_key
        ),
        "missing `chain_id` (set it in the config file, as --chain-id, or in MINUTO_RELAYER_CHAIN_ID)"
    );
    assert_eq!(
        err(
            Cli {
                escrow: None,
                ..base()
            },
            env_with_key
        ),
        "missing `escrow` (set it in the config file, as --escrow, or in MINUTO_RELAYER_ESCROW)"
    );
    assert_eq!(
        err(
            Cli {
                escrow: Some(Address::ZERO),
                ..base()
            },
            env_with_key
        ),
        "invalid `escrow`: must not be the zero address"
    );
    assert!(err(
        Cli {
            silence_timeout: Some(Duration::from_secs(5)),
            ..base()
        },
        env_with_key
    )
    .starts_with("invalid `silence_timeout`"));
    assert_eq!(
        err(base(), |_| None),
        format!("relayer key: set {ENV_PRIVATE_KEY} or a keystore")
    );
    assert_eq!(
        err(base(), |n| (n == ENV_PRIVATE_KEY)
            .then(|| "0x1234".to_owned())),
        format!("relayer key: {ENV_PRIVATE_KEY} must be 32 bytes, got 2")
    );
    let dir = tmpdir("reject");
    let path = write(&dir, "bad.toml", "silence_timout = \"10s\"\n");
    let e = err(
        Cli {
            config: Some(path),
            ..base()
        },
        env_with_key,
    );
    assert!(e.contains("unknown field `silence_timout`"), "{e}");
    // A bad duration in the file names its key (the flag's is clap's own message).
    let path = write(&dir, "bad-duration.toml", "[tx]\nretry_after = \"10\"\n");
    let e = err(
        Cli {
            config: Some(path),
            ..base()
        },
        env_with_key,
    );
    assert!(
        e.contains("retry_after") && e.contains("is not a duration"),
        "{e}"
    );
}

#[test]
fn keystore_decrypts_with_password_from_env() {
    let dir = tmpdir("keystore");
    let secret = [7u8; 32];
    let mut rng = rand::thread_rng();
    eth_keystore::encrypt_key(&dir, &mut rng, secret, "hunter2", Some("k.json")).unwrap();
    let cli = Cli {
        rpc_url: Some("http://x".parse().unwrap()),
        escrow: Some(Address::repeat_byte(1)),
        chain_id: Some(1),
        keystore: Some(dir.join("k.json")),
        ..Cli::default()
    };
    let c = Config::load_with_env(&cli, |n| {
        (n == ENV_KEYSTORE_PASSWORD).then(|| "hunter2".to_owned())
    })
    .unwrap();
    let expected = Address::from_private_key(&SigningKey::from_slice(&secret).unwrap());
    assert_eq!(c.key.address(), expected);
    let wrong = Config::load_with_env(&cli, |n| {
        (n == ENV_KEYSTORE_PASSWORD).then(|| "nope".to_owned())
    })
    .unwrap_err();
    assert!(wrong
        .to_string()
        .starts_with("relayer key: cannot decrypt keystore"));
}

#[test]
fn keystore_password_file_is_read_and_a_keystore_without_a_valid_key_is_refused() {
    let dir = tmpdir("keystore-file");
    let secret = [9u8; 32];
    let mut rng = rand::thread_rng();
    eth_keystore::encrypt_key(&dir, &mut rng, secret, "hunter2", Some("k.json")).unwrap();
    // The zero scalar is no secp256k1 key.
    eth_keystore::encrypt_key(&dir, &mut rng, [0u8; 32], "hunter2", Some("zero.json")).unwrap();
    std::fs::write(dir.join("password"), "hunter2\r\n").unwrap();
    let cli = |keystore: &str| Cli {
        rpc_url: Some("http://x".parse().unwrap()),
        escrow: Some(Address::repeat_byte(1)),
        chain_id: Some(1),
        keystore: Some(dir.join(keystore)),
        keystore_password_file: Some(dir.join("password")),
        ..Cli::default()
    };
    // The file's line ending is not part of the password.
    let c = Config::load_with_env(&cli("k.json"), |_| None).unwrap();
    let expected = Address::from_private_key(&SigningKey::from_slice(&secret).unwrap());
    assert_eq!(c.key.address(), expected);
    // The environment's password wins over the file.
    let wrong = Config::load_with_env(&cli("k.json"), |n| {
        (n == ENV_KEYSTORE_PASSWORD).then(|| "nope".to_owned())
    })
    .unwrap_err();
    assert!(wrong
        .to_string()
        .starts_with("relayer key: cannot decrypt keystore"));
    let zero = Config::load_with_env(&cli("zero.json"), |_| None).unwrap_err();
    assert_eq!(
        zero.to_string(),
        format!(
            "relayer key: keystore {} holds no valid key",
            dir.join("zero.json").display()
        )
    );
    let missing = Cli {
        keystore_password_file: Some(dir.join("absent")),
        ..cli("k.json")
    };
    let e = Config::load_with_env(&missing, |_| None).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "relayer key: cannot read {}: ",
            dir.join("absent").display()
        )),
        "{e}"
    );
}

const ESCROW: &str = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const OTHER: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/// A deployment file as the deploy tool writes it, unknown fields included.
fn deployment_json(chain_id: u64, escrow: &str, block: u64) -> String {
    format!(
        r#"{{
  "chainId": {chain_id},
  "deployer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  "admin": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  "writtenBy": "minuto-deploy 0.1.0",
  "contracts": {{
"credentials": {{ "address": "{OTHER}", "block": 10, "tx": "0x0101010101010101010101010101010101010101010101010101010101010101" }},
"escrow": {{ "address": "{escrow}", "block": {block}, "tx": "0x0202020202020202020202020202020202020202020202020202020202020202", "codeHash": "0x0303030303030303030303030303030303030303030303030303030303030303", "verifiedBy": "0x03" }},
"badges": {{ "address": "{OTHER}", "block": 12, "tx": "0x0404040404040404040404040404040404040404040404040404040404040404" }},
"ratings": {{ "address": "{OTHER}", "block": 13, "tx": "0x0505050505050505050505050505050505050505050505050505050505050505" }}
  }}
}}"#
    )
}

/// A CLI with an RPC URL and the deployment file, nothing else.
fn cli_with_deployment(path: &Path) -> Cli {
    Cli {
        rpc_url: Some("http://x".parse().unwrap()),
        deployment: Some(path.to_owned()),
        ..Cli::default()
    }
}

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

#[test]
fn deployment_file_supplies_chain_id_escrow_and_start_block() {
    let dir = tmpdir("deploy-values");
    let path = write(&dir, "412346.json", &deployment_json(412_346, ESCROW, 11));
    let c = Config::load_with_env(&cli_with_deployment(&path), env_with_key).unwrap();
    assert_eq!(c.chain_id, 412_346);
    assert_eq!(c.escrow, addr(ESCROW));
    assert_eq!(c.start_block, 11);

    // The same through the config file's `deployment` key.
    let toml = write(
        &dir,
        "c.toml",
        &format!(
            "rpc_url = \"http://127.0.0.1:8547\"\ndeployment = '{}'\n",
            path.display()
        ),
    );
    let cli = Cli {
        config: Some(toml),
        ..Cli::default()
    };
    let c = Config::load_with_env(&cli, env_with_key).unwrap();
    assert_eq!(
        (c.chain_id, c.escrow, c.start_block),
        (412_346, addr(ESCROW), 11)
    );

    // And through the flag.
    let cli = Cli::try_parse_from([
        "minuto-relayer",
        "--rpc-url",
        "http://x",
        "--deployment",
        path.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(cli.deployment.as_deref(), Some(path.as_path()));
    let c = Config::load_with_env(&cli, env_with_key).unwrap();
    assert_eq!(c.escrow, addr(ESCROW));
}

#[test]
fn explicit_values_equal_to_the_deployment_are_accepted() {
    let dir = tmpdir("deploy-agree");
    let path = write(&dir, "d.json", &deployment_json(412_346, ESCROW, 11));
    // Same address in another case: addresses compare as bytes.
    let cli = Cli {
        escrow: Some(addr(&ESCROW.to_lowercase())),
        chain_id: Some(412_346),
        ..cli_with_deployment(&path)
    };
    let c = Config::load_with_env(&cli, env_with_key).unwrap();
    assert_eq!(
        (c.chain_id, c.escrow, c.start_block),
        (412_346, addr(ESCROW), 11)
    );
    // Equal values from the config file, deployment given as a flag.
    let toml = write(
        &dir,
        "c.toml",
        &format!("escrow = \"{ESCROW}\"\nchain_id = 412346\n"),
    );
    let cli = Cli {
        config: Some(toml),
        ..cli_with_deployment(&path)
    };
    let c = Config::load_with_env(&cli, env_with_key).unwrap();
    assert_eq!((c.chain_id, c.escrow), (412_346, addr(ESCROW)));
}

#[test]
fn escrow_disagreeing_with_the_deployment_is_rejected() {
    let dir = tmpdir("deploy-escrow");
    let path = write(&dir, "d.json", &deployment_json(412_346, ESCROW, 11));
    let cli = Cli {
        escrow: Some(addr(OTHER)),
        ..cli_with_deployment(&path)
    };
    let e = Config::load_with_env(&cli, env_with_key).unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::DeploymentMismatch {
                field: "escrow",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "`escrow` is {OTHER} but deployment file {} says {ESCROW}; remove one or make them agree",
            path.display()
        )
    );
    // From the config file too.
    let toml = write(&dir, "c.toml", &format!("escrow = \"{OTHER}\"\n"));
    let cli = Cli {
        config: Some(toml),
        ..cli_with_deployment(&path)
    };
    let e = Config::load_with_env(&cli, env_with_key).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::DeploymentMismatch {
                field: "escrow",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn chain_id_disagreeing_with_the_deployment_is_rejected() {
    let dir = tmpdir("deploy-chain");
    let path = write(&dir, "d.json", &deployment_json(412_346, ESCROW, 11));
    let cli = Cli {
        chain_id: Some(42_161),
        ..cli_with_deployment(&path)
    };
    let e = Config::load_with_env(&cli, env_with_key).unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::DeploymentMismatch {
                field: "chain_id",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "`chain_id` is 42161 but deployment file {} says 412346; remove one or make them agree",
            path.display()
        )
    );
}

#[test]
fn explicit_start_block_overrides_the_deployment() {
    let dir = tmpdir("deploy-start");
    let path = write(&dir, "d.json", &deployment_json(412_346, ESCROW, 11));
    let cli = Cli {
        start_block: Some(5_000),
        ..cli_with_deployment(&path)
    };
    let c = Config::load_with_env(&cli, env_with_key).unwrap();
    assert_eq!(c.start_block, 5_000);
    let toml = write(&dir, "c.toml", "start_block = 7\n");
    let cli = Cli {
        config: Some(toml),
        ..cli_with_deployment(&path)
    };
    let c = Config::load_with_env(&cli, env_with_key).unwrap();
    assert_eq!(c.start_block, 7);
}

#[test]
fn malformed_deployment_files_are_rejected() {
    let dir = tmpdir("deploy-bad");
    let load = |name: &str, text: &str| {
        let path = write(&dir, name, text);
        let e = Config::load_with_env(&cli_with_deployment(&path), env_with_key).unwrap_err();
        (path.display().to_string(), e)
    };

    let (p, e) = load("not-json.json", "chainId = 1\n");
    assert!(matches!(e, ConfigError::DeploymentParse { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("deployment file {p}: expected value at line 1 column 1")
    );

    let (p, e) = load(
        "string-chain.json",
        &format!(
            r#"{{"chainId": "412346", "contracts": {{"escrow": {{"address": "{ESCROW}", "block": 1}}}}}}"#
        ),
    );
    assert!(matches!(e, ConfigError::DeploymentParse { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "deployment file {p}: invalid type: string \"412346\", expected u64 at line 1 column 20"
        )
    );

    let (p, e) = load("no-chain.json", r#"{"contracts": {}}"#);
    assert!(matches!(e, ConfigError::DeploymentParse { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("deployment file {p}: missing field `chainId` at line 1 column 17")
    );

    let (p, e) = load(
        "no-block.json",
        &format!(r#"{{"chainId": 1, "contracts": {{"escrow": {{"address": "{ESCROW}"}}}}}}"#),
    );
    assert!(matches!(e, ConfigError::DeploymentParse { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with(&format!("deployment file {p}: missing field `block`")),
        "{e}"
    );

    let (p, e) = load(
        "no-escrow.json",
        &format!(
            r#"{{"chainId": 1, "contracts": {{"badges": {{"address": "{OTHER}", "block": 3}}}}}}"#
        ),
    );
    assert!(matches!(e, ConfigError::DeploymentNoEscrow { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("deployment file {p} has no `contracts.escrow` entry")
    );
    let (p, e) = load("no-contracts.json", r#"{"chainId": 1}"#);
    assert_eq!(
        e.to_string(),
        format!("deployment file {p} has no `contracts.escrow` entry")
    );

    let (p, e) = load(
        "zero-escrow.json",
        &deployment_json(412_346, &format!("{}", Address::ZERO), 11),
    );
    assert!(
        matches!(
            e,
            ConfigError::DeploymentInvalid {
                field: "contracts.escrow.address",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "deployment file {p}: invalid `contracts.escrow.address`: must not be the zero address"
        )
    );

    let (p, e) = load("chain-zero.json", &deployment_json(0, ESCROW, 11));
    assert!(
        matches!(
            e,
            ConfigError::DeploymentInvalid {
                field: "chainId",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("deployment file {p}: invalid `chainId`: must not be 0")
    );
}

#[test]
fn missing_deployment_file_is_rejected_with_its_path() {
    let path = tmpdir("deploy-missing").join("absent.json");
    let e = Config::load_with_env(&cli_with_deployment(&path), env_with_key).unwrap_err();
    match &e {
        ConfigError::DeploymentRead { path: p, source } => {
            assert_eq!(p, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected DeploymentRead, got {other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with(&format!("cannot read deployment file {}: ", path.display())),
        "{e}"
    );
}

#[test]
fn default_connection_limit_holds_both_parties_of_ten_thousand_sessions() {
    let c = Config::with_defaults(
        "http://x".parse().unwrap(),
        Address::repeat_byte(1),
        1,
        minuto_relayer::config::parse_private_key(&"11".repeat(32)).unwrap(),
    );
    // 10,000 sessions, a keep-alive connection per party, and room for reconnects.
    assert_eq!(c.http.max_connections, 32_768);
    assert!(c.http.max_connections > 2 * 10_000);
}

#[test]
fn every_flag_beats_the_file_and_every_file_key_applies_without_one() {
    let dir = tmpdir("every-key");
    let from_file_deployment = write(&dir, "a.json", &deployment_json(412_346, ESCROW, 11));
    let flag_deployment = write(&dir, "b.json", &deployment_json(42_161, OTHER, 12));
    let file = write(
        &dir,
        "c.toml",
        &format!(
            r#"rpc_url = "http://file.example:8545/"
deployment = '{}'
listen = "127.0.0.1:7001"
ping_interval = "4s"
silence_timeout = "9s"
grace_period = "19s"
max_backdate = "50s"
confirmations = 2
start_block = 3
cursor_file = "file.cursor.json"
log_format = "text"
admin_listen = "127.0.0.1:7002"
redis_url = "redis://file.example:6379/"
"#,
            from_file_deployment.display()
        ),
    );
    let shown = |c: &Config| {
        format!(
            "{} {} {} {} {} {:?} {:?} {:?} {:?} {} {} {} {:?} {} {:?}",
            c.rpc_url,
            c.chain_id,
            c.escrow,
            c.listen,
            c.http.admin_listen,
            c.ping_interval,
            c.silence_timeout,
            c.grace_period,
            c.max_backdate,
            c.confirmations,
            c.start_block,
            c.cursor_file.display(),
            c.log_format,
            c.redis_url.as_ref().unwrap(),
            c.key.address(),
        )
    };
    let only_file = Cli {
        config: Some(file.clone()),
        ..Cli::default()
    };
    assert_eq!(
        shown(&Config::load_with_env(&only_file, env_with_key).unwrap()),
        format!("http://file.example:8545/ 412346 {ESCROW} 127.0.0.1:7001 127.0.0.1:7002 4s 9s 19s Some(50s) 2 3 file.cursor.json Text redis://file.example:6379/ 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")
    );
    let flags = Cli::try_parse_from([
        "minuto-relayer",
        "--config",
        file.to_str().unwrap(),
        "--rpc-url",
        "https://flag.example/v1",
        "--deployment",
        flag_deployment.to_str().unwrap(),
        "--escrow",
        OTHER,
        "--chain-id",
        "42161",
        "--listen",
        "127.0.0.1:8001",
        "--admin-listen",
        "127.0.0.1:8002",
        "--ping-interval",
        "3s",
        "--silence-timeout",
        "8s",
        "--grace-period",
        "1h 30m",
        "--max-backdate",
        "40s",
        "--confirmations",
        "5",
        "--start-block",
        "18446744073709551615",
        "--cursor-file",
        "flag.cursor.json",
        "--log-format",
        "json",
        "--redis-url",
        "rediss://flag.example:6380/",
    ])
    .unwrap();
    assert_eq!(
        shown(&Config::load_with_env(&flags, env_with_key).unwrap()),
        format!("https://flag.example/v1 42161 {OTHER} 127.0.0.1:8001 127.0.0.1:8002 3s 8s 5400s Some(40s) 5 18446744073709551615 flag.cursor.json Json rediss://flag.example:6380/ 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")
    );
}

//! Tests of `minuto_relayer::config` through its public API: flags (and, in one test,
//! their environment variables) parsed by [`Config::command`], files, and
//! [`Config::load`].

use minuto_relayer::config::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_primitives::Address;
use clap::{ArgMatches, CommandFactory};
use k256::ecdsa::SigningKey;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// `KEY`'s address, as `Address`'s `Display` writes it.
const KEY_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const ESCROW: &str = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const OTHER: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
/// The three settings without a default.
const CHAIN: [&str; 6] = [
    "--rpc-url",
    "http://x",
    "--escrow",
    ESCROW,
    "--chain-id",
    "1",
];

fn env_with_key(name: &str) -> Option<String> {
    (name == ENV_PRIVATE_KEY).then(|| KEY.to_owned())
}

/// `args` parsed by the relayer's command, without the process environment (clap reads
/// it when the command is built; only `environment_sits_between_flags_and_the_file`
/// sets any).
fn matches(args: &[&str]) -> Result<ArgMatches, clap::Error> {
    let command = Config::command().mut_args(|a| a.env(None::<&str>));
    command.try_get_matches_from(std::iter::once("minuto-relayer").chain(args.iter().copied()))
}

fn load_env(args: &[&str], env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    Config::load(&matches(args).unwrap(), env)
}

fn load(args: &[&str]) -> Result<Config, ConfigError> {
    load_env(args, env_with_key)
}

/// `CHAIN`, less the flags `extra` gives (a flag given twice is clap's error), and
/// `extra`.
fn chain(extra: &[&str]) -> Vec<String> {
    let kept = CHAIN.chunks(2).filter(|flag| !extra.contains(&flag[0]));
    kept.flatten().chain(extra).map(|s| s.to_string()).collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The error of loading `CHAIN` and `extra`.
fn error(extra: &[&str]) -> String {
    load(&strs(&chain(extra))).unwrap_err().to_string()
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

/// `CHAIN` and a config file holding `toml`.
fn with_file(dir: &Path, name: &str, toml: &str) -> Result<Config, ConfigError> {
    let path = write(dir, name, toml);
    load(&strs(&chain(&["--config", path.to_str().unwrap()])))
}

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The `[api]` limits: clock skew, body size, rate per IP, rate per session.
fn api(c: &Config) -> String {
    let a = c.api;
    let skew = a.max_clock_skew;
    format!(
        "{skew:?} {} {:?} {:?}",
        a.max_body_bytes,
        a.ip_rate(),
        a.session_rate()
    )
}

#[test]
fn environment_sits_between_flags_and_the_file() {
    let dir = tmpdir("env");
    let deployment = write(&dir, "d.json", &deployment_json(412_346, ESCROW, 11));
    let file = write(
        &dir,
        "c.toml",
        "rpc_url = \"http://file.example/\"\nsilence_timeout = \"9s\"\nconfirmations = 2\nlisten = \"127.0.0.1:7001\"\n",
    );
    let vars = [
        ("MINUTO_RELAYER_CONFIG", file.to_str().unwrap()),
        ("MINUTO_RELAYER_SILENCE_TIMEOUT", "15s"),
        ("MINUTO_RELAYER_CONFIRMATIONS", "3"),
        ("MINUTO_RELAYER_DEPLOYMENT", deployment.to_str().unwrap()),
    ];
    // Only this test sets these variables; the command reads them when it is built.
    vars.iter().for_each(|(k, v)| std::env::set_var(k, v));
    let command = Config::command();
    vars.iter().for_each(|(k, _)| std::env::remove_var(k));
    let args = ["minuto-relayer", "--confirmations", "4"];
    let c = Config::load(&command.try_get_matches_from(args).unwrap(), env_with_key).unwrap();
    assert_eq!(c.config.as_deref(), Some(file.as_path()));
    // The environment beats the file, a flag beats the environment, the file beats the
    // default.
    assert_eq!(c.silence_timeout, secs(15));
    assert_eq!(c.confirmations, 4);
    assert_eq!(c.listen, SocketAddr::from(([127, 0, 0, 1], 7001)));
    assert_eq!(c.rpc_url.as_str(), "http://file.example/");
    assert_eq!(
        (c.chain_id, c.escrow, c.start_block),
        (412_346, addr(ESCROW), 11)
    );
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = load(&CHAIN).unwrap();
    let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(c.rpc_url.as_str(), "http://x/");
    assert_eq!((c.escrow, c.chain_id), (addr(ESCROW), 1));
    assert_eq!(c.key.as_ref().unwrap().address(), addr(KEY_ADDRESS));
    assert_eq!((c.listen, c.admin_listen), (local(8080), local(9090)));
    assert_eq!(
        (c.ping_interval, c.silence_timeout, c.grace_period),
        (secs(5), secs(10), secs(20))
    );
    assert_eq!(c.max_backdate, None);
    assert_eq!((c.confirmations, c.start_block), (1, 0));
    assert_eq!(c.cursor_file, PathBuf::from("minuto-relayer.cursor.json"));
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.redis_url, None);
    assert_eq!(c.log_chunk_blocks, 2_000);
    assert_eq!(
        (c.poll_interval, c.rpc_timeout, c.shutdown_drain),
        (secs(2), secs(10), secs(10))
    );
    assert_eq!(
        api(&c),
        "30s 1024 Rate { per_second: 50.0, burst: 100.0 } Rate { per_second: 2.0, burst: 10.0 }"
    );
    let h = &c.http;
    assert!(h.trusted_proxies.is_empty());
    assert_eq!(h.forwarded_header, ForwardedHeader::XForwardedFor);
    assert_eq!(h.cors_allowed_origins, CorsOrigins::Any);
    assert_eq!(
        (h.header_read_timeout, h.request_timeout),
        (secs(15), secs(10))
    );
    // 10,000 sessions, a keep-alive connection per party, and room for reconnects.
    assert_eq!(h.max_connections, DEFAULT_MAX_CONNECTIONS);
    assert_eq!(DEFAULT_MAX_CONNECTIONS, 32_768);
    assert!(h.admin_token.is_none());
    let s = c.tx.submit();
    assert_eq!(
        (s.receipt_timeout, s.poll_interval),
        (secs(15), Duration::from_millis(500))
    );
    assert_eq!(
        (s.max_attempts, s.fee_bump_percent, s.gas_margin_percent),
        (5, 25, 20)
    );
    assert_eq!(s.max_fee_per_gas, None);
    assert_eq!((c.tx.concurrency, c.tx.retry_after), (16, secs(5)));

    // `with_defaults` is the same, on a free admin port.
    let key = parse_private_key(KEY).unwrap();
    let embedded = Config::with_defaults("http://x".parse().unwrap(), addr(ESCROW), 1, key);
    assert_eq!(embedded.admin_listen, local(0));
    let loaded = Config {
        admin_listen: local(0),
        ..c
    };
    assert_eq!(format!("{embedded:?}"), format!("{loaded:?}"));
}

#[test]
fn example_file_parses_to_its_documented_values() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("minuto-relayer.example.toml");
    let c = load(&["--config", example.to_str().unwrap()]).unwrap();
    assert_eq!(c.rpc_url.as_str(), "https://arb1.example.invalid/rpc");
    assert_eq!((c.escrow, c.chain_id), (addr(OTHER), 42_161));
    assert_eq!(c.listen, SocketAddr::from(([0, 0, 0, 0], 8080)));
    assert_eq!(
        c.cursor_file,
        PathBuf::from("/var/lib/minuto-relayer/cursor.json")
    );
    // Every other value it sets is the default.
    let defaults = load(&CHAIN).unwrap();
    let shown = |c: &Config| {
        let (a, h, t) = (&c.api, &c.http, &c.tx);
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {} {} {:?} {:?} {:?} {:?} {:?} {a:?} {h:?} {t:?}",
            c.admin_listen,
            c.redis_url,
            c.ping_interval,
            c.silence_timeout,
            c.grace_period,
            c.max_backdate,
            c.confirmations,
            c.log_chunk_blocks,
            c.poll_interval,
            c.rpc_timeout,
            c.shutdown_drain,
            c.log_format,
            c.start_block,
        )
    };
    assert_eq!(shown(&c), shown(&defaults));
}

#[test]
fn every_file_key_applies() {
    let dir = tmpdir("file-keys");
    let file = write(
        &dir,
        "c.toml",
        r#"rpc_url = "https://file.example/v1"
escrow = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
chain_id = 31337
listen = "127.0.0.1:7001"
admin_listen = "127.0.0.1:7002"
ping_interval = "4s"
silence_timeout = "9s"
grace_period = "1h 30m"
max_backdate = "50s"
confirmations = 2
start_block = 3
cursor_file = "file.cursor.json"
log_format = "text"
redis_url = "valkey://file.example:6379/"
log_chunk_blocks = 500
poll_interval = "750ms"
rpc_timeout = "3s"
shutdown_drain = "4s"
[api]
max_clock_skew = "5s"
max_body_bytes = 2048
ip_rate_per_second = 7.5
ip_burst = 8.0
session_rate_per_second = 0.5
session_burst = 3.0
[http]
trusted_proxies = ["10.0.0.0/8", "192.0.2.1", "2001:db8::1"]
forwarded_header = "forwarded"
cors_allowed_origins = ["https://app.example", "http://localhost:3000"]
header_read_timeout = "6s"
request_timeout = "7s"
max_connections = 100
[tx]
receipt_timeout = "20s"
receipt_poll_interval = "250ms"
max_attempts = 3
fee_bump_percent = 10
max_fee_per_gas_gwei = 5
gas_margin_percent = 0
concurrency = 1024
retry_after = "1s"
"#,
    );
    let c = load(&["--config", file.to_str().unwrap()]).unwrap();
    let ms = Duration::from_millis;
    assert_eq!(c.rpc_url.as_str(), "https://file.example/v1");
    assert_eq!((c.escrow, c.chain_id), (addr(OTHER), 31_337));
    assert_eq!(
        (c.listen.port(), c.admin_listen.port(), c.ping_interval),
        (7001, 7002, secs(4))
    );
    assert_eq!(
        (c.silence_timeout, c.grace_period, c.max_backdate),
        (secs(9), secs(5400), Some(secs(50)))
    );
    assert_eq!((c.confirmations, c.start_block), (2, 3));
    assert_eq!(c.cursor_file, PathBuf::from("file.cursor.json"));
    assert_eq!(c.log_format, LogFormat::Text);
    assert_eq!(
        c.redis_url.as_ref().map(|u| u.as_str()),
        Some("valkey://file.example:6379/")
    );
    assert_eq!(
        (
            c.log_chunk_blocks,
            c.poll_interval,
            c.rpc_timeout,
            c.shutdown_drain
        ),
        (500, ms(750), secs(3), secs(4))
    );
    assert_eq!(
        api(&c),
        "5s 2048 Rate { per_second: 7.5, burst: 8.0 } Rate { per_second: 0.5, burst: 3.0 }"
    );
    let h = &c.http;
    let proxies: Vec<String> = h.trusted_proxies.iter().map(|n| n.to_string()).collect();
    assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.1/32", "2001:db8::1/128"]);
    assert_eq!(h.forwarded_header, ForwardedHeader::Forwarded);
    let CorsOrigins::List(origins) = &h.cors_allowed_origins else {
        panic!("{:?}", h.cors_allowed_origins)
    };
    assert_eq!(origins, &["https://app.example", "http://localhost:3000"]);
    assert_eq!(
        (h.header_read_timeout, h.request_timeout, h.max_connections),
        (secs(6), secs(7), 100)
    );
    let s = c.tx.submit();
    assert_eq!((s.receipt_timeout, s.poll_interval), (secs(20), ms(250)));
    assert_eq!(
        (s.max_attempts, s.fee_bump_percent, s.gas_margin_percent),
        (3, 10, 0)
    );
    assert_eq!(s.max_fee_per_gas, Some(5_000_000_000));
    assert_eq!((c.tx.concurrency, c.tx.retry_after), (1024, secs(1)));

    // `[]`: no CORS headers at all.
    let c = with_file(&dir, "no-cors.toml", "[http]\ncors_allowed_origins = []\n").unwrap();
    assert_eq!(c.http.cors_allowed_origins, CorsOrigins::List(Vec::new()));
}

#[test]
fn every_flag_beats_the_file() {
    let dir = tmpdir("every-flag");
    let file_deployment = write(&dir, "a.json", &deployment_json(412_346, ESCROW, 11));
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
            file_deployment.display()
        ),
    );
    let shown = |c: &Config| {
        format!(
            "{} {} {} {} {} {:?} {:?} {:?} {:?} {} {} {} {:?} {}",
            c.rpc_url,
            c.chain_id,
            c.escrow,
            c.listen,
            c.admin_listen,
            c.ping_interval,
            c.silence_timeout,
            c.grace_period,
            c.max_backdate,
            c.confirmations,
            c.start_block,
            c.cursor_file.display(),
            c.log_format,
            c.redis_url.as_ref().unwrap(),
        )
    };
    let file = file.to_str().unwrap();
    assert_eq!(
        shown(&load(&["--config", file]).unwrap()),
        format!("http://file.example:8545/ 412346 {ESCROW} 127.0.0.1:7001 127.0.0.1:7002 4s 9s 19s Some(50s) 2 3 file.cursor.json Text redis://file.example:6379/")
    );
    let flags = [
        "--config",
        file,
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
    ];
    assert_eq!(
        shown(&load(&flags).unwrap()),
        format!("https://flag.example/v1 42161 {OTHER} 127.0.0.1:8001 127.0.0.1:8002 3s 8s 5400s Some(40s) 5 18446744073709551615 flag.cursor.json Json rediss://flag.example:6380/")
    );
}

#[test]
fn parse_duration_accepts_units_and_rejects_bare_numbers() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("10s"), Ok(secs(10)));
    assert_eq!(parse_duration("2m"), Ok(secs(120)));
    assert_eq!(parse_duration("1h"), Ok(secs(3600)));
    assert_eq!(parse_duration("1h 30m"), Ok(secs(5400)));
    assert!(parse_duration("10").unwrap_err().contains("unit"));
    assert!(parse_duration("10x").unwrap_err().contains("\"10x\""));
    assert!(parse_duration("s").is_err());
}

#[test]
fn flags_are_parsed_and_file_only_and_secret_keys_have_none() {
    let kind = |args: &[&str]| matches(args).unwrap_err().kind();
    use clap::error::ErrorKind::{UnknownArgument, ValueValidation};
    let e = matches(&["--ping-interval", "10"]).unwrap_err().to_string();
    assert!(
        e.contains("--ping-interval") && e.contains("\"10\" is not a duration"),
        "{e}"
    );
    for args in [
        &["--escrow", "0x12"][..],
        &["--chain-id", "x"],
        &["--listen", "localhost"],
        &["--rpc-url", "not a url"],
        &["--confirmations", "many"],
    ] {
        assert_eq!(kind(args), ValueValidation, "{args:?}");
    }
    // A flag given twice is refused, not resolved by order.
    let twice = ["--confirmations", "1", "--confirmations", "2"];
    assert_eq!(kind(&twice), clap::error::ErrorKind::ArgumentConflict);
    assert_eq!(
        kind(&["--log-format", "xml"]),
        clap::error::ErrorKind::InvalidValue
    );
    for flag in [
        "--private-key",
        "--keystore-password",
        "--admin-token",
        "--key",
        "--log-chunk-blocks",
        "--poll-interval",
        "--rpc-timeout",
        "--shutdown-drain",
        "--api",
        "--http",
        "--tx",
    ] {
        assert_eq!(kind(&[flag, "1"]), UnknownArgument, "{flag}");
    }
}

#[test]
fn missing_and_invalid_values_name_their_key() {
    let missing = |drop: &str| {
        let args: Vec<&str> = CHAIN
            .chunks(2)
            .filter(|f| f[0] != drop)
            .flatten()
            .copied()
            .collect();
        load(&args).unwrap_err().to_string()
    };
    assert_eq!(
        missing("--rpc-url"),
        "missing `rpc_url` (set it in the config file, as --rpc-url, or in MINUTO_RELAYER_RPC_URL)"
    );
    assert_eq!(
        missing("--chain-id"),
        "missing `chain_id` (set it in the config file, as --chain-id, or in MINUTO_RELAYER_CHAIN_ID)"
    );
    assert_eq!(
        missing("--escrow"),
        "missing `escrow` (set it in the config file, as --escrow, or in MINUTO_RELAYER_ESCROW)"
    );
    let zero = Address::ZERO.to_string();
    let within = |range: &str| format!("must be within {range}");
    let positive = "must be above zero";
    for (args, field, reason) in [
        (&["--rpc-url", "ws://x"][..], "rpc_url", "must be an http:// or https:// URL".to_owned()),
        (&["--escrow", zero.as_str()], "escrow", "must not be the zero address".into()),
        (&["--chain-id", "0"], "chain_id", "must not be 0".into()),
        (&["--ping-interval", "0s"], "ping_interval", positive.into()),
        (&["--silence-timeout", "5s"], "silence_timeout", "5s must be longer than ping_interval 5s, or every late ping stops a session".into()),
        (&["--grace-period", "9s"], "grace_period", "9s must be at least silence_timeout 10s".into()),
        (&["--max-backdate", "999ms"], "max_backdate", "must be at least 1s".into()),
        (&["--confirmations", "10001"], "confirmations", "above 10000 blocks".into()),
        (&["--admin-listen", "127.0.0.1:8080"], "admin_listen", "127.0.0.1:8080 is the public listener's address; the admin endpoints need their own".into()),
        (&["--redis-url", "http://127.0.0.1:6379"], "redis_url", "must be a redis:// or rediss:// URL".into()),
        (&["--ping-interval", "15s", "--silence-timeout", "16s"], "http.header_read_timeout", "15s must be longer than ping_interval 15s: idle keep-alive connections are closed after it".into()),
    ] {
        assert_eq!(error(args), format!("invalid `{field}`: {reason}"), "{args:?}");
    }
    // File-only keys.
    let dir = tmpdir("invalid");
    for (i, (toml, field, reason)) in [
        (
            "[api]\nmax_body_bytes = 255",
            "api.max_body_bytes",
            within("256..=65536"),
        ),
        (
            "[api]\nmax_body_bytes = 65537",
            "api.max_body_bytes",
            within("256..=65536"),
        ),
        (
            "[api]\nip_rate_per_second = 0.0",
            "api.ip_rate_per_second",
            "must be a positive number".into(),
        ),
        (
            "[api]\nip_burst = -1.0",
            "api.ip_burst",
            "must be a positive number".into(),
        ),
        (
            "[api]\nsession_rate_per_second = nan",
            "api.session_rate_per_second",
            "must be a positive number".into(),
        ),
        (
            "[api]\nsession_burst = inf",
            "api.session_burst",
            "must be a positive number".into(),
        ),
        (
            "[tx]\nfee_bump_percent = 9",
            "tx.fee_bump_percent",
            "nodes refuse replacements below +10 %".into(),
        ),
        (
            "[tx]\nmax_attempts = 0",
            "tx.max_attempts",
            within("1..=20"),
        ),
        (
            "[tx]\nmax_attempts = 21",
            "tx.max_attempts",
            within("1..=20"),
        ),
        (
            "[tx]\nconcurrency = 0",
            "tx.concurrency",
            within("1..=1024"),
        ),
        (
            "[tx]\nconcurrency = 1025",
            "tx.concurrency",
            within("1..=1024"),
        ),
        (
            "[http]\nheader_read_timeout = \"0s\"",
            "http.header_read_timeout",
            positive.into(),
        ),
        (
            "[http]\nrequest_timeout = \"0s\"",
            "http.request_timeout",
            positive.into(),
        ),
        (
            "[http]\nmax_connections = 0",
            "http.max_connections",
            within("1..=1000000"),
        ),
        (
            "[http]\nmax_connections = 1000001",
            "http.max_connections",
            within("1..=1000000"),
        ),
        (
            "log_chunk_blocks = 0",
            "log_chunk_blocks",
            within("1..=1000000"),
        ),
        (
            "log_chunk_blocks = 1000001",
            "log_chunk_blocks",
            within("1..=1000000"),
        ),
        ("poll_interval = \"0s\"", "poll_interval", positive.into()),
        ("rpc_timeout = \"0s\"", "rpc_timeout", positive.into()),
    ]
    .into_iter()
    .enumerate()
    {
        let e = with_file(&dir, &format!("bad{i}.toml"), toml).unwrap_err();
        assert!(
            matches!(e, ConfigError::Invalid { field: f, .. } if f == field),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("invalid `{field}`: {reason}"),
            "{toml}"
        );
    }
    // The edges of every range are accepted; equal listeners only on port 0.
    for toml in [
        "[api]\nmax_body_bytes = 256\n[tx]\nmax_attempts = 20\nconcurrency = 1\nfee_bump_percent = 10\n[http]\nmax_connections = 1\n",
        "log_chunk_blocks = 1000000\nconfirmations = 10000\nmax_backdate = \"1s\"\n[api]\nmax_body_bytes = 65536\n[tx]\nmax_attempts = 1\n",
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ngrace_period = \"10s\"\nredis_url = \"rediss://r.example/\"\n",
    ] {
        with_file(&dir, "edges.toml", toml).unwrap();
    }
}

#[test]
fn file_values_that_do_not_parse_name_their_key() {
    let dir = tmpdir("parse");
    for (i, (toml, expected)) in [
        ("silence_timout = \"10s\"", "unknown field `silence_timout`"),
        ("[http]\nmax_conections = 1", "unknown field `max_conections`"),
        ("[tx]\nretry_after = \"10\"", "\"10\" is not a duration"),
        ("confirmations = \"3\"", "invalid type: string \"3\", expected u64"),
        ("escrow = \"0x12\"", "escrow = \"0x12\""),
        ("[http]\nforwarded_header = \"x-real-ip\"", "unknown variant `x-real-ip`, expected `x-forwarded-for` or `forwarded`"),
        ("[http]\ntrusted_proxies = [\"10.0.0.0/33\"]", "invalid `http.trusted_proxies`: \"10.0.0.0/33\" is not an address or CIDR (e.g. 10.0.0.0/8)"),
        ("[http]\ncors_allowed_origins = [\"app.example\"]", "invalid `http.cors_allowed_origins`: \"app.example\" is not an origin like https://app.example"),
        ("[http]\ncors_allowed_origins = [\"https://app.example/\"]", "\"https://app.example/\" is not an origin"),
        ("[http]\ncors_allowed_origins = [\"https://app.example/path\"]", "\"https://app.example/path\" is not an origin"),
        ("[http]\ncors_allowed_origins = [\"ftp://app.example\"]", "\"ftp://app.example\" is not an origin"),
        ("[http]\ncors_allowed_origins = [\"*\", \"https://a.example\"]", "invalid `http.cors_allowed_origins`: \"*\" allows every origin; list no others with it"),
        // The key and the admin token are never read from the file.
        ("key = \"0x01\"", "unknown field `key`"),
        ("private_key = \"0x01\"", "unknown field `private_key`"),
        ("config = \"other.toml\"", "unknown field `config`"),
        ("[http]\nadmin_token = \"0123456789abcdef\"", "unknown field `admin_token`"),
        ("[http]\nadmin_listen = \"127.0.0.1:1\"", "unknown field `admin_listen`"),
        ("rpc_url = ", "invalid string"),
    ]
    .into_iter()
    .enumerate()
    {
        let path = write(&dir, &format!("bad{i}.toml"), &format!("{toml}\n"));
        let e = load(&strs(&chain(&["--config", path.to_str().unwrap()]))).unwrap_err();
        assert!(matches!(&e, ConfigError::Parse { path: p, .. } if *p == path), "{e:?}");
        let e = e.to_string();
        assert!(e.starts_with(&format!("config file {}: ", path.display())), "{e}");
        // The key's line is quoted.
        let line = toml.lines().last().unwrap();
        assert!(e.contains(expected) && e.contains(line), "{toml}: {e}");
    }
    let absent = dir.join("absent.toml");
    let e = load(&["--config", absent.to_str().unwrap()]).unwrap_err();
    assert!(
        matches!(&e, ConfigError::Read { path, .. } if *path == absent),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("cannot read config file {}: ", absent.display())),
        "{e}"
    );
}

#[test]
fn debug_output_never_contains_the_key_nor_url_secrets() {
    let args = [
        "--rpc-url",
        "https://rpc.example/v2/SECRETAPIKEY",
        "--redis-url",
        "redis://:REDISPASSWORD@redis.example:6379/",
        "--escrow",
        ESCROW,
        "--chain-id",
        "1",
    ];
    let token = "admin-token-0123456789abcdef";
    let env = |name: &str| match name {
        ENV_ADMIN_TOKEN => Some(token.to_owned()),
        other => env_with_key(other),
    };
    let c = load_env(&args, env).unwrap();
    let shown = format!("{c:?}");
    use secrecy::ExposeSecret;
    assert_eq!(c.http.admin_token.as_ref().unwrap().expose_secret(), token);
    assert!(!shown.contains(token), "{shown}");
    assert!(!shown.contains(&KEY[2..]));
    assert!(!shown.contains(&KEY[2..10]));
    assert!(shown.contains("<redacted>"));
    assert!(shown.contains(&addr(KEY_ADDRESS).to_string()), "{shown}");
    assert!(!shown.contains("SECRETAPIKEY"));
    assert!(shown.contains("rpc.example"));
    assert!(!shown.contains("REDISPASSWORD"), "{shown}");
    assert!(shown.contains("redis.example"), "{shown}");
}

#[test]
fn the_key_and_the_admin_token_come_from_the_environment() {
    let err = |env: fn(&str) -> Option<String>| load_env(&CHAIN, env).unwrap_err().to_string();
    assert_eq!(
        err(|_| None),
        format!("relayer key: set {ENV_PRIVATE_KEY} or a keystore")
    );
    // Blank is unset.
    assert_eq!(
        err(|n| (n == ENV_PRIVATE_KEY).then(|| " \n".to_owned())),
        format!("relayer key: set {ENV_PRIVATE_KEY} or a keystore")
    );
    assert_eq!(
        err(|n| (n == ENV_PRIVATE_KEY).then(|| "0x1234".to_owned())),
        format!("relayer key: {ENV_PRIVATE_KEY} must be 32 bytes, got 2")
    );
    assert_eq!(
        err(|n| (n == ENV_PRIVATE_KEY).then(|| "0xzz".to_owned())),
        format!("relayer key: {ENV_PRIVATE_KEY} is not hex")
    );
    assert_eq!(
        err(|n| (n == ENV_PRIVATE_KEY).then(|| "00".repeat(32))),
        format!("relayer key: {ENV_PRIVATE_KEY} is not a valid secp256k1 key")
    );
    // Without `0x`, surrounded by whitespace.
    let c = load_env(&CHAIN, |n| {
        (n == ENV_PRIVATE_KEY).then(|| format!(" {}\n", &KEY[2..]))
    })
    .unwrap();
    assert_eq!(c.key.unwrap().address(), addr(KEY_ADDRESS));

    let token = |t: &'static str| {
        move |n: &str| match n {
            ENV_ADMIN_TOKEN => Some(t.to_owned()),
            other => env_with_key(other),
        }
    };
    assert_eq!(
        load_env(&CHAIN, token("fifteen-chars-x"))
            .unwrap_err()
            .to_string(),
        format!("relayer key: {ENV_ADMIN_TOKEN} must be at least 16 characters")
    );
    let c = load_env(&CHAIN, token("sixteen-chars-xx")).unwrap();
    assert!(c.http.admin_token.is_some());
    // Blank is unset.
    assert!(load_env(&CHAIN, token("  "))
        .unwrap()
        .http
        .admin_token
        .is_none());
}

#[test]
fn keystore_decrypts_with_password_from_env() {
    let dir = tmpdir("keystore");
    let secret = [7u8; 32];
    let mut rng = rand::thread_rng();
    eth_keystore::encrypt_key(&dir, &mut rng, secret, "hunter2", Some("k.json")).unwrap();
    let keystore = dir.join("k.json");
    let args = chain(&["--keystore", keystore.to_str().unwrap()]);
    let password =
        |p: &'static str| move |n: &str| (n == ENV_KEYSTORE_PASSWORD).then(|| p.to_owned());
    let c = load_env(&strs(&args), password("hunter2")).unwrap();
    let expected = Address::from_private_key(&SigningKey::from_slice(&secret).unwrap());
    assert_eq!(c.key.unwrap().address(), expected);
    let wrong = load_env(&strs(&args), password("nope")).unwrap_err();
    assert!(wrong
        .to_string()
        .starts_with("relayer key: cannot decrypt keystore"));
    assert_eq!(
        load_env(&strs(&args), |_| None).unwrap_err().to_string(),
        format!(
            "relayer key: keystore {} needs {ENV_KEYSTORE_PASSWORD} or keystore_password_file",
            keystore.display()
        )
    );
    // A key in the environment and a keystore: which one is meant is unclear.
    assert_eq!(
        load(&strs(&args)).unwrap_err().to_string(),
        format!("relayer key: both {ENV_PRIVATE_KEY} and a keystore are set; choose one")
    );
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
    let args = |keystore: &str, password: &str| {
        let (keystore, password) = (dir.join(keystore), dir.join(password));
        let flags = ["--keystore", keystore.to_str().unwrap()];
        let mut args = chain(&flags);
        args.extend([
            "--keystore-password-file".into(),
            password.display().to_string(),
        ]);
        args
    };
    // The file's line ending is not part of the password.
    let c = load_env(&strs(&args("k.json", "password")), |_| None).unwrap();
    let expected = Address::from_private_key(&SigningKey::from_slice(&secret).unwrap());
    assert_eq!(c.key.unwrap().address(), expected);
    // The environment's password wins over the file.
    let wrong = load_env(&strs(&args("k.json", "password")), |n| {
        (n == ENV_KEYSTORE_PASSWORD).then(|| "nope".to_owned())
    })
    .unwrap_err();
    assert!(wrong
        .to_string()
        .starts_with("relayer key: cannot decrypt keystore"));
    let zero = load_env(&strs(&args("zero.json", "password")), |_| None).unwrap_err();
    assert_eq!(
        zero.to_string(),
        format!(
            "relayer key: keystore {} holds no valid key",
            dir.join("zero.json").display()
        )
    );
    let e = load_env(&strs(&args("k.json", "absent")), |_| None).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "relayer key: cannot read {}: ",
            dir.join("absent").display()
        )),
        "{e}"
    );
}

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

/// The RPC URL flag, the deployment file and `extra`: nothing else.
fn load_deployment(path: &Path, extra: &[&str]) -> Result<Config, ConfigError> {
    let mut args = vec![
        "--rpc-url",
        "http://x",
        "--deployment",
        path.to_str().unwrap(),
    ];
    args.extend(extra);
    load(&args)
}

#[test]
fn deployment_file_supplies_chain_id_escrow_and_start_block() {
    let dir = tmpdir("deploy-values");
    let path = write(&dir, "412346.json", &deployment_json(412_346, ESCROW, 11));
    let c = load_deployment(&path, &[]).unwrap();
    assert_eq!(c.deployment.as_deref(), Some(path.as_path()));
    assert_eq!(
        (c.chain_id, c.escrow, c.start_block),
        (412_346, addr(ESCROW), 11)
    );

    // The same through the config file's `deployment` key.
    let toml = write(
        &dir,
        "c.toml",
        &format!(
            "rpc_url = \"http://127.0.0.1:8547\"\ndeployment = '{}'\n",
            path.display()
        ),
    );
    let c = load(&["--config", toml.to_str().unwrap()]).unwrap();
    assert_eq!(
        (c.chain_id, c.escrow, c.start_block),
        (412_346, addr(ESCROW), 11)
    );
}

#[test]
fn explicit_values_equal_to_the_deployment_are_accepted() {
    let dir = tmpdir("deploy-agree");
    let path = write(&dir, "d.json", &deployment_json(412_346, ESCROW, 11));
    // Same address in another case: addresses compare as bytes.
    let lower = ESCROW.to_lowercase();
    let c = load_deployment(&path, &["--escrow", &lower, "--chain-id", "412346"]).unwrap();
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
    let c = load_deployment(&path, &["--config", toml.to_str().unwrap()]).unwrap();
    assert_eq!((c.chain_id, c.escrow), (412_346, addr(ESCROW)));
}

#[test]
fn values_disagreeing_with_the_deployment_are_rejected() {
    let dir = tmpdir("deploy-disagree");
    let path = write(&dir, "d.json", &deployment_json(412_346, ESCROW, 11));
    let toml = write(&dir, "c.toml", &format!("escrow = \"{OTHER}\"\n"));
    let zero = Address::ZERO.to_string();
    for (extra, field, configured, deployed) in [
        (&["--escrow", OTHER][..], "escrow", OTHER, ESCROW),
        // From the config file too.
        (
            &["--config", toml.to_str().unwrap()],
            "escrow",
            OTHER,
            ESCROW,
        ),
        // A zero address disagrees before it is refused as zero.
        (
            &["--escrow", zero.as_str()],
            "escrow",
            zero.as_str(),
            ESCROW,
        ),
        (&["--chain-id", "42161"], "chain_id", "42161", "412346"),
        (&["--chain-id", "0"], "chain_id", "0", "412346"),
    ] {
        let e = load_deployment(&path, extra).unwrap_err();
        assert!(
            matches!(&e, ConfigError::DeploymentMismatch { field: f, .. } if *f == field),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "`{field}` is {configured} but deployment file {} says {deployed}; remove one or make them agree",
                path.display()
            )
        );
    }
}

#[test]
fn explicit_start_block_overrides_the_deployment() {
    let dir = tmpdir("deploy-start");
    let path = write(&dir, "d.json", &deployment_json(412_346, ESCROW, 11));
    let c = load_deployment(&path, &["--start-block", "5000"]).unwrap();
    assert_eq!(c.start_block, 5_000);
    // Even 0, the default.
    let c = load_deployment(&path, &["--start-block", "0"]).unwrap();
    assert_eq!(c.start_block, 0);
    let toml = write(&dir, "c.toml", "start_block = 7\n");
    let c = load_deployment(&path, &["--config", toml.to_str().unwrap()]).unwrap();
    assert_eq!(c.start_block, 7);
}

#[test]
fn malformed_deployment_files_are_rejected() {
    let dir = tmpdir("deploy-bad");
    let load = |name: &str, text: &str| {
        let path = write(&dir, name, text);
        let e = load_deployment(&path, &[]).unwrap_err();
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
    let e = load_deployment(&path, &[]).unwrap_err();
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

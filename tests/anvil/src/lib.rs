//! Test support for the off-chain crates' integration tests: a real local node.
//!
//! Anvil comes from the npm registry (`npm ci` at the repository root installs
//! `@foundry-rs/anvil-<platform>`). [`find`] takes `ANVIL_BIN`, else the native binary in
//! `node_modules`; [`or_skip`] turns its absence into a loud skip, or a failure under
//! `CI`; [`Anvil::start`] runs it on a free port and waits until it answers.
//! [`redis`] does the same for a throw-away Redis (several service instances' store),
//! [`postgres`] for a throw-away PostgreSQL (the indexer's second database), [`nginx`]
//! for nginx running the operators' `deploy/nginx/minuto.conf` in front of the services,
//! [`systemd`] for the command lines of their units in `deploy/systemd/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

pub mod nginx;
pub mod postgres;
pub mod redis;
pub mod systemd;

/// The repository root (this crate lives in `tests/anvil`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/anvil has two parents")
        .to_path_buf()
}

/// The anvil binary: `ANVIL_BIN`, else the npm package's native binary (preferred over
/// the node wrapper, so killing the process really stops anvil), else the wrapper.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ANVIL_BIN") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            let _ = writeln!(std::io::stderr(), "ANVIL_BIN={} is not a file", p.display());
            return None;
        }
        return Some(p);
    }
    let scope = repo_root().join("node_modules/@foundry-rs");
    if let Ok(entries) = std::fs::read_dir(&scope) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("anvil-") {
                let bin = e.path().join("bin/anvil");
                if bin.is_file() {
                    return Some(bin);
                }
            }
        }
    }
    let wrapper = repo_root().join("node_modules/.bin/anvil");
    wrapper.exists().then_some(wrapper)
}

/// The anvil binary, or `None` (the test is skipped, said on stderr) outside CI.
///
/// # Panics
/// When anvil is missing and `CI` is set.
pub fn or_skip(test: &str) -> Option<PathBuf> {
    match find() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "anvil not found (CI is set): run `npm ci` at the repository root to install \
             @foundry-rs/anvil, or set ANVIL_BIN"
        ),
        None => {
            // Straight to the process's stderr: the test harness captures `eprintln!`,
            // and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: anvil not found; run `npm ci` at the repository root or set \
                 ANVIL_BIN (this would fail under CI=1)"
            );
            None
        }
    }
}

/// A running anvil, stopped on drop.
pub struct Anvil {
    _child: Child,
    /// Its JSON-RPC URL.
    pub url: url::Url,
}

impl Anvil {
    /// Starts `bin` on a free port with `chain_id` and a block every `block_time` seconds
    /// (0: a block per transaction), and waits until `eth_chainId` answers.
    ///
    /// # Panics
    /// If anvil cannot be started or does not answer within 10 s.
    pub async fn start(bin: &Path, chain_id: u64, block_time: u64) -> Self {
        Self::start_with(bin, chain_id, block_time, &[]).await
    }

    /// [`Anvil::start`] with `extra` arguments (e.g. `--hardfork berlin`).
    ///
    /// # Panics
    /// If anvil cannot be started or does not answer within 10 s.
    pub async fn start_with(bin: &Path, chain_id: u64, block_time: u64, extra: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut args = vec![
            "--port".to_string(),
            port.to_string(),
            "--chain-id".into(),
            chain_id.to_string(),
        ];
        if block_time > 0 {
            args.extend(["--block-time".into(), block_time.to_string()]);
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let child = Command::new(bin)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let url: url::Url = format!("http://127.0.0.1:{port}").parse().unwrap();
        for _ in 0..100 {
            if answers(port).await {
                return Self { _child: child, url };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("anvil did not answer on port {port}");
    }
}

/// Whether something answers a JSON-RPC `eth_chainId` on `port` (plain HTTP/1.1).
async fn answers(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).contains("\"result\"")
}

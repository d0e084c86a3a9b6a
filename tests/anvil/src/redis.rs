//! A throw-away Redis (or Valkey) server for the multi-instance tests: `redis-server`
//! from `PATH` (Debian's `redis-server` package, listed in `scripts/debian-packages.txt`)
//! or `REDIS_SERVER`, on a free loopback port, in its own temporary directory, without
//! persistence. Missing, the tests fail under `CI` and are skipped loudly otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// The server binary: `REDIS_SERVER`, else `redis-server` (or `valkey-server`) on `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("REDIS_SERVER") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        ["redis-server", "valkey-server"]
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The server binary, or `None` (the test is skipped, said on stderr) outside CI.
///
/// # Panics
/// When it is missing and `CI` is set.
pub fn or_skip(test: &str) -> Option<PathBuf> {
    match find() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "redis-server not found (CI is set): install the Debian packages listed in \
             scripts/debian-packages.txt, or set REDIS_SERVER"
        ),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: redis-server not found; apt-get install redis-server or set \
                 REDIS_SERVER (this would fail under CI=1)"
            );
            None
        }
    }
}

/// A running server, stopped (and its directory removed) on drop.
pub struct Redis {
    bin: PathBuf,
    child: Option<Child>,
    dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Redis {
    /// Starts `bin` on a free loopback port and waits until it answers `PING`.
    pub async fn start(bin: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("minuto-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = Self {
            bin: bin.to_path_buf(),
            child: None,
            dir,
            port,
        };
        r.spawn().await;
        r
    }

    async fn spawn(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
        for _ in 0..100 {
            if pong(self.port).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not answer on port {}", self.port);
    }

    /// Kills the server (all its data is lost: no persistence) and starts a new one on
    /// the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await;
    }

    /// Kills the server: an outage, until [`Redis::resume`].
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }

    /// Starts a new, empty server on the same port after [`Redis::stop`].
    pub async fn resume(&mut self) {
        self.spawn().await;
    }

    /// Its URL.
    pub fn url(&self) -> url::Url {
        format!("redis://127.0.0.1:{}/", self.port).parse().unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn pong(port: u16) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"*1\r\n$4\r\nPING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut buf)).await,
        Ok(Ok(_)) if &buf == b"+PONG\r\n"
    )
}

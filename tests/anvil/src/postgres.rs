//! A throw-away PostgreSQL server for the indexer's tests: Debian's `postgresql` package
//! (listed in `scripts/debian-packages.txt`; binaries under `/usr/lib/postgresql/<major>/bin`)
//! or `POSTGRES_BIN_DIR`. `initdb` into a temporary directory, `pg_ctl start` on a free
//! loopback port without durability (fsync off: the data dies with the test anyway), and
//! `pg_ctl stop` plus the directory's removal on drop. PostgreSQL refuses to run as root:
//! as root the server runs as the `postgres` user the package creates (else `nobody`).
//! Missing, the tests fail under `CI` and are skipped loudly otherwise.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `POSTGRES_BIN_DIR`, else the
/// newest `/usr/lib/postgresql/<major>/bin`.
pub fn find() -> Option<PathBuf> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(p) = std::env::var_os("POSTGRES_BIN_DIR") {
        return Some(PathBuf::from(p)).filter(|d| has_all(d));
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, d)| has_all(d))
        .collect();
    majors.sort();
    majors.pop().map(|(_, d)| d)
}

/// The binaries' directory, or `None` (the test is skipped, said on stderr) outside CI.
///
/// # Panics
/// When they are missing and `CI` is set.
pub fn or_skip(test: &str) -> Option<PathBuf> {
    match find() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "PostgreSQL not found (CI is set): install the Debian packages listed in \
             scripts/debian-packages.txt, or set POSTGRES_BIN_DIR"
        ),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: PostgreSQL not found; apt-get install postgresql or set \
                 POSTGRES_BIN_DIR (this would fail under CI=1)"
            );
            None
        }
    }
}

/// The (uid, gid) to run the server as when this process is root.
fn server_user() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok()?;
    if me != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entry = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| (f[2].parse().ok(), f[3].parse().ok()))
        })
    };
    match entry("postgres").or_else(|| entry("nobody")) {
        Some((Some(u), Some(g))) => Some((u, g)),
        _ => Some((65_534, 65_534)),
    }
}

/// A running server, stopped (and its directory removed) on drop.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    user: Option<(u32, u32)>,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

fn command(bin: &Path, name: &str, user: Option<(u32, u32)>) -> Command {
    let mut c = Command::new(bin.join(name));
    if let Some((uid, gid)) = user {
        c.uid(uid).gid(gid);
    }
    c.stdin(Stdio::null());
    c
}

impl Postgres {
    /// Initialises a cluster in a new temporary directory and starts it on a free port
    /// (superuser `postgres`, trust authentication on loopback).
    ///
    /// # Panics
    /// If the cluster cannot be created or started.
    pub async fn start(bin: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("minuto-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let user = server_user();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let pg = Self {
            bin: bin.to_path_buf(),
            dir,
            user,
            port,
        };
        let data = pg.dir.join("data");
        let out = command(bin, "initdb", user)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .arg("--locale=C")
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run initdb: {e}"));
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            pg.dir.display()
        );
        let out = command(bin, "pg_ctl", user)
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(pg.dir.join("log"))
            .args(["-w", "-t", "30", "start"])
            .stdout(Stdio::null())
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run pg_ctl: {e}"));
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(pg.dir.join("log")).unwrap_or_default()
        );
        pg
    }

    /// The URL of database `db` (`postgres` exists from the start; see
    /// [`create_database`](Self::create_database)).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database `name` and returns its URL.
    ///
    /// # Panics
    /// If `createdb` fails.
    pub async fn create_database(&self, name: &str) -> String {
        let out = command(&self.bin, "createdb", None)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ])
            .output()
            .await;
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "createdb {name} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("cannot run createdb: {e}"),
        }
        self.url(name)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut c = std::process::Command::new(self.bin.join("pg_ctl"));
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt;
            c.uid(uid).gid(gid);
        }
        let _ = c
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

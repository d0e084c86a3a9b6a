//! A throw-away nginx running the operators' file `deploy/nginx/minuto.conf` as it
//! stands, with only its ports changed: `nginx` from `PATH` or `/usr/sbin` (Debian's
//! `nginx` package, listed in `scripts/debian-packages.txt`) or `NGINX`, one process
//! (`master_process off`), its logs and temporary files in its own directory. Missing,
//! the tests fail under `CI` and are skipped loudly otherwise.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// The binary: `NGINX`, else `nginx` on `PATH`, else `/usr/sbin/nginx`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NGINX") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
}

/// The binary, or `None` (the test is skipped, said on stderr) outside CI.
///
/// # Panics
/// When it is missing and `CI` is set.
pub fn or_skip(test: &str) -> Option<PathBuf> {
    match find() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "nginx not found (CI is set): install the Debian packages listed in \
             scripts/debian-packages.txt, or set NGINX"
        ),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: nginx not found; apt-get install nginx or set NGINX (this \
                 would fail under CI=1)"
            );
            None
        }
    }
}

/// `deploy/nginx/minuto.conf` with every `from` replaced by its `to`.
///
/// # Panics
/// When a `from` is not in the file (the file changed shape: the test must follow).
pub fn site(replace: &[(&str, String)]) -> String {
    let file = crate::repo_root().join("deploy/nginx/minuto.conf");
    let mut text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    for (from, to) in replace {
        assert!(text.contains(from), "{from:?} is not in {}", file.display());
        text = text.replace(from, to);
    }
    text
}

/// A running nginx, stopped (and its directory removed) on drop.
pub struct Nginx {
    child: Child,
    dir: PathBuf,
    /// Where every `server` of the site listens (its `listen 80` lines).
    pub addr: SocketAddr,
}

impl Nginx {
    /// Runs `bin` with the site `deploy/nginx/minuto.conf`, each upstream address
    /// `(from, to)` swapped (e.g. `("127.0.0.1:8080", relayer.to_string())`) and every
    /// `listen 80` on a free loopback port; waits until it accepts connections.
    pub async fn start(bin: &Path, upstreams: &[(&str, String)]) -> Self {
        // The port is free when picked; another process may take it before nginx binds
        // it: then try another.
        for _ in 0..3 {
            if let Some(nginx) = Self::try_start(bin, upstreams).await {
                return nginx;
            }
        }
        panic!("nginx found its port taken three times");
    }

    async fn try_start(bin: &Path, upstreams: &[(&str, String)]) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let dir = std::env::temp_dir().join(format!("minuto-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // `listen 80;` and `listen 80 default_server;`.
        let mut replace = vec![("listen 80", format!("listen {addr}"))];
        replace.extend(upstreams.iter().cloned());
        std::fs::write(dir.join("minuto.conf"), site(&replace)).unwrap();
        let d = dir.display();
        let main = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  log_format upstreams '$upstream_addr $status \"$request\"';\n  \
             access_log {d}/access.log upstreams;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/minuto.conf;\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        let mut child = Command::new(bin)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        for _ in 0..100 {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                let _ = std::fs::remove_dir_all(&dir);
                if log.contains("Address already in use") {
                    return None;
                }
                panic!("nginx exited at start ({status}): {log}");
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Some(Self { child, dir, addr });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx did not listen on {addr}");
    }

    /// Its access log so far, a line a request: `<upstream addresses tried> <status>
    /// "<request line>"` (e.g. `127.0.0.1:41000, 127.0.0.1:41002 200 "POST /v1/… HTTP/1.1"`
    /// when the first refused the connection).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Its error log so far (upstream failures are logged there).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

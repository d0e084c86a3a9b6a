//! The operators' systemd units in `deploy/systemd/`, as the tests use them: the
//! command line and environment a unit gives its service (so a test starts the binary
//! exactly so, credentials included), and `systemd-analyze verify` of the file (Debian's
//! `systemd`, on the machine image; missing, the check fails under `CI` and is skipped
//! loudly otherwise).

use std::io::Write;
use std::path::{Path, PathBuf};

/// One unit file.
pub struct Unit {
    /// Where it is.
    pub path: PathBuf,
    text: String,
}

impl Unit {
    /// `deploy/systemd/<name>.service`.
    ///
    /// # Panics
    /// When it cannot be read.
    pub fn load(name: &str) -> Unit {
        let path = crate::repo_root().join(format!("deploy/systemd/{name}.service"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        Unit { path, text }
    }

    /// The values of `key=` lines, in order.
    fn values(&self, key: &str) -> Vec<&str> {
        let prefix = format!("{key}=");
        (self.text.lines())
            .filter_map(|l| l.trim().strip_prefix(prefix.as_str()))
            .collect()
    }

    /// `ExecStart=`'s program.
    pub fn program(&self) -> &str {
        self.exec_start()[0]
    }

    /// `ExecStart=`'s arguments, `%d` (the credentials directory) as `credentials`.
    pub fn args(&self, credentials: &Path) -> Vec<String> {
        let dir = credentials.display().to_string();
        (self.exec_start()[1..].iter())
            .map(|a| a.replace("%d", &dir))
            .collect()
    }

    fn exec_start(&self) -> Vec<&str> {
        let values = self.values("ExecStart");
        assert_eq!(values.len(), 1, "one ExecStart= in {}", self.path.display());
        values[0].split_whitespace().collect()
    }

    /// `Environment=` assignments, `%d` (the credentials directory) as `credentials`.
    pub fn environment(&self, credentials: &Path) -> Vec<(String, String)> {
        let dir = credentials.display().to_string();
        (self.values("Environment"))
            .into_iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("KEY=VALUE");
                (k.to_owned(), v.replace("%d", &dir))
            })
            .collect()
    }

    /// `LoadCredential=` names and the files systemd copies them from.
    pub fn credentials(&self) -> Vec<(String, PathBuf)> {
        (self.values("LoadCredential"))
            .into_iter()
            .map(|kv| {
                let (name, from) = kv.split_once(':').expect("NAME:PATH");
                (name.to_owned(), PathBuf::from(from))
            })
            .collect()
    }

    /// `systemd-analyze verify` of the file with `ExecStart=`'s program replaced by
    /// `bin` (it checks the program exists): every directive known, every value
    /// well-formed, nothing printed. Skipped (said on stderr) without systemd-analyze,
    /// outside CI.
    ///
    /// # Panics
    /// When the check fails, or systemd-analyze is missing under `CI`.
    pub fn verify(&self, bin: &Path) {
        let analyze = Path::new("/usr/bin/systemd-analyze");
        if !analyze.is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "systemd-analyze not found (CI is set): apt-get install systemd"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED systemd-analyze verify of {}: systemd-analyze not found",
                self.path.display()
            );
            return;
        }
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("minuto-unit-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join(self.path.file_name().unwrap());
        let text = self
            .text
            .replace(self.program(), bin.to_str().expect("a UTF-8 path"));
        std::fs::write(&copy, text).unwrap();
        let out = std::process::Command::new(analyze)
            .arg("verify")
            .arg(&copy)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success() && said.trim().is_empty(),
            "systemd-analyze verify {}: {}\n{said}",
            self.path.display(),
            out.status
        );
    }
}

//! Running `cargo stylus deploy` (cargo-stylus 0.10) for one contract and reading what it
//! printed.
//!
//! The command is run in the contract's own directory (`contracts/<name>`) with
//! `--contract <package>`: cargo-stylus builds with `cargo build --lib --release` in the
//! current directory, and at the workspace root that builds every member at once, whose
//! unified features add 1.2 KB to the escrow and push it over 24 KiB into fragments that
//! a node rejects (seen with cargo-stylus 0.10.10: 25,244 B from the root, 24,154 B from
//! `contracts/escrow`, as `cargo xtask wasm` measures). It then rewrites the module for
//! the Stylus VM and deploys, activates and runs the constructor in one transaction
//! through the StylusDeployer contract. The key goes in a file readable only
//! by the owner (`--private-key-path`), never on a command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use alloy::primitives::{Address, B256};

use crate::Contract;

/// What one `cargo stylus deploy` printed, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployOutput {
    /// The new contract.
    pub address: Address,
    /// The transaction that deployed, activated and constructed it.
    pub tx: B256,
}

/// Running cargo-stylus failed.
#[derive(Debug, thiserror::Error)]
pub enum StylusError {
    /// The program could not be started.
    #[error("cannot run `{program}`: {source} (install it with `cargo install cargo-stylus --version 0.10.10 --locked`, or pass --cargo-stylus)")]
    Spawn {
        /// Program.
        program: String,
        /// Cause.
        source: std::io::Error,
    },
    /// It exited with an error.
    #[error("`cargo stylus deploy --contract {package}` failed ({status}):\n{output}")]
    Failed {
        /// Contract package.
        package: String,
        /// Exit status.
        status: String,
        /// What it printed (stdout then stderr, colours removed).
        output: String,
    },
    /// It succeeded but printed no address or transaction hash.
    #[error("`cargo stylus deploy --contract {package}` printed no {missing}:\n{output}")]
    Unparsed {
        /// Contract package.
        package: String,
        /// What was missing.
        missing: &'static str,
        /// What it printed.
        output: String,
    },
    /// The temporary key file could not be written.
    #[error("cannot write the temporary key file: {0}")]
    KeyFile(std::io::Error),
}

/// How to call cargo-stylus.
#[derive(Clone, Debug)]
pub struct CargoStylus {
    /// Program and leading arguments, e.g. `["cargo", "stylus"]`.
    pub command: Vec<String>,
    /// Repository root (holds the workspace `Stylus.toml`; contracts are under it).
    pub root: PathBuf,
    /// Node URL.
    pub endpoint: String,
    /// StylusDeployer contract, if not cargo-stylus's default.
    pub deployer_address: Option<Address>,
    /// Fee cap in gwei, if not the node's suggestion.
    pub max_fee_per_gas_gwei: Option<String>,
}

/// Removes ANSI colour sequences (cargo-stylus colours its output even into a pipe).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in '@'..='~'.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        line.split_once(marker)
            .and_then(|(_, rest)| rest.split_whitespace().next())
    })
}

/// Reads the address and transaction hash out of `cargo stylus deploy`'s output.
/// Returns the name of what is missing on failure.
pub fn parse_deploy_output(text: &str) -> Result<DeployOutput, &'static str> {
    let text = strip_ansi(text);
    let address = after(&text, "deployed code at address: ")
        .and_then(|s| s.parse().ok())
        .ok_or("contract address")?;
    let tx = after(&text, "deployment tx hash: ")
        .and_then(|s| s.parse().ok())
        .ok_or("transaction hash")?;
    Ok(DeployOutput { address, tx })
}

/// What of a failed run's output is worth showing: without cargo-stylus's list of the
/// files it hashed (one line per file of the repository), at most the last 40 lines.
pub fn failure_output(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("File used for deployment hash:"))
        .collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Reads the gas figure out of `cargo stylus deploy --estimate-gas`'s output.
pub fn parse_gas_estimate(text: &str) -> Option<u64> {
    strip_ansi(text).lines().find_map(|line| {
        let (_, rest) = line.split_once(" tx gas: ")?;
        rest.split_whitespace()
            .next()?
            .trim_matches('"')
            .parse()
            .ok()
    })
}

/// Whether an environment variable's name says it holds a secret (keys, passwords,
/// mnemonics, tokens): such variables are not passed on to cargo-stylus.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["KEY", "PASSWORD", "SECRET", "MNEMONIC", "TOKEN"]
        .iter()
        .any(|w| n.contains(w))
}

/// A private key in a file only its owner can read, removed on drop.
struct KeyFile(tempfile::NamedTempFile);

impl KeyFile {
    fn new(key_hex: &str) -> Result<Self, StylusError> {
        // NamedTempFile is created with mode 0600 on Unix.
        let mut f = tempfile::NamedTempFile::new().map_err(StylusError::KeyFile)?;
        f.write_all(key_hex.as_bytes())
            .map_err(StylusError::KeyFile)?;
        f.flush().map_err(StylusError::KeyFile)?;
        Ok(Self(f))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl CargoStylus {
    fn args(
        &self,
        package: &str,
        key_path: &Path,
        estimate: bool,
        ctor_args: &[String],
    ) -> Vec<String> {
        let mut args: Vec<String> = self.command[1..].to_vec();
        args.extend(
            [
                "deploy",
                "--contract",
                package,
                "--no-verify",
                "--endpoint",
                &self.endpoint,
            ]
            .map(String::from),
        );
        args.push("--private-key-path".into());
        args.push(key_path.display().to_string());
        if estimate {
            args.push("--estimate-gas".into());
        }
        if let Some(a) = self.deployer_address {
            args.push("--deployer-address".into());
            args.push(a.to_string());
        }
        if let Some(g) = &self.max_fee_per_gas_gwei {
            args.push("--max-fee-per-gas-gwei".into());
            args.push(g.clone());
        }
        // Must be last: it takes every following argument.
        args.push("--constructor-args".into());
        args.extend(ctor_args.iter().cloned());
        args
    }

    async fn run(
        &self,
        contract: Contract,
        key_hex: &str,
        estimate: bool,
        ctor_args: &[String],
    ) -> Result<String, StylusError> {
        let package = contract.package();
        let key = KeyFile::new(key_hex)?;
        let program = self.command[0].clone();
        let mut cmd = tokio::process::Command::new(&program);
        // cargo-stylus builds the contract: every build script it runs would inherit our
        // environment, key variables included. It gets the key from the file only.
        for (name, _) in std::env::vars_os() {
            if is_secret_name(&name.to_string_lossy()) {
                cmd.env_remove(&name);
            }
        }
        let output = cmd
            .args(self.args(package, key.path(), estimate, ctor_args))
            .current_dir(self.root.join(contract.dir()))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|source| StylusError::Spawn {
                program: self.command.join(" "),
                source,
            })?;
        let text = strip_ansi(&format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
        if !output.status.success() {
            return Err(StylusError::Failed {
                package: package.into(),
                status: output.status.to_string(),
                output: failure_output(&text),
            });
        }
        Ok(text)
    }

    /// Deploys, activates and constructs `package` with `ctor_args`.
    ///
    /// # Errors
    /// [`StylusError`] if cargo-stylus fails or its output lacks the address or hash.
    pub async fn deploy(
        &self,
        contract: Contract,
        key_hex: &str,
        ctor_args: &[String],
    ) -> Result<DeployOutput, StylusError> {
        let text = self.run(contract, key_hex, false, ctor_args).await?;
        parse_deploy_output(&text).map_err(|missing| StylusError::Unparsed {
            package: contract.package().into(),
            missing,
            output: text,
        })
    }

    /// Asks cargo-stylus for the gas of deploying `package` without sending anything.
    ///
    /// # Errors
    /// [`StylusError`] if cargo-stylus fails or prints no estimate.
    pub async fn estimate(
        &self,
        contract: Contract,
        key_hex: &str,
        ctor_args: &[String],
    ) -> Result<u64, StylusError> {
        let text = self.run(contract, key_hex, true, ctor_args).await?;
        parse_gas_estimate(&text).ok_or_else(|| StylusError::Unparsed {
            package: contract.package().into(),
            missing: "gas estimate",
            output: text,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_variables_are_not_passed_to_cargo_stylus() {
        for name in [
            "MINUTO_DEPLOYER_KEY",
            "STYLUS_PRIVATE_KEY",
            "MINUTO_RELAYER_KEYSTORE_PASSWORD",
            "MINUTO_MATCHMAKER_ROOM_SECRET",
            "CARGO_REGISTRY_TOKEN",
            "eth_mnemonic",
        ] {
            assert!(super::is_secret_name(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "RUSTUP_TOOLCHAIN",
            "MINUTO_RPC_URL",
        ] {
            assert!(!super::is_secret_name(name), "{name}");
        }
    }

    use super::*;

    // As cargo-stylus 0.10 prints it into a pipe: a log prefix and colour codes.
    const DEPLOYED: &str = "\u{1b}[0;0m\u{1b}[90mBuilding project\u{1b}[0;0m\n\
        2026-12-02T10:00:00Z INFO  [stylus_tools] \u{1b}[90mdeployed code at address: \u{1b}[38;5;183;1m0x5fbdb2315678afecb367f032d93f642f64180aa3\u{1b}[0;0m\n\
        2026-12-02T10:00:00Z INFO  [stylus_tools] \u{1b}[90mdeployment tx hash: \u{1b}[38;5;183;1m0x0b0d6a2c31c9ad8a8a12a3e0e4b7e9f45d5e1a4c3cb0c3ea3df2c1b7f0a1c2d3\u{1b}[0;0m\n\
        NOTE: We recommend running cargo stylus cache bid 5fbdb2315678afecb367f032d93f642f64180aa3 0\n";

    #[test]
    fn deploy_output_gives_address_and_hash() {
        let out = parse_deploy_output(DEPLOYED).unwrap();
        assert_eq!(
            out.address,
            "0x5FbDB2315678afecb367f032d93F642f64180aa3"
                .parse::<Address>()
                .unwrap()
        );
        assert_eq!(
            out.tx,
            "0x0b0d6a2c31c9ad8a8a12a3e0e4b7e9f45d5e1a4c3cb0c3ea3df2c1b7f0a1c2d3"
                .parse::<B256>()
                .unwrap()
        );
    }

    #[test]
    fn verbose_address_line_with_gas_suffix_still_parses() {
        let text = "deployed code at address: 0x5fbdb2315678afecb367f032d93f642f64180aa3 with 123 gas\n\
                    deployment tx hash: 0x0b0d6a2c31c9ad8a8a12a3e0e4b7e9f45d5e1a4c3cb0c3ea3df2c1b7f0a1c2d3\n";
        assert!(parse_deploy_output(text).is_ok());
    }

    #[test]
    fn output_without_hash_names_what_is_missing() {
        let text = "deployed code at address: 0x5fbdb2315678afecb367f032d93f642f64180aa3\n";
        assert_eq!(parse_deploy_output(text), Err("transaction hash"));
        assert_eq!(parse_deploy_output("error: boom"), Err("contract address"));
    }

    #[test]
    fn gas_estimate_is_read_from_either_label() {
        let text = "\u{1b}[90mestimates\u{1b}[0;0m\n\
            \u{1b}[90mdeployer deploy, activate, and init tx gas: \u{1b}[38;5;183;1m3456789\u{1b}[0;0m\n\
            gas price: \"0.100000000\" gwei\n";
        assert_eq!(parse_gas_estimate(text), Some(3_456_789));
        assert_eq!(parse_gas_estimate("deployment tx gas: \"42\"\n"), Some(42));
        assert_eq!(parse_gas_estimate("estimates\n"), None);
    }

    #[test]
    fn failure_output_drops_the_hashed_file_list_and_keeps_the_error() {
        let text = "File used for deployment hash: /r/a.rs\n\
                    File used for deployment hash: /r/b.rs\n\
                    contract size: 20.5 KB\n\
                    error: failed to send tx: ZeroData(\"codehashVersion\")\n";
        assert_eq!(
            failure_output(text),
            "contract size: 20.5 KB\nerror: failed to send tx: ZeroData(\"codehashVersion\")"
        );
        let long: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let out = failure_output(&long);
        assert_eq!(out.lines().count(), 40);
        assert!(out.starts_with("line 60\n") && out.ends_with("line 99"));
    }

    #[test]
    fn command_line_keeps_constructor_args_last_and_the_key_off_it() {
        let cs = CargoStylus {
            command: vec!["cargo".into(), "stylus".into()],
            root: PathBuf::from("/repo"),
            endpoint: "http://localhost:8547".into(),
            deployer_address: None,
            max_fee_per_gas_gwei: Some("0.2".into()),
        };
        let args = cs.args(
            "minuto-ratings",
            Path::new("/tmp/k"),
            true,
            &["0x01".into(), "300".into()],
        );
        assert_eq!(
            args.join(" "),
            "stylus deploy --contract minuto-ratings --no-verify --endpoint http://localhost:8547 \
             --private-key-path /tmp/k --estimate-gas --max-fee-per-gas-gwei 0.2 \
             --constructor-args 0x01 300"
        );
    }

    #[test]
    fn key_file_holds_the_key_for_its_owner_only_and_is_removed() {
        use std::os::unix::fs::PermissionsExt;
        let key = KeyFile::new("0xabc").unwrap();
        let path = key.path().to_path_buf();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "0xabc");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        drop(key);
        assert!(!path.exists());
    }
}

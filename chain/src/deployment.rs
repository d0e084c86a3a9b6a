//! `deployments/<chain-id>.json`: what was deployed where. The deploy tool writes it after
//! every step (so an interrupted run resumes instead of redeploying); the relayer reads
//! `chainId` and `contracts.escrow` from it (`minuto-relayer --deployment …`). One type,
//! [`Record`], for both sides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

/// The contracts, in deployment order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contract {
    /// `minuto-credentials`.
    Credentials,
    /// `minuto-escrow`.
    Escrow,
    /// `minuto-badges`.
    Badges,
    /// `minuto-ratings`.
    Ratings,
    /// `minuto-vetting` (holds the credentials contract's issuer role). Records written
    /// before it existed have no `vetting` entry and still load.
    Vetting,
    /// `minuto-booking` (registered in the escrow with `setBooking`, so that it may open
    /// sessions with `openFor`). Records written before it existed have no `booking` entry
    /// and still load.
    Booking,
}

impl Contract {
    /// Every contract, in the order they are deployed.
    pub const ALL: [Contract; 6] = [
        Contract::Credentials,
        Contract::Escrow,
        Contract::Badges,
        Contract::Ratings,
        Contract::Vetting,
        Contract::Booking,
    ];

    /// Name in the deployment record.
    pub fn key(self) -> &'static str {
        match self {
            Contract::Credentials => "credentials",
            Contract::Escrow => "escrow",
            Contract::Badges => "badges",
            Contract::Ratings => "ratings",
            Contract::Vetting => "vetting",
            Contract::Booking => "booking",
        }
    }

    /// Directory, relative to the repository root.
    pub fn dir(self) -> &'static str {
        match self {
            Contract::Credentials => "contracts/credentials",
            Contract::Escrow => "contracts/escrow",
            Contract::Badges => "contracts/badges",
            Contract::Ratings => "contracts/ratings",
            Contract::Vetting => "contracts/vetting",
            Contract::Booking => "contracts/booking",
        }
    }

    /// Cargo package.
    pub fn package(self) -> &'static str {
        match self {
            Contract::Credentials => "minuto-credentials",
            Contract::Escrow => "minuto-escrow",
            Contract::Badges => "minuto-badges",
            Contract::Ratings => "minuto-ratings",
            Contract::Vetting => "minuto-vetting",
            Contract::Booking => "minuto-booking",
        }
    }
}

/// One deployed contract. Every field after `block` is optional on read, so records
/// written by earlier versions (and hand-written ones) still load.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployed {
    /// Where it lives.
    pub address: Address,
    /// The block its deployment transaction was mined in.
    pub block: u64,
    /// The deployment transaction (zero when the file does not say: a hand-written
    /// record, which the services accept).
    #[serde(default)]
    pub tx: B256,
    /// keccak256 of the code at `address` when deployed: a re-run compares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_hash: Option<B256>,
    /// The CREATE2 salt given to the StylusDeployer (which hashes it with the constructor's
    /// init data): with the code and the arguments, it fixes the address on every chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<B256>,
    /// The StylusDeployer contract that created, activated and constructed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stylus_deployer: Option<Address>,
    /// What built and deployed it (absent for a contract found on chain, not deployed by
    /// this run, and in older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Provenance>,
}

/// How a deployed contract was built and deployed: enough to rebuild the same code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// The toolchain that built the module (`rustc --version` in the repository, which
    /// `rust-toolchain.toml` pins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rustc: Option<String>,
    /// The deploy tool and its version (`minuto-deploy 0.1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// cargo-stylus's version, when it built or deployed the contract (`minuto-deploy`
    /// does not use it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cargo_stylus: Option<String>,
    /// The git commit the sources were at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_revision: Option<String>,
    /// Whether tracked files differed from that commit (the code is then not exactly
    /// the commit's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
}

/// The whole file. Unknown fields are ignored; a file with only `chainId` reads as a
/// record of nothing deployed yet (a deploy interrupted before its first contract).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Chain the addresses belong to.
    pub chain_id: u64,
    /// Account that sent the deployments.
    #[serde(default)]
    pub deployer: Address,
    /// Final admin of every contract (the escrow's may still be pending acceptance).
    #[serde(default)]
    pub admin: Address,
    /// Deployed contracts by name (`credentials`, `escrow`, `badges`, `ratings`,
    /// `vetting`, `booking`).
    #[serde(default)]
    pub contracts: BTreeMap<String, Deployed>,
    /// Steps not done yet that leave a key more power than planned (written by the
    /// deploy tool; empty once the deployment is finished).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
}

/// Reading or writing the file failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a deployment record.
    #[error("{path} is not a deployment record: {source}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
    /// The file belongs to another chain.
    #[error("{path} records chain {recorded}, but the node is chain {node}")]
    WrongChain {
        /// File.
        path: PathBuf,
        /// Chain id in the file.
        recorded: u64,
        /// Chain id of the node.
        node: u64,
    },
    /// The file cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl Record {
    /// An empty record for `chain_id`.
    pub fn new(chain_id: u64, deployer: Address, admin: Address) -> Self {
        Self {
            chain_id,
            deployer,
            admin,
            contracts: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// Reads `path`.
    ///
    /// # Errors
    /// [`RecordError::Read`] (a missing file included) or [`RecordError::Parse`].
    pub fn read(path: &Path) -> Result<Self, RecordError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecordError::Read {
            path: path.into(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| RecordError::Parse {
            path: path.into(),
            source,
        })
    }

    /// Loads `path` if it exists (`Ok(None)` if it does not) and checks its chain id.
    ///
    /// # Errors
    /// [`RecordError`] if it cannot be read or parsed, or names another chain.
    pub fn load(path: &Path, node_chain_id: u64) -> Result<Option<Self>, RecordError> {
        let record = match Self::read(path) {
            Ok(r) => r,
            Err(RecordError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        if record.chain_id != node_chain_id {
            return Err(RecordError::WrongChain {
                path: path.into(),
                recorded: record.chain_id,
                node: node_chain_id,
            });
        }
        Ok(Some(record))
    }

    /// Writes the record atomically (a temporary file beside it, then a rename), creating
    /// the directory if needed.
    ///
    /// # Errors
    /// [`RecordError::Write`].
    pub fn save(&self, path: &Path) -> Result<(), RecordError> {
        let write = |source| RecordError::Write {
            path: path.into(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write)?;
        }
        let mut text = serde_json::to_string_pretty(self).expect("a record always serialises");
        text.push('\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(write)?;
        std::fs::rename(&tmp, path).map_err(write)
    }

    /// The recorded deployment of `contract`, if any.
    pub fn get(&self, contract: Contract) -> Option<&Deployed> {
        self.contracts.get(contract.key())
    }

    /// Records `contract`'s deployment.
    pub fn set(&mut self, contract: Contract, deployed: Deployed) {
        self.contracts.insert(contract.key().to_owned(), deployed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record::new(412_346, Address::repeat_byte(1), Address::repeat_byte(2));
        r.set(
            Contract::Escrow,
            Deployed {
                address: Address::repeat_byte(3),
                block: 17,
                tx: B256::repeat_byte(4),
                code_hash: None,
                ..Deployed::default()
            },
        );
        r
    }

    #[test]
    fn provenance_round_trips_and_older_records_still_load() {
        let mut r = sample();
        let mut d = r.get(Contract::Escrow).unwrap().clone();
        d.code_hash = Some(B256::repeat_byte(5));
        d.salt = Some(B256::repeat_byte(6));
        d.stylus_deployer = Some(Address::repeat_byte(7));
        d.build = Some(Provenance {
            rustc: Some("rustc 1.95.0 (abc 2026-04-01)".into()),
            tool: Some("minuto-deploy 0.1.0".into()),
            cargo_stylus: None,
            git_revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            git_dirty: Some(true),
        });
        r.set(Contract::Escrow, d.clone());
        let json = serde_json::to_value(&r).unwrap();
        let e = &json["contracts"]["escrow"];
        assert_eq!(e["salt"], format!("{}", B256::repeat_byte(6)));
        assert_eq!(
            e["stylusDeployer"],
            "0x0707070707070707070707070707070707070707"
        );
        assert_eq!(e["build"]["rustc"], "rustc 1.95.0 (abc 2026-04-01)");
        assert_eq!(e["build"]["tool"], "minuto-deploy 0.1.0");
        assert_eq!(
            e["build"]["gitRevision"],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(e["build"]["gitDirty"], true);
        assert!(e["build"].get("cargoStylus").is_none(), "absent, not null");
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back.get(Contract::Escrow), Some(&d));
        // A record from before these fields: they read as absent.
        let old = r#"{"chainId": 1, "contracts": {"escrow": {"address": "0x0303030303030303030303030303030303030303", "block": 17}}}"#;
        let old: Record = serde_json::from_str(old).unwrap();
        let e = old.get(Contract::Escrow).unwrap();
        assert_eq!(
            (e.block, e.salt, e.stylus_deployer, &e.build),
            (17, None, None, &None)
        );
    }

    #[test]
    fn a_record_from_before_vetting_loads_without_it_and_one_with_it_round_trips() {
        // Written before `minuto-vetting` existed: four contracts.
        let old = r#"{"chainId": 412346, "contracts": {
            "credentials": {"address": "0x1010101010101010101010101010101010101010", "block": 3},
            "escrow": {"address": "0x1111111111111111111111111111111111111111", "block": 4},
            "badges": {"address": "0x1212121212121212121212121212121212121212", "block": 5},
            "ratings": {"address": "0x1313131313131313131313131313131313131313", "block": 6}}}"#;
        let mut r: Record = serde_json::from_str(old).unwrap();
        assert_eq!(r.get(Contract::Vetting), None);
        assert_eq!(r.get(Contract::Ratings).unwrap().block, 6);
        r.set(
            Contract::Vetting,
            Deployed {
                address: Address::repeat_byte(0x14),
                block: 9,
                ..Deployed::default()
            },
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["contracts"]["vetting"]["address"],
            "0x1414141414141414141414141414141414141414"
        );
        assert_eq!(json["contracts"]["vetting"]["block"], 9);
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back.get(Contract::Vetting).unwrap().block, 9);
        assert_eq!(
            Contract::ALL.map(Contract::key),
            [
                "credentials",
                "escrow",
                "badges",
                "ratings",
                "vetting",
                "booking"
            ]
        );
        assert_eq!(
            (Contract::Vetting.dir(), Contract::Vetting.package()),
            ("contracts/vetting", "minuto-vetting")
        );
    }

    #[test]
    fn a_record_from_before_booking_loads_without_it_and_one_with_it_round_trips() {
        // Written before `minuto-booking` existed: five contracts.
        let old = r#"{"chainId": 412346, "contracts": {
            "credentials": {"address": "0x1010101010101010101010101010101010101010", "block": 3},
            "escrow": {"address": "0x1111111111111111111111111111111111111111", "block": 4},
            "badges": {"address": "0x1212121212121212121212121212121212121212", "block": 5},
            "ratings": {"address": "0x1313131313131313131313131313131313131313", "block": 6},
            "vetting": {"address": "0x1414141414141414141414141414141414141414", "block": 7}}}"#;
        let mut r: Record = serde_json::from_str(old).unwrap();
        assert_eq!(r.get(Contract::Booking), None);
        assert_eq!(r.get(Contract::Vetting).unwrap().block, 7);
        r.set(
            Contract::Booking,
            Deployed {
                address: Address::repeat_byte(0x15),
                block: 10,
                ..Deployed::default()
            },
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["contracts"]["booking"]["address"],
            "0x1515151515151515151515151515151515151515"
        );
        assert_eq!(json["contracts"]["booking"]["block"], 10);
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back.get(Contract::Booking).unwrap().block, 10);
        assert_eq!(back.get(Contract::Escrow).unwrap().block, 4);
        assert_eq!(
            (Contract::Booking.dir(), Contract::Booking.package()),
            ("contracts/booking", "minuto-booking")
        );
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deployments").join("412346.json");
        sample().save(&path).unwrap();
        assert_eq!(Record::load(&path, 412_346).unwrap(), Some(sample()));
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("412346.json")]);
    }

    #[test]
    fn file_uses_the_field_names_the_relayer_reads() {
        let json: serde_json::Value = serde_json::to_value(sample()).unwrap();
        assert_eq!(json["chainId"], 412_346);
        assert_eq!(
            json["contracts"]["escrow"]["address"],
            "0x0303030303030303030303030303030303030303"
        );
        assert_eq!(json["contracts"]["escrow"]["block"], 17);
    }

    #[test]
    fn missing_file_is_no_record() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Record::load(&dir.path().join("1.json"), 1).unwrap(), None);
    }

    #[test]
    fn record_of_another_chain_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        sample().save(&path).unwrap();
        let err = Record::load(&path, 42_161).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} records chain 412346, but the node is chain 42161",
                path.display()
            )
        );
    }

    #[test]
    fn garbage_file_is_a_parse_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, "{\"chainId\": \"nope\"}").unwrap();
        let err = Record::load(&path, 1).unwrap_err();
        assert!(matches!(err, RecordError::Parse { .. }), "{err:?}");
        assert!(err
            .to_string()
            .starts_with(&format!("{} is not a deployment record", path.display())));
    }
}

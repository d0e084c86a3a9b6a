//! Deploying a Stylus program through the StylusDeployer contract, with alloy only.
//!
//! The code deployed is the `.code` file `cargo xtask wasm` writes and measures against
//! the size budget (the `EFF00000` prefix and the brotli-compressed module): the tool
//! reads it, wraps it in a 12-byte EVM constructor that returns it ([`init_code`]), and
//! calls `StylusDeployer.deploy(initCode, initData, 0, salt)` with the activation data fee
//! as value. The deployer creates the program with CREATE2 under
//! `keccak256(salt ++ initData)`, activates it through ArbWasm when its code hash is not
//! active yet, runs the Stylus constructor (`initData`: the `stylus_constructor()`
//! selector and the ABI-encoded arguments) and refunds what the activation did not use.
//! So the address follows from the deployer's address, the salt, the constructor's
//! arguments and the code ([`create2_address`]): the same on every chain, and known
//! before anything is sent.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use alloy::dyn_abi::{DynSolType, DynSolValue, JsonAbiExt, Specifier};
use alloy::json_abi::Constructor;
use alloy::network::TransactionBuilder;
use alloy::primitives::{address, keccak256, Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::state::{AccountOverride, StateOverride};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolError};

use crate::verify::ArbWasm;
use crate::Contract;

/// The StylusDeployer contract's address: OffchainLabs deployed it with CREATE2, so it is
/// the same on every Arbitrum chain that has it (and the nitro dev node); cargo-stylus
/// 0.10 uses it by default.
pub const STYLUS_DEPLOYER: Address = address!("cEcba2F1DC234f70Dd89F2041029807F8D03A990");

/// The first three bytes of every Stylus program's code; a fourth names the dictionary
/// (0: none).
pub const STYLUS_PREFIX: [u8; 3] = [0xEF, 0xF0, 0x00];

/// Largest code a Stylus program may have (24 KiB, prefix included).
pub const MAX_CODE_BYTES: usize = 24_576;

/// Share added to the data fee ArbWasm quotes (it moves with demand between the quote and
/// the deployment); the deployer refunds what is not used.
pub const DATA_FEE_BUMP_PERCENT: u64 = 20;

alloy::sol! {
    /// The StylusDeployer contract (OffchainLabs' `StylusDeployer.sol`): the parts used here.
    #[sol(rpc)]
    interface StylusDeployer {
        event ContractDeployed(address deployedContract);
        function deploy(bytes calldata bytecode, bytes calldata initData, uint256 initValue, bytes32 salt) external payable returns (address);
        error ContractDeploymentError(bytes bytecode);
        error ContractInitializationError(address newContract, bytes data);
        error RefundExcessValueError(uint256 excessValue);
        error EmptyBytecode();
        error InitValueButNotInitData();
    }

    /// The selector stylus-sdk 0.9 routes to a contract's `#[constructor]`.
    function stylus_constructor();
}

/// The checked-in interfaces (generated and checked by `cargo xtask abi`), each naming its
/// contract's constructor on a `// Deploy with: constructor(...)` line.
const INTERFACES: [(Contract, &str); 6] = [
    (
        Contract::Credentials,
        include_str!("../../../abi/ICredentials.sol"),
    ),
    (
        Contract::Escrow,
        include_str!("../../../abi/ISessionEscrow.sol"),
    ),
    (Contract::Badges, include_str!("../../../abi/IBadges.sol")),
    (Contract::Ratings, include_str!("../../../abi/IRatings.sol")),
    (Contract::Vetting, include_str!("../../../abi/IVetting.sol")),
    (Contract::Booking, include_str!("../../../abi/IBooking.sol")),
];

/// Building, reading or deploying a program failed.
#[derive(Debug, thiserror::Error)]
pub enum StylusError {
    /// `cargo xtask wasm` could not be started or failed (its output went to the terminal).
    #[error("building the contracts (`cargo xtask wasm --out-dir {dir}`) failed: {reason}")]
    Build {
        /// Where the modules were to go.
        dir: PathBuf,
        /// Exit status or start error.
        reason: String,
    },
    /// A `.code` file is missing or unreadable.
    #[error(
        "cannot read {path}: {source} (build it with `cargo xtask wasm`, or leave out --wasm-dir)"
    )]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A `.code` file is not a Stylus program.
    #[error("{path} is not Stylus code: it does not start with EFF000")]
    NotStylus {
        /// File.
        path: PathBuf,
    },
    /// A `.code` file is larger than the chain accepts.
    #[error("{path} holds {len} bytes; a Stylus program may hold at most 24,576")]
    TooLarge {
        /// File.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// A constructor argument does not fit the constructor in `abi/`.
    #[error("constructor of {contract}: {reason}")]
    Constructor {
        /// Contract.
        contract: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// One contract's deployable code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// The contract.
    pub contract: Contract,
    /// The code the chain stores: prefix and brotli stream, as measured by the size gate.
    pub code: Bytes,
    /// The file it came from.
    pub path: PathBuf,
}

impl Module {
    /// The `.code` file of `contract` in `dir`: `<dir>/<package>.code`.
    pub fn path_in(dir: &Path, contract: Contract) -> PathBuf {
        dir.join(format!("{}.code", contract.package()))
    }

    /// Reads and checks `contract`'s code from `dir`.
    ///
    /// # Errors
    /// [`StylusError::Read`], [`StylusError::NotStylus`], [`StylusError::TooLarge`].
    pub fn load(dir: &Path, contract: Contract) -> Result<Self, StylusError> {
        let path = Self::path_in(dir, contract);
        let code = std::fs::read(&path).map_err(|source| StylusError::Read {
            path: path.clone(),
            source,
        })?;
        if code.len() < 4 || code[..3] != STYLUS_PREFIX {
            return Err(StylusError::NotStylus { path });
        }
        if code.len() > MAX_CODE_BYTES {
            return Err(StylusError::TooLarge {
                path,
                len: code.len(),
            });
        }
        Ok(Self {
            contract,
            code: code.into(),
            path,
        })
    }

    /// keccak256 of the code: what `eth_getCode` hashes to once deployed.
    pub fn code_hash(&self) -> B256 {
        keccak256(&self.code)
    }
}

/// Builds every contract with `cargo xtask wasm --out-dir dir` in `root` (the size gate
/// runs there and fails the build over budget). The child gets no variable whose name
/// says it holds a secret, and no stdin; its output goes to this process's stderr.
///
/// # Errors
/// [`StylusError::Build`].
pub async fn build(root: &Path, dir: &Path) -> Result<(), StylusError> {
    let fail = |reason: String| StylusError::Build {
        dir: dir.to_path_buf(),
        reason,
    };
    use std::os::fd::AsFd;
    // The build's output goes to stderr: stdout carries the run's report.
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| fail(e.to_string()))?;
    let mut cmd = tokio::process::Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    cmd.args(["xtask", "wasm", "--out-dir"])
        .arg(dir)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stderr))
        .kill_on_drop(true);
    crate::child_env(&mut cmd);
    let status = cmd.status().await.map_err(|e| fail(e.to_string()))?;
    if !status.success() {
        return Err(fail(status.to_string()));
    }
    Ok(())
}

/// The EVM init code that deploys `code`: a 12-byte constructor that copies the bytes
/// after it to memory and returns them, followed by `code`.
///
/// ```text
/// 61 LLLL  PUSH2 len        80  DUP1
/// 60 0c    PUSH1 12         60 00  PUSH1 0
/// 39       CODECOPY(0, 12, len)
/// 60 00    PUSH1 0          f3  RETURN(0, len)
/// ```
///
/// # Panics
/// If `code` is longer than 65,535 bytes ([`Module::load`] refuses anything over 24,576).
pub fn init_code(code: &[u8]) -> Bytes {
    let len = u16::try_from(code.len()).expect("Stylus code fits in 64 KiB");
    let [hi, lo] = len.to_be_bytes();
    let mut out = vec![
        0x61, hi, lo, 0x80, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ];
    out.extend_from_slice(code);
    out.into()
}

/// `contract`'s constructor as declared in `abi/`.
///
/// # Panics
/// If the checked-in interface lacks its `// Deploy with:` line (a test checks them all).
pub fn constructor(contract: Contract) -> Constructor {
    let text = INTERFACES
        .iter()
        .find(|(c, _)| *c == contract)
        .map(|(_, t)| *t)
        .expect("every contract has an interface");
    let sig = text
        .lines()
        .find_map(|l| l.strip_prefix("// Deploy with: "))
        .expect("abi/ names the constructor");
    Constructor::parse(sig.trim()).expect("abi/ constructor parses")
}

/// The init data for `contract`: the `stylus_constructor()` selector and `args` (as text,
/// one per parameter) encoded for the constructor declared in `abi/`.
///
/// # Errors
/// [`StylusError::Constructor`] if the count or a value does not fit.
pub fn init_data(contract: Contract, args: &[String]) -> Result<Bytes, StylusError> {
    let ctor = constructor(contract);
    let err = |reason: String| StylusError::Constructor {
        contract: contract.key(),
        reason,
    };
    if ctor.inputs.len() != args.len() {
        return Err(err(format!(
            "{} arguments for {} parameters",
            args.len(),
            ctor.inputs.len()
        )));
    }
    let mut values = Vec::with_capacity(args.len());
    for (param, arg) in ctor.inputs.iter().zip(args) {
        let ty: DynSolType = param.resolve().map_err(|e| err(e.to_string()))?;
        values.push(match ty {
            // As given: text coercion would take quotes off.
            DynSolType::String => DynSolValue::String(arg.clone()),
            ty => ty
                .coerce_str(arg)
                .map_err(|e| err(format!("{} = {arg:?}: {e}", param.name)))?,
        });
    }
    let mut data = stylus_constructorCall::SELECTOR.to_vec();
    data.extend(
        ctor.abi_encode_input(&values)
            .map_err(|e| err(e.to_string()))?,
    );
    Ok(data.into())
}

/// Where `StylusDeployer` at `deployer` puts the program deployed with `init_code`,
/// `init_data` and a non-zero `salt`: CREATE2 from the deployer with the salt
/// `keccak256(salt ++ initData)`.
pub fn create2_address(
    deployer: Address,
    salt: B256,
    init_data: &[u8],
    init_code: &[u8],
) -> Address {
    let full_salt = keccak256([salt.as_slice(), init_data].concat());
    deployer.create2(full_salt, keccak256(init_code))
}

/// The activation data fee ArbWasm quotes for a program with `code` at `program`, plus
/// [`DATA_FEE_BUMP_PERCENT`]; zero when a program with that code is already active at the
/// chain's Stylus version. Asked with `eth_call` and the code put at `program` by a state
/// override: nothing is sent.
///
/// # Errors
/// The node's error, when it is not ArbWasm's `ProgramUpToDate`.
pub async fn data_fee(p: &DynProvider, program: Address, code: &Bytes) -> Result<U256, String> {
    // An account with no history and a large balance, so the quote never fails for funds.
    let quoter = address!("00000000000000000000000000000000000d47a5");
    let overrides: StateOverride = [
        (program, AccountOverride::default().with_code(code.clone())),
        (
            quoter,
            AccountOverride::default().with_balance(U256::MAX >> 1),
        ),
    ]
    .into_iter()
    .collect();
    let call = TransactionRequest::default()
        .with_from(quoter)
        .with_to(crate::verify::ARB_WASM)
        .with_value(U256::from(10u64).pow(U256::from(18u64)))
        .with_input(ArbWasm::activateProgramCall { program }.abi_encode());
    match p.call(call).overrides(overrides).await {
        Ok(out) => {
            let r = ArbWasm::activateProgramCall::abi_decode_returns(&out)
                .map_err(|e| format!("ArbWasm.activateProgram: {e}"))?;
            Ok(r.dataFee * U256::from(100 + DATA_FEE_BUMP_PERCENT) / U256::from(100u64))
        }
        Err(e) => {
            let data = e
                .as_error_resp()
                .and_then(|r| r.as_revert_data())
                .unwrap_or_default();
            if ArbWasm::ProgramUpToDate::abi_decode(&data).is_ok() {
                Ok(U256::ZERO)
            } else {
                Err(format!("ArbWasm.activateProgram (quote): {e}"))
            }
        }
    }
}

/// The transaction that deploys, activates and constructs one program.
pub fn deploy_tx(
    from: Address,
    deployer: Address,
    init_code: Bytes,
    init_data: Bytes,
    salt: B256,
    value: U256,
) -> TransactionRequest {
    TransactionRequest::default()
        .with_from(from)
        .with_to(deployer)
        .with_value(value)
        .with_input(
            StylusDeployer::deployCall {
                bytecode: init_code,
                initData: init_data,
                initValue: U256::ZERO,
                salt,
            }
            .abi_encode(),
        )
}

/// The address a `ContractDeployed` log of `deployer` in `logs` names.
pub fn deployed_address(deployer: Address, logs: &[alloy::rpc::types::Log]) -> Option<Address> {
    logs.iter()
        .filter(|l| l.address() == deployer)
        .find_map(|l| {
            l.log_decode::<StylusDeployer::ContractDeployed>()
                .ok()
                .map(|d| d.inner.data.deployedContract)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_code_is_a_12_byte_constructor_returning_the_code() {
        let code = [0xEF, 0xF0, 0x00, 0x00, 0xAB];
        assert_eq!(
            init_code(&code).to_vec(),
            [
                0x61, 0x00, 0x05, 0x80, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, 0xEF, 0xF0,
                0x00, 0x00, 0xAB
            ]
        );
        let big = vec![0u8; MAX_CODE_BYTES];
        assert_eq!(&init_code(&big)[..3], &[0x61, 0x60, 0x00]);
    }

    #[test]
    fn every_constructor_in_abi_parses_and_encodes() {
        let a = Address::repeat_byte(0x11).to_string();
        let b = Address::repeat_byte(0x22).to_string();
        let sel = keccak256("stylus_constructor()");
        for (c, args) in [
            (Contract::Credentials, vec![a.clone()]),
            (
                Contract::Escrow,
                vec![
                    a.clone(),
                    b.clone(),
                    a.clone(),
                    "250".into(),
                    "900".into(),
                    "60".into(),
                ],
            ),
            (
                Contract::Badges,
                vec![a.clone(), b.clone(), "300".into(), "ipfs://x/".into()],
            ),
            (
                Contract::Ratings,
                vec![a.clone(), b.clone(), "300".into(), "1209600".into()],
            ),
            (
                Contract::Vetting,
                vec![
                    a.clone(),
                    b.clone(),
                    a.clone(),
                    "604800".into(),
                    "2592000".into(),
                ],
            ),
            (Contract::Booking, vec![b.clone()]),
        ] {
            let data = init_data(c, &args).unwrap();
            assert_eq!(data[..4], sel[..4], "{c:?}");
        }
        // credentials(address admin): the selector, then one word.
        let data = init_data(Contract::Credentials, std::slice::from_ref(&a)).unwrap();
        assert_eq!(data.len(), 4 + 32);
        assert_eq!(data[4 + 12..], Address::repeat_byte(0x11)[..]);
        // ratings: (address, address, uint64, uint64), exact words.
        let data = init_data(
            Contract::Ratings,
            &[a.clone(), b.clone(), "300".into(), "1209600".into()],
        )
        .unwrap();
        assert_eq!(
            U256::from_be_slice(&data[4 + 64..4 + 96]),
            U256::from(300u64)
        );
        assert_eq!(
            U256::from_be_slice(&data[4 + 96..4 + 128]),
            U256::from(1_209_600u64)
        );
        // vetting: (admin, credentials, ratings, voting_period, cooldown), five words.
        let data = init_data(
            Contract::Vetting,
            &[
                a.clone(),
                b.clone(),
                a.clone(),
                "604800".into(),
                "2592000".into(),
            ],
        )
        .unwrap();
        assert_eq!(data.len(), 4 + 5 * 32);
        assert_eq!(data[4 + 32 + 12..4 + 64], Address::repeat_byte(0x22)[..]);
        assert_eq!(
            U256::from_be_slice(&data[4 + 96..4 + 128]),
            U256::from(604_800u64)
        );
        assert_eq!(
            U256::from_be_slice(&data[4 + 128..]),
            U256::from(2_592_000u64)
        );
        // booking(address escrow): the selector, then one word.
        let data = init_data(Contract::Booking, std::slice::from_ref(&b)).unwrap();
        assert_eq!(data[..4], sel[..4]);
        assert_eq!(data.len(), 4 + 32);
        assert_eq!(data[4..4 + 12], [0u8; 12]);
        assert_eq!(data[4 + 12..], Address::repeat_byte(0x22)[..]);
    }

    #[test]
    fn strings_are_encoded_as_given_empty_included() {
        let a = Address::repeat_byte(0x11).to_string();
        for uri in ["", "ipfs://bafy x, y/", "'quoted'", "(a, b)"] {
            let data = init_data(
                Contract::Badges,
                &[a.clone(), a.clone(), "300".into(), uri.into()],
            )
            .unwrap();
            let decoded = constructor(Contract::Badges)
                .abi_decode_input(&data[4..])
                .unwrap();
            assert_eq!(decoded[3].as_str(), Some(uri), "{uri:?}");
        }
    }

    #[test]
    fn constructor_arguments_that_do_not_fit_are_refused() {
        let err = init_data(Contract::Credentials, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "constructor of credentials: 0 arguments for 1 parameters"
        );
        let a = Address::repeat_byte(0x11).to_string();
        let err = init_data(
            Contract::Escrow,
            &[
                a.clone(),
                a.clone(),
                a.clone(),
                "70000".into(),
                "900".into(),
                "60".into(),
            ],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("constructor of escrow: fee_bps = \"70000\""),
            "{err}"
        );
    }

    #[test]
    fn create2_address_hashes_the_salt_with_the_init_data() {
        // Same inputs, same address; any change of salt, init data or code moves it.
        let d = STYLUS_DEPLOYER;
        let salt = B256::repeat_byte(1);
        let base = create2_address(d, salt, b"init", b"code");
        assert_eq!(base, create2_address(d, salt, b"init", b"code"));
        assert_ne!(
            base,
            create2_address(d, B256::repeat_byte(2), b"init", b"code")
        );
        assert_ne!(base, create2_address(d, salt, b"init2", b"code"));
        assert_ne!(base, create2_address(d, salt, b"init", b"code2"));
        // EIP-1014 by hand.
        let full = keccak256([salt.as_slice(), b"init"].concat());
        let mut pre = vec![0xff];
        pre.extend_from_slice(d.as_slice());
        pre.extend_from_slice(full.as_slice());
        pre.extend_from_slice(keccak256(b"code").as_slice());
        assert_eq!(base, Address::from_slice(&keccak256(pre)[12..]));
    }

    #[test]
    fn code_files_are_checked_for_the_prefix_and_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = Module::path_in(dir.path(), Contract::Escrow);
        assert!(matches!(
            Module::load(dir.path(), Contract::Escrow),
            Err(StylusError::Read { .. })
        ));
        std::fs::write(&path, [0x60, 0x00, 0x00, 0x00]).unwrap();
        assert!(matches!(
            Module::load(dir.path(), Contract::Escrow),
            Err(StylusError::NotStylus { .. })
        ));
        let mut big = vec![0xEF, 0xF0, 0x00, 0x00];
        big.resize(MAX_CODE_BYTES + 1, 7);
        std::fs::write(&path, &big).unwrap();
        assert!(matches!(
            Module::load(dir.path(), Contract::Escrow),
            Err(StylusError::TooLarge { len: 24_577, .. })
        ));
        big.truncate(MAX_CODE_BYTES);
        std::fs::write(&path, &big).unwrap();
        let m = Module::load(dir.path(), Contract::Escrow).unwrap();
        assert_eq!(m.code.len(), MAX_CODE_BYTES);
        assert_eq!(m.code_hash(), keccak256(&big));
    }
}

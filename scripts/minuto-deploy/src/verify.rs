//! What a re-run checks of a contract the record says is deployed: code at the address,
//! the same code as recorded (its hash), and — on a Stylus chain — that the program is
//! still activated (ArbWasm `codehashVersion`: activations expire, and an ArbOS upgrade
//! can require a new one). A record written before a receipt arrived (block 0) gets its
//! block from the receipt.

use alloy::primitives::{address, keccak256, Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolError};
use minuto_chain::Deployed;

use crate::DeployError;

/// ArbWasm, the Stylus precompile.
pub const ARB_WASM: Address = address!("0000000000000000000000000000000000000071");

alloy::sol! {
    /// The part of Arbitrum's ArbWasm precompile (`ArbWasm.sol` in nitro-contracts) used
    /// here.
    interface ArbWasm {
        function stylusVersion() external view returns (uint16 version);
        function codehashVersion(bytes32 codehash) external view returns (uint16 version);
        function activateProgram(address program) external payable returns (uint16 version, uint256 dataFee);
        error ProgramNotWasm();
        error ProgramNotActivated();
        error ProgramNeedsUpgrade(uint16 version, uint16 stylusVersion);
        error ProgramExpired(uint64 ageInSeconds);
        error ProgramUpToDate();
        error ProgramInsufficientValue(uint256 have, uint256 want);
    }
}

use ArbWasm::{codehashVersionCall, ProgramExpired, ProgramNeedsUpgrade, ProgramNotActivated};

/// A program's activation, as ArbWasm answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Activated with this Stylus version.
    Active(u16),
    /// Never activated (or the code is not a Stylus program).
    NotActivated,
    /// Activated for an older Stylus version: activate again.
    NeedsUpgrade {
        /// Its version.
        version: u16,
        /// The chain's.
        stylus_version: u16,
    },
    /// The activation expired: activate again.
    Expired {
        /// Its age.
        age_seconds: u64,
    },
    /// No ArbWasm here: not a Stylus chain (a plain EVM node).
    NoArbWasm,
}

/// Asks ArbWasm about the program whose code hashes to `code_hash`.
///
/// # Errors
/// [`DeployError::Rpc`] when the node fails otherwise.
pub async fn activation(p: &DynProvider, code_hash: B256) -> Result<Activation, DeployError> {
    let call = TransactionRequest::default().to(ARB_WASM).input(
        Bytes::from(
            codehashVersionCall {
                codehash: code_hash,
            }
            .abi_encode(),
        )
        .into(),
    );
    match p.call(call).await {
        Ok(out) if out.is_empty() => Ok(Activation::NoArbWasm),
        Ok(out) => codehashVersionCall::abi_decode_returns(&out)
            .map(Activation::Active)
            .map_err(|e| DeployError::Rpc(format!("ArbWasm.codehashVersion: {e}"))),
        Err(e) => {
            let data = e
                .as_error_resp()
                .and_then(|r| r.as_revert_data())
                .unwrap_or_default();
            if ProgramNotActivated::abi_decode(&data).is_ok() {
                Ok(Activation::NotActivated)
            } else if let Ok(u) = ProgramNeedsUpgrade::abi_decode(&data) {
                Ok(Activation::NeedsUpgrade {
                    version: u.version,
                    stylus_version: u.stylusVersion,
                })
            } else if let Ok(x) = ProgramExpired::abi_decode(&data) {
                Ok(Activation::Expired {
                    age_seconds: x.ageInSeconds,
                })
            } else {
                Err(DeployError::Rpc(format!("ArbWasm.codehashVersion: {e}")))
            }
        }
    }
}

/// Checks a recorded contract and completes its entry; returns what it noticed (for the
/// run's log). `d` is changed only to fill in what the record lacked (block, code hash).
///
/// # Errors
/// [`DeployError::NoCode`], [`DeployError::CodeChanged`], [`DeployError::NotActivated`],
/// [`DeployError::Rpc`].
pub async fn recorded(
    p: &DynProvider,
    path: &std::path::Path,
    contract: &'static str,
    d: &mut Deployed,
) -> Result<Vec<String>, DeployError> {
    let mut notes = Vec::new();
    let code = p
        .get_code_at(d.address)
        .await
        .map_err(|e| DeployError::Rpc(e.to_string()))?;
    if code.is_empty() && d.block == 0 && !d.tx.is_zero() {
        // Recorded when sent, before its receipt: still pending, or dropped.
        let mined = p
            .get_transaction_receipt(d.tx)
            .await
            .map_err(|e| DeployError::Rpc(e.to_string()))?
            .is_some();
        if !mined {
            return Err(DeployError::DeploymentPending { contract, tx: d.tx });
        }
    }
    if code.is_empty() {
        return Err(DeployError::NoCode {
            path: path.to_path_buf(),
            contract,
            address: d.address,
        });
    }
    let hash = keccak256(&code);
    match d.code_hash {
        Some(recorded) if recorded != hash => {
            return Err(DeployError::CodeChanged {
                contract,
                address: d.address,
                recorded,
                found: hash,
            })
        }
        Some(_) => {}
        None => {
            d.code_hash = Some(hash);
            notes.push(format!("{contract}: code hash {hash} recorded"));
        }
    }
    if d.block == 0 && !d.tx.is_zero() {
        if let Some(r) = p
            .get_transaction_receipt(d.tx)
            .await
            .map_err(|e| DeployError::Rpc(e.to_string()))?
        {
            d.block = r.block_number.unwrap_or_default();
            notes.push(format!(
                "{contract}: block {} recorded (from the deployment's receipt)",
                d.block
            ));
        }
    }
    match activation(p, hash).await? {
        Activation::Active(v) => notes.push(format!("{contract}: activated (Stylus v{v})")),
        Activation::NoArbWasm => {}
        other => {
            return Err(DeployError::NotActivated {
                contract,
                address: d.address,
                state: format!("{other:?}"),
            })
        }
    }
    Ok(notes)
}

//! Pre-flight checks of the chain, made before anything else (in a dry run too): ArbWasm
//! answers at 0x…71 (a Stylus chain) and the StylusDeployer holds code. The balance the
//! plan needs is checked by [`crate::run`] once the plan is known.

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;

use crate::verify::{ArbWasm, ARB_WASM};
use crate::DeployError;

/// Checks that `chain_id`'s node is a Stylus chain with a StylusDeployer at `deployer`;
/// returns the chain's Stylus version.
///
/// # Errors
/// [`DeployError::NotStylusChain`], [`DeployError::NoStylusDeployer`],
/// [`DeployError::Rpc`].
pub async fn chain(p: &DynProvider, chain_id: u64, deployer: Address) -> Result<u16, DeployError> {
    let rpc = |e: alloy::transports::TransportError| DeployError::Rpc(e.to_string());
    if p.get_code_at(ARB_WASM).await.map_err(rpc)?.is_empty() {
        return Err(DeployError::NotStylusChain {
            chain_id,
            reason: format!(
                "no code at ArbWasm ({ARB_WASM}); a plain EVM node cannot run Stylus programs"
            ),
        });
    }
    let call = TransactionRequest::default()
        .to(ARB_WASM)
        .input(ArbWasm::stylusVersionCall {}.abi_encode().into());
    let version = p
        .call(call)
        .await
        .map_err(|e| e.to_string())
        .and_then(|out| {
            ArbWasm::stylusVersionCall::abi_decode_returns(&out).map_err(|e| e.to_string())
        })
        .map_err(|e| DeployError::NotStylusChain {
            chain_id,
            reason: format!("ArbWasm.stylusVersion() did not answer: {e}"),
        })?;
    if p.get_code_at(deployer).await.map_err(rpc)?.is_empty() {
        return Err(DeployError::NoStylusDeployer {
            chain_id,
            address: deployer,
        });
    }
    Ok(version)
}

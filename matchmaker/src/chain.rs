//! What the matchmaker reads from the chain, behind a trait so the timing of the hub is
//! tested without a node; [`EvmChain`] reads a real one.

use std::future::Future;

use alloy_primitives::{Address, U256};
use minuto_chain::alloy::providers::DynProvider;
use minuto_chain::bindings::{ICredentials, ISessionEscrow};

minuto_chain::alloy::sol! {
    /// The two ERC-20 reads the affordability check needs.
    #[sol(rpc)]
    interface IErc20Funds {
        function balanceOf(address account) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
    }
}

/// A read failed (node down, bad answer). The caller answers `chain_unavailable`.
#[derive(Debug, thiserror::Error)]
#[error("chain read failed: {0}")]
pub struct ChainError(pub String);

/// A student's funds for the escrow in one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Funds {
    /// `balanceOf(student)`.
    pub balance: U256,
    /// `allowance(student, escrow)`.
    pub allowance: U256,
}

/// Chain reads the matchmaker makes.
pub trait ChainView: Send + Sync + 'static {
    /// `credentials.hasValid(tutor, kind)`.
    fn has_valid(
        &self,
        tutor: Address,
        kind: u32,
    ) -> impl Future<Output = Result<bool, ChainError>> + Send;
    /// The student's balance and allowance to the escrow.
    fn funds(
        &self,
        student: Address,
        token: Address,
    ) -> impl Future<Output = Result<Funds, ChainError>> + Send;
    /// The escrow's current protocol fee.
    fn fee_bps(&self) -> impl Future<Output = Result<u16, ChainError>> + Send;
    /// `escrow.nonceUsed(tutor, nonce)`.
    fn nonce_used(
        &self,
        tutor: Address,
        nonce: U256,
    ) -> impl Future<Output = Result<bool, ChainError>> + Send;
}

/// [`ChainView`] over JSON-RPC.
#[derive(Clone, Debug)]
pub struct EvmChain {
    provider: DynProvider,
    escrow: Address,
    credentials: Address,
}

impl EvmChain {
    /// Reads through `provider` from these contracts.
    pub fn new(provider: DynProvider, escrow: Address, credentials: Address) -> Self {
        Self {
            provider,
            escrow,
            credentials,
        }
    }
}

fn err(e: impl std::fmt::Display) -> ChainError {
    ChainError(e.to_string())
}

impl ChainView for EvmChain {
    async fn has_valid(&self, tutor: Address, kind: u32) -> Result<bool, ChainError> {
        ICredentials::new(self.credentials, &self.provider)
            .hasValid(tutor, kind)
            .call()
            .await
            .map_err(err)
    }

    async fn funds(&self, student: Address, token: Address) -> Result<Funds, ChainError> {
        let t = IErc20Funds::new(token, &self.provider);
        let (b, a) = (t.balanceOf(student), t.allowance(student, self.escrow));
        let (balance, allowance) = tokio::try_join!(b.call(), a.call()).map_err(err)?;
        Ok(Funds { balance, allowance })
    }

    async fn fee_bps(&self) -> Result<u16, ChainError> {
        let c = ISessionEscrow::new(self.escrow, &self.provider)
            .config()
            .call()
            .await
            .map_err(err)?;
        Ok(c._4)
    }

    async fn nonce_used(&self, tutor: Address, nonce: U256) -> Result<bool, ChainError> {
        ISessionEscrow::new(self.escrow, &self.provider)
            .nonceUsed(tutor, nonce)
            .call()
            .await
            .map_err(err)
    }
}

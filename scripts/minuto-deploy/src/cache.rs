//! Stylus program cache bids (`--cache-bid-wei`). A cached program skips its
//! initialisation on every call (about 18–23k gas a call for the escrow, issue #17): the
//! chain's CacheManager keeps the programs with the highest bids. The run asks ArbWasmCache
//! whether the escrow's code is cached; if not, it reads the manager's minimum bid and
//! places the bid (refusing, before anything is sent, one below the minimum).

use alloy::primitives::{address, Address, B256, U256};
use alloy::providers::{DynProvider, Provider};

use crate::DeployError;

/// ArbWasmCache, the precompile that lists the cache managers and tells what is cached.
pub const ARB_WASM_CACHE: Address = address!("0000000000000000000000000000000000000072");

alloy::sol! {
    /// The part of Arbitrum's ArbWasmCache precompile (`ArbWasmCache.sol` in
    /// nitro-contracts) used here.
    #[sol(rpc)]
    interface ArbWasmCache {
        function allCacheManagers() external view returns (address[] memory managers);
        function codehashIsCached(bytes32 codehash) external view returns (bool);
    }

    /// The part of Arbitrum's CacheManager contract used here.
    #[sol(rpc)]
    interface CacheManager {
        function placeBid(address program) external payable;
        function getMinBid(address program) external view returns (uint192 min);
        error BidTooSmall(uint192 bid, uint192 min);
        error BidsArePaused();
        error AlreadyCached(bytes32 codehash);
    }
}

/// What the cache step has to do for a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Its code is cached already: nothing to send.
    Cached,
    /// Place the bid with `manager`, whose minimum for the program is `min`.
    Bid {
        /// The chain's cache manager (the last ArbWasmCache lists, as `cargo stylus cache`
        /// uses).
        manager: Address,
        /// Its minimum bid for the program now; `None` while the program is not deployed
        /// (a dry run or estimate of a fresh deployment: the manager prices a program by
        /// its code).
        min: Option<U256>,
    },
}

/// Decides the cache step for the program at `program` with code hash `code_hash` and a
/// bid of `bid` wei. `program` may be not deployed yet (a dry run or estimate): its
/// minimum is then unknown, and checked by the run that deploys it.
pub async fn plan(
    p: &DynProvider,
    contract: &'static str,
    program: Address,
    code_hash: B256,
    bid: U256,
) -> Result<Step, DeployError> {
    let none = || DeployError::NoCacheManager;
    if p.get_code_at(ARB_WASM_CACHE)
        .await
        .map_err(|e| DeployError::Rpc(e.to_string()))?
        .is_empty()
    {
        return Err(none());
    }
    let cache = ArbWasmCache::new(ARB_WASM_CACHE, p);
    let managers = cache
        .allCacheManagers()
        .call()
        .await
        .map_err(|e| DeployError::Rpc(format!("ArbWasmCache.allCacheManagers: {e}")))?;
    let manager = *managers.last().ok_or_else(none)?;
    if cache
        .codehashIsCached(code_hash)
        .call()
        .await
        .map_err(|e| DeployError::Rpc(format!("ArbWasmCache.codehashIsCached: {e}")))?
    {
        return Ok(Step::Cached);
    }
    if p.get_code_at(program)
        .await
        .map_err(|e| DeployError::Rpc(e.to_string()))?
        .is_empty()
    {
        return Ok(Step::Bid { manager, min: None });
    }
    let min = CacheManager::new(manager, p)
        .getMinBid(program)
        .call()
        .await
        .map_err(|e| DeployError::Rpc(format!("CacheManager.getMinBid: {e}")))?;
    let min = U256::from(min);
    if bid < min {
        return Err(DeployError::CacheBidTooLow { contract, bid, min });
    }
    Ok(Step::Bid {
        manager,
        min: Some(min),
    })
}

/// Whether `code_hash` is cached now.
pub async fn is_cached(p: &DynProvider, code_hash: B256) -> Result<bool, DeployError> {
    ArbWasmCache::new(ARB_WASM_CACHE, p)
        .codehashIsCached(code_hash)
        .call()
        .await
        .map_err(|e| DeployError::Rpc(format!("ArbWasmCache.codehashIsCached: {e}")))
}

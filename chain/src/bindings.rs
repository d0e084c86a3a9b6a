//! Contract bindings generated at compile time from the checked-in interfaces in `abi/`
//! (the same files CI keeps in step with the contracts), so a changed ABI breaks this
//! build instead of a deployment.

#![allow(missing_docs, clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc, all_derives)]
    "../abi/ISessionEscrow.sol"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    "../abi/ICredentials.sol"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    "../abi/IBadges.sol"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    "../abi/IRatings.sol"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    "../abi/IVetting.sol"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    "../abi/IBooking.sol"
);

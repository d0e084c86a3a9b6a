//! The part of the contract's Solidity interface that the SDK's ABI export leaves out.
//!
//! `cargo stylus export-abi` (SDK 0.9) prints only the functions of the `#[public]`
//! inherent impl. Everything the contract exposes through `#[implements(...)]` trait
//! impls (ERC-721, its metadata, ERC-165, access control) and every event the composed
//! OpenZeppelin components emit is declared here instead, between the `abi:begin` and
//! `abi:end` markers that `cargo xtask abi` merges into `abi/ICredentials.sol`.
//!
//! The declarations are also Rust types (`sol!` call, event and error types), and the
//! crate's tests hold them to the contract: every function selector declared here must
//! be routed by the contract with these argument and return types, and every event and
//! error must have the signature of the one the contract really emits or returns.

use alloy_sol_types::sol;

sol! {
    /// ERC-721, ERC-721 Metadata, ERC-165 and access-control members of `ICredentials`.
    interface ICredentialsInherited {
        // abi:begin
        /// Number of credentials `owner` holds (revoked ones included, burned ones not).
        function balanceOf(address owner) external view returns (uint256 balance);
        /// Holder of `tokenId`; reverts with `ERC721NonexistentToken` if it does not exist.
        function ownerOf(uint256 tokenId) external view returns (address owner);
        /// Always reverts with `CredentialSoulbound(tokenId)`.
        function safeTransferFrom(address from, address to, uint256 tokenId, bytes calldata data) external;
        /// Always reverts with `CredentialSoulbound(tokenId)`.
        function safeTransferFrom(address from, address to, uint256 tokenId) external;
        /// Always reverts with `CredentialSoulbound(tokenId)`.
        function transferFrom(address from, address to, uint256 tokenId) external;
        /// Always reverts with `CredentialSoulbound(tokenId)`.
        function approve(address to, uint256 tokenId) external;
        /// Always reverts with `CredentialSoulboundOperator(operator)`.
        function setApprovalForAll(address operator, bool approved) external;
        /// Always `address(0)` for an existing token; reverts with `ERC721NonexistentToken` otherwise.
        function getApproved(uint256 tokenId) external view returns (address operator);
        /// Always false.
        function isApprovedForAll(address owner, address operator) external view returns (bool approved);
        /// The collection name.
        function name() external view returns (string memory);
        /// The collection symbol.
        function symbol() external view returns (string memory);
        /// The metadata URI given at issue; reverts with `ERC721NonexistentToken` for unknown or burned tokens.
        function tokenURI(uint256 tokenId) external view returns (string memory uri);
        /// True for ERC-165, ERC-721, ERC-721 Metadata and ERC-5192.
        function supportsInterface(bytes4 interfaceId) external view returns (bool supported);
        /// Whether `account` has `role`.
        function hasRole(bytes32 role, address account) external view returns (bool granted);
        /// Reverts with `AccessControlUnauthorizedAccount` unless the caller has `role`.
        function onlyRole(bytes32 role) external view;
        /// The role that administers `role` (the zero role, DEFAULT_ADMIN_ROLE, for every role here).
        function getRoleAdmin(bytes32 role) external view returns (bytes32 adminRole);
        /// Grants `role` to `account`; only the role's admin.
        function grantRole(bytes32 role, address account) external;
        /// Revokes `role` from `account`; only the role's admin.
        function revokeRole(bytes32 role, address account) external;
        /// Gives up `role`; `confirmation` must be the caller.
        function renounceRole(bytes32 role, address confirmation) external;

        /// ERC-721: a credential was issued (`from` zero) or burned (`to` zero). Never a transfer.
        event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
        /// Access control: `account` was granted `role` by `sender`.
        event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
        /// Access control: `account` lost `role` (revoked by `sender`, or renounced).
        event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);

        /// ERC-6093: `tokenId` was never issued or has been burned.
        error ERC721NonexistentToken(uint256 tokenId);
        /// ERC-6093: `balanceOf(address(0))`.
        error ERC721InvalidOwner(address owner);
        /// Access control: `account` lacks `neededRole`.
        error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);
        /// Access control: `renounceRole` with a `confirmation` other than the caller.
        error AccessControlBadConfirmation();
        // abi:end
    }
}

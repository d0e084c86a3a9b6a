//! The part of the contract's Solidity interface that the SDK's ABI export leaves out.
//!
//! `cargo stylus export-abi` (SDK 0.9) prints only the functions of the `#[public]`
//! inherent impl. Everything the contract exposes through `#[implements(...)]` trait
//! impls (ERC-721, its metadata, ERC-165) and every event and error of the composed
//! OpenZeppelin `Erc721` is declared here instead, between the `abi:begin` and `abi:end`
//! markers that `cargo xtask abi` merges into `abi/IBadges.sol`.
//!
//! The declarations are also Rust types (`sol!` call, event and error types), and the
//! crate's tests hold them to the contract: every function selector declared here must
//! be routed by the contract with these argument and return types, and every event and
//! error must have the signature of the one the contract really emits or returns.

use alloy_sol_types::sol;

sol! {
    /// ERC-721, ERC-721 Metadata and ERC-165 members of `IBadges`.
    interface IBadgesInherited {
        // abi:begin
        /// Number of badges `owner` holds; reverts with `ERC721InvalidOwner` for the zero address.
        function balanceOf(address owner) external view returns (uint256 balance);
        /// Holder of `tokenId`; reverts with `ERC721NonexistentToken` if it was never minted.
        function ownerOf(uint256 tokenId) external view returns (address owner);
        /// Moves `tokenId`; a contract `to` must accept it (`onERC721Received`), and is passed `data`.
        function safeTransferFrom(address from, address to, uint256 tokenId, bytes calldata data) external;
        /// Moves `tokenId`; a contract `to` must accept it (`onERC721Received`).
        function safeTransferFrom(address from, address to, uint256 tokenId) external;
        /// Moves `tokenId` from `from` to `to`; the caller must be the holder, approved, or an operator.
        function transferFrom(address from, address to, uint256 tokenId) external;
        /// Lets `to` move `tokenId`; only its holder or the holder's operator.
        function approve(address to, uint256 tokenId) external;
        /// Lets `operator` move all the caller's badges (or stops it).
        function setApprovalForAll(address operator, bool approved) external;
        /// The account approved for `tokenId`; reverts with `ERC721NonexistentToken` if it was never minted.
        function getApproved(uint256 tokenId) external view returns (address operator);
        /// Whether `operator` may move all of `owner`'s badges.
        function isApprovedForAll(address owner, address operator) external view returns (bool approved);
        /// The collection name.
        function name() external view returns (string memory);
        /// The collection symbol.
        function symbol() external view returns (string memory);
        /// The base URI followed by the decimal `tokenId` (empty if the base URI is); reverts with `ERC721NonexistentToken` for unknown tokens.
        function tokenURI(uint256 tokenId) external view returns (string memory uri);
        /// True for ERC-165, ERC-721 and ERC-721 Metadata.
        function supportsInterface(bytes4 interfaceId) external view returns (bool supported);

        /// ERC-721: a badge was claimed (`from` zero) or moved.
        event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
        /// ERC-721: `approved` may move `tokenId`.
        event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
        /// ERC-721: `operator` may (or may no longer) move all of `owner`'s badges.
        event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

        /// ERC-6093: `balanceOf(address(0))`.
        error ERC721InvalidOwner(address owner);
        /// ERC-6093: `tokenId` was never minted.
        error ERC721NonexistentToken(uint256 tokenId);
        /// ERC-6093: `sender` does not hold `tokenId`; `owner` does.
        error ERC721IncorrectOwner(address sender, uint256 tokenId, address owner);
        /// ERC-6093: the token cannot come from `sender`.
        error ERC721InvalidSender(address sender);
        /// ERC-6093: `receiver` cannot take tokens (the zero address, or a contract that refuses them).
        error ERC721InvalidReceiver(address receiver);
        /// ERC-6093: `operator` may not move `tokenId`.
        error ERC721InsufficientApproval(address operator, uint256 tokenId);
        /// ERC-6093: `approver` may not approve for this token.
        error ERC721InvalidApprover(address approver);
        /// ERC-6093: `operator` cannot be an operator (the zero address).
        error ERC721InvalidOperator(address operator);
        /// A contract receiver refused the token with `reason` (its revert data).
        error InvalidReceiverWithReason(string reason);
        // abi:end
    }
}

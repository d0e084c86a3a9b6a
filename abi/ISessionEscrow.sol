// SPDX-License-Identifier: MIT
// DRAFT interface of minuto-escrow, written before the contract; regenerated from the
// contract by `cargo xtask abi` once it exists.
pragma solidity ^0.8.23;

interface ISessionEscrow {
    // Session states: 0 None, 1 Open, 2 Active, 3 Ended, 4 Cancelled.
    struct SessionView {
        address student;
        address tutor;
        address token;
        uint256 rate; // base units per second, scaled by 1e18
        uint256 deposited;
        uint256 withdrawn;
        uint64 start; // Open: when it was opened; Active/Ended: when accrual began
        uint64 end; // Ended/Cancelled: when it ended (never after funds ran out)
        uint16 feeBps;
        uint32 credentialKind;
        uint8 state;
    }

    function open(address tutor, address token, uint256 rate, uint256 deposit, address studentKey, uint32 credentialKind) external returns (uint256 id);
    function openAccepted(address tutor, address token, uint256 rate, uint256 deposit, address studentKey, uint32 credentialKind, address tutorKey, uint256 nonce, uint64 expiry, bytes calldata signature) external returns (uint256 id);
    function start(uint256 id, address tutorKey) external;
    function topUp(uint256 id, uint256 amount) external;
    function withdraw(uint256 id) external returns (uint256 amount);
    function stop(uint256 id) external;
    function stopAt(uint256 id, uint64 at) external; // relayer only; earliest = max(start, now - maxBackdate), latest = now
    function cancel(uint256 id) external;
    function claim(address token) external returns (uint256 amount);

    function session(uint256 id) external view returns (SessionView memory);
    function billed(uint256 id) external view returns (uint256);
    function withdrawable(uint256 id) external view returns (uint256);
    function runway(uint256 id) external view returns (uint64);
    function maxBackdate() external view returns (uint32);
    function isRelayer(address account) external view returns (bool);

    event SessionOpened(uint256 indexed id, address indexed student, address indexed tutor, address token, uint256 rate, uint256 deposit, address studentKey, uint32 credentialKind, uint16 feeBps);
    event SessionStarted(uint256 indexed id, address tutorKey, uint64 start);
    event SessionToppedUp(uint256 indexed id, uint256 amount, uint256 deposited);
    event Withdrawn(uint256 indexed id, address indexed tutor, uint256 amount);
    event SessionEnded(uint256 indexed id, address indexed by, uint64 end, uint256 billed, uint256 tutorPaid, uint256 fee, uint256 refund);
    event SessionCancelled(uint256 indexed id, address indexed by, uint256 refund);

    error EscrowUnknownSession(uint256 id);
    error EscrowInvalidState(uint256 id, uint8 state);
    error EscrowUnauthorized(uint256 id, address caller);
    error EscrowStopAtOutOfRange(uint256 id, uint64 at, uint64 earliest, uint64 latest);
}

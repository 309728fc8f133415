// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title GPUHubVotes: non-transferable participation votes (ERC-5805, timestamp clock).
/// @notice Voting units are earned by paying the marketplace's fee: every rental that ends with a
/// fee earns one unit per wei of fee, half to its renter and the rest to its provider, which they mint
/// with `GPUHub.claimVotes()`. Only the marketplace mints; nobody can transfer, approve, buy or
/// burn units (there is no function that would). Delegation works as in any ERC-5805 token, and an
/// account that has never delegated delegates to itself when it first gets units, so its votes
/// count without an extra step. Founders named at deployment get a bootstrap grant, so the market
/// can govern itself before fees accrue.
contract GPUHubVotes is Votes {
    /// @notice The only address that can mint units (the GPUHub marketplace).
    address public immutable marketplace;
    /// @notice Units granted at deployment; every later unit was earned by a fee.
    uint256 public immutable bootstrapUnits;

    mapping(address account => uint256) private _units;
    uint256 private _totalUnits;

    /// @notice `account` got `units` new voting units (bootstrap grant or claimed).
    event VotesMinted(address indexed account, uint256 units);

    error NotMarketplace(address caller);
    error GrantLengthMismatch(uint256 holders, uint256 amounts);

    /// @param marketplace_ the GPUHub marketplace, the only minter
    /// @param holders addresses that get a bootstrap grant
    /// @param amounts each holder's grant in voting units
    constructor(address marketplace_, address[] memory holders, uint256[] memory amounts)
        EIP712("GPUHub Votes", "1")
    {
        if (holders.length != amounts.length) revert GrantLengthMismatch(holders.length, amounts.length);
        marketplace = marketplace_;
        uint256 granted = 0;
        for (uint256 i = 0; i < holders.length; ++i) {
            _mint(holders[i], amounts[i]);
            granted += amounts[i];
        }
        bootstrapUnits = granted;
    }

    /// @notice Mint `units` to `account`; the marketplace's claimVotes calls it.
    function mint(address account, uint256 units) external {
        if (msg.sender != marketplace) revert NotMarketplace(msg.sender);
        _mint(account, units);
    }

    /// @notice Voting units `account` holds (its own, whoever it delegates to).
    function unitsOf(address account) external view returns (uint256) {
        return _units[account];
    }

    /// @notice Every unit ever minted.
    function totalUnits() external view returns (uint256) {
        return _totalUnits;
    }

    /// @notice EIP-6372: this token's clock is the block timestamp, so periods are in seconds.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice EIP-6372 clock description.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    function _mint(address account, uint256 units) private {
        if (delegates(account) == address(0)) _delegate(account, account);
        _units[account] += units;
        _totalUnits += units;
        _transferVotingUnits(address(0), account, units);
        emit VotesMinted(account, units);
    }

    function _getVotingUnits(address account) internal view override returns (uint256) {
        return _units[account];
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice What the governor reads from the marketplace it governs.
interface IGPUHubMarket {
    function setFee(uint256 newFeeBps) external;
    function setPaused(bool paused_) external;
    function setGuardian(address newGuardian) external;
    function guardian() external view returns (address);
    function totalEarnedVotes() external view returns (uint256);
    // solhint-disable-next-line func-name-mixedcase
    function MAX_PAYOUT_BPS() external view returns (uint256);
}

/// @notice What the governor reads from the votes contract beyond ERC-5805.
interface IGPUHubVotesCounts {
    function bootstrapUnits() external view returns (uint256);
    function totalUnits() external view returns (uint256);
}

/// @title GPUHubGovernor: the marketplace's participants vote on its parameters.
/// @notice OpenZeppelin's Governor with settable delays, for/against/abstain counting, votes from
/// GPUHubVotes (timestamp clock, so delays and periods are in seconds), and a timelock that
/// executes what passes. Three rules keep the treasury from being bought with its own money:
/// - Each proposal is classed when proposed. A PARAMETER proposal only calls the marketplace's
///   setFee or setPaused, which move no money; it needs the ordinary quorum, a fraction of the
///   votes claimed by the snapshot. Anything else is a POWER proposal (a payout, a new treasury,
///   guardian or governance, any call to the governor or timelock, any ETH sent, any other
///   target): it needs `powerQuorumNumerator` percent of every voting unit ever granted or
///   earned, claimed or not, as counted when it is proposed. Since that share is above the
///   marketplace's payout limit per period, the fees a captor pays for its votes exceed what one
///   period's payout can return (docs/governance.md).
/// - Votes count only once held for `voteMaturity` seconds: an account votes with the least it
///   held at the snapshot and `voteMaturity` seconds before it.
/// - The marketplace's guardian may cancel any proposal before it executes (queued ones in the
///   timelock too), except one that only replaces the guardian, so governance can always
///   replace it.
/// Production defaults: voting delay 1 day, voting period 7 days, quorum 4%, power quorum 20%,
/// vote maturity 7 days, proposal threshold 10^16 units, timelock delay 2 days.
contract GPUHubGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @notice How a proposal is decided: PARAMETER proposals (setFee, setPaused only) by the
    /// ordinary quorum, POWER proposals by the power quorum.
    enum ProposalKind {
        PARAMETER,
        POWER
    }

    /// @dev What `_propose` records about a power proposal (nothing for a parameter one).
    struct PowerRules {
        bool power;
        bool guardianChangeOnly;
        uint208 quorum;
    }

    /// @notice The marketplace this governor governs (the guardian and the earned units live there).
    address public immutable marketplace;
    uint256 private immutable _powerQuorumNumerator;
    uint256 private immutable _voteMaturity;

    mapping(uint256 proposalId => PowerRules) private _powerRules;

    /// @notice The power quorum must be above the marketplace's payout limit and at most 100%.
    error GovernorInvalidPowerQuorum(uint256 numerator, uint256 payoutLimitBps);

    /// @param marketplace_ the GPUHub marketplace whose timelock this governor's is
    /// @param powerQuorumNumerator_ percent of every unit ever granted or earned that a POWER
    /// proposal needs (FOR + ABSTAIN); above the marketplace's MAX_PAYOUT_BPS / 100
    /// @param voteMaturity_ seconds units must be held before the snapshot to count
    constructor(
        IVotes token,
        TimelockController timelock,
        address marketplace_,
        uint48 initialVotingDelay,
        uint32 initialVotingPeriod,
        uint256 initialProposalThreshold,
        uint256 quorumNumerator,
        uint256 powerQuorumNumerator_,
        uint256 voteMaturity_
    )
        Governor("GPUHub Governor")
        GovernorSettings(initialVotingDelay, initialVotingPeriod, initialProposalThreshold)
        GovernorVotes(token)
        GovernorVotesQuorumFraction(quorumNumerator)
        GovernorTimelockControl(timelock)
    {
        uint256 limitBps = IGPUHubMarket(marketplace_).MAX_PAYOUT_BPS();
        if (powerQuorumNumerator_ * 100 <= limitBps || powerQuorumNumerator_ > 100) {
            revert GovernorInvalidPowerQuorum(powerQuorumNumerator_, limitBps);
        }
        marketplace = marketplace_;
        _powerQuorumNumerator = powerQuorumNumerator_;
        _voteMaturity = voteMaturity_;
    }

    /// @notice Percent of every voting unit ever granted or earned that a POWER proposal needs.
    function powerQuorumNumerator() external view returns (uint256) {
        return _powerQuorumNumerator;
    }

    /// @notice Seconds units must be held before a proposal's snapshot to count in its vote.
    function voteMaturity() external view returns (uint256) {
        return _voteMaturity;
    }

    /// @notice Whether the proposal needs the ordinary quorum (PARAMETER) or the power quorum.
    function proposalKind(uint256 proposalId) external view returns (ProposalKind) {
        if (proposalSnapshot(proposalId) == 0) revert GovernorNonexistentProposal(proposalId);
        return _powerRules[proposalId].power ? ProposalKind.POWER : ProposalKind.PARAMETER;
    }

    /// @notice FOR + ABSTAIN votes the proposal needs. A POWER proposal's was fixed when it was
    /// proposed; a PARAMETER proposal's is the ordinary quorum at its snapshot, or, while the
    /// snapshot is not past, the same share of the units minted so far.
    function proposalQuorum(uint256 proposalId) external view returns (uint256) {
        uint256 snapshot = proposalSnapshot(proposalId);
        if (snapshot == 0) revert GovernorNonexistentProposal(proposalId);
        PowerRules storage rules = _powerRules[proposalId];
        if (rules.power) return rules.quorum;
        if (snapshot < clock()) return quorum(snapshot);
        return IGPUHubVotesCounts(address(token())).totalUnits() * quorumNumerator() / quorumDenominator();
    }

    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    /// @dev Classes the proposal; a POWER proposal records its quorum: the power share of every
    /// unit granted at deployment and earned by fees so far, claimed or not.
    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal override returns (uint256 proposalId) {
        proposalId = super._propose(targets, values, calldatas, description, proposer);
        bool power = false;
        bool guardianOnly = true;
        for (uint256 i = 0; i < targets.length; ++i) {
            bytes4 selector = _selector(calldatas[i]);
            bool toMarket = targets[i] == marketplace && values[i] == 0;
            if (!toMarket || (selector != IGPUHubMarket.setFee.selector && selector != IGPUHubMarket.setPaused.selector))
            {
                power = true;
            }
            if (!toMarket || selector != IGPUHubMarket.setGuardian.selector) guardianOnly = false;
        }
        if (power) {
            uint256 basis = IGPUHubVotesCounts(address(token())).bootstrapUnits()
                + IGPUHubMarket(marketplace).totalEarnedVotes();
            _powerRules[proposalId] = PowerRules({
                power: true,
                guardianChangeOnly: guardianOnly,
                quorum: SafeCast.toUint208(basis * _powerQuorumNumerator / 100)
            });
        }
    }

    /// @dev A POWER proposal needs its recorded quorum; a PARAMETER one the ordinary quorum.
    function _quorumReached(uint256 proposalId)
        internal
        view
        override(Governor, GovernorCountingSimple)
        returns (bool)
    {
        PowerRules storage rules = _powerRules[proposalId];
        if (!rules.power) return super._quorumReached(proposalId);
        (, uint256 forVotes, uint256 abstainVotes) = proposalVotes(proposalId);
        return rules.quorum <= forVotes + abstainVotes;
    }

    /// @dev The least of the votes held at `timepoint` and `voteMaturity` seconds before it, so
    /// units claimed or delegated shortly before a snapshot do not count in its vote.
    function _getVotes(address account, uint256 timepoint, bytes memory params)
        internal
        view
        override(Governor, GovernorVotes)
        returns (uint256)
    {
        uint256 now_ = super._getVotes(account, timepoint, params);
        uint256 maturity = _voteMaturity;
        if (maturity == 0) return now_;
        if (timepoint < maturity) return 0;
        uint256 before = token().getPastVotes(account, timepoint - maturity);
        return before < now_ ? before : now_;
    }

    /// @dev The marketplace's guardian may cancel any proposal not executed yet, except one
    /// that only replaces the guardian; proposers keep OpenZeppelin's right to cancel their own
    /// while it is pending.
    function _validateCancel(uint256 proposalId, address caller) internal view override returns (bool) {
        address guardian = IGPUHubMarket(marketplace).guardian();
        if (guardian != address(0) && caller == guardian && !_powerRules[proposalId].guardianChangeOnly) {
            return true;
        }
        return super._validateCancel(proposalId, caller);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }

    /// @dev The first four bytes of `data` (zero when shorter: not a call this governor classes).
    function _selector(bytes memory data) private pure returns (bytes4) {
        return data.length < 4 ? bytes4(0) : bytes4(data);
    }
}

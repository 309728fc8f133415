// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// The parts of GPUHub a puppet uses.
interface IGPUHub {
    function createListing(string calldata, uint256, uint256, uint8, uint256, uint256) external returns (uint256);
    function rent(uint256, uint256, uint8, uint256) external payable returns (uint256);
    function endRental(uint256) external;
    function withdraw() external;
    function withdrawTo(address payable) external;
    function balanceOf(address) external view returns (uint256);
}

/// A contract account that rents or provides on GPUHub, for attack tests. On receiving ETH it
/// accepts, reverts, or re-enters GPUHub (withdraw again, or end its rental) and records whether
/// the re-entry got through.
contract Puppet {
    enum Mode { ACCEPT, REJECT, REENTER_WITHDRAW, REENTER_END }

    IGPUHub public immutable hub;
    Mode public mode;
    uint256 public reentryRental;
    uint256 public reentries;
    uint256 public reentriesSucceeded;

    constructor(IGPUHub hub_) {
        hub = hub_;
    }

    function setMode(Mode mode_, uint256 rentalId) external {
        mode = mode_;
        reentryRental = rentalId;
    }

    function list(string calldata model, uint256 price) external returns (uint256) {
        return hub.createListing(model, 8, price, 0, 1, 100);
    }

    function rent(uint256 listingId, uint256 duration, uint8 unit, uint256 maxTotal) external payable returns (uint256) {
        return hub.rent{value: msg.value}(listingId, duration, unit, maxTotal);
    }

    function end(uint256 rentalId) external {
        hub.endRental(rentalId);
    }

    function pull() external {
        hub.withdraw();
    }

    function pullTo(address payable to) external {
        hub.withdrawTo(to);
    }

    receive() external payable {
        if (mode == Mode.REJECT) revert("no thanks");
        if (mode == Mode.REENTER_WITHDRAW || mode == Mode.REENTER_END) {
            reentries += 1;
            bool ok;
            if (mode == Mode.REENTER_WITHDRAW) {
                (ok,) = address(hub).call(abi.encodeCall(IGPUHub.withdraw, ()));
            } else {
                (ok,) = address(hub).call(abi.encodeCall(IGPUHub.endRental, (reentryRental)));
            }
            if (ok) reentriesSucceeded += 1;
        }
    }
}

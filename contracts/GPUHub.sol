// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice What the marketplace reads from its governor (an OpenZeppelin GovernorTimelockControl).
interface IGPUHubGovernor {
    function token() external view returns (address);
    function timelock() external view returns (address);
}

/// @notice The participation votes contract; only the marketplace mints.
interface IGPUHubVotes {
    function mint(address account, uint256 units) external;
}

/// @title GPUHub: a marketplace for renting out spare GPUs.
/// @notice Providers list GPUs with a price per unit of time; renters find them through the paged
/// read `getListings`, quote and rent them. The rent is held in escrow by this contract, billed per
/// second at the price locked when the rental started, and split on ending: the provider's share
/// and the platform fee for the time used, the rest back to the renter. Payouts are pull payments:
/// ending only credits balances and `withdraw` is the one function that sends ETH.
/// Invariant: address(this).balance == escrow of active rentals + every withdrawable balance.
/// @dev Storage is packed so that a listing with a model name of up to 20 bytes fills two slots:
/// slot 0 holds provider, status, unit, model length, capacity and the duration bounds (everything
/// an availability change touches), slot 1 holds the price and the first 20 bytes of the model.
/// Longer model names spill into up to two more slots.
contract GPUHub {
    enum PriceUnit {
        MINUTE,
        HOUR,
        DAY
    }

    enum ListingStatus {
        AVAILABLE,
        UNAVAILABLE,
        RENTED,
        REMOVED
    }

    /// @notice The side of a rental an account was on.
    enum Role {
        RENTER,
        PROVIDER
    }

    enum RentalStatus {
        ACTIVE,
        ENDED_BY_RENTER,
        ENDED_BY_PROVIDER,
        SETTLED
    }

    struct Listing {
        // slot 0
        address provider;
        ListingStatus status;
        PriceUnit unit;
        uint8 modelLength;
        uint16 capacity;
        uint24 minDuration;
        uint24 maxDuration;
        // slot 1
        uint96 price;
        bytes20 model0;
        // slots 2 and 3, written only for models longer than 20 and 52 bytes
        bytes32 model1;
        bytes12 model2;
    }

    /// @notice A listing as the read functions return it.
    struct ListingView {
        uint256 listingId;
        address provider;
        string gpuModel;
        uint256 capacity;
        uint256 price;
        PriceUnit unit;
        uint256 minDuration;
        uint256 maxDuration;
        ListingStatus status;
    }

    struct Rental {
        // slot 0
        address renter;
        uint40 start;
        uint40 end;
        RentalStatus status;
        PriceUnit unit;
        // slot 1
        uint96 price;
        uint96 paid;
        uint16 feeBps;
        uint40 listingId;
        // RENTER_RATED | PROVIDER_RATED: who has rated the other side already
        uint8 rated;
    }

    /// @notice An account's slot, written by every ending that credits it or counts a completion,
    /// so the track record costs nothing extra when ending pays out anyway.
    /// @dev Widths: no account can hold 2^96 wei (the ETH supply is far below it) and 2^32
    /// completed rentals would take billions of transactions; every narrowing is checked anyway.
    struct Account {
        uint96 balance; // withdrawable wei
        // Votes accrued on endings with a fee (half the fee, in wei, to each side), minted by
        // claimVotes; they live here so that ending accrues them in the slot it writes anyway.
        uint96 pendingVotes;
        uint32 completedAsProvider;
        uint32 completedAsRenter;
    }

    /// @notice Ratings an account received, and the rentals it cut short as a provider.
    /// @dev Written by `rate` and by a provider's early end only, never by a normal ending. Every
    /// count is bounded by the number of rentals (< 2^48) and every sum by 5 times that.
    struct Reputation {
        uint48 providerRatingCount;
        uint56 providerRatingSum;
        uint48 renterRatingCount;
        uint56 renterRatingSum;
        uint48 terminations;
    }

    /// @notice An account's reputation as `reputation` returns it.
    struct ReputationView {
        uint256 providerRatingCount;
        uint256 providerRatingSum;
        uint256 renterRatingCount;
        uint256 renterRatingSum;
        uint256 completedAsProvider;
        uint256 completedAsRenter;
        uint256 terminations;
    }

    /// @notice A rental as the read functions return it.
    struct RentalView {
        uint256 rentalId;
        uint256 listingId;
        address renter;
        address provider;
        uint256 start;
        uint256 end;
        uint256 price;
        PriceUnit unit;
        uint256 paid;
        uint256 feeBps;
        RentalStatus status;
    }

    uint256 public constant MAX_MODEL_LENGTH = 64;
    uint256 public constant MAX_CAPACITY = type(uint16).max;
    uint256 public constant MAX_PRICE = type(uint96).max;
    uint256 public constant MAX_DURATION = type(uint24).max;
    /// @notice Longest rental in seconds (about 34 years), so rental times fit their uint40 slots.
    uint256 public constant MAX_RENTAL_SECONDS = 2 ** 30;

    uint256 public constant MAX_SCORE = 5;
    /// @notice Longest rating comment in bytes (it travels in the event only, never stored).
    uint256 public constant MAX_COMMENT_LENGTH = 280;
    /// @notice Longest access request or grant in bytes (they travel in events only, never stored).
    uint256 public constant MAX_ACCESS_PAYLOAD = 1024;

    uint256 public constant MAX_FEE_BPS = 1_000;
    /// @notice Largest amount a rental can hold in escrow (its `paid` slot is 96 bits wide).
    uint256 public constant MAX_PAYMENT = type(uint96).max;
    /// @notice Identifies a GPUHub marketplace and the version of its interface; clients check it
    /// before trusting an address.
    uint256 public constant MARKETPLACE_VERSION = 1;
    uint256 private constant BPS = 10_000;
    uint8 private constant RENTER_RATED = 1;
    uint8 private constant PROVIDER_RATED = 2;

    // One slot: rent reads the fee and bumps the rental count, ending adds to the fees.
    // 40 bits: a rental keeps its listing id in 40 bits beside its rating flags.
    uint40 private _listingCount;
    uint48 private _rentalCount;
    uint16 private _feeBps;
    bool private _paused;
    uint128 private _accruedFees;

    /// @notice Sets the fee, the treasury and the pause switch: the governor's timelock once one is
    /// installed (the deployer until then), or whatever address governance was handed to.
    address public governance;
    /// @notice Receives the platform fee (the timelock under a governor, so only proposals pay it out).
    address public treasury;
    /// @notice The governor whose timelock holds governance; zero when governance is a plain address.
    address public governor;
    /// @notice The participation votes contract that claimVotes mints in; zero until a governor is installed.
    address public votes;
    /// @notice May pause (never unpause) without waiting for a proposal; zero for none.
    address public guardian;

    mapping(uint256 listingId => Listing) private _listings;
    mapping(uint256 rentalId => Rental) private _rentals;
    // The last rental of each listing; it is the active one while the listing is RENTED.
    mapping(uint256 listingId => uint256) private _lastRental;
    mapping(address account => Account) private _accounts;
    mapping(address account => Reputation) private _reputations;

    // Every function that moves escrow or balances holds this lock (EIP-1153 transient storage),
    // so nothing re-enters them while withdraw hands control to a receiver.
    bool private transient _locked;

    event ListingCreated(
        uint256 indexed listingId,
        address indexed provider,
        string gpuModel,
        uint256 capacity,
        uint256 price,
        PriceUnit unit,
        uint256 minDuration,
        uint256 maxDuration
    );
    event ListingUpdated(
        uint256 indexed listingId,
        address indexed provider,
        string gpuModel,
        uint256 capacity,
        uint256 price,
        PriceUnit unit,
        uint256 minDuration,
        uint256 maxDuration
    );
    event ListingStatusChanged(uint256 indexed listingId, ListingStatus status);
    event RentalStarted(
        uint256 indexed rentalId,
        uint256 indexed listingId,
        address indexed renter,
        uint256 start,
        uint256 end,
        uint256 price,
        PriceUnit unit,
        uint256 paid,
        uint256 feeBps,
        uint256 excess
    );
    event RentalExtended(uint256 indexed rentalId, uint256 extraUnits, uint256 end, uint256 cost, uint256 excess);
    event RentalEnded(
        uint256 indexed rentalId,
        uint256 indexed listingId,
        RentalStatus status,
        uint256 end,
        uint256 used,
        uint256 refund,
        uint256 providerShare,
        uint256 fee
    );
    /// @param role the side `ratee` was on (PROVIDER: the renter rated the provider)
    /// @param billed wei the rental billed, so off-chain scoring can weight ratings by money paid
    event Rated(
        uint256 indexed rentalId,
        address indexed rater,
        address indexed ratee,
        Role role,
        uint256 score,
        uint256 billed,
        string comment
    );
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    event FeeChanged(uint256 oldFeeBps, uint256 newFeeBps);
    event TreasuryChanged(address indexed oldTreasury, address indexed newTreasury);
    event PausedChanged(bool paused);
    event GovernanceTransferred(address indexed oldGovernance, address indexed newGovernance);
    event GovernorChanged(address indexed oldGovernor, address indexed newGovernor, address votes);
    event GuardianChanged(address indexed oldGuardian, address indexed newGuardian);
    event VotesClaimed(address indexed account, uint256 units);
    /// @param payload the renter's encryption public key and, optionally, an SSH public key
    event AccessRequested(uint256 indexed rentalId, bytes payload);
    /// @param payload the connection details, encrypted to the key of the renter's request
    event AccessGranted(uint256 indexed rentalId, bytes payload);

    error ListingNotFound(uint256 listingId);
    error NotListingProvider(uint256 listingId, address caller);
    error ListingNotAvailable(uint256 listingId, ListingStatus status);
    error InvalidStatusTransition(uint256 listingId, ListingStatus current, ListingStatus requested);
    error InvalidGpuModel(uint256 length);
    error GpuModelNotUtf8(uint256 offset);
    error PaymentTooLarge(uint256 amount, uint256 maxPayment);
    error InvalidCapacity(uint256 capacity);
    error InvalidPrice(uint256 price);
    error InvalidUnit(uint256 unit);
    error InvalidDurationRange(uint256 minDuration, uint256 maxDuration);
    error InvalidDuration(uint256 duration, uint256 minDuration, uint256 maxDuration);
    error TermsChanged(uint256 listingId, uint256 price, PriceUnit unit);
    error InsufficientPayment(uint256 required, uint256 sent);
    error CannotRentOwnListing(uint256 listingId);
    error RentalNotFound(uint256 rentalId);
    error RentalNotActive(uint256 rentalId, RentalStatus status);
    error NotRenter(uint256 rentalId, address caller);
    error NotRentalParty(uint256 rentalId, address caller);
    error RentalExpired(uint256 rentalId, uint256 end);
    error RentalNotExpired(uint256 rentalId, uint256 end);
    error NoActiveRental(uint256 listingId);
    error NothingToWithdraw(address account);
    error WithdrawFailed(address to, uint256 amount);
    error Reentrancy();
    error MarketplacePaused();
    error NotGovernance(address caller, address governance);
    error FeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    error InvalidAddress(address account);
    error NotGuardian(address caller);
    error NotTreasury(address caller);
    error InsufficientTreasury(uint256 amount, uint256 available);
    error NoVotesToClaim(address account);
    error NoVotesContract();
    error BalanceOverflow(address account, uint256 balance);
    error InvalidScore(uint256 score);
    error CommentTooLong(uint256 length, uint256 maxLength);
    error RentalNotOver(uint256 rentalId);
    error AlreadyRated(uint256 rentalId, address rater);
    error AccessPayloadTooLong(uint256 length, uint256 maxLength);

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance(msg.sender, governance);
        _;
    }

    modifier whenNotPaused() {
        if (_paused) revert MarketplacePaused();
        _;
    }

    constructor() {
        governance = msg.sender;
        treasury = msg.sender;
    }

    // ------------------------------------------------------------------ listings

    /// @notice List a GPU. The caller becomes its provider; the listing starts AVAILABLE.
    /// @param gpuModel model name, 1..64 bytes of UTF-8
    /// @param capacity GPU memory in GB, 1..65535
    /// @param price wei per `unit`, 1..2^96-1
    /// @param unit 0 = MINUTE, 1 = HOUR, 2 = DAY
    /// @param minDuration shortest rental in units, >= 1
    /// @param maxDuration longest rental in units, minDuration..2^24-1
    /// @return listingId the new listing's id (ids count up from 0)
    function createListing(
        string calldata gpuModel,
        uint256 capacity,
        uint256 price,
        uint8 unit,
        uint256 minDuration,
        uint256 maxDuration
    ) external whenNotPaused returns (uint256 listingId) {
        uint40 count = _listingCount;
        listingId = count;
        _listingCount = count + 1; // checked: past 2^40 - 1 listings it reverts, never wraps
        _store(_listings[listingId], gpuModel, capacity, price, unit, minDuration, maxDuration, false);
        emit ListingCreated(
            listingId, msg.sender, gpuModel, capacity, price, PriceUnit(unit), minDuration, maxDuration
        );
    }

    /// @notice Replace a listing's terms. Only its provider may; a removed listing cannot change.
    /// A rental already running keeps the terms it started with.
    function updateListing(
        uint256 listingId,
        string calldata gpuModel,
        uint256 capacity,
        uint256 price,
        uint8 unit,
        uint256 minDuration,
        uint256 maxDuration
    ) external {
        Listing storage listing = _ownListing(listingId);
        if (listing.status == ListingStatus.REMOVED) {
            revert InvalidStatusTransition(listingId, ListingStatus.REMOVED, ListingStatus.REMOVED);
        }
        _store(listing, gpuModel, capacity, price, unit, minDuration, maxDuration, true);
        emit ListingUpdated(
            listingId, msg.sender, gpuModel, capacity, price, PriceUnit(unit), minDuration, maxDuration
        );
    }

    /// @notice Take an AVAILABLE listing off the market for now (the original GPUHub's "fulfill request").
    function fulfillRequest(uint256 listingId) external {
        _transition(listingId, ListingStatus.AVAILABLE, ListingStatus.UNAVAILABLE);
    }

    /// @notice Put an UNAVAILABLE listing back on the market (the original GPUHub's "fulfilled request").
    function markAvailable(uint256 listingId) external {
        _transition(listingId, ListingStatus.UNAVAILABLE, ListingStatus.AVAILABLE);
    }

    /// @notice Remove a listing for good. Allowed from AVAILABLE or UNAVAILABLE, never while rented.
    function removeListing(uint256 listingId) external {
        Listing storage listing = _ownListing(listingId);
        ListingStatus current = listing.status;
        if (current != ListingStatus.AVAILABLE && current != ListingStatus.UNAVAILABLE) {
            revert InvalidStatusTransition(listingId, current, ListingStatus.REMOVED);
        }
        listing.status = ListingStatus.REMOVED;
        emit ListingStatusChanged(listingId, ListingStatus.REMOVED);
    }

    /// @notice Number of listings ever created; ids run from 0 to listingCount() - 1.
    function listingCount() external view returns (uint256) {
        return _listingCount;
    }

    /// @notice One listing by id.
    function getListing(uint256 listingId) external view returns (ListingView memory) {
        if (listingId >= _listingCount) revert ListingNotFound(listingId);
        return _view(listingId);
    }

    /// @notice Up to `limit` listings starting at id `offset`, in id order, in one call.
    /// @dev A view for eth_call: it loops over at most `limit` listings and is never used by a transaction.
    function getListings(uint256 offset, uint256 limit) external view returns (ListingView[] memory page) {
        uint256 end = _pageEnd(offset, limit, _listingCount);
        page = new ListingView[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _view(i);
        }
    }

    // ------------------------------------------------------------------ rentals

    /// @notice The exact cost of renting `listingId` for `duration` units at its current price.
    function quote(uint256 listingId, uint256 duration) public view returns (uint256) {
        Listing storage listing = _listings[listingId];
        if (listing.provider == address(0)) revert ListingNotFound(listingId);
        _checkDuration(duration, listing.minDuration, listing.maxDuration);
        return uint256(listing.price) * duration;
    }

    /// @notice Rent an AVAILABLE listing for `duration` units, paying into escrow.
    /// @param unit the unit the renter expects the price in; a different one reverts (TermsChanged)
    /// @param maxTotal the most the renter accepts to pay; a price raised above it reverts
    /// @dev msg.value must cover the cost; any excess is credited to the renter's balance.
    function rent(uint256 listingId, uint256 duration, uint8 unit, uint256 maxTotal)
        external
        payable
        whenNotPaused
        nonReentrant
        returns (uint256 rentalId)
    {
        Listing storage listing = _listings[listingId];
        address provider = listing.provider;
        if (provider == address(0)) revert ListingNotFound(listingId);
        if (listing.status != ListingStatus.AVAILABLE) revert ListingNotAvailable(listingId, listing.status);
        if (provider == msg.sender) revert CannotRentOwnListing(listingId);
        _checkDuration(duration, listing.minDuration, listing.maxDuration);
        uint256 price = listing.price;
        PriceUnit listedUnit = listing.unit;
        uint256 cost = price * duration;
        if (uint8(listedUnit) != unit || cost > maxTotal) revert TermsChanged(listingId, price, listedUnit);
        // Dev chains can hold more ETH than 96 bits: refuse what `paid` cannot hold exactly.
        if (cost > MAX_PAYMENT) revert PaymentTooLarge(cost, MAX_PAYMENT);
        if (msg.value < cost) revert InsufficientPayment(cost, msg.value);

        rentalId = _rentalCount;
        _rentalCount = uint48(rentalId + 1);
        uint16 lockedFee = _feeBps;
        uint256 end = block.timestamp + duration * _unitSeconds(listedUnit);
        _rentals[rentalId] = Rental({
            renter: msg.sender,
            start: uint40(block.timestamp),
            end: uint40(end),
            status: RentalStatus.ACTIVE,
            unit: listedUnit,
            price: uint96(price),
            paid: uint96(cost),
            feeBps: lockedFee,
            listingId: uint40(listingId), // below _listingCount, a uint40
            rated: 0
        });
        listing.status = ListingStatus.RENTED;
        _lastRental[listingId] = rentalId;
        uint256 excess = msg.value - cost;
        if (excess != 0) _credit(msg.sender, excess);
        emit RentalStarted(
            rentalId, listingId, msg.sender, block.timestamp, end, price, listedUnit, cost, lockedFee, excess
        );
    }

    /// @notice Add `extraUnits` to an active rental at its locked price. Renter only, before it ends,
    /// within the listing's current maximum duration. Allowed while paused.
    /// @dev The rental is counted in its own (locked) unit and the listing's limits in the listing's
    /// current unit, which the provider may have changed: the limits are converted to the rental's
    /// unit (rounded down) before comparing, so a unit change cannot stretch the maximum.
    function extendRental(uint256 rentalId, uint256 extraUnits) external payable nonReentrant {
        Rental storage rental = _activeRental(rentalId);
        if (rental.renter != msg.sender) revert NotRenter(rentalId, msg.sender);
        uint256 end = rental.end;
        if (block.timestamp >= end) revert RentalExpired(rentalId, end);
        uint256 unitSeconds = _unitSeconds(rental.unit);
        Listing storage listing = _listings[rental.listingId];
        uint256 listingUnitSeconds = _unitSeconds(listing.unit);
        uint256 maxUnits = uint256(listing.maxDuration) * listingUnitSeconds / unitSeconds;
        if (extraUnits > MAX_DURATION) revert InvalidDuration(extraUnits, 1, maxUnits);
        uint256 total = (end - rental.start) / unitSeconds + extraUnits;
        if (extraUnits == 0 || total > maxUnits || total * unitSeconds > MAX_RENTAL_SECONDS) {
            revert InvalidDuration(total, uint256(listing.minDuration) * listingUnitSeconds / unitSeconds, maxUnits);
        }
        uint256 cost = uint256(rental.price) * extraUnits;
        uint256 paid = uint256(rental.paid) + cost;
        if (paid > MAX_PAYMENT) revert PaymentTooLarge(paid, MAX_PAYMENT);
        if (msg.value < cost) revert InsufficientPayment(cost, msg.value);
        end += extraUnits * unitSeconds;
        rental.end = uint40(end);
        rental.paid = uint96(paid);
        uint256 excess = msg.value - cost;
        if (excess != 0) _credit(msg.sender, excess);
        emit RentalExtended(rentalId, extraUnits, end, cost, excess);
    }

    /// @notice End a rental. Before its end time only the renter or the provider may, and the
    /// renter pays only for the seconds used; an early end by the provider counts against the
    /// provider. From the end time on it settles, as `settle` does.
    function endRental(uint256 rentalId) external nonReentrant {
        Rental storage rental = _activeRental(rentalId);
        address provider = _listings[rental.listingId].provider;
        bool byRenter = msg.sender == rental.renter;
        if (!byRenter && msg.sender != provider) revert NotRentalParty(rentalId, msg.sender);
        if (block.timestamp >= rental.end) {
            _close(rentalId, rental, provider, RentalStatus.SETTLED);
        } else if (byRenter) {
            _close(rentalId, rental, provider, RentalStatus.ENDED_BY_RENTER);
        } else {
            _close(rentalId, rental, provider, RentalStatus.ENDED_BY_PROVIDER);
        }
    }

    /// @notice Settle a rental whose end time has passed. Anyone may.
    function settle(uint256 rentalId) external nonReentrant {
        Rental storage rental = _activeRental(rentalId);
        if (block.timestamp < rental.end) revert RentalNotExpired(rentalId, rental.end);
        _close(rentalId, rental, _listings[rental.listingId].provider, RentalStatus.SETTLED);
    }

    /// @notice Send the caller's whole withdrawable balance to the caller.
    function withdraw() external nonReentrant {
        _withdraw(payable(msg.sender));
    }

    /// @notice Send the caller's whole withdrawable balance to `to` (for accounts that cannot receive).
    function withdrawTo(address payable to) external nonReentrant {
        _checkAddress(to);
        _withdraw(to);
    }

    /// @notice What `account` can withdraw now (the treasury's includes the accrued fees).
    function balanceOf(address account) public view returns (uint256) {
        uint256 amount = _accounts[account].balance;
        if (account == treasury) amount += _accruedFees;
        return amount;
    }

    /// @notice Number of rentals ever started; ids run from 0 to rentalCount() - 1.
    function rentalCount() external view returns (uint256) {
        return _rentalCount;
    }

    /// @notice One rental by id.
    function getRental(uint256 rentalId) external view returns (RentalView memory) {
        if (rentalId >= _rentalCount) revert RentalNotFound(rentalId);
        return _rentalView(rentalId);
    }

    /// @notice Up to `limit` rentals starting at id `offset`, in id order, in one call.
    function getRentals(uint256 offset, uint256 limit) external view returns (RentalView[] memory page) {
        uint256 end = _pageEnd(offset, limit, _rentalCount);
        page = new RentalView[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _rentalView(i);
        }
    }

    function _rentalView(uint256 rentalId) private view returns (RentalView memory) {
        Rental storage rental = _rentals[rentalId];
        return RentalView({
            rentalId: rentalId,
            listingId: rental.listingId,
            renter: rental.renter,
            provider: _listings[rental.listingId].provider,
            start: rental.start,
            end: rental.end,
            price: rental.price,
            unit: rental.unit,
            paid: rental.paid,
            feeBps: rental.feeBps,
            status: rental.status
        });
    }

    /// @notice The id of the listing's active rental.
    function activeRentalOf(uint256 listingId) external view returns (uint256) {
        Listing storage listing = _listings[listingId];
        if (listing.provider == address(0)) revert ListingNotFound(listingId);
        if (listing.status != ListingStatus.RENTED) revert NoActiveRental(listingId);
        return _lastRental[listingId];
    }

    /// @notice Rentals the provider ended early (also in `reputation`).
    function providerTerminations(address provider) external view returns (uint256) {
        return _reputations[provider].terminations;
    }

    /// @notice The platform fee in basis points, applied to rentals started from now on.
    function feeBps() external view returns (uint256) {
        return _feeBps;
    }

    /// @notice True while new listings and rentals are refused.
    function paused() external view returns (bool) {
        return _paused;
    }

    // ------------------------------------------------------------------ batching

    /// @notice Run several calls to this contract in one transaction, each as the caller (a provider
    /// listing many GPUs signs once). If any call fails, the whole batch reverts with its error.
    /// @dev Not payable: every call inside sees msg.value == 0, so no payment can be counted twice.
    /// The reentrancy lock lives in this contract's transient storage, which the delegatecalls share.
    /// @return results each call's return data, in order
    function multicall(bytes[] calldata calls) external returns (bytes[] memory results) {
        results = new bytes[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            (bool ok, bytes memory ret) = address(this).delegatecall(calls[i]);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 32), mload(ret))
                }
            }
            results[i] = ret;
        }
    }

    // ------------------------------------------------------------------ access handoff

    /// @notice Ask the provider for access to a running rental: the renter publishes a payload
    /// (an encryption public key made for this rental and, optionally, an SSH public key) that
    /// the provider's agent answers with `grantAccess`. Emitted, never stored. Renter only, while
    /// the rental is active and before its end time; may be sent again (a new key, say).
    /// @param payload at most MAX_ACCESS_PAYLOAD bytes; the contract does not read it
    function requestAccess(uint256 rentalId, bytes calldata payload) external {
        // One storage read: renter, end and status share the rental's first slot.
        Rental storage rental = _rentals[rentalId];
        address renter = rental.renter;
        if (renter == address(0)) revert RentalNotFound(rentalId);
        if (renter != msg.sender) revert NotRenter(rentalId, msg.sender);
        if (rental.status != RentalStatus.ACTIVE) revert RentalNotActive(rentalId, rental.status);
        if (block.timestamp >= rental.end) revert RentalExpired(rentalId, rental.end);
        if (payload.length > MAX_ACCESS_PAYLOAD) revert AccessPayloadTooLong(payload.length, MAX_ACCESS_PAYLOAD);
        emit AccessRequested(rentalId, payload);
    }

    /// @notice Answer a rental's access request: the provider publishes the connection details,
    /// encrypted to the key of the renter's request (only the renter can read them). Emitted,
    /// never stored. Only the provider of the rental's listing.
    /// @dev A closed rental may still be answered: checking its status would cost a third cold
    /// storage read on every grant (the status lives in the rental's other slot), and refusing
    /// would only make a grant that races the renter's own `endRental` revert. A grant moves no
    /// money, stores nothing, and reaches no one but the renter.
    /// @param payload at most MAX_ACCESS_PAYLOAD bytes; the contract does not read it
    function grantAccess(uint256 rentalId, bytes calldata payload) external {
        // The rental's second slot holds its listing id and `paid`, which is never zero for a
        // rental that exists (price and duration are at least 1).
        Rental storage rental = _rentals[rentalId];
        if (rental.paid == 0) revert RentalNotFound(rentalId);
        uint256 listingId = rental.listingId;
        if (_listings[listingId].provider != msg.sender) revert NotListingProvider(listingId, msg.sender);
        if (payload.length > MAX_ACCESS_PAYLOAD) revert AccessPayloadTooLong(payload.length, MAX_ACCESS_PAYLOAD);
        emit AccessGranted(rentalId, payload);
    }

    // ------------------------------------------------------------------ reputation

    /// @notice Rate the other side of a rental that is over (ended by either side or settled):
    /// its renter rates the provider, the listing's provider rates the renter, once each.
    /// @param score 1..5
    /// @param comment at most MAX_COMMENT_LENGTH bytes of UTF-8; emitted in `Rated`, never stored
    function rate(uint256 rentalId, uint256 score, string calldata comment) external {
        Rental storage rental = _rentals[rentalId];
        address renter = rental.renter;
        if (renter == address(0)) revert RentalNotFound(rentalId);
        address provider = _listings[rental.listingId].provider;
        bool byRenter = msg.sender == renter;
        if (!byRenter && msg.sender != provider) revert NotRentalParty(rentalId, msg.sender);
        if (score == 0 || score > MAX_SCORE) revert InvalidScore(score);
        if (bytes(comment).length > MAX_COMMENT_LENGTH) {
            revert CommentTooLong(bytes(comment).length, MAX_COMMENT_LENGTH);
        }
        if (rental.status == RentalStatus.ACTIVE) revert RentalNotOver(rentalId);
        uint8 flag = byRenter ? RENTER_RATED : PROVIDER_RATED;
        if (rental.rated & flag != 0) revert AlreadyRated(rentalId, msg.sender);
        rental.rated |= flag;
        address ratee = byRenter ? provider : renter;
        Role role = byRenter ? Role.PROVIDER : Role.RENTER;
        _addRating(_reputations[ratee], role, score);
        // A closed rental's `end` is when billing stopped, so this is what `_close` billed.
        emit Rated(rentalId, msg.sender, ratee, role, score, _billed(rental, rental.end), comment);
    }

    /// @notice Everything the contract counts about `account`: the ratings it received as a
    /// provider and as a renter (count and sum of scores), the rentals it completed on each side
    /// (ended by the renter or settled), and the rentals it ended early as a provider.
    function reputation(address account) external view returns (ReputationView memory) {
        Account storage acct = _accounts[account];
        Reputation storage rep = _reputations[account];
        return ReputationView({
            providerRatingCount: rep.providerRatingCount,
            providerRatingSum: rep.providerRatingSum,
            renterRatingCount: rep.renterRatingCount,
            renterRatingSum: rep.renterRatingSum,
            completedAsProvider: acct.completedAsProvider,
            completedAsRenter: acct.completedAsRenter,
            terminations: rep.terminations
        });
    }

    // ------------------------------------------------------------------ governance

    /// @notice Set the platform fee (at most MAX_FEE_BPS) for rentals started from now on.
    function setFee(uint256 newFeeBps) external onlyGovernance {
        if (newFeeBps > MAX_FEE_BPS) revert FeeTooHigh(newFeeBps, MAX_FEE_BPS);
        emit FeeChanged(_feeBps, newFeeBps);
        _feeBps = uint16(newFeeBps);
    }

    /// @notice Send future fees to `newTreasury`; fees accrued so far stay with the old treasury.
    function setTreasury(address newTreasury) external onlyGovernance {
        _checkAddress(newTreasury);
        address old = treasury;
        _credit(old, _accruedFees);
        _accruedFees = 0;
        treasury = newTreasury;
        emit TreasuryChanged(old, newTreasury);
    }

    /// @notice Stop (or resume) new listings and rentals. Ending, settling and withdrawing go on.
    function setPaused(bool paused_) external onlyGovernance {
        _paused = paused_;
        emit PausedChanged(paused_);
    }

    /// @notice Hand governance to another address (a multisig, say). A governor installed before
    /// no longer governs, so it is forgotten; votes keep being earned and claimed.
    function transferGovernance(address newGovernance) external onlyGovernance {
        _checkAddress(newGovernance);
        emit GovernanceTransferred(governance, newGovernance);
        governance = newGovernance;
        address old = governor;
        if (old != address(0)) {
            governor = address(0);
            emit GovernorChanged(old, address(0), votes);
        }
    }

    /// @notice Hand governance to `newGovernor`'s timelock; claimVotes mints in its voting token.
    /// The treasury is set apart (setTreasury), so that fees keep their own address.
    function installGovernor(address newGovernor) external onlyGovernance {
        _checkAddress(newGovernor);
        address timelock = IGPUHubGovernor(newGovernor).timelock();
        address token = IGPUHubGovernor(newGovernor).token();
        if (timelock == address(0) || token == address(0)) revert InvalidAddress(newGovernor);
        emit GovernorChanged(governor, newGovernor, token);
        emit GovernanceTransferred(governance, timelock);
        governor = newGovernor;
        votes = token;
        governance = timelock;
    }

    /// @notice Let `newGuardian` pause (never unpause); the zero address removes the guardian.
    function setGuardian(address newGuardian) external onlyGovernance {
        emit GuardianChanged(guardian, newGuardian);
        guardian = newGuardian;
    }

    /// @notice Stop new listings and rentals now. The guardian or governance may; only governance
    /// resumes (setPaused(false)).
    function pause() external {
        if (msg.sender != guardian && msg.sender != governance) revert NotGuardian(msg.sender);
        _paused = true;
        emit PausedChanged(true);
    }

    /// @notice Pay `amount` wei of the treasury's balance (accrued fees first) to `to`. Only the
    /// treasury may: under a governor that is the timelock, so only a passed proposal pays.
    function payFromTreasury(address payable to, uint256 amount) external nonReentrant {
        if (msg.sender != treasury) revert NotTreasury(msg.sender);
        _checkAddress(to);
        uint256 fees = _accruedFees;
        uint256 own = _accounts[msg.sender].balance;
        if (amount == 0 || amount > fees + own) revert InsufficientTreasury(amount, fees + own);
        if (amount <= fees) {
            _accruedFees = uint128(fees - amount);
        } else {
            _accruedFees = 0;
            _accounts[msg.sender].balance = uint96(own - (amount - fees));
        }
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert WithdrawFailed(to, amount);
        emit Withdrawn(msg.sender, to, amount);
    }

    // ------------------------------------------------------------------ votes

    /// @notice Mint the caller's earned voting units in the votes contract. Every rental that ends
    /// with a fee earns its renter and its provider half the fee each (rounded down, in wei).
    /// @return units the units minted
    function claimVotes() external nonReentrant returns (uint256 units) {
        address token = votes;
        if (token == address(0)) revert NoVotesContract();
        Account storage acct = _accounts[msg.sender];
        units = acct.pendingVotes;
        if (units == 0) revert NoVotesToClaim(msg.sender);
        acct.pendingVotes = 0;
        emit VotesClaimed(msg.sender, units);
        IGPUHubVotes(token).mint(msg.sender, units);
    }

    /// @notice Voting units `account` has earned and not claimed yet.
    function pendingVotes(address account) external view returns (uint256) {
        return _accounts[account].pendingVotes;
    }

    // ------------------------------------------------------------------ internals

    /// @dev An address that can hold a role or receive ETH: not zero, and not this contract, which
    /// could neither withdraw what is credited to it nor call its own governance functions.
    function _checkAddress(address account) private view {
        if (account == address(0) || account == address(this)) revert InvalidAddress(account);
    }

    function _activeRental(uint256 rentalId) private view returns (Rental storage rental) {
        if (rentalId >= _rentalCount) revert RentalNotFound(rentalId);
        rental = _rentals[rentalId];
        if (rental.status != RentalStatus.ACTIVE) revert RentalNotActive(rentalId, rental.status);
    }

    /// @dev Bills the seconds used at the locked price, rounded down (in the renter's favour) and
    /// never above what was paid, and credits the three parts, which add up to `paid`.
    function _close(uint256 rentalId, Rental storage rental, address provider, RentalStatus status) private {
        uint256 end = rental.end;
        uint256 until = block.timestamp < end ? block.timestamp : end;
        uint256 paid = rental.paid;
        uint256 used = _billed(rental, until);
        // The fee is a share of the amount billed, which is itself rounded down first.
        // slither-disable-next-line divide-before-multiply
        uint256 fee = used * rental.feeBps / BPS;
        uint256 refund = paid - used;
        // An early end moves `end` to now, so the stored rental shows the time actually billed.
        if (until != end) rental.end = uint40(until);
        rental.status = status;
        uint256 listingId = rental.listingId;
        _listings[listingId].status = ListingStatus.AVAILABLE;
        // Each side's account slot is written once: the credit and the completion share it.
        bool completed = status != RentalStatus.ENDED_BY_PROVIDER;
        address renter = rental.renter;
        if (refund != 0) _credit(renter, refund);
        if (used != fee) _credit(provider, used - fee);
        if (completed) {
            _accounts[renter].completedAsRenter += 1;
            _accounts[provider].completedAsProvider += 1;
        } else {
            _reputations[provider].terminations += 1;
        }
        if (fee != 0) {
            _accruedFees += uint128(fee);
            // Half the fee to each side, in the account slots written above (warm and dirty, so
            // about 200 gas each). A fee is at most 10% of escrow, so the sums fit their uint96.
            uint96 earned = uint96(fee / 2);
            _accounts[renter].pendingVotes += earned;
            _accounts[provider].pendingVotes += earned;
        }
        emit RentalEnded(rentalId, listingId, status, until, used, refund, used - fee, fee);
    }

    function _withdraw(address payable to) private {
        uint256 amount = _accounts[msg.sender].balance;
        bool isTreasury = msg.sender == treasury;
        if (isTreasury) amount += _accruedFees;
        // An internal ledger entry, not address(this).balance: nobody can force ETH into it.
        // slither-disable-next-line incorrect-equality
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _accounts[msg.sender].balance = 0;
        if (isTreasury) _accruedFees = 0;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert WithdrawFailed(to, amount);
        emit Withdrawn(msg.sender, to, amount);
    }

    /// @dev `score` is 1..5, so the uint56 sums cannot be narrowed wrongly.
    function _addRating(Reputation storage rep, Role role, uint256 score) private {
        if (role == Role.PROVIDER) {
            rep.providerRatingCount += 1;
            rep.providerRatingSum += uint56(score);
        } else {
            rep.renterRatingCount += 1;
            rep.renterRatingSum += uint56(score);
        }
    }

    /// @dev Adds `amount` to `account`'s withdrawable balance; reverts rather than truncate.
    function _credit(address account, uint256 amount) private {
        Account storage acct = _accounts[account];
        uint256 balance = acct.balance + amount;
        if (balance > type(uint96).max) revert BalanceOverflow(account, balance);
        acct.balance = uint96(balance);
    }

    /// @dev Wei billed for the time up to `until` (at most `end`): per second at the locked price,
    /// rounded down in the renter's favour, never above what was paid.
    function _billed(Rental storage rental, uint256 until) private view returns (uint256) {
        uint256 used = uint256(rental.price) * (until - rental.start) / _unitSeconds(rental.unit);
        uint256 paid = rental.paid;
        return used > paid ? paid : used;
    }

    /// @dev One past the last id of the page [offset, offset + limit) within [0, count).
    function _pageEnd(uint256 offset, uint256 limit, uint256 count) private pure returns (uint256) {
        if (offset >= count) return offset;
        return limit > count - offset ? count : offset + limit;
    }

    function _checkDuration(uint256 duration, uint256 minDuration, uint256 maxDuration) private pure {
        if (duration < minDuration || duration > maxDuration) {
            revert InvalidDuration(duration, minDuration, maxDuration);
        }
    }

    function _unitSeconds(PriceUnit unit) private pure returns (uint256) {
        if (unit == PriceUnit.MINUTE) return 60;
        if (unit == PriceUnit.HOUR) return 3600;
        return 86400;
    }

    function _ownListing(uint256 listingId) private view returns (Listing storage listing) {
        listing = _listings[listingId];
        address provider = listing.provider;
        if (provider == address(0)) revert ListingNotFound(listingId);
        if (provider != msg.sender) revert NotListingProvider(listingId, msg.sender);
    }

    function _transition(uint256 listingId, ListingStatus from, ListingStatus to) private {
        Listing storage listing = _ownListing(listingId);
        ListingStatus current = listing.status;
        if (current != from) revert InvalidStatusTransition(listingId, current, to);
        listing.status = to;
        emit ListingStatusChanged(listingId, to);
    }

    function _store(
        Listing storage listing,
        string calldata gpuModel,
        uint256 capacity,
        uint256 price,
        uint8 unit,
        uint256 minDuration,
        uint256 maxDuration,
        bool existing
    ) private {
        uint256 length = bytes(gpuModel).length;
        if (length == 0 || length > MAX_MODEL_LENGTH) revert InvalidGpuModel(length);
        _checkUtf8(gpuModel);
        if (capacity == 0 || capacity > MAX_CAPACITY) revert InvalidCapacity(capacity);
        if (price == 0 || price > MAX_PRICE) revert InvalidPrice(price);
        if (unit > uint8(PriceUnit.DAY)) revert InvalidUnit(unit);
        if (
            minDuration == 0 || minDuration > maxDuration || maxDuration > MAX_DURATION
                || maxDuration * _unitSeconds(PriceUnit(unit)) > MAX_RENTAL_SECONDS
        ) {
            revert InvalidDurationRange(minDuration, maxDuration);
        }
        (bytes20 m0, bytes32 m1, bytes12 m2) = _splitModel(gpuModel);
        uint256 oldLength = existing ? listing.modelLength : 0;

        listing.provider = msg.sender;
        listing.unit = PriceUnit(unit);
        listing.modelLength = uint8(length);
        listing.capacity = uint16(capacity);
        listing.minDuration = uint24(minDuration);
        listing.maxDuration = uint24(maxDuration);
        listing.price = uint96(price);
        listing.model0 = m0;
        // Tail slots are written only when they hold, or held, part of a name.
        if (length > 20 || oldLength > 20) listing.model1 = m1;
        if (length > 52 || oldLength > 52) listing.model2 = m2;
    }

    /// @dev Cuts a name of at most 64 bytes into 20 + 32 + 12 bytes, zero-padded.
    function _splitModel(string calldata gpuModel) private pure returns (bytes20 m0, bytes32 m1, bytes12 m2) {
        uint256 length = bytes(gpuModel).length;
        bytes32 w0;
        bytes32 w1;
        bytes32 w2;
        assembly {
            w0 := calldataload(gpuModel.offset)
            w1 := calldataload(add(gpuModel.offset, 20))
            w2 := calldataload(add(gpuModel.offset, 52))
        }
        // calldataload reads past the string's end; keep only the name's own bytes.
        m0 = bytes20(_keep(w0, length));
        m1 = length > 20 ? _keep(w1, length - 20) : bytes32(0);
        m2 = length > 52 ? bytes12(_keep(w2, length - 52)) : bytes12(0);
    }

    /// @dev Reverts with the offset of the first byte that is not well-formed UTF-8 (RFC 3629: no
    /// overlong forms, no surrogates, nothing above U+10FFFF), so every reader can decode every
    /// name. ASCII names, the common case, pass on a test of two words.
    function _checkUtf8(string calldata text) private pure {
        bytes calldata b = bytes(text);
        uint256 n = b.length;
        bytes32 w0;
        bytes32 w1;
        assembly {
            w0 := calldataload(b.offset)
            w1 := calldataload(add(b.offset, 32))
        }
        bytes32 high = 0x8080808080808080808080808080808080808080808080808080808080808080;
        if (n <= 32) {
            if (_keep(w0, n) & high == 0) return;
        } else if (w0 & high == 0 && _keep(w1, n - 32) & high == 0) {
            return;
        }
        uint256 i;
        while (i < n) {
            uint256 c = uint8(b[i]);
            if (c < 0x80) {
                ++i;
                continue;
            }
            uint256 extra;
            uint256 codePoint;
            uint256 least;
            if (c & 0xE0 == 0xC0) {
                (extra, codePoint, least) = (1, c & 0x1F, 0x80);
            } else if (c & 0xF0 == 0xE0) {
                (extra, codePoint, least) = (2, c & 0x0F, 0x800);
            } else if (c & 0xF8 == 0xF0) {
                (extra, codePoint, least) = (3, c & 0x07, 0x10000);
            } else {
                revert GpuModelNotUtf8(i);
            }
            if (i + extra >= n) revert GpuModelNotUtf8(i);
            for (uint256 j = 1; j <= extra; ++j) {
                uint256 next = uint8(b[i + j]);
                if (next & 0xC0 != 0x80) revert GpuModelNotUtf8(i);
                codePoint = (codePoint << 6) | (next & 0x3F);
            }
            if (codePoint < least || codePoint > 0x10FFFF || (codePoint >= 0xD800 && codePoint <= 0xDFFF)) {
                revert GpuModelNotUtf8(i);
            }
            i += extra + 1;
        }
    }

    function _keep(bytes32 word, uint256 n) private pure returns (bytes32) {
        if (n >= 32) return word;
        return word & ~bytes32(type(uint256).max >> (n * 8));
    }

    function _view(uint256 listingId) private view returns (ListingView memory) {
        Listing storage listing = _listings[listingId];
        bytes memory model = abi.encodePacked(listing.model0, listing.model1, listing.model2);
        uint256 length = listing.modelLength;
        assembly {
            mstore(model, length)
        }
        return ListingView({
            listingId: listingId,
            provider: listing.provider,
            gpuModel: string(model),
            capacity: listing.capacity,
            price: listing.price,
            unit: listing.unit,
            minDuration: listing.minDuration,
            maxDuration: listing.maxDuration,
            status: listing.status
        });
    }
}

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
        // Votes accrued on endings with a fee (one per wei of fee, half to each side), minted by
        // claimVotes; they live here so that ending accrues them in the slot it writes anyway.
        uint96 pendingVotes;
        uint32 completedAsProvider;
        uint32 completedAsRenter;
    }

    /// @notice The ratings an account received on one side of its rentals (one slot per side,
    /// so `rate` writes one slot), and on the provider side the rentals it cut short.
    /// @dev Each rating weighs what its rental billed, in RATING_WEIGHT_UNIT wei rounded down,
    /// so a rental billed for a second weighs nothing. Widths: counts are bounded by the number
    /// of rentals (< 2^48) and plain sums by 5 times that; the weight of every rental an account
    /// was ever rated for stays below 2^48 units (2.8e8 ETH, more than all ETH there is) on any
    /// real chain, and a weighted sum is at most 5 times its weight. Checked arithmetic reverts
    /// rather than wrap on a dev chain that mints more.
    struct Ratings {
        uint48 count;
        uint56 sum;
        uint48 weight;
        uint56 weightedSum;
        uint48 terminations; // provider side only
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
        uint256 providerRatingWeight;
        uint256 providerRatingWeightedSum;
        uint256 renterRatingWeight;
        uint256 renterRatingWeightedSum;
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
    /// @notice The most the treasury pays out in one payout period, in basis points of the fees
    /// it holds when the period's first payout is made (5%).
    uint256 public constant MAX_PAYOUT_BPS = 500;
    /// @notice A payout period: it starts with the first payout after the previous one ended.
    uint256 public constant PAYOUT_PERIOD = 30 days;
    /// @notice A rating weighs what its rental billed in units of this many wei (10^12, a
    /// millionth of an ether), rounded down.
    uint256 public constant RATING_WEIGHT_UNIT = 1e12;
    /// @notice Largest amount a rental can hold in escrow (its `paid` slot is 96 bits wide).
    uint256 public constant MAX_PAYMENT = type(uint96).max;
    /// @notice Identifies a GPUHub marketplace and the version of its interface; clients check it
    /// before trusting an address.
    uint256 public constant MARKETPLACE_VERSION = 2;
    uint256 private constant BPS = 10_000;
    uint8 private constant RENTER_RATED = 1;
    uint8 private constant PROVIDER_RATED = 2;
    // _textFault's answers, and the byte masks its word test uses.
    uint256 private constant NOT_UTF8 = 1;
    uint256 private constant CONTROL = 2;
    uint256 private constant _HIGH = 0x8080808080808080808080808080808080808080808080808080808080808080;
    uint256 private constant _LOW = 0x6060606060606060606060606060606060606060606060606060606060606060;
    uint256 private constant _ONES = 0x0101010101010101010101010101010101010101010101010101010101010101;

    // One slot: rent reads the fee and bumps the rental count, ending adds to the fees.
    // 40 bits: a rental keeps its listing id in 40 bits beside its rating flags.
    uint40 private _listingCount;
    uint48 private _rentalCount;
    uint16 private _feeBps;
    bool private _paused;
    // Every fee ever charged: it only grows. Each wei of fee earns one voting unit, so this is
    // also every voting unit ever earned, claimed or not.
    uint128 private _feesEarned;

    // Written by payouts only. The treasury holds _feesEarned - _feesPaid.
    uint128 private _feesPaid;
    uint40 private _periodStart;
    uint128 private _periodLimit;
    uint128 private _periodPaid;

    /// @notice Sets the fee, the treasury and the pause switch: the governor's timelock once one is
    /// installed (the deployer until then), or whatever address governance was handed to.
    address public governance;
    /// @notice May pay out the platform fees, within the payout limit (the timelock under a
    /// governor, so only a passed proposal pays).
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
    mapping(address account => Ratings[2]) private _ratings; // by Role: RENTER, PROVIDER

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
    error GpuModelControlCharacter(uint256 offset);
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
    error PayoutLimitExceeded(uint256 amount, uint256 allowance, uint256 nextPeriod);
    error NoVotesToClaim(address account);
    error NoVotesContract();
    error BalanceOverflow(address account, uint256 balance);
    error InvalidScore(uint256 score);
    error CommentTooLong(uint256 length, uint256 maxLength);
    error CommentNotUtf8(uint256 offset);
    error CommentControlCharacter(uint256 offset);
    error RentalNotOver(uint256 rentalId);
    error AlreadyRated(uint256 rentalId, address rater);
    error RatingWeightOverflow(address account, uint256 weight);
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

    /// @notice What `account` can withdraw now. The fees the treasury holds are not part of it:
    /// they leave only through `payFromTreasury` (see `treasuryFunds`).
    function balanceOf(address account) public view returns (uint256) {
        return _accounts[account].balance;
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
        return _ratings[provider][uint256(Role.PROVIDER)].terminations;
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
    /// @param comment at most MAX_COMMENT_LENGTH bytes of UTF-8, no control characters; emitted
    /// in `Rated`, never stored
    function rate(uint256 rentalId, uint256 score, string calldata comment) external {
        Rental storage rental = _rentals[rentalId];
        address ratee;
        Role role;
        {
            address renter = rental.renter;
            if (renter == address(0)) revert RentalNotFound(rentalId);
            address provider = _listings[rental.listingId].provider;
            bool byRenter = msg.sender == renter;
            if (!byRenter && msg.sender != provider) revert NotRentalParty(rentalId, msg.sender);
            if (score == 0 || score > MAX_SCORE) revert InvalidScore(score);
            _checkComment(comment);
            if (rental.status == RentalStatus.ACTIVE) revert RentalNotOver(rentalId);
            uint8 flag = byRenter ? RENTER_RATED : PROVIDER_RATED;
            if (rental.rated & flag != 0) revert AlreadyRated(rentalId, msg.sender);
            rental.rated |= flag;
            (ratee, role) = byRenter ? (provider, Role.PROVIDER) : (renter, Role.RENTER);
        }
        // A closed rental's `end` is when billing stopped, so this is what `_close` billed.
        uint256 billed = _billed(rental, rental.end);
        _addRating(ratee, role, score, billed);
        emit Rated(rentalId, msg.sender, ratee, role, score, billed, comment);
    }

    /// @notice Everything the contract counts about `account`: the ratings it received as a
    /// provider and as a renter (count, sum of scores, and the billed weight and weighted sum of
    /// scores, in RATING_WEIGHT_UNIT), the rentals it completed on each side (ended by the renter
    /// or settled), and the rentals it ended early as a provider.
    function reputation(address account) external view returns (ReputationView memory) {
        Account storage acct = _accounts[account];
        Ratings storage asProvider = _ratings[account][uint256(Role.PROVIDER)];
        Ratings storage asRenter = _ratings[account][uint256(Role.RENTER)];
        return ReputationView({
            providerRatingCount: asProvider.count,
            providerRatingSum: asProvider.sum,
            renterRatingCount: asRenter.count,
            renterRatingSum: asRenter.sum,
            completedAsProvider: acct.completedAsProvider,
            completedAsRenter: acct.completedAsRenter,
            terminations: asProvider.terminations,
            providerRatingWeight: asProvider.weight,
            providerRatingWeightedSum: asProvider.weightedSum,
            renterRatingWeight: asRenter.weight,
            renterRatingWeightedSum: asRenter.weightedSum
        });
    }

    // ------------------------------------------------------------------ governance

    /// @notice Set the platform fee (at most MAX_FEE_BPS) for rentals started from now on.
    function setFee(uint256 newFeeBps) external onlyGovernance {
        if (newFeeBps > MAX_FEE_BPS) revert FeeTooHigh(newFeeBps, MAX_FEE_BPS);
        emit FeeChanged(_feeBps, newFeeBps);
        _feeBps = uint16(newFeeBps);
    }

    /// @notice Hand the treasury role to `newTreasury`: it may then pay out the fees held (those
    /// collected so far too), within the same payout limit.
    function setTreasury(address newTreasury) external onlyGovernance {
        _checkAddress(newTreasury);
        emit TreasuryChanged(treasury, newTreasury);
        treasury = newTreasury;
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

    /// @notice Pay `amount` wei of the fees the treasury holds to `to`. Only the treasury may
    /// (under a governor the timelock, so only a passed proposal pays), and at most
    /// MAX_PAYOUT_BPS of the fees held at the start of each PAYOUT_PERIOD: whoever captures the
    /// treasury role takes a capped share per period, never the whole.
    function payFromTreasury(address payable to, uint256 amount) external nonReentrant {
        if (msg.sender != treasury) revert NotTreasury(msg.sender);
        _checkAddress(to);
        uint256 funds = _feesEarned - _feesPaid;
        if (amount == 0 || amount > funds) revert InsufficientTreasury(amount, funds);
        uint256 start = _periodStart;
        uint256 limit = _periodLimit;
        uint256 paid = _periodPaid;
        // The period starts with its first payout (never at deployment, so a period cannot be
        // opened on an empty treasury and then spent on the fees that arrive in it). Before the
        // first payout `start` is 0, long more than a period ago.
        if (block.timestamp >= start + PAYOUT_PERIOD) {
            start = block.timestamp;
            limit = funds * MAX_PAYOUT_BPS / BPS;
            paid = 0;
            _periodStart = uint40(start);
            _periodLimit = uint128(limit);
        }
        if (amount > limit - paid) revert PayoutLimitExceeded(amount, limit - paid, start + PAYOUT_PERIOD);
        _periodPaid = uint128(paid + amount);
        _feesPaid += uint128(amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert WithdrawFailed(to, amount);
        emit Withdrawn(msg.sender, to, amount);
    }

    /// @notice Fees the treasury holds: every fee charged, less what payFromTreasury paid out.
    function treasuryFunds() external view returns (uint256) {
        return _feesEarned - _feesPaid;
    }

    /// @notice What payFromTreasury could pay now, and when the current payout period ends
    /// (0 while no period is running: the next payout starts one, limited to MAX_PAYOUT_BPS of
    /// the fees held then).
    function payoutAllowance() external view returns (uint256 allowance, uint256 periodEnds) {
        uint256 start = _periodStart;
        uint256 funds = _feesEarned - _feesPaid;
        if (block.timestamp >= start + PAYOUT_PERIOD) {
            return (funds * MAX_PAYOUT_BPS / BPS, 0);
        }
        return (_periodLimit - _periodPaid, start + PAYOUT_PERIOD);
    }

    // ------------------------------------------------------------------ votes

    /// @notice Mint the caller's earned voting units in the votes contract. Every rental that ends
    /// with a fee earns one unit per wei of fee: its renter half (rounded down), its provider the
    /// rest.
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

    /// @notice Every voting unit ever earned by paying fees, claimed or not (one per wei of fee):
    /// the governor's basis for the quorum of proposals that can move money or power.
    function totalEarnedVotes() external view returns (uint256) {
        return _feesEarned;
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
            _ratings[provider][uint256(Role.PROVIDER)].terminations += 1;
        }
        if (fee != 0) {
            _feesEarned += uint128(fee);
            // One unit per wei of fee: half to the renter, the rest (the odd wei) to the
            // provider, in the account slots written above (warm and dirty, so about 200 gas
            // each). A fee is at most 10% of escrow, so the sums fit their uint96.
            uint96 half = uint96(fee / 2);
            _accounts[renter].pendingVotes += half;
            _accounts[provider].pendingVotes += uint96(fee) - half;
        }
        emit RentalEnded(rentalId, listingId, status, until, used, refund, used - fee, fee);
    }

    function _withdraw(address payable to) private {
        uint256 amount = _accounts[msg.sender].balance;
        // An internal ledger entry, not address(this).balance: nobody can force ETH into it.
        // slither-disable-next-line incorrect-equality
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _accounts[msg.sender].balance = 0;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert WithdrawFailed(to, amount);
        emit Withdrawn(msg.sender, to, amount);
    }

    /// @dev A comment is at most MAX_COMMENT_LENGTH bytes of UTF-8 without control characters.
    function _checkComment(string calldata comment) private pure {
        if (bytes(comment).length > MAX_COMMENT_LENGTH) {
            revert CommentTooLong(bytes(comment).length, MAX_COMMENT_LENGTH);
        }
        (uint256 fault, uint256 at) = _textFault(comment);
        if (fault == NOT_UTF8) revert CommentNotUtf8(at);
        if (fault == CONTROL) revert CommentControlCharacter(at);
    }

    /// @dev Counts a rating of `score` (1..5) for a rental that billed `billed` wei.
    function _addRating(address ratee, Role role, uint256 score, uint256 billed) private {
        Ratings storage ratings = _ratings[ratee][uint256(role)];
        // Whole weight units, rounded down, so that off-chain readers add the same numbers.
        uint256 weight = billed / RATING_WEIGHT_UNIT;
        uint256 total = ratings.weight + weight;
        // Only a dev chain that mints more than all ETH gets here.
        if (total > type(uint48).max) revert RatingWeightOverflow(ratee, total);
        // One addition to the packed slot (count at bit 0, sum at 48, weight at 104, weighted
        // sum at 152): no field can carry into the next, since a count stays below 2^48 (one
        // rating per side of each of fewer than 2^48 rentals), a sum below five times its
        // count, and the weighted sum below five times the weight just checked.
        // slither-disable-next-line divide-before-multiply
        uint256 added = 1 + (score << 48) + (weight << 104) + ((score * weight) << 152);
        assembly {
            sstore(ratings.slot, add(sload(ratings.slot), added))
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
        _checkModel(gpuModel);
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

    /// @dev A model name is 1..MAX_MODEL_LENGTH bytes of UTF-8 without control characters.
    function _checkModel(string calldata gpuModel) private pure {
        uint256 length = bytes(gpuModel).length;
        if (length == 0 || length > MAX_MODEL_LENGTH) revert InvalidGpuModel(length);
        (uint256 fault, uint256 at) = _textFault(gpuModel);
        if (fault == NOT_UTF8) revert GpuModelNotUtf8(at);
        if (fault == CONTROL) revert GpuModelControlCharacter(at);
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

    /// @dev The first fault in `text` and its byte offset, or (0, 0) for none: NOT_UTF8 where a
    /// byte does not start a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
    /// surrogates, nothing above U+10FFFF), so every reader can decode the text; CONTROL at a
    /// control character (C0 U+0000..U+001F, DEL U+007F, C1 U+0080..U+009F), which a database
    /// may not store (PostgreSQL text holds no NUL) or a terminal may obey. Printable ASCII, the
    /// common case, passes on a test of each 32-byte word.
    function _textFault(string calldata text) private pure returns (uint256, uint256) {
        bytes calldata b = bytes(text);
        uint256 n = b.length;
        uint256 at;
        for (; at < n; at += 32) {
            uint256 w;
            assembly {
                w := calldataload(add(b.offset, at))
            }
            // Bytes past the end are zeroed first (calldata after a string is the sender's to
            // choose), so that no carry below reaches a byte of the text.
            uint256 keep = n - at >= 32 ? type(uint256).max : ~(type(uint256).max >> ((n - at) * 8));
            w &= keep;
            uint256 bad;
            unchecked {
                // Per byte below 0x80, without carries between bytes: the high bit of b + 0x60 is
                // clear for b < 0x20, and that of b + 1 is set for b == 0x7F. A byte from 0x80 up
                // is bad by its own high bit (its carries do not matter then).
                bad = (w | ~(w + _LOW) | (w + _ONES)) & _HIGH & keep;
            }
            if (bad != 0) break;
        }
        // From the first word that is not plain printable ASCII on, a character at a time, in
        // assembly (the compiled Solidity spent about 600 gas on each four-byte character).
        // Sequences follow RFC 3629's table, by lead byte: C2..DF and one continuation byte;
        // E0 A0..BF, E1..EC and EE..EF any, ED 80..9F (no surrogates), then one more; F0 90..BF,
        // F1..F3 any, F4 80..8F (nothing past U+10FFFF), then two more. C0, C1 and E0/F0 with a
        // low second byte would be overlong forms. The C1 controls U+0080..U+009F are C2 80..9F.
        uint256 fault;
        assembly ("memory-safe") {
            let base := b.offset
            for {} lt(at, n) {} {
                // The text from `at` on: a character's bytes are at the top of the word.
                let w := calldataload(add(base, at))
                let c := shr(248, w)
                if lt(c, 0x80) {
                    if or(lt(c, 0x20), eq(c, 0x7f)) {
                        fault := CONTROL
                        break
                    }
                    at := add(at, 1)
                    continue
                }
                let second := byte(1, w)
                let len := 0
                if and(gt(c, 0xc1), lt(c, 0xe0)) { len := 2 }
                if and(gt(c, 0xdf), lt(c, 0xf0)) {
                    len := 3
                    if or(and(eq(c, 0xe0), lt(second, 0xa0)), and(eq(c, 0xed), gt(second, 0x9f))) {
                        len := 0
                    }
                }
                if and(gt(c, 0xef), lt(c, 0xf5)) {
                    len := 4
                    if or(and(eq(c, 0xf0), lt(second, 0x90)), and(eq(c, 0xf4), gt(second, 0x8f))) {
                        len := 0
                    }
                }
                // Each byte after the lead must be a continuation byte, 10xxxxxx.
                let continued := eq(and(second, 0xc0), 0x80)
                if gt(len, 2) { continued := and(continued, eq(and(byte(2, w), 0xc0), 0x80)) }
                if gt(len, 3) { continued := and(continued, eq(and(byte(3, w), 0xc0), 0x80)) }
                if or(iszero(len), or(gt(add(at, len), n), iszero(continued))) {
                    fault := NOT_UTF8
                    break
                }
                if and(eq(c, 0xc2), lt(second, 0xa0)) {
                    fault := CONTROL
                    break
                }
                at := add(at, len)
            }
        }
        return fault == 0 ? (0, 0) : (fault, at);
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

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title GPUHub: a marketplace for renting out spare GPUs.
/// @notice Providers list GPUs with a price per unit of time; renters find them through the paged
/// read `getListings`. Every state change emits an event that carries what an off-chain index needs
/// to rebuild the listing.
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

    uint256 public constant MAX_MODEL_LENGTH = 64;
    uint256 public constant MAX_CAPACITY = type(uint16).max;
    uint256 public constant MAX_PRICE = type(uint96).max;
    uint256 public constant MAX_DURATION = type(uint24).max;

    uint48 private _listingCount;
    mapping(uint256 listingId => Listing) private _listings;

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

    error ListingNotFound(uint256 listingId);
    error NotListingProvider(uint256 listingId, address caller);
    error ListingNotAvailable(uint256 listingId, ListingStatus status);
    error InvalidStatusTransition(uint256 listingId, ListingStatus current, ListingStatus requested);
    error InvalidGpuModel(uint256 length);
    error InvalidCapacity(uint256 capacity);
    error InvalidPrice(uint256 price);
    error InvalidUnit(uint256 unit);
    error InvalidDurationRange(uint256 minDuration, uint256 maxDuration);

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
    ) external returns (uint256 listingId) {
        listingId = _listingCount;
        _listingCount = uint48(listingId + 1);
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

    /// @notice Remove a listing for good. Allowed from AVAILABLE or UNAVAILABLE.
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
        uint256 count = _listingCount;
        uint256 end = offset >= count ? offset : (limit > count - offset ? count : offset + limit);
        page = new ListingView[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _view(i);
        }
    }

    // ------------------------------------------------------------------ internals

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
        if (capacity == 0 || capacity > MAX_CAPACITY) revert InvalidCapacity(capacity);
        if (price == 0 || price > MAX_PRICE) revert InvalidPrice(price);
        if (unit > uint8(PriceUnit.DAY)) revert InvalidUnit(unit);
        if (minDuration == 0 || minDuration > maxDuration || maxDuration > MAX_DURATION) {
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

"""GPUHubClient: one method per marketplace operation.

Reads are ``eth_call``s; every write sends one transaction, waits for its receipt and returns the
updated model. Argument rules live in ``_core``, error translation in ``_errors`` and sending in
``_transactions``; this module only wires them to the node.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Unpack, overload

from . import _abi, _core
from ._artifact import MARKETPLACE_VERSION, abi, bytecode, error_abi
from ._errors import ErrorDecoder
from ._transactions import Connection, PendingTransaction, Sender, TxOptions
from .chain import DevChain, embedded_web3
from .exceptions import (
    ContractError,
    ContractNotDeployed,
    GPUHubError,
    ListingNotFound,
    NoActiveRental,
    NoGovernor,
    NotAMarketplace,
    TransactionReverted,
    ValidationError,
)
from .governance import BOOTSTRAP_UNITS, Governance, GovernanceSettings
from .models import (
    Listing,
    ListingStatus,
    MarketEvent,
    PriceUnit,
    Rating,
    Rental,
    RentalStatus,
    Reputation,
    TxResult,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from eth_typing import ChecksumAddress
    from web3 import Web3
    from web3.types import BlockIdentifier, TxReceipt

T = TypeVar("T")

#: listings read per eth_call by the paged reads.
PAGE_SIZE = 500
_RENTAL_PAGE_TYPE = (
    "(uint256,uint256,address,address,uint256,uint256,uint256,uint8,uint256,uint256,uint8)[]"
)


class GPUHubClient:
    """A connection to one GPUHub marketplace contract, sending as one account.

    Args:
        w3: a connected ``web3.Web3``.
        contract_address: the marketplace's address on that chain.
        account: who sends transactions: an eth-account ``LocalAccount`` (signed here; the key
            never leaves the object and never appears in repr, logs or errors), the address of an
            account the node unlocks, or None for a read-only client.
        poll_interval: seconds between receipt polls; 5 ms on dev chains, 1 s elsewhere by default.

    Example::

        >>> import gpuhub
        >>> client = gpuhub.GPUHubClient.local()
        >>> listing = client.create_listing(gpu_model="NVIDIA RTX 4090", capacity=24, price=10**14)
        >>> client.list_gpus(min_capacity=16)
        [Listing(listing_id=0, ...)]
    """

    def __init__(
        self,
        w3: Web3,
        contract_address: str,
        *,
        account: LocalAccount | str | None = None,
        poll_interval: float | None = None,
    ) -> None:
        conn = Connection.open(w3, ErrorDecoder(error_abi()), poll_interval)
        self._attach(conn, contract_address)
        self._init(conn, account)

    def _attach(self, conn: Connection, contract_address: str) -> None:
        address = _core.check_address("contract_address", contract_address)
        with conn.io():
            if not conn.w3.eth.get_code(address):  # type: ignore[arg-type]
                raise ContractNotDeployed(
                    f"no contract code at {address} on chain {conn.chain_id}: check the address "
                    "and the RPC URL, or create a marketplace with GPUHubClient.deploy(w3, ...)"
                )
        conn.contract = conn.w3.eth.contract(address=address, abi=abi())  # type: ignore[call-overload]
        # A wrong address (or the right one on another chain) fails here, not in a later read or
        # after a write has been mined.
        try:
            version = _core.decode_uint(self._raw_call("MARKETPLACE_VERSION", [], "latest", conn))
        except (ContractError, TransactionReverted, ValueError):
            version = None
        if version != MARKETPLACE_VERSION:
            found = "no marketplace version" if version is None else f"version {version}"
            raise NotAMarketplace(
                f"the contract at {address} on chain {conn.chain_id} is not a GPUHub marketplace "
                f"this client speaks to (it answers {found}; expected {MARKETPLACE_VERSION}): "
                "check the address and the chain, or upgrade gpuhub"
            )

    def _init(self, conn: Connection, account: LocalAccount | str | None) -> None:
        self._conn = conn
        self._sender = None if account is None else Sender(conn, _account(conn.w3, account))
        self.chain = DevChain(conn.w3)
        """Clock controls for dev chains (embedded, anvil): ``client.chain.advance_time(3600)``."""

    # ------------------------------------------------------------------ construction

    @classmethod
    def local(cls, *, governance: str | GovernanceSettings | None = None) -> GPUHubClient:
        """A fresh embedded chain with the marketplace and its governance deployed, sending as
        its first account.

        ``client.accounts`` lists ten funded accounts; ``client.with_account(...)`` sends as
        another. ``governance`` is as for ``deploy`` (a governor with short dev periods by
        default). Needs the ``embedded`` extra (eth-tester).
        """
        w3 = embedded_web3()
        return cls.deploy(w3, account=w3.eth.accounts[0], governance=governance)

    @classmethod
    def deploy(
        cls,
        w3: Web3,
        *,
        account: LocalAccount | str | None = None,
        governance: str | GovernanceSettings | None = None,
        **tx: Unpack[TxOptions],
    ) -> GPUHubClient:
        """Deploy a new marketplace with its governance and return a client for it.

        By default the marketplace is governed by its participants: a votes contract, a
        ``GPUHubGovernor`` and its timelock are deployed and wired in, the timelock becomes the
        marketplace's governance address and treasury, and the deployer gets the bootstrap grant
        of voting units (``GovernanceSettings.bootstrap``). The deployer keeps no power of its own.

        Args:
            w3: a connected Web3.
            account: the deployer; the node's first account if None.
            governance: a ``GovernanceSettings`` for the governor (default: production periods,
                or ``GovernanceSettings.dev()`` on dev chains), or an address to hand the
                marketplace's powers to instead (a multisig, or the deployer itself), with no
                governor deployed.

        Example::

            >>> client = GPUHubClient.deploy(w3, account=acct)                   # governed
            >>> client = GPUHubClient.deploy(w3, account=acct, governance=safe)  # a multisig
        """
        from .chain import DEV_CHAIN_IDS

        conn = Connection.open(w3, ErrorDecoder(error_abi()))
        sender_account = account if account is not None else conn.w3.eth.accounts[0]
        sender = Sender(conn, _account(w3, sender_account))
        handover = None
        settings = None
        if isinstance(governance, str):
            handover = _core.check_address("governance", governance)
        elif governance is None:
            settings = GovernanceSettings.dev() if conn.chain_id in DEV_CHAIN_IDS else None
            settings = (settings or GovernanceSettings()).checked()
        elif isinstance(governance, GovernanceSettings):
            settings = governance.checked()
        else:
            raise ValidationError(
                "governance", "pass a GovernanceSettings, an address, or None for the defaults"
            )
        market = _create(sender, "GPUHub", [], tx)
        client = object.__new__(cls)
        client._attach(conn, market)
        client._init(conn, sender_account)
        if handover is not None:
            if handover != sender.address:
                client.transfer_governance(handover, **tx)
        elif settings is not None:
            client._install_governance(sender, settings, tx)
        return client

    def _install_governance(
        self, sender: Sender, settings: GovernanceSettings, tx: TxOptions
    ) -> None:
        """Deploy votes, timelock and governor, wire them in, and hand them the marketplace."""
        w3 = self._conn.w3
        grants = (
            {sender.address: BOOTSTRAP_UNITS} if settings.bootstrap is None else settings.bootstrap
        )
        holders = [_core.check_address("bootstrap", who) for who in grants]
        votes = _create(
            sender, "GPUHubVotes", [self.contract_address, holders, list(grants.values())], tx
        )
        # The deployer administers the timelock only until the governor holds its roles.
        timelock = _create(
            sender,
            "GPUHubTimelock",
            [settings.timelock_delay, [], [_core.ZERO_ADDRESS], sender.address],
            tx,
        )
        governor = _create(
            sender,
            "GPUHubGovernor",
            [
                votes,
                timelock,
                settings.voting_delay,
                settings.voting_period,
                settings.proposal_threshold,
                settings.quorum_percent,
            ],
            tx,
        )
        lock = w3.eth.contract(address=timelock, abi=abi("GPUHubTimelock"))  # type: ignore[call-overload]
        for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
            role_id = self._read(lock, role)
            self._transact("grantRole", [role_id, governor], _ignore, True, tx, contract=lock)
        if settings.guardian is not None:
            self.set_guardian(settings.guardian, **tx)
        self.set_treasury(timelock, **tx)
        self._transact("installGovernor", [governor], _ignore, True, tx)
        admin = self._read(lock, "DEFAULT_ADMIN_ROLE")
        self._transact(
            "renounceRole", [admin, sender.address], _ignore, True, tx, contract=lock
        )

    def with_account(self, account: LocalAccount | str) -> GPUHubClient:
        """The same marketplace and connection, sending as ``account``."""
        clone = object.__new__(type(self))
        clone._init(self._conn, account)
        return clone

    def __repr__(self) -> str:
        sender = self._sender.address if self._sender else None
        return (
            f"GPUHubClient(contract={self.contract_address}, account={sender}, "
            f"chain_id={self._conn.chain_id})"
        )

    @property
    def w3(self) -> Web3:
        """The underlying Web3."""
        return self._conn.w3

    @property
    def contract(self) -> Any:
        """The underlying ``web3`` contract object, for calls this client does not wrap."""
        return self._conn.contract

    @property
    def contract_address(self) -> ChecksumAddress:
        """Checksummed address of the marketplace contract."""
        address: ChecksumAddress = self._conn.contract.address
        return address

    @property
    def chain_id(self) -> int:
        """The chain's id (read once, at construction)."""
        return self._conn.chain_id

    @property
    def address(self) -> str | None:
        """The address this client sends from, or None when read-only."""
        return self._sender.address if self._sender else None

    @property
    def accounts(self) -> list[str]:
        """Accounts the node unlocks (ten funded ones on the embedded chain and anvil)."""
        with self._conn.io():
            return [str(a) for a in self._conn.w3.eth.accounts]

    def block_number(self) -> int:
        """Number of the latest block."""
        with self._conn.io():
            return int(self._conn.w3.eth.block_number)

    def get_events(self, from_block: int, to_block: int | None = None) -> list[MarketEvent]:
        """The marketplace's events in blocks ``from_block..to_block`` (default: latest), in order.

        Example::

            >>> for event in client.get_events(0):
            ...     print(event.block_number, event.name, event.args)
        """
        _core.check_int("from_block", from_block)
        conn = self._conn
        head = self.block_number()
        last = head if to_block is None else _core.check_int("to_block", to_block)
        if last > head:
            raise ValidationError(
                "to_block",
                f"block {last} is past the chain head ({head}): pass to_block=None to read up to "
                "the head",
            )
        if from_block > last:  # nodes refuse a range that starts past their head
            return []
        with conn.io():
            logs = conn.w3.eth.get_logs(
                {"address": conn.contract.address, "fromBlock": from_block, "toBlock": last}
            )
        events = []
        for log in logs:
            entry = _events_by_topic().get(bytes(log["topics"][0])) if log["topics"] else None
            if entry is None:
                continue
            events.append(
                MarketEvent(
                    name=entry["name"],
                    block_number=int(log["blockNumber"]),
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                    log_index=int(log["logIndex"]),
                    args=_abi.decode_log(
                        entry, [bytes(t) for t in log["topics"]], bytes(log["data"])
                    ),
                )
            )
        return events

    # ------------------------------------------------------------------ listings: reads

    def listing_count(self, *, block: BlockIdentifier = "latest") -> int:
        """Number of listings ever created; ids run from 0 to ``listing_count() - 1``."""
        return int(self._call("listingCount", block=block))

    def get_listing(self, listing_id: int, *, block: BlockIdentifier = "latest") -> Listing:
        """One listing by id.

        Raises:
            ListingNotFound: no listing has this id.
        """
        _core.check_listing_id(listing_id)
        # The page decoder reads the model name leniently; a page of one is the listing.
        data = self._raw_call("getListings", [listing_id, 1], block)
        found = _core.decode_listing_page(data, self._conn.w3.to_checksum_address)
        if not found:
            raise ListingNotFound(listing_id)
        return found[0]

    def iter_listings(self, *, page_size: int = PAGE_SIZE) -> Iterator[Listing]:
        """Every listing in id order, read ``page_size`` per call from one block's state."""
        checksum = self._conn.w3.to_checksum_address
        for data in self._pages("listingCount", "getListings", page_size):
            yield from _core.decode_listing_page(data, checksum)

    def list_listings(self, *, page_size: int = PAGE_SIZE) -> list[Listing]:
        """Every listing, in id order, whatever its status."""
        return list(self.iter_listings(page_size=page_size))

    def list_gpus(
        self,
        max_price: int | None = None,
        min_capacity: int | None = None,
        *,
        available_only: bool = True,
        price_unit: PriceUnit | None = None,
        page_size: int = PAGE_SIZE,
    ) -> list[Listing]:
        """Listings that match, read in pages (the original ``/getgpulist``).

        Args:
            max_price: highest price in wei; per each listing's own unit, or per ``price_unit``
                when given (prices in other units are converted exactly).
            min_capacity: least GPU memory in GB.
            available_only: only AVAILABLE listings (default).
            price_unit: the unit ``max_price`` is quoted in; None compares raw prices.
        """
        return _core.filter_listings(
            self.iter_listings(page_size=page_size),
            max_price=max_price,
            min_capacity=min_capacity,
            available_only=available_only,
            price_unit=price_unit,
        )

    # ------------------------------------------------------------------ listings: writes

    @overload
    def create_listing(
        self,
        *,
        gpu_model: str,
        capacity: int,
        price: int,
        unit: PriceUnit = ...,
        min_duration: int = ...,
        max_duration: int | None = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> Listing: ...
    @overload
    def create_listing(
        self,
        *,
        gpu_model: str,
        capacity: int,
        price: int,
        unit: PriceUnit = ...,
        min_duration: int = ...,
        max_duration: int | None = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[Listing]: ...

    def create_listing(
        self,
        *,
        gpu_model: str,
        capacity: int,
        price: int,
        unit: PriceUnit = PriceUnit.MINUTE,
        min_duration: int = 1,
        max_duration: int | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Listing | PendingTransaction[Listing]:
        """List a GPU; this client's account becomes its provider.

        Args:
            gpu_model: model name, 1..64 bytes of UTF-8.
            capacity: GPU memory in GB, 1..65535.
            price: wei per ``unit``.
            unit: MINUTE, HOUR or DAY.
            min_duration: shortest rental in units (default 1).
            max_duration: longest rental in units (default: the contract's maximum for the unit,
                2**24 - 1 units and at most 2**30 seconds).
            wait: wait for the receipt (default) or return a PendingTransaction at once.

        Raises:
            ValidationError: an argument is out of range; nothing was sent.
        """
        terms = _core.listing_terms(
            gpu_model=gpu_model,
            capacity=capacity,
            price=price,
            unit=unit,
            min_duration=min_duration,
            max_duration=(
                _core.max_duration_for(_core.check_unit(unit))
                if max_duration is None
                else max_duration
            ),
        )

        def created(receipt: TxReceipt) -> Listing:
            (event,) = self._events(receipt, "ListingCreated")
            return Listing(
                listing_id=event["listingId"],
                provider=event["provider"],
                gpu_model=event["gpuModel"],
                capacity=event["capacity"],
                price=event["price"],
                unit=PriceUnit(event["unit"]),
                min_duration=event["minDuration"],
                max_duration=event["maxDuration"],
                status=ListingStatus.AVAILABLE,
            )

        return self._transact("createListing", terms.abi_args(), created, wait, tx)

    @overload
    def update_listing(
        self,
        listing_id: int,
        *,
        gpu_model: str | None = ...,
        capacity: int | None = ...,
        price: int | None = ...,
        unit: PriceUnit | None = ...,
        min_duration: int | None = ...,
        max_duration: int | None = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> Listing: ...
    @overload
    def update_listing(
        self,
        listing_id: int,
        *,
        gpu_model: str | None = ...,
        capacity: int | None = ...,
        price: int | None = ...,
        unit: PriceUnit | None = ...,
        min_duration: int | None = ...,
        max_duration: int | None = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[Listing]: ...

    def update_listing(
        self,
        listing_id: int,
        *,
        gpu_model: str | None = None,
        capacity: int | None = None,
        price: int | None = None,
        unit: PriceUnit | None = None,
        min_duration: int | None = None,
        max_duration: int | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Listing | PendingTransaction[Listing]:
        """Change some of a listing's terms; the fields not given keep their values.

        A rental already running keeps the terms it started with.

        Raises:
            NotListingProvider: this account is not the listing's provider.
            InvalidStatusTransition: the listing was removed.
        """
        current = self.get_listing(listing_id)
        terms = _core.listing_terms(
            gpu_model=current.gpu_model if gpu_model is None else gpu_model,
            capacity=current.capacity if capacity is None else capacity,
            price=current.price if price is None else price,
            unit=current.unit if unit is None else unit,
            min_duration=current.min_duration if min_duration is None else min_duration,
            max_duration=current.max_duration if max_duration is None else max_duration,
        )
        return self._transact(
            "updateListing",
            [listing_id, *terms.abi_args()],
            self._reread(self.get_listing, listing_id),
            wait,
            tx,
        )

    @overload
    def fulfill_request(
        self, listing_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Listing: ...
    @overload
    def fulfill_request(
        self, listing_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Listing]: ...

    def fulfill_request(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | PendingTransaction[Listing]:
        """Mark an AVAILABLE listing UNAVAILABLE (the original GPUHub's name for it).

        Raises:
            NotListingProvider: this account is not the listing's provider.
            InvalidStatusTransition: the listing is not AVAILABLE.
        """
        return self._status_change("fulfillRequest", listing_id, wait, tx)

    @overload
    def mark_available(
        self, listing_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Listing: ...
    @overload
    def mark_available(
        self, listing_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Listing]: ...

    def mark_available(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | PendingTransaction[Listing]:
        """Put an UNAVAILABLE listing back on the market.

        Raises:
            NotListingProvider: this account is not the listing's provider.
            InvalidStatusTransition: the listing is not UNAVAILABLE.
        """
        return self._status_change("markAvailable", listing_id, wait, tx)

    @overload
    def remove_listing(
        self, listing_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Listing: ...
    @overload
    def remove_listing(
        self, listing_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Listing]: ...

    def remove_listing(
        self, listing_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Listing | PendingTransaction[Listing]:
        """Remove a listing for good (it must not be rented).

        Raises:
            NotListingProvider: this account is not the listing's provider.
            InvalidStatusTransition: the listing is rented or already removed.
        """
        return self._status_change("removeListing", listing_id, wait, tx)

    # ------------------------------------------------------------------ rentals: reads

    def quote(self, listing_id: int, duration: int, *, block: BlockIdentifier = "latest") -> int:
        """The exact cost in wei of renting ``listing_id`` for ``duration`` units now.

        Raises:
            ListingNotFound: no listing has this id.
            InvalidDuration: ``duration`` is outside the listing's bounds.
        """
        _core.check_listing_id(listing_id)
        _core.check_int("duration", duration, low=1, high=_core.MAX_DURATION)
        return int(self._call("quote", listing_id, duration, block=block))

    def rental_count(self, *, block: BlockIdentifier = "latest") -> int:
        """Number of rentals ever started; ids run from 0 to ``rental_count() - 1``."""
        return int(self._call("rentalCount", block=block))

    def get_rental(self, rental_id: int, *, block: BlockIdentifier = "latest") -> Rental:
        """One rental by id.

        Raises:
            RentalNotFound: no rental has this id.
        """
        _core.check_int("rental_id", rental_id)
        return Rental.from_abi(self._call("getRental", rental_id, block=block))

    def active_rental(self, listing_id: int) -> Rental | None:
        """The listing's running rental, or None when it is not rented.

        Raises:
            ListingNotFound: no listing has this id.
        """
        _core.check_listing_id(listing_id)
        with self._conn.io():
            block = self._conn.w3.eth.block_number
        try:
            rental_id = int(self._call("activeRentalOf", listing_id, block=block))
        except NoActiveRental:
            return None
        return self.get_rental(rental_id, block=block)

    def iter_rentals(self, *, page_size: int = PAGE_SIZE) -> Iterator[Rental]:
        """Every rental in id order, read ``page_size`` per call from one block's state."""
        from eth_abi.abi import decode

        checksum = self._conn.w3.to_checksum_address
        for data in self._pages("rentalCount", "getRentals", page_size):
            (rows,) = decode([_RENTAL_PAGE_TYPE], data)
            for row in rows:
                yield Rental.from_abi((*row[:2], checksum(row[2]), checksum(row[3]), *row[4:]))

    def rentals(
        self, *, renter: str | None = None, provider: str | None = None, active_only: bool = False
    ) -> list[Rental]:
        """Rentals, optionally only those of one renter and/or one provider, or only active ones."""
        want_renter = None if renter is None else _core.check_address("renter", renter)
        want_provider = None if provider is None else _core.check_address("provider", provider)
        return [
            r
            for r in self.iter_rentals()
            if (want_renter is None or r.renter == want_renter)
            and (want_provider is None or r.provider == want_provider)
            and (not active_only or r.is_active)
        ]

    def balance_of(self, address: str | None = None, *, block: BlockIdentifier = "latest") -> int:
        """Wei ``address`` (default: this client's account) can withdraw now."""
        who = (
            self._require_sender().address
            if address is None
            else _core.check_address("address", address)
        )
        return int(self._call("balanceOf", who, block=block))

    def provider_terminations(self, provider: str) -> int:
        """How many rentals ``provider`` ended early (reputation reads it)."""
        return int(self._call("providerTerminations", _core.check_address("provider", provider)))

    def reputation(self, address: str, *, block: BlockIdentifier = "latest") -> Reputation:
        """What the contract counts about ``address``: ratings received on each side, rentals
        completed on each side, and rentals it ended early as a provider.

        Example::

            >>> rep = client.reputation(listing.provider)
            >>> rep.provider_score(), rep.completed_as_provider, rep.terminations
        """
        who = _core.check_address("address", address)
        return Reputation.from_abi(who, self._call("reputation", who, block=block))

    def ratings(
        self,
        *,
        ratee: str | None = None,
        rater: str | None = None,
        rental_id: int | None = None,
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Rating]:
        """Ratings (with their comments) from the ``Rated`` events, oldest first.

        Args:
            ratee: only ratings of this address.
            rater: only ratings by this address.
            rental_id: only the ratings of this rental (at most two: one per side).
            from_block, to_block: the block range searched (default: all of it).
        """
        conn = self._conn
        topics: list[Any] = [
            _event_topic("Rated"),
            None if rental_id is None else _core.check_int("rental_id", rental_id).to_bytes(32),
            None if rater is None else _address_topic(_core.check_address("rater", rater)),
            None if ratee is None else _address_topic(_core.check_address("ratee", ratee)),
        ]
        _core.check_int("from_block", from_block)
        last = self.block_number() if to_block is None else _core.check_int("to_block", to_block)
        if from_block > last:
            return []
        with conn.io():
            logs = conn.w3.eth.get_logs(
                {
                    "address": conn.contract.address,
                    "fromBlock": from_block,
                    "toBlock": last,
                    "topics": ["0x" + t.hex() if t is not None else None for t in topics],
                }
            )
        entry = _events_by_topic()[topics[0]]
        return [
            Rating.from_event(
                _abi.decode_log(entry, [bytes(t) for t in log["topics"]], bytes(log["data"])),
                int(log["blockNumber"]),
            )
            for log in logs
        ]

    def fee_bps(self) -> int:
        """The platform fee in basis points for rentals started now."""
        return int(self._call("feeBps"))

    def paused(self) -> bool:
        """True while new listings and rentals are refused."""
        return bool(self._call("paused"))

    def governance_address(self) -> str:
        """The address that sets the fee, the treasury and the pause switch (the governor's
        timelock on a governed marketplace)."""
        return str(self._call("governance"))

    def governor(self) -> str | None:
        """The governor whose timelock holds governance, or None when governance is a plain
        address."""
        address = str(self._call("governor"))
        return None if int(address, 16) == 0 else address

    def guardian(self) -> str | None:
        """The address that may pause at once, or None."""
        address = str(self._call("guardian"))
        return None if int(address, 16) == 0 else address

    @property
    def governance(self) -> Governance:
        """The marketplace's governor, votes and timelock, on this connection and account.

        Raises:
            NoGovernor: the marketplace is governed by a plain address (no governor).
        """
        governor = self.governor()
        if governor is None:
            raise NoGovernor(
                f"this marketplace has no governor: {self.governance_address()} holds its powers "
                "directly and sends set_fee, set_treasury, set_paused itself"
            )
        return Governance(self, governor)

    def treasury(self) -> str:
        """The address the platform fee is credited to."""
        return str(self._call("treasury"))

    # ------------------------------------------------------------------ rentals: writes

    @overload
    def rent(
        self,
        listing_id: int,
        duration: int,
        *,
        max_total: int | None = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> Rental: ...
    @overload
    def rent(
        self,
        listing_id: int,
        duration: int,
        *,
        max_total: int | None = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[Rental]: ...

    def rent(
        self,
        listing_id: int,
        duration: int,
        *,
        max_total: int | None = None,
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Rental | PendingTransaction[Rental]:
        """Rent a listing for ``duration`` units, paying into escrow.

        The price and unit are read from the listing now and stated to the contract; if the
        provider changes them before this transaction lands, it reverts with ``TermsChanged``
        and nothing is charged. With ``max_total`` the rent goes through as long as the cost is
        at most that much; ``max_total`` wei are sent and the excess is credited to this
        account's balance (see ``withdraw``).

        Raises:
            ListingNotAvailable: the listing is not AVAILABLE (a rival may have rented it first).
            InvalidDuration: ``duration`` is outside the listing's bounds.
            TermsChanged: the price or unit changed past what was accepted.
            CannotRentOwnListing: this account is the listing's provider.
            MarketplacePaused: new rentals are paused.
        """
        _core.check_int("duration", duration, low=1, high=_core.MAX_DURATION)
        listing = self.get_listing(listing_id)
        cost = listing.price * duration
        limit = cost if max_total is None else _core.check_int("max_total", max_total)
        args = [listing_id, duration, int(listing.unit), limit]

        def started(receipt: TxReceipt) -> Rental:
            (event,) = self._events(receipt, "RentalStarted")
            return Rental(
                rental_id=event["rentalId"],
                listing_id=event["listingId"],
                renter=event["renter"],
                provider=listing.provider,
                start=event["start"],
                end=event["end"],
                price=event["price"],
                unit=PriceUnit(event["unit"]),
                paid=event["paid"],
                fee_bps=event["feeBps"],
                status=RentalStatus.ACTIVE,
            )

        return self._transact("rent", args, started, wait, tx, value=limit)

    @overload
    def extend_rental(
        self, rental_id: int, extra: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Rental: ...
    @overload
    def extend_rental(
        self, rental_id: int, extra: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Rental]: ...

    def extend_rental(
        self, rental_id: int, extra: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | PendingTransaction[Rental]:
        """Buy ``extra`` more units of a running rental at its locked price (renter only).

        Raises:
            NotRenter: this account is not the renter.
            RentalExpired: the end time has passed.
            InvalidDuration: the total would exceed the listing's maximum.
        """
        _core.check_int("extra", extra, low=1, high=_core.MAX_DURATION)
        rental = self.get_rental(rental_id)
        return self._transact(
            "extendRental",
            [rental_id, extra],
            self._reread(self.get_rental, rental_id),
            wait,
            tx,
            value=rental.price * extra,
        )

    @overload
    def end_rental(
        self, rental_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Rental: ...
    @overload
    def end_rental(
        self, rental_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Rental]: ...

    def end_rental(
        self, rental_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | PendingTransaction[Rental]:
        """End a rental now, as its renter or provider; the renter pays only for seconds used.

        The returned rental's ``end`` is when it ended; ``rental.cost_at(rental.end)`` is what was
        billed. Ending by the provider before the end time counts against the provider.

        Raises:
            NotRentalParty: this account is neither renter nor provider.
            RentalNotActive: it has already ended.
        """
        _core.check_int("rental_id", rental_id)
        return self._transact(
            "endRental", [rental_id], self._reread(self.get_rental, rental_id), wait, tx
        )

    @overload
    def settle(
        self, rental_id: int, *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> Rental: ...
    @overload
    def settle(
        self, rental_id: int, *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[Rental]: ...

    def settle(
        self, rental_id: int, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> Rental | PendingTransaction[Rental]:
        """Settle a rental whose end time has passed (anyone may), crediting both sides.

        Raises:
            RentalNotExpired: the rental still runs.
            RentalNotActive: it has already ended.
        """
        _core.check_int("rental_id", rental_id)
        return self._transact(
            "settle", [rental_id], self._reread(self.get_rental, rental_id), wait, tx
        )

    @overload
    def withdraw(
        self, to: str | None = ..., *, wait: Literal[True] = ..., **tx: Unpack[TxOptions]
    ) -> int: ...
    @overload
    def withdraw(
        self, to: str | None = ..., *, wait: Literal[False], **tx: Unpack[TxOptions]
    ) -> PendingTransaction[int]: ...

    def withdraw(
        self, to: str | None = None, *, wait: bool = True, **tx: Unpack[TxOptions]
    ) -> int | PendingTransaction[int]:
        """Send this account's whole withdrawable balance to itself (or to ``to``); returns wei.

        Raises:
            NothingToWithdraw: the balance is zero.
            WithdrawFailed: the receiver refused the ETH; the balance is kept.
        """

        def withdrawn(receipt: TxReceipt) -> int:
            (event,) = self._events(receipt, "Withdrawn")
            return int(event["amount"])

        if to is None:
            return self._transact("withdraw", [], withdrawn, wait, tx)
        target = _core.check_address("to", to)
        return self._transact("withdrawTo", [target], withdrawn, wait, tx)

    # ------------------------------------------------------------------ reputation

    @overload
    def rate(
        self,
        rental_id: int,
        score: int,
        *,
        comment: str = ...,
        wait: Literal[True] = ...,
        **tx: Unpack[TxOptions],
    ) -> Rating: ...
    @overload
    def rate(
        self,
        rental_id: int,
        score: int,
        *,
        comment: str = ...,
        wait: Literal[False],
        **tx: Unpack[TxOptions],
    ) -> PendingTransaction[Rating]: ...

    def rate(
        self,
        rental_id: int,
        score: int,
        *,
        comment: str = "",
        wait: bool = True,
        **tx: Unpack[TxOptions],
    ) -> Rating | PendingTransaction[Rating]:
        """Rate the other side of a rental that is over: as its renter, rate the provider; as
        the listing's provider, rate the renter. Once per side per rental.

        Args:
            rental_id: a rental that was ended (by either side) or settled.
            score: 1 (worst) to 5 (best).
            comment: at most 280 bytes of UTF-8; published in the event, never stored.

        Raises:
            ValidationError: the score or the comment is out of range; nothing was sent.
            NotRentalParty: this account is neither the renter nor the provider.
            RentalNotOver: the rental is still active.
            AlreadyRated: this account already rated this rental.

        Example::

            >>> renter.end_rental(rental.rental_id)
            >>> renter.rate(rental.rental_id, 5, comment="fast and stable")
            Rating(rental_id=0, ..., score=5, ...)
        """
        _core.check_int("rental_id", rental_id)
        _core.check_score(score)
        _core.check_comment(comment)

        def rated(receipt: TxReceipt) -> Rating:
            (event,) = self._events(receipt, "Rated")
            return Rating.from_event(event, int(receipt["blockNumber"]))

        return self._transact("rate", [rental_id, score, comment], rated, wait, tx)

    # ------------------------------------------------------------------ governance

    def set_fee(self, fee_bps: int, **tx: Unpack[TxOptions]) -> TxResult:
        """Set the platform fee in basis points (at most 1,000) for rentals started from now.

        Raises:
            NotGovernance: this account is not the governance address.
            FeeTooHigh: above the cap.
        """
        _core.check_int("fee_bps", fee_bps, high=_core.MAX_FEE_BPS)
        return self._governance_tx("setFee", [fee_bps], tx)

    def set_treasury(self, treasury: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Send future fees to ``treasury``; fees accrued so far stay with the old one."""
        return self._governance_tx("setTreasury", [_core.check_address("treasury", treasury)], tx)

    def set_paused(self, paused: bool, **tx: Unpack[TxOptions]) -> TxResult:
        """Stop (True) or resume (False) new listings and rentals."""
        if not isinstance(paused, bool):
            raise ValidationError("paused", f"expected a bool, got {type(paused).__name__}")
        return self._governance_tx("setPaused", [paused], tx)

    def transfer_governance(self, new_governance: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Hand governance to another address."""
        address = _core.check_address("new_governance", new_governance)
        return self._governance_tx("transferGovernance", [address], tx)

    def set_guardian(self, guardian: str | None, **tx: Unpack[TxOptions]) -> TxResult:
        """Let ``guardian`` pause at once (never unpause); None removes the guardian."""
        address = (
            _core.ZERO_ADDRESS if guardian is None else _core.check_address("guardian", guardian)
        )
        return self._governance_tx("setGuardian", [address], tx)

    def pause(self, **tx: Unpack[TxOptions]) -> TxResult:
        """Stop new listings and rentals now, as the guardian (or governance).

        Raises:
            NotGuardian: this account is neither the guardian nor governance.
        """
        return self._governance_tx("pause", [], tx)

    def pay_from_treasury(self, to: str, amount: int, **tx: Unpack[TxOptions]) -> TxResult:
        """Pay ``amount`` wei of the treasury's balance to ``to``, as the treasury (a multisig
        treasury; under a governor this is a proposal, ``Action.pay``).

        Raises:
            NotTreasury: this account is not the treasury.
            InsufficientTreasury: the treasury holds less than ``amount``.
        """
        args = [_core.check_address("to", to), _core.check_int("amount", amount, low=1)]
        return self._governance_tx("payFromTreasury", args, tx)

    # ------------------------------------------------------------------ plumbing

    def _status_change(
        self, fn: str, listing_id: int, wait: bool, tx: TxOptions
    ) -> Listing | PendingTransaction[Listing]:
        _core.check_listing_id(listing_id)
        return self._transact(
            fn, [listing_id], self._reread(self.get_listing, listing_id), wait, tx
        )

    def _governance_tx(self, fn: str, args: list[Any], tx: TxOptions) -> TxResult:
        def done(receipt: TxReceipt) -> TxResult:
            return TxResult(
                tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
                block_number=receipt["blockNumber"],
                gas_used=receipt["gasUsed"],
            )

        return self._transact(fn, args, done, True, tx)  # type: ignore[return-value]

    @staticmethod
    def _reread(read: Callable[..., T], item_id: int) -> Callable[[TxReceipt], T]:
        """``read(item_id)`` as of the block that mined the transaction."""
        return lambda receipt: read(item_id, block=receipt["blockNumber"])

    def _pages(self, count_fn: str, page_fn: str, page_size: int) -> Iterator[bytes]:
        """Raw return data of ``page_fn(offset, page_size)`` over all ids, from one block."""
        _core.check_int("page_size", page_size, low=1)
        conn = self._conn
        with conn.io():
            block = conn.w3.eth.block_number
        count = int(self._call(count_fn, block=block))
        for offset in range(0, count, page_size):
            yield self._raw_call(page_fn, [offset, page_size], block)

    def _raw_call(
        self, fn: str, args: list[Any], block: BlockIdentifier, conn: Connection | None = None
    ) -> bytes:
        """The undecoded return data of ``fn(*args)``; every view returns at least one word."""
        conn = conn or self._conn
        data = conn.contract.encode_abi(fn, args)
        with conn.io():
            raw = bytes(conn.w3.eth.call({"to": conn.contract.address, "data": data}, block))
        if not raw:
            raise self._gone(conn)
        return raw

    @staticmethod
    def _gone(conn: Connection) -> ContractNotDeployed:
        """The error for a view that returned nothing: the code is gone from the node."""
        return ContractNotDeployed(
            f"the marketplace at {conn.contract.address} returned no data on chain "
            f"{conn.chain_id}: its code is gone (the node restarted with fresh state?) or the "
            "RPC URL now points at another chain"
        )

    def _call(self, fn: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        from web3.exceptions import BadFunctionCallOutput

        try:
            return self._read(self._conn.contract, fn, *args, block=block)
        except BadFunctionCallOutput:
            raise self._gone(self._conn) from None

    def _read(self, contract: Any, fn: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        """``contract.fn(*args)`` as an eth_call (any of the packaged contracts)."""
        with self._conn.io():
            return contract.functions[fn](*args).call(block_identifier=block)

    def _events(self, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
        """The arguments of each ``name`` event the marketplace emitted in ``receipt``."""
        address = self._conn.contract.address
        found = []
        for log in receipt["logs"]:
            topics = [bytes(t) for t in log["topics"]]
            if log["address"] != address or not topics:
                continue
            entry = _events_by_topic().get(topics[0])
            if entry is not None and entry["name"] == name:
                found.append(_abi.decode_log(entry, topics, bytes(log["data"])))
        return found

    def _require_sender(self) -> Sender:
        if self._sender is None:
            raise GPUHubError(
                "this client is read-only: pass account=... to GPUHubClient, or use "
                "client.with_account(account) to send transactions"
            )
        return self._sender

    def _transact(
        self,
        fn: str,
        args: list[Any],
        finish: Callable[[TxReceipt], T],
        wait: bool,
        tx: TxOptions,
        value: int = 0,
        contract: Any = None,
    ) -> T | PendingTransaction[T]:
        sender = self._require_sender()
        target = contract or self._conn.contract
        params = {
            "to": target.address,
            "data": target.encode_abi(fn, args=args),
            "value": value,
        }
        tx_hash = sender.send(params, tx)

        def complete(timeout: float | None) -> T:
            receipt = sender.wait(tx_hash, params, timeout)
            return finish(receipt)

        if not wait:
            return PendingTransaction(tx_hash, complete)
        return complete(tx.get("timeout"))


def _create(sender: Sender, name: str, args: list[Any], tx: TxOptions) -> str:
    """Deploy packaged contract ``name`` with constructor ``args``; returns its address."""
    from eth_abi.abi import encode

    (ctor,) = [e for e in abi(name) if e["type"] == "constructor"]
    types = [arg["type"] for arg in ctor["inputs"]]
    params = {"data": bytecode(name) + encode(types, args).hex()}
    tx_hash = sender.send(params, tx)
    receipt = sender.wait(tx_hash, params, tx.get("timeout"))
    return str(receipt["contractAddress"])


def _ignore(receipt: TxReceipt) -> None:
    return None


def _account(w3: Web3, account: LocalAccount | str) -> LocalAccount | str:
    if isinstance(account, str):
        return _core.check_address("account", account)
    if not hasattr(account, "sign_transaction") or not hasattr(account, "address"):
        raise TypeError("account must be an address or an eth_account LocalAccount")
    return account


@functools.cache
def _events_by_topic() -> dict[bytes, dict[str, Any]]:
    """The ABI entry of each of the contract's events, by its topic 0."""
    from eth_utils.crypto import keccak

    found = {}
    for entry in abi():
        if entry["type"] == "event":
            types = ",".join(arg["type"] for arg in entry["inputs"])
            found[keccak(text=f"{entry['name']}({types})")] = entry
    return found


def _address_topic(address: str) -> bytes:
    """An address as an indexed event topic: 32 bytes, left-padded."""
    return bytes.fromhex(address[2:]).rjust(32, b"\0")


def _event_topic(name: str) -> bytes:
    """Topic 0 of the contract's event ``name``."""
    (topic,) = (t for t, entry in _events_by_topic().items() if entry["name"] == name)
    return topic

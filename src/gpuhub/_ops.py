"""Every marketplace operation as a sans-I/O plan, shared by the sync and the async client.

A plan checks its arguments, encodes the calls, yields the requests it needs (see
``_transactions``) and decodes what comes back into models. ``GPUHubClient`` runs plans with
blocking I/O and ``AsyncGPUHubClient`` awaits them; neither holds any rule of its own, so the two
cannot drift apart. Adding an operation means one plan here and a one-line method in each client.

Writes return a :class:`Sent`: the hash, and a plan that waits for the receipt and builds the
result from its events (one request), so ``wait=False`` needs no second copy of anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import _access, _core
from ._abi import Function
from ._transactions import (
    Batch,
    Connection,
    Plan,
    Receipt,
    Rpc,
    Sender,
    Sleep,
    TxOptions,
    block_param,
    data_bytes,
    done,
    quantity,
)
from .events import ContractEvent, EventDecoder, default_decoder, event_topics
from .exceptions import (
    AccessPayloadError,
    ContractNotDeployed,
    GPUHubError,
    NoActiveRental,
    ValidationError,
)
from .models import (
    Listing,
    ListingStatus,
    PayoutAllowance,
    PriceUnit,
    Rating,
    Rental,
    RentalStatus,
    Reputation,
    TxResult,
)

if TYPE_CHECKING:
    from web3.types import BlockIdentifier

    from .search import SearchResult

T = TypeVar("T")

#: listings read per eth_call by the paged reads.
PAGE_SIZE = 500
#: most operations in one batch; 50 creates fit well under a block's gas.
MAX_BATCH = 100
_RENTAL_PAGE_TYPE = (
    "(uint256,uint256,address,address,uint256,uint256,uint256,uint8,uint256,uint256,uint8)[]"
)


@dataclass(frozen=True, slots=True)
class Sent(Generic[T]):
    """A transaction handed to the node, and the plan that finishes it."""

    tx_hash: str
    finish: Callable[[float | None], Plan[T]]


class Operations:
    """The plans for one connection, sending as ``sender`` (None: read-only)."""

    def __init__(self, conn: Connection, sender: Sender | None) -> None:
        self.conn = conn
        self.sender = sender

    # ------------------------------------------------------------------ plumbing

    def fn(self, name: str) -> Function:
        """The contract function ``name``."""
        return self.conn.abi.functions[name]

    def call(self, name: str, *args: Any, block: BlockIdentifier = "latest") -> Plan[Any]:
        """``name(*args)`` as an ``eth_call`` at ``block``, decoded."""
        return (yield from self.call_at(self.conn.address, self.fn(name), args, block))

    def call_at(
        self, to: str, fn: Function, args: Sequence[Any], block: BlockIdentifier = "latest"
    ) -> Plan[Any]:
        """``fn(*args)`` on the contract at ``to`` (the governor, say), decoded."""
        raw = yield self.call_request(fn, args, block, to)
        return fn.result(self.returned(raw, to))

    def returned(self, raw: Any, to: str | None = None) -> bytes:
        """Return data of a view; every view returns at least one word, so none means the code
        is gone."""
        data = data_bytes(raw)
        if not data:
            what = "the marketplace" if to is None or to == self.conn.address else "the contract"
            raise ContractNotDeployed(
                f"{what} at {to or self.conn.address} returned no data on chain "
                f"{self.conn.chain_id}: its code is gone (the node restarted with fresh state?) "
                "or the RPC URL now points at another chain"
            )
        return data

    def call_request(
        self, fn: Function, args: Sequence[Any], block: BlockIdentifier, to: str | None = None
    ) -> Rpc:
        """The ``eth_call`` request for ``fn(*args)`` (on the marketplace unless ``to``)."""
        target = self.conn.address if to is None else to
        return Rpc("eth_call", [{"to": target, "data": fn.calldata(args)}, block_param(block)])

    def require_sender(self) -> Sender:
        """The sender, or an error saying how to get one."""
        if self.sender is None:
            raise GPUHubError(
                "this client is read-only: pass account=... to the client, or use "
                "client.with_account(account) to send transactions"
            )
        return self.sender

    def transact(
        self,
        name: str,
        args: list[Any],
        finish: Callable[[Receipt], Plan[T]],
        tx: TxOptions,
        value: int = 0,
    ) -> Plan[Sent[T]]:
        """Send ``name(*args)`` and return how to finish it once mined."""
        return (
            yield from self.transact_at(self.conn.address, self.fn(name), args, finish, tx, value)
        )

    def transact_at(
        self,
        to: str,
        fn: Function,
        args: Sequence[Any],
        finish: Callable[[Receipt], Plan[T]],
        tx: TxOptions,
        value: int = 0,
    ) -> Plan[Sent[T]]:
        """Send ``fn(*args)`` to the contract at ``to`` and return how to finish it once mined."""
        sender = self.require_sender()
        params = {"to": to, "data": fn.calldata(args), "value": value}
        began = time.monotonic()
        tx_hash = yield from sender.send(params, tx)
        sent_at = time.monotonic()

        def complete(timeout: float | None) -> Plan[T]:
            receipt = yield from sender.wait(tx_hash, params, timeout, sent_at, began=began)
            return (yield from finish(receipt))

        return Sent(tx_hash, complete)

    def events(
        self, receipt: Receipt, name: str, emitter: tuple[str, EventDecoder] | None = None
    ) -> list[dict[str, Any]]:
        """Arguments of the ``name`` events the marketplace (or ``emitter``, an address and the
        decoder of its contract) emitted in ``receipt``, in order."""
        address, decoder = emitter or (self.conn.address, default_decoder())
        address = address.lower()
        found = (
            decoder.args_of(name, log.topics, log.data)
            for log in receipt.logs
            if log.address.lower() == address
        )
        return [args for args in found if args is not None]

    def reread_listing(self, listing_id: int) -> Callable[[Receipt], Plan[Listing]]:
        """The listing as of the block that mined the transaction."""
        return lambda receipt: self.get_listing(listing_id, block=receipt.block_number)

    def reread_rental(self, rental_id: int) -> Callable[[Receipt], Plan[Rental]]:
        """The rental as of the block that mined the transaction."""
        return lambda receipt: self.get_rental(rental_id, block=receipt.block_number)

    def checksum(self, field_name: str, address: Any) -> str:
        """``address`` checksummed, or ValidationError naming ``field_name``."""
        return _core.check_address(field_name, address)

    # ------------------------------------------------------------------ chain

    def block_number(self) -> Plan[int]:
        """Number of the latest block."""
        return quantity((yield Rpc("eth_blockNumber", [])))

    def get_events(
        self,
        from_block: int,
        to_block: int | None,
        event_types: Iterable[str | type[ContractEvent]] = (),
    ) -> Plan[list[ContractEvent]]:
        """The marketplace's events in a block range, as typed events."""
        _core.check_int("from_block", from_block)
        topics = event_topics(event_types)
        head = yield from self.block_number()
        last = head if to_block is None else _core.check_int("to_block", to_block)
        if last > head:
            raise ValidationError(
                "to_block",
                f"block {last} is past the chain head ({head}): pass to_block=None to read up to "
                "the head",
            )
        if from_block > last:  # nodes refuse a range that starts past their head
            return []
        logs = yield from self.logs(from_block, last, topics)
        return default_decoder().decode_all(logs)

    def logs(
        self, from_block: int, to_block: int, topics: list[str] | None = None
    ) -> Plan[list[dict[str, Any]]]:
        """Raw logs of the marketplace in a block range (topic 0 one of ``topics``, if given)."""
        query: dict[str, Any] = {
            "address": self.conn.address,
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
        }
        if topics:
            query["topics"] = [topics]
        return list((yield Rpc("eth_getLogs", [query])) or [])

    def block_head(self, block: BlockIdentifier) -> Plan[dict[str, Any] | None]:
        """Number, hash and timestamp of a block, or None when the chain has no such block."""
        raw = yield Rpc("eth_getBlockByNumber", [block_param(block), False])
        return None if raw is None else dict(raw)

    # ------------------------------------------------------------------ listings: reads

    def listing_count(self, block: BlockIdentifier) -> Plan[int]:
        """Number of listings ever created."""
        return int((yield from self.call("listingCount", block=block)))

    def get_listing(self, listing_id: int, block: BlockIdentifier = "latest") -> Plan[Listing]:
        """One listing by id."""
        _core.check_listing_id(listing_id)
        return Listing.from_abi((yield from self.call("getListing", listing_id, block=block)))

    def pages(
        self, count_fn: str, page_fn: str, page_size: int, block: int | None = None
    ) -> Plan[list[bytes]]:
        """Raw return data of every ``page_fn(offset, page_size)`` page, from one block's state
        (the latest unless ``block``), all pages in one JSON-RPC batch."""
        _core.check_int("page_size", page_size, low=1)
        if block is None:
            block = yield from self.block_number()
        count = int((yield from self.call(count_fn, block=block)))
        fn = self.fn(page_fn)
        requests = tuple(
            self.call_request(fn, (offset, page_size), block)
            for offset in range(0, count, page_size)
        )
        if not requests:
            return []
        answers = yield Batch(requests)
        return [self.returned(raw) for raw in answers]

    def list_listings(self, page_size: int) -> Plan[list[Listing]]:
        """Every listing in id order."""
        from eth_utils.address import to_checksum_address

        if self.conn.embedded:
            _core.check_int("page_size", page_size, low=1)
            # Read from the contract's storage: py-evm runs the page view at ~1 ms a listing.
            found = yield Rpc("gpuhub_getListings", [self.conn.address])
            if found is not None:
                return list(found)
        listings: list[Listing] = []
        for data in (yield from self.pages("listingCount", "getListings", page_size)):
            listings.extend(_core.decode_listing_page(data, to_checksum_address))
        return listings

    def list_gpus(
        self,
        max_price: int | None,
        min_capacity: int | None,
        available_only: bool,
        price_unit: PriceUnit | None,
        page_size: int,
    ) -> Plan[list[Listing]]:
        """Listings that match (the original ``/getgpulist``)."""
        listings = yield from self.list_listings(page_size)
        return _core.filter_listings(
            listings,
            max_price=max_price,
            min_capacity=min_capacity,
            available_only=available_only,
            price_unit=price_unit,
        )

    def search(self, query: Any, terms: dict[str, Any]) -> Plan[SearchResult]:
        """A query over every listing, with the reputations of only the providers it looks at,
        read in one JSON-RPC batch.

        The query runs twice over the listings: first with blank reputations, to learn which
        providers its filters, sorts and page touch, then with theirs. Terms on other fields do
        not depend on reputations, so the second run touches no provider the first did not.
        """
        from .search import Query, run

        parsed = Query.of(query, **terms)
        listings = yield from self.list_listings(PAGE_SIZE)
        touched: set[str] = set()

        def blank(address: str) -> Reputation:
            touched.add(address)
            return Reputation.from_abi(address, _NO_REPUTATION)

        run(parsed, listings, blank)
        providers = sorted(touched)
        fn = self.fn("reputation")
        answers = (
            (yield Batch(tuple(self.call_request(fn, (p,), "latest") for p in providers)))
            if providers
            else []
        )
        known = {
            provider: Reputation.from_abi(provider, fn.result(self.returned(raw)))
            for provider, raw in zip(providers, answers, strict=True)
        }
        return run(parsed, listings, known.__getitem__)

    # ------------------------------------------------------------------ listings: writes

    def create_listing(
        self,
        *,
        gpu_model: str,
        capacity: int,
        price: int,
        unit: PriceUnit,
        min_duration: int,
        max_duration: int | None,
        tx: TxOptions,
    ) -> Plan[Sent[Listing]]:
        """List a GPU."""
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

        def created(receipt: Receipt) -> Plan[Listing]:
            (event,) = self.events(receipt, "ListingCreated")
            return done(_listing_from_event(event, ListingStatus.AVAILABLE))

        return (yield from self.transact("createListing", terms.abi_args(), created, tx))

    def update_listing(
        self, listing_id: int, changes: dict[str, Any], tx: TxOptions
    ) -> Plan[Sent[Listing]]:
        """Change some of a listing's terms."""
        current = yield from self.get_listing(listing_id)
        terms = _merged_terms(current, changes)

        def updated(receipt: Receipt) -> Plan[Listing]:
            (event,) = self.events(receipt, "ListingUpdated")
            # updateListing never changes the status; it is the one read before sending.
            return done(_listing_from_event(event, current.status))

        args = [listing_id, *terms.abi_args()]
        return (yield from self.transact("updateListing", args, updated, tx))

    def status_change(self, fn: str, listing_id: int, tx: TxOptions) -> Plan[Sent[Listing]]:
        """fulfillRequest, markAvailable or removeListing."""
        _core.check_listing_id(listing_id)
        return (yield from self.transact(fn, [listing_id], self.reread_listing(listing_id), tx))

    def batch(self, ops: list[tuple[str, Any]], tx: TxOptions) -> Plan[Sent[list[Listing]]]:
        """Several listing operations in one ``multicall`` transaction."""
        if not ops:
            raise ValidationError("batch", "is empty: add operations before sending it")
        if len(ops) > MAX_BATCH:
            raise ValidationError("batch", f"holds {len(ops)} operations; send at most {MAX_BATCH}")
        # Updates keep the fields they do not name: read those listings in one JSON-RPC batch.
        update_ids = sorted({arg[0] for kind, arg in ops if kind == "update"})
        current: dict[int, Listing] = {}
        if update_ids:
            fn = self.fn("getListing")
            answers = yield Batch(tuple(self.call_request(fn, (i,), "latest") for i in update_ids))
            for listing_id, raw in zip(update_ids, answers, strict=True):
                current[listing_id] = Listing.from_abi(fn.result(self.returned(raw)))
        calls = []
        for kind, arg in ops:
            if kind == "create":
                calls.append(self.fn("createListing").calldata_bytes(arg.abi_args()))
            elif kind == "update":
                listing_id, changes = arg
                terms = _merged_terms(current[listing_id], changes)
                calls.append(
                    self.fn("updateListing").calldata_bytes([listing_id, *terms.abi_args()])
                )
            else:
                calls.append(self.fn(kind).calldata_bytes([arg]))

        def finished(receipt: Receipt) -> Plan[list[Listing]]:
            created = iter(self.events(receipt, "ListingCreated"))
            ids = [
                next(created)["listingId"]
                if kind == "create"
                else (arg[0] if kind == "update" else arg)
                for kind, arg in ops
            ]
            fn = self.fn("getListing")
            unique = sorted(set(ids))
            answers = yield Batch(
                tuple(self.call_request(fn, (i,), receipt.block_number) for i in unique)
            )
            by_id = {
                i: Listing.from_abi(fn.result(self.returned(raw)))
                for i, raw in zip(unique, answers, strict=True)
            }
            return [by_id[i] for i in ids]

        return (yield from self.transact("multicall", [calls], finished, tx))

    # ------------------------------------------------------------------ rentals: reads

    def quote(self, listing_id: int, duration: int, block: BlockIdentifier) -> Plan[int]:
        """The cost of renting ``listing_id`` for ``duration`` units."""
        _core.check_listing_id(listing_id)
        _core.check_int("duration", duration, low=1, high=_core.MAX_DURATION)
        return int((yield from self.call("quote", listing_id, duration, block=block)))

    def rental_count(self, block: BlockIdentifier) -> Plan[int]:
        """Number of rentals ever started."""
        return int((yield from self.call("rentalCount", block=block)))

    def get_rental(self, rental_id: int, block: BlockIdentifier = "latest") -> Plan[Rental]:
        """One rental by id."""
        _core.check_int("rental_id", rental_id)
        return Rental.from_abi((yield from self.call("getRental", rental_id, block=block)))

    def active_rental(self, listing_id: int) -> Plan[Rental | None]:
        """The listing's running rental, or None."""
        _core.check_listing_id(listing_id)
        block = yield from self.block_number()
        try:
            rental_id = int((yield from self.call("activeRentalOf", listing_id, block=block)))
        except NoActiveRental:
            return None
        return (yield from self.get_rental(rental_id, block))

    def list_rentals(self, page_size: int, block: int | None = None) -> Plan[list[Rental]]:
        """Every rental in id order, as of ``block`` (default: the latest)."""
        from eth_abi.abi import decode
        from eth_utils.address import to_checksum_address

        rentals = []
        for data in (yield from self.pages("rentalCount", "getRentals", page_size, block)):
            (rows,) = decode([_RENTAL_PAGE_TYPE], data)
            for row in rows:
                rentals.append(
                    Rental.from_abi(
                        (
                            *row[:2],
                            to_checksum_address(row[2]),
                            to_checksum_address(row[3]),
                            *row[4:],
                        )
                    )
                )
        return rentals

    def rentals(
        self, renter: str | None, provider: str | None, active_only: bool
    ) -> Plan[list[Rental]]:
        """Rentals, optionally of one renter and/or provider, or only active ones."""
        want_renter = None if renter is None else self.checksum("renter", renter)
        want_provider = None if provider is None else self.checksum("provider", provider)
        return [
            r
            for r in (yield from self.list_rentals(PAGE_SIZE))
            if (want_renter is None or r.renter == want_renter)
            and (want_provider is None or r.provider == want_provider)
            and (not active_only or r.is_active)
        ]

    def balance_of(self, address: str | None, block: BlockIdentifier) -> Plan[int]:
        """Withdrawable wei of ``address`` (default: the sender)."""
        who = self.require_sender().address if address is None else address
        return int((yield from self.call("balanceOf", self.checksum("address", who), block=block)))

    def provider_terminations(self, provider: str) -> Plan[int]:
        """Rentals ``provider`` ended early."""
        address = self.checksum("provider", provider)
        return int((yield from self.call("providerTerminations", address)))

    # ------------------------------------------------------------------ rentals: writes

    def rent(
        self, listing_id: int, duration: int, max_total: int | None, tx: TxOptions
    ) -> Plan[Sent[Rental]]:
        """Rent a listing for ``duration`` units."""
        _core.check_int("duration", duration, low=1, high=_core.MAX_DURATION)
        listing = yield from self.get_listing(listing_id)
        cost = listing.price * duration
        limit = cost if max_total is None else _core.check_int("max_total", max_total)
        args = [listing_id, duration, int(listing.unit), limit]

        def started(receipt: Receipt) -> Plan[Rental]:
            (event,) = self.events(receipt, "RentalStarted")
            return done(
                Rental(
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
            )

        return (yield from self.transact("rent", args, started, tx, value=limit))

    def extend_rental(self, rental_id: int, extra: int, tx: TxOptions) -> Plan[Sent[Rental]]:
        """Buy ``extra`` more units of a running rental."""
        _core.check_int("extra", extra, low=1, high=_core.MAX_DURATION)
        rental = yield from self.get_rental(rental_id)

        def extended(receipt: Receipt) -> Plan[Rental]:
            (event,) = self.events(receipt, "RentalExtended")
            return done(_replace_rental(rental, end=event["end"], paid=rental.paid + event["cost"]))

        value = rental.price * extra
        return (
            yield from self.transact("extendRental", [rental_id, extra], extended, tx, value=value)
        )

    def rental_write(self, fn: str, rental_id: int, tx: TxOptions) -> Plan[Sent[Rental]]:
        """endRental or settle."""
        _core.check_int("rental_id", rental_id)
        return (yield from self.transact(fn, [rental_id], self.reread_rental(rental_id), tx))

    def withdraw(self, to: str | None, tx: TxOptions) -> Plan[Sent[int]]:
        """Withdraw the sender's whole balance (to itself or ``to``)."""

        def withdrawn(receipt: Receipt) -> Plan[int]:
            (event,) = self.events(receipt, "Withdrawn")
            return done(int(event["amount"]))

        if to is None:
            return (yield from self.transact("withdraw", [], withdrawn, tx))
        target = self.checksum("to", to)
        return (yield from self.transact("withdrawTo", [target], withdrawn, tx))

    # ------------------------------------------------------------------ access handoff

    def access_key(self, rental_id: int, key: bytes | None) -> Plan[bytes]:
        """The renter's private key for a rental's access details: ``key`` if given, else
        derived from the sender's signature of a text naming the chain, market and rental."""
        if key is not None:
            _access.public_key_of(key)  # refuses a key that is not one, without quoting it
            return key
        sender = self.require_sender()
        text = _access.key_message(self.conn.chain_id, self.conn.address, rental_id)
        signature = yield from sender.sign_message(text)
        return _access.key_from_signature(signature)

    def access_payloads(
        self, event: str, rental_id: int, from_block: int, to_block: int
    ) -> Plan[list[bytes]]:
        """The payloads of one rental's ``AccessRequested`` or ``AccessGranted`` events, oldest
        first (the node filters them by their indexed rental id)."""
        decoder = default_decoder()
        query = {
            "address": self.conn.address,
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "topics": [decoder.topics[event], "0x" + rental_id.to_bytes(32).hex()],
        }
        payloads = []
        for raw in (yield Rpc("eth_getLogs", [query])) or []:
            log_topics = [data_bytes(t) for t in raw["topics"]]
            args = decoder.args_of(event, log_topics, data_bytes(raw["data"]))
            if args is not None:
                payloads.append(args["payload"])
        return payloads

    def request_access(
        self, rental_id: int, ssh_key: str | None, key: bytes | None, tx: TxOptions
    ) -> Plan[Sent[TxResult]]:
        """Publish the renter's access request: the rental's public key and an SSH key."""
        _core.check_int("rental_id", rental_id)
        ssh = None if ssh_key is None else _access.check_ssh_key(ssh_key)
        private = yield from self.access_key(rental_id, key)
        payload = _access.encode_request(_access.public_key_of(private), ssh)
        return (yield from self.transact("requestAccess", [rental_id, payload], _mined, tx))

    def latest_request(self, rental_id: int, from_block: int) -> Plan[tuple[bytes, str | None]]:
        """The public key and SSH key of a rental's newest request that decodes."""
        head = yield from self.block_number()
        payloads = yield from self.access_payloads("AccessRequested", rental_id, from_block, head)
        for payload in reversed(payloads):
            try:
                return _access.decode_request(payload)
            except AccessPayloadError:
                continue
        raise ValidationError(
            "rental_id",
            f"rental {rental_id} has no access request (that decodes) yet: its renter sends one "
            "with request_access (gpuhub rent --ssh-key, gpuhub access --ssh-key)",
        )

    def grant_access(
        self, rental_id: int, details: str, public_key: bytes | None, tx: TxOptions
    ) -> Plan[Sent[TxResult]]:
        """Publish the connection details encrypted to the renter's newest request."""
        _core.check_int("rental_id", rental_id)
        if public_key is None:
            public_key, _ = yield from self.latest_request(rental_id, 0)
        payload = _access.encrypt_details(public_key, details)
        return (yield from self.transact("grantAccess", [rental_id, payload], _mined, tx))

    def access(
        self,
        rental_id: int,
        key: bytes | None,
        timeout: float,
        from_block: int,
        poll: float = 0.25,
    ) -> Plan[str | None]:
        """The details of the newest grant this key opens, waiting up to ``timeout`` seconds
        for one; None when none has come."""
        _core.check_int("rental_id", rental_id)
        _core.check_int("from_block", from_block)
        if timeout < 0:
            raise ValidationError("timeout", "seconds to wait, 0 or more")
        private = yield from self.access_key(rental_id, key)
        deadline = time.monotonic() + timeout
        start = from_block
        while True:
            head = yield from self.block_number()
            if head >= start:
                grants = yield from self.access_payloads("AccessGranted", rental_id, start, head)
                for payload in reversed(grants):  # the newest grant this key opens wins
                    try:
                        return _access.decrypt_details(private, payload)
                    except AccessPayloadError:
                        continue
                start = head + 1
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            yield Sleep(min(poll, left))

    # ------------------------------------------------------------------ reputation

    def reputation(self, address: str, block: BlockIdentifier) -> Plan[Reputation]:
        """What the contract counts about ``address``."""
        who = _core.check_address("address", address)
        return Reputation.from_abi(who, (yield from self.call("reputation", who, block=block)))

    def ratings(
        self,
        ratee: str | None,
        rater: str | None,
        rental_id: int | None,
        from_block: int,
        to_block: int | None,
    ) -> Plan[list[Rating]]:
        """Ratings from the ``Rated`` events, filtered by the node on their indexed topics."""
        decoder = default_decoder()
        topics: list[str | None] = [
            decoder.topics["Rated"],
            None
            if rental_id is None
            else "0x" + _core.check_int("rental_id", rental_id).to_bytes(32).hex(),
            None if rater is None else _address_topic(_core.check_address("rater", rater)),
            None if ratee is None else _address_topic(_core.check_address("ratee", ratee)),
        ]
        _core.check_int("from_block", from_block)
        if to_block is None:
            last = yield from self.block_number()
        else:
            last = _core.check_int("to_block", to_block)
        if from_block > last:
            return []
        query = {
            "address": self.conn.address,
            "fromBlock": hex(from_block),
            "toBlock": hex(last),
            "topics": topics,
        }
        ratings = []
        for raw in (yield Rpc("eth_getLogs", [query])):
            log_topics = [data_bytes(t) for t in raw["topics"]]
            args = decoder.args_of("Rated", log_topics, data_bytes(raw["data"]))
            if args is not None:
                ratings.append(Rating.from_event(args, quantity(raw["blockNumber"])))
        return ratings

    def rate(self, rental_id: int, score: int, comment: str, tx: TxOptions) -> Plan[Sent[Rating]]:
        """Rate the other side of a rental that is over."""
        _core.check_int("rental_id", rental_id)
        _core.check_score(score)
        _core.check_comment(comment)

        def rated(receipt: Receipt) -> Plan[Rating]:
            (event,) = self.events(receipt, "Rated")
            return done(Rating.from_event(event, receipt.block_number))

        return (yield from self.transact("rate", [rental_id, score, comment], rated, tx))

    # ------------------------------------------------------------------ governance

    def governance_tx(self, fn: str, args: list[Any], tx: TxOptions) -> Plan[Sent[TxResult]]:
        """A governance call; the result is the mined transaction."""
        return (yield from self.transact(fn, args, tx_result, tx))

    def set_fee(self, fee_bps: int, tx: TxOptions) -> Plan[Sent[TxResult]]:
        """Set the platform fee."""
        _core.check_int("fee_bps", fee_bps, high=_core.MAX_FEE_BPS)
        return (yield from self.governance_tx("setFee", [fee_bps], tx))

    def set_paused(self, paused: bool, tx: TxOptions) -> Plan[Sent[TxResult]]:
        """Pause or resume."""
        if not isinstance(paused, bool):
            raise ValidationError("paused", f"expected a bool, got {type(paused).__name__}")
        return (yield from self.governance_tx("setPaused", [paused], tx))

    def optional_address(self, name: str) -> Plan[str | None]:
        """The address view ``name`` returns, or None for the zero address."""
        address = str((yield from self.call(name)))
        return None if int(address, 16) == 0 else address

    def set_guardian(self, guardian: str | None, tx: TxOptions) -> Plan[Sent[TxResult]]:
        """Set or remove the pause guardian."""
        address = (
            _core.ZERO_ADDRESS if guardian is None else _core.check_address("guardian", guardian)
        )
        return (yield from self.governance_tx("setGuardian", [address], tx))

    def payout_allowance(self) -> Plan[PayoutAllowance]:
        """What the treasury may pay out now, and when the running period ends."""
        amount, period_ends = yield from self.call("payoutAllowance")
        return PayoutAllowance(amount=int(amount), period_ends=int(period_ends))

    def pay_from_treasury(self, to: str, amount: int, tx: TxOptions) -> Plan[Sent[TxResult]]:
        """Pay treasury funds, as the treasury."""
        args = [_core.check_address("to", to), _core.check_int("amount", amount, low=1)]
        return (yield from self.governance_tx("payFromTreasury", args, tx))


#: a ``ReputationView`` of an account the contract has counted nothing for.
_NO_REPUTATION = (0,) * (len(fields(Reputation)) - 1)


def _mined(receipt: Receipt) -> Plan[TxResult]:
    """The mined transaction, for writes that have no model to return."""
    return done(
        TxResult(
            tx_hash=receipt.tx_hash, block_number=receipt.block_number, gas_used=receipt.gas_used
        )
    )


def _address_topic(address: str) -> str:
    """An address as an indexed event topic: 32 bytes, left-padded, as hex."""
    return "0x" + bytes.fromhex(address[2:]).rjust(32, b"\0").hex()


def _listing_from_event(event: dict[str, Any], status: ListingStatus) -> Listing:
    return Listing(
        listing_id=event["listingId"],
        provider=event["provider"],
        gpu_model=event["gpuModel"],
        capacity=event["capacity"],
        price=event["price"],
        unit=PriceUnit(event["unit"]),
        min_duration=event["minDuration"],
        max_duration=event["maxDuration"],
        status=status,
    )


def _merged_terms(current: Listing, changes: dict[str, Any]) -> _core.ListingTerms:
    """The listing's terms with ``changes`` (None values ignored) applied, checked."""
    fields = {
        "gpu_model": current.gpu_model,
        "capacity": current.capacity,
        "price": current.price,
        "unit": current.unit,
        "min_duration": current.min_duration,
        "max_duration": current.max_duration,
    }
    fields.update({k: v for k, v in changes.items() if v is not None})
    return _core.listing_terms(**fields)


def _replace_rental(rental: Rental, **changes: Any) -> Rental:
    from dataclasses import replace

    return replace(rental, **changes)


def update_changes(
    *,
    gpu_model: str | None,
    capacity: int | None,
    price: int | None,
    unit: PriceUnit | None,
    min_duration: int | None,
    max_duration: int | None,
) -> dict[str, Any]:
    """The fields an update names, by name."""
    return {
        "gpu_model": gpu_model,
        "capacity": capacity,
        "price": price,
        "unit": unit,
        "min_duration": min_duration,
        "max_duration": max_duration,
    }


class ListingBatch:
    """Listing operations collected for one transaction (``client.batch()``).

    Each method checks its arguments at once and returns the operation's position; sending the
    batch returns one Listing per operation, in the same order. Updates read the listing's
    current terms when the batch is sent, so they cannot refer to a listing the batch creates.
    """

    def __init__(self, ops: Operations) -> None:
        self._ops = ops
        self._queue: list[tuple[str, Any]] = []

    def __len__(self) -> int:
        return len(self._queue)

    def create_listing(
        self,
        *,
        gpu_model: str,
        capacity: int,
        price: int,
        unit: PriceUnit = PriceUnit.MINUTE,
        min_duration: int = 1,
        max_duration: int | None = None,
    ) -> int:
        """Add a new listing; returns its position in the batch."""
        unit = _core.check_unit(unit)
        terms = _core.listing_terms(
            gpu_model=gpu_model,
            capacity=capacity,
            price=price,
            unit=unit,
            min_duration=min_duration,
            max_duration=_core.max_duration_for(unit) if max_duration is None else max_duration,
        )
        return self._add("create", terms)

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
    ) -> int:
        """Change some of an existing listing's terms; returns the position in the batch."""
        _core.check_listing_id(listing_id)
        changes = update_changes(
            gpu_model=gpu_model,
            capacity=capacity,
            price=price,
            unit=unit,
            min_duration=min_duration,
            max_duration=max_duration,
        )
        return self._add("update", (listing_id, changes))

    def fulfill_request(self, listing_id: int) -> int:
        """Mark a listing UNAVAILABLE; returns the position in the batch."""
        return self._add("fulfillRequest", _core.check_listing_id(listing_id))

    def mark_available(self, listing_id: int) -> int:
        """Put a listing back on the market; returns the position in the batch."""
        return self._add("markAvailable", _core.check_listing_id(listing_id))

    def remove_listing(self, listing_id: int) -> int:
        """Remove a listing for good; returns the position in the batch."""
        return self._add("removeListing", _core.check_listing_id(listing_id))

    def _add(self, kind: str, arg: Any) -> int:
        if len(self._queue) >= MAX_BATCH:
            raise ValidationError("batch", f"is full: send at most {MAX_BATCH} operations at once")
        self._queue.append((kind, arg))
        return len(self._queue) - 1

    def _plan(self, tx: TxOptions) -> Plan[Sent[list[Listing]]]:
        """The plan that sends the batch."""
        return self._ops.batch(list(self._queue), tx)


def open_connection(
    address: str | None,
    *,
    embedded: bool,
    lock_factory: Callable[[], Any],
    poll_interval: float | None,
    block_time: float | None,
) -> Plan[Connection]:
    """Read the chain id once, check the contract is there, and set up the shared state."""
    from ._abi import marketplace
    from ._artifact import error_abi
    from ._errors import ErrorDecoder
    from ._transactions import clock_for, fees_for
    from .exceptions import ContractNotDeployed

    if poll_interval is not None:
        _core.check_number("poll_interval", poll_interval)
    if block_time is not None:
        _core.check_number("block_time", block_time)
    checked = "" if address is None else _core.check_address("contract_address", address)
    chain_id = quantity((yield Rpc("eth_chainId", [])))
    if address is not None:
        code = yield Rpc("eth_getCode", [checked, "latest"])
        if not data_bytes(code):
            raise ContractNotDeployed(
                f"no contract code at {checked} on chain {chain_id}: check the address "
                "and the RPC URL, or create a marketplace with GPUHubClient.deploy(w3, ...)"
            )
        yield from _check_version(checked, chain_id)
    return Connection(
        chain_id=chain_id,
        address=checked,
        abi=marketplace(),
        decoder=ErrorDecoder(error_abi()),
        embedded=embedded,
        clock=clock_for(chain_id, block_time, poll_interval),
        fees=fees_for(chain_id),
        lock_factory=lock_factory,
    )


def _check_version(address: str, chain_id: int) -> Plan[None]:
    """A wrong address (or the right one on another chain) fails here, not in a later read or
    after a write has been mined."""
    from ._abi import marketplace
    from ._artifact import MARKETPLACE_VERSION
    from .exceptions import ContractError, NotAMarketplace, TransactionReverted

    fn = marketplace().functions["MARKETPLACE_VERSION"]
    try:
        raw = yield Rpc("eth_call", [{"to": address, "data": fn.calldata([])}, "latest"])
        version: int | None = _core.decode_uint(data_bytes(raw))
    except (ContractError, TransactionReverted, ValueError):
        version = None
    if version != MARKETPLACE_VERSION:
        found = "no marketplace version" if version is None else f"version {version}"
        raise NotAMarketplace(
            f"the contract at {address} on chain {chain_id} is not a GPUHub marketplace "
            f"this client speaks to (it answers {found}; expected {MARKETPLACE_VERSION}): "
            "check the address and the chain, or upgrade gpuhub"
        )


def tx_result(receipt: Receipt) -> Plan[TxResult]:
    """The mined transaction as a result: for writes whose outcome is only that they ran."""
    return done(
        TxResult(
            tx_hash=receipt.tx_hash, block_number=receipt.block_number, gas_used=receipt.gas_used
        )
    )


def mined(sending: Plan[Sent[T]], tx: TxOptions) -> Plan[T]:
    """Send, then wait for the receipt and build the result: a write with ``wait=True``."""
    sent = yield from sending
    return (yield from sent.finish(tx.get("timeout")))

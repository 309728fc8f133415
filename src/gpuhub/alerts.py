"""Alerts for one account: ``client.alerts(account)`` and ``async for`` over ``aclient.alerts``.

An alert stream follows the chain and yields an :class:`Alert` whenever something needs the
account's attention:

========================  =========================================================  ===========
kind                      when                                                       who
========================  =========================================================  ===========
``LISTING_RENTED``        a listing of the account was rented                        provider
``RENTAL_ENDING``         a rental ends within ``ends_within`` seconds               both sides
``RENTAL_ENDED``          a rental was ended or settled (with the split of escrow)   both sides
``RENTAL_SETTLEABLE``     a rental's time is up and anyone may settle it             both sides
``WITHDRAWABLE``          the account's withdrawable balance grew                    either
``SEARCH_MATCH``          a new or cheaper listing matches one of ``searches``       anyone
========================  =========================================================  ===========

Time-based alerts follow the chain's clock (the latest block's timestamp), not the wall clock,
so ``client.chain.advance_time(...)`` on a dev chain fires them. Each alert fires once per
rental (an extension that pushes the end out again re-arms ``RENTAL_ENDING``).

Saved searches are query strings of :mod:`gpuhub.search`. ``SEARCH_MATCH`` fires once per
listing and change when the listing, as the events leave it, matches a saved search: a listing
created, a price lowered (compared per hour, exactly), a listing available again (marked
available, or its rental ended). The query's terms decide (``status=available`` unless it names
a status); its ``sort``, ``limit`` and ``offset`` do not apply to one listing. When a change
matches several saved searches, one alert names the first of them.

The rules are written once, sans-I/O (:class:`AlertRules`, plans like ``_ops``'s), and driven
by the blocking :class:`Alerts` and by the async generator behind ``AsyncGPUHubClient.alerts``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _core
from .events import (
    ContractEvent,
    ListingCreated,
    ListingStatusChanged,
    ListingUpdated,
    RentalEnded,
    RentalExtended,
    RentalStarted,
    Withdrawn,
)
from .exceptions import ValidationError
from .models import Listing, ListingStatus, Rental, RentalStatus, Reputation
from .search import Query, matches_query

if TYPE_CHECKING:
    from ._ops import Operations
    from ._transactions import Plan
    from .watch import AsyncTransport, EventPoller, Parties, Watch

__all__ = [
    "Alert",
    "AlertKind",
    "AlertOptions",
    "AlertRules",
    "Alerts",
    "SavedSearch",
    "format_eth",
]


class AlertKind(enum.StrEnum):
    """What an alert is about."""

    LISTING_RENTED = "listing_rented"
    RENTAL_ENDING = "rental_ending"
    RENTAL_ENDED = "rental_ended"
    RENTAL_SETTLEABLE = "rental_settleable"
    WITHDRAWABLE = "withdrawable"
    SEARCH_MATCH = "search_match"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """Something one account should hear about, with a message fit to show a person."""

    #: what happened.
    kind: AlertKind
    #: the account it is for (checksummed).
    account: str
    #: one sentence for a person, e.g. "Rental 3 ends in 540 s (at 2026-11-27 18:00:00 UTC)."
    message: str
    #: chain time (Unix seconds) of the block that triggered it.
    at: int
    #: the event behind it, when an event triggered it.
    event: ContractEvent | None = None
    #: the rental it is about, as last known (None for WITHDRAWABLE and SEARCH_MATCH).
    rental: Rental | None = None
    #: wei: the withdrawable balance for WITHDRAWABLE, else None.
    amount: int | None = None
    #: SEARCH_MATCH: the listing as the event left it.
    listing: Listing | None = None
    #: SEARCH_MATCH: the saved search it matches, as it was given.
    query: str | None = None


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """A saved search: the query string as given, and the query it parses to."""

    text: str
    query: Query


def format_eth(wei: int) -> str:
    """Wei as an exact number of ETH: ``format_eth(1_500_000_000_000_000) == "0.0015 ETH"``."""
    text = format(Decimal(wei).scaleb(-18).normalize(), "f")
    return f"{text} ETH"


def _utc(timestamp: int) -> str:
    from ._display import when

    return when(timestamp)


@dataclass(frozen=True, slots=True)
class AlertOptions:
    """What an alert stream is for, checked: the account, the warning time, the saved searches."""

    account: str
    ends_within: int
    searches: tuple[SavedSearch, ...]

    @classmethod
    def of(cls, account: str, ends_within: int, searches: Iterable[str]) -> AlertOptions:
        """The options, checked before anything is read.

        Raises:
            ValidationError: a bad account or ``ends_within``, or ``searches`` given as one
                string rather than a list of them.
            QueryError: a saved search does not parse (``position`` says where).
        """
        if isinstance(searches, str):
            raise ValidationError(
                "searches", f"expected a list of query strings: searches=[{searches!r}]"
            )
        return cls(
            account=_core.check_address("account", account),
            ends_within=_core.check_int("ends_within", ends_within, high=10**9),
            searches=tuple(SavedSearch(text, Query.parse(text)) for text in searches),
        )


class AlertRules:
    """The alert rules for one account, sans-I/O: each :meth:`step` is a plan that reads what is
    new on the chain and returns the alerts that became due.

    A step that fails because the node is unreachable may simply be run again: events read but
    not handled yet wait in a backlog, alerts made wait in an outbox, and each event's handler
    reads everything it needs before it changes any state, so a retried step neither misses nor
    repeats an alert. Not thread-safe: one driver at a time.
    """

    def __init__(self, ops: Operations, options: AlertOptions) -> None:
        from .watch import EventPoller, Parties

        self.account = options.account
        self.ends_within = options.ends_within
        self.searches = options.searches
        self._ops = ops
        self._poller: EventPoller = EventPoller(ops)
        self._parties: Parties = Parties(ops)
        self._backlog: deque[ContractEvent] = deque()
        self._outbox: list[Alert] = []
        self._active: dict[int, Rental] = {}
        self._ending_sent: set[int] = set()
        self._settleable_sent: set[int] = set()
        self._balance: int | None = None
        self._started = False
        # the listings seen since the start, as the events left them (only with saved searches)
        self._listings: dict[int, Listing] = {}

    def step(self) -> Plan[tuple[list[Alert], bool]]:
        """The alerts due now, and whether events were read (then step again at once)."""
        read = False
        if not self._started:
            yield from self._start()
        else:
            if not self._backlog:
                self._backlog.extend((yield from self._poller.poll()))
            read = bool(self._backlog)
            while self._backlog:
                yield from self._on_event(self._backlog[0])
                self._backlog.popleft()
            if self._poller.head is not None:
                self._on_clock(self._poller.head.timestamp)
        found, self._outbox = self._outbox, []
        return found, read

    # ------------------------------------------------------------------ state

    def _now(self, default: int) -> int:
        head = self._poller.head
        return head.timestamp if head is not None else default

    def _start(self) -> Plan[None]:
        """Note where the chain is, then read the account's running rentals and balance."""
        from ._ops import PAGE_SIZE

        if self._poller.next_block is None:
            yield from self._poller.poll()  # fixes the starting block before the reads below
        # The state just before the first block whose events are followed: a rental that ends
        # in a block mined meanwhile is still running here, and its RentalEnded is not missed.
        assert self._poller.next_block is not None
        at = self._poller.next_block - 1
        rentals = yield from self._ops.list_rentals(PAGE_SIZE, at)
        balance = yield from self._ops.balance_of(self.account, at)
        mine = (r for r in rentals if self.account in (r.renter, r.provider))
        self._active = {r.rental_id: r for r in mine if r.is_active}
        self._balance = balance
        self._started = True
        now = self._now(0)
        if balance > 0:
            self._alert(
                AlertKind.WITHDRAWABLE,
                f"You have {format_eth(balance)} to withdraw.",
                now,
                amount=balance,
            )
        self._on_clock(now)

    def _on_event(self, event: ContractEvent) -> Plan[None]:
        change = yield from self._listing_change(event)
        if isinstance(event, RentalStarted):
            yield from self._on_started(event)
        elif isinstance(event, RentalExtended):
            yield from self._on_extended(event)
        elif isinstance(event, RentalEnded):
            yield from self._on_ended(event)
        elif isinstance(event, Withdrawn) and event.account == self.account:
            self._balance = 0
        if change is not None:
            self._on_listing_change(event, *change)

    def _balance_after(self, event: ContractEvent, needed: bool) -> Plan[int | None]:
        if not needed:
            return None
        return (yield from self._ops.balance_of(self.account, event.block_number))

    def _on_started(self, event: RentalStarted) -> Plan[None]:
        provider = yield from self._parties.provider(event.listing_id)
        if self.account not in (event.renter, provider):
            return
        needed = bool(event.excess) and event.renter == self.account and not event.removed
        balance = yield from self._balance_after(event, needed)
        if event.removed:
            self._active.pop(event.rental_id, None)
            return
        rental = Rental(
            rental_id=event.rental_id,
            listing_id=event.listing_id,
            renter=event.renter,
            provider=provider,
            start=event.start,
            end=event.end,
            price=event.price,
            unit=event.unit,
            paid=event.paid,
            fee_bps=event.fee_bps,
            status=RentalStatus.ACTIVE,
        )
        self._active[event.rental_id] = rental
        if provider == self.account:
            self._alert(
                AlertKind.LISTING_RENTED,
                f"Your listing {event.listing_id} was rented by {event.renter} as rental "
                f"{event.rental_id}, until {_utc(event.end)}; {format_eth(event.paid)} is in "
                "escrow.",
                event.start,
                event=event,
                rental=rental,
            )
        if balance is not None:
            self._balance_grew(event, balance, event.start)

    def _on_extended(self, event: RentalExtended) -> Plan[None]:
        rental = self._active.get(event.rental_id)
        if rental is None or event.removed:
            return
        needed = bool(event.excess) and rental.renter == self.account
        balance = yield from self._balance_after(event, needed)
        self._active[event.rental_id] = dataclasses.replace(
            rental, end=event.end, paid=rental.paid + event.cost
        )
        now = self._now(event.end)
        if event.end - now > self.ends_within:
            self._ending_sent.discard(event.rental_id)
        if balance is not None:
            self._balance_grew(event, balance, now)

    def _on_ended(self, event: RentalEnded) -> Plan[None]:
        rental = self._active.get(event.rental_id)
        if rental is None or event.removed:
            return
        ended = yield from self._ops.get_rental(event.rental_id)
        balance = yield from self._balance_after(event, True)
        now = self._now(ended.end)
        if rental.renter == self.account:
            share = f"{format_eth(event.refund)} was refunded to you"
        else:
            share = f"{format_eth(event.provider_share)} was credited to you"
        how = {
            RentalStatus.ENDED_BY_RENTER: "was ended by the renter",
            RentalStatus.ENDED_BY_PROVIDER: "was ended by the provider",
            RentalStatus.SETTLED: "was settled",
        }.get(event.status, "ended")
        del self._active[event.rental_id]
        self._alert(
            AlertKind.RENTAL_ENDED,
            f"Rental {event.rental_id} {how}: {format_eth(event.used)} used "
            f"(fee {format_eth(event.fee)}); {share}.",
            now,
            event=event,
            rental=ended,
        )
        if balance is not None:
            self._balance_grew(event, balance, now)

    def _balance_grew(self, event: ContractEvent, balance: int, now: int) -> None:
        if self._balance is not None and balance > self._balance:
            self._alert(
                AlertKind.WITHDRAWABLE,
                f"You have {format_eth(balance)} to withdraw.",
                now,
                event=event,
                amount=balance,
            )
        self._balance = balance

    def _on_clock(self, now: int) -> None:
        for rental_id, rental in sorted(self._active.items()):
            left = rental.end - now
            if left <= 0:
                if rental_id not in self._settleable_sent:
                    self._settleable_sent.add(rental_id)
                    self._alert(
                        AlertKind.RENTAL_SETTLEABLE,
                        f"Rental {rental_id} ran out at {_utc(rental.end)}; anyone can settle "
                        f"it now (client.settle({rental_id})).",
                        now,
                        rental=rental,
                    )
            elif left <= self.ends_within and rental_id not in self._ending_sent:
                self._ending_sent.add(rental_id)
                self._alert(
                    AlertKind.RENTAL_ENDING,
                    f"Rental {rental_id} ends in {left} s (at {_utc(rental.end)}).",
                    now,
                    rental=rental,
                )

    # ------------------------------------------------------------------ saved searches

    def _listing_change(
        self, event: ContractEvent
    ) -> Plan[tuple[Listing | None, Listing | None, Reputation | None] | None]:
        """The event's listing before and after it, and its provider's reputation when a saved
        search needs it; None when no saved search cares about the event."""
        if not self.searches or not isinstance(event, _LISTING_EVENTS):
            return None
        listing_id: int = event.listing_id
        if event.removed:
            return None, None, None  # a reorganisation: forget the listing, read it again later
        before = self._listings.get(listing_id)
        if before is None and isinstance(event, RentalStarted):
            return None  # a rental only takes the listing off the market
        if before is None and not isinstance(event, ListingCreated):
            before = yield from self._ops.get_listing(listing_id, event.block_number - 1)
        after = _listing_after(before, event)
        reputation = None
        if _change(before, after, event) is not None and any(
            s.query.uses_reputation() for s in self.searches
        ):
            reputation = yield from self._ops.reputation(after.provider, event.block_number)
        return before, after, reputation

    def _on_listing_change(
        self,
        event: ContractEvent,
        before: Listing | None,
        after: Listing | None,
        reputation: Reputation | None,
    ) -> None:
        if after is None:
            self._listings.pop(getattr(event, "listing_id", -1), None)
            return
        self._listings[after.listing_id] = after
        change = _change(before, after, event)
        if change is None:
            return

        def reputation_of(address: str) -> Reputation:
            assert reputation is not None, "read when a saved search uses reputation"
            return reputation

        search = next(
            (s for s in self.searches if matches_query(after, s.query, reputation_of)), None
        )
        if search is None:
            return
        what = _describe(after)
        if change == "new":
            message = f"New listing {after.listing_id} ({what}) matches"
        elif change == "cheaper":
            assert before is not None
            message = (
                f"Listing {after.listing_id} ({what}) is cheaper than before "
                f"({format_eth(before.price)} per {before.unit.name.lower()}) and matches"
            )
        else:
            message = f"Listing {after.listing_id} ({what}) is available again and matches"
        self._alert(
            AlertKind.SEARCH_MATCH,
            f'{message} your saved search "{search.text}".',
            self._now(0),
            event=event,
            listing=after,
            query=search.text,
        )

    def _alert(
        self,
        kind: AlertKind,
        message: str,
        at: int,
        *,
        event: ContractEvent | None = None,
        rental: Rental | None = None,
        amount: int | None = None,
        listing: Listing | None = None,
        query: str | None = None,
    ) -> None:
        self._outbox.append(
            Alert(
                kind=kind,
                account=self.account,
                message=message,
                at=at,
                event=event,
                rental=rental,
                amount=amount,
                listing=listing,
                query=query,
            )
        )


_LISTING_EVENTS = (ListingCreated, ListingUpdated, ListingStatusChanged, RentalStarted, RentalEnded)


def _listing_after(before: Listing | None, event: ContractEvent) -> Listing:
    """The listing as ``event`` leaves it (``before`` is None only for ``ListingCreated``)."""
    if isinstance(event, ListingCreated):
        return Listing(
            listing_id=event.listing_id,
            provider=event.provider,
            gpu_model=event.gpu_model,
            capacity=event.capacity,
            price=event.price,
            unit=event.unit,
            min_duration=event.min_duration,
            max_duration=event.max_duration,
            status=ListingStatus.AVAILABLE,
        )
    assert before is not None, "read from the chain before every other listing event"
    if isinstance(event, ListingUpdated):
        return dataclasses.replace(
            before,
            gpu_model=event.gpu_model,
            capacity=event.capacity,
            price=event.price,
            unit=event.unit,
            min_duration=event.min_duration,
            max_duration=event.max_duration,
        )
    if isinstance(event, ListingStatusChanged):
        return dataclasses.replace(before, status=event.status)
    if isinstance(event, RentalStarted):
        return dataclasses.replace(before, status=ListingStatus.RENTED)
    return dataclasses.replace(before, status=ListingStatus.AVAILABLE)  # RentalEnded


def _change(before: Listing | None, after: Listing, event: ContractEvent) -> str | None:
    """What a saved search hears about: "new", "cheaper", "available" (again), or None."""
    if before is None:
        return "new" if isinstance(event, ListingCreated) else None
    if isinstance(event, ListingUpdated) and _per_hour(after) < _per_hour(before):
        return "cheaper"
    if before.status is not ListingStatus.AVAILABLE and after.is_available:
        return "available"
    return None


def _per_hour(listing: Listing) -> Fraction:
    return Fraction(listing.price * 3600, listing.unit.seconds)


def _describe(listing: Listing) -> str:
    return (
        f"{listing.gpu_model}, {listing.capacity} GB, {format_eth(listing.price)} per "
        f"{listing.unit.name.lower()}"
    )


class Alerts:
    """Iterator of :class:`Alert` for one account; made by ``client.alerts(...)``.

    Closing it (``close()``, from any thread, or leaving a ``with`` block) ends the iteration.
    The client hands it its plans (``ops``) and the blocking way it runs them (``run``).

    Raises:
        QueryError: a saved search does not parse (raised by the constructor).
    """

    def __init__(
        self,
        ops: Operations,
        run: Callable[[Plan[Any]], Any],
        account: str,
        *,
        ends_within: int = 600,
        searches: Iterable[str] = (),
        poll_interval: float | None = None,
    ) -> None:
        from .watch import Watch

        self._run = run
        self._rules = AlertRules(ops, AlertOptions.of(account, ends_within, searches))
        self.account = self._rules.account
        self.ends_within = self._rules.ends_within
        # The watch lends its pacing, its retries while the node is away and its closing; the
        # rules read the chain through their own poller.
        self._watch: Watch = Watch(ops, run, poll_interval=poll_interval)
        self._pending: deque[Alert] = deque()

    def close(self) -> None:
        """Stop the iteration (at once if it is waiting for blocks)."""
        self._watch.close()

    def __iter__(self) -> Alerts:
        return self

    def __next__(self) -> Alert:
        while not self._watch.closed:
            if self._pending:
                return self._pending.popleft()
            stepped = self._step()
            if stepped is None:
                break
            found, read = stepped
            self._pending.extend(found)
            if not found and not read and not self._watch.wait():
                break
        raise StopIteration

    def poll_once(self) -> list[Alert] | None:
        """One step without waiting: the alerts that are due now (None once closed).

        Iterating calls this between waits; a scheduler that has its own loop may call it
        instead.
        """
        stepped = self._step()
        return None if stepped is None else stepped[0]

    def _step(self) -> tuple[list[Alert], bool] | None:
        return self._watch.retrying(lambda: self._run(self._rules.step()))

    def __enter__(self) -> Alerts:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def alerts_async(
    transport: AsyncTransport,
    connect: Callable[[], Awaitable[Operations]],
    account: str,
    *,
    ends_within: int = 600,
    searches: Iterable[str] = (),
    poll_interval: float | None = None,
) -> AsyncIterator[Alert]:
    """The async alerts: :class:`AlertRules` stepped by the async watch's loop (new heads over a
    WebSocket, paced polling over HTTP, backoff while the node is away).

    The arguments are checked (and the saved searches parsed) before anything is read, and so
    before ``connect`` gives the client's plans.
    """
    from .watch import check_poll_interval, follow

    options = AlertOptions.of(account, ends_within, searches)
    interval = check_poll_interval(poll_interval)
    ops = await connect()
    rules = AlertRules(ops, options)
    async for alert in follow(transport, ops, rules.step, interval):
        yield alert

"""Alerts for one account: ``client.alerts(account)``.

An :class:`Alerts` iterator follows the chain (through a :class:`~gpuhub.watch.Watch`) and yields
an :class:`Alert` whenever something needs the account's attention:

========================  =========================================================  ===========
kind                      when                                                       who
========================  =========================================================  ===========
``LISTING_RENTED``        a listing of the account was rented                        provider
``RENTAL_ENDING``         a rental ends within ``ends_within`` seconds               both sides
``RENTAL_ENDED``          a rental was ended or settled (with the split of escrow)   both sides
``RENTAL_SETTLEABLE``     a rental's time is up and anyone may settle it             both sides
``WITHDRAWABLE``          the account's withdrawable balance grew                    either
========================  =========================================================  ===========

Time-based alerts follow the chain's clock (the latest block's timestamp), not the wall clock,
so ``client.chain.advance_time(...)`` on a dev chain fires them. Each alert fires once per
rental (an extension that pushes the end out again re-arms ``RENTAL_ENDING``).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING

from . import _core
from .events import ContractEvent, RentalEnded, RentalExtended, RentalStarted, Withdrawn
from .exceptions import ValidationError
from .models import Rental, RentalStatus

if TYPE_CHECKING:
    from .client import GPUHubClient
    from .watch import Watch

__all__ = ["Alert", "AlertKind", "Alerts", "format_eth"]


class AlertKind(enum.StrEnum):
    """What an alert is about."""

    LISTING_RENTED = "listing_rented"
    RENTAL_ENDING = "rental_ending"
    RENTAL_ENDED = "rental_ended"
    RENTAL_SETTLEABLE = "rental_settleable"
    WITHDRAWABLE = "withdrawable"


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
    #: the rental it is about, as last known (None for WITHDRAWABLE).
    rental: Rental | None = None
    #: wei: the withdrawable balance for WITHDRAWABLE, else None.
    amount: int | None = None


def format_eth(wei: int) -> str:
    """Wei as an exact number of ETH: ``format_eth(1_500_000_000_000_000) == "0.0015 ETH"``."""
    text = format(Decimal(wei).scaleb(-18).normalize(), "f")
    return f"{text} ETH"


def _utc(timestamp: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class Alerts:
    """Iterator of :class:`Alert` for one account; made by ``client.alerts(...)``.

    Closing it (``close()``, from any thread, or leaving a ``with`` block) ends the iteration.
    """

    def __init__(
        self,
        client: GPUHubClient,
        account: str,
        *,
        ends_within: int = 600,
        searches: Iterable[str] = (),
        poll_interval: float | None = None,
    ) -> None:
        self._client = client
        self.account = _core.check_address("account", account)
        self.ends_within = _core.check_int("ends_within", ends_within, high=10**9)
        if list(searches):
            raise ValidationError(
                "searches",
                "saved searches need the search query language, which this version of gpuhub "
                "does not include yet; leave searches empty",
            )
        self._watch: Watch = client.watch(poll_interval=poll_interval)
        self._pending: deque[Alert] = deque()
        self._active: dict[int, Rental] = {}
        self._ending_sent: set[int] = set()
        self._settleable_sent: set[int] = set()
        self._balance: int | None = None
        self._started = False

    def close(self) -> None:
        """Stop the iteration (at once if it is waiting for blocks)."""
        self._watch.close()

    def __iter__(self) -> Alerts:
        return self

    def __next__(self) -> Alert:
        while not self._watch.closed:
            if self._pending:
                return self._pending.popleft()
            found = self.poll_once()
            if found is None:
                break
            if found:
                self._pending.extend(found)
            elif not self._watch.wait():
                break
        raise StopIteration

    def poll_once(self) -> list[Alert] | None:
        """One step without waiting: the alerts that are due now (None once closed).

        Iterating calls this between waits; a scheduler that has its own loop may call it
        instead.
        """
        if not self._started:
            if self._watch.retrying(self._start) is None:
                return None
        else:
            events = self._watch.read_new()
            if events is None:
                return None
            for event in events:
                if self._watch.retrying(functools.partial(self._on_event, event)) is None:
                    return None
            head = self._watch.head
            if head is not None:
                self._on_clock(head.timestamp)
        found = list(self._pending)
        self._pending.clear()
        return found

    def __enter__(self) -> Alerts:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ state

    def _start(self) -> bool:
        """Read the account's running rentals and balance, then note where the chain is."""
        if self._watch.next_block is None:
            self._watch.read_new()  # fixes the starting block before the reads below
        rentals = {
            r.rental_id: r
            for r in self._client.iter_rentals()
            if r.is_active and self.account in (r.renter, r.provider)
        }
        balance = self._client.balance_of(self.account)
        self._active = rentals
        self._balance = balance
        self._started = True
        head = self._watch.head
        now = head.timestamp if head is not None else self._client.chain.now()
        if balance > 0:
            self._alert(
                AlertKind.WITHDRAWABLE,
                f"You have {format_eth(balance)} to withdraw.",
                now,
                amount=balance,
            )
        self._on_clock(now)
        return True

    def _on_event(self, event: ContractEvent) -> bool:
        if isinstance(event, RentalStarted):
            self._on_started(event)
        elif isinstance(event, RentalExtended):
            self._on_extended(event)
        elif isinstance(event, RentalEnded):
            self._on_ended(event)
        elif isinstance(event, Withdrawn) and event.account == self.account:
            self._balance = 0
        return True

    def _on_started(self, event: RentalStarted) -> None:
        provider = self._client.get_listing(event.listing_id).provider
        if self.account not in (event.renter, provider):
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
        if event.removed:
            self._active.pop(event.rental_id, None)
            return
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
        if event.excess and event.renter == self.account:
            self._check_balance(event, event.start)

    def _on_extended(self, event: RentalExtended) -> None:
        rental = self._active.get(event.rental_id)
        if rental is None or event.removed:
            return
        self._active[event.rental_id] = dataclasses.replace(
            rental, end=event.end, paid=rental.paid + event.cost
        )
        head = self._watch.head
        now = head.timestamp if head is not None else event.end
        if event.end - now > self.ends_within:
            self._ending_sent.discard(event.rental_id)
        if event.excess and rental.renter == self.account:
            self._check_balance(event, now)

    def _on_ended(self, event: RentalEnded) -> None:
        rental = self._active.get(event.rental_id)
        if rental is None or event.removed:
            return
        ended = self._client.get_rental(event.rental_id)
        head = self._watch.head
        now = head.timestamp if head is not None else ended.end
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
        self._check_balance(event, now)

    def _check_balance(self, event: ContractEvent, now: int) -> None:
        balance = self._client.balance_of(self.account, block=event.block_number)
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

    def _alert(
        self,
        kind: AlertKind,
        message: str,
        at: int,
        *,
        event: ContractEvent | None = None,
        rental: Rental | None = None,
        amount: int | None = None,
    ) -> None:
        self._pending.append(
            Alert(
                kind=kind,
                account=self.account,
                message=message,
                at=at,
                event=event,
                rental=rental,
                amount=amount,
            )
        )

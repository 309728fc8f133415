"""The analytics recomputed by brute force from the contract's events, in plain Python.

Nothing here reads the index or shares code with ``gpuhub.analytics``: the events come from
``client.get_events`` and the block times from the node, and every statistic is a loop over
them that follows the definitions in the analytics module's docstring word for word.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gpuhub import GPUHubClient, ListingStatus, PriceUnit, RentalStatus, Role
from gpuhub import events as ev

FOREVER = 2**62
WEIGHT_UNIT = 10**12


@dataclass
class Version:
    """A listing's terms and status from ``start`` until the next version's start."""

    start: int
    model: str
    price: int
    unit: PriceUnit
    status: ListingStatus
    provider: str

    @property
    def per_day(self) -> int:
        return self.price * 86400 // self.unit.seconds


@dataclass
class Rent:
    """A rental as its events tell it."""

    rental_id: int
    listing_id: int
    renter: str
    provider: str
    model: str
    start: int
    end: int
    price: int
    unit: PriceUnit
    paid: int
    status: RentalStatus = RentalStatus.ACTIVE
    ended_at: int | None = None
    billed: int = 0
    fee: int = 0
    refund: int = 0

    @property
    def per_day(self) -> int:
        return self.price * 86400 // self.unit.seconds


@dataclass
class Rate:
    rental_id: int
    rater: str
    ratee: str
    role: Role
    score: int
    billed: int
    time: int


@dataclass
class History:
    """Every listing's versions, every rental and rating, with block times."""

    versions: dict[int, list[Version]] = field(default_factory=dict)
    rentals: dict[int, Rent] = field(default_factory=dict)
    ratings: list[Rate] = field(default_factory=list)
    first: int | None = None


def read(client: GPUHubClient) -> History:
    """The history of ``client``'s marketplace from its events."""
    history = History()
    times: dict[int, int] = {}
    for event in client.get_events(0):
        if event.block_number not in times:
            times[event.block_number] = int(
                client.w3.eth.get_block(event.block_number)["timestamp"]
            )
        t = times[event.block_number]
        if isinstance(event, ev.ListingCreated | ev.ListingUpdated):
            old = history.versions.get(event.listing_id)
            status = ListingStatus.AVAILABLE if not old else old[-1].status
            version = Version(t, event.gpu_model, event.price, event.unit, status, event.provider)
            history.versions.setdefault(event.listing_id, []).append(version)
            history.first = t if history.first is None else history.first
        elif isinstance(event, ev.ListingStatusChanged):
            _status(history, event.listing_id, t, event.status)
        elif isinstance(event, ev.RentalStarted):
            last = history.versions[event.listing_id][-1]
            history.rentals[event.rental_id] = Rent(
                event.rental_id,
                event.listing_id,
                event.renter,
                last.provider,
                last.model,
                event.start,
                event.end,
                event.price,
                event.unit,
                event.paid,
            )
            _status(history, event.listing_id, t, ListingStatus.RENTED)
        elif isinstance(event, ev.RentalExtended):
            rental = history.rentals[event.rental_id]
            rental.end = event.end
            rental.paid += event.cost
        elif isinstance(event, ev.RentalEnded):
            rental = history.rentals[event.rental_id]
            rental.end, rental.status, rental.ended_at = event.end, event.status, t
            rental.billed, rental.fee, rental.refund = event.used, event.fee, event.refund
            _status(history, event.listing_id, t, ListingStatus.AVAILABLE)
        elif isinstance(event, ev.Rated):
            history.ratings.append(
                Rate(
                    event.rental_id,
                    event.rater,
                    event.ratee,
                    event.role,
                    event.score,
                    event.billed,
                    t,
                )
            )
    return history


def _status(history: History, listing_id: int, t: int, status: ListingStatus) -> None:
    last = history.versions[listing_id][-1]
    history.versions[listing_id].append(
        Version(t, last.model, last.price, last.unit, status, last.provider)
    )


# ---------------------------------------------------------------------- definitions


def rank_value(values: list[int], percent: int) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


def spans(versions: list[Version]) -> list[tuple[Version, int, int]]:
    """Each version with the seconds [start, end) it held."""
    ends = [v.start for v in versions[1:]] + [FOREVER]
    return [(v, v.start, end) for v, end in zip(versions, ends, strict=True)]


def inside(a: int, b: int, lo: int, hi: int) -> int:
    return max(0, min(b, hi) - max(a, lo))


def state_at(versions: list[Version], at: int) -> Version | None:
    found = None
    for version, start, end in spans(versions):
        if start <= at < end:
            found = version
    return found


def price_block(values: list[int]) -> dict[str, int] | None:
    """min .. max and mean of per-day prices, as wei per hour."""
    if not values:
        return None
    names = {0: "min", 10: "p10", 25: "p25", 50: "median", 75: "p75", 90: "p90", 100: "max"}
    block = {name: rank_value(values, p) // 24 for p, name in names.items()}
    block["mean"] = sum(values) // (24 * len(values))
    return block


def rented_in(rental: Rent, lo: int, hi: int) -> int:
    return inside(rental.start, rental.end, lo, hi)


def market(history: History, lo: int, hi: int) -> dict[str, dict[str, Any]]:
    """``analytics.market`` for ``[lo, hi)``, by model."""
    at = hi - 1
    rows: dict[str, dict[str, Any]] = {}

    def row(model: str) -> dict[str, Any]:
        return rows.setdefault(
            model,
            {
                "listings": 0,
                "available": 0,
                "rented": 0,
                "asks": [],
                "paid": [],
                "rentals": 0,
                "listed": 0,
                "rented_seconds": 0,
                "volume": 0,
            },
        )

    for versions in history.versions.values():
        now = state_at(versions, at)
        if now is not None and now.status != ListingStatus.REMOVED:
            r = row(now.model)
            r["listings"] += 1
            r["available"] += now.status == ListingStatus.AVAILABLE
            r["rented"] += now.status == ListingStatus.RENTED
            if now.status == ListingStatus.AVAILABLE:
                r["asks"].append(now.per_day)
        for version, start, end in spans(versions):
            if version.status != ListingStatus.REMOVED and inside(start, end, lo, hi):
                row(version.model)["listed"] += inside(start, end, lo, hi)
    for rental in history.rentals.values():
        if lo <= rental.start < hi:
            row(rental.model)["rentals"] += 1
            row(rental.model)["paid"].append(rental.per_day)
        if rented_in(rental, lo, hi):
            row(rental.model)["rented_seconds"] += rented_in(rental, lo, hi)
        if rental.ended_at is not None and lo <= rental.ended_at < hi:
            row(rental.model)["volume"] += rental.billed
    weights: dict[str, list[tuple[int, int]]] = {}
    for rating in history.ratings:
        if rating.role == Role.PROVIDER and rating.time < hi:
            model = history.rentals[rating.rental_id].model
            weights.setdefault(model, []).append((rating.score, rating.billed // WEIGHT_UNIT))
    out = {}
    for model, r in rows.items():
        if not (
            r["listings"] or r["listed"] or r["rentals"] or model in _ended_models(history, lo, hi)
        ):
            continue
        scored = weights.get(model, [])
        total_weight = sum(w for _, w in scored)
        out[model] = {
            "listings": r["listings"],
            "available": r["available"],
            "rented": r["rented"],
            "ask": price_block(r["asks"]),
            "realized": price_block(r["paid"]),
            "rentals": r["rentals"],
            "listed_seconds": r["listed"],
            "rented_seconds": r["rented_seconds"],
            "utilization": r["rented_seconds"] / r["listed"] if r["listed"] else None,
            "volume": r["volume"],
            "ratings": len(scored),
            "rating": sum(s * w for s, w in scored) / total_weight if total_weight else None,
        }
    return out


def _ended_models(history: History, lo: int, hi: int) -> set[str]:
    return {
        r.model
        for r in history.rentals.values()
        if r.ended_at is not None and lo <= r.ended_at < hi
    }


def day(t: int) -> int:
    return t // 86400 * 86400


def days(history: History, lo: int, hi: int) -> list[tuple[int, int]]:
    """The UTC days of ``[lo, hi)`` from the first event's day on, cut to the window."""
    assert history.first is not None
    start = max(lo, day(history.first))
    out = []
    while start < hi:
        stop = min(day(start) + 86400, hi)
        out.append((start, stop))
        start = stop
    return out


def price_history(history: History, model: str, lo: int, hi: int) -> dict[int, dict[str, Any]]:
    """``analytics.price_history`` by day."""
    out = {}
    for a, b in days(history, lo, hi):
        asks = []
        for versions in history.versions.values():
            now = state_at(versions, b - 1)
            if now is not None and now.model == model and now.status == ListingStatus.AVAILABLE:
                asks.append(now.per_day)
        paid = [
            r.per_day for r in history.rentals.values() if r.model == model and a <= r.start < b
        ]
        out[a] = {
            "listings": len(asks),
            "ask": price_block(asks),
            "rentals": len(paid),
            "realized": price_block(paid),
        }
    return out


def utilization(history: History, lo: int, hi: int) -> dict[tuple[int, str], tuple[int, int]]:
    """``analytics.utilization`` by day: (listed, rented) seconds per (day, model)."""
    out: dict[tuple[int, str], list[int]] = {}
    for a, b in days(history, lo, hi):
        for versions in history.versions.values():
            for version, start, end in spans(versions):
                seconds = inside(start, end, a, b)
                if version.status != ListingStatus.REMOVED and seconds:
                    out.setdefault((a, version.model), [0, 0])[0] += seconds
        for rental in history.rentals.values():
            seconds = rented_in(rental, a, b)
            if seconds:
                out.setdefault((a, rental.model), [0, 0])[1] += seconds
    return {k: (v[0], v[1]) for k, v in out.items()}


def money(
    history: History, party: str, address: str, lo: int, hi: int, by: str
) -> dict[int, tuple[int, int, int, int]]:
    """``earnings``/``spending`` by day, listing or rental: rentals, billed, fee, refund."""
    out: dict[int, list[int]] = {}
    ended = [
        r
        for r in history.rentals.values()
        if getattr(r, party) == address and r.ended_at is not None and lo <= r.ended_at < hi
    ]
    for rental in ended:
        assert rental.ended_at is not None
        key = {
            "day": max(day(rental.ended_at), lo),
            "listing": rental.listing_id,
            "rental": rental.rental_id,
        }[by]
        entry = out.setdefault(key, [0, 0, 0, 0])
        entry[0] += 1
        entry[1] += rental.billed
        entry[2] += rental.fee
        entry[3] += rental.refund
    return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


def provider_summary(history: History, provider: str, lo: int, hi: int) -> dict[str, Any]:
    """``provider_report(...).summary``."""
    mine = [r for r in history.rentals.values() if r.provider == provider]
    ended = [r for r in mine if r.ended_at is not None and lo <= r.ended_at < hi]
    completed = sum(r.status != RentalStatus.ENDED_BY_PROVIDER for r in ended)
    listed = offered = 0
    listings = 0
    for versions in history.versions.values():
        if versions[0].provider != provider or versions[0].start >= hi:
            continue
        listings += 1
        for version, start, end in spans(versions):
            seconds = inside(start, end, lo, hi)
            if version.status != ListingStatus.REMOVED:
                listed += seconds
                if version.status in (ListingStatus.AVAILABLE, ListingStatus.RENTED):
                    offered += seconds
    rented = sum(rented_in(r, lo, hi) for r in mine)
    scored = [
        (g.score, g.billed // WEIGHT_UNIT)
        for g in history.ratings
        if g.ratee == provider and g.role == Role.PROVIDER and g.time < hi
    ]
    weight = sum(w for _, w in scored)
    billed = sum(r.billed for r in ended)
    fees = sum(r.fee for r in ended)
    return {
        "listings": listings,
        "rentals": sum(lo <= r.start < hi for r in mine),
        "active": sum(
            r.start <= hi - 1 and (r.ended_at is None or r.ended_at > hi - 1) and r.end > hi - 1
            for r in mine
        ),
        "completed": completed,
        "terminated": len(ended) - completed,
        "completion_rate": completed / len(ended) if ended else None,
        "billed": billed,
        "fees": fees,
        "earned": billed - fees,
        "refunds": sum(r.refund for r in ended),
        "listed_seconds": listed,
        "offered_seconds": offered,
        "rented_seconds": rented,
        "availability": offered / listed if listed else None,
        "utilization": rented / listed if listed else None,
        "ratings": len(scored),
        "rating": sum(s * w for s, w in scored) / weight if weight else None,
    }

"""Market statistics from the index, as DataFrames and plots (extra ``analytics``).

    >>> from gpuhub import analytics
    >>> index = gpuhub.MarketIndex(client); index.sync()
    >>> analytics.market(index)                      # one row per GPU model: prices, use, volume
    >>> analytics.price_history(index, "NVIDIA H100", by="day").plot()
    >>> analytics.earnings(index, provider, by="week").frame

Every number comes from the chain's events (the index's history tables) and is exact. The
definitions, which SQL, the tests' plain-Python recomputation and this text share:

**Windows.** A statistic covers ``[end - window, end)``. ``end`` defaults to one second after
the index's last synced block (``index.synced_time + 1``), so that block's events count; give
``end=`` (a timezone-aware datetime or Unix seconds) to look back. An event at block time ``t``
is inside when ``start <= t < end``; a span of time ``[a, b)`` counts the seconds it shares with
the window. "Now" is the window's last second, ``end - 1``. ``window=None`` reaches back to
the first event.

**Prices per hour.** ``price * 3600 // unit seconds``, in wei: exact for MINUTE and HOUR
prices, rounded down to the wei for DAY prices (a DAY price of 100 wei is 4 wei per hour).
Prices are ordered by their exact value per day (``price * 86400 / unit seconds``, a whole
number for every unit) and only the chosen value is rounded, so ordering never suffers.

**Percentiles** (``percentile``) are nearest-rank: among ``n`` values sorted ascending, P\\ ``p``
is the value at 1-based rank ``ceil(p * n / 100)`` (the smallest for P0). Each is one of the
values, never an interpolation, so SQL and Python agree to the wei (numpy's
``method="inverted_cdf"`` is the same rule). The median is P50: the lower middle value of an
even count. Means are the exact sum divided by the count, rounded down to the wei.

**Utilization** is rented seconds / listed seconds. Listed: seconds a listing existed and was not
REMOVED. Rented: seconds billed, from a rental's start to its end (its early end, or its
scheduled end, and at most "now" while it runs), counted for the model the listing had when the
rental started. **Availability** is the share of listed seconds a listing was AVAILABLE or
RENTED (not marked unavailable).

**Money over time.** A rental's money counts once, when it ended: at the block time of its
``RentalEnded`` event, when the contract credited ``billed - fee`` to the provider, the fee to
the treasury and the refund to the renter. A running rental has billed nothing yet (its escrow
shows in the renter's report). **Periods** are UTC hours, days, weeks (from Monday) or calendar
months, each labelled by its start; the first and last are cut to the window.

**Ratings** are the scores renters gave providers; each weighs what its rental billed in
``RATING_WEIGHT_UNIT`` wei, rounded down (the contract's weight), and a mean rating is
``sum(score * weight) / sum(weight)`` (None without weight).

**Columns.** Wei columns hold Python ints (an ``object`` column: no pandas integer dtype holds a
uint256) beside an ``_eth`` float64 column for reading and plotting only; never compute money
from the floats. Times are UTC ``datetime64`` columns.
"""

from __future__ import annotations

import contextlib
import datetime
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .._display import LAST_SECOND
from ..exceptions import MissingDependency, ValidationError

try:
    import matplotlib  # noqa: F401
    import pandas as _pandas  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the installed extras
    raise MissingDependency(
        'statistics and plots need pandas and matplotlib: pip install "gpuhub-eth[analytics]"'
    ) from err

from .._frames import add_money, pandas, time_series
from ..index._schema import money_value
from ..models import RATING_WEIGHT_UNIT, ListingStatus, RentalStatus, Role
from . import _queries as q
from ._queries import PERCENTILES
from ._results import (
    Earnings,
    MarketStats,
    PriceHistory,
    ProviderReport,
    RenterReport,
    Report,
    Result,
    Spending,
    Utilization,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..index import MarketIndex

__all__ = [
    "MAX_PERIODS",
    "PERCENTILES",
    "PERIODS",
    "RATING_WEIGHT_UNIT",
    "Earnings",
    "MarketStats",
    "PriceHistory",
    "ProviderReport",
    "RenterReport",
    "Report",
    "Result",
    "Spending",
    "Utilization",
    "earnings",
    "market",
    "percentile",
    "price_history",
    "provider_report",
    "renter_report",
    "spending",
    "utilization",
]

#: the periods statistics over time can be grouped by.
PERIODS = ("hour", "day", "week", "month")
#: the most periods one statistic over time reports (hours of about 41 days, days of 5 years).
MAX_PERIODS = 1000
_FIXED = {"hour": 3600, "day": 86400, "week": 7 * 86400}
# Weeks start on Mondays: 1969-12-29 was one, and every block time is later.
_WEEK_ORIGIN = -3 * 86400
#: the names of PERCENTILES in column names.
_NAMES = {0: "min", 10: "p10", 25: "p25", 50: "median", 75: "p75", 90: "p90", 100: "max"}
_T = TypeVar("_T")


def percentile(values: Sequence[_T], percent: int) -> _T:
    """The nearest-rank ``percent`` percentile of ``values`` (sorted here): the value at 1-based
    rank ``ceil(percent * n / 100)``, the smallest for 0.

    Example::

        >>> percentile([4, 1, 3, 2], 50), percentile([4, 1, 3, 2], 90)
        (2, 4)

    Raises:
        ValidationError: no values, or ``percent`` outside 0..100.
    """
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise ValidationError("percent", f"expected a whole number from 0 to 100, got {percent!r}")
    ordered = sorted(values)  # type: ignore[type-var]
    if not ordered:
        raise ValidationError("values", "a percentile of no values is undefined")
    rank = max(1, math.ceil(percent * len(ordered) / 100))
    return ordered[rank - 1]


# ---------------------------------------------------------------------- the market


def market(
    index: MarketIndex, *, window: Any = "30d", end: Any = None, model: str | None = None
) -> MarketStats:
    """One row per GPU model: the market now and over the window.

    Columns: ``listings``, ``available`` and ``rented`` now (listings by status, removed ones
    left out); the asking price per hour over the available listings (``ask_min``, ``ask_p10``,
    ``ask_p25``, ``ask_median``, ``ask_p75``, ``ask_p90``, ``ask_max``, ``ask_mean``); the same of
    the prices locked by rentals started in the window (``realized_*``); ``rentals`` started in
    the window; ``listed_seconds``, ``rented_seconds`` and ``utilization`` in the window;
    ``volume``, the wei billed by rentals that ended in the window; ``ratings`` and ``rating``,
    the count and weighted mean of every provider rating given on rentals of the model so far.
    Prices and volume in wei, each with an ``_eth`` column. A model shows when it has listings
    now or activity in the window.

    Args:
        index: a synced MarketIndex.
        window: how far back: ``"30d"``, ``"12h"``, seconds, a timedelta, or None for all time.
        end: the window's end (exclusive); default just after the last synced block.
        model: only this GPU model (the name as listed, exactly).

    Example::

        >>> stats = analytics.market(index, window="7d")
        >>> stats.frame[["model", "available", "ask_median_eth", "utilization"]]
        >>> stats.plot()                                 # price bands per model
    """
    if model is not None:
        model = _model(model)
    lo, hi = _window(index, window, end)
    at = hi - 1

    def listings(db: Connection) -> tuple[Any, ...]:
        current = q.current_listings(db, at)
        free = {m: v for (m, status), v in current.items() if status == _AVAILABLE and v[0]}
        asks = q.asking_prices(db, at, free)
        return current, asks, q.listed_seconds(db, lo, hi), q.provider_ratings(db, hi)

    def rentals(db: Connection) -> tuple[Any, ...]:
        begun = q.started(db, lo, hi)
        paid = q.realized_prices(db, lo, hi, begun)
        return begun, paid, q.rented_seconds(db, lo, hi), q.volume(db, lo, hi)

    (current, asks, listed, rated), (begun, paid, rented, volumes) = _together(
        index, listings, rentals
    )
    by_status: dict[str, dict[int, int]] = {}
    for (m, status), (n, _) in current.items():
        by_status.setdefault(m, {})[status] = n
    models = {m for m, counts in by_status.items() if _listed(counts)}
    models |= {m for m, (seconds, _) in listed.items() if seconds} | set(begun) | set(volumes)
    if model is not None:
        models &= {model}
    names = sorted(models)
    pd = pandas()
    frame = pd.DataFrame({"model": pd.Series(names, dtype=object)})
    frame["listings"] = [_listed(by_status.get(m, {})) for m in names]
    frame["available"] = [by_status.get(m, {}).get(_AVAILABLE, 0) for m in names]
    frame["rented"] = [by_status.get(m, {}).get(int(ListingStatus.RENTED), 0) for m in names]
    _add_price_stats(frame, "ask", [asks.get(m) for m in names])
    _add_price_stats(frame, "realized", [paid.get(m) for m in names])
    frame["rentals"] = [begun.get(m, (0, 0))[0] for m in names]
    frame["listed_seconds"] = [listed.get(m, (0, 0))[0] for m in names]
    frame["rented_seconds"] = [rented.get(m, 0) for m in names]
    frame["utilization"] = [_ratio(rented.get(m, 0), listed.get(m, (0, 0))[0]) for m in names]
    add_money(frame, "volume", [volumes.get(m, 0) for m in names])
    frame["ratings"] = [rated.get(m, (0, 0, 0))[0] for m in names]
    frame["rating"] = [_mean_rating(rated.get(m)) for m in names]
    return MarketStats(frame, start=lo, end=hi)


def price_history(
    index: MarketIndex, model: str, *, by: str = "day", window: Any = "30d", end: Any = None
) -> PriceHistory:
    """One row per period: what ``model`` asked and what its renters paid, per hour.

    ``ask_*`` (min, P10, P25, median, P75, P90, max, mean) are over the listings of the model
    available at the period's last second, ``listings`` how many; ``realized_*`` over the prices
    locked by the model's rentals started in the period, ``rentals`` how many. Wei per hour
    (``_eth`` beside); missing where nothing was available or rented.

    Example::

        >>> analytics.price_history(index, "NVIDIA H100", by="day").plot()
    """
    model = _model(model)
    lo, hi = _window(index, window, end)
    bounds = _bounds(index, lo, hi, by)
    if not bounds:
        return PriceHistory(_empty_prices(), start=lo, end=hi, subject=model)
    with _reading(index) as db:
        asks = {int(k): v for k, v in q.asking_over_time(db, model, bounds).items()}
        paid = {int(k): v for k, v in q.realized_over_time(db, model, bounds).items()}
    pd = pandas()
    starts = [a for a, _ in bounds]
    frame = pd.DataFrame({"period": time_series(starts)})
    frame["listings"] = [asks[s].n if s in asks else 0 for s in starts]
    _add_price_stats(frame, "ask", [asks.get(s) for s in starts])
    frame["rentals"] = [paid[s].n if s in paid else 0 for s in starts]
    _add_price_stats(frame, "realized", [paid.get(s) for s in starts])
    return PriceHistory(frame, start=lo, end=hi, subject=model)


def utilization(
    index: MarketIndex,
    *,
    by: str = "day",
    model: str | None = None,
    window: Any = "30d",
    end: Any = None,
) -> Utilization:
    """One row per period and model: ``listed_seconds``, ``rented_seconds`` and their ratio
    ``utilization`` (see the module's definitions), for every model or only ``model``.

    Example::

        >>> analytics.utilization(index, by="day").plot()
    """
    if model is not None:
        model = _model(model)
    lo, hi = _window(index, window, end)
    bounds = _bounds(index, lo, hi, by)
    rented: dict[tuple[int, str], int] = {}
    listed: dict[tuple[int, str], int] = {}
    if bounds:
        with _reading(index) as db:
            rented, listed = q.seconds_over_time(db, bounds, model)
    keys = sorted(set(listed) | set(rented), key=lambda k: (k[0], k[1]))
    pd = pandas()
    frame = pd.DataFrame(
        {
            "period": time_series([p for p, _ in keys]),
            "model": pd.Series([m for _, m in keys], dtype=object),
        }
    )
    frame["listed_seconds"] = [listed.get(k, 0) for k in keys]
    frame["rented_seconds"] = [rented.get(k, 0) for k in keys]
    frame["utilization"] = [_ratio(rented.get(k, 0), listed.get(k, 0)) for k in keys]
    return Utilization(frame, start=lo, end=hi, subject=model or "")


# ---------------------------------------------------------------------- money of one account


def earnings(
    index: MarketIndex, provider: str, *, by: str = "day", window: Any = None, end: Any = None
) -> Earnings:
    """What ``provider``'s rentals billed, per period, listing or rental.

    ``by``: ``"hour"``, ``"day"``, ``"week"``, ``"month"``, ``"listing"`` or ``"rental"``. Each
    row counts the rentals that ended in it (see the module's definitions): ``rentals``,
    ``billed`` (what renters paid for the time used), ``fees`` (the platform's part),
    ``earned`` (``billed - fees``, credited to the provider) and ``refunds`` (returned to the
    renters), in wei with ``_eth`` columns. Periods with nothing show as zeros; by default the
    window reaches back to the provider's first ended rental.

    Example::

        >>> analytics.earnings(index, provider, by="week").plot()
    """
    address = _address("provider", provider)
    frame, lo, hi = _money(index, q.R.provider, address, by, window, end)
    frame["earned"] = [b - f for b, f in zip(frame["billed"], frame["fees"], strict=True)]
    _money_columns(frame, ("billed", "fees", "earned", "refunds"))
    return Earnings(frame, start=lo, end=hi, subject=address)


def spending(
    index: MarketIndex, renter: str, *, by: str = "day", window: Any = None, end: Any = None
) -> Spending:
    """What ``renter`` paid, per period, listing or rental: of the rentals that ended in each,
    ``paid`` (escrow), ``billed`` (the time used, fees included), ``fees`` and ``refunds``
    (escrow returned), in wei with ``_eth`` columns (see ``earnings`` for ``by``).

    Example::

        >>> analytics.spending(index, renter, by="month").frame
    """
    address = _address("renter", renter)
    frame, lo, hi = _money(index, q.R.renter, address, by, window, end)
    frame["paid"] = [b + r for b, r in zip(frame["billed"], frame["refunds"], strict=True)]
    _money_columns(frame, ("paid", "billed", "fees", "refunds"))
    return Spending(frame, start=lo, end=hi, subject=address)


def provider_report(
    index: MarketIndex, address: str, *, window: Any = None, by: str = "day", end: Any = None
) -> ProviderReport:
    """A provider's listings, money and reputation over the window (all time by default).

    ``summary``: listings, rentals started, ``completed`` (ended by the renter or settled) and
    ``terminated`` (ended early by the provider) among those that ended, ``completion_rate``
    (completed / ended), ``active`` rentals now; ``billed``, ``fees``, ``earned``, ``refunds``
    (wei) of the rentals that ended; ``listed_seconds``, ``offered_seconds`` (AVAILABLE or
    RENTED), ``rented_seconds``, ``availability``, ``utilization``; ``ratings`` and the weighted
    ``rating`` renters gave. ``tables["listings"]``: the same per listing, with its model, status
    and asking price per hour now. ``tables["ratings"]``: each rating, with its weight.
    ``money``: earnings per ``by``.

    Example::

        >>> report = analytics.provider_report(index, provider)
        >>> report                        # tables in a notebook
        >>> report.plot()                 # earnings per day, and each listing's use
    """
    provider = _address("address", address)
    lo, hi = _window(index, window, end)
    with _reading(index) as db:
        versions = q.listings_of(db, provider, hi)
        listed = q.listed_seconds(db, lo, hi, by=q.V.listing_id, where=q.V.provider == provider)
        rented = q.rented_seconds(db, lo, hi, by=q.R.listing_id, where=q.R.provider == provider)
        rows = q.rentals_of(db, q.R.provider, provider, hi)
        given = q.ratings_of(db, provider, Role.PROVIDER, hi)
    pd = pandas()
    ended = [r for r in rows if r["ended_at"] is not None and lo <= r["ended_at"] < hi]
    per_listing: dict[int, dict[str, int]] = {}
    for r in rows:
        entry = per_listing.setdefault(r["listing_id"], {"rentals": 0, "earned": 0})
        entry["rentals"] += lo <= r["start"] < hi
    for r in ended:
        per_listing[r["listing_id"]]["earned"] += money_value(r, "billed") - money_value(r, "fee")
    ids = [v["listing_id"] for v in versions]
    listings = pd.DataFrame({"listing_id": ids})
    listings["model"] = pd.Series([v["model"] for v in versions], dtype=object)
    listings["capacity"] = [v["capacity"] for v in versions]
    busy = {r["listing_id"] for r in rows if _rented_at(r, hi - 1)}
    listings["status"] = _statuses(
        [
            ListingStatus.RENTED if v["listing_id"] in busy else ListingStatus(v["status"])
            for v in versions
        ]
    )
    add_money(listings, "price_per_hour", [money_value(v, "price_per_day") // 24 for v in versions])
    listings["listed_seconds"] = [listed.get(i, (0, 0))[0] for i in ids]
    listings["offered_seconds"] = [listed.get(i, (0, 0))[1] for i in ids]
    listings["rented_seconds"] = [rented.get(i, 0) for i in ids]
    listings["availability"] = [
        _ratio(listed.get(i, (0, 0))[1], listed.get(i, (0, 0))[0]) for i in ids
    ]
    listings["utilization"] = [_ratio(rented.get(i, 0), listed.get(i, (0, 0))[0]) for i in ids]
    listings["rentals"] = [per_listing.get(i, {}).get("rentals", 0) for i in ids]
    add_money(listings, "earned", [per_listing.get(i, {}).get("earned", 0) for i in ids])
    money = earnings(index, provider, by=by, window=_seconds_back(lo, hi, window), end=hi)
    completed = sum(r["status"] != RentalStatus.ENDED_BY_PROVIDER for r in ended)
    billed = sum(money_value(r, "billed") for r in ended)
    fees = sum(money_value(r, "fee") for r in ended)
    listed_total = sum(s for s, _ in listed.values())
    offered_total = sum(o for _, o in listed.values())
    rented_total = sum(rented.values())
    summary: dict[str, Any] = {
        "listings": len(versions),
        "rentals": sum(lo <= r["start"] < hi for r in rows),
        "active": sum(_active_at(r, hi - 1) for r in rows),
        "completed": completed,
        "terminated": len(ended) - completed,
        "completion_rate": _ratio(completed, len(ended)),
        "billed": billed,
        "fees": fees,
        "earned": billed - fees,
        "refunds": sum(money_value(r, "refund") for r in ended),
        "listed_seconds": listed_total,
        "offered_seconds": offered_total,
        "rented_seconds": rented_total,
        "availability": _ratio(offered_total, listed_total),
        "utilization": _ratio(rented_total, listed_total),
        "ratings": len(given),
        "rating": _weighted_mean([(g["score"], g["weight"]) for g in given]),
    }
    tables = {"listings": listings, "ratings": _ratings_frame(given)}
    return ProviderReport(provider, start=lo, end=hi, summary=summary, tables=tables, money=money)


def renter_report(
    index: MarketIndex, address: str, *, window: Any = None, by: str = "day", end: Any = None
) -> RenterReport:
    """A renter's rentals and money over the window (all time by default).

    ``summary``: rentals started, ``active`` now and the ``escrow`` they hold; of the rentals
    that ended, ``paid``, ``billed``, ``fees``, ``refunds`` (wei) and how many were
    ``terminated`` by their provider; ``rented_seconds``; ``ratings`` and the weighted
    ``rating`` providers gave. ``tables["rentals"]``: every rental started in the window, with
    its model, price per hour, status and money. ``money``: spending per ``by``.
    """
    renter = _address("address", address)
    lo, hi = _window(index, window, end)
    with _reading(index) as db:
        rows = [r for r in q.rentals_of(db, q.R.renter, renter, hi) if r["start"] >= lo]
        given = q.ratings_of(db, renter, Role.RENTER, hi)
    pd = pandas()
    ended = {r["id"] for r in rows if r["ended_at"] is not None and r["ended_at"] < hi}
    active = [r for r in rows if _active_at(r, hi - 1)]
    table = pd.DataFrame({"rental_id": [r["id"] for r in rows]})
    table["listing_id"] = [r["listing_id"] for r in rows]
    table["model"] = pd.Series([r["model"] for r in rows], dtype=object)
    table["provider"] = pd.Series([r["provider"] for r in rows], dtype=object)
    table["started"] = time_series([r["start"] for r in rows])
    table["ended"] = time_series([r["ended_at"] if r["id"] in ended else None for r in rows])
    table["status"] = _rental_statuses([_rental_status_at(r, hi) for r in rows])
    add_money(table, "price_per_hour", [money_value(r, "price_per_day") // 24 for r in rows])
    table["rented_seconds"] = [_billed_seconds(r, lo, hi) for r in rows]
    add_money(table, "paid", [int(r["paid"]) for r in rows])
    add_money(table, "billed", [_if(r["id"] in ended, r, "billed") for r in rows])
    add_money(table, "refund", [_if(r["id"] in ended, r, "refund") for r in rows])
    money = spending(index, renter, by=by, window=_seconds_back(lo, hi, window), end=hi)
    done = [r for r in rows if r["id"] in ended]
    summary: dict[str, Any] = {
        "rentals": len(rows),
        "active": len(active),
        "escrow": sum(int(r["paid"]) for r in active),
        "paid": sum(int(r["paid"]) for r in done),
        "billed": sum(money_value(r, "billed") for r in done),
        "fees": sum(money_value(r, "fee") for r in done),
        "refunds": sum(money_value(r, "refund") for r in done),
        "terminated": sum(r["status"] == RentalStatus.ENDED_BY_PROVIDER for r in done),
        "rented_seconds": sum(_billed_seconds(r, lo, hi) for r in rows),
        "ratings": len(given),
        "rating": _weighted_mean([(g["score"], g["weight"]) for g in given]),
    }
    tables = {"rentals": table, "ratings": _ratings_frame(given)}
    return RenterReport(renter, start=lo, end=hi, summary=summary, tables=tables, money=money)


# ---------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _reading(index: MarketIndex) -> Iterator[Connection]:
    """One connection whose queries all see the index as it was at the first (a sync may
    commit meanwhile)."""
    from ..index._index import _snapshot

    with _snapshot(index._engine) as db:
        yield db


_R = TypeVar("_R")


def _together(index: MarketIndex, *reads: Callable[[Connection], _R]) -> list[_R]:
    """Run ``reads`` at once, each on a connection of its own (SQLite and PostgreSQL answer
    several readers in parallel), all seeing the index in one state: each connection reads the
    synced block and its hash first, and if a sync committed between them, all read again."""
    from concurrent.futures import ThreadPoolExecutor

    from ..index._index import _snapshot

    def run(read: Callable[[Connection], _R]) -> tuple[Any, _R]:
        with _snapshot(index._engine) as db:
            state = q.state(db)
            return state, read(db)

    database = index._engine.url.database
    if index._engine.dialect.name == "sqlite" and database in (None, "", ":memory:"):
        attempts = 0  # each connection to an in-memory database is a database of its own
    else:
        attempts = _ATTEMPTS
    for _ in range(attempts):
        with ThreadPoolExecutor(len(reads), thread_name_prefix="gpuhub-analytics") as pool:
            answers = list(pool.map(run, reads))
        if len({state for state, _ in answers}) == 1:
            return [answer for _, answer in answers]
    with _reading(index) as db:  # syncs keep committing: read everything on one connection
        return [read(db) for read in reads]


#: tries of _together before it reads on one connection.
_ATTEMPTS = 3


def _window(index: MarketIndex, window: Any, end: Any) -> tuple[int, int]:
    """``[start, end)`` in Unix seconds for the arguments every statistic takes."""
    hi = min(index.synced_time + 1, LAST_SECOND) if end is None else _moment(end)
    if window is None:
        return 0, hi
    seconds = _duration(window)
    return max(0, hi - seconds), hi


def _moment(value: Any) -> int:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValidationError(
                "end", "give a timezone-aware datetime (datetime.now(datetime.UTC), say)"
            )
        return math.ceil(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("end", f"expected a datetime or Unix seconds >= 0, got {value!r}")
    if value > LAST_SECOND:
        raise ValidationError(
            "end", f"at most {LAST_SECOND} (the last second of the year 9999), got {value}"
        )
    return value


def _duration(value: Any) -> int:
    from ..units import parse_duration

    if isinstance(value, str):
        seconds = parse_duration(value, field="window")
    elif isinstance(value, datetime.timedelta):
        seconds = value.days * 86400 + value.seconds
        if value.microseconds:
            raise ValidationError("window", "give a whole number of seconds")
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise ValidationError(
            "window", f"expected a duration such as 30d or 12h, seconds, or None, got {value!r}"
        )
    if seconds <= 0:
        raise ValidationError("window", f"a window must be longer than 0 seconds, got {value!r}")
    return seconds


def _seconds_back(lo: int, hi: int, window: Any) -> Any:
    return None if window is None else hi - lo


def _address(field: str, value: Any) -> str:
    from .._core import check_address

    return check_address(field, value)


def _check_by(by: Any, allowed: Sequence[str]) -> str:
    if by not in allowed:
        raise ValidationError("by", f"expected one of {', '.join(allowed)}, got {by!r}")
    return str(by)


def _fixed(by: str) -> tuple[int, int]:
    """The length and origin of the fixed periods ``by`` is bucketed in (days for months)."""
    return _FIXED.get(by, 86400), _WEEK_ORIGIN if by == "week" else 0


def _period_start(t: int, by: str, floor: int = 0) -> int:
    """The start of the period ``t`` is in, cut to ``floor`` (the window's start)."""
    if by == "month":
        moment = datetime.datetime.fromtimestamp(t, tz=datetime.UTC)
        start = int(moment.replace(day=1, hour=0, minute=0, second=0).timestamp())
    else:
        length, origin = _fixed(by)
        start = (t - origin) // length * length + origin
    return max(start, floor)


def _next_period(t: int, by: str) -> int:
    if by == "month":
        moment = datetime.datetime.fromtimestamp(t, tz=datetime.UTC)
        year, month = (
            (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        )
        return int(datetime.datetime(year, month, 1, tzinfo=datetime.UTC).timestamp())
    length, origin = _fixed(by)
    return (t - origin) // length * length + origin + length


def _bounds(index: MarketIndex, lo: int, hi: int, by: str) -> list[tuple[int, int]]:
    """The periods of ``[lo, hi)``, each cut to it, from the period of the history's first event
    on (periods before the market existed are left out)."""
    _check_by(by, PERIODS)
    with _reading(index) as db:
        first = q.first_time(db)
    if first is None:
        return []
    return _bounds_from(max(lo, _period_start(first, by)), hi, by)


def _money(
    index: MarketIndex, party: Any, address: str, by: str, window: Any, end: Any
) -> tuple[Any, int, int]:
    """The frame of ``earnings``/``spending``: rentals and billed, fees, refunds per ``by``."""
    _check_by(by, (*PERIODS, "listing", "rental"))
    lo, hi = _window(index, window, end)
    pd = pandas()
    if by in ("listing", "rental"):
        key = q.R.listing_id if by == "listing" else q.R.id
        with _reading(index) as db:
            rows = q.money_over_time(db, party, address, key, lo, hi)
        frame = pd.DataFrame({f"{by}_id": [int(k) for k, _, _ in rows]})
        _fill_money(frame, [(n, sums) for _, n, sums in rows])
        return frame, lo, hi
    length, origin = _fixed(by)
    with _reading(index) as db:
        rows = q.money_over_time(db, party, address, q.bucket(q.R.ended_at, length, origin), lo, hi)
        first = q.first_end(db, party, address) if window is None else None
    if window is None:
        lo_shown = lo if first is None else max(lo, _period_start(first, by))
    else:
        lo_shown = lo
    grouped: dict[int, tuple[int, dict[str, int]]] = {}
    for key, n, sums in rows:
        start = _period_start(max(int(key), lo_shown), by, lo_shown)
        count, totals = grouped.get(start, (0, {"billed": 0, "fee": 0, "refund": 0}))
        grouped[start] = (count + n, {k: totals[k] + v for k, v in sums.items()})
    starts = [] if not rows else [s for s, _ in _bounds_from(lo_shown, hi, by)]
    frame = pd.DataFrame({"period": time_series(starts)})
    _fill_money(frame, [grouped.get(s, (0, {"billed": 0, "fee": 0, "refund": 0})) for s in starts])
    return frame, lo, hi


def _bounds_from(lo: int, hi: int, by: str) -> list[tuple[int, int]]:
    """The periods ``by`` of ``[lo, hi)``, each cut to it (at most MAX_PERIODS)."""
    first = _period_start(lo, by)
    count = (hi - first) // _FIXED.get(by, 28 * 86400) + 1
    if count > MAX_PERIODS + 1:
        raise ValidationError(
            "by",
            f"{by}s over this window make about {count} periods, more than {MAX_PERIODS}: group "
            "by a longer period or take a shorter window",
        )
    bounds = []
    start = lo
    while start < hi:
        stop = min(_next_period(start, by), hi)
        bounds.append((start, stop))
        start = stop
    return bounds


def _model(value: Any) -> str:
    """A GPU model name as listings hold it: text of 1 to 64 bytes of UTF-8, no control
    characters (the contract refuses them, and PostgreSQL text cannot hold NUL)."""
    if not isinstance(value, str):
        raise ValidationError("model", f"expected text, got {type(value).__name__}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError("model", "not text that UTF-8 can hold") from None
    if not 1 <= size <= 64 or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValidationError(
            "model", "a GPU model is 1 to 64 bytes of UTF-8 without control characters"
        )
    return value


def _fill_money(frame: Any, rows: Sequence[tuple[int, dict[str, int]]]) -> None:
    frame["rentals"] = [n for n, _ in rows]
    frame["billed"] = pandas().Series([s["billed"] for _, s in rows], dtype=object)
    frame["fees"] = pandas().Series([s["fee"] for _, s in rows], dtype=object)
    frame["refunds"] = pandas().Series([s["refund"] for _, s in rows], dtype=object)


def _money_columns(frame: Any, names: Sequence[str]) -> None:
    """Order the money columns as ``names`` and add their ``_eth`` columns."""
    values = {name: [int(v) for v in frame[name]] for name in names}
    for name in names:
        del frame[name]
    for name in names:
        add_money(frame, name, values[name])


def _add_price_stats(frame: Any, prefix: str, found: Sequence[q.Picked | None]) -> None:
    """``prefix``_min .. _max and _mean (wei per hour) from price_stats groups (None: none)."""
    values: list[dict[str, int] | None] = []
    for picked in found:
        if picked is None:
            values.append(None)
            continue
        stats = {_NAMES[p]: value // 24 for p, value in picked.percentiles.items()}
        stats["mean"] = picked.total // (24 * picked.n)
        values.append(stats)
    _add_price_values(frame, prefix, values)


def _add_price_values(frame: Any, prefix: str, values: Sequence[dict[str, int] | None]) -> None:
    for name in [*_NAMES.values(), "mean"]:
        add_money(frame, f"{prefix}_{name}", [None if v is None else v[name] for v in values])


def _empty_prices() -> Any:
    pd = pandas()
    frame = pd.DataFrame({"period": time_series([])})
    frame["listings"] = pd.Series([], dtype="int64")
    _add_price_stats(frame, "ask", [])
    frame["rentals"] = pd.Series([], dtype="int64")
    _add_price_stats(frame, "realized", [])
    return frame


_AVAILABLE = int(ListingStatus.AVAILABLE)


def _listed(counts: dict[int, int]) -> int:
    """Listings not removed, from counts by status."""
    return sum(n for status, n in counts.items() if status != ListingStatus.REMOVED)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def _if(ended: bool, rental: Any, amount: str) -> int | None:
    return money_value(rental, amount) if ended else None


def _weighted_mean(scores: Sequence[tuple[int, int]]) -> float | None:
    weight = sum(w for _, w in scores)
    return None if weight == 0 else sum(s * w for s, w in scores) / weight


def _mean_rating(found: tuple[int, int, int] | None) -> float:
    if found is None or found[2] == 0:
        return float("nan")
    return found[1] / found[2]


def _active_at(rental: Any, at: int) -> bool:
    return bool(
        rental["start"] <= at
        and (rental["ended_at"] is None or rental["ended_at"] > at)
        and rental["end"] > at
    )


def _rented_at(rental: Any, at: int) -> bool:
    """The rental holds its listing at ``at`` (from its start until its RentalEnded)."""
    return bool(rental["start"] <= at and (rental["ended_at"] is None or rental["ended_at"] > at))


def _rental_status_at(rental: Any, hi: int) -> RentalStatus:
    if rental["ended_at"] is not None and rental["ended_at"] < hi:
        return RentalStatus(rental["status"])
    return RentalStatus.ACTIVE


def _billed_seconds(rental: Any, lo: int, hi: int) -> int:
    return max(0, min(int(rental["end"]), hi) - max(int(rental["start"]), lo))


def _statuses(values: Sequence[ListingStatus | None]) -> Any:
    from .._frames import enum_series

    return enum_series(values, ListingStatus)


def _rental_statuses(values: Sequence[RentalStatus]) -> Any:
    from .._frames import enum_series

    return enum_series(values, RentalStatus)


def _ratings_frame(rows: Sequence[Any]) -> Any:
    pd = pandas()
    frame = pd.DataFrame({"rental_id": [r["rental_id"] for r in rows]})
    frame["rater"] = pd.Series([r["rater"] for r in rows], dtype=object)
    frame["score"] = [r["score"] for r in rows]
    add_money(frame, "billed", [int(r["billed"]) for r in rows])
    frame["weight"] = [r["weight"] for r in rows]
    frame["comment"] = pd.Series([r["comment"] for r in rows], dtype=object)
    frame["time"] = time_series([r["time"] for r in rows])
    return frame

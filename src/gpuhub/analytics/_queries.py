"""The statistics as SQL over the index's history tables, the same on SQLite and PostgreSQL.

Money is summed exactly: PostgreSQL adds the 78-digit strings as NUMERIC; SQLite, whose integers
stop at 2**63 - 1, adds them in 12-digit slices (each slice's sum fits up to 9 million rows;
past that SQLite raises "integer overflow" rather than answering wrong) and Python carries.
Percentiles are picked by rank with window functions, so each is one stored value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Numeric,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.sql import ColumnElement, Select

from ..index._schema import WEI_DIGITS, listing_versions, ratings, rentals
from ..models import RATING_WEIGHT_UNIT, ListingStatus, Role

V = listing_versions.c
R = rentals.c
G = ratings.c

#: the percentiles every price statistic reports, in percent (0 is the minimum, 100 the maximum).
PERCENTILES = (0, 10, 25, 50, 75, 90, 100)
_SLICE = 12
# (first character, length) of each slice of a 78-digit amount, from the lowest digits up.
_SLICES = tuple(
    (max(1, WEI_DIGITS - end + 1), min(_SLICE, WEI_DIGITS - end + _SLICE))
    for end in range(_SLICE, WEI_DIGITS + _SLICE, _SLICE)
)


def least(a: Any, b: Any) -> Any:
    """The smaller of two SQL values (SQLite's two-argument min is PostgreSQL's LEAST)."""
    return case((a < b, a), else_=b)


def greatest(a: Any, b: Any) -> Any:
    """The larger of two SQL values."""
    return case((a > b, a), else_=b)


def seconds_inside(start: Any, end: Any, lo: int, hi: int) -> Any:
    """Seconds of ``[start, end)`` inside ``[lo, hi)``, for rows that overlap it."""
    return least(end, literal(hi, BigInteger)) - greatest(start, literal(lo, BigInteger))


def overlaps(start: Any, end: Any, lo: int, hi: int) -> ColumnElement[bool]:
    """``[start, end)`` and ``[lo, hi)`` share at least one second."""
    return and_(start < hi, end > lo)


@dataclass(frozen=True, slots=True)
class WeiSum:
    """An exact SUM of a wei column: the SQL columns to select, and their value from a row."""

    name: str
    postgres: bool

    @classmethod
    def of(cls, db: Connection, column: Any, name: str) -> tuple[WeiSum, list[Any]]:
        postgres = db.dialect.name == "postgresql"
        total = cls(name, postgres)
        if postgres:
            return total, [cast(func.sum(cast(column, Numeric)), Text).label(name)]
        return total, [
            func.sum(cast(func.substr(column, first, length), BigInteger)).label(f"{name}_{i}")
            for i, (first, length) in enumerate(_SLICES)
        ]

    def value(self, row: Any) -> int:
        """The sum in ``row`` (0 when no rows were summed)."""
        if self.postgres:
            text = row._mapping[self.name]
            return 0 if text is None else int(text)
        total = 0
        for i in range(len(_SLICES)):
            part = row._mapping[f"{self.name}_{i}"]
            total += (part or 0) * 10 ** (_SLICE * i)
        return total


def rank(percent: int, count: Any) -> Any:
    """The 1-based rank of the nearest-rank percentile among ``count`` sorted values."""
    if percent == 0:
        return literal(1)
    return (count * percent + 99) // 100


def percentile_columns(ranked: Any, value: Any, count: Any) -> list[Any]:
    """MIN(CASE WHEN rank = r_p THEN value END) for each of PERCENTILES, as ``p0 .. p100``."""
    return [func.min(case((ranked == rank(p, count), value))).label(f"p{p}") for p in PERCENTILES]


def ranked(query: Select[Any], partition: Any, value: Any) -> Any:
    """``query`` with each row's rank by ``value`` within ``partition`` and the partition's size,
    as a subquery with columns ``key``, ``value``, ``rn``, ``n``."""
    return query.add_columns(
        partition.label("key"),
        value.label("value"),
        func.row_number().over(partition_by=partition, order_by=value).label("rn"),
        func.count().over(partition_by=partition).label("n"),
    ).subquery()


def price_stats(db: Connection, query: Select[Any], partition: Any, value: Any) -> list[Any]:
    """Per partition key: n, the PERCENTILES of ``value`` (wei strings) and their exact sum."""
    sub = ranked(query, partition, value)
    total, sum_columns = WeiSum.of(db, sub.c.value, "total")
    statement = (
        select(sub.c.key, func.max(sub.c.n).label("n"))
        .add_columns(*percentile_columns(sub.c.rn, sub.c.value, sub.c.n), *sum_columns)
        .group_by(sub.c.key)
    )
    return [(row, total.value(row)) for row in db.execute(statement)]


# ------------------------------------------------------------------ market


def current_listings(db: Connection, at: int) -> list[Any]:
    """Per model: listings not removed, available and rented at the moment ``at``."""
    status = V.status
    statement = (
        select(
            V.model,
            func.sum(case((status != int(ListingStatus.REMOVED), 1), else_=0)).label("listings"),
            func.sum(case((status == int(ListingStatus.AVAILABLE), 1), else_=0)).label("available"),
            func.sum(case((status == int(ListingStatus.RENTED), 1), else_=0)).label("rented"),
        )
        .where(V.start <= at, V.end > at)
        .group_by(V.model)
    )
    return list(db.execute(statement))


def asking_prices(db: Connection, at: int, model: str | None = None) -> list[Any]:
    """Per model: the per-day asking prices of the listings available at ``at``."""
    query = (
        select()
        .select_from(listing_versions)
        .where(V.start <= at, V.end > at, V.status == int(ListingStatus.AVAILABLE))
    )
    if model is not None:
        query = query.where(V.model == model)
    return price_stats(db, query, V.model, V.price_per_day)


def realized_prices(db: Connection, lo: int, hi: int, model: str | None = None) -> list[Any]:
    """Per model: the per-day prices locked by rentals that started in ``[lo, hi)``."""
    query = select().select_from(rentals).where(R.start >= lo, R.start < hi)
    if model is not None:
        query = query.where(R.model == model)
    return price_stats(db, query, R.model, R.price_per_day)


def rented_seconds(
    db: Connection, lo: int, hi: int, *, by: Any = None, where: Any = None
) -> dict[Any, int]:
    """Seconds billed inside ``[lo, hi)`` per model (or per ``by``, a rentals column)."""
    key = R.model if by is None else by
    statement = (
        select(key, func.sum(seconds_inside(R.start, R.end, lo, hi)))
        .where(overlaps(R.start, R.end, lo, hi))
        .group_by(key)
    )
    if where is not None:
        statement = statement.where(where)
    return {k: int(v) for k, v in db.execute(statement)}


def listed_seconds(
    db: Connection, lo: int, hi: int, *, by: Any = None, where: Any = None
) -> dict[Any, tuple[int, int]]:
    """Per model (or per ``by``, a versions column): seconds inside ``[lo, hi)`` listed (not
    removed) and, of those, offered (AVAILABLE or RENTED)."""
    key = V.model if by is None else by
    inside = seconds_inside(V.start, V.end, lo, hi)
    offered = V.status.in_([int(ListingStatus.AVAILABLE), int(ListingStatus.RENTED)])
    statement = (
        select(key, func.sum(inside), func.sum(case((offered, inside), else_=0)))
        .where(
            V.status != int(ListingStatus.REMOVED),
            V.end > lo,
            V.start < hi,
            V.start < V.end,
        )
        .group_by(key)
    )
    if where is not None:
        statement = statement.where(where)
    return {k: (int(total), int(up)) for k, total, up in db.execute(statement)}


def rentals_started(db: Connection, lo: int, hi: int) -> dict[str, int]:
    """Per model: rentals started in ``[lo, hi)``."""
    statement = select(R.model, func.count()).where(R.start >= lo, R.start < hi).group_by(R.model)
    return {model: int(n) for model, n in db.execute(statement)}


def volume(db: Connection, lo: int, hi: int) -> dict[str, int]:
    """Per model: wei billed by rentals that ended in ``[lo, hi)``."""
    total, columns = WeiSum.of(db, R.billed, "billed")
    statement = select(R.model, *columns).where(R.ended_at >= lo, R.ended_at < hi).group_by(R.model)
    return {row[0]: total.value(row) for row in db.execute(statement)}


def weight() -> Any:
    """A rating's weight in SQL: its rental's billed wei // RATING_WEIGHT_UNIT (below 2**48, as
    the contract checks)."""
    digits = WEI_DIGITS - len(str(RATING_WEIGHT_UNIT)) + 1
    return cast(func.substr(G.billed, 1, digits), BigInteger)


def provider_ratings(
    db: Connection, hi: int, *, by: Any = None, where: Any = None
) -> dict[Any, tuple[int, int, int]]:
    """Per model (or ``by``): ratings renters gave providers before ``hi``: their count, the sum
    of score x weight and the sum of weights."""
    key = R.model if by is None else by
    statement = (
        select(key, func.count(), func.sum(G.score * weight()), func.sum(weight()))
        .select_from(ratings.join(rentals, R.id == G.rental_id))
        .where(G.role == int(Role.PROVIDER), G.time < hi)
        .group_by(key)
    )
    if where is not None:
        statement = statement.where(where)
    return {k: (int(n), int(s or 0), int(w or 0)) for k, n, s, w in db.execute(statement)}


# ------------------------------------------------------------------ over time


def bucket(column: Any, length: int, origin: int) -> Any:
    """The start of the period of ``length`` seconds (counted from ``origin``) ``column`` is in."""
    return (column - origin) // length * length + origin


def periods_table(bounds: Sequence[tuple[int, int]]) -> Any:
    """A subquery with one row (``lo``, ``hi``, ``at``) per period: its bounds and its last
    second."""
    rows = [
        select(
            literal(lo, BigInteger).label("lo"),
            literal(hi, BigInteger).label("hi"),
            literal(hi - 1, BigInteger).label("at"),
        )
        for lo, hi in bounds
    ]
    return union_all(*rows).subquery("periods") if len(rows) > 1 else rows[0].subquery("periods")


def asking_over_time(db: Connection, model: str, bounds: Sequence[tuple[int, int]]) -> list[Any]:
    """Per period: the asking prices of ``model``'s listings available at the period's last
    second."""
    periods = periods_table(bounds)
    query = (
        select()
        .select_from(listing_versions)
        .join(periods, and_(V.start <= periods.c.at, V.end > periods.c.at))
        .where(V.model == model, V.status == int(ListingStatus.AVAILABLE))
    )
    return price_stats(db, query, periods.c.lo, V.price_per_day)


def realized_over_time(db: Connection, model: str, bounds: Sequence[tuple[int, int]]) -> list[Any]:
    """Per period: the prices locked by ``model``'s rentals that started in it."""
    periods = periods_table(bounds)
    query = (
        select()
        .select_from(rentals)
        .join(periods, and_(R.start >= periods.c.lo, R.start < periods.c.hi))
        .where(R.model == model)
    )
    return price_stats(db, query, periods.c.lo, R.price_per_day)


def seconds_over_time(
    db: Connection, bounds: Sequence[tuple[int, int]], model: str | None
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """Per (period, model): seconds rented and seconds listed inside the period."""
    periods = periods_table(bounds)
    rented_query = (
        select(
            periods.c.lo,
            R.model,
            func.sum(least(R.end, periods.c.hi) - greatest(R.start, periods.c.lo)),
        )
        .select_from(rentals)
        .join(periods, and_(R.start < periods.c.hi, R.end > periods.c.lo))
        .group_by(periods.c.lo, R.model)
    )
    listed_query = (
        select(
            periods.c.lo,
            V.model,
            func.sum(least(V.end, periods.c.hi) - greatest(V.start, periods.c.lo)),
        )
        .select_from(listing_versions)
        .join(periods, and_(V.start < periods.c.hi, V.end > periods.c.lo))
        .where(V.status != int(ListingStatus.REMOVED))
        .group_by(periods.c.lo, V.model)
    )
    if model is not None:
        rented_query = rented_query.where(R.model == model)
        listed_query = listed_query.where(V.model == model)
    rented = {(int(p), m): int(s) for p, m, s in db.execute(rented_query)}
    listed = {(int(p), m): int(s) for p, m, s in db.execute(listed_query)}
    return rented, listed


def money_over_time(
    db: Connection, party: Any, address: str, key: Any, lo: int, hi: int
) -> list[tuple[Any, int, dict[str, int]]]:
    """Per ``key`` (a period's start, a listing or a rental): rentals of ``address`` (as
    ``party``, a rentals column) that ended in ``[lo, hi)``, and their billed, fee and refund."""
    sums = [WeiSum.of(db, getattr(R, name), name) for name in ("billed", "fee", "refund")]
    statement = (
        select(key.label("key"), func.count().label("rentals"))
        .add_columns(*(column for _, columns in sums for column in columns))
        .where(party == address, R.ended_at >= lo, R.ended_at < hi)
        .group_by(key)
        .order_by(key)
    )
    return [
        (row.key, int(row.rentals), {total.name: total.value(row) for total, _ in sums})
        for row in db.execute(statement)
    ]


def first_end(db: Connection, party: Any, address: str) -> int | None:
    """When ``address``'s first rental (as ``party``) ended, if one has."""
    found = db.execute(select(func.min(R.ended_at)).where(party == address)).scalar()
    return None if found is None else int(found)


def rentals_of(db: Connection, party: Any, address: str, hi: int) -> list[Any]:
    """Every rental of ``address`` (as ``party``) that started before ``hi``, in id order."""
    statement = select(rentals).where(party == address, R.start < hi).order_by(R.id)
    return list(db.execute(statement).mappings())


def listings_of(db: Connection, provider: str, hi: int) -> list[Any]:
    """The last version before ``hi`` of each listing ``provider`` created, in id order."""
    latest = (
        select(V.listing_id, func.max(V.id).label("id"))
        .where(V.provider == provider, V.start < hi)
        .group_by(V.listing_id)
        .subquery()
    )
    statement = select(listing_versions).join(latest, latest.c.id == V.id).order_by(V.listing_id)
    return list(db.execute(statement).mappings())


def ratings_of(db: Connection, ratee: str, role: Role, hi: int) -> list[Any]:
    """The ratings ``ratee`` received on ``role``'s side before ``hi``, oldest first."""
    statement = (
        select(ratings)
        .where(G.ratee == ratee, G.role == int(role), G.time < hi)
        .order_by(G.block, G.rental_id)
    )
    return list(db.execute(statement).mappings())


def first_time(db: Connection) -> int | None:
    """The block time of the first listing event the history holds."""
    found = db.execute(select(func.min(V.start))).scalar()
    return None if found is None else int(found)

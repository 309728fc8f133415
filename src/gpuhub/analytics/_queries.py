"""The statistics as SQL over the index's history tables, the same on SQLite and PostgreSQL.

Amounts are read as their three whole-number parts (``_schema.money_columns``): sums add each
part (exact; past 9 million rows SQLite raises "integer overflow" rather than answering wrong)
and Python carries; ranks order by the parts, so each percentile is one stored value. The hot
queries read one covering index each, never the wide rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.functions import FunctionElement

from ..index._schema import (
    MONEY_BASE,
    blocks,
    listing_versions,
    meta,
    model_ratings,
    money_parts,
    money_value,
    ratings,
    rentals,
)
from ..models import ListingStatus, Role

V = listing_versions.c
R = rentals.c
G = ratings.c
M = model_ratings.c

#: the percentiles every price statistic reports, in percent (0 is the minimum, 100 the maximum).
PERCENTILES = (0, 10, 25, 50, 75, 90, 100)
_PARTS = (2, 1, 0)


class least(FunctionElement[int]):
    """The smaller of two whole numbers: LEAST, or SQLite's two-argument min()."""

    type = BigInteger()
    inherit_cache = True


class greatest(FunctionElement[int]):
    """The larger of two whole numbers: GREATEST, or SQLite's two-argument max()."""

    type = BigInteger()
    inherit_cache = True


@compiles(least)
def _least(element: least, compiler: Any, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: Any, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(greatest)
def _greatest(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


def seconds_inside(start: Any, end: Any, lo: int, hi: int) -> Any:
    """Seconds of ``[start, end)`` inside ``[lo, hi)``, for rows that overlap it."""
    return least(end, literal(hi, BigInteger)) - greatest(start, literal(lo, BigInteger))


def overlaps(start: Any, end: Any, lo: int, hi: int) -> ColumnElement[bool]:
    """``[start, end)`` and ``[lo, hi)`` share at least one second."""
    return and_(end > lo, start < hi)


@dataclass(frozen=True, slots=True)
class WeiSum:
    """An exact SUM of an amount: the SQL columns to select, and its value from a row."""

    name: str

    @classmethod
    def of(cls, table: Table, amount: str, name: str | None = None) -> tuple[WeiSum, list[Any]]:
        total = cls(name or amount)
        parts = money_parts(table, amount)
        return total, [
            func.sum(c).label(f"{total.name}_{p}") for c, p in zip(parts, _PARTS, strict=True)
        ]

    def value(self, row: Any) -> int:
        """The sum in ``row`` (0 when no rows were summed)."""
        parts = [row._mapping[f"{self.name}_{p}"] or 0 for p in _PARTS]
        return int((parts[0] * MONEY_BASE + parts[1]) * MONEY_BASE + parts[2])


def rank(percent: int, count: int) -> int:
    """The 1-based rank of the nearest-rank ``percent`` percentile among ``count`` sorted values
    (``analytics.percentile``'s rule)."""
    return max(1, -(-percent * count // 100))


@dataclass(frozen=True, slots=True)
class Picked:
    """One group's price statistics: how many values, each of PERCENTILES, their sum."""

    n: int
    percentiles: dict[int, int]
    total: int


def counts_and_sums(
    db: Connection, query: Select[Any], partition: Any, table: Table, amount: str
) -> dict[Any, tuple[int, int]]:
    """Per partition key: how many of ``query``'s rows, and the exact sum of their amount."""
    total, sums = WeiSum.of(table, amount, "total")
    statement = query.add_columns(partition.label("key"), func.count().label("n"), *sums)
    return {
        row.key: (int(row.n), total.value(row)) for row in db.execute(statement.group_by(partition))
    }


def price_stats(
    db: Connection,
    query: Select[Any],
    partition: Any,
    table: Table,
    amount: str,
    counts: dict[Any, tuple[int, int]] | None = None,
) -> dict[Any, Picked]:
    """Per partition key, the PERCENTILES of the amount over ``query``'s rows and their sum.

    One pass counts (unless ``counts`` already holds each key's count and sum), one numbers the
    rows of each key in the amount's order (ROW_NUMBER) and keeps only those at a wanted rank.
    """
    if counts is None:
        counts = counts_and_sums(db, query, partition, table, amount)
    wanted = sorted({rank(p, n) for n, _ in counts.values() for p in PERCENTILES})
    if not wanted:
        return {}
    parts = money_parts(table, amount)
    numbered = query.add_columns(
        partition.label("key"),
        *(c.label(f"v_{p}") for c, p in zip(parts, _PARTS, strict=True)),
        func.row_number().over(partition_by=partition, order_by=parts).label("rn"),
    ).subquery()
    found: dict[tuple[Any, int], int] = {}
    statement = select(numbered).where(numbered.c.rn.in_(wanted))
    for row in db.execute(statement):
        found[(row.key, int(row.rn))] = money_value(row._mapping, "v")
    return {
        key: Picked(n, {p: found[(key, rank(p, n))] for p in PERCENTILES}, total)
        for key, (n, total) in counts.items()
        if n
    }


# ------------------------------------------------------------------ market


def rented_at(at: int) -> Any:
    """The listings rented at the moment ``at``: a rental started, and not ended yet. (Two
    selects, each a range of the ended_at index: the running rentals, and those that ended
    after ``at``; one condition with OR would have the database scan every rental.)"""
    running = select(R.listing_id).where(R.ended_at.is_(None), R.start <= at)
    ended_later = select(R.listing_id).where(R.ended_at > at, R.start <= at)
    return union_all(running, ended_later)


def current_listings(db: Connection, at: int) -> dict[tuple[str, int], tuple[int, int]]:
    """Per (model, status) at the moment ``at``: how many listings, and the sum of their prices
    per day. Versions give the provider's side (AVAILABLE, UNAVAILABLE, REMOVED); the rented
    ones among the AVAILABLE are counted as RENTED."""
    total, sums = WeiSum.of(listing_versions, "price_per_day", "total")
    found: dict[tuple[str, int], tuple[int, int]] = {}
    sides = (
        select(V.model, V.status, func.count().label("n"), *sums)
        .where(V.end > at, V.start <= at)
        .group_by(V.model, V.status)
    )
    for row in db.execute(sides):
        found[(row.model, int(row.status))] = (int(row.n), total.value(row))
    busy = rented_at(at).subquery()
    rented = (
        select(V.model, func.count().label("n"), *sums)
        .select_from(busy)
        .join(listing_versions, and_(V.listing_id == busy.c.listing_id, V.end > at))
        .where(V.start <= at, V.status == int(ListingStatus.AVAILABLE))
        .group_by(V.model)
    )
    available, taken = int(ListingStatus.AVAILABLE), int(ListingStatus.RENTED)
    for row in db.execute(rented):
        n, value = int(row.n), total.value(row)
        free_n, free_value = found.get((row.model, available), (0, 0))
        found[(row.model, available)] = (free_n - n, free_value - value)
        found[(row.model, taken)] = (n, value)
    return found


def _available_at(at: int) -> Select[Any]:
    return (
        select()
        .select_from(listing_versions)
        .where(
            V.end > at,
            V.start <= at,
            V.status == int(ListingStatus.AVAILABLE),
            V.listing_id.not_in(rented_at(at)),
        )
    )


def asking_prices(db: Connection, at: int, counts: dict[Any, tuple[int, int]]) -> dict[Any, Picked]:
    """Per model: the per-day asking prices of the listings available at ``at`` (on offer and
    not rented); ``counts``: how many each model has, and the sum of their prices."""
    query = _available_at(at)
    return price_stats(db, query, V.model, listing_versions, "price_per_day", counts)


def started(db: Connection, lo: int, hi: int) -> dict[Any, tuple[int, int]]:
    """Per model: rentals started in ``[lo, hi)`` and the sum of their prices per day."""
    query = select().select_from(rentals).where(R.start >= lo, R.start < hi)
    return counts_and_sums(db, query, R.model, rentals, "price_per_day")


def realized_prices(
    db: Connection, lo: int, hi: int, counts: dict[Any, tuple[int, int]]
) -> dict[Any, Picked]:
    """Per model: the per-day prices locked by rentals that started in ``[lo, hi)``."""
    query = select().select_from(rentals).where(R.start >= lo, R.start < hi)
    return price_stats(db, query, R.model, rentals, "price_per_day", counts)


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
    removed) and, of those, offered (AVAILABLE on the provider's side: free or rented)."""
    key = V.model if by is None else by
    inside = seconds_inside(V.start, V.end, lo, hi)
    offered = V.status == int(ListingStatus.AVAILABLE)
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


def volume(db: Connection, lo: int, hi: int) -> dict[str, int]:
    """Per model: wei billed by rentals that ended in ``[lo, hi)``."""
    total, columns = WeiSum.of(rentals, "billed")
    statement = select(R.model, *columns).where(R.ended_at >= lo, R.ended_at < hi).group_by(R.model)
    return {row[0]: total.value(row) for row in db.execute(statement)}


def provider_ratings(db: Connection, hi: int) -> dict[str, tuple[int, int, int]]:
    """Per model: ratings renters gave providers before ``hi``: their count, the sum of score
    x weight and the sum of weights. Up to the index's last block, the per-model sums it keeps
    answer; before that, the ratings themselves."""
    synced = db.execute(select(meta.c.value).where(meta.c.key == "synced_time")).scalar_one()
    if hi > int(synced):
        totals = select(M.model, M.ratings, M.weighted_sum, M.weight)
        return {k: (int(n), int(s), int(w)) for k, n, s, w in db.execute(totals)}
    statement = (
        select(G.model, func.count(), func.sum(G.score * G.weight), func.sum(G.weight))
        .where(G.role == int(Role.PROVIDER), G.time < hi)
        .group_by(G.model)
    )
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


def asking_over_time(
    db: Connection, model: str, bounds: Sequence[tuple[int, int]]
) -> dict[Any, Picked]:
    """Per period: the asking prices of ``model``'s listings available at the period's last
    second."""
    periods = periods_table(bounds)
    rented_then = (
        select(R.id)
        .where(
            R.listing_id == V.listing_id,
            R.start <= periods.c.at,
            or_(R.ended_at.is_(None), R.ended_at > periods.c.at),
        )
        .exists()
    )
    query = (
        select()
        .select_from(listing_versions)
        .join(periods, and_(V.start <= periods.c.at, V.end > periods.c.at))
        .where(V.model == model, V.status == int(ListingStatus.AVAILABLE), ~rented_then)
    )
    return price_stats(db, query, periods.c.lo, listing_versions, "price_per_day")


def realized_over_time(
    db: Connection, model: str, bounds: Sequence[tuple[int, int]]
) -> dict[Any, Picked]:
    """Per period: the prices locked by ``model``'s rentals that started in it."""
    periods = periods_table(bounds)
    query = (
        select()
        .select_from(rentals)
        .join(periods, and_(R.start >= periods.c.lo, R.start < periods.c.hi))
        .where(R.model == model)
    )
    return price_stats(db, query, periods.c.lo, rentals, "price_per_day")


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
        .where(V.status != int(ListingStatus.REMOVED), V.start < V.end)
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
    sums = [WeiSum.of(rentals, name) for name in ("billed", "fee", "refund")]
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


def state(db: Connection) -> tuple[str, str | None]:
    """What the index holds, as its synced block and that block's hash (a reorganisation can
    bring the same height back with other blocks)."""
    synced = db.execute(select(meta.c.value).where(meta.c.key == "synced_block")).scalar_one()
    found = db.execute(select(blocks.c.hash).where(blocks.c.number == int(synced))).scalar()
    return str(synced), None if found is None else str(found)


def first_time(db: Connection) -> int | None:
    """The block time of the first listing event the history holds."""
    found = db.execute(select(func.min(V.start))).scalar()
    return None if found is None else int(found)

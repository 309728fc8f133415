"""A query as SQL over the listings table, with the same meaning as the in-memory evaluator.

Exactness: money columns hold whole amounts of wei (as bytes that sort like them) and times whole
seconds, so a bound that is a fraction is rounded the one way that keeps the comparison exact
(``x <= 2.5`` is ``x <= 2`` for a whole ``x``). The rating is the one float both sides compute
the same way (``_schema.rating_score``), compared with the same double bound
(``search.score_bound``).

Counting: a full page does not tell how many listings match in all, and counting 75,000 matches
costs more than finding the page. A search counts at most ``count_limit`` matches past the
page's end (exactly, when fewer match), so a broad search costs what a narrow one does, and the
result says whether its total is exact or a lower bound.

A search is compiled once per query and what the names and accounts tables say about it (see
``narrowing``), and run as plain SQL from then on: building and compiling the statements costs
more than running them on an index of 100,000 listings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Dialect,
    LargeBinary,
    SmallInteger,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from ..models import Listing, ListingStatus, PriceUnit, Reputation
from ..search import FIELDS, Kind, Query, SortKey, Term, Time, matches
from ..search._match import score_bound
from ..search._query import REPUTATION_FIELDS
from ._schema import (
    MAX_INTEGER,
    MAX_WEI,
    RATING_SCORE,
    accounts,
    listings,
    models,
    providers,
    rating_score,
    stored_wei,
)

_C = listings.c


@dataclass(frozen=True, slots=True)
class _Reputation:
    """The columns a provider's reputation is read from."""

    score: Any
    rating_count: Any
    completed: Any
    terminations: Any


# Each listing row carries a copy of its provider's reputation; gpuhub_accounts holds the
# original, one row per account.
_ON_LISTINGS = _Reputation(RATING_SCORE, _C.rating_count, _C.completed, _C.terminations)
_ON_ACCOUNTS = _Reputation(
    rating_score(accounts.c.provider_rating_weighted_sum, accounts.c.provider_rating_weight),
    accounts.c.provider_rating_count,
    accounts.c.completed_as_provider,
    accounts.c.terminations,
)

#: the most names a narrowing lists in a search's SQL; past that, the search does without.
INLINE_NAMES = 500
#: for each term a narrowing applies to: the folded models (``model~``) or provider keys (other
#: terms) that satisfy it, or None where more than INLINE_NAMES do.
Narrowing = tuple[tuple[Term, tuple[str, ...] | None], ...]

#: the columns of a search's rows: the listing, then its provider's account (NULLs if none).
LISTING_COLUMNS = [
    _C[name]
    for name in (
        "id",
        "provider_key",
        "model",
        "capacity",
        "price",
        "unit",
        "min_duration",
        "max_duration",
        "status",
    )
]
ACCOUNT_COLUMNS = [column for column in accounts.columns if not column.primary_key]

_SORT_COLUMNS = {
    "id": _C.id,
    "provider": _C.provider_key,
    "model": _C.model,
    "capacity": _C.capacity,
    "price": _C.price,
    "unit": _C.unit,
    "price_per_hour": _C.price_per_day,
    "min_duration": _C.min_duration,
    "max_duration": _C.max_duration,
    "max_hours": _C.max_seconds,
    "status": _C.status,
    "rating": RATING_SCORE,
    "ratings": _C.rating_count,
    "completed": _C.completed,
    "terminations": _C.terminations,
}

# A listing whose provider has no account yet: only its reputation is read, all zeros.
_NEWCOMER = Reputation(
    address="",
    provider_rating_count=0,
    provider_rating_sum=0,
    renter_rating_count=0,
    renter_rating_sum=0,
    completed_as_provider=0,
    completed_as_renter=0,
    terminations=0,
    provider_rating_weight=0,
    provider_rating_weighted_sum=0,
    renter_rating_weight=0,
    renter_rating_weighted_sum=0,
)
_NEWCOMERS_LISTING = Listing(
    listing_id=0,
    provider="",
    gpu_model="",
    capacity=0,
    price=0,
    unit=PriceUnit.HOUR,
    min_duration=0,
    max_duration=0,
    status=ListingStatus.AVAILABLE,
)


@dataclass(frozen=True, slots=True)
class Compiled:
    """One statement as the database driver takes it."""

    sql: str
    #: a tuple for drivers with positional parameters, else a dict.
    params: Any


@dataclass(frozen=True, slots=True)
class SearchStatements:
    """A search's statements: the page's rows and (when the page is full) the count, of every
    match (``count``) or of at most ``count_limit`` past the page (``capped_count``)."""

    page: Compiled
    count: Compiled
    capped_count: Compiled | None


def narrowing(
    db: Connection, terms: tuple[Term, ...], statement: Callable[[Term], Compiled | None]
) -> Narrowing:
    """What the names and accounts tables say about ``terms``, to list in the search's SQL.

    For a ``~`` term: the distinct models or providers it matches. For a reputation term that a
    provider with no account fails (``rating>=4.5``, ``ratings>=1``): the providers whose
    account meets it, a few rows of gpuhub_accounts instead of a test of every listing. Listed
    in the SQL, a few names let the planner seek them in an index, and none answers at once.
    ``statement`` is ``narrowing_statement`` for the database (cached).
    """
    found: dict[Term, tuple[str, ...] | None] = {}
    for term in terms:
        compiled = statement(term)
        if compiled is None or term in found:
            continue
        names = tuple(db.exec_driver_sql(compiled.sql, compiled.params).scalars().all())
        found[term] = names if len(names) <= INLINE_NAMES else None
    return tuple(found.items())


def narrowing_statement(dialect: Dialect, term: Term) -> Compiled | None:
    """The statement that lists the names ``term`` narrows a search to, if it narrows one."""
    if term.op == "~":
        names = _names(term.field, str(term.value))
    elif term.field in REPUTATION_FIELDS and not matches(
        _NEWCOMERS_LISTING, term, lambda _: _NEWCOMER
    ):
        names = select(accounts.c.address).where(_term(term, _ON_ACCOUNTS))
    else:
        return None
    return compile_statement(dialect, names.limit(INLINE_NAMES + 1))


def search_statements(
    dialect: Dialect, query: Query, narrowed: Narrowing, count_limit: int | None = None
) -> SearchStatements:
    """The SQL of ``query`` for ``dialect``, given its ``narrowing``; its capped count stops
    ``count_limit`` matches past the page's end (None: no capped count)."""
    condition = where(query.filters(), narrowed)
    order = order_by(query.sort)
    # The page's ids first (often from an index alone), then only their rows, each with its
    # provider's reputation.
    # Bounds past what the database's integers hold change nothing: no index has 2^63 rows.
    limit = None if query.limit is None else min(query.limit, MAX_INTEGER)
    page = (
        select(_C.id)
        .where(condition)
        .order_by(*order)
        .limit(limit)
        .offset(min(query.offset, MAX_INTEGER) or None)
        .subquery()
    )
    rows = (
        select(*LISTING_COLUMNS, *ACCOUNT_COLUMNS)
        .join_from(page, listings, _C.id == page.c.id)
        .outerjoin(accounts, accounts.c.address == _C.provider_key)
        .order_by(*order)
    )
    count = select(func.count()).select_from(listings).where(condition)
    capped = None
    if count_limit is not None:
        # one more than may be counted: finding it says the total is only a lower bound
        end = query.offset + (query.limit or 0) + count_limit + 1
        first = select(literal(1)).select_from(listings).where(condition)
        some = first.limit(min(end, MAX_INTEGER)).subquery()
        capped = compile_statement(dialect, select(func.count()).select_from(some))
    compiled = compile_statement(dialect, rows), compile_statement(dialect, count)
    return SearchStatements(*compiled, capped)


def compile_statement(dialect: Dialect, statement: Any) -> Compiled:
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if compiled.positional:
        return Compiled(str(compiled), tuple(params[name] for name in compiled.positiontup))
    return Compiled(str(compiled), params)


def where(terms: tuple[Term, ...], narrowed: Narrowing) -> ColumnElement[bool]:
    """All ``terms`` as one SQL condition, with their ``narrowing``."""
    listed = dict(narrowed)
    return and_(true(), *(_narrowed(t, listed) for t in terms))


def order_by(keys: tuple[SortKey, ...]) -> list[Any]:
    """ORDER BY clauses for ``keys``, then id."""
    clauses: list[Any] = []
    for key in keys:
        column = _SORT_COLUMNS[key.field]
        clauses.append(column.desc() if key.descending else column.asc())
    clauses.append(_C.id.asc())
    return clauses


def _narrowed(term: Term, listed: dict[Term, tuple[str, ...] | None]) -> ColumnElement[bool]:
    names = listed.get(term)
    if names is None:  # not narrowed, or to too many names
        return _term(term, _ON_LISTINGS)
    column = _C.model_folded if term.op == "~" and term.field == "model" else _C.provider_key
    return column.in_(names) if names else false()


def _names(name: str, value: str) -> Any:
    """The distinct folded models or provider keys that contain ``value``, ignoring case."""
    column = models.c.folded if name == "model" else providers.c.address
    return select(column).where(column.contains(value.casefold(), autoescape=True))


def _term(term: Term, reputation: _Reputation) -> ColumnElement[bool]:
    if term.op == "in":
        return or_(false(), *(_compare(term.field, "=", v, reputation) for v in term.value))
    if term.op == "notin":
        return not_(or_(false(), *(_compare(term.field, "=", v, reputation) for v in term.value)))
    if term.op == "~":
        column = _C.model_folded if term.field == "model" else _C.provider_key
        return column.in_(_names(term.field, str(term.value)))
    return _compare(term.field, term.op, term.value, reputation)


def _compare(name: str, op: str, value: Any, reputation: _Reputation) -> ColumnElement[bool]:
    kind = FIELDS[name].kind
    if name == "model":
        return _ops(_C.model, op, value)
    if name == "provider":
        return _ops(_C.provider_key, op, value)
    if name == "rating":
        return _ops(reputation.score, op, score_bound(Fraction(value)))
    if name == "ratings":
        return _whole(reputation.rating_count, op, Fraction(value), money=False)
    if name in ("completed", "terminations"):
        return _whole(getattr(reputation, name), op, Fraction(value), money=False)
    if kind in (Kind.UNIT, Kind.STATUS):
        return _ops(getattr(_C, name), op, int(value))
    if name == "price":
        return _whole(_C.price, op, Fraction(value), money=True)
    if name == "price_per_hour":
        return _whole(_C.price_per_day, op, Fraction(value) * 24, money=True)
    if isinstance(value, Time):
        column = _C.min_seconds if name == "min_duration" else _C.max_seconds
        return _whole(column, op, value.seconds, money=False)
    return _whole(getattr(_C, name), op, Fraction(value), money=False)


def _whole(column: Any, op: str, bound: Fraction, *, money: bool) -> ColumnElement[bool]:
    """``column op bound`` for a column of whole numbers >= 0 and an exact bound."""
    if bound.denominator != 1:
        if op == "=":
            return false()
        if op == "!=":
            return true()
        # x < 2.5 is x <= 2; x > 2.5 is x >= 3.
        op, bound = {
            "<": ("<=", Fraction(math.floor(bound))),
            "<=": ("<=", Fraction(math.floor(bound))),
            ">": (">=", Fraction(math.ceil(bound))),
            ">=": (">=", Fraction(math.ceil(bound))),
        }[op]
    number = int(bound)
    if number < 0:
        return _constant(op, above=False)
    if number > (MAX_WEI if money else _largest(column)):
        return _constant(op, above=True)
    if money:
        return _ops(column, op, literal(stored_wei(number), LargeBinary))
    return _ops(column, op, number)


def _largest(column: Any) -> int:
    """The largest number ``column``'s type holds on every database (PostgreSQL refuses to
    compare an INTEGER with a parameter past 2^31 - 1; SQLite's are all 64-bit)."""
    if isinstance(column.type, SmallInteger):
        return 2**15 - 1
    if isinstance(column.type, BigInteger):
        return MAX_INTEGER
    return 2**31 - 1


def _constant(op: str, *, above: bool) -> ColumnElement[bool]:
    """``column op bound`` for a bound above (or below) every value the column can hold."""
    holds = ("!=", "<", "<=") if above else ("!=", ">", ">=")
    return true() if op in holds else false()


def _ops(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    result: ColumnElement[bool]
    if op == "=":
        result = column == value
    elif op == "!=":
        result = column != value
    elif op == "<":
        result = column < value
    elif op == "<=":
        result = column <= value
    elif op == ">":
        result = column > value
    else:
        result = column >= value
    return result

"""A query as SQL over the listings table, with the same meaning as the in-memory evaluator.

Exactness: money columns are fixed-width digit strings and times whole seconds, so a bound that
is a fraction is rounded the one way that keeps the comparison exact (``x <= 2.5`` is
``x <= 2`` for a whole ``x``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Connection, Float, and_, cast, false, not_, or_, select, true

from ..models import PRIOR_MEAN, PRIOR_WEIGHT
from ..search import FIELDS, Kind, SortKey, Term, Time
from ._schema import WEI_DIGITS, listings, models, providers, wei

_C = listings.c
_PRIOR_WEIGHT = Fraction(PRIOR_WEIGHT)
_PRIOR_TOTAL = Fraction(PRIOR_WEIGHT) * Fraction(PRIOR_MEAN)
assert _PRIOR_WEIGHT.denominator == _PRIOR_TOTAL.denominator == 1
_RATING_SUM = _C.rating_sum + int(_PRIOR_TOTAL)
_RATING_VOTES = _C.rating_count + int(_PRIOR_WEIGHT)
_REPUTATION_COLUMNS = {
    "ratings": _C.rating_count,
    "completed": _C.completed,
    "terminations": _C.terminations,
}

#: the most names a substring match lists in its SQL; past that, a subquery finds them.
INLINE_NAMES = 500
#: the names (``model_folded`` or ``provider_key`` values) each ``~`` term matches, by (field,
#: needle); None where more than INLINE_NAMES match.
Matches = Mapping[tuple[str, str], list[str] | None]

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
    "rating": cast(_RATING_SUM, Float) / cast(_RATING_VOTES, Float),
    **_REPUTATION_COLUMNS,
}


def substring_matches(db: Connection, terms: tuple[Term, ...]) -> Matches:
    """The distinct models and providers each ``~`` term among ``terms`` matches.

    Listed in the search's SQL, the few names a term matches let the planner seek them in an
    index (and a term that matches none answers at once); a subquery would hide how many there
    are.
    """
    found: dict[tuple[str, str], list[str] | None] = {}
    for term in terms:
        if term.op != "~" or (term.field, term.value) in found:
            continue
        names = list(
            db.execute(_names(term.field, str(term.value)).limit(INLINE_NAMES + 1)).scalars()
        )
        found[(term.field, term.value)] = names if len(names) <= INLINE_NAMES else None
    return found


def where(terms: tuple[Term, ...], matches: Matches) -> ColumnElement[bool]:
    """All ``terms`` as one SQL condition; ``matches`` from ``substring_matches``."""
    return and_(true(), *(_term(t, matches) for t in terms))


def order_by(keys: tuple[SortKey, ...]) -> list[Any]:
    """ORDER BY clauses for ``keys``, then id."""
    clauses: list[Any] = []
    for key in keys:
        column = _SORT_COLUMNS[key.field]
        clauses.append(column.desc() if key.descending else column.asc())
    clauses.append(_C.id.asc())
    return clauses


def _term(term: Term, matches: Matches) -> ColumnElement[bool]:
    if term.op == "in":
        return or_(false(), *(_compare(term.field, "=", v) for v in term.value))
    if term.op == "notin":
        return not_(or_(false(), *(_compare(term.field, "=", v) for v in term.value)))
    if term.op == "~":
        column = _C.model_folded if term.field == "model" else _C.provider_key
        names = matches[(term.field, term.value)]
        if names is None:
            return column.in_(_names(term.field, str(term.value)))
        return column.in_(names) if names else false()
    return _compare(term.field, term.op, term.value)


def _names(name: str, value: str) -> Any:
    """The distinct folded models or provider keys that contain ``value``, ignoring case."""
    column = models.c.folded if name == "model" else providers.c.address
    return select(column).where(column.contains(value.casefold(), autoescape=True))


def _compare(name: str, op: str, value: Any) -> ColumnElement[bool]:
    kind = FIELDS[name].kind
    if name == "model":
        return _ops(_C.model, op, value)
    if name == "provider":
        return _ops(_C.provider_key, op, value)
    if name == "rating":
        # (sum + prior) / (votes + weight) op p / q, cross-multiplied: exact in integers.
        bound = Fraction(value)
        return _ops(_RATING_SUM * bound.denominator, op, _RATING_VOTES * bound.numerator)
    if name in _REPUTATION_COLUMNS:
        return _whole(_REPUTATION_COLUMNS[name], op, Fraction(value), money=False)
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
    if number < 0:  # below every stored value
        return true() if op in ("!=", ">", ">=") else false()
    if money and number >= 10**WEI_DIGITS:  # above every stored value
        return true() if op in ("!=", "<", "<=") else false()
    return _ops(column, op, wei(number) if money else number)


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

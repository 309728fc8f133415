"""A query as SQL over the listings table, with the same meaning as the in-memory evaluator.

Exactness: money columns are fixed-width digit strings and times whole seconds, so a bound that
is a fraction is rounded the one way that keeps the comparison exact (``x <= 2.5`` is
``x <= 2`` for a whole ``x``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, cast, false, not_, or_, select, true

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


def where(terms: tuple[Term, ...]) -> ColumnElement[bool]:
    """All ``terms`` as one SQL condition."""
    return and_(true(), *(_term(t) for t in terms))


def order_by(keys: tuple[SortKey, ...]) -> list[Any]:
    """ORDER BY clauses for ``keys``, then id."""
    clauses: list[Any] = []
    for key in keys:
        column = _SORT_COLUMNS[key.field]
        clauses.append(column.desc() if key.descending else column.asc())
    clauses.append(_C.id.asc())
    return clauses


def _term(term: Term) -> ColumnElement[bool]:
    if term.op == "in":
        return or_(false(), *(_compare(term.field, "=", v) for v in term.value))
    if term.op == "notin":
        return not_(or_(false(), *(_compare(term.field, "=", v) for v in term.value)))
    return _compare(term.field, term.op, term.value)


def _compare(name: str, op: str, value: Any) -> ColumnElement[bool]:
    kind = FIELDS[name].kind
    if op == "~":
        needle = str(value).casefold()
        if name == "model":
            names = select(models.c.folded).where(models.c.folded.contains(needle, autoescape=True))
            return _C.model_folded.in_(names)
        keys = select(providers.c.address).where(
            providers.c.address.contains(needle, autoescape=True)
        )
        return _C.provider_key.in_(keys)
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

"""Evaluate a query over listings in memory: the chain evaluator and the reference for the index.

Every comparison is exact: prices per hour are Fractions, times are seconds, so listings priced
per minute, hour and day compare without rounding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..models import Listing
from ._query import FIELDS, Kind, Query, Term, Time


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResult:
    """One page of a search.

    Example::

        >>> result = client.search("model~4090 sort=price_per_hour limit=5")
        >>> result.total, [l.listing_id for l in result.listings]
    """

    #: the listings of the page, in order.
    listings: list[Listing]
    #: how many listings match in all (every page).
    total: int
    #: the query that was run, as it prints.
    query: Query


def value_of(listing: Listing, name: str) -> Any:
    """The field ``name`` of ``listing`` as the query compares and sorts it."""
    if name == "id":
        return listing.listing_id
    if name == "provider":
        return listing.provider.lower()
    if name == "model":
        return listing.gpu_model
    if name == "price_per_hour":
        return Fraction(listing.price * 3600, listing.unit.seconds)
    if name == "max_hours":
        return Time(Fraction(listing.max_duration * listing.unit.seconds))
    value: Any = getattr(listing, name)
    return value


def matches(listing: Listing, term: Term) -> bool:
    """True when ``listing`` satisfies ``term``."""
    value = value_of(listing, term.field)
    if term.op == "in":
        return any(_compare(listing, term.field, value, "=", v) for v in term.value)
    if term.op == "notin":
        return not any(_compare(listing, term.field, value, "=", v) for v in term.value)
    return _compare(listing, term.field, value, term.op, term.value)


def _compare(listing: Listing, name: str, value: Any, op: str, wanted: Any) -> bool:
    kind = FIELDS[name].kind
    if op == "~":
        return str(wanted).casefold() in str(value).casefold()
    if kind is Kind.DURATION and isinstance(wanted, Time):
        value, wanted = value * listing.unit.seconds, wanted.seconds
    elif isinstance(wanted, Time):
        value, wanted = value.seconds, wanted.seconds
    return _OPS[op](value, wanted)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _sort_value(listing: Listing, name: str) -> Any:
    value = value_of(listing, name)
    return value.seconds if isinstance(value, Time) else value


def run(query: Query, listings: Iterable[Listing]) -> SearchResult:
    """Filter, sort and page ``listings`` as ``query`` says."""
    terms = query.filters()
    found = [item for item in listings if all(matches(item, t) for t in terms)]
    found.sort(key=lambda item: item.listing_id)
    # Stable sorts from the last key to the first give the multi-key order, ties by id.
    for key in reversed(query.sort):
        found.sort(key=functools.partial(_sort_value, name=key.field), reverse=key.descending)
    end = None if query.limit is None else query.offset + query.limit
    return SearchResult(listings=found[query.offset : end], total=len(found), query=query)

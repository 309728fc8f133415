"""Evaluate a query over listings in memory: the chain evaluator and the reference for the index.

Every comparison is exact: prices per hour are Fractions and times seconds, so listings priced
per minute, hour and day compare without rounding. The ``rating`` is the float
``Reputation.provider_score()`` computes (the index's SQL computes the very same double from the
same whole numbers, all below 2**53), compared with the double nearest the bound.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..models import Listing, Reputation
from ._query import FIELDS, Kind, Query, Term, Time

#: the provider's reputation, by the provider's address.
ReputationOf = Callable[[str], Reputation]


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class SearchResult:
    """One page of a search.

    Example::

        >>> result = client.search("model~4090 rating>=4.5 sort=price_per_hour limit=5")
        >>> result.total, [(l.listing_id, result.reputations[l.provider].provider_score())
        ...                for l in result.listings]
    """

    #: the listings of the page, in order.
    listings: list[Listing]
    #: how many listings match in all (every page).
    total: int
    #: the reputation of each provider in the page, by checksummed address.
    reputations: Mapping[str, Reputation]
    #: the query that was run, as it prints.
    query: Query

    def __repr__(self) -> str:
        from .._display import search_text

        return f"<SearchResult: {search_text(self)}>"

    def __str__(self) -> str:
        from .._display import search_text

        return search_text(self)

    def _repr_html_(self) -> str:
        from .._display import search_html

        return search_html(self)


def rating(reputation: Reputation) -> float:
    """``reputation.provider_score()`` with the default prior: the billed-weighted mean."""
    return reputation.provider_score()


def score_bound(bound: Fraction) -> float:
    """A ``rating`` bound as the double it is compared with. Scores lie in 1..5, so a bound
    outside 0..6 compares as 0 or 6 (and never overflows a float)."""
    return float(min(max(bound, Fraction(0)), Fraction(6)))


def value_of(listing: Listing, name: str, reputation_of: ReputationOf) -> Any:
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
    if name == "rating":
        return rating(reputation_of(listing.provider))
    if name == "ratings":
        return reputation_of(listing.provider).provider_rating_count
    if name == "completed":
        return reputation_of(listing.provider).completed_as_provider
    if name == "terminations":
        return reputation_of(listing.provider).terminations
    value: Any = getattr(listing, name)
    return value


def matches(listing: Listing, term: Term, reputation_of: ReputationOf) -> bool:
    """True when ``listing`` satisfies ``term``."""
    value = value_of(listing, term.field, reputation_of)
    if term.op == "in":
        return any(_compare(listing, term.field, value, "=", v) for v in term.value)
    if term.op == "notin":
        return not any(_compare(listing, term.field, value, "=", v) for v in term.value)
    return _compare(listing, term.field, value, term.op, term.value)


def matches_query(listing: Listing, query: Query, reputation_of: ReputationOf) -> bool:
    """True when ``listing`` satisfies every filter of ``query`` (its sort and page aside)."""
    return all(matches(listing, term, reputation_of) for term in query.filters())


def _compare(listing: Listing, name: str, value: Any, op: str, wanted: Any) -> bool:
    kind = FIELDS[name].kind
    if op == "~":
        return str(wanted).casefold() in str(value).casefold()
    if kind is Kind.SCORE:
        wanted = score_bound(wanted)
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


def _sort_value(listing: Listing, name: str, reputation_of: ReputationOf) -> Any:
    value = value_of(listing, name, reputation_of)
    return value.seconds if isinstance(value, Time) else value


def run(query: Query, listings: Iterable[Listing], reputation_of: ReputationOf) -> SearchResult:
    """Filter, sort and page ``listings`` as ``query`` says."""
    found = [item for item in listings if matches_query(item, query, reputation_of)]
    found.sort(key=lambda item: item.listing_id)
    # Stable sorts from the last key to the first give the multi-key order, ties by id.
    for key in reversed(query.sort):
        sort_value = functools.partial(_sort_value, name=key.field, reputation_of=reputation_of)
        found.sort(key=sort_value, reverse=key.descending)
    end = None if query.limit is None else query.offset + query.limit
    page = found[query.offset : end]
    reputations = {item.provider: reputation_of(item.provider) for item in page}
    return SearchResult(listings=page, total=len(found), reputations=reputations, query=query)

"""The market query language: one grammar for Python, the command line and HTTP.

A query is terms ``field op value`` that must all hold, plus ``sort=``, ``limit=`` and
``offset=``::

    model~4090 capacity>=24 price_per_hour<=0.5eth sort=price_per_hour limit=20

Operators are ``= != < <= > >= ~`` (``~`` is a case-insensitive substring match) and
``in [a, b]`` / ``notin [a, b]``. Money takes ``wei`` (the default), ``gwei`` or ``eth``; time
takes ``s m h d w``. ``price_per_hour`` compares every listing per hour, exactly, whatever unit
it is priced in. Listings are filtered to ``status=available`` unless the query names a status
(``status=any`` lifts it).

Nothing here touches the network: ``GPUHubClient.search`` runs a query over a chain read,
``MarketIndex.search`` over SQL; both return a :class:`SearchResult`.
"""

from __future__ import annotations

from ._match import SearchResult, matches, matches_query, run
from ._query import FIELDS, Field, Kind, Query, SortKey, Term, Time

__all__ = [
    "FIELDS",
    "Field",
    "Kind",
    "Query",
    "SearchResult",
    "SortKey",
    "Term",
    "Time",
    "matches",
    "matches_query",
    "run",
]

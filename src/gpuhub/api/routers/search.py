"""REST: listings searched with the query language, from the index when the server has one."""

import dataclasses
from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from ...models import Listing, PriceUnit, Reputation
from ...search import Query as SearchQuery
from .. import _schemas as s
from .._deps import READ_ERRORS, ClientDep, IndexDep
from .._reads import json_response, legacy_query, listing_json, reputation_json

#: the most listings one page answers.
MAX_LIMIT = 1000
#: matches an index search counts past the page (``MarketIndex.search``'s default).
COUNT_LIMIT = 1_000
router = APIRouter(prefix="/v1/listings", tags=["listings"])


class SearchPage(BaseModel):
    items: list[s.ListingOut]
    total: int = Field(
        description="listings matching the query, before paging; a lower bound when "
        "`total_exact` is false"
    )
    total_exact: bool = Field(
        description="false when `total` only says that at least that many match (an index "
        "stops counting 1,000 matches past the page unless `exact_total=true`)"
    )
    offset: int
    limit: int
    query: str = Field(description="the query that ran, in normal form")
    reputations: dict[str, s.ReputationOut] = Field(
        description="the reputation of each provider in the page, by address"
    )
    source: str = Field(description="'index' or 'chain': where the answer was read")


class SearchParams(BaseModel):
    """The query parameters of ``GET /v1/listings``, validated as one model (one pydantic call
    per request instead of one per parameter)."""

    q: str | None = Field(
        default=None,
        max_length=2000,
        description="a query such as `model~4090 capacity>=24 price_per_hour<=0.5eth`",
    )
    sort: str | None = Field(
        default=None, max_length=500, description="fields, comma-separated; `-` descending"
    )
    offset: int = Field(
        default=0, ge=0, le=2**48, description="default: the query's own `offset=`, else 0"
    )
    limit: int = Field(
        default=100,
        ge=1,
        le=MAX_LIMIT,
        description=f"default: the query's own `limit=` (at most {MAX_LIMIT}), else 100",
    )
    max_price: s.Wei | None = Field(default=None, description="highest price, wei")
    min_capacity: int | None = Field(default=None, ge=0, le=s.UINT256_MAX)
    available_only: bool = True
    price_unit: s.UnitName | None = Field(default=None, description="unit max_price is per")
    exact_total: bool = Field(
        default=False,
        description="count every match (from an index, `total` is otherwise exact only up to "
        f"{COUNT_LIMIT:,} matches past the page: see `total_exact`)",
    )


@router.get("", response_model=SearchPage, responses=READ_ERRORS)
def search_listings(
    client: ClientDep, index: IndexDep, params: Annotated[SearchParams, Query()]
) -> Response:
    """Listings matching a query, in its order, paged (a bad query is a 422 naming its position).

    Answered from the server's index when it has one (`gpuhub serve` always does), else from
    the chain. The filters of the first version (`max_price`, `min_capacity`,
    `available_only`, `price_unit`) still work on their own. From an index, `total` counts the
    matches exactly up to 1,000 past the page's end; past that it is a lower bound and
    `total_exact` is false (`exact_total=true` counts them all).
    """
    return _search(client, index, params)


async def search_index(request: Request) -> Response:
    """``GET /v1/listings`` of a server with an index, as a plain Starlette route ahead of the
    FastAPI one (which documents it and answers apps without an index): the parameters are
    validated as the same model in one call, where FastAPI's per-parameter handling cost more
    than a search itself. The search runs in a worker thread like every other route's: a query
    no index serves (``status=any sort=model`` sorts every listing) takes most of a second, and
    on the event loop it would hold every other request that long."""
    try:
        params = SearchParams.model_validate(request.query_params)
    except PydanticValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in err.errors(include_url=False)]
        ) from None
    return await run_in_threadpool(_search, None, request.app.state.reads.index, params)


#: routes an app with an index puts ahead of the documented ones.
INDEX_ROUTES = [Route("/v1/listings", search_index, methods=["GET"], include_in_schema=False)]


def _search(client: Any, index: Any, params: SearchParams) -> Response:
    """The page ``params`` ask for, from ``index`` (else from the chain through ``client``)."""
    q, sort, offset, limit = params.q, params.sort, params.offset, params.limit
    max_price, min_capacity, price_unit = params.max_price, params.min_capacity, params.price_unit
    available_only, exact_total = params.available_only, params.exact_total
    legacy = q is None and sort is None
    if legacy and (
        max_price is not None or min_capacity is not None or not available_only or price_unit
    ):
        query = legacy_query(
            None if max_price is None else int(max_price),
            min_capacity,
            available_only=available_only,
            price_unit=None if price_unit is None else PriceUnit[price_unit],
            offset=offset,
            limit=limit,
        )
        if index is None:
            found = client.list_gpus(
                None if max_price is None else int(max_price),
                min_capacity,
                available_only=available_only,
                price_unit=None if price_unit is None else PriceUnit[price_unit],
            )
            return _page(found[offset : offset + limit], len(found), True, offset, limit, "", {})
        result = index.search(query, exact_total=exact_total)
        total, exact = result.total, result.total_exact
        return _page(result.listings, total, exact, offset, limit, "", {}, "index")
    query = SearchQuery.of(q)
    given = params.model_fields_set
    # The parameters win over the query's own sort=, limit= and offset= when they are given;
    # a query's own limit is held to the parameter's bound.
    query = dataclasses.replace(
        query,
        sort=query.sort if sort is None else SearchQuery.build(sort=_keys(sort)).sort,
        limit=limit if "limit" in given or query.limit is None else min(query.limit, MAX_LIMIT),
        offset=offset if "offset" in given else query.offset,
    )
    limit, offset = query.limit or limit, query.offset
    run = client.search if index is None else partial(index.search, exact_total=exact_total)
    result = run(query)
    return _page(
        result.listings,
        result.total,
        result.total_exact,
        offset,
        limit,
        str(result.query),
        result.reputations,
        "chain" if index is None else "index",
    )


def _page(
    listings: list[Listing],
    total: int,
    total_exact: bool,
    offset: int,
    limit: int,
    query: str,
    reputations: Mapping[str, Reputation],
    source: str = "chain",
) -> Response:
    return json_response(
        {
            "items": [listing_json(x) for x in listings],
            "total": total,
            "total_exact": total_exact,
            "offset": offset,
            "limit": limit,
            "query": query,
            "reputations": {a: reputation_json(r) for a, r in reputations.items()},
            "source": source,
        }
    )


def _keys(sort: str) -> list[str]:
    return [key.strip() for key in sort.split(",")]

"""REST: listings searched with the query language, from the index when the server has one."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ...models import PriceUnit
from ...search import Query as SearchQuery
from .. import _schemas as s
from .._deps import READ_ERRORS, ClientDep

router = APIRouter(prefix="/v1/listings", tags=["listings"])


class SearchPage(BaseModel):
    items: list[s.ListingOut]
    total: int = Field(description="listings matching the query, before paging")
    offset: int
    limit: int
    query: str = Field(description="the query that ran, in normal form")
    reputations: dict[str, s.ReputationOut] = Field(
        description="the reputation of each provider in the page, by address"
    )
    source: str = Field(description="'index' or 'chain': where the answer was read")


def get_index(request: Request) -> Any:
    """The server's MarketIndex, or None when it answers from the chain."""
    return getattr(request.app.state, "index", None)


# Typed loosely: naming MarketIndex here would import SQLAlchemy into every API server.
IndexDep = Annotated[Any, Depends(get_index)]


@router.get("", response_model=SearchPage, responses=READ_ERRORS)
def search_listings(
    client: ClientDep,
    index: IndexDep,
    q: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="a query such as `model~4090 capacity>=24 price_per_hour<=0.5eth`",
        ),
    ] = None,
    sort: Annotated[
        str | None, Query(max_length=500, description="fields, comma-separated; `-` descending")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=2**48)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    max_price: Annotated[s.Wei | None, Query(description="highest price, wei")] = None,
    min_capacity: Annotated[int | None, Query(ge=0, le=s.UINT256_MAX)] = None,
    available_only: bool = True,
    price_unit: Annotated[s.UnitName | None, Query(description="unit max_price is per")] = None,
) -> SearchPage:
    """Listings matching a query, in its order, paged (a bad query is a 422 naming its position).

    Answered from the server's index when it runs with one (`gpuhub serve --index URL`), else
    from the chain. The filters of the first version (`max_price`, `min_capacity`,
    `available_only`, `price_unit`) still work on their own.
    """
    if (
        q is None
        and sort is None
        and (max_price is not None or min_capacity is not None or not available_only or price_unit)
    ):
        found = client.list_gpus(
            None if max_price is None else int(max_price),
            min_capacity,
            available_only=available_only,
            price_unit=None if price_unit is None else PriceUnit[price_unit],
        )
        return SearchPage(
            items=[s.ListingOut.of(x) for x in found[offset : offset + limit]],
            total=len(found),
            offset=offset,
            limit=limit,
            query="",
            reputations={},
            source="chain",
        )
    keys = None if sort is None else [k.strip() for k in sort.split(",")]
    query = SearchQuery.of(q, sort=keys, limit=limit, offset=offset)
    result = client.search(query) if index is None else index.search(query)
    return SearchPage(
        items=[s.ListingOut.of(x) for x in result.listings],
        total=result.total,
        offset=offset,
        limit=limit,
        query=str(result.query),
        reputations={a: s.ReputationOut.of(r) for a, r in result.reputations.items()},
        source="chain" if index is None else "index",
    )

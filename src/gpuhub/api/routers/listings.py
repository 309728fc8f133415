"""REST: listings."""

from typing import Annotated

from fastapi import APIRouter, Query

from ...models import PriceUnit
from .. import _schemas as s
from .._deps import READ_ERRORS, WRITE_ERRORS, ClientDep, Writer, id_path

router = APIRouter(prefix="/v1/listings", tags=["listings"])


@router.get("", response_model=s.ListingPage, responses=READ_ERRORS)
def list_listings(
    client: ClientDep,
    max_price: Annotated[s.Wei | None, Query(description="highest price, wei")] = None,
    min_capacity: Annotated[int | None, Query(ge=0, le=s.UINT256_MAX)] = None,
    available_only: bool = True,
    price_unit: Annotated[s.UnitName | None, Query(description="unit max_price is per")] = None,
    offset: Annotated[int, Query(ge=0, le=2**48)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> s.ListingPage:
    """Listings matching the filters, in id order, paged."""
    found = client.list_gpus(
        None if max_price is None else int(max_price),
        min_capacity,
        available_only=available_only,
        price_unit=None if price_unit is None else PriceUnit[price_unit],
    )
    page = found[offset : offset + limit]
    return s.ListingPage(
        items=[s.ListingOut.of(x) for x in page], total=len(found), offset=offset, limit=limit
    )


@router.get("/{listing_id}", response_model=s.ListingOut, responses=READ_ERRORS)
def get_listing(client: ClientDep, listing_id: Annotated[int, id_path()]) -> s.ListingOut:
    """One listing."""
    return s.ListingOut.of(client.get_listing(listing_id))


@router.post(
    "",
    status_code=201,
    response_model=s.ListingOut,
    responses=WRITE_ERRORS,
    dependencies=[Writer],
)
def create_listing(client: ClientDep, body: s.CreateListingBody) -> s.ListingOut:
    """List a GPU as the server's account."""
    listing = client.create_listing(
        gpu_model=body.gpu_model,
        capacity=body.capacity,
        price=int(body.price),
        unit=PriceUnit[body.unit],
        min_duration=body.min_duration,
        max_duration=body.max_duration,
    )
    return s.ListingOut.of(listing)


@router.patch(
    "/{listing_id}", response_model=s.ListingOut, responses=WRITE_ERRORS, dependencies=[Writer]
)
def update_listing(
    client: ClientDep, listing_id: Annotated[int, id_path()], body: s.UpdateListingBody
) -> s.ListingOut:
    """Change some of a listing's terms."""
    listing = client.update_listing(
        listing_id,
        gpu_model=body.gpu_model,
        capacity=body.capacity,
        price=None if body.price is None else int(body.price),
        unit=None if body.unit is None else PriceUnit[body.unit],
        min_duration=body.min_duration,
        max_duration=body.max_duration,
    )
    return s.ListingOut.of(listing)


@router.put(
    "/{listing_id}/availability",
    response_model=s.ListingOut,
    responses=WRITE_ERRORS,
    dependencies=[Writer],
)
def set_availability(
    client: ClientDep, listing_id: Annotated[int, id_path()], body: s.AvailabilityBody
) -> s.ListingOut:
    """Take a listing off the market (`available: false`) or put it back (`true`)."""
    change = client.mark_available if body.available else client.fulfill_request
    return s.ListingOut.of(change(listing_id))


@router.delete(
    "/{listing_id}", response_model=s.ListingOut, responses=WRITE_ERRORS, dependencies=[Writer]
)
def remove_listing(client: ClientDep, listing_id: Annotated[int, id_path()]) -> s.ListingOut:
    """Remove a listing for good."""
    return s.ListingOut.of(client.remove_listing(listing_id))

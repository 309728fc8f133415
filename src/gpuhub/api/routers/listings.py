"""REST: listings."""

from typing import Annotated

from fastapi import APIRouter, Response

from ...models import PriceUnit
from .. import _schemas as s
from .._deps import READ_ERRORS, WRITE_ERRORS, ClientDep, IndexDep, Writer, id_path
from .._reads import json_response, listing_json

router = APIRouter(prefix="/v1/listings", tags=["listings"])


@router.get("/{listing_id}", response_model=s.ListingOut, responses=READ_ERRORS)
def get_listing(
    client: ClientDep, index: IndexDep, listing_id: Annotated[int, id_path()]
) -> Response:
    """One listing."""
    found = None if index is None else index.get_listing(listing_id)
    if found is None:  # not indexed (yet): the chain says what it is, or that there is none
        found = client.get_listing(listing_id)
    return json_response(listing_json(found))


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

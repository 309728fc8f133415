"""REST: quotes and rentals."""

from typing import Annotated

from fastapi import APIRouter, Query

from .. import _schemas as s
from .._deps import READ_ERRORS, WRITE_ERRORS, ClientDep, IndexDep, Writer, id_path

router = APIRouter(tags=["rentals"])


@router.get("/v1/listings/{listing_id}/quote", response_model=s.QuoteOut, responses=READ_ERRORS)
def quote(
    client: ClientDep,
    listing_id: Annotated[int, id_path()],
    duration: Annotated[int, Query(ge=1, le=2**24, description="units")],
) -> s.QuoteOut:
    """The exact cost of renting for `duration` units now."""
    return s.QuoteOut(
        listing_id=listing_id, duration=duration, cost=str(client.quote(listing_id, duration))
    )


@router.post(
    "/v1/rentals",
    status_code=201,
    response_model=s.RentalOut,
    responses=WRITE_ERRORS,
    dependencies=[Writer],
)
def rent(client: ClientDep, body: s.RentBody) -> s.RentalOut:
    """Rent a listing as the server's account, paying into escrow."""
    max_total = None if body.max_total is None else int(body.max_total)
    return s.RentalOut.of(client.rent(body.listing_id, body.duration, max_total=max_total))


@router.get("/v1/rentals", response_model=list[s.RentalOut], responses=READ_ERRORS)
def list_rentals(
    client: ClientDep,
    index: IndexDep,
    renter: Annotated[s.Address | None, Query()] = None,
    provider: Annotated[s.Address | None, Query()] = None,
    active_only: bool = False,
) -> list[s.RentalOut]:
    """Rentals, optionally of one renter and/or provider."""
    source = client if index is None else index
    found = source.rentals(renter=renter, provider=provider, active_only=active_only)
    return [s.RentalOut.of(r) for r in found]


@router.get("/v1/rentals/{rental_id}", response_model=s.RentalOut, responses=READ_ERRORS)
def get_rental(
    client: ClientDep, index: IndexDep, rental_id: Annotated[int, id_path()]
) -> s.RentalOut:
    """One rental."""
    found = None if index is None else index.get_rental(rental_id)
    if found is None:  # not indexed (yet): the chain says what it is, or that there is none
        found = client.get_rental(rental_id)
    return s.RentalOut.of(found)


@router.post(
    "/v1/rentals/{rental_id}/extend",
    response_model=s.RentalOut,
    responses=WRITE_ERRORS,
    dependencies=[Writer],
)
def extend(
    client: ClientDep, rental_id: Annotated[int, id_path()], body: s.ExtendBody
) -> s.RentalOut:
    """Buy more units at the locked price (the server's account must be the renter)."""
    return s.RentalOut.of(client.extend_rental(rental_id, body.extra))


@router.post(
    "/v1/rentals/{rental_id}/end",
    response_model=s.RentalOut,
    responses=WRITE_ERRORS,
    dependencies=[Writer],
)
def end(client: ClientDep, rental_id: Annotated[int, id_path()]) -> s.RentalOut:
    """End a rental now (the server's account must be its renter or provider)."""
    return s.RentalOut.of(client.end_rental(rental_id))


@router.post(
    "/v1/rentals/{rental_id}/settle",
    response_model=s.RentalOut,
    responses=WRITE_ERRORS,
    dependencies=[Writer],
)
def settle(client: ClientDep, rental_id: Annotated[int, id_path()]) -> s.RentalOut:
    """Settle a rental whose end time has passed."""
    return s.RentalOut.of(client.settle(rental_id))

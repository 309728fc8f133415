"""REST: rating the other side of a rental, and reading an account's reputation and ratings."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from .. import _schemas as s
from .._deps import (
    READ_ERRORS,
    WRITE_ERRORS,
    ClientDep,
    IndexDep,
    Writer,
    address_path,
    id_path,
)

router = APIRouter(tags=["reputation"])


@router.post(
    "/v1/rentals/{rental_id}/rating",
    status_code=201,
    response_model=s.RatingOut,
    responses=WRITE_ERRORS,
    dependencies=[Writer],
)
def rate(client: ClientDep, rental_id: Annotated[int, id_path()], body: s.RateBody) -> s.RatingOut:
    """Rate the other side of a rental that is over (the server's account must be a party)."""
    return s.RatingOut.of(client.rate(rental_id, body.score, comment=body.comment))


@router.get(
    "/v1/accounts/{address}/reputation", response_model=s.ReputationOut, responses=READ_ERRORS
)
def reputation(
    client: ClientDep, index: IndexDep, address: Annotated[str, address_path()]
) -> s.ReputationOut:
    """What the contract counts about `address`: ratings received, completions, terminations."""
    source = client if index is None else index
    return s.ReputationOut.of(source.reputation(address))


@router.get(
    "/v1/accounts/{address}/ratings", response_model=list[s.RatingOut], responses=READ_ERRORS
)
def ratings(
    client: ClientDep,
    index: IndexDep,
    address: Annotated[str, address_path()],
    direction: Annotated[
        Literal["received", "given"], Query(description="ratings of `address`, or by it")
    ] = "received",
) -> list[s.RatingOut]:
    """The ratings `address` received (default) or gave, with comments, oldest first."""
    if index is not None:
        side = {"rater": address} if direction == "given" else {"ratee": address}
        return [s.RatingOut.of(r) for r in index.list_ratings(**side)]
    if direction == "given":
        return [s.RatingOut.of(r) for r in client.ratings(rater=address)]
    return [s.RatingOut.of(r) for r in client.ratings(ratee=address)]

"""The original GPUHub server's routes and bodies, kept working (camelCase, price per minute)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from .. import _schemas as s
from .._deps import READ_ERRORS, WRITE_ERRORS, ClientDep, Writer

router = APIRouter(tags=["original"])


@router.post(
    "/addgpu", response_model=s.AddGpuAnswer, responses=WRITE_ERRORS, dependencies=[Writer]
)
def addgpu(client: ClientDep, body: s.AddGpuBody) -> s.AddGpuAnswer:
    """List a GPU (price in wei per minute), as the original server did."""
    listing = client.create_listing(
        gpu_model=body.gpuModel, capacity=body.capacity, price=body.price
    )
    return s.AddGpuAnswer(
        success=True, message="GPU listing added successfully", listingID=listing.listing_id
    )


@router.post("/getgpudetailsbyid", response_model=s.LegacyListing, responses=READ_ERRORS)
def getgpudetailsbyid(client: ClientDep, body: s.ListingIdBody) -> s.LegacyListing:
    """One listing by id."""
    return s.LegacyListing.of(client.get_listing(body.listingID))


@router.post(
    "/fulfillrequest", response_model=s.SuccessAnswer, responses=WRITE_ERRORS, dependencies=[Writer]
)
def fulfillrequest(client: ClientDep, body: s.ListingIdBody) -> s.SuccessAnswer:
    """Mark a listing unavailable."""
    client.fulfill_request(body.listingID)
    return s.SuccessAnswer(
        success=True, message="GPU listing fulfilled successfully - isAvailable set to false"
    )


@router.post(
    "/fulfilledrequest",
    response_model=s.SuccessAnswer,
    responses=WRITE_ERRORS,
    dependencies=[Writer],
)
def fulfilledrequest(client: ClientDep, body: s.ListingIdBody) -> s.SuccessAnswer:
    """Mark a listing available again."""
    client.mark_available(body.listingID)
    return s.SuccessAnswer(
        success=True, message="GPU listing fulfilled successfully - isAvailable set to true"
    )


async def getgpulist(
    client: ClientDep,
    request: Request,
    maxPrice: Annotated[int | None, Query(ge=0, le=s.UINT256_MAX)] = None,
    minCapacity: Annotated[int | None, Query(ge=0, le=s.UINT256_MAX)] = None,
) -> list[s.LegacyListing]:
    """Available listings with price <= maxPrice and capacity >= minCapacity.

    The filter comes as a JSON body `{"maxPrice": int, "minCapacity": int}` (as the original
    documented, also on GET) or as query parameters.
    """
    raw = await request.body()
    if raw.strip():
        try:
            wanted = s.GpuListFilter.model_validate_json(raw)
        except PydanticValidationError as err:
            raise RequestValidationError(err.errors(include_url=False)) from None
    else:
        wanted = s.GpuListFilter(maxPrice=maxPrice, minCapacity=minCapacity)
    found = await run_in_threadpool(client.list_gpus, wanted.maxPrice, wanted.minCapacity)
    return [s.LegacyListing.of(x) for x in found]


for _method in ("GET", "POST"):
    router.add_api_route(
        "/getgpulist",
        getgpulist,
        methods=[_method],
        response_model=list[s.LegacyListing],
        responses=READ_ERRORS,
        operation_id=f"getgpulist_{_method.lower()}",
    )


@router.get("/getlistingcount", response_model=int, responses=READ_ERRORS)
def getlistingcount(client: ClientDep) -> int:
    """The number of listings ever created."""
    return client.listing_count()

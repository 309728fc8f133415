"""The original GPUHub server's routes and bodies, kept working (camelCase, price per minute)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from .. import _schemas as s
from .._deps import READ_ERRORS, WRITE_ERRORS, ClientDep, IndexDep, Writer
from .._reads import (
    STREAM_CHUNK,
    json_response,
    legacy_listing_json,
    legacy_query,
    stream_array,
)

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
def getgpudetailsbyid(client: ClientDep, index: IndexDep, body: s.ListingIdBody) -> Response:
    """One listing by id."""
    found = None if index is None else index.get_listing(body.listingID)
    if found is None:  # not indexed (yet): the chain says what it is, or that there is none
        found = client.get_listing(body.listingID)
    return json_response(legacy_listing_json(found))


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
    index: IndexDep,
    request: Request,
    maxPrice: Annotated[int | None, Query(ge=0, le=s.UINT256_MAX)] = None,
    minCapacity: Annotated[int | None, Query(ge=0, le=s.UINT256_MAX)] = None,
    offset: Annotated[int, Query(ge=0, le=2**48, description="skip this many matches")] = 0,
    limit: Annotated[
        int | None, Query(ge=1, le=2**48, description="at most this many (default: all)")
    ] = None,
) -> Response:
    """Available listings with price <= maxPrice and capacity >= minCapacity, in id order.

    The filter comes as a JSON body `{"maxPrice": int, "minCapacity": int}` (as the original
    documented, also on GET) or as query parameters; `offset` and `limit` page it. From the
    server's index the answer is streamed, a chunk of listings at a time.
    """
    raw = await request.body()
    if raw.strip():
        try:
            wanted = s.GpuListFilter.model_validate_json(raw)
        except PydanticValidationError as err:
            raise RequestValidationError(err.errors(include_url=False)) from None
    else:
        wanted = s.GpuListFilter(maxPrice=maxPrice, minCapacity=minCapacity)
    if index is None:
        found = await run_in_threadpool(client.list_gpus, wanted.maxPrice, wanted.minCapacity)
        end = None if limit is None else offset + limit
        return json_response([legacy_listing_json(x) for x in found[offset:end]])
    query = legacy_query(wanted.maxPrice, wanted.minCapacity, offset=offset, limit=limit)
    chunks = index.iter_search(query, chunk=STREAM_CHUNK)
    body = stream_array(chunks, legacy_listing_json)
    return StreamingResponse(body, media_type="application/json")


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
def getlistingcount(client: ClientDep, index: IndexDep) -> int:
    """The number of listings ever created."""
    return client.listing_count() if index is None else int(index.listing_count())

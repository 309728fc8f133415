"""The FastAPI app: the original GPUHub routes, REST routes, health and a live event stream.

Every route is one GPUHubClient call and nothing else; this module never imports web3. gpuhub's
exceptions become JSON errors here: 404 for unknown ids, 403 for the wrong sender, 409 for state
conflicts, 422 for bad input, 502/503/504 when the node fails.

No ``from __future__ import annotations`` here: FastAPI reads the route annotations at runtime,
and some refer to objects local to ``create_app``.
"""

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from .. import exceptions as exc
from ..client import GPUHubClient
from ..models import PriceUnit
from . import _schemas as s

#: HTTP status for each gpuhub error; the first matching class in the exception's MRO wins.
STATUS_BY_ERROR: dict[type[Exception], int] = {
    exc.ListingNotFound: 404,
    exc.RentalNotFound: 404,
    exc.NotListingProvider: 403,
    exc.NotRenter: 403,
    exc.NotRentalParty: 403,
    exc.NotGovernance: 403,
    exc.CannotRentOwnListing: 403,
    exc.ValidationError: 422,
    exc.InvalidGpuModel: 422,
    exc.InvalidCapacity: 422,
    exc.InvalidPrice: 422,
    exc.InvalidUnit: 422,
    exc.InvalidDurationRange: 422,
    exc.InvalidDuration: 422,
    exc.InsufficientPayment: 422,
    exc.FeeTooHigh: 422,
    exc.InvalidAddress: 422,
    exc.ContractError: 409,  # every other custom error is a conflict with the current state
    exc.OutOfGas: 502,  # the server's own transaction ran short: not the client's doing
    exc.TransactionReverted: 409,
    exc.TransactionTimeout: 504,
    exc.ConnectionFailed: 503,
    exc.GPUHubError: 502,
}

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorOut} for code in (404, 422, 502, 503, 504)
}
READ_ERRORS: dict[int | str, dict[str, Any]] = dict(_ERRORS)
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    401: {"model": s.ErrorOut, "description": "missing or wrong API key"},
    403: {"model": s.ErrorOut, "description": "writes disabled, or not the provider/renter"},
    409: {"model": s.ErrorOut, "description": "conflicts with the current state"},
}


def status_for(err: Exception) -> int:
    """The HTTP status an exception maps to."""
    for cls in type(err).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 502


def error_response(
    status: int,
    name: str,
    message: str,
    fields: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = s.ErrorOut(error=name, message=message, fields=fields or {})
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


class WriteAccess:
    """Checks ``Authorization: Bearer <api key>`` on writes, in constant time."""

    def __init__(self, api_key: str | None, allow_unauthenticated: bool) -> None:
        self._key = api_key.encode() if api_key else None
        self._open = allow_unauthenticated and api_key is None

    def denial(self, credentials: HTTPAuthorizationCredentials | None) -> JSONResponse | None:
        if self._open:
            return None
        if self._key is None:
            return error_response(
                403,
                "WritesDisabled",
                "this server has no API key configured, so writes are refused: set GPUHUB_API_KEY "
                "(or pass --allow-unauthenticated-writes for local development)",
            )
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, self._key):
            return error_response(
                401,
                "Unauthorized",
                "send the server's API key as 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return None


class _Denied(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def create_app(
    client: GPUHubClient,
    *,
    api_key: str | None = None,
    allow_unauthenticated_writes: bool = False,
    cors_origins: Sequence[str] = (),
    event_poll_interval: float = 0.5,
) -> FastAPI:
    """Build the HTTP API over ``client``, whose account signs every write.

    Args:
        client: the marketplace client; its account pays for every write.
        api_key: writes need ``Authorization: Bearer <api_key>``. Without one, writes are refused
            unless ``allow_unauthenticated_writes`` (for local development only).
        cors_origins: origins allowed to call the API from a browser.
        event_poll_interval: seconds between new-block checks in ``GET /events``.
    """
    app = FastAPI(
        title="gpuhub",
        summary="Share and rent GPUs on Ethereum",
        description=(
            "Every route is one GPUHubClient call. Reads are open; writes spend the server "
            "account's ETH and need `Authorization: Bearer <api key>`. Wei amounts in `/v1` "
            "answers are decimal strings."
        ),
        version=__version__,
    )
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    access = WriteAccess(api_key, allow_unauthenticated_writes)
    bearer = HTTPBearer(auto_error=False, description="the server's API key")

    def writer(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        denial = access.denial(credentials)
        if denial is not None:
            raise _Denied(denial)

    Writer = Depends(writer)

    @app.exception_handler(_Denied)
    async def denied(_: Request, err: _Denied) -> JSONResponse:
        return err.response

    @app.exception_handler(exc.GPUHubError)
    async def gpuhub_error(_: Request, err: exc.GPUHubError) -> JSONResponse:
        fields: dict[str, Any] = {}
        if isinstance(err, exc.ContractError):
            fields = {k: s.json_value(v) for k, v in err.values.items()}
        elif isinstance(err, exc.ValidationError):
            fields = {"field": err.field}
        return error_response(status_for(err), type(err).__name__, str(err), fields)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in err.errors()
        ]
        text = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems)
        return error_response(
            422, "ValidationError", text or "invalid request", {"problems": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        # Starlette answers 400 when a body cannot be parsed at all (not UTF-8, say); to clients
        # that is bad input like any other, so it gets the same 422 shape.
        if err.status_code == 400:
            return error_response(
                422, "ValidationError", f"the request body is unreadable: {err.detail}"
            )
        return error_response(err.status_code, "HTTPError", str(err.detail), headers=err.headers)

    # ------------------------------------------------------------ the original routes

    @app.post(
        "/addgpu",
        tags=["original"],
        response_model=s.AddGpuAnswer,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def addgpu(body: s.AddGpuBody) -> s.AddGpuAnswer:
        """List a GPU (price in wei per minute), as the original server did."""
        listing = client.create_listing(
            gpu_model=body.gpuModel, capacity=body.capacity, price=body.price
        )
        return s.AddGpuAnswer(
            success=True, message="GPU listing added successfully", listingID=listing.listing_id
        )

    @app.post(
        "/getgpudetailsbyid",
        tags=["original"],
        response_model=s.LegacyListing,
        responses=READ_ERRORS,
    )
    def getgpudetailsbyid(body: s.ListingIdBody) -> s.LegacyListing:
        """One listing by id."""
        return s.LegacyListing.of(client.get_listing(body.listingID))

    @app.post(
        "/fulfillrequest",
        tags=["original"],
        response_model=s.SuccessAnswer,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def fulfillrequest(body: s.ListingIdBody) -> s.SuccessAnswer:
        """Mark a listing unavailable."""
        client.fulfill_request(body.listingID)
        return s.SuccessAnswer(
            success=True, message="GPU listing fulfilled successfully - isAvailable set to false"
        )

    @app.post(
        "/fulfilledrequest",
        tags=["original"],
        response_model=s.SuccessAnswer,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def fulfilledrequest(body: s.ListingIdBody) -> s.SuccessAnswer:
        """Mark a listing available again."""
        client.mark_available(body.listingID)
        return s.SuccessAnswer(
            success=True, message="GPU listing fulfilled successfully - isAvailable set to true"
        )

    async def getgpulist(
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

    for method in ("GET", "POST"):
        app.add_api_route(
            "/getgpulist",
            getgpulist,
            methods=[method],
            tags=["original"],
            response_model=list[s.LegacyListing],
            responses=READ_ERRORS,
            operation_id=f"getgpulist_{method.lower()}",
        )

    @app.get("/getlistingcount", tags=["original"], response_model=int, responses=READ_ERRORS)
    def getlistingcount() -> int:
        """The number of listings ever created."""
        return client.listing_count()

    # ------------------------------------------------------------ REST: listings

    @app.get("/v1/listings", tags=["listings"], response_model=s.ListingPage, responses=READ_ERRORS)
    def list_listings(
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

    @app.get(
        "/v1/listings/{listing_id}",
        tags=["listings"],
        response_model=s.ListingOut,
        responses=READ_ERRORS,
    )
    def get_listing(listing_id: Annotated[int, _id_path()]) -> s.ListingOut:
        """One listing."""
        return s.ListingOut.of(client.get_listing(listing_id))

    @app.post(
        "/v1/listings",
        tags=["listings"],
        status_code=201,
        response_model=s.ListingOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def create_listing(body: s.CreateListingBody) -> s.ListingOut:
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

    @app.patch(
        "/v1/listings/{listing_id}",
        tags=["listings"],
        response_model=s.ListingOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def update_listing(
        listing_id: Annotated[int, _id_path()], body: s.UpdateListingBody
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

    @app.put(
        "/v1/listings/{listing_id}/availability",
        tags=["listings"],
        response_model=s.ListingOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def set_availability(
        listing_id: Annotated[int, _id_path()], body: s.AvailabilityBody
    ) -> s.ListingOut:
        """Take a listing off the market (`available: false`) or put it back (`true`)."""
        change = client.mark_available if body.available else client.fulfill_request
        return s.ListingOut.of(change(listing_id))

    @app.delete(
        "/v1/listings/{listing_id}",
        tags=["listings"],
        response_model=s.ListingOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def remove_listing(listing_id: Annotated[int, _id_path()]) -> s.ListingOut:
        """Remove a listing for good."""
        return s.ListingOut.of(client.remove_listing(listing_id))

    @app.get(
        "/v1/listings/{listing_id}/quote",
        tags=["rentals"],
        response_model=s.QuoteOut,
        responses=READ_ERRORS,
    )
    def quote(
        listing_id: Annotated[int, _id_path()],
        duration: Annotated[int, Query(ge=1, le=2**24, description="units")],
    ) -> s.QuoteOut:
        """The exact cost of renting for `duration` units now."""
        return s.QuoteOut(
            listing_id=listing_id, duration=duration, cost=str(client.quote(listing_id, duration))
        )

    # ------------------------------------------------------------ REST: rentals and money

    @app.post(
        "/v1/rentals",
        tags=["rentals"],
        status_code=201,
        response_model=s.RentalOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def rent(body: s.RentBody) -> s.RentalOut:
        """Rent a listing as the server's account, paying into escrow."""
        max_total = None if body.max_total is None else int(body.max_total)
        return s.RentalOut.of(client.rent(body.listing_id, body.duration, max_total=max_total))

    @app.get(
        "/v1/rentals", tags=["rentals"], response_model=list[s.RentalOut], responses=READ_ERRORS
    )
    def list_rentals(
        renter: Annotated[s.Address | None, Query()] = None,
        provider: Annotated[s.Address | None, Query()] = None,
        active_only: bool = False,
    ) -> list[s.RentalOut]:
        """Rentals, optionally of one renter and/or provider."""
        found = client.rentals(renter=renter, provider=provider, active_only=active_only)
        return [s.RentalOut.of(r) for r in found]

    @app.get(
        "/v1/rentals/{rental_id}",
        tags=["rentals"],
        response_model=s.RentalOut,
        responses=READ_ERRORS,
    )
    def get_rental(rental_id: Annotated[int, _id_path()]) -> s.RentalOut:
        """One rental."""
        return s.RentalOut.of(client.get_rental(rental_id))

    @app.post(
        "/v1/rentals/{rental_id}/extend",
        tags=["rentals"],
        response_model=s.RentalOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def extend(rental_id: Annotated[int, _id_path()], body: s.ExtendBody) -> s.RentalOut:
        """Buy more units at the locked price (the server's account must be the renter)."""
        return s.RentalOut.of(client.extend_rental(rental_id, body.extra))

    @app.post(
        "/v1/rentals/{rental_id}/end",
        tags=["rentals"],
        response_model=s.RentalOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def end(rental_id: Annotated[int, _id_path()]) -> s.RentalOut:
        """End a rental now (the server's account must be its renter or provider)."""
        return s.RentalOut.of(client.end_rental(rental_id))

    @app.post(
        "/v1/rentals/{rental_id}/settle",
        tags=["rentals"],
        response_model=s.RentalOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def settle(rental_id: Annotated[int, _id_path()]) -> s.RentalOut:
        """Settle a rental whose end time has passed."""
        return s.RentalOut.of(client.settle(rental_id))

    @app.get(
        "/v1/balances/{address}", tags=["money"], response_model=s.BalanceOut, responses=READ_ERRORS
    )
    def balance(address: Annotated[str, _address_path()]) -> s.BalanceOut:
        """What `address` can withdraw now."""
        return s.BalanceOut(address=address, withdrawable=str(client.balance_of(address)))

    @app.post(
        "/v1/withdraw",
        tags=["money"],
        response_model=s.WithdrawOut,
        responses=WRITE_ERRORS,
        dependencies=[Writer],
    )
    def withdraw(body: s.WithdrawBody) -> s.WithdrawOut:
        """Withdraw the server account's whole balance (to itself, or to `to`)."""
        return s.WithdrawOut(amount=str(client.withdraw(body.to)))

    # ------------------------------------------------------------ health and events

    @app.get("/health", tags=["service"], response_model=s.HealthOut, responses=READ_ERRORS)
    def health() -> s.HealthOut:
        """Chain id, latest block, contract address and the server's account."""
        return s.HealthOut(
            status="ok",
            chain_id=client.chain_id,
            latest_block=client.block_number(),
            contract_address=client.contract_address,
            server_account=client.address,
        )

    @app.get(
        "/events",
        tags=["service"],
        response_class=StreamingResponse,
        responses={
            **READ_ERRORS,
            200: {
                "description": "a Server-Sent Events stream; each event's `data` is JSON",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
        },
    )
    async def events(
        request: Request,
        from_block: Annotated[
            int | None, Query(ge=0, le=2**63, description="default: the next block")
        ] = None,
        max_events: Annotated[
            int | None, Query(ge=1, le=10_000, description="close after this many")
        ] = None,
    ) -> StreamingResponse:
        """A live stream of marketplace events (listings, rentals, withdrawals, fees)."""
        start = (
            from_block
            if from_block is not None
            else await run_in_threadpool(client.block_number) + 1
        )
        return StreamingResponse(
            _event_stream(client, request, start, max_events, event_poll_interval),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


async def _event_stream(
    client: GPUHubClient, request: Request, start: int, max_events: int | None, poll: float
) -> AsyncIterator[str]:
    sent = 0
    next_block = start
    yield ": connected\n\n"
    while not await request.is_disconnected():
        try:
            latest = await run_in_threadpool(client.block_number)
            found = (
                await run_in_threadpool(client.get_events, next_block, latest)
                if latest >= next_block
                else []
            )
        except exc.GPUHubError as err:
            # Headers are already sent; the stream's own error event tells the client why it ends.
            problem = {"error": type(err).__name__, "message": str(err)}
            yield f"event: error\ndata: {json.dumps(problem)}\n\n"
            return
        for event in found:
            data = json.dumps(s.event_json(event))
            event_id = f"{event.block_number}-{event.log_index}"
            yield f"id: {event_id}\nevent: {event.name}\ndata: {data}\n\n"
            sent += 1
            if max_events is not None and sent >= max_events:
                return
        next_block = max(next_block, latest + 1)
        await asyncio.sleep(poll)


def _id_path() -> Any:
    return Path(ge=0, le=2**48 - 1)


def _address_path() -> Any:
    return Path(pattern=r"^0x[0-9a-fA-F]{40}$")

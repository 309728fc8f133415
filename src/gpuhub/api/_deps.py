"""What every router shares: the client, the index, the write check and the error-to-status table.

Routers take the client with ``client: ClientDep``, the index with ``index: IndexDep`` (None on
a server without one) and guard writes with ``dependencies=[Writer]``, which also waits, once
the write is done, until the index holds it (read-your-writes); ``create_app`` puts these
objects on ``app.state``.
"""

import hmac
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import exceptions as exc
from ..client import GPUHubClient
from . import _schemas as s

if TYPE_CHECKING:
    from ._reads import IndexReads

#: HTTP status for each gpuhub error; the first matching class in the exception's MRO wins.
STATUS_BY_ERROR: dict[type[Exception], int] = {
    exc.ListingNotFound: 404,
    exc.RentalNotFound: 404,
    exc.GovernorNonexistentProposal: 404,
    exc.NoGovernor: 404,
    exc.TransactionNotFound: 404,
    exc.NotListingProvider: 403,
    exc.NotRenter: 403,
    exc.NotRentalParty: 403,
    exc.NotGovernance: 403,
    exc.NotGuardian: 403,
    exc.NotTreasury: 403,
    exc.CannotRentOwnListing: 403,
    exc.ValidationError: 422,
    exc.InvalidGpuModel: 422,
    exc.GpuModelNotUtf8: 422,
    exc.GpuModelControlCharacter: 422,
    exc.PaymentTooLarge: 422,
    exc.InvalidCapacity: 422,
    exc.InvalidPrice: 422,
    exc.InvalidUnit: 422,
    exc.InvalidDurationRange: 422,
    exc.InvalidDuration: 422,
    exc.InsufficientPayment: 422,
    exc.FeeTooHigh: 422,
    exc.InvalidAddress: 422,
    exc.InvalidScore: 422,
    exc.CommentTooLong: 422,
    exc.CommentNotUtf8: 422,
    exc.CommentControlCharacter: 422,
    exc.ContractError: 409,  # every other custom error is a conflict with the current state
    exc.OutOfGas: 502,  # the server's own transaction ran short: not the client's doing
    exc.TransactionReverted: 409,
    exc.InsufficientFunds: 409,  # the server's account holds less than the value plus gas
    exc.TransactionRejected: 502,
    exc.RequestRejected: 502,
    exc.TransactionDropped: 503,  # the node lost it for good, nothing ran: try again
    exc.TransactionTimeout: 504,
    exc.MalformedResponse: 502,  # the node (or a proxy) answered something unusable
    exc.ConnectionFailed: 503,
    exc.ContractNotDeployed: 503,  # the marketplace is gone from the node (restarted fresh?)
    exc.MissingDependency: 501,  # the server lacks an optional extra
    exc.GPUHubError: 502,
}

_ERRORS: dict[int | str, dict[str, Any]] = {
    **{code: {"model": s.ErrorOut} for code in (404, 422, 502, 503, 504)},
    413: {"model": s.ErrorOut, "description": "the request body is over the server's limit"},
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

    def __repr__(self) -> str:
        return f"WriteAccess(api_key={'set' if self._key else None}, open={self._open})"

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


class Denied(Exception):
    """Raised by the write check; the app answers with the response it carries."""

    def __init__(self, response: JSONResponse) -> None:
        self.response = response


_bearer = HTTPBearer(auto_error=False, description="the server's API key")


async def get_client(request: Request) -> GPUHubClient:
    """The marketplace client the app was built around."""
    client: GPUHubClient = request.app.state.client
    return client


async def get_index(request: Request) -> Any:
    """The server's MarketIndex, or None when it answers from the chain."""
    reads: IndexReads | None = request.app.state.reads
    return None if reads is None else reads.index


def require_writer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Iterator[None]:
    """Refuse a write without the server's API key; after a write that succeeded, wait until
    the index (if the server has one) holds it."""
    access: WriteAccess = request.app.state.access
    denial = access.denial(credentials)
    if denial is not None:
        raise Denied(denial)
    yield
    reads: IndexReads | None = request.app.state.reads
    if reads is not None:
        reads.after_write()


ClientDep = Annotated[GPUHubClient, Depends(get_client)]
# Typed loosely: naming MarketIndex here would import SQLAlchemy into every API server.
IndexDep = Annotated[Any, Depends(get_index)]
# "function": the code after the yield runs before the answer goes out.
Writer = Depends(require_writer, scope="function")


def id_path() -> Any:
    return Path(ge=0, le=2**48 - 1)


def address_path() -> Any:
    return Path(pattern=r"^0x[0-9a-fA-F]{40}$")

"""Webhook endpoints: ``/v1/webhooks`` (API key). Delivery itself is gpuhub.webhooks'."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from ...webhooks import DeliveryAttempt, Endpoint, Outbox
from .._deps import WRITE_ERRORS, Denied, Writer, error_response, id_path

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], dependencies=[Writer])


class WebhookIn(BaseModel):
    url: str = Field(
        max_length=2048,
        description="http(s) URL the events are POSTed to; its host must resolve to public "
        "addresses only, unless the server allows private ones",
    )
    event_types: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=50,
        description="only these events, e.g. RentalStarted; every event when empty",
    )
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="a whsec_ secret to sign with; generated when absent",
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    event_types: list[str]
    created_at: int
    enabled: bool
    disabled_reason: str | None
    pending: int = Field(description="messages not delivered yet")
    failing_attempts: int = Field(description="failed attempts of the oldest pending message")
    last_error: str | None = Field(description="the latest failure, if any")


class WebhookSecretOut(BaseModel):
    id: int
    secret: str = Field(description="the whsec_ secret deliveries are signed with")


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the whsec_ secret deliveries are signed with")


class AttemptOut(BaseModel):
    msg_id: str
    at: float
    status: int | None
    error: str | None


async def get_outbox(request: Request) -> Outbox:
    """The app's webhook outbox (this router is included only when the app has one)."""
    outbox: Outbox = request.app.state.webhooks
    return outbox


OutboxDep = Annotated[Outbox, Depends(get_outbox)]


def _out(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.endpoint_id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "created_at": endpoint.created_at,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "pending": endpoint.pending,
        "failing_attempts": endpoint.failing_attempts,
        "last_error": endpoint.last_error,
    }


def _attempt(attempt: DeliveryAttempt) -> AttemptOut:
    return AttemptOut(
        msg_id=attempt.msg_id, at=attempt.at, status=attempt.status, error=attempt.error
    )


def _missing(endpoint_id: int) -> Denied:
    return Denied(error_response(404, "WebhookNotFound", f"no webhook endpoint {endpoint_id}"))


def _endpoint(outbox: Outbox, endpoint_id: int) -> Endpoint:
    found = [e for e in outbox.endpoints() if e.endpoint_id == endpoint_id]
    if not found:
        raise _missing(endpoint_id)
    return found[0]


@router.post("", status_code=201, response_model=WebhookCreated, responses=WRITE_ERRORS)
def add_webhook(body: WebhookIn, outbox: OutboxDep, request: Request) -> WebhookCreated:
    """Register an endpoint; the answer carries its signing secret.

    A malformed URL, or one whose host does not resolve or is (or resolves to) an address
    deliveries may not reach, is a 422 that says which. The first endpoint starts the
    dispatcher (nothing follows the chain for webhooks before).
    """
    endpoint = outbox.add_endpoint(body.url, event_types=body.event_types, secret=body.secret)
    if request.app.state.running:
        request.app.state.dispatcher.start()
    return WebhookCreated(**_out(endpoint), secret=endpoint.secret)


@router.get("", response_model=list[WebhookOut], responses=WRITE_ERRORS)
def list_webhooks(outbox: OutboxDep) -> list[WebhookOut]:
    """Every endpoint with its delivery state (pending messages, the current failure)."""
    return [WebhookOut(**_out(e)) for e in outbox.endpoints()]


@router.get("/{endpoint_id}", response_model=WebhookOut, responses=WRITE_ERRORS)
def get_webhook(endpoint_id: Annotated[int, id_path()], outbox: OutboxDep) -> WebhookOut:
    """One endpoint with its delivery state."""
    return WebhookOut(**_out(_endpoint(outbox, endpoint_id)))


@router.get("/{endpoint_id}/secret", response_model=WebhookSecretOut, responses=WRITE_ERRORS)
def get_webhook_secret(
    endpoint_id: Annotated[int, id_path()], outbox: OutboxDep
) -> WebhookSecretOut:
    """The endpoint's signing secret (for receivers set up after it was registered)."""
    return WebhookSecretOut(id=endpoint_id, secret=_endpoint(outbox, endpoint_id).secret)


@router.get("/{endpoint_id}/attempts", response_model=list[AttemptOut], responses=WRITE_ERRORS)
def webhook_attempts(
    endpoint_id: Annotated[int, id_path()], outbox: OutboxDep, failed_only: bool = False
) -> list[AttemptOut]:
    """Every delivery attempt to the endpoint, oldest first (or only the failed ones)."""
    _endpoint(outbox, endpoint_id)
    return [_attempt(a) for a in outbox.attempts(endpoint_id, failed_only=failed_only)]


@router.delete("/{endpoint_id}", status_code=204, responses=WRITE_ERRORS)
def delete_webhook(endpoint_id: Annotated[int, id_path()], outbox: OutboxDep) -> Response:
    """Forget the endpoint and its undelivered messages."""
    _endpoint(outbox, endpoint_id)
    outbox.remove_endpoint(endpoint_id)
    return Response(status_code=204)

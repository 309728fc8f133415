"""Health and metrics (the live event stream is in ``events``)."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ...webhooks import WebhookDispatcher
from .. import _schemas as s
from .._deps import READ_ERRORS, ClientDep
from .._reads import IndexReads

router = APIRouter(tags=["service"])


@router.get("/health", response_model=s.HealthOut, responses=READ_ERRORS)
def health(client: ClientDep, request: Request) -> s.HealthOut:
    """Chain id, latest block, contract address, the server's account; on a server with an
    index how far it is behind the head, and with webhooks how its dispatcher is doing.

    It reads the marketplace itself, so a node that lost the contract (restarted with fresh
    state) or cannot be reached answers 503 here, not "ok". Status "degraded": the index
    trails the head (or is not followed while the server runs), or the webhook dispatcher does
    not run while endpoints wait.
    """
    client.listing_count()
    head = client.block_number()
    degraded = False
    dispatcher: WebhookDispatcher | None = request.app.state.dispatcher
    webhooks = None
    if dispatcher is not None:
        found = dispatcher.health()
        webhooks = s.WebhooksHealthOut(
            alive=found.alive,
            restarts=found.restarts,
            pending=found.pending,
            last_error=found.last_error,
            last_error_at=found.last_error_at,
        )
        degraded |= not found.alive and bool(dispatcher.outbox.endpoints())
    reads: IndexReads | None = request.app.state.reads
    index = None
    if reads is not None:
        index = s.IndexHealthOut(**reads.health(head))
        following_expected = request.app.state.running and reads.follows
        degraded |= index.behind or (following_expected and not index.following)
    return s.HealthOut(
        status="degraded" if degraded else "ok",
        chain_id=client.chain_id,
        latest_block=head,
        contract_address=client.contract_address,
        server_account=client.address,
        webhooks=webhooks,
        index=index,
        worker=request.app.state.worker,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format: requests by route, method and status and "
            "their latencies, rate-limited requests, node errors, the index's lag in blocks",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request) -> Response:
    """The server's metrics for Prometheus (every worker's, under `--workers`)."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

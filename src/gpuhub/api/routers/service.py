"""Health and the live event stream."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ... import exceptions as exc
from ...client import GPUHubClient
from .. import _schemas as s
from .._deps import READ_ERRORS, ClientDep

router = APIRouter(tags=["service"])


@router.get("/health", response_model=s.HealthOut, responses=READ_ERRORS)
def health(client: ClientDep) -> s.HealthOut:
    """Chain id, latest block, contract address and the server's account.

    It reads the marketplace itself, so a node that lost the contract (restarted with fresh
    state) or cannot be reached answers 503 here, not "ok".
    """
    client.listing_count()
    return s.HealthOut(
        status="ok",
        chain_id=client.chain_id,
        latest_block=client.block_number(),
        contract_address=client.contract_address,
        server_account=client.address,
    )


@router.get(
    "/events",
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
    client: ClientDep,
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
        from_block if from_block is not None else await run_in_threadpool(client.block_number) + 1
    )
    poll: float = request.app.state.event_poll_interval
    return StreamingResponse(
        _event_stream(client, request, start, max_events, poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


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

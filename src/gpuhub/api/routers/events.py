"""The live event stream: ``GET /events`` (Server-Sent Events), resumable and filtered."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ... import _core
from ... import exceptions as exc
from ...events import ContractEvent
from ...watch import Watch
from .._deps import READ_ERRORS, ClientDep

router = APIRouter(tags=["service"])


#: the highest block a stream starts from (as ``from_block``'s own limit).
MAX_BLOCK = 2**63


def _last_event_id(value: str) -> tuple[int, int]:
    block, sep, log_index = value.partition("-")
    try:
        if not sep:
            raise exc.ValidationError("Last-Event-ID", "no '-'")
        return (
            _core.parse_whole("Last-Event-ID", block, high=MAX_BLOCK),
            _core.parse_whole("Last-Event-ID", log_index, high=MAX_BLOCK),
        )
    except exc.ValidationError as err:
        raise exc.ValidationError(
            "Last-Event-ID",
            "expected BLOCK-LOGINDEX in the digits 0-9, the id of an event this stream sent",
        ) from err


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        **READ_ERRORS,
        200: {
            "description": (
                "a Server-Sent Events stream; each event's `id` is BLOCK-LOGINDEX, its `event` "
                "the contract event's name and its `data` the event as JSON"
            ),
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def events(
    client: ClientDep,
    request: Request,
    from_block: Annotated[
        int | None, Query(ge=0, le=MAX_BLOCK, description="default: the next block")
    ] = None,
    max_events: Annotated[
        int | None, Query(ge=1, le=10_000, description="close after this many")
    ] = None,
    event: Annotated[
        list[str] | None,
        Query(max_length=20, description="only these events (repeatable), e.g. RentalStarted"),
    ] = None,
    listing_id: Annotated[
        int | None, Query(ge=0, le=2**48 - 1, description="only events about this listing")
    ] = None,
    account: Annotated[
        str | None,
        Query(pattern=r"^0x[0-9a-fA-F]{40}$", description="only events involving this address"),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="resume after this event (browsers send it when they reconnect)",
        ),
    ] = None,
) -> StreamingResponse:
    """A live stream of marketplace events (listings, rentals, withdrawals, fees).

    With `Last-Event-ID` the stream resumes right after that event (it wins over `from_block`).
    A reorganisation that drops delivered events sends them again with `"removed": true`.
    """
    after = None if last_event_id is None else _last_event_id(last_event_id)
    start = from_block if after is None else after[0]
    watch = Watch(
        client._ops,
        client._run,
        event or (),
        from_block=start,
        listing_id=listing_id,
        account=account,
        retry_outages=False,
    )
    poll: float = request.app.state.event_poll_interval
    return StreamingResponse(
        _stream(watch, request, after, max_events, poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _frame(event: ContractEvent) -> str:
    data = json.dumps(event.to_json(amounts_as_text=True))
    return f"id: {event.block_number}-{event.log_index}\nevent: {event.name}\ndata: {data}\n\n"


async def _stream(
    watch: Watch,
    request: Request,
    after: tuple[int, int] | None,
    max_events: int | None,
    poll: float,
) -> AsyncIterator[str]:
    sent = 0
    yield ": connected\n\n"
    try:
        while not await request.is_disconnected():
            try:
                found = await run_in_threadpool(watch.read_new) or []
                batch = []
                for item in found:
                    if after is not None and item.key <= after and not item.removed:
                        continue
                    if await run_in_threadpool(watch.wanted, item):
                        batch.append(item)
            except exc.GPUHubError as err:
                # Headers are sent; the stream's own error event tells the client why it ends.
                problem = {"error": type(err).__name__, "message": str(err)}
                yield f"event: error\ndata: {json.dumps(problem)}\n\n"
                return
            for item in batch:
                yield _frame(item)
                sent += 1
                if max_events is not None and sent >= max_events:
                    return
            if not found:
                await asyncio.sleep(poll)
    finally:
        watch.close()

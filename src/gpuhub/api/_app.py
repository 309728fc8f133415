"""The FastAPI app factory: assembles the routers, the write check and the error handlers.

Every route is one GPUHubClient call and nothing else (``routers/``, one module per resource);
this package never imports web3. gpuhub's exceptions become JSON errors here: 404 for unknown ids,
403 for the wrong sender, 409 for state conflicts, 422 for bad input, 502/503/504 when the node
fails.
"""

import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from .. import exceptions as exc
from ..client import GPUHubClient
from ..events import json_value
from ..webhooks import Outbox, WebhookDispatcher
from ._deps import Denied, WriteAccess, error_response, status_for
from ._limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, RequestLimits
from ._observe import Metrics, RequestContext, printable_path
from ._ratelimit import RateLimit, parse_rate_limit
from ._reads import IndexReads
from .routers import ALL as ROUTERS
from .routers import WEBHOOKS
from .routers.pages import STATIC
from .routers.search import INDEX_ROUTES

log = logging.getLogger("gpuhub.api")

if TYPE_CHECKING:
    from ..heads import Heads
    from ..index import MarketIndex


def create_app(
    client: GPUHubClient,
    *,
    api_key: str | None = None,
    allow_unauthenticated_writes: bool = False,
    cors_origins: Sequence[str] = (),
    event_poll_interval: float = 0.5,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_json_depth: int = MAX_JSON_DEPTH,
    index: "MarketIndex | None" = None,
    heads: "Heads | None" = None,
    follow: bool = True,
    webhooks: Outbox | None = None,
    rate_limit: str | None = None,
    rate_limit_storage: str = "memory://",
    log_requests: bool = False,
) -> FastAPI:
    """Build the HTTP API over ``client``, whose account signs every write.

    Args:
        client: the marketplace client; its account pays for every write.
        api_key: writes need ``Authorization: Bearer <api_key>``. Without one, writes are refused
            unless ``allow_unauthenticated_writes`` (for local development only).
        cors_origins: origins allowed to call the API from a browser.
        event_poll_interval: seconds between new-block checks in ``GET /events``.
        max_body_bytes: larger request bodies are answered 413 unread (default 64 KiB).
        max_json_depth: JSON bodies nested deeper are answered 422 before parsing (default 32).
        index: a MarketIndex of the same marketplace. The app answers listings, searches,
            rentals, reputations and ratings from it, keeps it in sync while it runs (after each
            new block ``heads`` announces), and answers a write once the index holds it; the
            statistics routes (``/v1/stats/...``, ``/v1/accounts/{address}/earnings``) read it
            too. Without one, every read goes to the chain (each search reads every listing).
        heads: where the index and the webhook dispatcher learn of new blocks (a
            :class:`~gpuhub.heads.Heads`, started and stopped with the app); default with an
            index: polls paced by the chain's block time. Without either, the dispatcher polls
            at its own pace.
        follow: False when another process keeps ``index`` in step with the chain (the workers
            of ``gpuhub serve --workers N``): the app only reads it, and after a write syncs it
            to the write's block itself (safe beside the other process: one writer at a time).
        webhooks: the outbox ``/v1/webhooks`` manages; a
            :class:`~gpuhub.webhooks.WebhookDispatcher` follows the chain into it and delivers
            (``/health`` shows how it is doing) while the app runs and the outbox has an
            endpoint: it starts with the first one. The outbox decides where deliveries may go
            (``Outbox(allow_private=True)`` for receivers on private networks). Without one,
            the app has no ``/v1/webhooks`` routes.
        rate_limit: requests per client, in ``limits``' notation (``"20/second;600/minute"``);
            past it, 429 with ``Retry-After``. None: no limit.
        rate_limit_storage: where the counts live: ``memory://`` (per process) or a shared
            storage URI ``limits`` knows (``redis://host:6379``).
        log_requests: log one line per request on ``gpuhub.api.access`` (the request id is on
            every record, see ``_observe.RequestIdFilter``).
    """
    if not follow and (heads is not None or webhooks is not None):
        raise ValueError("an app that does not follow the chain takes neither heads nor webhooks")
    own_heads = heads is None and index is not None and follow
    if own_heads:
        from ..heads import Heads

        heads = Heads(client)
    limits = None if rate_limit is None else parse_rate_limit(rate_limit)
    dispatcher = None if webhooks is None else WebhookDispatcher(client, webhooks, heads=heads)
    reads = None if index is None else IndexReads(client, index, heads)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.running = True
        if heads is not None:
            heads.start()
        if reads is not None:
            reads.start()
        if dispatcher is not None and webhooks is not None and webhooks.endpoints():
            dispatcher.start()
        try:
            yield
        finally:
            app.state.running = False
            if dispatcher is not None:
                dispatcher.stop()
            if reads is not None:
                reads.stop()
            if own_heads and heads is not None:
                heads.stop()

    app = FastAPI(
        title="gpuhub",
        summary="Share and rent GPUs on Ethereum",
        description=(
            "Every route is one GPUHubClient call. Reads are open; writes spend the server "
            "account's ETH and need `Authorization: Bearer <api key>`, while users' own wallets "
            "sign through `/v1/transactions` (prepare, then send or relay: no key). Wei amounts "
            "in `/v1` answers are decimal strings. The market page is at `/`."
        ),
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served from the package's own files, see routers/pages.py
        redoc_url=None,
    )
    app.state.client = client
    app.state.reads = reads
    app.state.running = False
    app.state.waiting = {}  # transactions waited on (routers/transactions.py), by hash
    #: the worker process answering, under ``gpuhub serve --workers N`` (its pid), else None
    app.state.worker = None
    app.state.webhooks = webhooks
    app.state.dispatcher = dispatcher
    app.state.access = WriteAccess(api_key, allow_unauthenticated_writes)
    app.state.event_poll_interval = event_poll_interval
    app.state.metrics = metrics = Metrics(index, client)
    app.state.chart_lock = threading.Lock()
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(
        RequestLimits,
        max_body_bytes=max_body_bytes,
        max_json_depth=max_json_depth,
    )
    if limits is not None:
        app.add_middleware(
            RateLimit,
            items=limits,
            storage_uri=rate_limit_storage,
            on_limited=metrics.limited.inc,
        )
    # Outermost: every answer (a 413 or a 429 too) gets its id and is counted.
    app.add_middleware(RequestContext, metrics=metrics, log_requests=log_requests)
    _add_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if webhooks is not None:
        app.include_router(WEBHOOKS)
    if reads is not None:
        # matched before the documented routes of the same paths (see search_index)
        app.router.routes[0:0] = INDEX_ROUTES
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Denied)
    async def denied(_: Request, err: Denied) -> JSONResponse:
        return err.response

    @app.exception_handler(exc.GPUHubError)
    async def gpuhub_error(request: Request, err: exc.GPUHubError) -> JSONResponse:
        status = status_for(err)
        if status >= 502:
            # The node (or the server's own account) failed, not the client: count and log it.
            request.app.state.metrics.node_errors.labels(type(err).__name__).inc()
            # the path as sent and the message as a Python literal: no line or escape of a
            # client's or a node's making reaches the log
            where = printable_path(request.scope)
            log.warning("%s %s: %s: %r", request.method, where, type(err).__name__, str(err))
        fields: dict[str, Any] = {}
        if isinstance(err, exc.ContractError):
            fields = {k: json_value(v) for k, v in err.values.items()}
        elif isinstance(err, exc.QueryError):
            fields = {"field": err.field, "position": err.position}
        elif isinstance(err, exc.ValidationError):
            fields = {"field": err.field}
        elif isinstance(err, exc.TransactionError) and err.tx_hash is not None:
            fields = {"tx_hash": err.tx_hash}
        return error_response(status, type(err).__name__, str(err), fields)

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

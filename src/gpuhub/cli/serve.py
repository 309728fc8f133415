"""Serving the HTTP API: ``gpuhub serve``."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..exceptions import MissingDependency
from ._app import app, say, warn
from ._context import Contract, From, Profile, Rpc, Session, password
from ._output import info, print_json

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..client import GPUHubClient
    from ..heads import Heads
    from ..index import MarketIndex
    from ..webhooks import Outbox

#: requests per client a server takes unless --rate-limit says otherwise (a person's browser
#: makes a few a second at most; a script that polls has room).
DEFAULT_RATE_LIMIT = "20/second;600/minute"


@app.command()
def serve(
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="serve an embedded chain seeded with listings from other accounts, so rentals "
            "can be tried over HTTP at once",
        ),
    ] = False,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    keystore: Annotated[
        Path | None,
        typer.Option(
            help="encrypted keystore of the signing account (password: "
            "$GPUHUB_KEYSTORE_PASSWORD or a prompt)"
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option(help="origin allowed from browsers (repeatable)")
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(min=1, help="larger request bodies are answered 413 (default 64 KiB)"),
    ] = None,
    webhook: Annotated[
        list[str] | None,
        typer.Option(
            help="POST every marketplace event to this URL, signed per Standard Webhooks "
            "(repeatable; the secret is $GPUHUB_WEBHOOK_SECRET, else generated: read it at "
            "GET /v1/webhooks/ID/secret)"
        ),
    ] = None,
    webhook_db: Annotated[
        Path | None,
        typer.Option(
            help="SQLite file of the webhook outbox, so a restart redelivers what was not "
            "acknowledged (default: in memory)"
        ),
    ] = None,
    allow_private_webhooks: Annotated[
        bool,
        typer.Option(
            "--allow-private-webhooks",
            help="let webhooks reach loopback, link-local and private addresses (local "
            "development, receivers on your own network); refused by default",
        ),
    ] = False,
    allow_unauthenticated_writes: Annotated[
        bool,
        typer.Option(
            "--allow-unauthenticated-writes",
            help="accept writes without an API key (local development only)",
        ),
    ] = False,
    index: Annotated[
        str | None,
        typer.Option(
            help="the market index reads are answered from: a file (SQLite) or a database URL "
            "(postgresql+psycopg://...), kept in sync as blocks arrive (default: a temporary "
            "SQLite file, synced from the chain at start and removed at exit)"
        ),
    ] = None,
    ws: Annotated[
        str | None,
        typer.Option(
            help="WebSocket URL of the node, to learn of new blocks from a newHeads "
            "subscription (default: the RPC URL as ws://, which anvil serves; without one, "
            "the head is polled at the block time's pace)"
        ),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log",
            help="log a line per request, with its request id (off by default: it costs about "
            "a tenth of a millisecond per request)",
        ),
    ] = False,
    rate_limit: Annotated[
        str,
        typer.Option(
            help="requests per client (its IP address; an IPv6 /64), e.g. '20/second;600/minute'; "
            "past it, 429 with Retry-After; 'none' for no limit"
        ),
    ] = DEFAULT_RATE_LIMIT,
    rate_limit_storage: Annotated[
        str,
        typer.Option(
            help="where the counts live: memory:// (each process its own) or a storage the "
            "limits library knows, shared by every worker (redis://host:6379)"
        ),
    ] = "memory://",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="worker processes answering on the port, sharing the --index (PostgreSQL "
            "only): this process keeps the index in step with the chain, the workers read it",
        ),
    ] = 1,
    as_json: Annotated[
        bool, typer.Option("--json", help="print where it serves as JSON before serving")
    ] = False,
) -> None:
    """Serve the HTTP API (needs the api extra).

    The server signs as --from (a keystore alias), --keystore FILE, $GPUHUB_PRIVATE_KEY, or the
    node's first unlocked account (dev nodes); never a key on the command line. Writes need
    $GPUHUB_API_KEY as a bearer token. With no RPC URL set (flag, environment or profile), an
    embedded chain with a deployed marketplace and funded accounts is served, for trying the API
    out; --demo also lists five GPUs there from other accounts, so the server's account can rent.
    """
    from contextlib import ExitStack

    from ..api import create_app
    from ..api._observe import log_config

    try:
        import uvicorn
    except ImportError as err:
        raise MissingDependency(
            'gpuhub serve needs the api extra: pip install "gpuhub-eth[api]" '
            '(from a checkout: pip install -e ".[api]")'
        ) from err

    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    if workers > 1:
        check_workers(session, index, webhooks=bool(webhook) or webhook_db is not None)
    client = server_client(session, keystore, demo=demo)
    api_key = os.environ.get("GPUHUB_API_KEY") or None
    if api_key is None and not allow_unauthenticated_writes:
        warn(
            "no GPUHUB_API_KEY set: writes are refused "
            "(set it, or pass --allow-unauthenticated-writes for local development)"
        )
    stack = ExitStack()
    market_index = stack.enter_context(server_index(client, index))
    heads = server_heads(client, session, ws)
    options: dict[str, Any] = {
        "api_key": api_key,
        "allow_unauthenticated_writes": allow_unauthenticated_writes,
        "cors_origins": list(cors_origin or ()),
        "rate_limit": None if rate_limit.strip().lower() == "none" else rate_limit,
        "rate_limit_storage": rate_limit_storage,
        "log_requests": access_log,
    }
    if max_body_bytes is not None:
        options["max_body_bytes"] = max_body_bytes
    if workers > 1:
        assert index is not None  # check_workers
        with stack:
            serve_workers(
                client, market_index, heads, session, index, workers, options, host, port, as_json
            )
        return
    outbox = webhook_outbox(webhook_db, webhook or [], allow_private=allow_private_webhooks)
    app_ = create_app(client, index=market_index, heads=heads, webhooks=outbox, **options)
    if as_json:
        print_json(
            {
                "url": f"http://{host}:{port}",
                "chain_id": client.chain_id,
                "marketplace": client.contract_address,
                "account": client.address,
            }
        )
        sys.stdout.flush()
    info(
        f"serving marketplace {client.contract_address} (chain {client.chain_id}) as "
        f"{client.address} on http://{host}:{port} (docs at /docs)"
    )
    with stack:
        try:
            # With --access-log, one line per request from the app itself, with its request id
            # (uvicorn's own has none).
            uvicorn.run(app_, host=host, port=port, log_config=log_config(), access_log=False)
        finally:
            heads.stop()


def check_workers(session: Session, index: str | None, *, webhooks: bool) -> None:
    """Refuse ``--workers`` above 1 where the workers could not share what they need.

    Raises:
        typer.BadParameter: no PostgreSQL --index, no node (--rpc), or webhooks asked for.
    """
    scheme = (index or "").partition(":")[0].partition("+")[0].lower()
    if scheme != "postgresql":
        raise typer.BadParameter(
            "more than one worker needs an index the workers share: pass --index "
            "postgresql+psycopg://USER@HOST/DB (SQLite is written by one process)",
            param_hint="--workers",
        )
    if session.settings.values["rpc_url"].source == "default":
        raise typer.BadParameter(
            "more than one worker needs a node they all reach: pass --rpc URL (the embedded "
            "chain lives in one process)",
            param_hint="--workers",
        )
    if webhooks:
        raise typer.BadParameter(
            "webhooks are delivered by a single-process server: leave out --webhook and "
            "--webhook-db, or serve them from another `gpuhub serve` without --workers",
            param_hint="--workers",
        )


def serve_workers(
    client: GPUHubClient,
    index: MarketIndex,
    heads: Heads,
    session: Session,
    index_url: str,
    count: int,
    options: dict[str, Any],
    host: str,
    port: int,
    as_json: bool,
) -> None:
    """Serve with ``count`` worker processes on one socket (``_workers``): this process follows
    the chain into ``index`` until a signal stops it; the workers answer."""
    import signal

    from ..api._observe import log_config
    from ._workers import Supervisor, WorkerSpec, account_of, bind, metrics_folder

    spec = WorkerSpec(
        rpc_url=str(session.settings["rpc_url"]),
        contract=client.contract_address,
        account=account_of(client),
        index_url=index_url,
        app_options=options,
        log_config=log_config(),
    )
    heads.start()
    follower = index.follow(heads=heads)
    sock = bind(host, port)
    try:
        with metrics_folder():
            supervisor = Supervisor(spec, sock, count)
            # a signal while the workers start stops them as soon as they answer
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: supervisor.ask_stop())
            try:
                supervisor.start()
            except RuntimeError as err:
                say(str(err))
                raise typer.Exit(1) from None
            if as_json:
                print_json(
                    {
                        "url": f"http://{host}:{port}",
                        "chain_id": client.chain_id,
                        "marketplace": client.contract_address,
                        "account": client.address,
                        "workers": supervisor.pids,
                    }
                )
                sys.stdout.flush()
            info(
                f"serving marketplace {client.contract_address} (chain {client.chain_id}) as "
                f"{client.address} on http://{host}:{port} with {count} workers (docs at /docs)"
            )
            supervisor.watch()
            if supervisor.failure is not None:
                say(supervisor.failure)
                raise typer.Exit(1)
    finally:
        follower.stop(10.0)
        heads.stop()
        sock.close()


@contextmanager
def server_index(client: GPUHubClient, where: str | None) -> Iterator[MarketIndex]:
    """The index the server answers from, synced to the head (with a progress bar): the one at
    ``where`` (a file or a URL), else a temporary SQLite file removed at exit."""
    import shutil
    import tempfile

    from .search import open_index, sync_with_progress

    folder = None
    if where is None:
        folder = tempfile.mkdtemp(prefix="gpuhub-serve-")  # private: mode 0700
        where = os.path.join(folder, "index.db")
    try:
        catch_up_apart(client, where)
        with open_index(client, where, synced=False) as opened:
            sync_with_progress(opened)
            yield opened
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


#: listings from which the server's first sync runs in a process of its own.
CATCH_UP_APART = 5_000


def catch_up_apart(client: GPUHubClient, where: str) -> bool:
    """Sync the index at ``where`` in a child process when the market is large and the node is
    reached over HTTP; True if that child synced it.

    A catch-up over a large market leaves the process that ran it holding memory it no longer
    uses (Python's allocator keeps the arenas the decoded logs touched): a server that synced
    100,000 listings itself held about 50 MB more than one started on the synced file. The child
    takes that memory with it when it exits, and the server then syncs only the blocks mined
    since. An embedded chain, a node reached otherwise, or a child that fails leaves the whole
    sync to the server, as before.
    """
    from web3 import HTTPProvider

    provider = client.w3.provider
    if not isinstance(provider, HTTPProvider) or client.listing_count() < CATCH_UP_APART:
        return False
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(
        target=_catch_up,
        args=(str(provider.endpoint_uri), client.contract_address, where),
        name="gpuhub-index-catch-up",
    )
    child.start()
    child.join()
    return child.exitcode == 0


def _catch_up(rpc_url: str, contract: str, where: str) -> None:
    """The child's work: sync the index at ``where`` to the head, with the progress bar."""
    from web3 import HTTPProvider, Web3

    from ..client import GPUHubClient
    from .search import open_index, sync_with_progress

    client = GPUHubClient(Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30})), contract)
    with open_index(client, where, synced=False) as index:
        sync_with_progress(index)


def server_heads(client: GPUHubClient, session: Session, ws: str | None) -> Heads:
    """Where the server learns of new blocks: a newHeads subscription at ``ws``, else at the RPC
    URL as ws:// (anvil serves both on one port), else (or if it refuses) paced polls."""
    from ..heads import Heads, ws_url_for

    if ws is None and session.settings.values["rpc_url"].source != "default":
        ws = ws_url_for(str(session.settings["rpc_url"]))
    return Heads(client, ws_url=ws)


def webhook_outbox(path: Path | None, urls: list[str], *, allow_private: bool) -> Outbox:
    """The server's webhook outbox, with an endpoint for each ``--webhook`` URL not yet in it."""

    from ..webhooks import Outbox

    outbox = Outbox(":memory:" if path is None else path, allow_private=allow_private)
    known = {e.url for e in outbox.endpoints()}
    secret = os.environ.get("GPUHUB_WEBHOOK_SECRET") or None
    for url in urls:
        if url in known:
            continue
        endpoint = outbox.add_endpoint(url, secret=secret)
        known.add(url)
        info(
            f"webhook {endpoint.endpoint_id}: every event to {url} (its secret: "
            f"GET /v1/webhooks/{endpoint.endpoint_id}/secret)"
        )
    return outbox


def server_client(
    session: Session, keystore: Path | None = None, *, demo: bool = False
) -> GPUHubClient:
    """The client the server signs with.

    The chain is the embedded one unless an RPC URL is set (a flag, the environment or the
    profile; the default URL does not count). The signer is, in order: ``--keystore FILE``,
    the account setting (--from, $GPUHUB_ACCOUNT, the profile), $GPUHUB_PRIVATE_KEY, else the
    node's first unlocked account.
    """
    from ..client import GPUHubClient
    from ..exceptions import ValidationError

    embedded = session.settings.values["rpc_url"].source == "default"
    if embedded:
        if session.settings["contract"] is not None:
            raise ValidationError("--contract", "a marketplace address needs --rpc (its node)")
        market = GPUHubClient.local()
        if demo:
            from ..demo import seed

            seed(market)
        return market
    if demo:
        raise ValidationError("--demo", "serves an embedded chain: leave out --rpc")
    # Read-only first: an unreachable node or a wrong address fails here, before any prompt.
    market = session.client
    if keystore is not None:
        return market.with_account(_keystore_account(keystore))
    if session.account_name() is not None or os.environ.get("GPUHUB_PRIVATE_KEY"):
        return market.with_account(session.signer())
    accounts = market.accounts
    if not accounts:
        raise ValidationError(
            "--from",
            "no signing account: pass --from ALIAS, --keystore FILE, or set GPUHUB_PRIVATE_KEY",
        )
    return market.with_account(accounts[0])


def _keystore_account(keystore: Path) -> Any:
    from eth_account import Account

    from ..exceptions import KeystoreError

    secret = password(f"password of {keystore.name}")
    try:
        return Account.from_key(Account.decrypt(keystore.read_text(), secret))
    except (ValueError, KeyError, TypeError, OSError):
        raise KeystoreError(
            f"cannot decrypt {keystore}: wrong password or not a keystore"
        ) from None

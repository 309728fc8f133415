"""Serving the HTTP API: ``gpuhub serve``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..exceptions import GPUHubError, MissingDependency
from ._app import app, err_console, warn

if TYPE_CHECKING:
    from ..client import GPUHubClient
    from ..webhooks import Outbox


@app.command()
def serve(
    rpc: Annotated[
        str | None, typer.Option(help="JSON-RPC URL; default: an embedded chain")
    ] = None,
    contract: Annotated[str | None, typer.Option(help="marketplace address (with --rpc)")] = None,
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
            help="answer searches from a market index at this database URL "
            "(sqlite:///file.db, postgresql+psycopg://...), kept in sync in the background"
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (needs the api extra).

    The signing key comes from $GPUHUB_PRIVATE_KEY or --keystore, never from the command line;
    writes need $GPUHUB_API_KEY as a bearer token. With no --rpc, an embedded chain with a
    deployed marketplace and funded accounts is served, for trying the API out.
    """
    import os

    from ..api import create_app

    try:
        import uvicorn
    except ImportError as err:
        raise MissingDependency(
            'gpuhub serve needs the api extra: pip install "gpuhub[api]"'
        ) from err

    client = server_client(rpc, contract, keystore)
    api_key = os.environ.get("GPUHUB_API_KEY") or None
    if api_key is None and not allow_unauthenticated_writes:
        warn(
            "no GPUHUB_API_KEY set: writes are refused "
            "(set it, or pass --allow-unauthenticated-writes for local development)"
        )
    market_index = None
    if index is not None:
        from ..index import MarketIndex
        from .search import sync_with_progress

        market_index = MarketIndex(client, index)
        sync_with_progress(market_index)
    outbox = webhook_outbox(webhook_db, webhook or [], allow_private=allow_private_webhooks)
    limits: dict[str, Any] = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
    app_ = create_app(
        client,
        api_key=api_key,
        allow_unauthenticated_writes=allow_unauthenticated_writes,
        cors_origins=cors_origin or (),
        index=market_index,
        webhooks=outbox,
        **limits,
    )
    err_console().print(
        f"serving marketplace {client.contract_address} (chain {client.chain_id}) as "
        f"{client.address} on http://{host}:{port} (docs at /docs)",
        markup=False,
    )
    if market_index is None:
        uvicorn.run(app_, host=host, port=port, log_level="info")
        return
    with market_index, market_index.follow():
        uvicorn.run(app_, host=host, port=port, log_level="info")


def webhook_outbox(path: Path | None, urls: list[str], *, allow_private: bool) -> Outbox:
    """The server's webhook outbox, with an endpoint for each ``--webhook`` URL not yet in it."""
    import os

    from ..webhooks import Outbox

    outbox = Outbox(":memory:" if path is None else path, allow_private=allow_private)
    known = {e.url for e in outbox.endpoints()}
    secret = os.environ.get("GPUHUB_WEBHOOK_SECRET") or None
    for url in urls:
        if url in known:
            continue
        endpoint = outbox.add_endpoint(url, secret=secret)
        known.add(url)
        err_console().print(
            f"webhook {endpoint.endpoint_id}: every event to {url} (its secret: "
            f"GET /v1/webhooks/{endpoint.endpoint_id}/secret)",
            markup=False,
        )
    return outbox


def server_client(rpc: str | None, contract: str | None, keystore: Path | None) -> GPUHubClient:
    """The client the server signs with: embedded chain, or --rpc/--contract with a key."""
    import os

    from ..client import GPUHubClient

    if rpc is None:
        if contract is not None:
            raise typer.BadParameter("--contract needs --rpc")
        return GPUHubClient.local()
    if contract is None:
        raise typer.BadParameter("--rpc needs --contract ADDRESS")
    from eth_account import Account
    from web3 import HTTPProvider, Web3

    # Read-only first: an unreachable node or a wrong address fails here, before any prompt.
    market = GPUHubClient(Web3(HTTPProvider(rpc)), contract)
    account: Any = None
    key = os.environ.get("GPUHUB_PRIVATE_KEY")
    if keystore is not None:
        password = os.environ.get("GPUHUB_KEYSTORE_PASSWORD") or typer.prompt(
            "keystore password", hide_input=True
        )
        try:
            account = Account.from_key(Account.decrypt(keystore.read_text(), password))
        except ValueError:
            raise GPUHubError(
                f"cannot decrypt {keystore}: wrong password or not a keystore"
            ) from None
    elif key:
        try:
            account = Account.from_key(key)
        except ValueError:
            raise GPUHubError("GPUHUB_PRIVATE_KEY is not a valid private key") from None
    else:
        accounts = market.accounts
        if not accounts:
            raise GPUHubError("no signing account: set GPUHUB_PRIVATE_KEY or pass --keystore FILE")
        account = accounts[0]
    return market.with_account(account)

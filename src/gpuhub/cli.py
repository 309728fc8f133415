"""The ``gpuhub`` command line (typer + rich; ``pip install "gpuhub[cli]"``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from .exceptions import GPUHubError, MissingDependency

if TYPE_CHECKING:
    from .client import GPUHubClient

try:
    import typer
    from rich.console import Console
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise MissingDependency(
        'the gpuhub command needs the cli extra: pip install "gpuhub[cli]"'
    ) from err

app = typer.Typer(
    name="gpuhub",
    help="Share and rent GPUs on Ethereum.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def demo() -> None:
    """Run the guided demo on an embedded chain (nothing to install or start)."""
    from .demo import run

    raise typer.Exit(run())


@app.command()
def node(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 8545,
    deploy: Annotated[bool, typer.Option(help="deploy a marketplace on it")] = True,
) -> None:
    """Start a local anvil node (from contracts/node_modules) until Ctrl-C."""
    from .chain import AnvilNode
    from .client import GPUHubClient

    console = Console()
    with AnvilNode(port=port) as anvil:
        console.print(f"anvil listening on [cyan]{anvil.url}[/cyan]")
        if deploy:
            client = GPUHubClient.deploy(anvil.web3())
            console.print(f"marketplace deployed at [cyan]{client.contract_address}[/cyan]")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("stopping anvil")


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
    allow_unauthenticated_writes: Annotated[
        bool, typer.Option(help="accept writes without an API key (local development only)")
    ] = False,
) -> None:
    """Serve the HTTP API (needs the api extra).

    The signing key comes from $GPUHUB_PRIVATE_KEY or --keystore, never from the command line;
    writes need $GPUHUB_API_KEY as a bearer token. With no --rpc, an embedded chain with a
    deployed marketplace and funded accounts is served, for trying the API out.
    """
    import os

    from .api import create_app

    try:
        import uvicorn
    except ImportError as err:
        raise MissingDependency(
            'gpuhub serve needs the api extra: pip install "gpuhub[api]"'
        ) from err

    client = _server_client(rpc, contract, keystore)
    api_key = os.environ.get("GPUHUB_API_KEY") or None
    if api_key is None and not allow_unauthenticated_writes:
        Console(stderr=True).print(
            "[yellow]no GPUHUB_API_KEY set: writes are refused "
            "(set it, or pass --allow-unauthenticated-writes for local development)[/yellow]"
        )
    app_ = create_app(
        client,
        api_key=api_key,
        allow_unauthenticated_writes=allow_unauthenticated_writes,
        cors_origins=cors_origin or (),
    )
    Console(stderr=True).print(
        f"serving marketplace {client.contract_address} (chain {client.chain_id}) as "
        f"{client.address} on http://{host}:{port} (docs at /docs)"
    )
    uvicorn.run(app_, host=host, port=port, log_level="info")


def _server_client(rpc: str | None, contract: str | None, keystore: Path | None) -> GPUHubClient:
    """The client the server signs with: embedded chain, or --rpc/--contract with a key."""
    import os

    from .client import GPUHubClient

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


@app.command("list")
def list_command(
    rpc: Annotated[str, typer.Option(help="JSON-RPC URL of the node")],
    contract: Annotated[str, typer.Option(help="marketplace contract address")],
    max_price: Annotated[int | None, typer.Option(help="highest price in wei")] = None,
    min_capacity: Annotated[int | None, typer.Option(help="least GPU memory in GB")] = None,
    all_: Annotated[bool, typer.Option("--all", help="include unavailable listings")] = False,
) -> None:
    """List the GPUs on a marketplace."""
    from web3 import HTTPProvider, Web3

    from .client import GPUHubClient
    from .demo import listings_table, wide_console

    client = GPUHubClient(Web3(HTTPProvider(rpc)), contract)
    found = client.list_gpus(max_price, min_capacity, available_only=not all_)
    wide_console().print(listings_table(f"{len(found)} listings", found))


def main() -> None:
    """Console-script entry point: typed errors become one red line and exit code 1."""
    try:
        app()
    except GPUHubError as err:
        Console(stderr=True).print(f"[red]error:[/red] {err}")
        sys.exit(1)

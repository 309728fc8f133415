"""The ``gpuhub`` command line (typer + rich; ``pip install "gpuhub[cli]"``)."""

from __future__ import annotations

import sys
import time
from typing import Annotated

from .exceptions import GPUHubError, MissingDependency

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

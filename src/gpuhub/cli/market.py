"""Reading a marketplace: ``gpuhub list``."""

from __future__ import annotations

from typing import Annotated

import typer

from ._app import app


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

    from ..client import GPUHubClient
    from ..demo import listings_table, wide_console

    client = GPUHubClient(Web3(HTTPProvider(rpc)), contract)
    found = client.list_gpus(max_price, min_capacity, available_only=not all_)
    wide_console().print(listings_table(f"{len(found)} listings", found))

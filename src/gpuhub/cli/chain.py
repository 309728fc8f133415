"""Commands that run a chain: ``gpuhub demo`` and ``gpuhub node``."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Annotated

import typer

from ._app import app, err_console


@app.command()
def demo() -> None:
    """Run the guided demo on an embedded chain (nothing to install or start)."""
    from ..demo import run

    raise typer.Exit(run())


@app.command()
def node(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 8545,
    deploy: Annotated[bool, typer.Option(help="deploy a marketplace on it")] = True,
) -> None:
    """Start a local anvil node until Ctrl-C or SIGTERM ($GPUHUB_ANVIL or the npm package)."""
    from ..chain import AnvilNode
    from ..client import GPUHubClient

    console = err_console()
    stopping = threading.Event()
    # SIGTERM ends the wait like Ctrl-C, so the anvil child is stopped on the way out; the
    # handler is in place before anvil starts, so no moment leaves an orphan behind.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    try:
        with AnvilNode(port=port) as anvil:
            print(f"anvil listening on {anvil.url}", flush=True)
            if deploy:
                client = GPUHubClient.deploy(anvil.web3())
                print(f"marketplace deployed at {client.contract_address}", flush=True)
                gov = client.governance
                print(f"governor at {gov.address}, timelock {gov.timelock}", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while not stopping.wait(1.0):
                    pass
            console.print("stopping anvil", markup=False)
    finally:
        signal.signal(signal.SIGTERM, previous)

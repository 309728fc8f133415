"""Searching a marketplace and keeping an index of it: ``gpuhub search``, ``gpuhub index``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._app import app, err_console

if TYPE_CHECKING:
    from ..client import GPUHubClient
    from ..index import MarketIndex
    from ..search import SearchResult

index_app = typer.Typer(
    help="Keep a SQL index of a marketplace in sync with its events.", no_args_is_help=True
)
app.add_typer(index_app, name="index")

Rpc = Annotated[str, typer.Option(help="JSON-RPC URL of the node")]
Contract = Annotated[str, typer.Option(help="marketplace contract address")]
IndexUrl = Annotated[
    str, typer.Option("--url", help="database URL: sqlite:///file.db or postgresql+psycopg://...")
]
Confirmations = Annotated[
    int, typer.Option(min=0, help="blocks to stay behind the head (about 12 on mainnet)")
]


def _client(rpc: str, contract: str) -> GPUHubClient:
    from web3 import HTTPProvider, Web3

    from ..client import GPUHubClient

    return GPUHubClient(Web3(HTTPProvider(rpc)), contract)


@app.command("search")
def search_command(
    query: Annotated[
        str, typer.Argument(help="e.g. 'model~4090 capacity>=24 price_per_hour<=0.5eth'")
    ],
    rpc: Rpc,
    contract: Contract,
    index: Annotated[
        str | None, typer.Option(help="answer from this index (see gpuhub index sync)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Search a marketplace's listings with the query language (from the chain, or an index)."""
    client = _client(rpc, contract)
    if index is None:
        result = client.search(query)
    else:
        from ..index import MarketIndex

        with MarketIndex(client, index) as opened:
            result = opened.search(query)
    if as_json:
        print(json.dumps(result_json(result), indent=2))
        return
    from ..demo import listings_table, wide_console

    title = f"{result.total} listings match {str(result.query)!r}"
    if len(result.listings) < result.total:
        title += f" (showing {len(result.listings)})"
    wide_console().print(listings_table(title, result.listings))


def result_json(result: SearchResult) -> dict[str, Any]:
    """A search result as JSON: wei amounts as decimal strings, enums by name."""
    return {
        "query": str(result.query),
        "total": result.total,
        "listings": [
            {
                "listing_id": x.listing_id,
                "provider": x.provider,
                "gpu_model": x.gpu_model,
                "capacity": x.capacity,
                "price": str(x.price),
                "unit": x.unit.name,
                "min_duration": x.min_duration,
                "max_duration": x.max_duration,
                "status": x.status.name,
            }
            for x in result.listings
        ],
        "reputations": {
            address: {
                "provider_score": rep.provider_score(),
                "provider_rating_count": rep.provider_rating_count,
                "completed_as_provider": rep.completed_as_provider,
                "terminations": rep.terminations,
            }
            for address, rep in result.reputations.items()
        },
    }


def sync_with_progress(index: MarketIndex) -> int:
    """Sync ``index`` to the head with a progress bar on stderr; returns the synced block."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    start = index.synced_block
    with Progress(
        TextColumn("syncing blocks"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console(),
        transient=True,
    ) as progress:
        task = progress.add_task("sync", total=None)

        def advance(synced: int, target: int) -> None:
            progress.update(task, completed=synced - start, total=max(1, target - start))

        return index.sync(progress=advance)


@index_app.command("sync")
def index_sync(
    rpc: Rpc, contract: Contract, url: IndexUrl, confirmations: Confirmations = 0
) -> None:
    """Bring the index up to the head (minus confirmations), then exit."""
    from ..index import MarketIndex

    with MarketIndex(_client(rpc, contract), url, confirmations=confirmations) as index:
        synced = sync_with_progress(index)
    err_console().print(f"index synced to block {synced}", markup=False, highlight=False)


@index_app.command("follow")
def index_follow(
    rpc: Rpc,
    contract: Contract,
    url: IndexUrl,
    confirmations: Confirmations = 0,
    interval: Annotated[float, typer.Option(min=0.05, help="seconds between syncs")] = 2.0,
) -> None:
    """Catch up, then keep the index in sync until interrupted (Ctrl-C)."""
    import time

    from ..index import MarketIndex

    console = err_console()
    with MarketIndex(_client(rpc, contract), url, confirmations=confirmations) as index:
        last = sync_with_progress(index)
        console.print(f"index synced to block {last}; following", markup=False, highlight=False)
        try:
            while True:
                time.sleep(interval)
                synced = index.sync()
                if synced != last:
                    console.print(f"synced to block {synced}", markup=False, highlight=False)
                    last = synced
        except KeyboardInterrupt:
            console.print(f"stopped at block {last}", markup=False, highlight=False)

"""Searching a marketplace and keeping an index of it: ``gpuhub search``, ``gpuhub index``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._app import app, group
from ._context import Contract, Json, Profile, Rpc, Session
from ._output import console, info, listing_json, print_json, print_json_line

if TYPE_CHECKING:
    from ..client import GPUHubClient
    from ..exceptions import MarketIndexError
    from ..index import MarketIndex
    from ..search import SearchResult

index_app = group("index", "Keep a SQL index of a marketplace in sync with its events.")

IndexUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="the index: a file (SQLite) or a database URL (postgresql+psycopg://...) "
        "[env GPUHUB_INDEX, profile index]",
        show_default=False,
    ),
]
Confirmations = Annotated[
    int, typer.Option(min=0, help="blocks to stay behind the head (about 12 on mainnet)")
]


def database_url(text: str) -> tuple[str, str]:
    """The SQLAlchemy URL for ``text`` (a URL, or a plain path read as a SQLite file) and the
    form to show people (any password hidden)."""
    import os

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from ..exceptions import ValidationError

    if "://" not in text:
        path = os.path.abspath(os.path.expanduser(text))
        return f"sqlite:///{path}", path
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValidationError(
            "--url",
            "not a database URL: give a file path, or sqlite:///FILE, postgresql+psycopg://...",
        ) from None
    return text, url.render_as_string(hide_password=True)


def _sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names (None for another database, or one in memory)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    return parsed.database or None


@contextmanager
def open_index(
    client: GPUHubClient,
    text: str,
    *,
    synced: bool,
    rebuild: bool = False,
    **options: Any,
) -> Iterator[MarketIndex]:
    """The index at ``text`` (a path or a URL); with ``synced``, one that was synced before.

    Raises:
        MarketIndexError: it cannot be opened, or (with ``synced``) it was never synced: an
            index that was never synced would answer "no listings" for a full market.
    """
    import os

    from sqlalchemy.exc import SQLAlchemyError

    from ..exceptions import MarketIndexError
    from ..index import MarketIndex

    url, shown = database_url(text)
    never = MarketIndexError(
        f"no synced index at {shown}: build it with gpuhub index sync --url {shown}"
    )
    file = _sqlite_file(url)
    if synced and (
        (file is None and url.startswith("sqlite")) or (file and not os.path.exists(file))
    ):
        raise never
    try:
        opened = (MarketIndex.rebuild if rebuild else MarketIndex)(client, url, **options)
        with opened:
            if synced and opened.synced_block < 0:
                raise never
            yield opened
    except MarketIndexError as err:
        raise _in_command_terms(err, shown) from None
    except SQLAlchemyError as err:
        cause = str(getattr(err, "orig", None) or err).splitlines()[0][:200]
        raise MarketIndexError(f"cannot use the index at {shown}: {cause}") from None


def _in_command_terms(err: MarketIndexError, shown: str) -> MarketIndexError:
    """``err`` with its advice to call ``MarketIndex.rebuild`` given as the command instead."""
    text = str(err)
    cut = text.find("MarketIndex.rebuild")
    if cut < 0:
        return err
    head = text[:cut].rsplit(": ", 1)[0]
    return type(err)(f"{head}: start it over with gpuhub index sync --rebuild --url {shown}")


@app.command("search")
def search_command(
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help="e.g. 'model~4090 capacity>=24 price_per_hour<=0.5eth sort=price_per_hour'",
        ),
    ],
    index: Annotated[
        str | None,
        typer.Option(
            help="answer from this index, a file or a database URL (see gpuhub index sync) "
            "[env GPUHUB_INDEX, profile index]"
        ),
    ] = None,
    chain: Annotated[
        bool, typer.Option("--chain", help="read the chain even when an index is configured")
    ] = False,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """Search the marketplace's listings with the query language (from the chain, or an index)."""
    session = Session(rpc=rpc, contract=contract, profile=profile, index=index)
    where = None if chain else session.settings["index"]
    client = session.client
    if where is None:
        result = client.search(query)
    else:
        with open_index(client, where, synced=True) as opened:
            result = opened.search(query)
    if as_json:
        print_json(result_json(result))
        return
    from ..demo import listings_table

    count = str(result.total) if result.total_exact else f"at least {result.total}"
    title = f"{count} listings match {str(result.query)!r}"
    if len(result.listings) < result.total:
        title += f" (showing {len(result.listings)})"
    console().print(listings_table(title, result.listings))


def result_json(result: SearchResult) -> dict[str, Any]:
    """A search result as JSON: wei amounts as decimal strings, enums by name."""
    return {
        "query": str(result.query),
        "total": result.total,
        "total_exact": result.total_exact,
        "listings": [listing_json(x) for x in result.listings],
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
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    start = index.synced_block
    with Progress(
        TextColumn("syncing blocks"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("sync", total=None)

        def advance(synced: int, target: int) -> None:
            progress.update(task, completed=synced - start, total=max(1, target - start))

        return index.sync(progress=advance)


def _index_session(
    rpc: str | None, contract: str | None, profile: str | None, url: str | None
) -> tuple[Session, str, dict[str, Any]]:
    from ..exceptions import ValidationError

    session = Session(rpc=rpc, contract=contract, profile=profile, index=url)
    where = session.settings["index"]
    if where is None:
        raise ValidationError(
            "--url", "where is the index? pass --url FILE (or a database URL), or set GPUHUB_INDEX"
        )
    options: dict[str, Any] = {}
    recorded = session.settings.deployments.get(session.chain_id)
    if recorded is not None and recorded.address.lower() == session.client.contract_address.lower():
        options["start_block"] = recorded.block
    return session, where, options


@index_app.command("sync")
def index_sync(
    url: IndexUrl = None,
    confirmations: Confirmations = 0,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="drop what the index holds and sync from the start")
    ] = False,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """Bring the index up to the head (minus confirmations), then exit."""
    session, where, options = _index_session(rpc, contract, profile, url)
    with open_index(
        session.client, where, synced=False, rebuild=rebuild, confirmations=confirmations, **options
    ) as index:
        synced = sync_with_progress(index)
    if as_json:
        print_json({"synced_block": synced})
        return
    info(f"index synced to block {synced}")


@index_app.command("follow")
def index_follow(
    url: IndexUrl = None,
    confirmations: Confirmations = 0,
    interval: Annotated[float, typer.Option(min=0.05, help="seconds between syncs")] = 2.0,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print each synced block as a line of JSON")
    ] = False,
) -> None:
    """Catch up, then keep the index in sync until interrupted (Ctrl-C)."""
    import time

    session, where, options = _index_session(rpc, contract, profile, url)
    with open_index(
        session.client, where, synced=False, confirmations=confirmations, **options
    ) as index:

        def report(block: int) -> None:
            if as_json:
                print_json_line({"synced_block": block})
            else:
                info(f"index synced to block {block}")

        last = sync_with_progress(index)
        report(last)
        try:
            while True:
                time.sleep(interval)
                synced = index.sync()
                if synced != last:
                    report(synced)
                    last = synced
        except KeyboardInterrupt:
            info(f"stopped at block {last}")

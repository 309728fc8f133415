"""Market statistics and account reports: ``gpuhub stats``, ``gpuhub earnings``,
``gpuhub report`` (the ``analytics`` extra).

Each reads an index (``--index``, GPUHUB_INDEX or the profile's ``index``); without one it
syncs a temporary index of the chain first, which is fine for a small market and slow for a
large one (``gpuhub index sync`` keeps one).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._app import app
from ._context import Contract, From, Json, Profile, Rpc, Session
from ._output import console, info, print_json

if TYPE_CHECKING:
    import pandas as pd

    from ..analytics import Result
    from ..index import MarketIndex

IndexOption = Annotated[
    str | None,
    typer.Option(
        "--index",
        help="read this index, a file or a database URL (gpuhub index sync builds one) "
        "[env GPUHUB_INDEX, profile index; default: sync a temporary one from the chain]",
        show_default=False,
    ),
]
Window = Annotated[
    str | None,
    typer.Option(
        "--window",
        help="how far back: 30d, 12h, 1w ... [stats: 30d; earnings and report: all time]",
        show_default=False,
    ),
]
By = Annotated[
    str,
    typer.Option("--by", help="group by hour, day, week, month (earnings also: listing, rental)"),
]
Png = Annotated[
    Path | None,
    typer.Option("--png", help="also draw the chart into this PNG file", show_default=False),
]


@contextmanager
def market_index(session: Session, where: str | None) -> Iterator[MarketIndex]:
    """The index at ``where``; with none, a temporary one synced from the chain now."""
    from ..index import MarketIndex
    from .search import open_index, sync_with_progress

    if where is not None:
        with open_index(session.client, where, synced=True) as opened:
            yield opened
        return
    options: dict[str, Any] = {}
    recorded = session.settings.deployments.get(session.chain_id)
    client = session.client
    if recorded is not None and recorded.address.lower() == client.contract_address.lower():
        options["start_block"] = recorded.block
    with tempfile.TemporaryDirectory(prefix="gpuhub-stats-") as folder:
        if sys.stderr.isatty():
            info("no index given (--index, GPUHUB_INDEX): reading the chain into a temporary one")
        with MarketIndex(client, f"sqlite:///{folder}/index.db", **options) as index:
            sync_with_progress(index)
            yield index


def _analytics() -> Any:
    from .. import analytics

    return analytics


def _checked(
    *, window: str | None, by: str | None = None, address: str | None = None
) -> str | None:
    """Check the arguments before any index is read (a temporary one takes a sync); returns the
    checksummed address."""
    from .._core import check_address
    from ..exceptions import ValidationError
    from ..units import parse_duration

    if window is not None:
        parse_duration(window, field="--window")
    if by is not None and by not in _BY:
        raise ValidationError("--by", f"expected one of {', '.join(_BY)}, got {by!r}")
    return None if address is None else check_address("ADDRESS", address)


_BY = ("hour", "day", "week", "month", "listing", "rental")


def _whose(session: Session, address: str | None, what: str) -> str:
    """``address``, or the --from account's."""
    from ..exceptions import ValidationError

    who = address if address is not None else session.address()
    if who is None:
        raise ValidationError(
            "ADDRESS", f"whose {what}? give an ADDRESS, or an account with --from ALIAS"
        )
    return who


def _table(title: str, frame: pd.DataFrame, columns: Sequence[str]) -> Any:
    """A rich table of ``frame``'s ``columns`` as people read them: wei as ETH, shortened to 6
    significant digits with a ``~`` when longer (``--json`` has every wei), durations,
    percentages."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..analytics._results import display_frame

    shown = display_frame(frame)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    present = [c for c in columns if c in shown.columns]
    wei = {c for c in present if f"{c}_eth" in frame.columns}
    for column in present:
        text = column in ("model", "provider", "comment", "rater")
        table.add_column(
            _HEADERS.get(column, column.replace("_", " ")),
            justify="left" if text or column == "period" else "right",
            no_wrap=not text,
            overflow="fold",
            min_width=12 if text else None,
        )
    for position in range(len(shown)):
        cells = []
        for column in present:
            if column in wei:
                raw = frame[column].iloc[position]
                cells.append("" if raw is None else eth(int(raw)))
            else:
                cells.append(_cell(shown[column].iloc[position]))
        table.add_row(*(Text(c) for c in cells))
    return table


def eth(wei: int) -> str:
    """Wei as ETH without the symbol: exact up to 6 significant digits, else ``~`` and 6."""
    from decimal import Decimal

    from ..units import format_wei

    exact = format_wei(wei, symbol=False)
    if len(exact.replace(".", "").lstrip("0")) <= 6:
        return exact
    # Display only: the Decimal never goes back into any amount.
    shown = f"{Decimal(wei) / Decimal(10**18):.6g}"
    return "~" + (format(Decimal(shown), "f") if "e" in shown.lower() else shown)


#: short column headers, so a table fits 110 columns.
_HEADERS = {
    "listing_id": "id",
    "rental_id": "rental",
    "listings": "listed",
    "available": "avail.",
    "ask_min": "ask min",
    "ask_median": "ask median",
    "realized_median": "paid median",
    "utilization": "use",
    "availability": "avail.",
    "price_per_hour": "per hour",
    "listed_seconds": "listed",
    "offered_seconds": "offered",
    "rented_seconds": "rented",
}


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _draw(result: Any, png: Path | None) -> None:
    if png is not None:
        png.write_bytes(result.png())
        info(f"chart written to {png}")


@app.command()
def stats(
    model: Annotated[
        str | None, typer.Option("--model", help="only this GPU model, named exactly")
    ] = None,
    window: Window = None,
    index: IndexOption = None,
    png: Png = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """The market by GPU model: listings now, asking and paid prices per hour (percentiles),
    utilization, volume and ratings over the window."""
    _checked(window=window)
    session = Session(rpc=rpc, contract=contract, profile=profile, index=index)
    with market_index(session, session.settings["index"]) as opened:
        result: Result = _analytics().market(opened, window=window or "30d", model=model)
    _draw(result, png)
    if as_json:
        print_json({"window": _bounds(result), "models": result.to_records()})
        return
    columns = [
        "model",
        "listings",
        "available",
        "ask_min",
        "ask_median",
        "realized_median",
        "utilization",
        "volume",
        "rating",
    ]
    title = f"{result.caption()} (prices in ETH per hour, volume in ETH)"
    console().print(_table(title, result.frame, columns))


@app.command()
def earnings(
    address: Annotated[
        str | None,
        typer.Argument(metavar="ADDRESS", help="the provider (default: the --from account)"),
    ] = None,
    by: By = "day",
    window: Window = None,
    index: IndexOption = None,
    png: Png = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """What a provider's rentals billed, per period, listing or rental: billed, platform fees,
    earned and refunded, counted when each rental ended."""
    given = _checked(window=window, by=by, address=address)
    session = Session(rpc=rpc, contract=contract, profile=profile, index=index, account=from_)
    provider = _whose(session, given, "earnings")
    with market_index(session, session.settings["index"]) as opened:
        result = _analytics().earnings(opened, provider, by=by, window=window)
    _draw(result, png)
    if as_json:
        print_json({"window": _bounds(result), "rows": result.to_records()})
        return
    key = {"listing": "listing_id", "rental": "rental_id"}.get(by, "period")
    columns = [key, "rentals", "billed", "fees", "earned", "refunds"]
    console().print(_table(f"{result.caption()} (in ETH)", result.frame, columns))


@app.command()
def report(
    address: Annotated[
        str | None,
        typer.Argument(metavar="ADDRESS", help="the account (default: the --from account)"),
    ] = None,
    role: Annotated[
        str, typer.Option("--as", help="report on the account as a provider or a renter")
    ] = "provider",
    by: By = "day",
    window: Window = None,
    index: IndexOption = None,
    png: Png = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """A provider's earnings, listings' availability and use, and ratings (or, with --as
    renter, a renter's rentals and spending); --png draws its charts."""
    from ..exceptions import ValidationError

    if role not in ("provider", "renter"):
        raise ValidationError("--as", f"expected provider or renter, got {role!r}")
    if by in ("listing", "rental"):
        raise ValidationError("--by", f"a report groups money by period, not by {by}")
    given = _checked(window=window, by=by, address=address)
    session = Session(rpc=rpc, contract=contract, profile=profile, index=index, account=from_)
    account = _whose(session, given, "report")
    analytics = _analytics()
    build = analytics.provider_report if role == "provider" else analytics.renter_report
    with market_index(session, session.settings["index"]) as opened:
        result = build(opened, account, window=window, by=by)
    _draw(result, png)
    if as_json:
        print_json(result.to_json())
        return
    from rich.table import Table
    from rich.text import Text

    from ..analytics._results import summary_text

    out = console()
    out.print(Text(result.caption()))
    summary = Table(show_header=False)
    summary.add_column("", justify="left")
    summary.add_column("", justify="right")
    for name, value in result.summary.items():
        summary.add_row(name.replace("_", " "), Text(summary_text(name, value)))
    out.print(summary)
    for name, table in result.tables.items():
        if len(table):
            columns = _REPORT_COLUMNS.get(name, [c for c in table.columns if c[-4:] != "_eth"])
            out.print(_table(f"{name} (amounts in ETH)", table, columns))


_REPORT_COLUMNS = {
    "listings": [
        "listing_id",
        "model",
        "status",
        "price_per_hour",
        "listed_seconds",
        "rented_seconds",
        "availability",
        "utilization",
        "rentals",
        "earned",
    ],
    "rentals": [
        "rental_id",
        "model",
        "started",
        "status",
        "price_per_hour",
        "paid",
        "billed",
        "refund",
    ],
    "ratings": ["rental_id", "rater", "score", "billed", "weight", "comment"],
}


def _bounds(result: Any) -> dict[str, str]:
    start, end = result.window
    return {"start": start.isoformat(), "end": end.isoformat()}

"""Following the chain: ``gpuhub watch`` (typed events) and ``gpuhub alerts`` (for one account).

Both run until Ctrl-C (exit code 0) or ``--count`` items; with ``--json`` each event or alert is
one line of JSON (a stream has no end to close a list at).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import app
from ._context import Contract, From, Json, Profile, Rpc, Session
from ._output import MONEY_FIELDS, alert_json, event_json, print_json_line, short

if TYPE_CHECKING:
    from ..alerts import Alert
    from ..events import ContractEvent

Count = Annotated[
    int | None, typer.Option(min=1, help="stop after this many (default: run until Ctrl-C)")
]


@app.command()
def watch(
    events: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="EVENTS",
            help="only these events, e.g. RentalStarted RentalEnded (default: all)",
        ),
    ] = None,
    listing: Annotated[
        int | None, typer.Option(min=0, help="only events about this listing")
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="only events that involve this address")
    ] = None,
    from_block: Annotated[
        int | None, typer.Option(min=0, help="start at this block (default: the next one)")
    ] = None,
    confirmations: Annotated[
        int, typer.Option(min=0, help="deliver an event once this many blocks are on top")
    ] = 0,
    count: Count = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """Print the marketplace's events as blocks arrive."""
    from .._core import check_address

    who = None if account is None else check_address("--account", account)
    client = Session(rpc=rpc, contract=contract, profile=profile).client
    seen = 0
    with client.watch(
        *(events or ()),
        from_block=from_block,
        confirmations=confirmations,
        listing_id=listing,
        account=who,
    ) as stream:
        try:
            for event in stream:
                if as_json:
                    print_json_line(event_json(event))
                else:
                    print(describe(event), flush=True)
                seen += 1
                if count is not None and seen >= count:
                    break
        except KeyboardInterrupt:
            pass


def describe(event: ContractEvent) -> str:
    """One line for a person: block, name and fields (ETH in full, addresses shortened)."""
    from enum import Enum

    from ..units import format_wei

    parts = []
    for field in dataclasses.fields(event):
        if field.name in ("block_number", "block_hash", "tx_hash", "log_index", "removed"):
            continue
        value = getattr(event, field.name)
        if field.name in MONEY_FIELDS and isinstance(value, int):
            text = format_wei(value)
        elif isinstance(value, Enum):
            text = value.name
        elif isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            text = short(value)
        else:
            text = repr(value) if isinstance(value, str) else str(value)
        parts.append(f"{field.name}={text}")
    removed = " (removed by a reorganisation)" if event.removed else ""
    return f"block {event.block_number}  {event.name}{removed}  {' '.join(parts)}"


def _in_command_terms(alert: Alert) -> str:
    """The alert's message, with the Python call it suggests given as the command."""
    if alert.rental is None:
        return alert.message
    rental_id = alert.rental.rental_id
    return alert.message.replace(f"client.settle({rental_id})", f"gpuhub settle {rental_id}")


@app.command()
def alerts(
    address: Annotated[
        str | None,
        typer.Argument(metavar="ADDRESS", help="whose alerts (default: the --from account)"),
    ] = None,
    ends_within: Annotated[
        str, typer.Option(help="warn when a rental has this long left: 10m, 1h")
    ] = "10m",
    search: Annotated[
        list[str] | None,
        typer.Option(help="also alert on new or cheaper listings matching this query (repeatable)"),
    ] = None,
    count: Count = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Print alerts for an account as the chain moves: rented, ending, ended, settleable,
    money to withdraw, and listings matching saved searches."""
    from .._core import check_address
    from ..exceptions import ValidationError
    from ..units import parse_duration

    within = parse_duration(ends_within, field="--ends-within")
    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    who = check_address("ADDRESS", address) if address is not None else session.address()
    if who is None:
        raise ValidationError("ADDRESS", "whose alerts? give an ADDRESS, or --from ALIAS")
    seen = 0
    with session.client.alerts(who, ends_within=within, searches=search or ()) as stream:
        try:
            for alert in stream:
                if as_json:
                    print_json_line({**alert_json(alert), "message": _in_command_terms(alert)})
                else:
                    print(f"[{alert.kind.value}] {_in_command_terms(alert)}", flush=True)
                seen += 1
                if count is not None and seen >= count:
                    break
        except KeyboardInterrupt:
            pass

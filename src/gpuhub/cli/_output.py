"""How commands print: one JSON document with ``--json``, else rich tables and short lines.

JSON is always one document (an object for one thing, a list for many), with exact wei as decimal
strings and enums by name; streams (``watch``, ``alerts``) print one such object per line.
Tables shorten addresses and long ids; JSON keeps them whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ..alerts import Alert
    from ..events import ContractEvent
    from ..governance import Proposal
    from ..models import Listing, Rating, Rental, Reputation

#: event fields that are wei (or wei-sized vote units): printed as strings in JSON.
MONEY_FIELDS = frozenset(
    {"price", "paid", "excess", "cost", "used", "refund", "provider_share", "fee", "billed"}
    | {"amount", "units", "withdrawable", "wallet", "claimed", "votes", "pending", "quorum"}
)


def print_json(document: Any) -> None:
    """Print ``document`` as one JSON document on stdout."""
    print(json.dumps(document, indent=2, ensure_ascii=False))


def print_json_line(document: Any) -> None:
    """Print ``document`` as one line of JSON (streams), flushed at once."""
    print(json.dumps(document, ensure_ascii=False), flush=True)


def console() -> Console:
    """A console on stdout at least 110 columns wide (tables need it; pipes default to 80) that
    never reads text as markup: model names, descriptions and comments come from the chain."""
    from rich.console import Console

    return Console(width=max(Console().width, 110), markup=False, highlight=False)


def info(message: str) -> None:
    """A line for a person, on stderr (stdout stays for results)."""
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def waiting(what: str) -> Iterator[None]:
    """A spinner on stderr while ``what`` waits for its block (only on a terminal)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(f"{what}: waiting for the block", spinner="dots"):
        yield


# ---------------------------------------------------------------------------------- JSON


def plain(value: Any) -> Any:
    """``value`` JSON-ready: enums by name, dataclasses as objects, bools and text as they are."""
    if isinstance(value, Enum):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def listing_json(listing: Listing) -> dict[str, Any]:
    """A listing: its price in wei as a string."""
    fields = plain(listing)
    fields["price"] = str(listing.price)
    return dict(fields)


def rental_json(rental: Rental) -> dict[str, Any]:
    """A rental: price and escrow in wei as strings."""
    fields = plain(rental)
    fields["price"] = str(rental.price)
    fields["paid"] = str(rental.paid)
    return dict(fields)


def rating_json(rating: Rating) -> dict[str, Any]:
    """A rating: the billed wei as a string."""
    fields = plain(rating)
    fields["billed"] = str(rating.billed)
    return dict(fields)


def reputation_json(rep: Reputation) -> dict[str, Any]:
    """A reputation with its averages and Bayesian score."""
    fields = plain(rep)
    fields.update(
        provider_average=rep.provider_average,
        renter_average=rep.renter_average,
        provider_score=rep.provider_score(),
    )
    return dict(fields)


def proposal_json(proposal: Proposal) -> dict[str, Any]:
    """A proposal: its id and vote units as decimal strings."""
    return {
        "proposal_id": str(proposal.proposal_id),
        "proposer": proposal.proposer,
        "state": proposal.state.name,
        "kind": proposal.kind.name,
        "description": proposal.description,
        "actions": [
            {
                "function": a.function,
                "args": [
                    str(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in a.args
                ],
            }
            if a.function
            else {"target": a.target, "value": str(a.value), "data": "0x" + a.data.hex()}
            for a in proposal.actions
        ],
        "vote_start": proposal.vote_start,
        "vote_end": proposal.vote_end,
        "eta": proposal.eta,
        "for_votes": str(proposal.for_votes),
        "against_votes": str(proposal.against_votes),
        "abstain_votes": str(proposal.abstain_votes),
        "quorum": str(proposal.quorum),
    }


def event_json(event: ContractEvent) -> dict[str, Any]:
    """An event: its name, where it is, and its fields by their Python names."""
    fields = {
        f.name: plain(getattr(event, f.name))
        for f in dataclasses.fields(event)
        if f.name not in ("block_hash",)
    }
    for name in MONEY_FIELDS & fields.keys():
        fields[name] = str(fields[name])
    return {"event": event.name, **fields}


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert: its kind, message and what it is about."""
    return {
        "kind": alert.kind.value,
        "account": alert.account,
        "message": alert.message,
        "at": alert.at,
        "amount": None if alert.amount is None else str(alert.amount),
        "rental": None if alert.rental is None else rental_json(alert.rental),
        "listing": None if alert.listing is None else listing_json(alert.listing),
        "query": alert.query,
        "event": None if alert.event is None else event_json(alert.event),
    }


# ---------------------------------------------------------------------------------- text


def short(address: str) -> str:
    """0x1234…abcd."""
    from ..demo import short as shorten

    return shorten(address)


def when(timestamp: int) -> str:
    """A chain timestamp as UTC: ``2026-11-27 18:00:00 UTC`` (``gpuhub._display.when``)."""
    from .._display import when as utc

    return utc(timestamp)


def short_id(value: int) -> str:
    """A long id cut to its first 8 and last 4 digits (gpuhub gov takes a unique prefix)."""
    text = str(value)
    return text if len(text) <= 14 else f"{text[:8]}…{text[-4:]}"

"""Ratings and track records: ``gpuhub rate`` and ``gpuhub reputation``."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ._app import app


@app.command()
def rate(
    rental_id: Annotated[int, typer.Argument(help="the rental, ended or settled", min=0)],
    score: Annotated[int, typer.Argument(help="1 (worst) to 5 (best)")],
    rpc: Annotated[str, typer.Option(help="JSON-RPC URL of the node")],
    contract: Annotated[str, typer.Option(help="marketplace contract address")],
    comment: Annotated[str, typer.Option(help="at most 280 bytes, published on-chain")] = "",
    keystore: Annotated[
        Path | None,
        typer.Option(
            help="encrypted keystore of the rating account (password: "
            "$GPUHUB_KEYSTORE_PASSWORD or a prompt)"
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="print the rating as JSON")] = False,
) -> None:
    """Rate the other side of a rental that is over (renter rates provider, provider rates renter).

    The rating account's key comes from $GPUHUB_PRIVATE_KEY or --keystore, else the node's first
    unlocked account (dev nodes).
    """
    from ..demo import short
    from .serve import server_client

    client = server_client(rpc, contract, keystore)
    rating = client.rate(rental_id, score, comment=comment)
    if json_:
        print(json.dumps(_jsonable(asdict(rating))))
        return
    said = f': "{rating.comment}"' if rating.comment else ""
    typer.echo(
        f"{short(rating.rater)} rated {short(rating.ratee)} as {rating.role.name.lower()} "
        f"{rating.score}/5 for rental {rating.rental_id}{said}"
    )


@app.command()
def reputation(
    address: Annotated[str, typer.Argument(help="the account")],
    rpc: Annotated[str, typer.Option(help="JSON-RPC URL of the node")],
    contract: Annotated[str, typer.Option(help="marketplace contract address")],
    json_: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Show what the contract counts about an address: ratings, completions, terminations."""
    from web3 import HTTPProvider, Web3

    from ..client import GPUHubClient
    from ..demo import reputation_table, wide_console

    client = GPUHubClient(Web3(HTTPProvider(rpc)), contract)
    rep = client.reputation(address)
    if json_:
        fields = asdict(rep)
        fields.update(
            provider_average=rep.provider_average,
            renter_average=rep.renter_average,
            provider_score=rep.provider_score(),
        )
        print(json.dumps(fields))
        return
    wide_console().print(reputation_table(f"Reputation of {rep.address}", [rep]))


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    """Enums by name."""
    return {k: v.name if isinstance(v, IntEnum) else v for k, v in fields.items()}

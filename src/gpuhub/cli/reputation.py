"""Ratings and track records: ``gpuhub rate`` and ``gpuhub reputation``."""

from __future__ import annotations

from typing import Annotated

import typer

from ._app import app
from ._context import Contract, From, Json, Profile, Rpc, Session
from ._output import console, print_json, rating_json, reputation_json, short, waiting


@app.command()
def rate(
    rental_id: Annotated[
        int,
        typer.Argument(
            metavar="RENTAL", help="the rental, ended or settled", min=0, show_default=False
        ),
    ],
    score: Annotated[
        int, typer.Argument(metavar="SCORE", help="1 (worst) to 5 (best)", show_default=False)
    ],
    comment: Annotated[str, typer.Option(help="at most 280 bytes, published on-chain")] = "",
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Rate the other side of a rental that is over: as its renter, the provider; as the
    provider, the renter. Once per side."""
    from .._core import MAX_SCORE
    from ..exceptions import ValidationError

    if not 1 <= score <= MAX_SCORE:
        raise ValidationError("score", f"must be 1 to {MAX_SCORE}, got {score}")
    client = Session(rpc=rpc, contract=contract, profile=profile, account=from_).sender()
    with waiting(f"rating rental {rental_id}"):
        rating = client.rate(rental_id, score, comment=comment)
    if as_json:
        print_json(rating_json(rating))
        return
    said = f': "{rating.comment}"' if rating.comment else ""
    print(
        f"{short(rating.rater)} rated {short(rating.ratee)} as {rating.role.name.lower()} "
        f"{rating.score}/5 for rental {rating.rental_id}{said}"
    )


@app.command()
def reputation(
    address: Annotated[
        str, typer.Argument(metavar="ADDRESS", help="the account", show_default=False)
    ],
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """What the contract counts about an address: ratings, completions, terminations."""
    from .._core import check_address
    from ..demo import reputation_table

    who = check_address("ADDRESS", address)
    rep = Session(rpc=rpc, contract=contract, profile=profile).client.reputation(who)
    if as_json:
        print_json(reputation_json(rep))
        return
    console().print(reputation_table(f"Reputation of {rep.address}", [rep]))

"""Money: ``gpuhub balance`` and ``gpuhub withdraw``."""

from __future__ import annotations

from typing import Annotated

import typer

from ._app import app
from ._context import Contract, From, Json, Profile, Rpc, Session
from ._output import print_json, waiting


@app.command()
def balance(
    address: Annotated[
        str | None,
        typer.Argument(metavar="ADDRESS", help="the account (default: the --from account)"),
    ] = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """What an account can withdraw from the marketplace, and the ETH in its wallet."""
    from .._core import check_address
    from ..exceptions import ValidationError
    from ..units import format_wei

    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    who = check_address("ADDRESS", address) if address is not None else session.address()
    if who is None:
        raise ValidationError(
            "ADDRESS", "whose balance? give an ADDRESS, or an account with --from ALIAS"
        )
    withdrawable = session.client.balance_of(who)
    wallet = int(session.node(session.web3.eth.get_balance, who))
    if as_json:
        print_json({"address": who, "withdrawable": str(withdrawable), "wallet": str(wallet)})
        return
    print(f"{who}: {format_wei(withdrawable)} to withdraw, {format_wei(wallet)} in the wallet")


@app.command()
def withdraw(
    to: Annotated[
        str | None, typer.Option(help="send it to this address instead of the account itself")
    ] = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Withdraw the account's whole balance from the marketplace (payouts and refunds)."""
    from .._core import check_address
    from ..units import format_wei

    target = None if to is None else check_address("--to", to)
    client = Session(rpc=rpc, contract=contract, profile=profile, account=from_).sender()
    with waiting("withdrawing"):
        amount = client.withdraw(target)
    receiver = target or client.address
    if as_json:
        print_json({"address": client.address, "to": receiver, "amount": str(amount)})
        return
    print(f"withdrew {format_wei(amount)} to {receiver}")

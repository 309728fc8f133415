"""Rentals: ``gpuhub quote``, ``rent``, ``access``, ``extend``, ``end``, ``settle`` and
``rentals``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ._app import app
from ._context import Contract, From, Json, Profile, Rpc, Session
from ._output import console, print_json, rental_json, waiting, when

if TYPE_CHECKING:
    from ..models import PriceUnit, Rental

ListingId = Annotated[
    int, typer.Argument(metavar="LISTING", help="the listing's id", min=0, show_default=False)
]
RentalId = Annotated[
    int, typer.Argument(metavar="RENTAL", help="the rental's id", min=0, show_default=False)
]
Duration = Annotated[
    str,
    typer.Argument(
        metavar="DURATION",
        help="how long: 2h, 3d, 90m, or a count of the listing's units",
        show_default=False,
    ),
]


def _units(text: str, unit: PriceUnit) -> int:
    from ..units import parse_duration, to_units

    seconds = parse_duration(text, default_unit=unit, field="DURATION")
    return to_units(seconds, unit, field="DURATION")


@app.command()
def quote(
    listing_id: ListingId,
    duration: Duration,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """What renting a listing for a duration costs now (no transaction)."""
    from ..units import format_wei

    client = Session(rpc=rpc, contract=contract, profile=profile).client
    listing = client.get_listing(listing_id)
    units = _units(duration, listing.unit)
    cost = client.quote(listing_id, units)
    if as_json:
        print_json(
            {
                "listing_id": listing_id,
                "duration": units,
                "unit": listing.unit.name,
                "cost": str(cost),
            }
        )
        return
    print(f"{units} {listing.unit.name.lower()}(s) of listing {listing_id} cost {format_wei(cost)}")


SshKey = Annotated[
    Path | None,
    typer.Option(
        "--ssh-key",
        help="your SSH public key file (~/.ssh/id_ed25519.pub), sent with the access request",
        show_default=False,
        exists=True,
        dir_okay=False,
    ),
]


@app.command()
def rent(
    listing_id: ListingId,
    duration: Duration,
    max_total: Annotated[
        str | None,
        typer.Option(
            help="pay up to this much (2eth, 50gwei): the rent goes through even if the price "
            "rises to it, and the excess is credited back (gpuhub withdraw)"
        ),
    ] = None,
    ssh_key: SshKey = None,
    wait_access: Annotated[
        bool,
        typer.Option(
            "--wait-access",
            help="ask the provider for access and wait for the connection details",
        ),
    ] = False,
    access_timeout: Annotated[
        float, typer.Option(help="seconds --wait-access waits for the details", min=0)
    ] = 120.0,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Rent a listing, paying into escrow; billed per second, the rest refunded when it ends.
    With --ssh-key or --wait-access, also ask the provider for access (and wait for it)."""
    from ..units import parse_amount

    most = None if max_total is None else parse_amount(max_total, field="--max-total")
    key = None if ssh_key is None else _read_key(ssh_key)
    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    listing = session.client.get_listing(listing_id)
    units = _units(duration, listing.unit)
    client = session.sender()
    with waiting(f"renting listing {listing_id}"):
        rental = client.rent(listing_id, units, max_total=most)
    if key is None and not wait_access:
        _done(rental, f"rented listing {listing_id} as rental {rental.rental_id}", as_json)
        return
    with waiting("asking the provider for access"):
        client.request_access(rental.rental_id, ssh_key=key)
    details = None
    if wait_access:
        with waiting(f"waiting up to {access_timeout:g} s for the connection details"):
            details = client.access(rental.rental_id, timeout=access_timeout)
    if as_json:
        print_json({**rental_json(rental), "access": details})
    else:
        print(f"rented listing {listing_id} as rental {rental.rental_id} until {when(rental.end)}")
        if details is not None:
            print(details)
        elif not wait_access:
            print(f"access requested; gpuhub access {rental.rental_id} shows the details")
    if wait_access and details is None:
        _no_answer(rental.rental_id, access_timeout, from_)


@app.command()
def access(
    rental_id: RentalId,
    ssh_key: SshKey = None,
    wait: Annotated[
        float, typer.Option("--wait", help="seconds to wait for the details to come", min=0)
    ] = 0.0,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Show the connection details the provider granted for your rental (decrypted here; only
    the renter can). With --ssh-key, ask for access (again) first."""
    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    client = session.sender()
    if ssh_key is not None:
        with waiting("asking the provider for access"):
            client.request_access(rental_id, ssh_key=_read_key(ssh_key))
    with waiting(f"reading the details of rental {rental_id}"):
        details = client.access(rental_id, timeout=wait)
    if details is None:
        if as_json:
            print_json({"rental_id": rental_id, "access": None})
        _no_answer(rental_id, wait, from_)
    if as_json:
        print_json({"rental_id": rental_id, "access": details})
        return
    print(details)


def _read_key(path: Path) -> str:
    from .._access import check_ssh_key

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        from ..exceptions import ValidationError

        raise ValidationError("--ssh-key", f"cannot read {path}: {err}") from None
    return check_ssh_key(text, field="--ssh-key")


def _no_answer(rental_id: int, waited: float, account: str | None) -> NoReturn:
    """The one-line alert when no details came, and what to do; exits 3."""
    from ._app import EXIT_NOT_FOUND, say

    as_who = f" --from {account}" if account else ""
    say(
        f"no connection details for rental {rental_id} after {waited:g} s: it keeps running and "
        f"billing; end it with `gpuhub end {rental_id}{as_who}` (only the seconds used are paid), "
        f"or keep waiting with `gpuhub access {rental_id}{as_who} --wait 300`"
    )
    raise typer.Exit(EXIT_NOT_FOUND)


@app.command()
def extend(
    rental_id: RentalId,
    duration: Duration,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Buy more time on a running rental at its locked price (renter only)."""
    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    rental = session.client.get_rental(rental_id)
    units = _units(duration, rental.unit)
    client = session.sender()
    with waiting(f"extending rental {rental_id}"):
        extended = client.extend_rental(rental_id, units)
    _done(extended, f"rental {rental_id} extended", as_json)


@app.command()
def end(
    rental_id: RentalId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """End a rental now, as its renter or provider: the renter pays only for the seconds used."""
    client = Session(rpc=rpc, contract=contract, profile=profile, account=from_).sender()
    with waiting(f"ending rental {rental_id}"):
        rental = client.end_rental(rental_id)
    _done(rental, f"rental {rental_id} ended", as_json)


@app.command()
def settle(
    rental_id: RentalId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Settle a rental whose time is up (anyone may), crediting both sides."""
    client = Session(rpc=rpc, contract=contract, profile=profile, account=from_).sender()
    with waiting(f"settling rental {rental_id}"):
        rental = client.settle(rental_id)
    _done(rental, f"rental {rental_id} settled", as_json)


@app.command()
def rentals(
    renter: Annotated[str | None, typer.Option(help="only this renter's rentals")] = None,
    provider: Annotated[str | None, typer.Option(help="only this provider's rentals")] = None,
    mine: Annotated[
        bool, typer.Option("--mine", help="only rentals the --from account is a party to")
    ] = False,
    active: Annotated[bool, typer.Option("--active", help="only running rentals")] = False,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """List rentals, newest last."""
    from .._core import check_address
    from ..demo import rentals_table
    from ..exceptions import ValidationError

    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    renter = None if renter is None else check_address("--renter", renter)
    provider = None if provider is None else check_address("--provider", provider)
    client = session.client
    if mine:
        me = session.address()
        if me is None:
            raise ValidationError(
                "--mine", "needs an account: pass --from ALIAS or set GPUHUB_ACCOUNT"
            )
        both = {
            r.rental_id: r
            for r in client.rentals(renter=me, provider=provider, active_only=active)
            + client.rentals(renter=renter, provider=me, active_only=active)
        }
        found = [both[k] for k in sorted(both)]
    else:
        found = client.rentals(renter=renter, provider=provider, active_only=active)
    if as_json:
        print_json([rental_json(r) for r in found])
        return
    console().print(rentals_table(f"{len(found)} rentals", found))


def _done(rental: Rental, message: str, as_json: bool) -> None:
    if as_json:
        print_json(rental_json(rental))
        return
    from ..units import format_duration, format_wei

    if rental.is_active:
        print(
            f"{message}: {format_wei(rental.paid)} in escrow for "
            f"{format_duration(rental.end - rental.start)}, until {when(rental.end)}"
        )
        return
    billed = rental.cost_at(rental.end)
    print(
        f"{message} ({rental.status.name}): {format_wei(billed)} billed, "
        f"{format_wei(rental.paid - billed)} refunded to the renter; both sides can withdraw "
        "(gpuhub withdraw)"
    )

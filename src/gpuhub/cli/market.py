"""Listings: ``gpuhub list``, ``show``, ``add``, ``update``, ``available``, ``unavailable`` and
``remove``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ._app import app
from ._context import Contract, From, Json, Profile, Rpc, Session
from ._output import console, listing_json, print_json, rental_json, short, waiting, when

if TYPE_CHECKING:
    from ..models import Listing, PriceUnit

ListingId = Annotated[
    int, typer.Argument(metavar="LISTING", help="the listing's id", min=0, show_default=False)
]
Price = Annotated[str, typer.Option(help="per unit of time: 0.05eth/h, 50gwei/min, 2eth/d")]
Min = Annotated[
    str | None,
    typer.Option("--min", help="shortest rental: 1h, 30m, or a count of the price's units"),
]
Max = Annotated[
    str | None,
    typer.Option("--max", help="longest rental: 3d, 72h, or a count of the price's units"),
]


@app.command("list")
def list_command(
    max_price: Annotated[
        str | None,
        typer.Option(
            help="highest price: 0.5eth/h compares every listing per hour, exactly; a plain "
            "amount (2eth) compares each listing's own price"
        ),
    ] = None,
    min_capacity: Annotated[int | None, typer.Option(min=0, help="least GPU memory in GB")] = None,
    all_: Annotated[bool, typer.Option("--all", help="include listings not available")] = False,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """List the GPUs on the marketplace (available ones unless --all)."""
    from ..demo import listings_table
    from ..units import parse_amount, parse_price

    unit: PriceUnit | None = None
    wei: int | None = None
    if max_price is not None:
        if "/" in max_price:
            wei, unit = parse_price(max_price, field="--max-price")
        else:
            wei = parse_amount(max_price, field="--max-price")
    client = Session(rpc=rpc, contract=contract, profile=profile).client
    found = client.list_gpus(wei, min_capacity, available_only=not all_, price_unit=unit)
    if as_json:
        print_json([listing_json(x) for x in found])
        return
    console().print(listings_table(f"{len(found)} listings", found))


@app.command()
def show(
    listing_id: ListingId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """Show one listing, and its rental when it is rented."""
    client = Session(rpc=rpc, contract=contract, profile=profile).client
    listing = client.get_listing(listing_id)
    rental = client.active_rental(listing_id)
    if as_json:
        print_json({**listing_json(listing), "active_rental": rental and rental_json(rental)})
        return
    _print_listing(listing)
    if rental is not None:
        from ..units import format_wei

        print(
            f"rented as rental {rental.rental_id} by {rental.renter} until {when(rental.end)} "
            f"({format_wei(rental.paid)} in escrow)"
        )


def _print_listing(listing: Listing) -> None:
    from rich.table import Table

    from ..units import format_price

    table = Table(title=f"Listing {listing.listing_id}", title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for field, value in (
        ("GPU", listing.gpu_model),
        ("memory", f"{listing.capacity} GB"),
        ("price", format_price(listing.price, listing.unit)),
        (
            "rent for",
            f"{listing.min_duration} to {listing.max_duration} {listing.unit.name.lower()}s",
        ),
        ("status", listing.status.name),
        ("provider", listing.provider),
    ):
        table.add_row(field, value)
    console().print(table)


def _units(text: str | None, unit: PriceUnit, option: str) -> int | None:
    """A duration option as a count of the price's units (``2h`` at a price per minute: 120)."""
    from ..units import parse_duration, to_units

    if text is None:
        return None
    return to_units(parse_duration(text, default_unit=unit, field=option), unit, field=option)


@app.command()
def add(
    model: Annotated[
        str, typer.Argument(metavar="MODEL", help='the GPU model, e.g. "NVIDIA RTX 4090"')
    ],
    capacity: Annotated[int, typer.Option(help="GPU memory in GB", show_default=False)],
    price: Price,
    min_: Min = None,
    max_: Max = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """List a GPU for rent; the --from account becomes its provider."""
    from ..units import parse_price

    wei, unit = parse_price(price, field="--price")
    min_units = _units(min_, unit, "--min")
    max_units = _units(max_, unit, "--max")
    client = Session(rpc=rpc, contract=contract, profile=profile, account=from_).sender()
    with waiting("listing the GPU"):
        listing = client.create_listing(
            gpu_model=model,
            capacity=capacity,
            price=wei,
            unit=unit,
            min_duration=1 if min_units is None else min_units,
            max_duration=max_units,
        )
    _done(listing, f"listed as listing {listing.listing_id}", as_json)


@app.command()
def update(
    listing_id: ListingId,
    model: Annotated[str | None, typer.Option(help="a new GPU model name")] = None,
    capacity: Annotated[int | None, typer.Option(help="new GPU memory in GB")] = None,
    price: Annotated[
        str | None, typer.Option(help="a new price (and unit): 0.05eth/h, 50gwei/min")
    ] = None,
    min_: Min = None,
    max_: Max = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Change some of a listing's terms (a running rental keeps the terms it started with)."""
    from ..exceptions import ValidationError
    from ..units import parse_price

    if all(v is None for v in (model, capacity, price, min_, max_)):
        raise ValidationError(
            "update", "nothing to change: give --model, --capacity, --price, --min or --max"
        )
    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    wei, unit = (None, None) if price is None else parse_price(price, field="--price")
    if unit is None and (min_ is not None or max_ is not None):
        unit = session.client.get_listing(listing_id).unit
    min_units = None if unit is None else _units(min_, unit, "--min")
    max_units = None if unit is None else _units(max_, unit, "--max")
    client = session.sender()
    with waiting(f"updating listing {listing_id}"):
        listing = client.update_listing(
            listing_id,
            gpu_model=model,
            capacity=capacity,
            price=wei,
            unit=None if price is None else unit,
            min_duration=min_units,
            max_duration=max_units,
        )
    _done(listing, f"listing {listing_id} updated", as_json)


@app.command()
def available(
    listing_id: ListingId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Put an unavailable listing back on the market."""
    client = Session(rpc=rpc, contract=contract, profile=profile, account=from_).sender()
    with waiting(f"marking listing {listing_id} available"):
        listing = client.mark_available(listing_id)
    _done(listing, f"listing {listing_id} is {listing.status.name}", as_json)


@app.command()
def unavailable(
    listing_id: ListingId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Take an available listing off the market for now (``available`` brings it back)."""
    client = Session(rpc=rpc, contract=contract, profile=profile, account=from_).sender()
    with waiting(f"marking listing {listing_id} unavailable"):
        listing = client.fulfill_request(listing_id)
    _done(listing, f"listing {listing_id} is {listing.status.name}", as_json)


@app.command()
def remove(
    listing_id: ListingId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Remove a listing for good (it must not be rented)."""
    client = Session(rpc=rpc, contract=contract, profile=profile, account=from_).sender()
    with waiting(f"removing listing {listing_id}"):
        listing = client.remove_listing(listing_id)
    _done(listing, f"listing {listing_id} is {listing.status.name}", as_json)


def _done(listing: Listing, message: str, as_json: bool) -> None:
    if as_json:
        print_json(listing_json(listing))
        return
    from ..units import format_price

    print(
        f"{message}: {listing.gpu_model}, {listing.capacity} GB, "
        f"{format_price(listing.price, listing.unit)}, {listing.status.name} "
        f"(provider {short(listing.provider)})"
    )

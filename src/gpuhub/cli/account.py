"""Accounts in encrypted keystores: ``gpuhub account new|import|list|show``.

Keys and passwords are read from a hidden prompt (or one line of stdin each when it is not a
terminal); a password may also come from $GPUHUB_KEYSTORE_PASSWORD. Neither is ever an
argument, and neither is ever printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import group
from ._context import Json, Profile, Session, password, secret
from ._output import console, print_json

if TYPE_CHECKING:
    from ..keystore import KeystoreEntry

account_app = group("account", "Keys in encrypted keystores, found by an alias (--from ALIAS).")

Alias = Annotated[
    str,
    typer.Argument(
        metavar="ALIAS",
        help="a name for it: letters, digits, '.', '_' or '-' (e.g. alice)",
        show_default=False,
    ),
]


def _entry_json(entry: KeystoreEntry) -> dict[str, str]:
    return {"alias": entry.alias, "address": entry.address, "path": str(entry.path)}


def _done(entry: KeystoreEntry, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(_entry_json(entry))
        return
    print(f"{verb} {entry.alias}: {entry.address} (keystore {entry.path})")
    print(f"sign with it: --from {entry.alias}")


@account_app.command("new")
def new(alias: Alias, profile: Profile = None, as_json: Json = False) -> None:
    """Create an account with a new random key, encrypted with a password you choose."""
    store = Session(profile=profile).keystore
    store.ensure_free(alias)
    entry = store.create(alias, password(f"password for {alias}", confirm=True))
    _done(entry, "created", as_json)


@account_app.command("import")
def import_(
    alias: Alias,
    keyfile: Annotated[
        Path | None,
        typer.Option(
            help="copy an existing keyfile (geth, cast wallet) instead of typing a key",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """Store an existing private key (asked for, hidden) under an alias, encrypted."""
    store = Session(profile=profile).keystore
    store.ensure_free(alias)
    if keyfile is not None:
        entry = store.add_keyfile(alias, keyfile, password(f"password of {keyfile.name}"))
    else:
        key = secret("private key (hidden)").strip()
        entry = store.add(alias, key, password(f"password for {alias}", confirm=True))
    _done(entry, "imported", as_json)


@account_app.command("list")
def list_(profile: Profile = None, as_json: Json = False) -> None:
    """List the accounts in the keystore (no password needed)."""
    store = Session(profile=profile).keystore
    entries = store.entries()
    if as_json:
        print_json([_entry_json(e) for e in entries])
        return
    from rich.table import Table

    table = Table(title=f"{len(entries)} accounts in {store.directory}", title_justify="left")
    for column in ("alias", "address"):
        table.add_column(column, no_wrap=True)
    for entry in entries:
        table.add_row(entry.alias, entry.address)
    console().print(table)


@account_app.command("show")
def show(
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="the account's alias or address", show_default=False),
    ],
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """Show an account's address and keyfile (gpuhub balance shows its money)."""
    entry = Session(profile=profile).keystore.get(name)
    if as_json:
        print_json(_entry_json(entry))
        return
    print(f"{entry.alias}: {entry.address}")
    print(f"keystore: {entry.path}")

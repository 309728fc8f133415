"""Settings: ``gpuhub config show``."""

from __future__ import annotations

from typing import Any

from ._app import group
from ._context import Contract, From, Json, Profile, Rpc, Session, shown_url
from ._output import console, print_json

config_app = group("config", "Where each setting comes from (flag, environment, profile).")


@config_app.command("show")
def show(
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Print every setting, where it came from, and the files gpuhub reads (no network).

    Order: a flag, then the environment, then the active profile of config.toml, then the
    default. With no contract set, commands use the one recorded for the node's chain in
    deployments.json (gpuhub node and gpuhub deploy record it).
    """
    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    settings = session.settings
    deployments = settings.deployments.all()
    document: dict[str, Any] = {
        "profile": {"value": settings.profile.value, "source": settings.profile.source},
        "settings": {
            name: {"value": _shown(name, v.value), "source": v.source}
            for name, v in settings.values.items()
        },
        "files": {
            "config": str(settings.config_file),
            "config_exists": settings.config_file.is_file(),
            "deployments": str(settings.deployments.path),
            "keystores": str(session.keystore.directory),
        },
        "deployments": {
            str(chain): {"marketplace": d.address, "block": d.block}
            for chain, d in sorted(deployments.items())
        },
    }
    if as_json:
        print_json(document)
        return
    from rich.table import Table

    table = Table(title="gpuhub settings", title_justify="left")
    for column in ("setting", "value", "from"):
        table.add_column(column, overflow="fold")
    table.add_row("profile", settings.profile.value or "-", settings.profile.source)
    for name, value in settings.values.items():
        shown = _shown(name, value.value) or (
            "(the chain's, from deployments)" if name == "contract" else "-"
        )
        table.add_row(name, shown, value.source)
    out = console()
    out.print(table)
    exists = "" if settings.config_file.is_file() else " (not created yet)"
    out.print(f"config file: {settings.config_file}{exists}", markup=False, highlight=False)
    out.print(f"keystores:   {session.keystore.directory}", markup=False, highlight=False)
    out.print(f"deployments: {settings.deployments.path}", markup=False, highlight=False)
    for chain, d in sorted(deployments.items()):
        out.print(f"  chain {chain}: {d.address}", markup=False, highlight=False)


def _shown(name: str, value: str | None) -> str | None:
    """A setting as config show prints it: URLs without their path or password, which is where
    node providers and databases keep their keys."""
    if value is None or name not in ("rpc_url", "index") or "://" not in value:
        return value
    return shown_url(value)

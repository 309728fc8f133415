"""``gpuhub provider``: detect this machine's GPUs, check it, publish them, serve rentals."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._app import EXIT_ERROR, group
from ._context import Contract, From, Json, Profile, Rpc, Session
from ._output import console, listing_json, print_json, waiting

if TYPE_CHECKING:
    from ..provider import GPU, AgentState

provider = group(
    "provider",
    "Share this machine's GPUs: detect and check them, list them, serve rentals (the agent).",
)

NvidiaSmi = Annotated[
    str,
    typer.Option(
        "--nvidia-smi", help="the nvidia-smi command read when NVML cannot be", show_default=True
    ),
]
NoNvml = Annotated[
    bool, typer.Option("--no-nvml", help="skip NVML and read nvidia-smi -q -x directly")
]
StartHook = Annotated[
    str | None,
    typer.Option(
        "--start-hook",
        help="the command run when a rental starts; it prints the renter's connection details "
        "[env GPUHUB_START_HOOK, profile start_hook]",
        show_default=False,
    ),
]
StatePath = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="the agent's state file [default: provider/CHAIN-CONTRACT-ACCOUNT.db in the config "
        "directory]",
        show_default=False,
    ),
]


def _detect(nvidia_smi: str, no_nvml: bool) -> tuple[GPU, ...]:
    from ..provider import detect_gpus

    return detect_gpus(nvml=not no_nvml, nvidia_smi=nvidia_smi)


def gpu_json(gpu: GPU) -> dict[str, Any]:
    """A GPU as ``--json`` prints it: every field, and the capacity a listing states."""
    from ._output import plain

    return {**plain(gpu), "capacity_gb": gpu.capacity_gb}


@provider.command()
def detect(
    nvidia_smi: NvidiaSmi = "nvidia-smi",
    no_nvml: NoNvml = False,
    as_json: Json = False,
) -> None:
    """List this machine's NVIDIA GPUs (NVML, else nvidia-smi -q -x)."""
    gpus = _detect(nvidia_smi, no_nvml)
    if as_json:
        print_json([gpu_json(g) for g in gpus])
        return
    from rich.table import Table

    table = Table(title=f"{len(gpus)} GPUs", title_justify="left")
    for column in ("#", "model", "memory", "UUID", "util", "temp", "ECC", "MIG"):
        table.add_column(column)
    for g in gpus:
        table.add_row(
            str(g.index),
            g.name,
            f"{g.memory_mib} MiB ({g.capacity_gb} GB)",
            g.uuid,
            "-" if g.utilization_percent is None else f"{g.utilization_percent} %",
            "-" if g.temperature_c is None else f"{g.temperature_c} C",
            "-" if g.ecc_errors is None else str(g.ecc_errors),
            f"on ({len(g.mig_devices)})" if g.mig_enabled else "off",
        )
    console().print(table)
    if gpus:
        cuda = f", CUDA {gpus[0].cuda_version}" if gpus[0].cuda_version else ""
        print(f"driver {gpus[0].driver_version}{cuda}")


@provider.command()
def check(
    start_hook: StartHook = None,
    profile: Profile = None,
    nvidia_smi: NvidiaSmi = "nvidia-smi",
    no_nvml: NoNvml = False,
    as_json: Json = False,
) -> None:
    """Self-test before listing: driver, each GPU's memory (whole, MIG off) and ECC errors, and
    the start hook. Exits 1 naming each failed check."""
    from ..provider import self_test

    hooks = _hooks(start_hook, None, profile)
    checks = self_test(start_hook=hooks["start_hook"], nvml=not no_nvml, nvidia_smi=nvidia_smi)
    failed = [c for c in checks if not c.ok]
    if as_json:
        print_json(
            {
                "ok": not failed,
                "checks": [dict(name=c.name, ok=c.ok, detail=c.detail) for c in checks],
            }
        )
    else:
        for c in checks:
            print(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    if failed:
        if not as_json:
            from ._app import say

            say(f"{len(failed)} check(s) failed: {', '.join(c.name for c in failed)}")
        raise typer.Exit(EXIT_ERROR)


@provider.command()
def publish(
    price: Annotated[
        str,
        typer.Option(help="what a GPU costs, as in 0.05eth/h, 50gwei/min or 1eth/day"),
    ],
    min_: Annotated[
        str, typer.Option("--min", help="shortest rental: 1h, 30m, or a count of price units")
    ] = "1",
    max_: Annotated[
        str, typer.Option("--max", help="longest rental: 3d, 12h, or a count of price units")
    ] = "30d",
    state_path: StatePath = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    nvidia_smi: NvidiaSmi = "nvidia-smi",
    no_nvml: NoNvml = False,
    as_json: Json = False,
) -> None:
    """List every GPU of this machine, one listing each, model and memory as detected. Run it
    again to change the price: listings are updated, never duplicated; a GPU that is gone is
    taken off the market."""
    from ..provider import Terms
    from ..provider import publish as publish_gpus
    from ..units import parse_duration, parse_price, to_units

    asked = parse_price(price, field="--price")
    shortest = to_units(
        parse_duration(min_, default_unit=asked.unit, field="--min"), asked.unit, field="--min"
    )
    longest = to_units(
        parse_duration(max_, default_unit=asked.unit, field="--max"), asked.unit, field="--max"
    )
    gpus = _detect(nvidia_smi, no_nvml)
    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    client = session.sender()
    state = open_state(session, client, state_path)
    try:
        terms = Terms(price=asked.wei, unit=asked.unit, min_duration=shortest, max_duration=longest)
        with waiting(f"publishing {len(gpus)} GPUs"):
            done = publish_gpus(client, state, gpus, terms)
    finally:
        state.close()
    if as_json:
        print_json(
            [
                {
                    "uuid": p.uuid,
                    "action": p.action,
                    "listing_id": p.listing_id,
                    "listing": None if p.listing is None else listing_json(p.listing),
                }
                for p in done
            ]
        )
        return
    for p in done:
        print(f"{p.uuid}: listing {p.listing_id} {p.action}")


@provider.command()
def run(
    start_hook: StartHook = None,
    stop_hook: Annotated[
        str | None,
        typer.Option(
            "--stop-hook",
            help="the command run when a rental whose start hook ran is over "
            "[env GPUHUB_STOP_HOOK, profile stop_hook]",
            show_default=False,
        ),
    ] = None,
    hook_timeout: Annotated[
        float, typer.Option(help="seconds a hook may run before it is killed and retried", min=1)
    ] = 300.0,
    attempts: Annotated[
        int, typer.Option(help="runs of a failing hook before giving up on it", min=1)
    ] = 5,
    poll: Annotated[
        float, typer.Option(help="seconds between two looks at the chain", min=0.05)
    ] = 1.0,
    reconcile_every: Annotated[
        int, typer.Option(help="blocks between two checks of the contract's state", min=1)
    ] = 10,
    withdraw_above: Annotated[
        str | None,
        typer.Option(
            help="withdraw the balance once it reaches this much (0.5eth); default: never"
        ),
    ] = None,
    no_settle: Annotated[
        bool, typer.Option("--no-settle", help="leave expired rentals for someone else to settle")
    ] = False,
    keep_failed: Annotated[
        bool,
        typer.Option(
            "--keep-failed",
            help="do not end a rental whose start hook never succeeded (default: end it, so its "
            "renter stops paying)",
        ),
    ] = False,
    state_path: StatePath = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
) -> None:
    """Serve this account's published GPUs until stopped (SIGTERM or Ctrl-C): run the start hook
    when a renter asks for access and hand its output to the renter, encrypted; run the stop
    hook when the rental is over; settle expired rentals. One JSON line per action on stderr."""
    import logging
    import signal
    import sys
    import threading

    from ..provider import AgentConfig, ProviderAgent
    from ..units import parse_amount

    hooks = _hooks(start_hook, stop_hook, profile)
    if not hooks["start_hook"]:
        from ..exceptions import ConfigError

        raise ConfigError(
            "no start hook: pass --start-hook COMMAND, set GPUHUB_START_HOOK, or start_hook in "
            "your profile (docs: Share a GPU, example hooks)"
        )
    threshold = (
        None if withdraw_above is None else parse_amount(withdraw_above, field="--withdraw-above")
    )
    config = AgentConfig(
        start_hook=hooks["start_hook"],
        stop_hook=hooks["stop_hook"],
        hook_timeout=hook_timeout,
        hook_attempts=attempts,
        poll_interval=poll,
        reconcile_every=reconcile_every,
        settle=not no_settle,
        withdraw_above=threshold,
        end_on_failed_start=not keep_failed,
    )
    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    client = session.sender()
    state = open_state(session, client, state_path)
    logger = logging.getLogger("gpuhub.provider")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        ProviderAgent(client, state, config, logger=logger).run(stop)
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)
        state.close()
        logger.removeHandler(handler)


def open_state(session: Session, client: Any, path: Path | None) -> AgentState:
    """The agent's state file for this chain, marketplace and account."""
    from ..provider import AgentState

    address = client.address
    where = path or (
        session.settings.directory
        / "provider"
        / f"{client.chain_id}-{client.contract_address.lower()}-{address.lower()}.db"
    )
    return AgentState(
        where, chain_id=client.chain_id, marketplace=client.contract_address, provider=address
    )


def _hooks(start_hook: str | None, stop_hook: str | None, profile: str | None) -> dict[str, Any]:
    """The hook command lines: flag, then environment, then profile."""
    from ..config import resolve

    settings = resolve({"start_hook": start_hook, "stop_hook": stop_hook}, profile=profile)
    return {"start_hook": settings["start_hook"], "stop_hook": settings["stop_hook"]}

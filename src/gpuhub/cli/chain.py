"""Chains to try things on: ``gpuhub demo``, ``gpuhub node``, ``gpuhub deploy`` and
``gpuhub chain advance-time``."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._app import app, group
from ._context import From, Json, Profile, Rpc, Session
from ._output import info, print_json, waiting, when

if TYPE_CHECKING:
    from ..client import GPUHubClient

chain_app = group("chain", "Move a dev chain's clock (anvil, the embedded chain).")

#: the mnemonic anvil derives its funded accounts from (public: every anvil uses it).
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


@app.command()
def demo() -> None:
    """Run the guided demo on an embedded chain (nothing to install or start)."""
    from ..demo import run

    raise typer.Exit(run())


@app.command()
def node(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port on 127.0.0.1")] = 8545,
    deploy: Annotated[bool, typer.Option(help="deploy a marketplace on it")] = True,
    state: Annotated[
        Path | None,
        typer.Option(
            help="keep the chain in this file: loaded at start if it exists, written on exit "
            "(a marketplace found there is used, not deployed again)",
            dir_okay=False,
        ),
    ] = None,
    accounts: Annotated[int, typer.Option(min=1, max=100, help="funded dev accounts")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the node, its accounts and marketplace as JSON")
    ] = False,
) -> None:
    """Start a local anvil node until Ctrl-C or SIGTERM, print its funded accounts, deploy a
    marketplace and record it for the chain (so later commands need no --contract).

    The accounts' keys are anvil's well-known dev keys: public, for dev chains only.
    """
    from ..chain import AnvilNode, port_in_use
    from ..exceptions import GPUHubError

    if port_in_use(port):
        raise GPUHubError(
            f"port {port} is in use (another node?): stop it, or pass --port with a free port"
        )
    extra: tuple[str, ...] = ()
    resumed = state is not None and state.exists()
    if state is not None:
        extra = ("--state", str(state))
    stopping = threading.Event()
    # SIGTERM ends the wait like Ctrl-C, so the anvil child is stopped on the way out; the
    # handler is in place before anvil starts, so no moment leaves an orphan behind.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    try:
        with AnvilNode(port=port, accounts=accounts, extra_args=extra) as anvil:
            session = Session(rpc=anvil.url)
            started: dict[str, Any] = {
                "url": anvil.url,
                "chain_id": session.chain_id,
                "accounts": _dev_accounts(session, accounts),
                "marketplace": None,
            }
            if not as_json:
                _print_node(started)
            if deploy:
                started["marketplace"] = _deploy_or_resume(session, resumed, quiet=as_json)
            if as_json:
                print_json(started)
            sys.stdout.flush()
            with contextlib.suppress(KeyboardInterrupt):
                while not stopping.wait(1.0):
                    pass
            info("stopping anvil" + (f"; its state goes to {state}" if state else ""))
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dev_accounts(session: Session, count: int) -> list[dict[str, str]]:
    """The node's funded accounts with anvil's well-known keys (only those that match)."""
    from eth_account import Account
    from eth_account.hdaccount import key_from_seed, seed_from_mnemonic

    unlocked = session.node(lambda: session.web3.eth.accounts)
    seed = seed_from_mnemonic(ANVIL_MNEMONIC, "")
    found = []
    for i in range(min(count, len(unlocked))):
        key = key_from_seed(seed, f"m/44'/60'/0'/0/{i}")
        address = Account.from_key(key).address
        if unlocked[i] != address:
            break
        found.append({"address": address, "key": "0x" + key.hex()})
    return found


def _print_node(started: dict[str, Any]) -> None:
    print(f"anvil listening on {started['url']} (chain {started['chain_id']})")
    print("funded dev accounts (well-known keys, dev chains only; pass an address as --from):")
    for i, account in enumerate(started["accounts"]):
        print(f"  ({i}) {account['address']}  key {account['key']}")
    print("", flush=True)


def _deploy_or_resume(session: Session, resumed: bool, *, quiet: bool) -> dict[str, Any]:
    from ..client import GPUHubClient
    from ..exceptions import ContractNotDeployed

    recorded = session.settings.deployments.get(session.chain_id)
    client = None
    if resumed and recorded is not None:
        with contextlib.suppress(ContractNotDeployed):
            client = GPUHubClient(session.web3, recorded.address)
            if not quiet:
                print(f"marketplace at {client.contract_address} (kept in the state file)")
    kept = client is not None
    if client is None:
        deployer = session.node(lambda: session.web3.eth.accounts)[0]
        client = deploy_and_record(session, deployer, None)
        if not quiet:
            print(f"marketplace deployed at {client.contract_address}")
    governor = client.governor()
    gov = client.governance if governor is not None else None
    if gov is not None and not quiet:
        print(f"governor at {gov.address}, timelock {gov.timelock}", flush=True)
    return {
        "address": client.contract_address,
        "governor": None if gov is None else gov.address,
        "timelock": None if gov is None else gov.timelock,
        "kept": kept,
    }


def deploy_and_record(session: Session, signer: Any, governance: str | None) -> GPUHubClient:
    """Deploy a marketplace as ``signer`` and record it for the chain in deployments.json."""
    from ..client import GPUHubClient

    block = int(session.node(lambda: session.web3.eth.block_number)) + 1
    with waiting("deploying the marketplace"):
        client = GPUHubClient.deploy(session.web3, account=signer, governance=governance)
    session.settings.deployments.record(session.chain_id, client.contract_address, block)
    return client


@app.command()
def deploy(
    governance: Annotated[
        str | None,
        typer.Option(
            help="hand the marketplace's powers to this address (a multisig) instead of "
            "deploying a governor"
        ),
    ] = None,
    rpc: Rpc = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Deploy a new marketplace (with its governor, unless --governance) and record it as the
    chain's, so later commands on this network need no --contract."""
    from .._core import check_address

    session = Session(rpc=rpc, profile=profile, account=from_)
    owner = None if governance is None else check_address("--governance", governance)
    client = deploy_and_record(session, session.signer(), owner)
    answer: dict[str, Any] = {
        "chain_id": client.chain_id,
        "marketplace": client.contract_address,
        "governance": client.governance_address(),
        "governor": client.governor(),
        "recorded_in": str(session.settings.deployments.path),
    }
    if as_json:
        print_json(answer)
        return
    print(f"marketplace deployed at {answer['marketplace']} on chain {answer['chain_id']}")
    by = " (the governor's timelock)" if answer["governor"] else ""
    print(f"governed by {answer['governance']}{by}")
    print(f"recorded in {answer['recorded_in']}")


@chain_app.command("advance-time")
def advance_time(
    duration: Annotated[
        str, typer.Argument(metavar="DURATION", help="how far: 90m, 2h, 3d, 1h30m")
    ],
    rpc: Rpc = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """Mine a block that far in the future (dev chains only: anvil, the embedded chain)."""
    from ..chain import DEV_CHAIN_IDS, DevChain
    from ..exceptions import ValidationError
    from ..units import parse_duration

    seconds = parse_duration(duration, field="DURATION")
    session = Session(rpc=rpc, profile=profile)
    if session.chain_id not in DEV_CHAIN_IDS:
        raise ValidationError(
            "--rpc",
            f"chain {session.chain_id} is not a dev chain: only anvil (31337) and the embedded "
            "chain can move their clocks",
        )
    now = int(session.node(DevChain(session.web3).advance_time, seconds))
    if as_json:
        print_json({"chain_id": session.chain_id, "advanced": seconds, "timestamp": now})
        return
    print(f"chain {session.chain_id} is now at {now} ({when(now)})")

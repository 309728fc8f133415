"""Deploying a marketplace and wiring in its governance.

This sits above both ``_ops`` (the marketplace's plans) and ``governance`` (the governor's), so
that neither of those imports the other: ``GPUHubClient.deploy`` and ``AsyncGPUHubClient.deploy``
run :func:`deploy`, a sans-I/O plan like every other operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _core
from ._abi import packaged
from ._artifact import bytecode
from ._ops import Operations, mined, tx_result
from ._transactions import Connection, Plan, Sender, TxOptions
from .chain import DEV_CHAIN_IDS
from .exceptions import ValidationError
from .governance import BOOTSTRAP_UNITS, GovernanceSettings

__all__ = ["create", "deploy", "install", "settings_for"]


def deploy(
    conn: Connection, sender: Sender, governance: str | GovernanceSettings | None, tx: TxOptions
) -> Plan[str]:
    """Deploy the marketplace from ``sender`` with its governance (a governor by default, or
    the powers handed to an address); returns its address and points ``conn`` at it."""
    # Checked before anything is sent, so a bad setting costs nothing.
    chosen = settings_for(governance, conn.chain_id in DEV_CHAIN_IDS)
    conn.address = yield from create(sender, "GPUHub", [], tx)
    ops = Operations(conn, sender)
    if isinstance(chosen, str):
        if chosen != sender.address:
            yield from mined(ops.governance_tx("transferGovernance", [chosen], tx), tx)
    else:
        yield from install(ops, sender, chosen, tx)
    return conn.address


def create(sender: Sender, name: str, args: Sequence[Any], tx: TxOptions) -> Plan[str]:
    """Deploy packaged contract ``name`` with constructor ``args`` from ``sender``; returns its
    address."""
    params = {"data": packaged(name).deploy_data(bytecode(name), args)}
    tx_hash = yield from sender.send(params, tx)
    receipt = yield from sender.wait(tx_hash, params, tx.get("timeout"))
    assert receipt.contract_address is not None
    return _core.check_address("contract_address", receipt.contract_address)


def install(
    market: Operations, sender: Sender, settings: GovernanceSettings, tx: TxOptions
) -> Plan[None]:
    """Deploy votes, timelock and governor for the marketplace ``market`` speaks to, wire them
    in and hand them its powers; ``sender`` (the deployer, governance until now) keeps none."""

    grants = {sender.address: BOOTSTRAP_UNITS} if settings.bootstrap is None else settings.bootstrap
    holders = [_core.check_address("bootstrap", who) for who in grants]
    market_address = market.conn.address
    votes = yield from create(
        sender, "GPUHubVotes", [market_address, holders, list(grants.values())], tx
    )
    # The deployer administers the timelock only until the governor holds its roles.
    timelock = yield from create(
        sender,
        "GPUHubTimelock",
        [settings.timelock_delay, [], [_core.ZERO_ADDRESS], sender.address],
        tx,
    )
    governor = yield from create(
        sender,
        "GPUHubGovernor",
        [
            votes,
            timelock,
            market_address,
            settings.voting_delay,
            settings.voting_period,
            settings.proposal_threshold,
            settings.quorum_percent,
            settings.power_quorum_percent,
            settings.vote_maturity,
        ],
        tx,
    )
    lock = packaged("GPUHubTimelock")
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        role_id = yield from market.call_at(timelock, lock.functions[role], ())
        grant = lock.functions["grantRole"]
        yield from mined(
            market.transact_at(timelock, grant, [role_id, governor], tx_result, tx), tx
        )
    if settings.guardian is not None:
        guardian = _core.check_address("guardian", settings.guardian)
        yield from mined(market.governance_tx("setGuardian", [guardian], tx), tx)
    yield from mined(market.governance_tx("setTreasury", [timelock], tx), tx)
    yield from mined(market.governance_tx("installGovernor", [governor], tx), tx)
    admin = yield from market.call_at(timelock, lock.functions["DEFAULT_ADMIN_ROLE"], ())
    renounce = lock.functions["renounceRole"]
    yield from mined(
        market.transact_at(timelock, renounce, [admin, sender.address], tx_result, tx), tx
    )


def settings_for(
    governance: str | GovernanceSettings | None, dev_chain: bool
) -> str | GovernanceSettings:
    """What ``deploy(governance=...)`` asks for: an address to hand the powers to, or checked
    settings (the production defaults, or ``GovernanceSettings.dev()`` on dev chains)."""
    if isinstance(governance, str):
        return _core.check_address("governance", governance)
    if governance is None:
        return (GovernanceSettings.dev() if dev_chain else GovernanceSettings()).checked()
    if isinstance(governance, GovernanceSettings):
        return governance.checked()
    raise ValidationError(
        "governance", "pass a GovernanceSettings, an address, or None for the defaults"
    )

"""Governance from the command line: ``gpuhub gov ...``.

Every command talks to the marketplace at ``--rpc``/``--contract`` and finds its governor there.
Writes sign as ``gpuhub serve`` does: $GPUHUB_PRIVATE_KEY, ``--keystore FILE``, or the node's
first unlocked account (dev nodes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._app import app

if TYPE_CHECKING:
    from ..governance import Governance, Proposal

gov_app = typer.Typer(
    name="gov",
    help="Govern a marketplace: proposals, votes, the timelock.",
    no_args_is_help=True,
)
app.add_typer(gov_app, name="gov")

Rpc = Annotated[str, typer.Option(help="JSON-RPC URL of the node")]
Contract = Annotated[str, typer.Option(help="marketplace contract address")]
Keystore = Annotated[
    Path | None,
    typer.Option(help="encrypted keystore of the signing account ($GPUHUB_KEYSTORE_PASSWORD)"),
]
Json = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ProposalId = Annotated[str, typer.Argument(help="the proposal's id (a large decimal number)")]


def _governance(rpc: str, contract: str, keystore: Path | None = None) -> Governance:
    from .serve import server_client

    return server_client(rpc, contract, keystore).governance


def _proposal_id(text: str) -> int:
    from .._core import parse_whole

    return parse_whole("proposal_id", text)


def proposal_json(proposal: Proposal) -> dict[str, Any]:
    """A proposal as JSON-ready values (ids and wei as decimal strings)."""
    return {
        "proposal_id": str(proposal.proposal_id),
        "proposer": proposal.proposer,
        "state": proposal.state.name,
        "description": proposal.description,
        "actions": [
            {
                "function": a.function,
                "args": [
                    str(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in a.args
                ],
            }
            if a.function
            else {"target": a.target, "value": str(a.value), "data": "0x" + a.data.hex()}
            for a in proposal.actions
        ],
        "vote_start": proposal.vote_start,
        "vote_end": proposal.vote_end,
        "eta": proposal.eta,
        "for_votes": str(proposal.for_votes),
        "against_votes": str(proposal.against_votes),
        "abstain_votes": str(proposal.abstain_votes),
        "quorum": str(proposal.quorum),
    }


def _show(proposals: list[Proposal], as_json: bool) -> None:
    if as_json:
        print(json.dumps([proposal_json(p) for p in proposals], indent=2))
        return
    from rich.table import Table

    from ..demo import wide_console

    table = Table(title=f"{len(proposals)} proposals")
    for column in ("id", "state", "description", "for", "against", "abstain", "quorum"):
        table.add_column(column, overflow="fold")
    for p in proposals:
        table.add_row(
            f"{p.proposal_id}",
            p.state.name,
            p.description,
            str(p.for_votes),
            str(p.against_votes),
            str(p.abstain_votes),
            str(p.quorum),
        )
    wide_console().print(table)


@gov_app.command("proposals")
def proposals_command(rpc: Rpc, contract: Contract, as_json: Json = False) -> None:
    """List every proposal with its state and tallies."""
    from web3 import HTTPProvider, Web3

    from ..client import GPUHubClient

    gov = GPUHubClient(Web3(HTTPProvider(rpc)), contract).governance
    _show(gov.proposals(), as_json)


@gov_app.command("propose-fee")
def propose_fee(
    fee_bps: Annotated[int, typer.Argument(help="the new fee in basis points, 0..1000")],
    rpc: Rpc,
    contract: Contract,
    description: Annotated[str, typer.Option(help="what the proposal says")] = "",
    keystore: Keystore = None,
    as_json: Json = False,
) -> None:
    """Propose a new platform fee."""
    from ..governance import Action

    action = Action.set_fee(fee_bps)
    gov = _governance(rpc, contract, keystore)
    text = description or f"Set the platform fee to {fee_bps} bps"
    _show([gov.propose([action], text)], as_json)


@gov_app.command("vote")
def vote_command(
    proposal_id: ProposalId,
    support: Annotated[str, typer.Argument(help="for, against or abstain")],
    rpc: Rpc,
    contract: Contract,
    reason: Annotated[str, typer.Option(help="a reason, recorded on-chain")] = "",
    keystore: Keystore = None,
    as_json: Json = False,
) -> None:
    """Vote on an open proposal."""
    from ..models import VoteSupport

    choice = {s.name.lower(): s for s in VoteSupport}.get(support.lower())
    if choice is None:
        raise typer.BadParameter("support must be for, against or abstain")
    pid = _proposal_id(proposal_id)
    gov = _governance(rpc, contract, keystore)
    _show([gov.vote(pid, choice, reason=reason)], as_json)


@gov_app.command("queue")
def queue_command(
    proposal_id: ProposalId,
    rpc: Rpc,
    contract: Contract,
    keystore: Keystore = None,
    as_json: Json = False,
) -> None:
    """Queue a passed proposal in the timelock."""
    pid = _proposal_id(proposal_id)
    gov = _governance(rpc, contract, keystore)
    _show([gov.queue(pid)], as_json)


@gov_app.command("execute")
def execute_command(
    proposal_id: ProposalId,
    rpc: Rpc,
    contract: Contract,
    keystore: Keystore = None,
    as_json: Json = False,
) -> None:
    """Execute a queued proposal whose timelock delay has passed."""
    pid = _proposal_id(proposal_id)
    gov = _governance(rpc, contract, keystore)
    _show([gov.execute(pid)], as_json)


@gov_app.command("claim")
def claim_command(
    rpc: Rpc, contract: Contract, keystore: Keystore = None, as_json: Json = False
) -> None:
    """Mint the voting units this account has earned from rental fees."""
    gov = _governance(rpc, contract, keystore)
    units = gov.claim_votes()
    print(json.dumps({"claimed": str(units)}) if as_json else f"claimed {units} voting units")


@gov_app.command("votes")
def votes_command(
    rpc: Rpc,
    contract: Contract,
    address: Annotated[str, typer.Argument(help="the account to read")],
    as_json: Json = False,
) -> None:
    """An account's votes, pending (unclaimed) units and delegate."""
    from web3 import HTTPProvider, Web3

    from ..client import GPUHubClient

    gov = GPUHubClient(Web3(HTTPProvider(rpc)), contract).governance
    row = {
        "address": address,
        "votes": str(gov.votes(address)),
        "pending": str(gov.pending_votes(address)),
        "delegate": gov.delegate_of(address),
    }
    if as_json:
        print(json.dumps(row))
    else:
        print(
            f"{address}: {row['votes']} votes, {row['pending']} pending, "
            f"delegates to {row['delegate']}"
        )

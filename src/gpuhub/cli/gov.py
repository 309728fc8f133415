"""Governance from the command line: ``gpuhub gov ...``.

Every command finds the governor through the marketplace. Each step is one function: a command
builds its arguments and hands :func:`_step` what to do with the :class:`~gpuhub.Governance`, so
a new step (a guardian's cancel, say) is one more small function here. ``gov propose`` has one
sub-command per :class:`~gpuhub.Action` constructor.

Vote counts are shown in votes (10**18 units, as fees earn them: one vote per ETH of fee), and
proposal ids are shortened in tables; every command takes a unique prefix of an id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._app import group
from ._context import Contract, From, Json, Profile, Rpc, Session
from ._output import console, print_json, proposal_json, short, short_id, waiting, when

if TYPE_CHECKING:
    from ..governance import Action, Governance, Proposal

gov_app = group("gov", "Govern a marketplace: votes, proposals, the timelock.")
propose_app = typer.Typer(
    name="propose",
    help="Propose one action; the vote opens after the voting delay.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
gov_app.add_typer(propose_app, name="propose")


def _digits(text: str) -> str:
    """A proposal id as typed: ASCII digits only, checked before any connection is made."""
    from ..exceptions import ValidationError

    if not text.isascii() or not text.isdigit():
        raise ValidationError("PROPOSAL", f"expected a proposal id (digits 0-9), got {text!r}")
    return text


ProposalId = Annotated[
    str,
    typer.Argument(
        metavar="PROPOSAL",
        help="the proposal's id, or a unique prefix of it (gpuhub gov list)",
        show_default=False,
        callback=_digits,
    ),
]
Description = Annotated[
    str | None, typer.Option(help="what the proposal says (default: a sentence about the action)")
]


def votes(units: int) -> str:
    """Vote units as votes (10**18 units each), every digit kept."""
    from ..units import format_wei

    return format_wei(units, symbol=False)


def _governance(
    rpc: str | None,
    contract: str | None,
    profile: str | None,
    account: str | None,
    *,
    signing: bool,
) -> Governance:
    session = Session(rpc=rpc, contract=contract, profile=profile, account=account)
    client = session.sender() if signing else session.client
    return client.governance


def _proposal_id(gov: Governance, text: str) -> int:
    """The id ``text`` names: the whole id, or a prefix that only one proposal's id has."""
    from ..exceptions import GovernorNonexistentProposal, ValidationError

    _digits(text)
    if len(text) >= 60:  # a whole id (ids are 256-bit hashes): no need to read every proposal
        return int(text)
    matches = [p.proposal_id for p in gov.proposals() if str(p.proposal_id).startswith(text)]
    if str(int(text)) in map(str, matches):
        return int(text)
    if len(matches) > 1:
        raise ValidationError(
            "PROPOSAL", f"{text} starts {len(matches)} proposals' ids; give more digits"
        )
    if not matches:
        raise GovernorNonexistentProposal(int(text))
    return matches[0]


def _show(proposals: list[Proposal], title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for column in ("id", "state", "kind", "description", "for", "against", "abstain", "quorum"):
        table.add_column(column, no_wrap=column != "description")
    for p in proposals:
        table.add_row(
            short_id(p.proposal_id),
            p.state.name,
            p.kind.name,
            Text(p.description),
            votes(p.for_votes),
            votes(p.against_votes),
            votes(p.abstain_votes),
            votes(p.quorum),
        )
    console().print(table)


def _print(proposal: Proposal, as_json: bool) -> None:
    """One proposal: as a JSON object, or a table and its whole id."""
    if as_json:
        print_json(proposal_json(proposal))
        return
    _show([proposal], f"Proposal {proposal.proposal_id}")
    step = {
        "PENDING": f"the vote opens at {when(proposal.vote_start)}",
        "ACTIVE": f"the vote closes at {when(proposal.vote_end)}",
        "QUEUED": f"it can execute from {when(proposal.eta)}",
    }.get(proposal.state.name)
    if step:
        print(step)


def _step(
    what: str,
    act: Callable[[Governance], Proposal],
    rpc: str | None,
    contract: str | None,
    profile: str | None,
    account: str | None,
    as_json: bool,
) -> None:
    """Run one governance transaction (``act`` on the --from account's Governance) and print
    the proposal it leaves."""
    gov = _governance(rpc, contract, profile, account, signing=True)
    with waiting(what):
        proposal = act(gov)
    _print(proposal, as_json)


# ---------------------------------------------------------------------------------- reads


@gov_app.command("list")
def list_command(
    offset: Annotated[int, typer.Option(min=0, help="skip this many proposals, oldest first")] = 0,
    limit: Annotated[
        int | None, typer.Option(min=1, max=100, help="at most this many (default: all)")
    ] = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """List proposals, oldest first, with their state, kind and tallies."""
    gov = _governance(rpc, contract, profile, None, signing=False)
    proposals = gov.proposals(offset=offset, limit=limit)
    if as_json:
        print_json([proposal_json(p) for p in proposals])
        return
    total = gov.proposal_count()
    shown = f"{offset + 1}..{offset + len(proposals)} of {total}" if proposals else f"0 of {total}"
    _show(proposals, f"proposals {shown}")


@gov_app.command("settings")
def settings_command(
    rpc: Rpc = None, contract: Contract = None, profile: Profile = None, as_json: Json = False
) -> None:
    """The governor's settings: delays, quorums, vote maturity, threshold, guardian."""
    session = Session(rpc=rpc, contract=contract, profile=profile, account=None)
    client = session.client
    gov = client.governance
    row: dict[str, Any] = {
        "governor": gov.address,
        "timelock": gov.timelock,
        "voting_delay": gov.voting_delay(),
        "voting_period": gov.voting_period(),
        "timelock_delay": gov.timelock_delay(),
        "quorum_percent": gov.quorum_percent(),
        "power_quorum_percent": gov.power_quorum_percent(),
        "vote_maturity": gov.vote_maturity(),
        "proposal_threshold": str(gov.proposal_threshold()),
        "guardian": client.guardian(),
    }
    if as_json:
        print_json(row)
        return
    from ..units import format_duration

    for name in ("voting_delay", "voting_period", "timelock_delay", "vote_maturity"):
        row[name] = format_duration(row[name])
    row["quorum_percent"] = f"{row['quorum_percent']}% of the votes claimed (PARAMETER)"
    row["power_quorum_percent"] = (
        f"{row['power_quorum_percent']}% of every unit granted or earned (POWER)"
    )
    row["proposal_threshold"] = f"{votes(int(row['proposal_threshold']))} votes"
    row["guardian"] = row["guardian"] or "none"
    for name, value in row.items():
        print(f"{name.replace('_', ' ')}: {value}")


@gov_app.command("treasury")
def treasury_command(
    rpc: Rpc = None, contract: Contract = None, profile: Profile = None, as_json: Json = False
) -> None:
    """The fees the treasury holds and what a payout may take now (5% per 30 days)."""
    session = Session(rpc=rpc, contract=contract, profile=profile, account=None)
    client = session.client
    funds = client.treasury_funds()
    allowance = client.payout_allowance()
    treasury = client.treasury()
    row = {
        "treasury": treasury,
        "funds": str(funds),
        "allowance": str(allowance.amount),
        "period_ends": allowance.period_ends,
    }
    if as_json:
        print_json(row)
        return
    from ..units import format_wei

    period = (
        f"until {when(allowance.period_ends)}"
        if allowance.period_ends
        else "no payout period running: the next payout starts one"
    )
    print(
        f"treasury {treasury} holds {format_wei(funds)}; a payout may take "
        f"{format_wei(allowance.amount)} now ({period}); propose one with "
        "gpuhub gov propose pay ADDRESS AMOUNT"
    )


@gov_app.command("show")
def show_command(
    proposal_id: ProposalId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    as_json: Json = False,
) -> None:
    """Show one proposal: its actions, tallies and when its next step can happen."""
    gov = _governance(rpc, contract, profile, None, signing=False)
    proposal = gov.proposal(_proposal_id(gov, proposal_id))
    _print(proposal, as_json)
    if not as_json:
        for action in proposal.actions:
            call = (
                f"{action.function}({', '.join(map(str, action.args))})"
                if action.function
                else f"call {action.target} value {action.value} data 0x{action.data.hex()}"
            )
            print(f"action: {call}")


@gov_app.command("votes")
def votes_command(
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
    """An account's votes, its unclaimed units and whom it delegates to."""
    from .._core import check_address
    from ..exceptions import ValidationError

    session = Session(rpc=rpc, contract=contract, profile=profile, account=from_)
    who = check_address("ADDRESS", address) if address is not None else session.address()
    if who is None:
        raise ValidationError("ADDRESS", "whose votes? give an ADDRESS, or --from ALIAS")
    gov = session.client.governance
    row = {
        "address": who,
        "votes": str(gov.votes(who)),
        "pending": str(gov.pending_votes(who)),
        "delegate": gov.delegate_of(who),
    }
    if as_json:
        print_json(row)
        return
    print(
        f"{who}: {votes(int(row['votes']))} votes, {votes(int(row['pending']))} to claim "
        f"(gpuhub gov claim), delegates to {short(row['delegate'])}"
    )


# ---------------------------------------------------------------------------------- writes


@gov_app.command("claim")
def claim_command(
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Mint the voting units the account earned from rental fees."""
    gov = _governance(rpc, contract, profile, from_, signing=True)
    with waiting("claiming votes"):
        units = gov.claim_votes()
    if as_json:
        print_json({"claimed": str(units)})
        return
    print(f"claimed {votes(units)} votes")


@gov_app.command("delegate")
def delegate_command(
    to: Annotated[
        str,
        typer.Argument(
            metavar="TO", help="who votes with the account's units (itself to take them back)"
        ),
    ],
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Give the account's votes to another address."""
    from .._core import check_address

    delegate = check_address("TO", to)
    gov = _governance(rpc, contract, profile, from_, signing=True)
    with waiting("delegating"):
        result = gov.delegate(delegate)
    if as_json:
        print_json(
            {"delegate": delegate, "tx_hash": result.tx_hash, "block_number": result.block_number}
        )
        return
    print(f"votes delegated to {delegate} (transaction {result.tx_hash})")


@gov_app.command("vote")
def vote_command(
    proposal_id: ProposalId,
    support: Annotated[
        str, typer.Argument(metavar="SUPPORT", help="for, against or abstain", show_default=False)
    ],
    reason: Annotated[str, typer.Option(help="a reason, recorded on-chain")] = "",
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Vote on an open proposal with the account's votes at its snapshot."""
    from ..exceptions import ValidationError
    from ..models import VoteSupport

    choice = {s.name.lower(): s for s in VoteSupport}.get(support.lower())
    if choice is None:
        raise ValidationError("SUPPORT", f"say for, against or abstain, not {support!r}")
    _step(
        "voting",
        lambda gov: gov.vote(_proposal_id(gov, proposal_id), choice, reason=reason),
        rpc,
        contract,
        profile,
        from_,
        as_json,
    )


@gov_app.command("queue")
def queue_command(
    proposal_id: ProposalId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Queue a passed proposal in the timelock."""
    _step(
        "queueing",
        lambda gov: gov.queue(_proposal_id(gov, proposal_id)),
        rpc,
        contract,
        profile,
        from_,
        as_json,
    )


@gov_app.command("execute")
def execute_command(
    proposal_id: ProposalId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Execute a queued proposal whose timelock delay has passed (anyone may)."""
    _step(
        "executing",
        lambda gov: gov.execute(_proposal_id(gov, proposal_id)),
        rpc,
        contract,
        profile,
        from_,
        as_json,
    )


@gov_app.command("cancel")
def cancel_command(
    proposal_id: ProposalId,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Cancel a proposal for good: its proposer while it is pending, the marketplace's guardian
    at any time before it executes."""
    _step(
        "canceling",
        lambda gov: gov.cancel(_proposal_id(gov, proposal_id)),
        rpc,
        contract,
        profile,
        from_,
        as_json,
    )


# ---------------------------------------------------------------------------------- proposals


def _propose(
    action: Action,
    description: str,
    rpc: str | None,
    contract: str | None,
    profile: str | None,
    account: str | None,
    as_json: bool,
) -> None:
    _step(
        "proposing",
        lambda gov: gov.propose([action], description),
        rpc,
        contract,
        profile,
        account,
        as_json,
    )


@propose_app.command("set-fee")
def propose_set_fee(
    fee_bps: Annotated[
        int, typer.Argument(metavar="FEE_BPS", help="the fee in basis points, 0 to 1000")
    ],
    description: Description = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Set the platform fee for new rentals."""
    from ..governance import Action

    text = description or f"Set the platform fee to {fee_bps} bps"
    _propose(Action.set_fee(fee_bps), text, rpc, contract, profile, from_, as_json)


@propose_app.command("set-treasury")
def propose_set_treasury(
    address: Annotated[str, typer.Argument(metavar="ADDRESS", help="where future fees go")],
    description: Description = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Send future fees to another address."""
    from ..governance import Action

    text = description or f"Send future fees to {address}"
    _propose(Action.set_treasury(address), text, rpc, contract, profile, from_, as_json)


@propose_app.command("pause")
def propose_pause(
    description: Description = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Stop new listings and rentals (ending, settling and withdrawing go on)."""
    from ..governance import Action

    text = description or "Pause new listings and rentals"
    _propose(Action.pause(), text, rpc, contract, profile, from_, as_json)


@propose_app.command("unpause")
def propose_unpause(
    description: Description = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Resume new listings and rentals."""
    from ..governance import Action

    text = description or "Resume new listings and rentals"
    _propose(Action.unpause(), text, rpc, contract, profile, from_, as_json)


@propose_app.command("pay")
def propose_pay(
    to: Annotated[str, typer.Argument(metavar="TO", help="who is paid")],
    amount: Annotated[
        str, typer.Argument(metavar="AMOUNT", help="how much of the treasury's fees: 0.5eth, 1000")
    ],
    description: Description = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Pay an amount of the treasury's fees to an address."""
    from ..governance import Action
    from ..units import format_wei, parse_amount

    wei = parse_amount(amount, field="AMOUNT")
    text = description or f"Pay {format_wei(wei)} of the treasury to {to}"
    _propose(Action.pay(to, wei), text, rpc, contract, profile, from_, as_json)


@propose_app.command("transfer-governance")
def propose_transfer_governance(
    address: Annotated[
        str, typer.Argument(metavar="ADDRESS", help="the new holder of the marketplace's powers")
    ],
    description: Description = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Hand the marketplace's powers to another address (a new governor's timelock, a multisig)."""
    from ..governance import Action

    text = description or f"Transfer governance to {address}"
    _propose(Action.transfer_governance(address), text, rpc, contract, profile, from_, as_json)


@propose_app.command("set-guardian")
def propose_set_guardian(
    address: Annotated[
        str, typer.Argument(metavar="ADDRESS", help="who may pause at once, or 'none'")
    ],
    description: Description = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Let an address pause the marketplace at once (never unpause); 'none' removes it."""
    from ..governance import Action

    guardian = None if address.lower() == "none" else address
    text = description or (f"Make {address} the guardian" if guardian else "Remove the guardian")
    _propose(Action.set_guardian(guardian), text, rpc, contract, profile, from_, as_json)


@propose_app.command("call")
def propose_call(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="the contract called")],
    data: Annotated[str, typer.Argument(metavar="DATA", help="the calldata, 0x-prefixed hex")],
    value: Annotated[str, typer.Option(help="ETH the timelock sends with it: 0.1eth")] = "0",
    description: Description = None,
    rpc: Rpc = None,
    contract: Contract = None,
    profile: Profile = None,
    from_: From = None,
    as_json: Json = False,
) -> None:
    """Any other call, given as raw calldata (a governor setting, say)."""
    from ..exceptions import ValidationError
    from ..governance import Action
    from ..units import parse_amount

    wei = parse_amount(value, field="--value")
    digits = data[2:] if data[:2] in ("0x", "0X") else None
    try:
        raw = bytes.fromhex(digits or "")
    except ValueError:
        raw = b""
    if digits is None or len(raw) * 2 != len(digits):
        raise ValidationError("DATA", "expected 0x-prefixed hex calldata")
    text = description or f"Call {target} with {len(raw)} bytes of calldata"
    _propose(Action.call(target, raw, value=wei), text, rpc, contract, profile, from_, as_json)

"""REST: governance reads (the governor's settings, proposals, an account's votes).

Proposals and votes are sent from users' own wallets; the server does not vote with its key.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ... import _core
from ...governance import MAX_PROPOSAL_PAGE
from .. import _schemas as s
from .._deps import READ_ERRORS, ClientDep, address_path

router = APIRouter(tags=["governance"])

ProposalIdPath = Annotated[
    str, Path(pattern=r"^[0-9]{1,78}$", description="the proposal's id, a decimal string")
]


@router.get("/v1/governance", response_model=s.GovernanceOut, responses=READ_ERRORS)
def governance(client: ClientDep) -> s.GovernanceOut:
    """The governor, its timelock and votes contract, and its settings (404 without a governor)."""
    gov = client.governance
    return s.GovernanceOut(
        governor=gov.address,
        timelock=gov.timelock,
        votes=gov.votes_address,
        guardian=client.guardian(),
        voting_delay=gov.voting_delay(),
        voting_period=gov.voting_period(),
        timelock_delay=gov.timelock_delay(),
        quorum_percent=gov.quorum_percent(),
        power_quorum_percent=gov.power_quorum_percent(),
        vote_maturity=gov.vote_maturity(),
        proposal_threshold=str(gov.proposal_threshold()),
        total_units=str(gov.total_units()),
        treasury_funds=str(client.treasury_funds()),
        payout_allowance=str(client.payout_allowance().amount),
    )


@router.get("/v1/governance/proposals", response_model=s.ProposalPage, responses=READ_ERRORS)
def proposals(
    client: ClientDep,
    offset: Annotated[int, Query(ge=0, le=2**48)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PROPOSAL_PAGE)] = 20,
) -> s.ProposalPage:
    """A page of proposals, oldest first, with their state, kind and tallies."""
    gov = client.governance
    return s.ProposalPage(
        items=[s.ProposalOut.of(p) for p in gov.proposals(offset=offset, limit=limit)],
        total=gov.proposal_count(),
        offset=offset,
        limit=limit,
    )


@router.get(
    "/v1/governance/proposals/{proposal_id}", response_model=s.ProposalOut, responses=READ_ERRORS
)
def proposal(client: ClientDep, proposal_id: ProposalIdPath) -> s.ProposalOut:
    """One proposal by id."""
    pid = _core.check_int("proposal_id", int(proposal_id))
    return s.ProposalOut.of(client.governance.proposal(pid))


@router.get("/v1/governance/votes/{address}", response_model=s.VotesOut, responses=READ_ERRORS)
def votes(client: ClientDep, address: Annotated[str, address_path()]) -> s.VotesOut:
    """An account's votes, voting units, unclaimed earned units and delegate."""
    gov = client.governance
    return s.VotesOut(
        address=address,
        votes=str(gov.votes(address)),
        units=str(gov.units(address)),
        pending=str(gov.pending_votes(address)),
        delegate=gov.delegate_of(address),
    )

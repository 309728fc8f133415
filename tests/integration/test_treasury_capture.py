"""Buying the treasury with its own money, end to end on both chains: the attack must lose.

An attacker earns votes by renting its own listing from a second account (every wei of fee it
pays into the treasury earns it a voting unit), then proposes to pay itself the treasury: the
honest users' fees and its own. The marketplace runs the production defaults
(``GovernanceSettings()``): the founder holds the bootstrap grant, honest users have paid 5 ETH of
fees and never claimed their votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

import gpuhub
from gpuhub import (
    Action,
    GovernanceSettings,
    GPUHubClient,
    PriceUnit,
    ProposalKind,
    ProposalState,
    VoteSupport,
)
from gpuhub.chain import AnvilNode, embedded_web3
from gpuhub.governance import BOOTSTRAP_UNITS

ETH = 10**18
FEE_BPS = 1_000  # 10%: every wei of fee earns one voting unit, whatever the rate
HONEST_FEES = 5 * ETH
GUARDIAN = 5


@dataclass
class Attacker:
    """Two accounts of one attacker: ``renter`` rents ``provider``'s listing."""

    renter: GPUHubClient
    provider: GPUHubClient

    def wealth(self) -> int:
        """ETH the attacker holds in its accounts and can withdraw from the marketplace."""
        w3 = self.renter.w3
        return sum(w3.eth.get_balance(c.address) + c.balance_of() for c in self.accounts())

    def accounts(self) -> tuple[GPUHubClient, GPUHubClient]:
        return self.renter, self.provider


@pytest.fixture
def market(chain_name: str, request: pytest.FixtureRequest) -> GPUHubClient:
    """A marketplace with the production governance defaults and a guardian (account 5), whose
    founder (account 0) has set a 10% fee, and whose honest users have paid 5 ETH of fees."""
    if chain_name == "anvil":
        node: AnvilNode = request.getfixturevalue("anvil_node")
        w3 = node.web3()
    else:
        w3 = embedded_web3()
    settings = GovernanceSettings(guardian=w3.eth.accounts[GUARDIAN])
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=settings)
    market.chain.advance_time(settings.vote_maturity + 1)  # the founder's grant matures
    founder_passes(market, [Action.set_fee(FEE_BPS)], "Set the fee to 10%")
    provider = market.with_account(market.accounts[1])
    renter = market.with_account(market.accounts[2])
    price = HONEST_FEES * 10_000 // FEE_BPS  # one hour
    listing = provider.create_listing(
        gpu_model="NVIDIA H100", capacity=80, price=price, unit=PriceUnit.HOUR
    )
    rental = renter.rent(listing.listing_id, 1)
    market.chain.advance_time(3_600)
    renter.settle(rental.rental_id)
    assert market.treasury_funds() == HONEST_FEES
    return market


def advance_to(client: GPUHubClient, moment: int) -> None:
    """Move the chain's clock past ``moment``."""
    client.chain.advance_time(max(moment - client.chain.now(), 0) + 1)


def founder_passes(market: GPUHubClient, actions: Sequence[Action], description: str) -> None:
    """The founder proposes, votes FOR alone, queues and executes."""
    gov = market.governance
    proposal = gov.propose(actions, description)
    advance_to(market, proposal.vote_start)
    gov.vote(proposal.proposal_id, VoteSupport.FOR)
    advance_to(market, proposal.vote_end)
    queued = gov.queue(proposal.proposal_id)
    advance_to(market, queued.eta)
    gov.execute(proposal.proposal_id)


def buy_votes(market: GPUHubClient, fee: int) -> Attacker:
    """The attacker pays ``fee`` into the treasury by renting its own listing for an hour from
    its second account, claims the units on both and lets them mature."""
    attacker = Attacker(
        renter=market.with_account(market.accounts[7]),
        provider=market.with_account(market.accounts[8]),
    )
    listing = attacker.provider.create_listing(
        gpu_model="RTX 3060", capacity=12, price=fee * 10_000 // FEE_BPS, unit=PriceUnit.HOUR
    )
    rental = attacker.renter.rent(listing.listing_id, 1)
    market.chain.advance_time(3_600)
    attacker.renter.settle(rental.rental_id)
    attacker.provider.withdraw()
    for side in attacker.accounts():
        side.governance.claim_votes()
    market.chain.advance_time(market.governance.vote_maturity() + 1)
    return attacker


def attack(market: GPUHubClient, attacker: Attacker, amount: int, *, founder_against: bool) -> int:
    """Propose to pay ``amount`` of the treasury to the attacker, vote it through, queue it and
    execute it; returns the proposal's id."""
    gov = attacker.renter.governance
    proposal = gov.propose([Action.pay(attacker.renter.address, amount)], "Pay the auditor")
    advance_to(market, proposal.vote_start)
    for side in attacker.accounts():
        side.governance.vote(proposal.proposal_id, VoteSupport.FOR)
    if founder_against:
        market.governance.vote(proposal.proposal_id, VoteSupport.AGAINST)
    advance_to(market, proposal.vote_end)
    queued = gov.queue(proposal.proposal_id)
    advance_to(market, queued.eta)
    gov.execute(proposal.proposal_id)
    return proposal.proposal_id


def votes_needed(market: GPUHubClient, *, founder_against: bool) -> int:
    """The least fee (= voting units) that passes a power proposal: the elevated share of every
    unit ever earned, its own included, and more than the founder when the founder is against."""
    gov = market.governance
    percent = gov.power_quorum_percent()
    others = BOOTSTRAP_UNITS + market.total_earned_votes()
    # units >= percent / 100 * (others + units)
    needed = -(-others * percent // (100 - percent))
    if founder_against:
        needed = max(needed, BOOTSTRAP_UNITS + 1)
    return needed + 2  # an odd wei of fee would leave one unit short on the renter's side


@pytest.mark.parametrize("founder_against", [True, False], ids=["founder-against", "unopposed"])
def test_capture_of_the_whole_treasury_fails(market: GPUHubClient, founder_against: bool) -> None:
    """A passed proposal paying the attacker the whole treasury reverts at execution: the
    attacker loses every wei of fee it paid for its votes."""
    attacker = buy_votes(market, votes_needed(market, founder_against=founder_against))
    before = attacker.wealth()
    with pytest.raises(gpuhub.PayoutLimitExceeded) as exc:
        attack(market, attacker, market.treasury_funds(), founder_against=founder_against)
    assert exc.value.amount == market.treasury_funds()
    assert exc.value.allowance == market.treasury_funds() * 500 // 10_000
    assert attacker.wealth() < before
    assert market.treasury_funds() > HONEST_FEES


@pytest.mark.parametrize("founder_against", [True, False], ids=["founder-against", "unopposed"])
def test_capture_within_the_payout_limit_loses_money(
    market: GPUHubClient, founder_against: bool
) -> None:
    """The best capture, paying the attacker the period's whole payout allowance, earns less
    than the fees the attacker paid for the votes that pass it."""
    start = market.w3.eth.get_balance(market.accounts[7]) + market.w3.eth.get_balance(
        market.accounts[8]
    )
    attacker = buy_votes(market, votes_needed(market, founder_against=founder_against))
    allowance = market.payout_allowance().amount
    proposal_id = attack(market, attacker, allowance, founder_against=founder_against)
    executed = market.governance.proposal(proposal_id)
    assert executed.state is ProposalState.EXECUTED
    assert executed.kind is ProposalKind.POWER
    net = attacker.wealth() - start
    assert 0 < allowance < -net


def test_guardian_cancels_a_queued_capture(market: GPUHubClient) -> None:
    """The guardian cancels a passed capture during the timelock: it is CANCELED and pays
    nothing, and the attacker keeps only its loss."""
    attacker = buy_votes(market, votes_needed(market, founder_against=False))
    gov = attacker.renter.governance
    held = market.treasury_funds()
    proposal = gov.propose([Action.pay(attacker.renter.address, 1)], "Pay the auditor")
    advance_to(market, proposal.vote_start)
    for side in attacker.accounts():
        side.governance.vote(proposal.proposal_id, VoteSupport.FOR)
    advance_to(market, proposal.vote_end)
    queued = gov.queue(proposal.proposal_id)
    guardian = market.with_account(market.accounts[GUARDIAN]).governance
    canceled = guardian.cancel(proposal.proposal_id)
    assert canceled.state is ProposalState.CANCELED
    advance_to(market, queued.eta)
    with pytest.raises(gpuhub.GovernorUnexpectedProposalState) as exc:
        gov.execute(proposal.proposal_id)
    assert exc.value.current is ProposalState.CANCELED
    assert market.treasury_funds() == held


def test_a_capture_without_the_elevated_quorum_is_defeated(market: GPUHubClient) -> None:
    """Votes that beat the founder but fall short of the elevated share of every unit ever
    earned (honest users' unclaimed units count) do not pass a payout."""
    attacker = buy_votes(market, BOOTSTRAP_UNITS + 10**17)
    gov = attacker.renter.governance
    proposal = gov.propose([Action.pay(attacker.renter.address, 1)], "Pay the auditor")
    assert proposal.kind is ProposalKind.POWER
    assert proposal.quorum > gov.votes()
    advance_to(market, proposal.vote_start)
    for side in attacker.accounts():
        side.governance.vote(proposal.proposal_id, VoteSupport.FOR)
    market.governance.vote(proposal.proposal_id, VoteSupport.AGAINST)
    advance_to(market, proposal.vote_end)
    assert gov.proposal(proposal.proposal_id).state is ProposalState.DEFEATED

"""Governance end to end on both chains: votes earned by fees, proposals, timelock, guardian."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from eth_utils.crypto import keccak

import gpuhub
from gpuhub import (
    Action,
    GovernanceSettings,
    GPUHubClient,
    PriceUnit,
    Proposal,
    ProposalKind,
    ProposalState,
    VoteSupport,
)
from gpuhub._transactions import Plan, Rpc
from gpuhub.chain import AnvilNode, embedded_web3
from gpuhub.governance import BOOTSTRAP_UNITS, PROPOSAL_THRESHOLD

PRICE = 3_600 * 10**9  # wei per hour: 10**9 per second
GUARDIAN = 5
SMALL_HOLDER = 6


@pytest.fixture
def market(chain_name: str, request: pytest.FixtureRequest) -> GPUHubClient:
    """A governed marketplace (dev periods) deployed by account 0, with a guardian (account 5)
    and a bootstrap grant of 1% of the deployer's to account 6."""
    if chain_name == "anvil":
        node: AnvilNode = request.getfixturevalue("anvil_node")
        w3 = node.web3()
    else:
        w3 = embedded_web3()
    deployer, guardian, small = (w3.eth.accounts[i] for i in (0, GUARDIAN, SMALL_HOLDER))
    settings = GovernanceSettings.dev(
        guardian=guardian, bootstrap={deployer: BOOTSTRAP_UNITS, small: BOOTSTRAP_UNITS // 100}
    )
    return GPUHubClient.deploy(w3, account=deployer, governance=settings)


@pytest.fixture
def provider(market: GPUHubClient) -> GPUHubClient:
    """A provider (account 1) with one AVAILABLE listing (id 0): 1..10 hours at PRICE per hour."""
    provider = market.with_account(market.accounts[1])
    provider.create_listing(
        gpu_model="NVIDIA A100", capacity=80, price=PRICE, unit=PriceUnit.HOUR, max_duration=10
    )
    return provider


@pytest.fixture
def renter(market: GPUHubClient) -> GPUHubClient:
    """A renter (account 2) with nothing yet."""
    return market.with_account(market.accounts[2])


@pytest.fixture
def stranger(market: GPUHubClient) -> GPUHubClient:
    """The same governed marketplace, sending as an account that owns nothing (account 9)."""
    return market.with_account(market.accounts[9])


def open_vote(client: GPUHubClient, proposal: Proposal) -> None:
    """Move the chain past the proposal's snapshot, so its vote is open."""
    client.chain.advance_time(max(proposal.vote_start - client.chain.now(), 0) + 1)


def close_vote(client: GPUHubClient, proposal: Proposal) -> None:
    """Move the chain past the proposal's vote end."""
    client.chain.advance_time(max(proposal.vote_end - client.chain.now(), 0) + 1)


def pass_proposal(client: GPUHubClient, actions: Sequence[Action], description: str) -> Proposal:
    """Propose, vote FOR with the deployer's bootstrap votes, queue and execute."""
    gov = client.governance
    proposal = gov.propose(actions, description)
    open_vote(client, proposal)
    gov.vote(proposal.proposal_id, VoteSupport.FOR)
    close_vote(client, proposal)
    queued = gov.queue(proposal.proposal_id)
    client.chain.advance_time(max(queued.eta - client.chain.now(), 0) + 1)
    return gov.execute(proposal.proposal_id)


def settle_one_hour(provider: GPUHubClient, renter: GPUHubClient) -> int:
    """Rent listing 0 for an hour, settle it; returns the fee it paid."""
    rental = renter.rent(0, 1)
    renter.chain.advance_time(3600)
    renter.settle(rental.rental_id)
    return PRICE * rental.fee_bps // 10_000


def test_deployment_hands_powers_to_the_timelock(market: GPUHubClient) -> None:
    """After deployment the timelock is governance and treasury, found from the marketplace."""
    gov = market.governance
    assert market.governor() == gov.address
    assert market.governance_address() == gov.timelock == market.treasury()
    assert market.guardian() == market.accounts[GUARDIAN]
    assert gov.votes() == BOOTSTRAP_UNITS
    assert gov.delegate_of() == market.address
    assert (gov.voting_delay(), gov.voting_period(), gov.timelock_delay()) == (1, 600, 60)
    assert (gov.quorum_percent(), gov.power_quorum_percent()) == (4, 20)
    assert (gov.vote_maturity(), gov.proposal_threshold()) == (0, 0)


def test_deployer_cannot_set_fee(market: GPUHubClient) -> None:
    """The deployer keeps no direct power; the typed error names the timelock that has it."""
    with pytest.raises(gpuhub.NotGovernance) as exc:
        market.set_fee(100)
    assert exc.value.caller == market.address
    assert exc.value.governance == market.governance.timelock


def test_deployer_is_no_timelock_admin(market: GPUHubClient) -> None:
    """The deployer renounced the timelock's admin role; only the governor proposes to it."""
    gov = market.governance
    lock = market.w3.eth.contract(address=gov.timelock, abi=gpuhub._artifact.abi("GPUHubTimelock"))
    admin = lock.functions.DEFAULT_ADMIN_ROLE().call()
    proposer = lock.functions.PROPOSER_ROLE().call()
    assert not lock.functions.hasRole(admin, market.address).call()
    assert lock.functions.hasRole(proposer, gov.address).call()
    assert not lock.functions.hasRole(proposer, market.address).call()


def test_fee_change_end_to_end(
    market: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """A fee change is proposed, voted, queued and executed; the next rental pays the new fee."""
    executed = pass_proposal(market, [Action.set_fee(250)], "Set the fee to 2.5%")
    assert executed.state is ProposalState.EXECUTED
    assert executed.for_votes == BOOTSTRAP_UNITS and executed.against_votes == 0
    assert market.fee_bps() == 250
    fee = settle_one_hour(provider, renter)
    assert fee == PRICE * 250 // 10_000
    assert market.treasury_funds() == fee
    assert market.balance_of(market.governance.timelock) == 0


def test_proposal_reads_back(market: GPUHubClient) -> None:
    """A proposal reads back with its actions, description, times, tallies and quorum."""
    gov = market.governance
    proposal = gov.propose([Action.set_fee(100), Action.pause()], "Fee to 1% and pause")
    assert proposal.state is ProposalState.PENDING
    assert proposal.kind is ProposalKind.PARAMETER
    assert proposal.actions == (Action.set_fee(100), Action.pause())
    assert proposal.description == "Fee to 1% and pause"
    assert proposal.proposer == market.address
    assert proposal.vote_end - proposal.vote_start == 600 and proposal.eta == 0
    assert proposal.quorum == (BOOTSTRAP_UNITS + BOOTSTRAP_UNITS // 100) * 4 // 100
    assert gov.proposal(proposal.proposal_id) == proposal
    assert gov.proposals() == [proposal]


def test_defeated_proposal_cannot_be_queued(market: GPUHubClient) -> None:
    """A proposal voted down is DEFEATED and queueing it raises the typed state error."""
    gov = market.governance
    proposal = gov.propose([Action.set_fee(100)], "Fee to 1%")
    open_vote(market, proposal)
    gov.vote(proposal.proposal_id, VoteSupport.AGAINST, reason="too low")
    close_vote(market, proposal)
    assert gov.proposal(proposal.proposal_id).state is ProposalState.DEFEATED
    with pytest.raises(gpuhub.GovernorUnexpectedProposalState) as exc:
        gov.queue(proposal.proposal_id)
    assert exc.value.current is ProposalState.DEFEATED
    assert exc.value.expected == (ProposalState.SUCCEEDED,)


def test_short_of_quorum_cannot_be_queued(market: GPUHubClient) -> None:
    """A proposal with only FOR votes but under the 4% quorum is DEFEATED."""
    small = market.with_account(market.accounts[SMALL_HOLDER]).governance
    proposal = small.propose([Action.set_fee(100)], "Fee to 1%, small holder")
    open_vote(market, proposal)
    voted = small.vote(proposal.proposal_id, VoteSupport.FOR)
    assert voted.for_votes == BOOTSTRAP_UNITS // 100 < voted.quorum
    close_vote(market, proposal)
    with pytest.raises(gpuhub.GovernorUnexpectedProposalState) as exc:
        small.queue(proposal.proposal_id)
    assert exc.value.current is ProposalState.DEFEATED


def test_vote_before_opening_says_when(market: GPUHubClient) -> None:
    """Voting before the snapshot raises the state error with the opening time and the fix."""
    gov = market.governance
    proposal = gov.propose([Action.set_fee(100)], "Fee to 1%, early vote")
    with pytest.raises(gpuhub.GovernorUnexpectedProposalState) as exc:
        gov.vote(proposal.proposal_id, VoteSupport.FOR)
    assert exc.value.current is ProposalState.PENDING
    assert f"voting starts after {proposal.vote_start}" in str(exc.value)
    assert "advance time on a dev chain" in str(exc.value)


def test_queue_while_voting_says_when_voting_ends(market: GPUHubClient) -> None:
    """Queueing during the vote raises the state error naming the vote's end."""
    gov = market.governance
    proposal = gov.propose([Action.set_fee(100)], "Fee to 1%, early queue")
    open_vote(market, proposal)
    gov.vote(proposal.proposal_id, VoteSupport.FOR)
    with pytest.raises(gpuhub.GovernorUnexpectedProposalState) as exc:
        gov.queue(proposal.proposal_id)
    assert f"voting ends at {proposal.vote_end}" in str(exc.value)


def test_execute_before_eta(market: GPUHubClient) -> None:
    """Executing before the timelock delay has passed raises the timelock's typed error."""
    gov = market.governance
    proposal = gov.propose([Action.set_fee(100)], "Fee to 1%, early execute")
    open_vote(market, proposal)
    gov.vote(proposal.proposal_id, VoteSupport.FOR)
    close_vote(market, proposal)
    queued = gov.queue(proposal.proposal_id)
    assert queued.state is ProposalState.QUEUED and queued.eta > 0
    with pytest.raises(gpuhub.TimelockUnexpectedOperationState) as exc:
        gov.execute(proposal.proposal_id)
    assert f"it can execute from {queued.eta}" in str(exc.value)
    assert market.fee_bps() == 0


def test_double_vote(market: GPUHubClient) -> None:
    """An account votes once per proposal."""
    gov = market.governance
    proposal = gov.propose([Action.set_fee(100)], "Fee to 1%, double vote")
    open_vote(market, proposal)
    gov.vote(proposal.proposal_id, VoteSupport.ABSTAIN)
    with pytest.raises(gpuhub.GovernorAlreadyCastVote) as exc:
        gov.vote(proposal.proposal_id, VoteSupport.FOR)
    assert exc.value.voter == market.address


def test_unknown_proposal(market: GPUHubClient) -> None:
    """Reading an unknown proposal id raises GovernorNonexistentProposal with the id."""
    with pytest.raises(gpuhub.GovernorNonexistentProposal) as exc:
        market.governance.proposal(12345)
    assert exc.value.proposal_id == 12345


def ask(request: Rpc) -> Plan[object]:
    """A plan of one raw request, for calls the client does not wrap."""
    return (yield request)


def test_votes_cannot_be_transferred(market: GPUHubClient) -> None:
    """The votes contract has no transfer or approve, and calling them reverts."""
    gov = market.governance
    names = {e.get("name") for e in gpuhub._artifact.abi("GPUHubVotes")}
    assert not names & {"transfer", "transferFrom", "approve"}
    data = (
        keccak(text="transfer(address,uint256)")[:4]
        + bytes(12)
        + bytes.fromhex(market.accounts[3][2:])
        + (1).to_bytes(32, "big")
    )
    params = {"from": market.address, "to": gov.votes_address, "data": "0x" + data.hex()}
    call = Rpc("eth_call", [params, "latest"])
    with pytest.raises(gpuhub.TransactionReverted):
        market._run(ask(call))
    assert gov.votes(market.accounts[3]) == 0


def test_earned_units_are_the_fee_split_in_two(
    market: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """A rental with a fee earns one unit per wei of fee: half to the renter, rounded down, and
    the rest (the odd wei) to the provider; the marketplace counts every unit earned."""
    pass_proposal(market, [Action.set_fee(1000)], "Fee to 10%")
    odd = provider.create_listing(gpu_model="T4", capacity=16, price=3_610, unit=PriceUnit.HOUR)
    rental = renter.rent(odd.listing_id, 1)
    renter.chain.advance_time(3_600)
    renter.settle(rental.rental_id)
    fee = 361
    assert renter.governance.pending_votes() == fee // 2
    assert provider.governance.pending_votes() == fee - fee // 2
    assert market.total_earned_votes() == fee
    assert renter.governance.claim_votes() == fee // 2
    assert renter.governance.votes() == fee // 2
    assert renter.governance.pending_votes() == 0


def test_claim_without_earnings(renter: GPUHubClient) -> None:
    """Claiming with nothing pending raises NoVotesToClaim."""
    with pytest.raises(gpuhub.NoVotesToClaim) as exc:
        renter.governance.claim_votes()
    assert exc.value.account == renter.address


def test_self_dealing_at_fee_zero_earns_nothing(
    market: GPUHubClient, provider: GPUHubClient
) -> None:
    """A provider renting its own listing from a second account earns no votes without a fee."""
    second = provider.with_account(provider.accounts[4])
    for _ in range(3):
        rental = second.rent(0, 1)
        second.end_rental(rental.rental_id)
    assert second.governance.pending_votes() == 0
    assert provider.governance.pending_votes() == 0


def test_units_claimed_after_snapshot_do_not_count(
    market: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """Units claimed after a proposal's snapshot do not count in its vote."""
    pass_proposal(market, [Action.set_fee(1000)], "Fee to 10%")
    fee = settle_one_hour(provider, renter)
    gov = renter.governance
    proposal = market.governance.propose([Action.set_fee(500)], "Fee to 5%")
    open_vote(renter, proposal)
    assert gov.claim_votes() == fee // 2
    assert gov.votes() == fee // 2
    assert gov.votes(timepoint=proposal.vote_start) == 0
    voted = gov.vote(proposal.proposal_id, VoteSupport.FOR)
    assert voted.for_votes == 0


def test_delegation_moves_votes(market: GPUHubClient) -> None:
    """Delegating hands an account's votes to another; units stay with the holder."""
    small = market.with_account(market.accounts[SMALL_HOLDER]).governance
    small.delegate(market.accounts[3])
    assert small.votes() == 0
    assert small.votes(market.accounts[3]) == BOOTSTRAP_UNITS // 100
    assert small.units() == BOOTSTRAP_UNITS // 100


def test_treasury_pays_only_by_proposal(
    market: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """Fees stay in the marketplace for the treasury; nobody but a passed proposal pays them
    out, and the timelock cannot withdraw them."""
    pass_proposal(market, [Action.set_fee(1000)], "Fee to 10%")
    fee = settle_one_hour(provider, renter)
    with pytest.raises(gpuhub.NotTreasury):
        market.pay_from_treasury(stranger.address, 1)
    grab = Action.call(market.contract_address, _hex(market.contract.encode_abi("withdraw", [])))
    with pytest.raises(gpuhub.NothingToWithdraw):
        pass_proposal(market, [grab], "Withdraw the fees")
    allowed = market.payout_allowance()
    assert (allowed.amount, allowed.period_ends) == (fee * 500 // 10_000, 0)
    before = stranger.w3.eth.get_balance(stranger.address)
    executed = pass_proposal(market, [Action.pay(stranger.address, allowed.amount)], "Audit")
    assert executed.kind is ProposalKind.POWER
    assert stranger.w3.eth.get_balance(stranger.address) == before + allowed.amount
    assert market.treasury_funds() == fee - allowed.amount


def test_no_proposal_moves_escrow_or_balances(
    market: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """Passed proposals that reach for escrow or someone's balance revert; money stays put."""
    renter.rent(0, 2, max_total=3 * PRICE)  # PRICE of it credited to the renter's balance
    contract_balance = market.w3.eth.get_balance(market.contract_address)
    encode = market.contract.encode_abi
    grabs = [
        (Action.pay(stranger.address, PRICE), gpuhub.InsufficientTreasury),
        (
            Action.call(market.contract_address, _hex(encode("endRental", [0]))),
            gpuhub.NotRentalParty,
        ),
        (
            Action.call(market.contract_address, _hex(encode("withdrawTo", [stranger.address]))),
            gpuhub.NothingToWithdraw,
        ),
    ]
    gov = market.governance
    for i, (action, error) in enumerate(grabs):
        proposal = gov.propose([action], f"Grab {i}")
        open_vote(market, proposal)
        gov.vote(proposal.proposal_id, VoteSupport.FOR)
        close_vote(market, proposal)
        queued = gov.queue(proposal.proposal_id)
        market.chain.advance_time(max(queued.eta - market.chain.now(), 0) + 1)
        with pytest.raises(error):
            gov.execute(proposal.proposal_id)
        assert gov.proposal(proposal.proposal_id).state is ProposalState.QUEUED
    assert market.w3.eth.get_balance(market.contract_address) == contract_balance
    assert renter.balance_of() == PRICE
    assert renter.get_rental(0).is_active


def _hex(data: str) -> bytes:
    return bytes.fromhex(data[2:])


def test_guardian_pauses_but_cannot_unpause(market: GPUHubClient) -> None:
    """The guardian pauses at once, cannot unpause, and has no other power."""
    guardian = market.with_account(market.accounts[GUARDIAN])
    guardian.pause()
    assert market.paused()
    with pytest.raises(gpuhub.NotGovernance):
        guardian.set_paused(False)
    with pytest.raises(gpuhub.NotGovernance):
        guardian.set_fee(100)
    with pytest.raises(gpuhub.NotGovernance):
        guardian.set_guardian(None)
    with pytest.raises(gpuhub.NotTreasury):
        guardian.pay_from_treasury(guardian.address, 1)
    assert market.paused()


def test_only_guardian_pauses(market: GPUHubClient, stranger: GPUHubClient) -> None:
    """Anyone but the guardian and governance gets NotGuardian from pause."""
    with pytest.raises(gpuhub.NotGuardian) as exc:
        stranger.pause()
    assert exc.value.caller == stranger.address
    assert not market.paused()


def test_proposal_unpauses_and_removes_guardian(market: GPUHubClient) -> None:
    """Governance unpauses and removes the guardian by proposal."""
    market.with_account(market.accounts[GUARDIAN]).pause()
    pass_proposal(market, [Action.unpause(), Action.set_guardian(None)], "Resume; no guardian")
    assert not market.paused()
    assert market.guardian() is None


def test_proposal_hands_governance_to_a_multisig(
    market: GPUHubClient, stranger: GPUHubClient
) -> None:
    """A proposal can hand the powers to another address; the governor then governs nothing."""
    pass_proposal(market, [Action.transfer_governance(stranger.address)], "Hand over")
    assert market.governance_address() == stranger.address
    assert market.governor() is None
    stranger.set_fee(50)
    assert market.fee_bps() == 50
    with pytest.raises(gpuhub.NoGovernor):
        _ = market.governance


def test_deploy_with_plain_governance_address() -> None:
    """deploy(governance=ADDRESS) deploys no governor and hands that address the powers."""
    w3 = embedded_web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[3])
    assert client.governance_address() == w3.eth.accounts[3]
    assert client.governor() is None
    with pytest.raises(gpuhub.NoGovernor, match="holds its powers directly"):
        _ = client.governance
    with pytest.raises(gpuhub.NoVotesContract):
        client._run(client._ops.call("claimVotes"))


def test_bad_actions_are_refused_before_sending(market: GPUHubClient) -> None:
    """Actions out of range or an empty proposal raise ValidationError; nothing is sent."""
    with pytest.raises(gpuhub.ValidationError, match="fee_bps"):
        Action.set_fee(1001)
    with pytest.raises(gpuhub.ValidationError, match="to"):
        Action.pay("not an address", 1)
    with pytest.raises(gpuhub.ValidationError, match="actions"):
        market.governance.propose([], "nothing")
    assert market.governance.proposals() == []


# ------------------------------------------------------------------ proposal kinds and quorums


def _governor_call(market: GPUHubClient, name: str, *args: object) -> bytes:
    """Calldata of the governor's ``name(*args)``."""
    gov = market.w3.eth.contract(abi=gpuhub._artifact.abi("GPUHubGovernor"))
    return _hex(gov.encode_abi(name, list(args)))


@pytest.mark.parametrize(
    ("actions", "kind"),
    [
        (lambda m: [Action.set_fee(100)], ProposalKind.PARAMETER),
        (lambda m: [Action.pause(), Action.unpause(), Action.set_fee(0)], ProposalKind.PARAMETER),
        (lambda m: [Action.pay(m.accounts[3], 1)], ProposalKind.POWER),
        (lambda m: [Action.set_fee(100), Action.pay(m.accounts[3], 1)], ProposalKind.POWER),
        (lambda m: [Action.set_treasury(m.accounts[3])], ProposalKind.POWER),
        (lambda m: [Action.set_guardian(None)], ProposalKind.POWER),
        (lambda m: [Action.transfer_governance(m.accounts[3])], ProposalKind.POWER),
        (
            lambda m: [
                Action.call(m.governance.address, _governor_call(m, "updateQuorumNumerator", 1))
            ],
            ProposalKind.POWER,
        ),
        (lambda m: [Action.call(m.accounts[3], b"", value=1)], ProposalKind.POWER),
        (
            lambda m: [
                Action.call(m.contract_address, _hex(m.contract.encode_abi("setFee", [1])), value=1)
            ],
            ProposalKind.POWER,
        ),
        (
            lambda m: [Action.call(m.contract_address, _hex(m.contract.encode_abi("pause", [])))],
            ProposalKind.POWER,
        ),
        (lambda m: [Action.call(m.contract_address, b"\x01")], ProposalKind.POWER),
    ],
    ids=[
        "fee",
        "pause-unpause-fee",
        "pay",
        "fee-and-pay",
        "treasury",
        "guardian",
        "governance",
        "governor-setting",
        "eth-to-anyone",
        "fee-with-eth",
        "guardian-pause",
        "short-calldata",
    ],
)
def test_proposals_are_classed_when_proposed(
    market: GPUHubClient, actions: Callable[[GPUHubClient], list[Action]], kind: ProposalKind
) -> None:
    """Only proposals whose every call is setFee or setPaused on the marketplace, without ETH,
    are PARAMETER proposals; anything else is POWER."""
    proposal = market.governance.propose(actions(market), f"classed {kind.name}")
    assert proposal.kind is kind
    assert market.governance.proposal(proposal.proposal_id).kind is kind


def test_power_quorum_counts_every_unit_granted_or_earned(
    market: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """A POWER proposal's quorum is 20% of the bootstrap grants and every unit earned by fees,
    claimed or not, as counted when it was proposed; a PARAMETER one's counts claimed units."""
    pass_proposal(market, [Action.set_fee(1000)], "Fee to 10%")
    fee = settle_one_hour(provider, renter)
    granted = BOOTSTRAP_UNITS + BOOTSTRAP_UNITS // 100
    gov = market.governance
    power = gov.propose([Action.pay(market.accounts[3], 1)], "Pay 1 wei")
    parameter = gov.propose([Action.set_fee(500)], "Fee to 5%")
    assert market.total_earned_votes() == fee
    assert power.quorum == (granted + fee) * 20 // 100
    assert parameter.quorum == granted * 4 // 100
    renter.governance.claim_votes()
    provider.governance.claim_votes()
    settle_one_hour(provider, renter)
    assert gov.proposal(power.proposal_id).quorum == (granted + fee) * 20 // 100


def test_power_quorum_must_exceed_the_payout_limit() -> None:
    """Settings with a power quorum at or below the 5% payout limit, or above 100%, are refused
    before anything is sent."""
    w3 = embedded_web3()
    for percent in (5, 101):
        with pytest.raises(gpuhub.ValidationError, match="power_quorum_percent"):
            GPUHubClient.deploy(
                w3,
                account=w3.eth.accounts[0],
                governance=GovernanceSettings(power_quorum_percent=percent),
            )


def test_governor_refuses_a_power_quorum_at_the_payout_limit() -> None:
    """A governor deployed past the client's checks with a 5% power quorum reverts with
    GovernorInvalidPowerQuorum naming the marketplace's limit."""
    from gpuhub.deploy import install

    w3 = embedded_web3()
    plain = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    settings = GovernanceSettings.dev(power_quorum_percent=5)
    with pytest.raises(gpuhub.GovernorInvalidPowerQuorum) as exc:
        plain._run(install(plain._ops, plain._require_sender(), settings, {}))
    assert (exc.value.numerator, exc.value.payout_limit_bps) == (5, 500)


# ------------------------------------------------------------------ vote maturity


@pytest.fixture
def maturing(chain_name: str, request: pytest.FixtureRequest) -> GPUHubClient:
    """A governed marketplace whose votes count once held for a minute (dev periods, 10% fee
    set by the deployer), with a listing of account 1 at PRICE per hour."""
    w3 = request.getfixturevalue("anvil_node").web3() if chain_name == "anvil" else embedded_web3()
    settings = GovernanceSettings.dev(vote_maturity=60, proposal_threshold=10**9)
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=settings)
    market.chain.advance_time(61)
    pass_proposal(market, [Action.set_fee(1000)], "Fee to 10%")
    market.with_account(market.accounts[1]).create_listing(
        gpu_model="A100", capacity=80, price=PRICE, unit=PriceUnit.HOUR
    )
    return market


def test_votes_claimed_within_the_maturity_do_not_count(maturing: GPUHubClient) -> None:
    """Units claimed less than vote_maturity seconds before a snapshot cast no votes in it,
    though the account holds them at the snapshot; the same units count a minute later."""
    renter = maturing.with_account(maturing.accounts[2])
    provider = maturing.with_account(maturing.accounts[1])
    settle_one_hour(provider, renter)
    claimed = renter.governance.claim_votes()
    proposal = maturing.governance.propose([Action.set_fee(500)], "Fee to 5%")
    open_vote(maturing, proposal)
    assert renter.governance.votes(timepoint=proposal.vote_start) == claimed
    assert renter.governance.voting_power(timepoint=proposal.vote_start) == 0
    assert renter.governance.vote(proposal.proposal_id, VoteSupport.FOR).for_votes == 0
    maturing.chain.advance_time(60)
    later = maturing.governance.propose([Action.set_fee(400)], "Fee to 4%")
    open_vote(maturing, later)
    assert renter.governance.vote(later.proposal_id, VoteSupport.FOR).for_votes == claimed


def test_proposing_needs_matured_votes(maturing: GPUHubClient) -> None:
    """Freshly claimed units do not reach the proposal threshold until they have matured."""
    renter = maturing.with_account(maturing.accounts[2])
    settle_one_hour(maturing.with_account(maturing.accounts[1]), renter)
    claimed = renter.governance.claim_votes()
    assert claimed >= 10**9
    with pytest.raises(gpuhub.GovernorInsufficientProposerVotes) as exc:
        renter.governance.propose([Action.set_fee(500)], "Fee to 5%")
    assert (exc.value.proposer, exc.value.votes, exc.value.threshold) == (
        renter.address,
        0,
        10**9,
    )
    maturing.chain.advance_time(61)
    assert (
        renter.governance.propose([Action.set_fee(500)], "Fee to 5%").kind is ProposalKind.PARAMETER
    )


def test_default_threshold_keeps_out_accounts_without_votes() -> None:
    """Under the production default of 10^16 units, an account without votes cannot propose
    and the founder's grant can."""
    w3 = embedded_web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=GovernanceSettings())
    market.chain.advance_time(GovernanceSettings().vote_maturity + 1)
    gov = market.governance
    assert gov.proposal_threshold() == PROPOSAL_THRESHOLD == 10**16
    with pytest.raises(gpuhub.GovernorInsufficientProposerVotes) as exc:
        market.with_account(market.accounts[9]).governance.propose([Action.set_fee(1)], "spam")
    assert (exc.value.votes, exc.value.threshold) == (0, PROPOSAL_THRESHOLD)
    assert gov.propose([Action.set_fee(1)], "Fee to 0.01%").kind is ProposalKind.PARAMETER
    assert gov.proposal_count() == 1


# ------------------------------------------------------------------ cancelling


def test_guardian_cancels_an_active_proposal(market: GPUHubClient) -> None:
    """The guardian cancels a proposal while its vote is open; it is CANCELED and cannot pass."""
    gov = market.governance
    proposal = gov.propose([Action.pay(market.accounts[3], 1)], "Pay 1 wei")
    open_vote(market, proposal)
    gov.vote(proposal.proposal_id, VoteSupport.FOR)
    guardian = market.with_account(market.accounts[GUARDIAN]).governance
    assert guardian.cancel(proposal.proposal_id).state is ProposalState.CANCELED
    close_vote(market, proposal)
    with pytest.raises(gpuhub.GovernorUnexpectedProposalState) as exc:
        gov.queue(proposal.proposal_id)
    assert exc.value.current is ProposalState.CANCELED


def test_guardian_cannot_cancel_its_own_replacement(market: GPUHubClient) -> None:
    """A proposal that only replaces the guardian is beyond the guardian's cancel, so
    governance can always replace it."""
    proposal = market.governance.propose([Action.set_guardian(market.accounts[4])], "New guardian")
    guardian = market.with_account(market.accounts[GUARDIAN]).governance
    with pytest.raises(gpuhub.GovernorUnableToCancel) as exc:
        guardian.cancel(proposal.proposal_id)
    assert (exc.value.proposal_id, exc.value.account) == (
        proposal.proposal_id,
        market.accounts[GUARDIAN],
    )
    bundled = market.governance.propose(
        [Action.set_guardian(market.accounts[4]), Action.pay(market.accounts[4], 1)], "Bundled"
    )
    assert guardian.cancel(bundled.proposal_id).state is ProposalState.CANCELED


def test_only_the_guardian_and_a_pending_proposer_cancel(
    market: GPUHubClient, stranger: GPUHubClient
) -> None:
    """A stranger cannot cancel; the proposer can while the proposal is pending, not after."""
    gov = market.governance
    first = gov.propose([Action.set_fee(100)], "Fee to 1%")
    with pytest.raises(gpuhub.GovernorUnableToCancel):
        stranger.governance.cancel(first.proposal_id)
    assert gov.cancel(first.proposal_id).state is ProposalState.CANCELED
    second = gov.propose([Action.set_fee(200)], "Fee to 2%")
    open_vote(market, second)
    with pytest.raises(gpuhub.GovernorUnableToCancel):
        gov.cancel(second.proposal_id)


def test_a_removed_guardian_cancels_nothing(market: GPUHubClient) -> None:
    """Cancelling follows the marketplace's guardian: once governance removes it, it cannot."""
    pass_proposal(market, [Action.set_guardian(None)], "No guardian")
    proposal = market.governance.propose([Action.pay(market.accounts[3], 1)], "Pay 1 wei")
    with pytest.raises(gpuhub.GovernorUnableToCancel):
        market.with_account(market.accounts[GUARDIAN]).governance.cancel(proposal.proposal_id)


# ------------------------------------------------------------------ paging


def test_proposals_page_oldest_first(market: GPUHubClient) -> None:
    """proposals(offset=, limit=) returns a page, oldest first; proposal_count counts them all."""
    gov = market.governance
    made = [gov.propose([Action.set_fee(i)], f"Fee {i}").proposal_id for i in range(1, 6)]
    assert gov.proposal_count() == 5
    assert [p.proposal_id for p in gov.proposals(offset=1, limit=3)] == made[1:4]
    assert [p.proposal_id for p in gov.proposals(offset=4, limit=100)] == made[4:]
    assert gov.proposals(offset=9) == []
    assert [p.proposal_id for p in gov.proposals()] == made


@pytest.mark.parametrize(("offset", "limit"), [(-1, None), (0, 0), (0, 101), (0, True)])
def test_proposal_page_bounds(market: GPUHubClient, offset: int, limit: int | None) -> None:
    """A negative offset, or a page of 0 or more than 100, is a ValidationError."""
    with pytest.raises(gpuhub.ValidationError):
        market.governance.proposals(offset=offset, limit=limit)

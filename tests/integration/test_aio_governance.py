"""Governance through AsyncGPUHubClient on anvil: the same plans as the sync client, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3, HTTPProvider, Web3

import gpuhub
from gpuhub import Action, GovernanceSettings, ProposalKind, ProposalState, VoteSupport
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode, DevChain

pytestmark = pytest.mark.anvil


def run(
    node: AnvilNode,
    scenario: Callable[[AsyncGPUHubClient, DevChain], Awaitable[None]],
    governance: str | GovernanceSettings | None = None,
) -> None:
    """Deploy a fresh marketplace with the async client and run ``scenario`` on it, with the
    node's clock controls beside it."""

    async def main() -> None:
        w3 = AsyncWeb3(AsyncHTTPProvider(node.url))
        try:
            client = await AsyncGPUHubClient.deploy(w3, governance=governance)
            await scenario(client, DevChain(Web3(HTTPProvider(node.url))))
        finally:
            await w3.provider.disconnect()

    asyncio.run(main())


def test_fee_change_end_to_end(anvil_node: AnvilNode) -> None:
    """Propose, vote, queue and execute a fee change awaited; the fee changes, the deployer
    alone cannot change it."""

    async def scenario(client: AsyncGPUHubClient, chain: DevChain) -> None:
        gov = client.governance
        assert await client.governor() == await gov.address()
        assert await client.governance_address() == await gov.timelock() == await client.treasury()
        with pytest.raises(gpuhub.NotGovernance):
            await client.set_fee(100)
        proposal = await gov.propose([Action.set_fee(100)], "Fee to 1%")
        assert proposal.state is ProposalState.PENDING
        chain.advance_time(await gov.voting_delay() + 1)
        voted = await gov.vote(proposal.proposal_id, VoteSupport.FOR, reason="cheaper")
        assert voted.for_votes == await gov.votes() > 0
        chain.advance_time(await gov.voting_period())
        queued = await gov.queue(proposal.proposal_id)
        assert queued.state is ProposalState.QUEUED
        chain.advance_time(await gov.timelock_delay() + 1)
        executed = await gov.execute(proposal.proposal_id)
        assert executed.state is ProposalState.EXECUTED
        assert await client.fee_bps() == 100
        assert [p.proposal_id for p in await gov.proposals()] == [proposal.proposal_id]

    run(anvil_node, scenario)


def test_early_queue_says_when(anvil_node: AnvilNode) -> None:
    """Queueing while the vote is open raises the governor's typed error with the vote's end."""

    async def scenario(client: AsyncGPUHubClient, chain: DevChain) -> None:
        gov = client.governance
        proposal = await gov.propose([Action.pause()], "Pause")
        chain.advance_time(await gov.voting_delay() + 1)
        with pytest.raises(gpuhub.GovernorUnexpectedProposalState, match="voting ends at"):
            await gov.queue(proposal.proposal_id)

    run(anvil_node, scenario)


def test_no_governor_is_said_on_first_use(anvil_node: AnvilNode) -> None:
    """On a market governed by a plain address, the first governance call raises NoGovernor."""

    async def scenario(client: AsyncGPUHubClient, chain: DevChain) -> None:
        assert await client.governor() is None
        with pytest.raises(gpuhub.NoGovernor, match="holds its powers directly"):
            await client.governance.voting_delay()

    run(anvil_node, scenario, governance=anvil_node.web3().eth.accounts[0])


def test_guardian_pauses_awaited(anvil_node: AnvilNode) -> None:
    """The guardian pauses through the async client and cannot unpause."""
    guardian = anvil_node.web3().eth.accounts[5]

    async def scenario(client: AsyncGPUHubClient, chain: DevChain) -> None:
        assert await client.guardian() == guardian
        watchman = client.with_account(guardian)
        await watchman.pause()
        assert await client.paused() is True
        with pytest.raises(gpuhub.NotGovernance):
            await watchman.set_paused(False)

    run(anvil_node, scenario, governance=GovernanceSettings.dev(guardian=guardian))


def test_guardian_cancels_awaited(anvil_node: AnvilNode) -> None:
    """The guardian cancels a queued payout through the async client: CANCELED, a POWER
    proposal, and the page of proposals shows it."""
    guardian = anvil_node.web3().eth.accounts[5]

    async def scenario(client: AsyncGPUHubClient, chain: DevChain) -> None:
        gov = client.governance
        proposal = await gov.propose([Action.pay(guardian, 1)], "Pay 1 wei")
        assert proposal.kind is ProposalKind.POWER
        chain.advance_time(await gov.voting_delay() + 1)
        await gov.vote(proposal.proposal_id, VoteSupport.FOR)
        chain.advance_time(await gov.voting_period())
        await gov.queue(proposal.proposal_id)
        canceled = await client.with_account(guardian).governance.cancel(proposal.proposal_id)
        assert canceled.state is ProposalState.CANCELED
        assert await gov.proposal_count() == 1
        (listed,) = await gov.proposals(offset=0, limit=1)
        assert listed.state is ProposalState.CANCELED
        assert (await client.payout_allowance()).amount == await client.treasury_funds() == 0

    run(anvil_node, scenario, governance=GovernanceSettings.dev(guardian=guardian))

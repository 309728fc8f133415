"""gpuhub gov: every governance step from the command line on anvil, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import Cli

from gpuhub.chain import AnvilNode
from gpuhub.client import GPUHubClient

pytestmark = pytest.mark.anvil


@pytest.fixture
def market(anvil_node: AnvilNode) -> GPUHubClient:
    """A governed marketplace; its deployer (the node's first account) holds the founders'
    bootstrap votes."""
    return GPUHubClient.deploy(anvil_node.web3())


@pytest.fixture
def cli(anvil_node: AnvilNode, market: GPUHubClient, home: Path) -> Cli:
    """The command line on that marketplace, signing as the deployer unless told otherwise."""
    env = {"GPUHUB_CONTRACT": market.contract_address, "GPUHUB_ACCOUNT": market.accounts[0]}
    return Cli(anvil_node.url, home, env)


def test_fee_change_from_proposal_to_execution(cli: Cli, market: GPUHubClient) -> None:
    """propose set-fee, vote, queue and execute change the fee; each prints one object, and a
    prefix of the id is enough."""
    proposal = cli.json("gov", "propose", "set-fee", "100")
    assert isinstance(proposal, dict) and proposal["state"] == "PENDING"
    assert proposal["actions"] == [{"function": "setFee", "args": ["100"]}]
    prefix = proposal["proposal_id"][:10]
    cli("chain", "advance-time", "2s")
    voted = cli.json("gov", "vote", prefix, "for", "--reason", "cheaper")
    assert voted["for_votes"] == str(10**18)
    cli("chain", "advance-time", "601s")
    assert cli.json("gov", "queue", prefix)["state"] == "QUEUED"
    cli("gov", "execute", prefix, code=4)
    cli("chain", "advance-time", "61s")
    assert cli.json("gov", "execute", proposal["proposal_id"])["state"] == "EXECUTED"
    assert [p["state"] for p in cli.json("gov", "list")] == ["EXECUTED"]
    assert cli.json("gov", "show", prefix)["proposal_id"] == proposal["proposal_id"]
    assert market.fee_bps() == 100


def test_tables_shorten_ids_and_count_votes(cli: Cli) -> None:
    """gov list keeps each proposal on one line: a short id, and tallies in votes, not units."""
    proposal = cli.json("gov", "propose", "pause")
    cli("chain", "advance-time", "2s")
    cli("gov", "vote", proposal["proposal_id"], "for")
    table = cli("gov", "list").stdout
    row = next(line for line in table.splitlines() if "ACTIVE" in line)
    assert f"{proposal['proposal_id'][:8]}…{proposal['proposal_id'][-4:]}" in row
    assert " 1 " in row and str(10**18) not in table


def test_every_action_can_be_proposed(cli: Cli, market: GPUHubClient) -> None:
    """One gov propose command per Action, each giving the call it will make."""
    someone = market.accounts[5]
    cases = {
        ("set-treasury", someone): "setTreasury",
        ("pause",): "setPaused",
        ("unpause",): "setPaused",
        ("pay", someone, "0.5eth"): "payFromTreasury",
        ("transfer-governance", someone): "transferGovernance",
        ("set-guardian", someone): "setGuardian",
        ("set-guardian", "none"): "setGuardian",
    }
    for args, function in cases.items():
        proposal = cli.json("gov", "propose", *args)
        assert proposal["actions"][0]["function"] == function
    raw = cli.json("gov", "propose", "call", market.contract_address, "0x1234", "--value", "1gwei")
    assert raw["actions"] == [
        {"target": market.contract_address, "value": str(10**9), "data": "0x1234"}
    ]
    assert len(cli.json("gov", "list")) == len(cases) + 1


def test_vote_too_early_says_when_voting_opens(cli: Cli) -> None:
    """Voting before the vote opens is refused by the governor (exit 4), the state named."""
    proposal = cli.json("gov", "propose", "set-fee", "50", "--description", "Fee to 0.5%")
    refused = cli("gov", "vote", proposal["proposal_id"], "for", code=4)
    assert "GovernorUnexpectedProposalState" in refused.stderr and "PENDING" in refused.stderr


def test_votes_delegate_and_claim(cli: Cli, market: GPUHubClient) -> None:
    """gov votes reads an account; delegating moves the votes; claiming with none earned is
    refused."""
    other = market.accounts[1]
    assert cli.json("gov", "votes", other)["votes"] == "0"
    delegated = cli.json("gov", "delegate", other)
    assert delegated["delegate"] == other
    assert cli.json("gov", "votes", other)["votes"] == str(10**18)
    assert cli.json("gov", "votes")["delegate"] == other
    refused = cli("gov", "claim", code=4)
    assert "NoVotesToClaim" in refused.stderr and "gpuhub gov votes" in refused.stderr


def test_unknown_or_ambiguous_ids(cli: Cli) -> None:
    """An id no proposal has is not found (exit 3); a non-number is a usage error (exit 2)."""
    cli("gov", "show", "999", code=3)
    cli("gov", "show", "12ab", code=2)
    cli("gov", "vote", "1", "maybe", code=2)


def test_list_pages_and_names_each_kind(cli: Cli, market: GPUHubClient) -> None:
    """gov list --offset/--limit pages oldest first, and each proposal says its kind."""
    fee = cli.json("gov", "propose", "set-fee", "10")
    pay = cli.json("gov", "propose", "pay", market.accounts[5], "1gwei")
    guardian = cli.json("gov", "propose", "set-guardian", market.accounts[6])
    assert (fee["kind"], pay["kind"], guardian["kind"]) == ("PARAMETER", "POWER", "POWER")
    page = cli.json("gov", "list", "--offset", "1", "--limit", "1")
    assert [p["proposal_id"] for p in page] == [pay["proposal_id"]]
    table = cli("gov", "list", "--limit", "2").stdout
    assert "proposals 1..2 of 3" in table and "PARAMETER" in table and "POWER" in table
    cli("gov", "list", "--limit", "101", code=2)


def test_cancel_by_the_proposer_while_pending(cli: Cli) -> None:
    """gov cancel calls off a pending proposal of the --from account; it stays CANCELED."""
    proposal = cli.json("gov", "propose", "pause")
    canceled = cli.json("gov", "cancel", proposal["proposal_id"][:12])
    assert canceled["state"] == "CANCELED"
    refused = cli("gov", "vote", proposal["proposal_id"], "for", code=4)
    assert "GovernorUnexpectedProposalState" in refused.stderr


def test_cancel_by_a_stranger_is_refused(cli: Cli, market: GPUHubClient) -> None:
    """An account that neither proposed nor guards the market cannot cancel (exit 4)."""
    proposal = cli.json("gov", "propose", "pause")
    refused = cli("gov", "cancel", proposal["proposal_id"], "--from", market.accounts[3], code=4)
    assert "GovernorUnableToCancel" in refused.stderr


def test_settings_name_both_quorums(cli: Cli, market: GPUHubClient) -> None:
    """gov settings reads the governor: both quorums, the maturity, the threshold, the guardian."""
    gov = market.governance
    settings = cli.json("gov", "settings")
    assert settings["quorum_percent"] == gov.quorum_percent() == 4
    assert settings["power_quorum_percent"] == gov.power_quorum_percent() == 20
    assert settings["vote_maturity"] == gov.vote_maturity()
    assert settings["proposal_threshold"] == str(gov.proposal_threshold())
    assert settings["timelock"] == gov.timelock and settings["guardian"] is None
    text = cli("gov", "settings").stdout
    assert "20% of every unit granted or earned (POWER)" in text


def test_treasury_shows_funds_and_allowance(cli: Cli, market: GPUHubClient) -> None:
    """gov treasury reads the fees held and what a payout may take now, in wei strings."""
    treasury = cli.json("gov", "treasury")
    allowance = market.payout_allowance()
    assert treasury == {
        "treasury": market.treasury(),
        "funds": str(market.treasury_funds()),
        "allowance": str(allowance.amount),
        "period_ends": allowance.period_ends,
    }
    assert "gpuhub gov propose pay" in cli("gov", "treasury").stdout

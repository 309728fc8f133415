"""gpuhub gov: a fee change from proposal to execution on a real node, and its errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import gpuhub
from gpuhub import Action
from gpuhub.chain import AnvilNode
from gpuhub.cli import app
from gpuhub.client import GPUHubClient

pytestmark = pytest.mark.anvil


class _Last:
    exception: BaseException | None = None


LAST = _Last()


def gov(node: AnvilNode, market: GPUHubClient, *args: str) -> tuple[int, str]:
    """Run ``gpuhub gov ARGS`` against the market; returns (exit code, output)."""
    where = ["--rpc", node.url, "--contract", market.contract_address]
    result = CliRunner().invoke(app, ["gov", *args, *where])
    LAST.exception = result.exception
    return result.exit_code, result.output


def test_fee_change_from_the_command_line(
    anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """propose-fee, vote, queue and execute change the fee; proposals --json shows it EXECUTED."""
    monkeypatch.delenv("GPUHUB_PRIVATE_KEY", raising=False)
    market = GPUHubClient.deploy(anvil_node.web3())
    code, out = gov(anvil_node, market, "propose-fee", "100", "--json")
    assert code == 0, out
    (proposal,) = json.loads(out)
    pid = proposal["proposal_id"]
    market.chain.advance_time(2)
    assert gov(anvil_node, market, "vote", pid, "for", "--json")[0] == 0
    market.chain.advance_time(601)
    assert gov(anvil_node, market, "queue", pid, "--json")[0] == 0
    market.chain.advance_time(61)
    assert gov(anvil_node, market, "execute", pid, "--json")[0] == 0
    code, out = gov(anvil_node, market, "proposals", "--json")
    assert code == 0 and json.loads(out)[0]["state"] == "EXECUTED"
    assert market.fee_bps() == 100


def test_vote_too_early_names_when_voting_opens(
    anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Voting before the vote opens fails with the typed error saying when it opens."""
    monkeypatch.delenv("GPUHUB_PRIVATE_KEY", raising=False)
    market = GPUHubClient.deploy(anvil_node.web3())
    proposal = market.governance.propose([Action.set_fee(100)], "Fee to 1%")
    code, _ = gov(anvil_node, market, "vote", str(proposal.proposal_id), "for")
    assert code == 1
    assert isinstance(LAST.exception, gpuhub.GovernorUnexpectedProposalState)
    assert "voting starts after" in str(LAST.exception)


def test_votes_and_claim(anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch) -> None:
    """gov votes --json reads an account's votes; claiming with nothing earned fails."""
    monkeypatch.delenv("GPUHUB_PRIVATE_KEY", raising=False)
    market = GPUHubClient.deploy(anvil_node.web3())
    code, out = gov(anvil_node, market, "votes", market.accounts[1], "--json")
    assert code == 0 and json.loads(out)["votes"] == "0"
    assert gov(anvil_node, market, "claim")[0] == 1
    assert isinstance(LAST.exception, gpuhub.NoVotesToClaim)

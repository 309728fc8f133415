"""The gpuhub rate and reputation commands, against anvil, and the demo's closing ratings."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gpuhub import PriceUnit, ValidationError
from gpuhub.chain import AnvilNode
from gpuhub.cli import app
from gpuhub.client import GPUHubClient


@pytest.fixture
def ended(anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch) -> tuple[GPUHubClient, int]:
    """A marketplace on anvil whose first unlocked account rented for half an hour (billed
    0.005 ETH, so its ratings weigh something) and ended the rental."""
    monkeypatch.delenv("GPUHUB_PRIVATE_KEY", raising=False)
    market = GPUHubClient.deploy(anvil_node.web3())
    provider = market.with_account(market.accounts[1])
    provider.create_listing(gpu_model="RTX 3090", capacity=24, price=10**16, unit=PriceUnit.HOUR)
    rental_id = market.rent(0, 1).rental_id
    market.chain.advance_time(1800)
    market.end_rental(rental_id)
    return market, rental_id


def cli(anvil_node: AnvilNode, market: GPUHubClient, *args: str) -> str:
    """Run a command against the marketplace and return its output; it must succeed."""
    where = ["--rpc", anvil_node.url, "--contract", market.contract_address]
    result = CliRunner().invoke(app, [*args, *where])
    assert result.exit_code == 0, result.output
    return result.output


def test_rate_prints_the_rating_as_json(
    anvil_node: AnvilNode, ended: tuple[GPUHubClient, int]
) -> None:
    """gpuhub rate --json sends the rating and prints it, role by name."""
    market, rental_id = ended
    out = cli(anvil_node, market, "rate", str(rental_id), "4", "--comment", "good", "--json")
    rating = json.loads(out)
    assert (rating["score"], rating["comment"], rating["role"]) == (4, "good", "PROVIDER")
    assert rating["ratee"] == market.accounts[1]


def test_reputation_json_and_table(anvil_node: AnvilNode, ended: tuple[GPUHubClient, int]) -> None:
    """gpuhub reputation prints the counts as JSON, or a table naming the address."""
    market, rental_id = ended
    market.rate(rental_id, 5)
    provider = market.accounts[1]
    rep = json.loads(cli(anvil_node, market, "reputation", provider, "--json"))
    assert (rep["provider_rating_count"], rep["provider_average"]) == (1, 5.0)
    assert rep["completed_as_provider"] == 1 and rep["provider_score"] > 3.0
    table = cli(anvil_node, market, "reputation", provider)
    assert provider in table and "5.00 (1)" in table


def test_rate_refuses_bad_score(anvil_node: AnvilNode, ended: tuple[GPUHubClient, int]) -> None:
    """A score out of range fails with ValidationError before anything is sent."""
    market, rental_id = ended
    block = market.block_number()
    where = ["--rpc", anvil_node.url, "--contract", market.contract_address]
    result = CliRunner().invoke(app, ["rate", str(rental_id), "9", *where])
    assert isinstance(result.exception, ValidationError)
    assert result.exception.field == "score"
    assert market.block_number() == block


def test_demo_ends_with_ratings() -> None:
    """gpuhub demo ends with both sides rating each other and the reputations table."""
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "renter rates alice as provider 5/5" in result.output
    assert "alice rates renter as renter 5/5" in result.output
    assert "Reputations, as the contract counts them" in result.output

"""The gpuhub rate and reputation commands, against anvil, and the demo's closing ratings."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import Cli
from typer.testing import CliRunner

from gpuhub import PriceUnit
from gpuhub.chain import AnvilNode
from gpuhub.cli import app
from gpuhub.client import GPUHubClient

pytestmark = pytest.mark.anvil


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


@pytest.fixture
def cli(anvil_node: AnvilNode, ended: tuple[GPUHubClient, int], home: Path) -> Cli:
    """The command line on that marketplace."""
    return Cli(anvil_node.url, home, {"GPUHUB_CONTRACT": ended[0].contract_address})


def test_rate_prints_the_rating_as_json(cli: Cli, ended: tuple[GPUHubClient, int]) -> None:
    """gpuhub rate --json sends the rating as the --from account and prints it, role by name."""
    market, rental_id = ended
    rating = cli.json(
        "rate", str(rental_id), "4", "--comment", "good", "--from", market.accounts[0]
    )
    assert (rating["score"], rating["comment"], rating["role"]) == (4, "good", "PROVIDER")
    assert rating["ratee"] == market.accounts[1] and isinstance(rating["billed"], str)


def test_reputation_json_and_table(cli: Cli, ended: tuple[GPUHubClient, int]) -> None:
    """gpuhub reputation prints the counts as JSON, or a table naming the address."""
    market, rental_id = ended
    market.rate(rental_id, 5)
    provider = market.accounts[1]
    rep = cli.json("reputation", provider)
    assert (rep["provider_rating_count"], rep["provider_average"]) == (1, 5.0)
    assert rep["completed_as_provider"] == 1 and rep["provider_score"] > 3.0
    table = cli("reputation", provider).stdout
    assert provider in table and "5.00 (1)" in table


def test_rate_refuses_bad_score(cli: Cli, ended: tuple[GPUHubClient, int]) -> None:
    """A score out of range is a usage error (exit 2) before anything is sent."""
    market, rental_id = ended
    block = market.block_number()
    refused = cli("rate", str(rental_id), "9", "--from", market.accounts[0], code=2)
    assert refused.stderr == "error: SCORE: must be 1 to 5, got 9\n"
    assert market.block_number() == block


def test_rate_twice_is_refused_in_command_terms(cli: Cli, ended: tuple[GPUHubClient, int]) -> None:
    """A second rating is refused by the contract (exit 4) with a hint that names a command."""
    market, rental_id = ended
    market.rate(rental_id, 5)
    refused = cli("rate", str(rental_id), "3", "--from", market.accounts[0], code=4)
    assert refused.stderr.startswith("error: AlreadyRated(")
    assert "gpuhub reputation ADDRESS" in refused.stderr and "ratings(" not in refused.stderr


def test_demo_ends_with_ratings() -> None:
    """gpuhub demo ends with both sides rating each other and the reputations table."""
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "renter rates alice as provider 5/5" in result.output
    assert "alice rates renter as renter 5/5" in result.output
    assert "Reputations, as the contract counts them" in result.output

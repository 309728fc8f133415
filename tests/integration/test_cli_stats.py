"""gpuhub stats, gpuhub earnings and gpuhub report against a marketplace on anvil."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli import Cli

from gpuhub import GPUHubClient, MarketIndex, PriceUnit, analytics
from gpuhub.chain import AnvilNode

pytestmark = [pytest.mark.anvil]


@pytest.fixture
def market(anvil_node: AnvilNode) -> GPUHubClient:
    """Two models from one provider; a rental settled, one ended early and rated, one running."""
    w3 = anvil_node.web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    client.set_fee(100)
    seller = client.with_account(client.accounts[1])
    buyer = client.with_account(client.accounts[2])
    seller.create_listing(gpu_model="H100", capacity=80, price=(2**64 + 7), unit=PriceUnit.MINUTE)
    seller.create_listing(gpu_model="A100", capacity=80, price=10**15, unit=PriceUnit.HOUR)
    seller.create_listing(gpu_model="A100", capacity=80, price=3 * 10**15, unit=PriceUnit.HOUR)
    buyer.rent(0, 30)
    buyer.rent(1, 2)
    client.chain.advance_time(3600)
    client.settle(0)
    buyer.end_rental(1)
    buyer.rate(1, 4)
    buyer.rent(2, 5)
    return client


@pytest.fixture
def cli(anvil_node: AnvilNode, market: GPUHubClient, home: Path) -> Cli:
    """The command line on that marketplace."""
    return Cli(anvil_node.url, home, {"GPUHUB_CONTRACT": market.contract_address})


def test_stats_json_equals_the_analytics(cli: Cli, market: GPUHubClient, tmp_path: Path) -> None:
    """gpuhub stats --json prints the models as analytics.market computes them, wei as strings."""
    answer = cli.json("stats", "--window", "2d")
    with MarketIndex(market, f"sqlite:///{tmp_path / 'i.db'}") as index:
        index.sync()
        expected = analytics.market(index, window="2d").to_records()
    assert answer["models"] == expected
    h100 = next(m for m in answer["models"] if m["model"] == "H100")
    assert h100["volume"] == str(30 * (2**64 + 7))
    assert set(answer["window"]) == {"start", "end"}


def test_stats_prints_a_table_and_draws(cli: Cli, tmp_path: Path) -> None:
    """gpuhub stats prints prices per hour in ETH, and --png writes the chart."""
    chart = tmp_path / "stats.png"
    result = cli("stats", "--model", "A100", "--png", str(chart))
    assert "A100" in result.stdout and "H100" not in result.stdout
    assert "ETH per hour" in result.stdout and "0.001" in result.stdout
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_stats_reads_a_synced_index(cli: Cli, tmp_path: Path) -> None:
    """With --index, gpuhub stats reads that index (after gpuhub index sync) and syncs nothing."""
    url = f"sqlite:///{tmp_path / 'index.db'}"
    cli("index", "sync", "--url", url)
    result = cli("stats", "--index", url, "--json")
    assert "temporary" not in result.stderr
    assert {m["model"] for m in cli.json("stats", "--index", url)["models"]} == {"A100", "H100"}


def test_earnings_by_listing(cli: Cli, market: GPUHubClient) -> None:
    """gpuhub earnings ADDRESS --by listing --json: each ended rental's money, fees taken."""
    seller = market.accounts[1]
    rows = cli.json("earnings", seller, "--by", "listing")["rows"]
    assert [r["listing_id"] for r in rows] == [0, 1]
    h100 = rows[0]
    assert h100["billed"] == str(30 * (2**64 + 7))
    assert int(h100["fees"]) == 30 * (2**64 + 7) * 100 // 10_000
    assert int(h100["earned"]) == int(h100["billed"]) - int(h100["fees"])


def test_report_json_and_png(cli: Cli, market: GPUHubClient, tmp_path: Path) -> None:
    """gpuhub report ADDRESS --png FILE writes the charts; --json has the summary and tables."""
    chart = tmp_path / "report.png"
    seller = market.accounts[1]
    cli("report", seller, "--png", str(chart))
    assert chart.read_bytes().startswith(b"\x89PNG")
    document = cli.json("report", seller)
    assert document["summary"]["listings"] == 3
    assert (document["summary"]["completed"], document["summary"]["active"]) == (2, 1)
    assert [x["listing_id"] for x in document["listings"]] == [0, 1, 2]
    assert document["ratings"][0]["score"] == 4


def test_report_as_renter(cli: Cli, market: GPUHubClient) -> None:
    """gpuhub report ADDRESS --as renter reports the renter's rentals and escrow."""
    buyer = market.accounts[2]
    document = cli.json("report", buyer, "--as", "renter")
    assert document["summary"]["rentals"] == 3
    assert document["summary"]["escrow"] == str(5 * 3 * 10**15)
    text = cli("report", buyer, "--as", "renter").stdout
    assert "renter report" in text and "escrow" in text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["earnings", "0x1234"], "expected a 0x-prefixed address"),
        (["earnings", "0x" + "ab" * 20, "--by", "fortnight"], "--by: expected one of"),
        (["stats", "--window", "forever"], "--window:"),
        (["report", "0x" + "ab" * 20, "--as", "landlord"], "--as: expected provider or renter"),
    ],
)
def test_bad_arguments_are_one_line_and_code_2(cli: Cli, args: list[str], says: str) -> None:
    """A bad address, period, window or role ends in one line naming it, exit code 2."""
    result = cli(*args, code=2)
    assert says in result.stderr


def test_missing_index_says_how_to_build_it(cli: Cli, tmp_path: Path) -> None:
    """An --index file that does not exist names the command that builds it."""
    result = cli("stats", "--index", str(tmp_path / "none.db"), code=1)
    assert "gpuhub index sync" in result.stderr

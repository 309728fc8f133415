"""gpuhub search, gpuhub index sync and gpuhub serve --index against anvil."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from gpuhub import PriceUnit
from gpuhub.chain import AnvilNode, free_port
from gpuhub.cli import app
from gpuhub.client import GPUHubClient

pytestmark = [pytest.mark.anvil, pytest.mark.usefixtures("home")]


@pytest.fixture
def market(anvil_node: AnvilNode) -> GPUHubClient:
    """A marketplace on anvil with two RTX 4090s and an A100."""
    client = GPUHubClient.deploy(anvil_node.web3())
    client.create_listing(gpu_model="RTX 4090", capacity=24, price=10**15, unit=PriceUnit.HOUR)
    client.create_listing(gpu_model="A100", capacity=80, price=10**13, unit=PriceUnit.MINUTE)
    client.create_listing(gpu_model="rtx 4090", capacity=24, price=10**16, unit=PriceUnit.DAY)
    return client


def chain_args(node: AnvilNode, market: GPUHubClient) -> list[str]:
    return ["--rpc", node.url, "--contract", market.contract_address]


def test_search_prints_json(anvil_node: AnvilNode, market: GPUHubClient) -> None:
    """gpuhub search --json prints the page, the total and the normal form of the query."""
    result = CliRunner().invoke(
        app,
        ["search", "model~4090 sort=-price_per_hour", *chain_args(anvil_node, market), "--json"],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert [x["listing_id"] for x in answer["listings"]] == [0, 2]
    assert (answer["total"], answer["query"]) == (2, "model~4090 sort=-price_per_hour")


def test_search_prints_a_table(anvil_node: AnvilNode, market: GPUHubClient) -> None:
    """gpuhub search prints a table titled with the match count."""
    result = CliRunner().invoke(app, ["search", "capacity>=48", *chain_args(anvil_node, market)])
    assert result.exit_code == 0, result.output
    assert "1 listings match" in result.output and "A100" in result.output


def test_bad_query_is_one_error_line(anvil_node: AnvilNode, market: GPUHubClient) -> None:
    """A query that does not parse is one error line naming its position, and exit code 2."""
    out = subprocess.run(
        [sys.executable, "-m", "gpuhub", "search", "modle~4090", *chain_args(anvil_node, market)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "did you mean 'model'" in out.stderr and "position 0" in out.stderr
    assert "Traceback" not in out.stderr


def test_index_sync_then_search_the_index(
    anvil_node: AnvilNode, market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """gpuhub index sync fills an index that gpuhub search --index answers from."""
    url = f"sqlite:///{tmp_path / 'index.db'}"
    synced = CliRunner().invoke(
        app, ["index", "sync", *chain_args(anvil_node, market), "--url", url]
    )
    assert synced.exit_code == 0, synced.output
    assert f"index synced to block {market.block_number()}" in synced.output
    result = CliRunner().invoke(
        app,
        ["search", "model~4090", *chain_args(anvil_node, market), "--index", url, "--json"],
    )
    assert [x["listing_id"] for x in json.loads(result.output)["listings"]] == [0, 2]


def test_index_takes_a_plain_path(
    anvil_node: AnvilNode, market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """A plain file path is a SQLite index, for index sync and for search --index alike."""
    path = str(tmp_path / "plain.db")
    synced = CliRunner().invoke(
        app, ["index", "sync", *chain_args(anvil_node, market), "--url", path, "--json"]
    )
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.stdout) == {"synced_block": market.block_number()}
    result = CliRunner().invoke(
        app, ["search", "capacity>=48", *chain_args(anvil_node, market), "--index", path, "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total"] == 1


def test_search_refuses_an_index_never_synced(
    anvil_node: AnvilNode, market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """Searching a missing index fails (exit 1) naming the sync command, and creates nothing."""
    path = tmp_path / "missing.db"
    result = CliRunner().invoke(
        app, ["search", "model~4090", *chain_args(anvil_node, market), "--index", str(path)]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no synced index at {path}: build it with gpuhub index sync --url {path}\n"
    )
    assert not path.exists()


def test_index_of_another_marketplace_names_the_rebuild_command(
    anvil_node: AnvilNode, market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """An index built for another marketplace is refused with the --rebuild command to fix it,
    which then works."""
    path = str(tmp_path / "index.db")
    CliRunner().invoke(app, ["index", "sync", *chain_args(anvil_node, market), "--url", path])
    other = GPUHubClient.deploy(anvil_node.web3(), governance=anvil_node.web3().eth.accounts[0])
    where = ["--rpc", anvil_node.url, "--contract", other.contract_address, "--url", path]
    refused = CliRunner().invoke(app, ["index", "sync", *where])
    assert refused.exit_code == 1
    assert refused.stderr.endswith(f"start it over with gpuhub index sync --rebuild --url {path}\n")
    assert "MarketIndex" not in refused.stderr
    assert CliRunner().invoke(app, ["index", "sync", *where, "--rebuild"]).exit_code == 0


def test_serve_with_an_index_answers_from_it(
    anvil_node: AnvilNode, market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """gpuhub serve --index syncs, follows and answers searches from the index."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUHUB_")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpuhub",
            "serve",
            *chain_args(anvil_node, market),
            "--port",
            str(port),
            "--index",
            f"sqlite:///{tmp_path / 'index.db'}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/listings"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(url, params={"q": "model~4090"}, timeout=5).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "gpuhub serve did not start"
                time.sleep(0.2)
        assert answer["source"] == "index" and answer["total"] == 2
        market.create_listing(gpu_model="RTX 4090 D", capacity=24, price=10**15)
        while httpx.get(url, params={"q": "model~4090"}, timeout=5).json()["total"] != 3:
            assert time.monotonic() < deadline, "the index did not follow the chain"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)


def test_index_follow_prints_each_synced_block(
    anvil_node: AnvilNode, market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """gpuhub index follow --json prints a line of JSON each time the index reaches a new block."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUHUB_")}
    where = [*chain_args(anvil_node, market), "--url", str(tmp_path / "i.db"), "--json"]
    follower = subprocess.Popen(
        [sys.executable, "-m", "gpuhub", "index", "follow", *where, "--interval", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())
        assert first == {"synced_block": market.block_number()}
        market.create_listing(gpu_model="L4", capacity=24, price=1)
        assert json.loads(follower.stdout.readline()) == {"synced_block": market.block_number()}
    finally:
        follower.terminate()
        follower.wait(10)


def test_serve_catches_up_in_a_process_of_its_own(
    anvil_node: AnvilNode,
    market: GPUHubClient,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a large market (here: from one listing) the server's first sync runs in a child
    process, which takes the catch-up's memory with it; the index it leaves is complete, and the
    server's own sync finds nothing left to apply."""
    from web3 import HTTPProvider, Web3

    from gpuhub.cli import serve
    from gpuhub.cli.search import open_index

    monkeypatch.setattr(serve, "CATCH_UP_APART", 1)
    client = GPUHubClient(Web3(HTTPProvider(anvil_node.url)), market.contract_address)
    where = f"sqlite:///{tmp_path / 'index.db'}"
    assert serve.catch_up_apart(client, where)
    with open_index(client, where, synced=True) as index:
        synced = index.synced_block
        assert index.listing_count() == market.listing_count() == 3
        assert synced == market.block_number()
        assert index.sync() == synced  # nothing new to apply


def test_serve_syncs_a_small_market_itself(
    anvil_node: AnvilNode, market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """Below CATCH_UP_APART listings, or on an embedded chain, no child is started."""
    from gpuhub.cli import serve

    where = f"sqlite:///{tmp_path / 'index.db'}"
    assert not serve.catch_up_apart(market, where)
    assert not serve.catch_up_apart(GPUHubClient.local(), where)

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

pytestmark = pytest.mark.anvil


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
    """A query that does not parse is one error line naming its position, and exit code 1."""
    out = subprocess.run(
        [sys.executable, "-m", "gpuhub", "search", "modle~4090", *chain_args(anvil_node, market)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
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

"""End to end: a real uvicorn on 127.0.0.1 over an anvil node, and concurrent writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from gpuhub import GPUHubClient
from gpuhub.api import create_app
from gpuhub.chain import AnvilNode, free_port

from .conftest import API_KEY, AUTH

pytestmark = pytest.mark.anvil


class Server:
    """uvicorn serving an app in a background thread."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def served(anvil_node: AnvilNode) -> Iterator[tuple[str, GPUHubClient]]:
    """The API for a fresh marketplace on anvil, served by uvicorn on a free port."""
    market = GPUHubClient.deploy(anvil_node.web3())
    with Server(create_app(market, api_key=API_KEY)) as server:
        yield server.url, market


def test_end_to_end(served: tuple[str, GPUHubClient]) -> None:
    """Add, read, filter and count listings over real HTTP against a real node."""
    url, market = served
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/health").json()["chain_id"] == 31337
        added = http.post(
            "/addgpu", json={"gpuModel": "L40S", "capacity": 48, "price": 9}, headers=AUTH
        )
        assert added.json()["listingID"] == 0
        assert http.post("/getgpudetailsbyid", json={"listingID": 0}).json()["gpuModel"] == "L40S"
        assert (
            len(http.request("GET", "/getgpulist", json={"maxPrice": 10, "minCapacity": 40}).json())
            == 1
        )
        assert http.get("/getlistingcount").json() == 1
        assert http.post("/getgpudetailsbyid", json={"listingID": 1}).status_code == 404
    assert market.get_listing(0).gpu_model == "L40S"


def test_fifty_concurrent_addgpu(served: tuple[str, GPUHubClient]) -> None:
    """50 concurrent POST /addgpu give 50 listings with distinct ids and no errors."""
    url, market = served

    def add(i: int) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60) as http:
            return http.post(
                "/addgpu",
                json={"gpuModel": f"GPU {i}", "capacity": 8, "price": 1 + i},
                headers=AUTH,
            )

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(add, range(50)))
    assert [a.status_code for a in answers] == [200] * 50
    assert sorted(a.json()["listingID"] for a in answers) == list(range(50))
    assert market.listing_count() == 50


def test_node_down_answers_503(anvil_node: AnvilNode) -> None:
    """When the node stops answering, reads answer 503 with ConnectionFailed, not 500."""
    with AnvilNode() as node:
        market = GPUHubClient.deploy(node.web3())
        app = create_app(market, api_key=API_KEY)
    with Server(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        answer = http.get("/getlistingcount")
        assert answer.status_code == 503
        assert answer.json()["error"] == "ConnectionFailed"


def test_event_stream_reports_a_lost_node() -> None:
    """When the node goes away mid-stream, /events ends with an error event, not a broken stream."""
    node = AnvilNode().start()
    market = GPUHubClient.deploy(node.web3())
    market.create_listing(gpu_model="T4", capacity=16, price=1)
    app = create_app(market, api_key=API_KEY, event_poll_interval=0.05)
    seen: list[str] = []
    with (
        Server(app) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
        http.stream("GET", "/events", params={"from_block": 0}) as stream,
    ):
        lines = stream.iter_lines()
        for line in lines:
            seen.append(line)
            if line == "event: ListingCreated":
                node.stop()
            if line.startswith("event: error"):
                seen.append(next(lines))
                break
    node.stop()
    assert "event: ListingCreated" in seen
    assert seen[-2] == "event: error" and '"error": "ConnectionFailed"' in seen[-1]

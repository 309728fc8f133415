"""Shared fixtures: real chains only (the embedded eth-tester chain and an anvil node)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode, embedded_web3, find_anvil, free_port


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    """One anvil node on 127.0.0.1 for the whole session (a fresh node each run)."""
    find_anvil()  # fails with an actionable message when `npm ci` was not run
    with AnvilNode(accounts=20) as node:
        yield node


@pytest.fixture(params=["embedded", "anvil"])
def chain_name(request: pytest.FixtureRequest) -> str:
    """The chain a test runs on; integration tests run on both."""
    name: str = request.param
    if name == "anvil":
        request.applymarker(pytest.mark.anvil)
    return name


@pytest.fixture
def client(chain_name: str, request: pytest.FixtureRequest) -> GPUHubClient:
    """A client for a freshly deployed marketplace, sending as the chain's first account."""
    if chain_name == "anvil":
        node: AnvilNode = request.getfixturevalue("anvil_node")
        w3 = node.web3()
    else:
        w3 = embedded_web3()
    return GPUHubClient.deploy(w3, account=w3.eth.accounts[0])


@pytest.fixture
def stranger(client: GPUHubClient) -> GPUHubClient:
    """The same marketplace, sending as an account that owns nothing."""
    return client.with_account(client.accounts[9])


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers from a script, then 204, and records all."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        #: answers to give, in order: an HTTP status, or a float = seconds to stall first
        self.script: list[int | float] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                answer = receiver.script.pop(0) if receiver.script else 204
                if isinstance(answer, float):
                    time.sleep(answer)
                    answer = 204
                self.send_response(answer)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self) -> list[str]:
        return [h["webhook-id"] for h, _ in self.received]

    def payloads(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running webhook receiver on 127.0.0.1 (stop and start it to simulate an outage)."""
    r = Receiver().start()
    yield r
    r.stop()

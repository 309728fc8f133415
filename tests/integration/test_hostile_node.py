"""A node (or a proxy before it) that answers malformed JSON-RPC: typed errors, never raw ones.

``HostileNode`` is a real HTTP server on 127.0.0.1 in front of anvil. It forwards every request,
and answers the requests for one method with a chosen malformation instead.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3

import gpuhub
from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode

pytestmark = pytest.mark.anvil


def _malformed(mode: str, entry: dict[str, Any]) -> Any:
    """The answer ``mode`` gives to one request, as JSON-ready data."""
    head = {"jsonrpc": "2.0", "id": entry.get("id")}
    return {
        "null": {**head, "result": None},
        "not hex": {**head, "result": "0xzz"},
        "a number": {**head, "result": 12},
        "no result": head,
        "no id": {"jsonrpc": "2.0", "id": None, "result": "0x1"},
        "an error string": {**head, "error": "boom"},
        "a list": [{**head, "result": "0x1"}],
    }[mode]


#: modes whose answer is not JSON data at all: (HTTP status, body).
RAW = {
    "truncated": None,
    "not JSON": (200, b"this is not json"),
    "an HTML page": (200, b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "nested 200,000 deep": (200, b"[" * 200_000),
    "invalid UTF-8": (200, b'{"jsonrpc": "2.0", "id": 1, "result": "\xff\xfe"}'),
}


class HostileNode:
    """Forwards JSON-RPC to ``upstream``, but answers ``method`` as ``mode`` says."""

    def __init__(self, upstream: str) -> None:
        self.method: str | None = None
        self.mode = ""
        node = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                entries = payload if isinstance(payload, list) else [payload]
                request = urllib.request.Request(
                    upstream, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=30) as answer:
                    reply = answer.read()
                status = 200
                if any(e.get("method") == node.method for e in entries):
                    status, reply = node.corrupt(payload, reply)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def corrupt(self, payload: Any, reply: bytes) -> tuple[int, bytes]:
        if self.mode == "truncated":
            return 200, reply[: len(reply) // 2]
        if self.mode == "HTTP 502":
            return 502, b"<html><body>502 Bad Gateway</body></html>"
        if self.mode in RAW:
            return RAW[self.mode]  # type: ignore[return-value]
        if self.mode == "batch ids":  # every answer of a batch under one id
            answers = json.loads(reply)
            return 200, json.dumps([{**a, "id": 1} for a in answers]).encode()
        if isinstance(payload, list):
            return 200, json.dumps([_malformed(self.mode, e) for e in payload]).encode()
        return 200, json.dumps(_malformed(self.mode, payload)).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def market_address(anvil_node: AnvilNode) -> str:
    """A marketplace on anvil with one listing."""
    market = GPUHubClient.deploy(anvil_node.web3())
    market.create_listing(gpu_model="T4", capacity=16, price=10**9)
    return market.contract_address


@pytest.fixture
def hostile(anvil_node: AnvilNode) -> Iterator[HostileNode]:
    """A hostile proxy in front of the session's anvil, forwarding everything until told."""
    node = HostileNode(anvil_node.url)
    yield node
    node.close()


@pytest.fixture
def via_hostile(hostile: HostileNode, market_address: str) -> GPUHubClient:
    """A read-only client of the market, connected through the hostile proxy."""
    return GPUHubClient(Web3(HTTPProvider(hostile.url)), market_address)


MODES = [
    "null",
    "not hex",
    "a number",
    "no result",
    "no id",
    "a list",
    "truncated",
    "not JSON",
    "an HTML page",
    "nested 200,000 deep",
    "invalid UTF-8",
]
READS: dict[str, Callable[[GPUHubClient], Any]] = {
    "eth_blockNumber": lambda c: c.block_number(),
    "eth_call": lambda c: c.get_listing(0),
    "eth_getLogs": lambda c: c.get_events(0),
    "eth_getBlockByNumber": lambda c: gpuhub.Watch(
        c._ops, c._run, from_block=0, retry_outages=False
    ).read_new(),
}


@pytest.mark.parametrize(
    ("method", "mode"),
    [
        (method, mode)
        for method in sorted(READS)
        for mode in MODES
        if (method, mode) != ("eth_getBlockByNumber", "null")  # null: no such block, rightly
    ],
)
def test_malformed_answer_to_a_read_is_typed(
    hostile: HostileNode, via_hostile: GPUHubClient, method: str, mode: str
) -> None:
    """A read answered with a malformed JSON-RPC answer raises MalformedResponse, which says
    what came instead."""
    hostile.method, hostile.mode = method, mode
    with pytest.raises(gpuhub.MalformedResponse) as exc:
        READS[method](via_hostile)
    assert isinstance(exc.value, gpuhub.ConnectionFailed)
    assert "the node" in str(exc.value)


def test_error_that_is_no_error_object_is_typed(
    hostile: HostileNode, via_hostile: GPUHubClient
) -> None:
    """An "error" member that is a string, not an error object, raises MalformedResponse."""
    hostile.method, hostile.mode = "eth_call", "an error string"
    with pytest.raises(gpuhub.MalformedResponse):
        via_hostile.get_listing(0)


def test_http_error_status_is_connection_failed(
    hostile: HostileNode, via_hostile: GPUHubClient
) -> None:
    """An HTML error page with HTTP status 502 raises ConnectionFailed naming the status."""
    hostile.method, hostile.mode = "eth_call", "HTTP 502"
    with pytest.raises(gpuhub.ConnectionFailed) as exc:
        via_hostile.get_listing(0)
    assert "HTTP 502" in str(exc.value)


def test_batch_answers_under_one_id_are_typed(
    anvil_node: AnvilNode, hostile: HostileNode, market_address: str
) -> None:
    """A batch whose answers do not carry one id per request raises MalformedResponse, and the
    write it was preparing sends nothing."""
    account = Account.create()
    anvil_node.web3().provider.make_request(  # type: ignore[attr-defined]
        "anvil_setBalance", [account.address, hex(10**20)]
    )
    client = GPUHubClient(Web3(HTTPProvider(hostile.url)), market_address, account=account)
    hostile.method, hostile.mode = "eth_gasPrice", "batch ids"  # the fee quote is a batch
    with pytest.raises(gpuhub.MalformedResponse):
        client.create_listing(gpu_model="T4", capacity=16, price=1)
    assert anvil_node.web3().eth.get_transaction_count(account.address) == 0


@pytest.mark.parametrize(
    "mode", ["null", "not hex", "truncated", "an HTML page", "an error string"]
)
def test_malformed_answer_to_a_send_is_outcome_unknown(
    anvil_node: AnvilNode, hostile: HostileNode, market_address: str, mode: str
) -> None:
    """A send answered with something malformed raises TransactionOutcomeUnknown carrying the
    hash, since the node may have taken it (here it did)."""
    account = Account.create()
    w3 = anvil_node.web3()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[attr-defined]
    client = GPUHubClient(Web3(HTTPProvider(hostile.url)), market_address, account=account)
    hostile.method, hostile.mode = "eth_sendRawTransactionSync", mode
    with pytest.raises(gpuhub.TransactionOutcomeUnknown) as exc:
        client.create_listing(gpu_model="T4", capacity=16, price=1)
    assert exc.value.tx_hash is not None
    assert w3.eth.get_transaction_receipt(exc.value.tx_hash)["status"] == 1  # type: ignore[arg-type]


def test_deep_answer_does_not_crash_the_process(hostile: HostileNode, market_address: str) -> None:
    """An answer nested 200,000 deep raises MalformedResponse in a process that lives on (the C
    JSON parser would overflow the C stack: web3's imports raise the recursion limit)."""
    hostile.method, hostile.mode = "eth_blockNumber", "nested 200,000 deep"
    script = f"""
import gpuhub
from web3 import HTTPProvider, Web3
client = gpuhub.GPUHubClient(Web3(HTTPProvider({hostile.url!r})), {market_address!r})
try:
    client.block_number()
except gpuhub.MalformedResponse as err:
    print("typed:", err)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"typed: the node's answer nests deeper than 64 levels" in done.stdout


def test_api_answers_502_for_a_malformed_node(
    hostile: HostileNode, via_hostile: GPUHubClient
) -> None:
    """The HTTP API answers a node's malformed answers with a 502 naming MalformedResponse."""
    import warnings

    from gpuhub.api import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    http = TestClient(create_app(via_hostile), raise_server_exceptions=False)
    for method, mode in [("eth_call", "null"), ("eth_blockNumber", "an HTML page")]:
        hostile.method, hostile.mode = method, mode
        for path in ("/health", "/v1/listings/0"):
            if method == "eth_blockNumber" and path != "/health":
                continue
            answer = http.get(path)
            assert answer.status_code == 502, (method, mode, path, answer.text)
            assert answer.json()["error"] == "MalformedResponse"


def test_deep_answer_over_a_websocket_does_not_crash_the_process() -> None:
    """The same answer over a WebSocket (web3 parses those messages itself) is measured first:
    a typed error in a process that lives on, where it was a segmentation fault."""
    script = """
import asyncio, threading
from websockets.sync.server import serve
from web3 import AsyncWeb3, WebSocketProvider
import gpuhub
from gpuhub.aio import AsyncGPUHubClient

def answer(socket):
    for _ in socket:
        socket.send("[" * 200_000)

server = serve(answer, "127.0.0.1", 0)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}"

async def main():
    w3 = AsyncWeb3(WebSocketProvider(url))
    await w3.provider.connect()
    client = AsyncGPUHubClient(w3, "0x" + "11" * 20)
    try:
        await asyncio.wait_for(client.block_number(), 30)
    except gpuhub.GPUHubError as err:
        print("typed:", type(err).__name__, err)
    finally:
        try:
            await w3.provider.disconnect()
        except gpuhub.MalformedResponse:  # web3 raises its reader's error again here
            pass

asyncio.run(main())
server.shutdown()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr.decode()[-2000:])
    assert b"typed: MalformedResponse the node's answer nests deeper than 64" in done.stdout, (
        done.stdout.decode()[-2000:],
        done.stderr.decode()[-2000:],
    )

"""Hostile requests: each once crashed the server or answered 500; now each gets a clear answer."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.api import create_app
from gpuhub.api._limits import json_depth
from gpuhub.chain import AnvilNode, free_port

from .conftest import API_KEY, AUTH, TestClient
from .test_e2e import Server


@pytest.fixture(scope="module")
def serve_process() -> Iterator[str]:
    """`gpuhub serve` in its own process on the embedded chain, as a user starts it."""
    port = free_port()
    env = {**os.environ, "GPUHUB_API_KEY": API_KEY}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpuhub",
            "serve",
            "--port",
            str(port),
            "--max-body-bytes",
            "1000000",
            # The attacks here come from one address; the rate limit would stop them before
            # the defenses these tests are about.
            "--rate-limit",
            "none",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("gpuhub serve did not start")
        time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.mark.parametrize("depth", [100_000, 40])
def test_deep_json_is_refused_and_the_server_lives(serve_process: str, depth: int) -> None:
    """A JSON body nested 100,000 deep gets a 422 and the server process keeps serving."""
    body = "[" * depth + "]" * depth
    answer = httpx.post(
        f"{serve_process}/getgpulist",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 422
    assert "nests deeper than 32 levels" in answer.json()["message"]
    assert httpx.get(f"{serve_process}/health", timeout=10).status_code == 200


def test_large_body_is_413(serve_process: str) -> None:
    """A 40 MB body to an open route is refused with 413 (over the 1 MB limit set at start)."""
    answer = httpx.post(
        f"{serve_process}/getgpulist",
        content=b"{" + b" " * 40_000_000 + b"}",
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "PayloadTooLarge"


def test_body_limit_is_configurable(market: GPUHubClient) -> None:
    """create_app(max_body_bytes=...) sets the limit, for streamed bodies too."""
    http = TestClient(create_app(market, api_key=API_KEY, max_body_bytes=100))
    assert http.post("/getgpulist", content=b"{}" + b" " * 200).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"maxPrice": '
        yield b" " * 200 + b"1}"

    assert http.post("/getgpulist", content=chunks()).status_code == 413
    assert http.post("/getgpulist", json={"maxPrice": 1}).status_code == 200


def _post_raw(url: str, path: str, body: bytes) -> socket.socket:
    """Send one whole HTTP request on a fresh socket and return the socket, unread."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def _status(sock: socket.socket) -> int:
    """The status code of the answer on ``sock`` (read to the end, then closed)."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    return int(answer.split(b" ", 2)[1])


def test_unclosed_escaped_string_does_not_hold_the_server(serve_process: str) -> None:
    """While 63 KiB bodies holding an unclosed string of escaped quotes queue up, /health answers
    before the last of them is answered, and each of them gets a 422."""
    hostile = b'{"maxPrice": "' + b'\\"' * (63 * 512)  # 63 KiB, never closed
    attackers = [_post_raw(serve_process, "/getgpulist", hostile) for _ in range(100)]
    health = httpx.get(f"{serve_process}/health", timeout=30)
    waiting, _, _ = select.select(attackers, [], [], 0)
    assert health.status_code == 200
    assert len(waiting) < len(attackers), "every hostile request was answered before /health"
    assert [_status(sock) for sock in attackers] == [422] * len(attackers)


def test_json_depth_ignores_brackets_in_strings() -> None:
    """Brackets inside JSON strings (escaped quotes too) do not count as nesting."""
    assert json_depth(b'{"a": "[[[[[[\\"]]]", "b": [1, [2]]}') == 3
    assert json_depth(b"[[[]]]") == 3
    assert json_depth(b"12") == 0


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b'{"a": "' + b'\\"' * 1000 + b"[[[", 1),  # the rest is inside the unclosed string
        (b'["\\\\", [[]]]', 3),  # an escaped backslash ends before the closing quote
        (b'["\\\\\\"]]"]', 1),  # backslash, then an escaped quote: still in the string
        (b"[" * 1000, 33),  # stops counting past the limit
    ],
)
def test_json_depth_tracks_strings_and_escapes(body: bytes, depth: int) -> None:
    """The depth pass follows strings and escapes to the end of the body, valid JSON or not."""
    assert json_depth(body, limit=32) == depth


@pytest.fixture
def funded_market(market: GPUHubClient) -> GPUHubClient:
    """The embedded market with one HOUR listing by another account."""
    other = market.with_account(market.accounts[1])
    other.create_listing(gpu_model="A100", capacity=80, price=10**12, unit=PriceUnit.HOUR)
    return market


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/v1/rentals", {"listing_id": 0, "duration": 2**255}, 422),
        ("post", "/v1/rentals", {"listing_id": 0, "duration": 1, "max_total": str(10**40)}, 409),
        ("post", "/v1/listings", '{"gpu_model": "\\ud800", "capacity": 1, "price": "1"}', 422),
        ("post", "/addgpu", '{"gpuModel": "A\\udfff", "capacity": 1, "price": 1}', 422),
        ("post", "/getgpudetailsbyid", {"listingID": 2**256 - 1}, 404),
        ("get", "/v1/listings/0/quote?duration=16777216", None, 422),
    ],
)
def test_hostile_values_are_4xx(
    funded_market: GPUHubClient, method: str, path: str, body: Any, status: int
) -> None:
    """Huge integers, lone surrogates and amounts past the server's balance get a clear 4xx."""
    http = TestClient(create_app(funded_market, api_key=API_KEY), raise_server_exceptions=False)
    sent = {} if body is None else {"content": body} if isinstance(body, str) else {"json": body}
    answer = getattr(http, method)(
        path, headers={**AUTH, "Content-Type": "application/json"}, **sent
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]


def test_extend_by_2_255(funded_market: GPUHubClient) -> None:
    """Extending a rental by 2^255 units is a 422 naming the field."""
    http = TestClient(create_app(funded_market, api_key=API_KEY), raise_server_exceptions=False)
    assert http.post("/v1/rentals", json={"listing_id": 0, "duration": 1}, headers=AUTH).is_success
    answer = http.post("/v1/rentals/0/extend", json={"extra": 2**255}, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["fields"]["field"] == "extra"


@pytest.mark.anvil
def test_node_restarted_with_fresh_state(anvil_node: AnvilNode) -> None:
    """After the node forgets the contract, /health and reads answer 503, and say why."""
    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
    with (
        Server(create_app(market, api_key=API_KEY)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        assert http.get("/health").status_code == 200
        w3.provider.make_request("anvil_reset", [])  # type: ignore[arg-type]
        for path in ("/health", "/v1/listings", "/v1/listings/0", "/getlistingcount"):
            answer = http.get(path)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["error"] == "ContractNotDeployed"
            assert "restarted" in answer.json()["message"]


@pytest.mark.anvil
def test_server_account_out_of_eth(anvil_node: AnvilNode) -> None:
    """A server whose account cannot pay gas answers 409 InsufficientFunds, not 500."""
    from eth_account import Account

    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
    poor = market.with_account(Account.create())
    http = TestClient(create_app(poor, api_key=API_KEY), raise_server_exceptions=False)
    answer = http.post(
        "/v1/listings", json={"gpu_model": "T4", "capacity": 16, "price": "1"}, headers=AUTH
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == "InsufficientFunds"


def _get_raw(url: str, path: str, headers: bytes) -> tuple[int, dict[str, Any]]:
    """GET ``path`` with ``headers`` sent as raw bytes; the status and the JSON answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n".encode()
            + headers
            + b"\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


@pytest.mark.parametrize(
    "last_event_id",
    [b"\xb9-1", b"1-\xb2", b"\xb3\xb3-0", b"\xd9\xa3-1", b"9" * 30 + b"-0", b"1-2-3", b"-1"],
)
def test_last_event_id_of_other_digits_is_422(market: GPUHubClient, last_event_id: bytes) -> None:
    """A Last-Event-ID of superscript digits (sent as raw header bytes), of another script's
    digits or past any block is a 422 naming the header, from a real server."""
    with Server(create_app(market, api_key=API_KEY)) as server:
        status, answer = _get_raw(
            server.url, "/events?max_events=1", b"Last-Event-ID: " + last_event_id + b"\r\n"
        )
    assert status == 422, answer
    assert answer["fields"]["field"] == "Last-Event-ID"

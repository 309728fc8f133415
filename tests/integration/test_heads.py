"""Heads: new blocks from a newHeads subscription where the node has one, else from polls."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode, free_port
from gpuhub.heads import Heads, ws_url_for


def announced(heads: Heads, client: GPUHubClient) -> int:
    """The block number ``heads`` announces after ``client`` writes once."""
    seen: list[int] = []
    arrived = threading.Event()

    def note(number: int) -> None:
        seen.append(number)
        arrived.set()

    heads.subscribe(note)
    deadline = threading.Event()
    while heads.latest is None and not deadline.wait(0.05):
        pass
    seen.clear()
    arrived.clear()
    client.create_listing(gpu_model="RTX 4090", capacity=24, price=10**15)
    assert arrived.wait(10), "no block announced"
    return seen[-1]


@pytest.fixture
def anvil(anvil_node: AnvilNode) -> GPUHubClient:
    """A fresh marketplace on the session's anvil."""
    return GPUHubClient.deploy(anvil_node.web3())


@pytest.fixture
def subscribed(anvil: GPUHubClient, anvil_node: AnvilNode) -> Iterator[Heads]:
    """Heads over anvil's own WebSocket (the RPC port), polling an hour apart."""
    heads = Heads(anvil, ws_url=ws_url_for(anvil_node.url), interval=3600).start()
    yield heads
    heads.stop()


def test_new_heads_come_from_the_subscription(subscribed: Heads, anvil: GPUHubClient) -> None:
    """Over anvil's WebSocket a new block is announced at once, by the subscription (the polls
    are an hour apart)."""
    number = announced(subscribed, anvil)
    assert (number, subscribed.mode) == (anvil.block_number(), "subscription")


def test_a_node_without_websocket_is_polled(anvil: GPUHubClient) -> None:
    """Where nothing answers the WebSocket, Heads falls back to polls and still announces."""
    heads = Heads(anvil, ws_url=f"ws://127.0.0.1:{free_port()}", interval=0.05).start()
    try:
        assert announced(heads, anvil) == anvil.block_number()
        assert heads.mode == "polling"
    finally:
        heads.stop()


def test_a_websocket_that_talks_nonsense_is_polled(anvil: GPUHubClient) -> None:
    """A WebSocket endpoint that answers with something other than JSON-RPC is given up for
    polls, and the error is noted."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def answer_garbage() -> None:
        connection, _ = listener.accept()
        connection.recv(4096)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno")
        connection.close()

    threading.Thread(target=answer_garbage, daemon=True).start()
    heads = Heads(anvil, ws_url=f"ws://127.0.0.1:{port}", interval=0.05).start()
    try:
        assert announced(heads, anvil) == anvil.block_number()
        assert heads.mode == "polling" and heads.last_error is not None
    finally:
        heads.stop()
        listener.close()


def test_ws_url_is_the_rpc_url_as_websocket() -> None:
    """http(s) node URLs map to ws(s) on the same host, port and path; others to None."""
    assert ws_url_for("http://127.0.0.1:8545") == "ws://127.0.0.1:8545"
    assert ws_url_for("https://node.example/v3/key") == "wss://node.example/v3/key"
    assert ws_url_for("ipc:///tmp/geth.ipc") is None

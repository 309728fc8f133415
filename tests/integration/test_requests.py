"""The request budget of a write, counted on the wire through a proxy in front of a real anvil."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests.sessions
from eth_account import Account
from web3 import HTTPProvider, Web3

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.chain import AnvilNode

pytestmark = pytest.mark.anvil

#: JSON-RPC requests one write may make once the client is warm (chain id, nonce, fees known).
AUTOMINE_BUDGET = 4
INTERVAL_BUDGET = 6


class CountingProxy:
    """An HTTP proxy that forwards JSON-RPC to ``upstream`` and counts every request by method
    (each entry of a batch counts as one)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.methods: Counter[str] = Counter()
        #: HTTP round trips, and eth_call requests by 4-byte selector (0x-prefixed hex).
        self.round_trips = 0
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                proxy.record(json.loads(body))
                request = urllib.request.Request(
                    proxy.upstream, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request) as answer:
                    data = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def record(self, payload: Any) -> None:
        with self._lock:
            self.round_trips += 1
            for entry in payload if isinstance(payload, list) else [payload]:
                self.methods[entry["method"]] += 1
                if entry["method"] == "eth_call":
                    self.calls[entry["params"][0]["data"][:10]] += 1

    def take(self) -> Counter[str]:
        """The requests counted since the last call, by method."""
        with self._lock:
            counted, self.methods = self.methods, Counter()
            self.round_trips, self.calls = 0, Counter()
        return counted

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def fund(node_url: str) -> Any:
    """A fresh local key holding 100 ETH."""
    direct = Web3(HTTPProvider(node_url))
    key = Account.create()
    tx = {"from": direct.eth.accounts[0], "to": key.address, "value": 10**20}
    direct.eth.wait_for_transaction_receipt(direct.eth.send_transaction(tx))
    return key


def funded_key_client(node_url: str, proxy_url: str) -> GPUHubClient:
    """A marketplace deployed straight on the node; a client reaching it through the proxy and
    signing with a fresh local key."""
    market = GPUHubClient.deploy(Web3(HTTPProvider(node_url)))
    key = fund(node_url)
    return GPUHubClient(Web3(HTTPProvider(proxy_url)), market.contract_address, account=key)


def writes(client: GPUHubClient, renter: GPUHubClient, new: int) -> dict[str, Any]:
    """One of each write, in an order where each can succeed (``new``: the id the first makes)."""
    terms = dict(gpu_model="H100", capacity=80, price=10**12, unit=PriceUnit.HOUR, max_duration=9)
    return {
        "create_listing": lambda: client.create_listing(**terms),
        "update_listing": lambda: client.update_listing(new, price=2 * 10**12),
        "fulfill_request": lambda: client.fulfill_request(new),
        "mark_available": lambda: client.mark_available(new),
        "remove_listing": lambda: client.remove_listing(new),
        "rent": lambda: renter.rent(0, 2),
        "extend_rental": lambda: renter.extend_rental(0, 1),
        "end_rental": lambda: renter.end_rental(0),
        "withdraw": lambda: renter.withdraw(),
    }


def measure(client: GPUHubClient, proxy: CountingProxy) -> dict[str, Counter[str]]:
    """Requests made by each write once the client is warm: chain id, nonce and fees read, and
    how the chain mines learned from the first writes."""
    renter = client.with_account(fund(proxy.upstream))
    warm = dict(gpu_model="L4", capacity=24, price=10**12, unit=PriceUnit.HOUR)
    for _ in range(3):
        client.create_listing(**warm)
    new = client.listing_count()
    proxy.take()
    counted = {}
    for name, write in writes(client, renter, new).items():
        write()
        counted[name] = proxy.take()
    return counted


def test_automine_write_budget() -> None:
    """On automine each write makes at most four JSON-RPC requests, none of them eth_chainId."""
    with AnvilNode() as node:  # fresh: a node thousands of blocks old mines more slowly
        proxy = CountingProxy(node.url)
        try:
            client = funded_key_client(node.url, proxy.url)
            counted = measure(client, proxy)
        finally:
            proxy.close()
    over = {name: dict(c) for name, c in counted.items() if c.total() > AUTOMINE_BUDGET}
    # The renter's first write reads its nonce once; every other write is within budget.
    over.pop("rent", None)
    assert over == {}
    assert counted["rent"].total() <= AUTOMINE_BUDGET + 1
    assert all(c["eth_chainId"] == 0 for c in counted.values())


def test_interval_mining_write_budget() -> None:
    """With a block every second each write makes at most six JSON-RPC requests."""
    with AnvilNode(extra_args=("--block-time", "1")) as node:
        proxy = CountingProxy(node.url)
        try:
            client = funded_key_client(node.url, proxy.url)
            counted = measure(client, proxy)
        finally:
            proxy.close()
    over = {name: dict(c) for name, c in counted.items() if c.total() > INTERVAL_BUDGET}
    over.pop("rent", None)
    assert over == {}
    assert counted["rent"].total() <= INTERVAL_BUDGET + 1
    assert all(c["eth_chainId"] == 0 for c in counted.values())


def test_environment_read_once_not_per_request(
    anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fifty reads through a web3 HTTPProvider never make requests look up proxies or netrc."""
    client = GPUHubClient.deploy(anvil_node.web3())
    reader = GPUHubClient(Web3(HTTPProvider(anvil_node.url)), client.contract_address)
    looked_up: Counter[str] = Counter()
    for name in ("get_environ_proxies", "get_netrc_auth"):
        real = getattr(requests.sessions, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            looked_up[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(requests.sessions, name, counted)
    for _ in range(50):
        reader.listing_count()
    assert looked_up == Counter()


def test_environment_proxy_still_used(
    anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy named in the environment when the client is built carries its requests."""
    proxy = CountingProxy(anvil_node.url)
    try:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        address = GPUHubClient.deploy(anvil_node.web3()).contract_address
        proxy.take()
        reader = GPUHubClient(Web3(HTTPProvider(anvil_node.url)), address)
        reader.listing_count()
        counted = proxy.take()
    finally:
        proxy.close()
    assert counted["eth_call"] >= 1


def test_search_reads_only_the_page_reputations_in_one_round_trip(anvil_node: AnvilNode) -> None:
    """client.search asks for the reputations of the page's providers only, all in one batch."""
    from gpuhub._abi import marketplace

    proxy = CountingProxy(anvil_node.url)
    try:
        w3 = Web3(HTTPProvider(proxy.url))
        providers = w3.eth.accounts[:4]
        market = GPUHubClient.deploy(w3, governance=providers[0])
        for i, who in enumerate(providers):
            market.with_account(who).create_listing(gpu_model=f"A{i}", capacity=8, price=10**12)
        proxy.take()
        result = market.search("sort=id limit=2")
        selector = "0x" + marketplace().functions["reputation"].selector.hex()
        reputation_reads, round_trips = proxy.calls[selector], proxy.round_trips
    finally:
        proxy.close()
    assert [listing.provider for listing in result.listings] == providers[:2]
    assert set(result.reputations) == set(providers[:2])
    assert reputation_reads == 2
    # block number, count, one page of listings, one batch of reputations
    assert round_trips == 4

"""Receipts awaited over a WebSocket: the async client wakes on each new head, never sleep-polls."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from eth_account import Account
from web3 import AsyncWeb3, HTTPProvider, Web3, WebSocketProvider

from gpuhub import GPUHubClient, Listing, PriceUnit
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode

pytestmark = pytest.mark.anvil

TERMS: dict[str, Any] = dict(gpu_model="H100", capacity=80, price=10**12, unit=PriceUnit.HOUR)


class CountingWebSocketProvider(WebSocketProvider):
    """A WebSocketProvider that counts the requests it makes, by method."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.methods: Counter[str] = Counter()

    async def make_request(self, method: Any, params: Any) -> Any:
        self.methods[str(method)] += 1
        return await super().make_request(method, params)


@pytest.fixture(scope="module")
def interval_node() -> Any:
    """A fresh anvil mining a block every second, with a marketplace and a funded local key."""
    with AnvilNode(extra_args=("--block-time", "1")) as node:
        w3 = Web3(HTTPProvider(node.url))
        market = GPUHubClient.deploy(w3, governance=w3.eth.accounts[0])  # no governor: fewer blocks
        key = Account.create()
        tx = {"from": w3.eth.accounts[0], "to": key.address, "value": 10**20}
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(tx), poll_latency=0.05)
        yield node, market.contract_address, key


def test_ws_write_lands_with_one_receipt_request(interval_node: Any) -> None:
    """With a block a second over ws://, a write asks for its receipt once, after the next head."""
    node, address, key = interval_node

    async def main() -> tuple[list[Listing], list[int]]:
        provider = CountingWebSocketProvider(node.url.replace("http://", "ws://"))
        async with AsyncWeb3(provider) as w3:
            client = AsyncGPUHubClient(w3, address, account=key)
            for _ in range(2):  # warm: nonce, fees and the chain's block time learned
                await client.create_listing(**TERMS)
            made, receipts = [], []
            for i in range(3):
                provider.methods.clear()
                made.append(await client.create_listing(**{**TERMS, "capacity": 40 + i}))
                receipts.append(provider.methods["eth_getTransactionReceipt"])
            return made, receipts  # type: ignore[return-value]

    made, receipts = asyncio.run(main())
    assert [listing.capacity for listing in made] == [40, 41, 42]
    assert (
        GPUHubClient(Web3(HTTPProvider(node.url)), address)
        .get_listing(made[-1].listing_id)
        .capacity
        == 42
    )
    # One request when the next block holds the write (timed polls make two), two when it
    # came too late for that block.
    assert max(receipts) <= 2 and sum(receipts) <= len(receipts) + 1


def test_ws_pending_writes_all_land(interval_node: Any) -> None:
    """Writes sent together with wait=False over ws:// all land, each asking for its receipt
    about once."""
    node, address, key = interval_node

    async def main() -> tuple[list[Listing], int]:
        provider = CountingWebSocketProvider(node.url.replace("http://", "ws://"))
        async with AsyncWeb3(provider) as w3:
            client = AsyncGPUHubClient(w3, address, account=key)
            await client.create_listing(**TERMS)
            provider.methods.clear()
            pending = [
                await client.create_listing(**{**TERMS, "capacity": 10 + i}, wait=False)
                for i in range(4)
            ]
            made = await asyncio.gather(*(p.result(timeout=10) for p in pending))  # type: ignore[union-attr]
            return list(made), provider.methods["eth_getTransactionReceipt"]

    made, receipts = asyncio.run(main())
    assert sorted(listing.capacity for listing in made) == [10, 11, 12, 13]
    assert receipts <= len(made) + 1

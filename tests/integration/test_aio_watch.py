"""async for event in aclient.watch(...) on anvil, over HTTP polling and WebSocket subscriptions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3, WebSocketProvider

from gpuhub import PriceUnit
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode
from gpuhub.events import ContractEvent, ListingCreated

pytestmark = pytest.mark.anvil

TERMS: dict[str, Any] = dict(gpu_model="H100", capacity=80, price=10**12, unit=PriceUnit.HOUR)


async def take(client: AsyncGPUHubClient, count: int, **options: Any) -> list[ContractEvent]:
    """The first ``count`` events of a watch, or a timeout after 10 s."""
    found: list[ContractEvent] = []

    async def collect() -> None:
        stream = client.watch(**options)
        async for event in stream:
            found.append(event)
            if len(found) == count:
                break
        await stream.aclose()  # type: ignore[attr-defined]

    await asyncio.wait_for(collect(), timeout=10)
    return found


def test_async_watch_over_http_polling(anvil_node: AnvilNode) -> None:
    """Over HTTP the async watch polls and yields typed events in chain order."""

    async def main() -> None:
        w3 = AsyncWeb3(AsyncHTTPProvider(anvil_node.url))
        try:
            client = await AsyncGPUHubClient.deploy(w3)
            for i in range(2):
                await client.create_listing(**{**TERMS, "gpu_model": f"GPU {i}"})
            first = await client.block_number()
            events = await take(client, 2, from_block=first - 1)
            assert [type(e) for e in events] == [ListingCreated, ListingCreated]
            assert [e.gpu_model for e in events if isinstance(e, ListingCreated)] == [
                "GPU 0",
                "GPU 1",
            ]
        finally:
            await w3.provider.disconnect()

    asyncio.run(main())


def test_async_watch_over_a_websocket_subscription(anvil_node: AnvilNode) -> None:
    """Over ws:// a new head wakes the watch, though its poll interval is a minute."""

    async def main() -> None:
        ws_url = anvil_node.url.replace("http://", "ws://")
        async with AsyncWeb3(WebSocketProvider(ws_url)) as w3:
            client = await AsyncGPUHubClient.deploy(w3)
            start = await client.block_number() + 1

            async def later() -> None:
                await asyncio.sleep(0.5)  # the watch is waiting for heads by then
                await client.create_listing(**TERMS)

            task = asyncio.create_task(later())
            events = await take(client, 1, from_block=start, poll_interval=60)
            await task
            assert isinstance(events[0], ListingCreated) and events[0].gpu_model == "H100"

    asyncio.run(main())

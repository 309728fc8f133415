"""async for event in aclient.watch(...) on anvil, over HTTP polling and WebSocket subscriptions."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from _nodes import ErringProxy
from web3 import AsyncHTTPProvider, AsyncWeb3, WebSocketProvider

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode, free_port
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


def restart_with_state(node: AnvilNode) -> None:
    """Stop the node (it dumps its state), leave it down a moment, start it again (it loads it)."""
    node.stop()
    time.sleep(0.5)  # the watch meets a dead node and backs off
    node.start()


@pytest.mark.parametrize("transport", ["http", "ws"])
def test_async_watch_survives_node_restart(tmp_path: Path, transport: str) -> None:
    """A node stopped and restarted mid-stream: the async watch yields every event exactly once."""
    node = AnvilNode(port=free_port(), extra_args=("--state", str(tmp_path / "state.json")))
    node.start()
    seen: list[ContractEvent] = []
    try:
        sync_w3 = node.web3(timeout=2)
        # Governed by its deployer directly, so the history holds only the listings made here.
        deployer = sync_w3.eth.accounts[0]
        client = GPUHubClient.deploy(sync_w3, account=deployer, governance=deployer)

        def list_gpus(label: str) -> None:
            for i in range(3):
                client.create_listing(**{**TERMS, "gpu_model": f"{label} {i}"})

        async def until(count: int) -> None:
            async with asyncio.timeout(20):
                while len(seen) < count:
                    await asyncio.sleep(0.01)

        async def main() -> None:
            if transport == "ws":
                w3 = AsyncWeb3(WebSocketProvider(node.url.replace("http://", "ws://")))
                await w3.provider.connect()
            else:
                w3 = AsyncWeb3(AsyncHTTPProvider(node.url))
            aclient = AsyncGPUHubClient(w3, client.contract_address)

            async def consume() -> None:
                async for event in aclient.watch(from_block=0, poll_interval=0.01):
                    seen.append(event)

            task = asyncio.create_task(consume())
            await asyncio.to_thread(list_gpus, "before")
            await until(3)
            await asyncio.to_thread(restart_with_state, node)
            await asyncio.to_thread(list_gpus, "after")
            await until(6)
            await asyncio.sleep(0.2)  # room for a duplicate to show up, if there were one
            task.cancel()
            await w3.provider.disconnect()

        asyncio.run(main())
    finally:
        node.stop()
    assert [e.listing_id for e in seen if isinstance(e, ListingCreated)] == list(range(6))
    assert len(seen) == 6


def test_async_watch_retries_reads_the_node_refuses(anvil_node: AnvilNode) -> None:
    """The async watch retries ``header not found`` answered to eth_getLogs with backoff."""
    proxy = ErringProxy(anvil_node.url, failures=3)

    async def main() -> None:
        w3 = AsyncWeb3(AsyncHTTPProvider(anvil_node.url))
        via_proxy = AsyncWeb3(AsyncHTTPProvider(proxy.url))
        try:
            client = await AsyncGPUHubClient.deploy(w3)
            start = await client.block_number() + 1
            await client.create_listing(**TERMS)
            watcher = AsyncGPUHubClient(via_proxy, client.contract_address)
            events = await take(watcher, 1, from_block=start, poll_interval=0.01)
            assert [type(e) for e in events] == [ListingCreated]
        finally:
            await w3.provider.disconnect()
            await via_proxy.provider.disconnect()

    try:
        asyncio.run(main())
    finally:
        proxy.close()
    assert proxy.answered_errors == 3

"""web3 guards every HTTP provider's session cache with one lock held on the class; an async
request cancelled while waiting for it leaves it held for good (web3.py issue 3867), and every
HTTP provider of the process then blocks on its next new session. The clients give each
provider a lock of its own, so a lock left held elsewhere stops none of them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3, HTTPProvider, Web3
from web3._utils.http_session_manager import HTTPSessionManager

from gpuhub import GPUHubClient
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode

pytestmark = pytest.mark.anvil


@pytest.fixture
def lock_left_held() -> Iterator[None]:
    """web3's shared lock, held as a cancelled request leaves it, for the test's length."""
    shared = HTTPSessionManager._lock
    assert shared.acquire(timeout=10), "web3's shared session lock is already held for good"
    try:
        yield
    finally:
        shared.release()


@pytest.fixture
def market(anvil_node: AnvilNode) -> str:
    """A marketplace's address (deployed before the lock is taken)."""
    w3 = anvil_node.web3()
    return GPUHubClient.deploy(w3, account=w3.eth.accounts[0]).contract_address


def test_async_client_works_while_web3s_shared_lock_is_held(
    anvil_node: AnvilNode, market: str, lock_left_held: None
) -> None:
    """An async client's first request opens its session without web3's shared lock."""

    async def main() -> int:
        w3 = AsyncWeb3(AsyncHTTPProvider(anvil_node.url))
        try:
            client = AsyncGPUHubClient(w3, market)
            return await asyncio.wait_for(client.listing_count(), timeout=10)
        finally:
            await w3.provider.disconnect()

    assert asyncio.run(main()) == 0


def test_sync_providers_work_while_web3s_shared_lock_is_held(
    anvil_node: AnvilNode, market: str, lock_left_held: None
) -> None:
    """A client's provider, and a dev node's, open a session in a new thread without it."""
    found: list[int] = []
    client = GPUHubClient(Web3(HTTPProvider(anvil_node.url)), market)
    node_w3 = anvil_node.web3()

    def read() -> None:
        found.append(client.listing_count())
        found.append(node_w3.eth.chain_id)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "blocked on web3's shared session lock"
    assert found == [0, 31337]

"""AsyncGPUHubClient.search gives the sync client's answer, reputations included."""

from __future__ import annotations

import asyncio

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode

pytestmark = pytest.mark.anvil


def test_async_search_matches_sync_search(anvil_node: AnvilNode) -> None:
    """The awaited search returns the same page, total and reputations as the sync one."""
    market = GPUHubClient.deploy(anvil_node.web3())
    provider = market.with_account(market.accounts[1])
    renter = market.with_account(market.accounts[2])
    provider.create_listing(gpu_model="RTX 4090", capacity=24, price=10**15, unit=PriceUnit.HOUR)
    market.create_listing(gpu_model="rtx 4090", capacity=24, price=10**13, unit=PriceUnit.MINUTE)
    rental = renter.rent(0, 1)
    renter.end_rental(rental.rental_id)
    renter.rate(rental.rental_id, 5)

    async def both(query: str) -> None:
        w3 = AsyncWeb3(AsyncHTTPProvider(anvil_node.url))
        try:
            client = AsyncGPUHubClient(w3, market.contract_address)
            found, expected = await client.search(query), market.search(query)
        finally:
            await w3.provider.disconnect()
        assert (found.listings, found.total) == (expected.listings, expected.total)
        assert found.reputations == expected.reputations

    for query in ("model~4090 sort=-rating", "rating<3.5", "sort=price_per_hour limit=1"):
        asyncio.run(both(query))

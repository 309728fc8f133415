"""AsyncGPUHubClient on the embedded chain (AsyncEthereumTesterProvider)."""

from __future__ import annotations

import asyncio

import gpuhub
from gpuhub.aio import AsyncGPUHubClient


def test_local_async_client() -> None:
    """AsyncGPUHubClient.local() deploys on an in-process chain and lists, batches and reverts."""

    async def scenario() -> None:
        client = await AsyncGPUHubClient.local()
        listing = await client.create_listing(gpu_model="A100", capacity=80, price=10**15)
        assert await client.get_listing(0) == listing
        batch = client.batch()
        batch.create_listing(gpu_model="L4", capacity=24, price=10**14)
        batch.fulfill_request(0)
        created, off = await batch.send()  # type: ignore[misc]
        assert (created.listing_id, off.status) == (1, gpuhub.ListingStatus.UNAVAILABLE)
        stranger = client.with_account((await client.accounts())[3])
        try:
            await stranger.remove_listing(0)
        except gpuhub.NotListingProvider as exc:
            assert exc.listing_id == 0
        else:
            raise AssertionError("a stranger removed the listing")
        assert [e.name for e in await client.get_events(0)][-1] == "ListingStatusChanged"

    asyncio.run(scenario())


def test_local_leaves_warning_filters_alone() -> None:
    """AsyncGPUHubClient.local() leaves the process's warning filters as they were (eth-tester's
    backend lookup resets them to "default", which floods notebooks with other libraries'
    warnings)."""
    import importlib
    import warnings

    for first in ("web3", "eth_tester"):  # their own first imports may add filters
        importlib.import_module(first)
    before = list(warnings.filters)
    asyncio.run(AsyncGPUHubClient.local())
    assert warnings.filters == before

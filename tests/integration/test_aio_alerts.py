"""async for alert in aclient.alerts(...) on anvil: the sync alerts' rules, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3

from gpuhub import GPUHubClient, PriceUnit, QueryError
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.alerts import Alert, AlertKind
from gpuhub.chain import AnvilNode, free_port

pytestmark = pytest.mark.anvil

PRICE = 3_600 * 10**9  # wei per hour
#: long enough for a stream polling every 10 ms to show an alert that should not be there.
SETTLE_S = 0.3


@pytest.fixture
def market(anvil_node: AnvilNode) -> Iterator[tuple[GPUHubClient, GPUHubClient]]:
    """(provider, renter) on a fresh marketplace, listing 0 (1..10 h) rented and ended once, so
    both accounts start with a balance (the streams' first alert says they have started)."""
    w3 = anvil_node.web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
    provider = client.with_account(client.accounts[1])
    renter = client.with_account(client.accounts[2])
    provider.create_listing(
        gpu_model="NVIDIA A100", capacity=80, price=PRICE, unit=PriceUnit.HOUR, max_duration=10
    )
    rental = renter.rent(0, 1)
    renter.chain.advance_time(10)
    renter.end_rental(rental.rental_id)
    yield provider, renter


class Stream:
    """An async alert stream consumed by a task, its alerts gathered as they come."""

    def __init__(self, aclient: AsyncGPUHubClient, account: str, **options: object) -> None:
        self.alerts: list[Alert] = []
        self._task = asyncio.create_task(self._consume(aclient, account, options))

    async def _consume(
        self, aclient: AsyncGPUHubClient, account: str, options: dict[str, object]
    ) -> None:
        async for alert in aclient.alerts(account, poll_interval=0.01, **options):  # type: ignore[arg-type]
            self.alerts.append(alert)

    def kinds(self) -> list[AlertKind]:
        return [a.kind for a in self.alerts]

    async def until(self, count: int) -> list[Alert]:
        """Wait (10 s at most) until ``count`` alerts came; returns them all."""
        async with asyncio.timeout(10):
            while len(self.alerts) < count:
                if self._task.done():
                    self._task.result()  # raises what ended the stream
                await asyncio.sleep(0.01)
        return self.alerts

    def close(self) -> None:
        self._task.cancel()


async def in_thread(fn: Callable[[], object]) -> object:
    """Run a blocking call of the sync client without stalling the streams."""
    return await asyncio.to_thread(fn)


def test_async_alerts_fire_once_at_chain_time_for_both_roles(
    anvil_node: AnvilNode, market: tuple[GPUHubClient, GPUHubClient]
) -> None:
    """Rented, ending, settleable and ended fire once each through the async client, each at the
    chain time it became due, for the provider and for the renter."""
    provider, renter = market
    assert provider.address and renter.address

    async def main() -> None:
        aclient = AsyncGPUHubClient(
            AsyncWeb3(AsyncHTTPProvider(anvil_node.url)), provider.contract_address
        )
        for_provider = Stream(aclient, provider.address, ends_within=600)
        for_renter = Stream(aclient, renter.address, ends_within=600)
        await for_provider.until(1)
        await for_renter.until(1)
        rental = await in_thread(lambda: renter.rent(0, 1))
        await for_provider.until(2)
        await in_thread(lambda: renter.chain.advance_time(3600 - 601))
        await asyncio.sleep(SETTLE_S)
        ending_at = await in_thread(lambda: renter.chain.advance_time(2))
        (*_, ending) = await for_provider.until(3)
        assert ending.kind is AlertKind.RENTAL_ENDING and ending.at == ending_at
        assert (await for_renter.until(2))[-1].at == ending_at
        await in_thread(lambda: renter.chain.advance_time(100))
        await asyncio.sleep(SETTLE_S)
        due_at = await in_thread(lambda: renter.chain.advance_time(600))
        assert (await for_provider.until(4))[-1].at == due_at
        assert (await for_renter.until(3))[-1].at == due_at
        await in_thread(lambda: renter.settle(rental.rental_id))  # type: ignore[attr-defined]
        await for_provider.until(6)
        await for_renter.until(4)
        await asyncio.sleep(SETTLE_S)
        for_provider.close()
        for_renter.close()
        assert for_provider.kinds() == [
            AlertKind.WITHDRAWABLE,
            AlertKind.LISTING_RENTED,
            AlertKind.RENTAL_ENDING,
            AlertKind.RENTAL_SETTLEABLE,
            AlertKind.RENTAL_ENDED,
            AlertKind.WITHDRAWABLE,
        ]
        assert for_renter.kinds() == [
            AlertKind.WITHDRAWABLE,
            AlertKind.RENTAL_ENDING,
            AlertKind.RENTAL_SETTLEABLE,
            AlertKind.RENTAL_ENDED,
        ]
        await aclient._io.w3.provider.disconnect()

    asyncio.run(main())


def test_async_saved_search_alerts_once(
    anvil_node: AnvilNode, market: tuple[GPUHubClient, GPUHubClient]
) -> None:
    """A new matching listing and a price cut alert once each through the async client."""
    provider, renter = market
    assert renter.address

    async def main() -> None:
        aclient = AsyncGPUHubClient(
            AsyncWeb3(AsyncHTTPProvider(anvil_node.url)), provider.contract_address
        )
        stream = Stream(aclient, renter.address, searches=["model~H100 price_per_hour<=1gwei"])
        await stream.until(1)  # the balance: the stream has started
        await in_thread(
            lambda: provider.create_listing(
                gpu_model="NVIDIA H100", capacity=80, price=10**9, unit=PriceUnit.HOUR
            )
        )
        await in_thread(
            lambda: provider.create_listing(
                gpu_model="NVIDIA H100", capacity=80, price=2 * 10**9, unit=PriceUnit.HOUR
            )
        )
        await in_thread(lambda: provider.update_listing(2, price=10**9 - 1))
        await stream.until(3)
        await asyncio.sleep(SETTLE_S)
        stream.close()
        found = [(a.kind, a.listing.listing_id if a.listing else None) for a in stream.alerts]
        assert found == [
            (AlertKind.WITHDRAWABLE, None),
            (AlertKind.SEARCH_MATCH, 1),
            (AlertKind.SEARCH_MATCH, 2),
        ]
        assert stream.alerts[-1].query == "model~H100 price_per_hour<=1gwei"
        await aclient._io.w3.provider.disconnect()

    asyncio.run(main())


def test_async_bad_saved_search_raises_before_any_read() -> None:
    """A saved search that does not parse raises QueryError at once, though no node is there."""

    async def main() -> None:
        url = f"http://127.0.0.1:{free_port()}"
        aclient = AsyncGPUHubClient(AsyncWeb3(AsyncHTTPProvider(url)), "0x" + "11" * 20)
        with pytest.raises(QueryError) as exc:
            async with asyncio.timeout(5):
                async for _ in aclient.alerts("0x" + "22" * 20, searches=["capacity>>4"]):
                    pass
        assert exc.value.query == "capacity>>4"

    asyncio.run(main())

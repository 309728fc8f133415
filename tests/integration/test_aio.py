"""AsyncGPUHubClient against a real anvil node: every method, typed errors, concurrent writers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3, HTTPProvider, Web3

import gpuhub
from gpuhub import ListingStatus, PriceUnit, RentalStatus
from gpuhub.aio import AsyncGPUHubClient, AsyncPendingTransaction
from gpuhub.chain import AnvilNode

pytestmark = pytest.mark.anvil

TERMS: dict[str, Any] = dict(
    gpu_model="H100", capacity=80, price=3_600 * 10**9, unit=PriceUnit.HOUR, max_duration=48
)


def run(node: AnvilNode, scenario: Callable[[AsyncGPUHubClient], Awaitable[None]]) -> None:
    """Deploy a fresh marketplace with the async client and run ``scenario`` on it."""

    async def main() -> None:
        w3 = AsyncWeb3(AsyncHTTPProvider(node.url))
        try:
            # Governance held by the deployer directly; test_aio_governance.py covers the governor.
            deployer = (await w3.eth.accounts)[0]
            await scenario(await AsyncGPUHubClient.deploy(w3, governance=deployer))
        finally:
            await w3.provider.disconnect()

    asyncio.run(main())


def test_listing_methods(anvil_node: AnvilNode) -> None:
    """Every listing read and write works awaited and returns the same models as the sync client."""

    async def scenario(client: AsyncGPUHubClient) -> None:
        created = await client.create_listing(**TERMS)
        assert isinstance(created, gpuhub.Listing) and created.provider == client.address
        assert await client.get_listing(created.listing_id) == created
        updated = await client.update_listing(created.listing_id, price=10**10)
        assert isinstance(updated, gpuhub.Listing) and updated.price == 10**10
        off = await client.fulfill_request(created.listing_id)
        assert isinstance(off, gpuhub.Listing) and off.status is ListingStatus.UNAVAILABLE
        on = await client.mark_available(created.listing_id)
        assert isinstance(on, gpuhub.Listing) and on.status is ListingStatus.AVAILABLE
        pending = await client.create_listing(**{**TERMS, "gpu_model": "L4"}, wait=False)
        assert isinstance(pending, AsyncPendingTransaction)
        second = await pending.result()
        gone = await client.remove_listing(second.listing_id)
        assert isinstance(gone, gpuhub.Listing) and gone.status is ListingStatus.REMOVED
        assert await client.listing_count() == 2
        assert await client.list_listings(page_size=1) == [updated, gone]
        assert [x async for x in client.iter_listings()] == [updated, gone]
        assert await client.list_gpus(max_price=10**10) == [updated]
        names = [e.name for e in await client.get_events(0)]
        assert names.count("ListingCreated") == 2 and "ListingUpdated" in names
        assert await client.block_number() > 0
        assert client.chain_id == 31337
        assert len(await client.accounts()) == 20

    run(anvil_node, scenario)


def test_batch(anvil_node: AnvilNode) -> None:
    """An awaited batch lands as one transaction and returns every listing."""

    async def scenario(client: AsyncGPUHubClient) -> None:
        batch = client.batch()
        for i in range(5):
            batch.create_listing(**{**TERMS, "gpu_model": f"A{i}"})
        block = await client.block_number()
        listings = await batch.send()
        assert isinstance(listings, list)
        assert [x.gpu_model for x in listings] == [f"A{i}" for i in range(5)]
        assert await client.block_number() == block + 1

    run(anvil_node, scenario)


def test_rental_methods(anvil_node: AnvilNode) -> None:
    """Renting, quoting, extending, ending, settling and withdrawing work awaited."""
    sync = Web3(HTTPProvider(anvil_node.url))

    async def scenario(client: AsyncGPUHubClient) -> None:
        provider = client.with_account((await client.accounts())[1])
        renter = client.with_account((await client.accounts())[2])
        first = await provider.create_listing(**TERMS)
        second = await provider.create_listing(**TERMS)
        assert await renter.quote(first.listing_id, 2) == 2 * TERMS["price"]
        rental = await renter.rent(first.listing_id, 2)
        assert isinstance(rental, gpuhub.Rental) and rental.provider == provider.address
        assert await renter.active_rental(first.listing_id) == rental
        assert await renter.active_rental(second.listing_id) is None
        longer = await renter.extend_rental(rental.rental_id, 1)
        assert isinstance(longer, gpuhub.Rental) and longer.end == rental.end + 3600
        assert await renter.get_rental(rental.rental_id) == longer
        ended = await renter.end_rental(rental.rental_id)
        assert isinstance(ended, gpuhub.Rental) and ended.status is RentalStatus.ENDED_BY_RENTER
        other = await renter.rent(second.listing_id, 1)
        assert isinstance(other, gpuhub.Rental)
        sync.provider.make_request("evm_increaseTime", [7200])  # type: ignore[arg-type]
        settled = await provider.settle(other.rental_id)
        assert isinstance(settled, gpuhub.Rental) and settled.status is RentalStatus.SETTLED
        assert await renter.rental_count() == 2
        assert [r.rental_id async for r in renter.iter_rentals()] == [0, 1]
        assert len(await renter.rentals(renter=renter.address)) == 2
        assert await renter.rentals(active_only=True) == []
        assert await provider.provider_terminations(provider.address or "") == 0
        owed = await provider.balance_of()
        assert owed > 0 and await provider.withdraw() == owed
        with pytest.raises(gpuhub.NothingToWithdraw):
            await provider.withdraw()

    run(anvil_node, scenario)


def test_governance_methods(anvil_node: AnvilNode) -> None:
    """Fee, pause, treasury and governance reads and writes work awaited."""

    async def scenario(client: AsyncGPUHubClient) -> None:
        other = (await client.accounts())[5]
        assert await client.fee_bps() == 0
        result = await client.set_fee(250)
        assert result.gas_used > 0 and await client.fee_bps() == 250
        await client.set_paused(True)
        assert await client.paused() is True
        await client.set_paused(False)
        await client.set_treasury(other)
        assert await client.treasury() == other
        await client.transfer_governance(other)
        assert await client.governance_address() == other
        with pytest.raises(gpuhub.NotGovernance) as exc:
            await client.set_fee(1)
        assert exc.value.caller == client.address

    run(anvil_node, scenario)


def test_typed_errors(anvil_node: AnvilNode) -> None:
    """Reverts reach async callers as the same typed exceptions, bad input as ValidationError."""

    async def scenario(client: AsyncGPUHubClient) -> None:
        with pytest.raises(gpuhub.ListingNotFound) as missing:
            await client.get_listing(9)
        assert missing.value.listing_id == 9
        listing = await client.create_listing(**TERMS)
        stranger = client.with_account((await client.accounts())[9])
        with pytest.raises(gpuhub.NotListingProvider):
            await stranger.fulfill_request(listing.listing_id)
        with pytest.raises(gpuhub.ValidationError) as bad:
            await client.create_listing(**{**TERMS, "capacity": 0})
        assert bad.value.field == "capacity"

    run(anvil_node, scenario)


def test_twenty_coroutines_one_client(anvil_node: AnvilNode) -> None:
    """Twenty coroutines rent, end and withdraw through one async client with no nonce errors."""
    key = Account.create()
    sync = Web3(HTTPProvider(anvil_node.url))
    fund = {"from": sync.eth.accounts[0], "to": key.address, "value": 10**20}
    sync.eth.wait_for_transaction_receipt(sync.eth.send_transaction(fund))

    async def scenario(client: AsyncGPUHubClient) -> None:
        provider = client.with_account((await client.accounts())[1])
        batch = provider.batch()
        for i in range(20):
            batch.create_listing(**{**TERMS, "gpu_model": f"GPU {i}"})
        listings = await batch.send()
        assert isinstance(listings, list)
        renter = client.with_account(key)

        async def cycle(listing_id: int) -> int:
            rental = await renter.rent(listing_id, 1, max_total=2 * TERMS["price"])
            assert isinstance(rental, gpuhub.Rental)
            await renter.end_rental(rental.rental_id)
            try:
                amount = await renter.withdraw()
            except gpuhub.NothingToWithdraw:  # another coroutine withdrew the balance first
                return 0
            assert isinstance(amount, int)
            return amount

        withdrawn = await asyncio.gather(*(cycle(x.listing_id) for x in listings))
        rentals = await renter.rentals(renter=key.address)
        assert len(rentals) == 20 and not any(r.is_active for r in rentals)
        refunds = sum(r.paid + TERMS["price"] - r.cost_at(r.end) for r in rentals)
        assert sum(withdrawn) == refunds
        assert await renter.balance_of() == 0
        # A withdraw that lost the race was still mined (and reverted): it used a nonce too.
        assert 41 <= sync.eth.get_transaction_count(key.address) <= 60

    run(anvil_node, scenario)


def test_reputation_methods(anvil_node: AnvilNode) -> None:
    """Rating, reputation and the ratings list work awaited."""

    async def scenario(client: AsyncGPUHubClient) -> None:
        provider = client.with_account((await client.accounts())[1])
        renter = client.with_account((await client.accounts())[2])
        listing = await provider.create_listing(**TERMS)
        rental = await renter.rent(listing.listing_id, 1)
        assert isinstance(rental, gpuhub.Rental)
        await renter.end_rental(rental.rental_id)
        rating = await renter.rate(rental.rental_id, 4, comment="steady")
        assert isinstance(rating, gpuhub.Rating) and rating.score == 4
        with pytest.raises(gpuhub.AlreadyRated):
            await renter.rate(rental.rental_id, 5)
        rep = await client.reputation(provider.address or "")
        assert rep.provider_rating_count == 1
        assert await client.ratings(ratee=provider.address) == [rating]
        assert await client.ratings(rater=provider.address) == []

    run(anvil_node, scenario)


def test_search(anvil_node: AnvilNode) -> None:
    """An awaited search finds what the sync client's search finds."""

    async def scenario(client: AsyncGPUHubClient) -> None:
        for capacity in (8, 24, 80):
            await client.create_listing(**{**TERMS, "capacity": capacity})
        found = await client.search("capacity>=24", sort="capacity")
        sync = gpuhub.GPUHubClient(Web3(HTTPProvider(anvil_node.url)), client.contract_address)
        assert [x.capacity for x in found.listings] == [24, 80]
        assert found.listings == sync.search("capacity>=24", sort="capacity").listings

    run(anvil_node, scenario)


def test_prepare_relay_and_outcome(anvil_node: AnvilNode) -> None:
    """A rent prepared for a local key, signed with eth-account and relayed through the async
    client creates the rental; its outcome reads the same."""

    async def scenario(client: AsyncGPUHubClient) -> None:
        renter = Account.create()
        accounts = await client.accounts()
        # From the node's last account: the client counts the nonces of its own.
        sent = await client.w3.eth.send_transaction(
            {"from": accounts[-1], "to": renter.address, "value": 10**18}
        )
        # anvil answers the send before it mines it: the relayed rent could come first.
        await client.w3.eth.wait_for_transaction_receipt(sent, timeout=30, poll_latency=0.01)
        provider = client.with_account(accounts[1])
        listing = await provider.create_listing(**TERMS)
        prepared = await client.prepare(
            "rent", sender=renter.address, listing_id=listing.listing_id, duration=2
        )
        signed = renter.sign_transaction(dict(prepared.transaction))
        outcome = await client.relay(signed.raw_transaction, sender=renter.address)
        assert outcome.rentals[0].renter == renter.address
        assert await client.outcome(outcome.tx_hash) == outcome

    run(anvil_node, scenario)

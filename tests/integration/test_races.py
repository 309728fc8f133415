"""Concurrency on a real node: rival renters and many threads sending through one client."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account

import gpuhub
from gpuhub import GPUHubClient, PriceUnit, RentalStatus
from gpuhub.chain import AnvilNode

pytestmark = pytest.mark.anvil


@pytest.fixture
def market(anvil_node: AnvilNode) -> GPUHubClient:
    """A fresh marketplace on the session's anvil node, governed by its deployer directly."""
    w3 = anvil_node.web3()
    return GPUHubClient.deploy(w3, governance=w3.eth.accounts[0])


def test_ten_renters_one_listing(market: GPUHubClient) -> None:
    """Ten threads rent one listing at once: one rental, nine typed errors, no ETH lost."""
    provider = market.with_account(market.accounts[1])
    provider.create_listing(
        gpu_model="H100", capacity=80, price=10**15, unit=PriceUnit.HOUR, max_duration=5
    )
    renters = [market.with_account(a) for a in market.accounts[10:20]]
    start = threading.Barrier(len(renters))

    def attempt(renter: GPUHubClient) -> str:
        start.wait()
        try:
            renter.rent(0, 2)
        except gpuhub.ListingNotAvailable:
            return "refused"
        return "rented"

    with ThreadPoolExecutor(len(renters)) as pool:
        outcomes = list(pool.map(attempt, renters))
    assert sorted(outcomes) == ["refused"] * 9 + ["rented"]
    assert market.rental_count() == 1
    (rental,) = market.rentals()
    assert market.w3.eth.get_balance(market.contract_address) == rental.paid == 2 * 10**15
    assert all(market.balance_of(r.address) == 0 for r in renters)


def test_two_hundred_transactions_from_ten_threads(market: GPUHubClient) -> None:
    """One client (a local key) sends 200 transactions from 10 threads: all mined, ids distinct."""
    account = Account.create()
    fund = {"from": market.accounts[0], "to": account.address, "value": 10**20}
    # anvil may answer the send before mining it: wait, or the new account may still be empty.
    market.w3.eth.wait_for_transaction_receipt(market.w3.eth.send_transaction(fund))
    client = market.with_account(account)

    def send(i: int) -> int:
        listing = client.create_listing(gpu_model=f"GPU {i}", capacity=1 + i % 80, price=1 + i)
        return listing.listing_id

    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(send, range(200)))
    assert sorted(ids) == list(range(200))
    assert market.listing_count() == 200
    assert market.w3.eth.get_transaction_count(account.address) == 200
    assert {x.gpu_model for x in market.list_listings()} == {f"GPU {i}" for i in range(200)}


def test_end_rental_mined_seconds_after_its_estimate(market: GPUHubClient) -> None:
    """The gas estimate sees the second the rental started; the block that ends it comes later.

    Billing nothing, the estimate writes no provider balance and no fee; ten seconds on, the
    same call credits both. The gas limit the client sends covers the difference.
    """
    market.set_fee(250)
    provider = market.with_account(market.accounts[1])
    provider.create_listing(gpu_model="L4", capacity=24, price=3_600 * 10**9, unit=PriceUnit.HOUR)
    renter = market.with_account(market.accounts[2])
    rental = renter.rent(0, 1)
    market.w3.provider.make_request("evm_setNextBlockTimestamp", [rental.start + 10])  # type: ignore[arg-type]
    ended = renter.end_rental(rental.rental_id)
    assert (ended.status, ended.end) == (RentalStatus.ENDED_BY_RENTER, rental.start + 10)
    assert market.balance_of(provider.address) == 10 * 10**9 * (10_000 - 250) // 10_000
    assert market.treasury_funds() == 10 * 10**9 * 250 // 10_000


def test_rival_renters_mined_in_one_block(market: GPUHubClient) -> None:
    """Two rents of one listing mined in the same block: the second fails with its custom error,
    ListingNotAvailable, not a bare revert (the state before the block let it through).

    The gas is given, so the second is sent without an estimate, which would see the first.
    """
    provider = market.with_account(market.accounts[1])
    provider.create_listing(gpu_model="A100", capacity=80, price=10**15, unit=PriceUnit.HOUR)
    renters = [market.with_account(a) for a in market.accounts[10:12]]
    rpc = market.w3.provider.make_request
    rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        with ThreadPoolExecutor(2) as pool:
            futures = []
            for renter in renters:
                futures.append(pool.submit(renter.rent, 0, 1, gas=300_000))
                # the next send only once this one waits in the pool, so the order is known
                while int(rpc("txpool_status", [])["result"]["pending"], 16) < len(futures):  # type: ignore[arg-type]
                    assert not futures[-1].done(), futures[-1].exception()
                    time.sleep(0.01)
            rpc("evm_mine", [])  # type: ignore[arg-type]
            rented = futures[0].result(timeout=60)
            with pytest.raises(gpuhub.ListingNotAvailable) as refused:
                futures[1].result(timeout=60)
    finally:
        rpc("evm_setAutomine", [True])  # type: ignore[arg-type]
    assert refused.value.listing_id == 0
    assert market.get_rental(rented.rental_id).renter == renters[0].address
    assert market.rental_count() == 1

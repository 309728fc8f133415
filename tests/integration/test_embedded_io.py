"""The embedded chain's request layer: one execution per write, incremental event reads."""

from __future__ import annotations

import pytest

import gpuhub
from gpuhub import GPUHubClient

TERMS = dict(gpu_model="A100", capacity=80, price=10**15)


def test_refused_write_leaves_no_block() -> None:
    """A write the contract refuses is rolled back: no block, no nonce used, typed error."""
    client = GPUHubClient.local()
    listing = client.create_listing(**TERMS)
    stranger = client.with_account(client.accounts[4])
    head = client.block_number()
    nonce = client.w3.eth.get_transaction_count(stranger.address or "")
    with pytest.raises(gpuhub.NotListingProvider):
        stranger.remove_listing(listing.listing_id)
    assert client.block_number() == head
    assert client.w3.eth.get_transaction_count(stranger.address or "") == nonce


def test_events_read_again_include_new_blocks() -> None:
    """A second read sees the blocks mined since the first, and agrees with a fresh reader."""
    client = GPUHubClient.local()
    start = client.block_number() + 1  # after the governance wiring's own events
    client.create_listing(**TERMS)
    assert [e.name for e in client.get_events(start)] == ["ListingCreated"]
    client.fulfill_request(0)
    with pytest.raises(gpuhub.InvalidStatusTransition):
        client.fulfill_request(0)
    client.create_listing(**TERMS)
    events = client.get_events(start)
    assert [e.name for e in events] == ["ListingCreated", "ListingStatusChanged", "ListingCreated"]
    fresh = GPUHubClient(client.w3, client.contract_address)
    assert fresh.get_events(start) == events
    assert client.get_events(events[-1].block_number) == events[-1:]


def test_listings_read_from_storage_match_the_contract_view() -> None:
    """Listings the embedded chain reads from storage equal getListing's, field for field,
    across model lengths, statuses, units, widths at their limits and several providers."""
    client = GPUHubClient.local()
    other = client.with_account(client.accounts[3])
    renter = client.with_account(client.accounts[5])
    for length in (1, 20, 21, 52, 53, 64):  # bytes: slots 1, 2 and 3 hold the name
        model = "x" if length == 1 else "é" + "x" * (length - 2)
        client.create_listing(gpu_model=model, capacity=length, price=7)
    client.create_listing(
        gpu_model="Ω" * 32,
        capacity=2**16 - 1,
        price=2**96 - 1,
        unit=gpuhub.PriceUnit.MINUTE,
        min_duration=2**24 - 2,
        max_duration=2**24 - 1,
    )
    other.create_listing(gpu_model="L4", capacity=24, price=10**12, unit=gpuhub.PriceUnit.DAY)
    client.fulfill_request(1)
    client.remove_listing(2)
    renter.rent(7, 1)
    stored = client._io.embedded.request("gpuhub_getListings", [client.contract_address])
    listings = client.list_listings()
    assert listings == stored == [client.get_listing(i) for i in range(client.listing_count())]
    assert {x.status for x in listings} == set(gpuhub.ListingStatus)
    assert [len(x.gpu_model.encode()) for x in listings[:6]] == [1, 20, 21, 52, 53, 64]


def test_listings_read_from_storage_follow_new_writes() -> None:
    """A listing changed after a first read is read with its new terms, not from a cache."""
    client = GPUHubClient.local()
    client.create_listing(**TERMS)
    client.create_listing(**TERMS)
    assert [x.price for x in client.list_gpus()] == [10**15, 10**15]
    client.update_listing(1, price=3, gpu_model="H100 SXM5 80GB, liquid cooled")
    client.fulfill_request(0)
    assert client.list_gpus() == [client.get_listing(1)]
    assert client.list_gpus()[0].gpu_model == "H100 SXM5 80GB, liquid cooled"


def test_listings_not_read_from_storage_of_other_code() -> None:
    """At an address without the packaged contract's code the embedded chain reads no
    listings from storage (the client then runs the view)."""
    client = GPUHubClient.local()
    chain = client._io.embedded
    assert chain.request("gpuhub_getListings", [client.accounts[2]]) is None
    assert chain.request("gpuhub_getListings", ["0x" + "42" * 20]) is None


def test_listings_read_from_storage_after_a_refused_write() -> None:
    """After a refused write is rolled back, listings are read from the restored state."""
    client = GPUHubClient.local()
    client.create_listing(**TERMS)
    client.list_gpus()
    with pytest.raises(gpuhub.NotListingProvider):
        client.with_account(client.accounts[4]).remove_listing(0)
    client.update_listing(0, capacity=40)
    assert client.list_listings() == [client.get_listing(0)]
    assert client.list_listings()[0].capacity == 40

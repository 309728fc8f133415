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

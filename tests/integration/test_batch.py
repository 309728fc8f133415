"""client.batch(): a provider's listing operations in one multicall transaction."""

from __future__ import annotations

import pytest

import gpuhub
from gpuhub import GPUHubClient, ListingStatus, PriceUnit

TERMS = dict(gpu_model="A100", capacity=80, price=10**15, unit=PriceUnit.HOUR, max_duration=24)


def test_batch_lands_as_one_transaction(client: GPUHubClient) -> None:
    """Creates, updates and status changes in one batch land in one transaction, each right."""
    first = client.create_listing(**TERMS)
    second = client.create_listing(**{**TERMS, "gpu_model": "H100"})
    block = client.block_number()
    batch = client.batch()
    for i in range(3):
        batch.create_listing(gpu_model=f"L4 #{i}", capacity=24, price=10**14 + i)
    batch.update_listing(first.listing_id, price=3 * 10**15, max_duration=48)
    batch.fulfill_request(second.listing_id)
    results = batch.send()
    assert client.block_number() == block + 1
    assert [r.gpu_model for r in results[:3]] == ["L4 #0", "L4 #1", "L4 #2"]
    assert [r.listing_id for r in results[:3]] == [2, 3, 4]
    assert [r.price for r in results[:3]] == [10**14, 10**14 + 1, 10**14 + 2]
    assert (results[3].price, results[3].max_duration, results[3].gpu_model) == (
        3 * 10**15,
        48,
        "A100",
    )
    assert results[4].status is ListingStatus.UNAVAILABLE
    assert results == [client.get_listing(r.listing_id) for r in results]
    assert all(r.provider == client.address for r in results)


def test_failing_call_reverts_the_batch(client: GPUHubClient, stranger: GPUHubClient) -> None:
    """One call the contract refuses reverts the whole batch with that call's typed error."""
    theirs = stranger.create_listing(**TERMS)
    batch = client.batch()
    batch.create_listing(**TERMS)
    batch.remove_listing(theirs.listing_id)
    with pytest.raises(gpuhub.NotListingProvider) as exc:
        batch.send()
    assert (exc.value.listing_id, exc.value.caller) == (theirs.listing_id, client.address)
    assert client.listing_count() == 1
    assert client.get_listing(theirs.listing_id) == theirs


def test_empty_batch_is_refused(client: GPUHubClient) -> None:
    """Sending a batch with nothing in it raises ValidationError and sends nothing."""
    with pytest.raises(gpuhub.ValidationError) as exc:
        client.batch().send()
    assert exc.value.field == "batch"


def test_bad_arguments_are_refused_when_added(client: GPUHubClient) -> None:
    """A batch checks each operation's arguments as it is added."""
    with pytest.raises(gpuhub.ValidationError) as exc:
        client.batch().create_listing(gpu_model="", capacity=1, price=1)
    assert exc.value.field == "gpu_model"

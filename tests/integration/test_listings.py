"""Every listing operation, happy path and each revert, on the embedded chain and on anvil."""

from __future__ import annotations

import pytest

import gpuhub
from gpuhub import (
    GPUHubClient,
    InvalidStatusTransition,
    ListingNotFound,
    ListingStatus,
    NotListingProvider,
    PriceUnit,
)


def make(client: GPUHubClient, **overrides: object) -> gpuhub.Listing:
    fields: dict[str, object] = {
        "gpu_model": "NVIDIA RTX 4090",
        "capacity": 24,
        "price": 10**14,
        "unit": PriceUnit.HOUR,
        "min_duration": 1,
        "max_duration": 48,
    }
    fields.update(overrides)
    return client.create_listing(**fields)  # type: ignore[arg-type]


def test_create_returns_the_stored_listing(client: GPUHubClient) -> None:
    """create_listing returns exactly what get_listing reads back."""
    listing = make(client)
    assert listing.listing_id == 0
    assert listing.provider == client.address
    assert listing.status is ListingStatus.AVAILABLE and listing.is_available
    assert client.get_listing(0) == listing
    assert client.listing_count() == 1


def test_ids_count_up(client: GPUHubClient) -> None:
    """Listing ids are consecutive from 0."""
    ids = [make(client, capacity=c).listing_id for c in (8, 16, 24)]
    assert ids == [0, 1, 2]
    assert client.listing_count() == 3


@pytest.mark.parametrize(
    "model", ["A", "x" * 20, "y" * 21, "z" * 52, "w" * 53, "v" * 64, "RTX 4090 — ü"]
)
def test_model_names_round_trip(client: GPUHubClient, model: str) -> None:
    """Model names of every packed length (1, 20, 21, 52, 53, 64 bytes, UTF-8) read back intact."""
    listing = make(client, gpu_model=model)
    assert client.get_listing(listing.listing_id).gpu_model == model


def test_update_changes_every_field(client: GPUHubClient) -> None:
    """update_listing replaces the fields given and keeps the others."""
    listing = make(client, gpu_model="x" * 60)
    updated = client.update_listing(
        listing.listing_id,
        gpu_model="A100",
        capacity=80,
        price=7,
        unit=PriceUnit.DAY,
        min_duration=2,
        max_duration=3,
    )
    assert (updated.gpu_model, updated.capacity, updated.price) == ("A100", 80, 7)
    assert (updated.unit, updated.min_duration, updated.max_duration) == (PriceUnit.DAY, 2, 3)
    assert client.get_listing(listing.listing_id) == updated
    again = client.update_listing(listing.listing_id, price=9)
    assert again.price == 9 and again.gpu_model == "A100"


def test_update_keeps_the_status(client: GPUHubClient) -> None:
    """Updating an UNAVAILABLE listing leaves it UNAVAILABLE."""
    listing = make(client)
    client.fulfill_request(listing.listing_id)
    assert client.update_listing(listing.listing_id, price=1).status is ListingStatus.UNAVAILABLE


def test_availability_round_trip(client: GPUHubClient) -> None:
    """fulfill_request makes a listing UNAVAILABLE and mark_available brings it back."""
    listing = make(client)
    assert client.fulfill_request(listing.listing_id).status is ListingStatus.UNAVAILABLE
    assert client.mark_available(listing.listing_id).status is ListingStatus.AVAILABLE


def test_remove(client: GPUHubClient) -> None:
    """remove_listing marks a listing REMOVED; it stays readable."""
    listing = make(client)
    assert client.remove_listing(listing.listing_id).status is ListingStatus.REMOVED
    assert client.get_listing(listing.listing_id).status is ListingStatus.REMOVED


def test_remove_unavailable(client: GPUHubClient) -> None:
    """An UNAVAILABLE listing can be removed too."""
    listing = make(client)
    client.fulfill_request(listing.listing_id)
    assert client.remove_listing(listing.listing_id).status is ListingStatus.REMOVED


@pytest.mark.parametrize(
    "op", ["update_listing", "fulfill_request", "mark_available", "remove_listing"]
)
def test_stranger_is_refused(client: GPUHubClient, stranger: GPUHubClient, op: str) -> None:
    """Only the provider may change a listing; the listing is left as it was."""
    listing = make(client)
    if op == "mark_available":
        listing = client.fulfill_request(listing.listing_id)
    kwargs = {"price": 1} if op == "update_listing" else {}
    with pytest.raises(NotListingProvider) as exc:
        getattr(stranger, op)(listing.listing_id, **kwargs)
    assert exc.value.listing_id == listing.listing_id
    assert exc.value.caller == stranger.address
    assert client.get_listing(listing.listing_id) == listing


@pytest.mark.parametrize("op", ["fulfill_request", "mark_available", "remove_listing"])
def test_unknown_id(client: GPUHubClient, op: str) -> None:
    """Writes to an id that does not exist raise ListingNotFound with the id."""
    with pytest.raises(ListingNotFound) as exc:
        getattr(client, op)(5)
    assert exc.value.listing_id == 5


def test_get_unknown_id(client: GPUHubClient) -> None:
    """get_listing of an unknown id raises ListingNotFound."""
    make(client)
    with pytest.raises(ListingNotFound) as exc:
        client.get_listing(1)
    assert exc.value.listing_id == 1


def test_make_available_twice(client: GPUHubClient) -> None:
    """Making an AVAILABLE listing available is an InvalidStatusTransition."""
    listing = make(client)
    with pytest.raises(InvalidStatusTransition) as exc:
        client.mark_available(listing.listing_id)
    assert exc.value.current is ListingStatus.AVAILABLE
    assert exc.value.requested is ListingStatus.AVAILABLE


def test_fulfill_twice(client: GPUHubClient) -> None:
    """Marking an UNAVAILABLE listing unavailable again is refused."""
    listing = make(client)
    client.fulfill_request(listing.listing_id)
    with pytest.raises(InvalidStatusTransition) as exc:
        client.fulfill_request(listing.listing_id)
    assert exc.value.current is ListingStatus.UNAVAILABLE


@pytest.mark.parametrize(
    "op", ["update_listing", "fulfill_request", "mark_available", "remove_listing"]
)
def test_removed_listing_is_frozen(client: GPUHubClient, op: str) -> None:
    """Nothing changes a REMOVED listing."""
    listing = client.remove_listing(make(client).listing_id)
    kwargs = {"price": 1} if op == "update_listing" else {}
    with pytest.raises(InvalidStatusTransition) as exc:
        getattr(client, op)(listing.listing_id, **kwargs)
    assert exc.value.current is ListingStatus.REMOVED
    assert client.get_listing(listing.listing_id) == listing


def test_list_gpus_filters(client: GPUHubClient) -> None:
    """list_gpus keeps available listings under max_price with at least min_capacity."""
    cheap_small = make(client, capacity=8, price=5)
    cheap_big = make(client, capacity=80, price=5)
    dear_big = make(client, capacity=80, price=500)
    hidden = make(client, capacity=80, price=5)
    client.fulfill_request(hidden.listing_id)
    assert client.list_gpus(max_price=10, min_capacity=16) == [cheap_big]
    assert client.list_gpus() == [cheap_small, cheap_big, dear_big]
    everything = client.list_gpus(available_only=False)
    assert [x.listing_id for x in everything] == [0, 1, 2, 3]


def test_list_gpus_across_units(client: GPUHubClient) -> None:
    """With price_unit, max_price compares prices converted exactly between units."""
    per_minute = make(client, price=2, unit=PriceUnit.MINUTE)  # 120 per hour
    per_hour = make(client, price=100, unit=PriceUnit.HOUR)
    per_day = make(client, price=2400, unit=PriceUnit.DAY)  # 100 per hour
    assert client.list_gpus(max_price=100, price_unit=PriceUnit.HOUR) == [per_hour, per_day]
    assert client.list_gpus(max_price=120, price_unit=PriceUnit.HOUR) == [
        per_minute,
        per_hour,
        per_day,
    ]


def test_paged_read_spans_pages(client: GPUHubClient) -> None:
    """Paged reads return every listing once, in order, whatever the page size."""
    for i in range(7):
        make(client, capacity=i + 1)
    for size in (1, 3, 7, 100):
        assert [x.capacity for x in client.list_listings(page_size=size)] == list(range(1, 8))


def test_empty_marketplace(client: GPUHubClient) -> None:
    """A new marketplace has no listings."""
    assert client.listing_count() == 0
    assert client.list_gpus() == []


def test_pending_transaction(client: GPUHubClient) -> None:
    """wait=False returns a PendingTransaction whose result is the listing."""
    pending = client.create_listing(gpu_model="A100", capacity=80, price=3, wait=False)
    assert pending.tx_hash.startswith("0x") and len(pending.tx_hash) == 66
    assert pending.result().gpu_model == "A100"


def test_local_account_signs(client: GPUHubClient) -> None:
    """A LocalAccount signs locally and becomes the provider."""
    from eth_account import Account

    account = Account.create()
    fund = {"from": client.address, "to": account.address, "value": 10**18}
    # anvil may answer the send before mining it: wait, or the new account may still be empty.
    client.w3.eth.wait_for_transaction_receipt(client.w3.eth.send_transaction(fund))
    provider = client.with_account(account)
    listing = make(provider)
    assert listing.provider == account.address
    assert provider.fulfill_request(listing.listing_id).status is ListingStatus.UNAVAILABLE
    assert account.key.hex() not in repr(provider)


def test_read_only_client_refuses_writes(client: GPUHubClient) -> None:
    """A client without an account reads but refuses to send."""
    make(client)
    reader = GPUHubClient(client.w3, client.contract_address)
    assert reader.listing_count() == 1
    with pytest.raises(gpuhub.GPUHubError, match="read-only"):
        reader.fulfill_request(0)


def test_no_contract_at_address(client: GPUHubClient) -> None:
    """Pointing the client at an address without code raises ContractNotDeployed."""
    with pytest.raises(gpuhub.ContractNotDeployed, match="deploy"):
        GPUHubClient(client.w3, client.accounts[3])


def test_gas_override(client: GPUHubClient) -> None:
    """An explicit gas limit too small for the call makes it revert with TransactionReverted."""
    with pytest.raises(gpuhub.TransactionReverted):
        make(client, gas=30_000)
    assert client.listing_count() == 0
    assert make(client, gas=200_000).listing_id == 0

"""Bad input: refused in Python before sending and by the contract itself, losing nothing."""

from __future__ import annotations

from typing import Any

import pytest

import gpuhub
from gpuhub import GPUHubClient, PriceUnit, ValidationError
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder, translate

GOOD: dict[str, Any] = dict(
    gpu_model="A100", capacity=80, price=10, unit=PriceUnit.HOUR, min_duration=1, max_duration=5
)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gpu_model", ""),
        ("gpu_model", "x" * 65),
        ("capacity", 0),
        ("capacity", 70_000),
        ("price", -1),
        ("price", 0),
        ("unit", 7),
        ("min_duration", 0),
        ("max_duration", 0),
    ],
)
def test_client_refuses_before_sending(client: GPUHubClient, field: str, value: object) -> None:
    """The client raises ValidationError for each invalid field and sends nothing."""
    nonce = client.w3.eth.get_transaction_count(client.address)
    with pytest.raises(ValidationError) as exc:
        client.create_listing(**{**GOOD, field: value})
    assert exc.value.field == field
    assert client.w3.eth.get_transaction_count(client.address) == nonce
    assert client.listing_count() == 0


@pytest.mark.parametrize(
    ("args", "error", "attrs"),
    [
        (("", 80, 10, 1, 1, 5), gpuhub.InvalidGpuModel, {"length": 0}),
        (("x" * 65, 80, 10, 1, 1, 5), gpuhub.InvalidGpuModel, {"length": 65}),
        (("A100", 0, 10, 1, 1, 5), gpuhub.InvalidCapacity, {"capacity": 0}),
        (("A100", 2**16, 10, 1, 1, 5), gpuhub.InvalidCapacity, {"capacity": 2**16}),
        (("A100", 80, 0, 1, 1, 5), gpuhub.InvalidPrice, {"price": 0}),
        (("A100", 80, 2**96, 1, 1, 5), gpuhub.InvalidPrice, {"price": 2**96}),
        (("A100", 80, 10, 3, 1, 5), gpuhub.InvalidUnit, {"unit": 3}),
        (("A100", 80, 10, 1, 0, 5), gpuhub.InvalidDurationRange, {"min_duration": 0}),
        (
            ("A100", 80, 10, 1, 6, 5),
            gpuhub.InvalidDurationRange,
            {"min_duration": 6, "max_duration": 5},
        ),
        (("A100", 80, 10, 1, 1, 2**24), gpuhub.InvalidDurationRange, {"max_duration": 2**24}),
    ],
)
def test_contract_refuses_bad_fields(
    client: GPUHubClient,
    args: tuple[Any, ...],
    error: type[gpuhub.ContractError],
    attrs: dict[str, int],
) -> None:
    """Sent straight to the contract, each invalid field reverts with the custom error naming it."""
    fn = client.contract.functions.createListing(*args)
    with pytest.raises(error) as exc, translate(ErrorDecoder(abi())):
        fn.transact({"from": client.address})
    for name, value in attrs.items():
        assert getattr(exc.value, name) == value
    assert client.listing_count() == 0


def test_contract_refuses_bad_update(client: GPUHubClient) -> None:
    """updateListing straight against the contract checks fields too and keeps the old terms."""
    listing = client.create_listing(**GOOD)
    fn = client.contract.functions.updateListing(listing.listing_id, "A100", 80, 0, 1, 1, 5)
    with pytest.raises(gpuhub.InvalidPrice), translate(ErrorDecoder(abi())):
        fn.transact({"from": client.address})
    assert client.get_listing(listing.listing_id) == listing


def test_refused_write_costs_nothing(client: GPUHubClient, stranger: GPUHubClient) -> None:
    """A refused write is caught before sending: state and the sender's balance are unchanged."""
    listing = client.create_listing(**GOOD)
    before = client.w3.eth.get_balance(stranger.address)
    with pytest.raises(gpuhub.NotListingProvider):
        stranger.remove_listing(listing.listing_id)
    assert client.w3.eth.get_balance(stranger.address) == before
    assert client.get_listing(listing.listing_id) == listing


def test_too_little_gas(client: GPUHubClient) -> None:
    """A gas limit the write cannot run within raises OutOfGas, and the listing is not created."""
    with pytest.raises(gpuhub.OutOfGas) as exc:
        client.create_listing(**GOOD, gas=40_000)
    assert "40000 gas" in str(exc.value) and exc.value.tx_hash is not None
    assert client.listing_count() == 0
    assert client.create_listing(**GOOD).listing_id == 0


@pytest.mark.parametrize("bad", [-1, True, "3", 1.0, None])
def test_bad_listing_id(client: GPUHubClient, bad: object) -> None:
    """A listing id that is not a non-negative integer is a ValidationError."""
    with pytest.raises(ValidationError) as exc:
        client.get_listing(bad)  # type: ignore[arg-type]
    assert exc.value.field == "listing_id"

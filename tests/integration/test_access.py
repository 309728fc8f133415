"""The access handoff on both chains: request, grant, read; who may, and who can read."""

from __future__ import annotations

import asyncio
import base64
import threading
import time

import pytest
from eth_account import Account

import gpuhub
from gpuhub import GPUHubClient, PriceUnit, events
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder, translate
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode

DETAILS = "ssh -p 2222 root@203.0.113.7"


def ssh_key(comment: str = "renter@laptop") -> str:
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


@pytest.fixture
def provider(client: GPUHubClient) -> GPUHubClient:
    """A provider with one AVAILABLE listing (id 0), 1..10 hours."""
    provider = client.with_account(client.accounts[1])
    provider.create_listing(
        gpu_model="NVIDIA A100", capacity=80, price=10**15, unit=PriceUnit.HOUR, max_duration=10
    )
    return provider


@pytest.fixture
def renter(client: GPUHubClient) -> GPUHubClient:
    return client.with_account(client.accounts[2])


@pytest.fixture
def rental_id(provider: GPUHubClient, renter: GPUHubClient) -> int:
    """A running rental of listing 0 by the renter, for two hours."""
    return renter.rent(0, 2).rental_id


def raw(client: GPUHubClient, fn: str, *args: object) -> None:
    """Send straight to the contract, bypassing the client's checks; reverts come back typed."""
    with translate(ErrorDecoder(abi())):
        client.contract.functions[fn](*args).transact({"from": client.address})


def test_handoff(provider: GPUHubClient, renter: GPUHubClient, rental_id: int) -> None:
    """The renter requests, the provider grants, the renter reads the details."""
    renter.request_access(rental_id, ssh_key=ssh_key())
    assert renter.access(rental_id) is None
    provider.grant_access(rental_id, DETAILS)
    assert renter.access(rental_id) == DETAILS


def test_request_carries_keys(provider: GPUHubClient, renter: GPUHubClient, rental_id: int) -> None:
    """The request event holds the rental's public key and the SSH key without its comment."""
    renter.request_access(rental_id, ssh_key=ssh_key())
    (event,) = renter.get_events(0, event_types=[events.AccessRequested])
    assert isinstance(event, events.AccessRequested) and event.rental_id == rental_id
    assert gpuhub._access.decode_request(event.payload)[1] == ssh_key().rsplit(" ", 1)[0]


def test_details_survive_a_restart(
    client: GPUHubClient, provider: GPUHubClient, rental_id: int
) -> None:
    """A new client for the same account (a new shell) reads the details: nothing was stored."""
    renter = client.with_account(client.accounts[2])
    renter.request_access(rental_id)
    provider.grant_access(rental_id, DETAILS)
    again = GPUHubClient(client.w3, client.contract_address, account=client.accounts[2])
    assert again.access(rental_id) == DETAILS


def test_local_key_renter(client: GPUHubClient, provider: GPUHubClient) -> None:
    """A renter signing with a local key derives the same rental key in a new client."""
    key = Account.create()
    funding = {"from": client.accounts[0], "to": key.address, "value": 10**18}
    client.w3.eth.wait_for_transaction_receipt(client.w3.eth.send_transaction(funding))  # type: ignore[arg-type]
    renter = client.with_account(key)
    rental_id = renter.rent(0, 1).rental_id
    renter.request_access(rental_id, ssh_key=ssh_key())
    provider.grant_access(rental_id, DETAILS)
    fresh = GPUHubClient(client.w3, client.contract_address, account=Account.from_key(key.key))
    assert fresh.access(rental_id) == DETAILS


def test_nobody_else_reads(
    client: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient, rental_id: int
) -> None:
    """A third account and the provider read nothing; the events hold no plaintext."""
    renter.request_access(rental_id, ssh_key=ssh_key())
    provider.grant_access(rental_id, DETAILS)
    stranger = client.with_account(client.accounts[5])
    assert stranger.access(rental_id) is None
    assert provider.access(rental_id) is None
    published = b"".join(
        e.payload
        for e in client.get_events(0, event_types=[events.AccessRequested, events.AccessGranted])
        if isinstance(e, events.AccessRequested | events.AccessGranted)
    )
    assert DETAILS.encode() not in published and b"203.0.113.7" not in published


def test_own_access_key(provider: GPUHubClient, renter: GPUHubClient, rental_id: int) -> None:
    """A renter that brings its own key (a contract wallet) reads with that key only."""
    own = bytes(range(1, 33))
    renter.request_access(rental_id, access_key=own)
    provider.grant_access(rental_id, DETAILS)
    assert renter.access(rental_id, access_key=own) == DETAILS
    assert renter.access(rental_id) is None


def test_newest_grant_wins(provider: GPUHubClient, renter: GPUHubClient, rental_id: int) -> None:
    """When the provider grants again (new details), the renter reads the newest."""
    renter.request_access(rental_id)
    provider.grant_access(rental_id, DETAILS)
    provider.grant_access(rental_id, "ssh -p 2223 root@203.0.113.7")
    assert renter.access(rental_id) == "ssh -p 2223 root@203.0.113.7"


def test_stranger_cannot_request(
    client: GPUHubClient, provider: GPUHubClient, rental_id: int
) -> None:
    """Only the renter may request access: anyone else gets NotRenter."""
    for other in (client.with_account(client.accounts[5]), provider):
        with pytest.raises(gpuhub.NotRenter) as exc:
            other.request_access(rental_id)
        assert (exc.value.rental_id, exc.value.caller) == (rental_id, other.address)


def test_only_provider_grants(client: GPUHubClient, renter: GPUHubClient, rental_id: int) -> None:
    """Only the listing's provider may grant: the renter and a stranger get NotListingProvider."""
    renter.request_access(rental_id)
    for other in (client.with_account(client.accounts[5]), renter):
        with pytest.raises(gpuhub.NotListingProvider) as exc:
            other.grant_access(rental_id, DETAILS)
        assert (exc.value.listing_id, exc.value.caller) == (0, other.address)


def test_unknown_rental(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Requests and grants for a rental that does not exist are RentalNotFound."""
    with pytest.raises(gpuhub.RentalNotFound) as exc:
        renter.request_access(9)
    assert exc.value.rental_id == 9
    with pytest.raises(gpuhub.RentalNotFound):
        provider.grant_access(9, DETAILS, public_key=gpuhub._access.public_key_of(bytes([7]) * 32))


def test_no_request_after_end(provider: GPUHubClient, renter: GPUHubClient, rental_id: int) -> None:
    """A rental that is over takes no request (RentalNotActive), but may still be granted."""
    renter.request_access(rental_id)
    renter.end_rental(rental_id)
    with pytest.raises(gpuhub.RentalNotActive) as exc:
        renter.request_access(rental_id)
    assert exc.value.rental_id == rental_id
    provider.grant_access(rental_id, DETAILS)
    assert renter.access(rental_id) == DETAILS


def test_no_request_after_expiry(
    client: GPUHubClient, renter: GPUHubClient, rental_id: int
) -> None:
    """Past its end time (not settled yet) a rental takes no request: RentalExpired."""
    client.chain.advance_time(3 * 3600)
    with pytest.raises(gpuhub.RentalExpired) as exc:
        renter.request_access(rental_id)
    assert exc.value.rental_id == rental_id


def test_payload_cap(provider: GPUHubClient, renter: GPUHubClient, rental_id: int) -> None:
    """The contract refuses payloads over MAX_ACCESS_PAYLOAD, typed, from either side."""
    assert renter.contract.functions.MAX_ACCESS_PAYLOAD().call() == 1024
    raw(renter, "requestAccess", rental_id, b"\x01" * 1024)
    with pytest.raises(gpuhub.AccessPayloadTooLong) as exc:
        raw(renter, "requestAccess", rental_id, b"\x01" * 1025)
    assert (exc.value.length, exc.value.max_length) == (1025, 1024)
    with pytest.raises(gpuhub.AccessPayloadTooLong):
        raw(provider, "grantAccess", rental_id, b"\x01" * 1025)


def test_grant_needs_a_request(provider: GPUHubClient, rental_id: int) -> None:
    """Granting before any request says so, naming the rental; nothing is sent."""
    with pytest.raises(gpuhub.ValidationError, match="no access request") as exc:
        provider.grant_access(rental_id, DETAILS)
    assert exc.value.field == "rental_id"


def test_hostile_request_skipped(
    provider: GPUHubClient, renter: GPUHubClient, rental_id: int
) -> None:
    """A request that does not decode is skipped: the grant goes to the newest valid one."""
    renter.request_access(rental_id)
    raw(renter, "requestAccess", rental_id, b"\x01" + b"\xff" * 40)
    provider.grant_access(rental_id, DETAILS)
    assert renter.access(rental_id) == DETAILS


@pytest.mark.anvil
def test_access_waits(anvil_node: AnvilNode) -> None:
    """access(timeout=...) waits for a grant that comes later."""
    w3 = anvil_node.web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    provider = client.with_account(client.accounts[1])
    provider.create_listing(gpu_model="L4", capacity=24, price=10**15)
    renter = client.with_account(client.accounts[2])
    rental_id = renter.rent(0, 1).rental_id
    renter.request_access(rental_id)
    later = threading.Timer(1.0, lambda: provider.grant_access(rental_id, DETAILS))
    later.start()
    began = time.monotonic()
    assert renter.access(rental_id, timeout=20) == DETAILS
    assert 0.9 < time.monotonic() - began < 10
    later.join()


def test_async_handoff() -> None:
    """The async client requests, grants and reads as the sync one does."""

    async def scenario() -> None:
        client = await AsyncGPUHubClient.local()
        accounts = await client.accounts()
        provider, renter = client.with_account(accounts[1]), client.with_account(accounts[2])
        await provider.create_listing(gpu_model="L4", capacity=24, price=10**15)
        rental = await renter.rent(0, 1)
        await renter.request_access(rental.rental_id, ssh_key=ssh_key())  # type: ignore[union-attr]
        await provider.grant_access(rental.rental_id, DETAILS)  # type: ignore[union-attr]
        assert await renter.access(rental.rental_id) == DETAILS  # type: ignore[union-attr]
        assert await client.with_account(accounts[5]).access(rental.rental_id) is None  # type: ignore[union-attr]

    asyncio.run(scenario())

"""Webhook delivery to a real local receiver (http.server on 127.0.0.1) from the embedded chain."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.chain import embedded_web3
from gpuhub.webhooks import Outbox, WebhookDispatcher, verify

if TYPE_CHECKING:
    from conftest import Receiver


@pytest.fixture
def chain() -> GPUHubClient:
    """A marketplace on a fresh embedded chain, governed by its deployer directly (so its
    history holds only the events a test makes)."""
    w3 = embedded_web3()
    return GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])


def list_gpu(client: GPUHubClient, model: str = "NVIDIA A100") -> None:
    client.create_listing(
        gpu_model=model, capacity=80, price=10**12, unit=PriceUnit.HOUR, max_duration=10
    )


def wait_until(done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def all_delivered(outbox: Outbox, endpoint_id: int) -> bool:
    """True once the endpoint has messages and every one is acknowledged."""
    messages = outbox.messages(endpoint_id)
    return bool(messages) and all(m.delivered_at is not None for m in messages)


def outbox_at(path: Path, **options: float) -> Outbox:
    return Outbox(path, retry_first=0.05, retry_max=0.2, **options)


def test_delivery_is_signed_and_verifiable(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """A chain event reaches the receiver with a Standard Webhooks signature that verifies."""
    outbox = outbox_at(tmp_path / "hooks.db")
    endpoint = outbox.add_endpoint(receiver.url)
    with WebhookDispatcher(chain, outbox, poll_interval=0.01):
        wait_until(lambda: outbox.next_block() is not None)
        list_gpu(chain)
        wait_until(lambda: len(receiver.received) == 1)
    headers, body = receiver.received[0]
    payload = verify(body, headers, endpoint.secret)
    assert payload["type"] == "ListingCreated"
    assert payload["data"]["args"]["listingId"] == 0
    assert payload["data"]["args"]["unit"] == "HOUR"
    assert outbox.messages(endpoint.endpoint_id)[0].delivered_at is not None


def test_retries_on_500_until_acknowledged(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """Two 500 answers are retried; the failures are recorded; the id is the same each time."""
    outbox = outbox_at(tmp_path / "hooks.db")
    endpoint = outbox.add_endpoint(receiver.url)
    receiver.script = [500, 500]
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        wait_until(lambda: all_delivered(outbox, endpoint.endpoint_id))
    assert len(set(receiver.ids())) == 1
    failures = outbox.attempts(endpoint.endpoint_id, failed_only=True)
    assert [(f.status, f.error) for f in failures] == [(500, "HTTP 500")] * 2
    assert outbox.messages(endpoint.endpoint_id)[0].attempts == 3


def test_retries_after_a_timeout(chain: GPUHubClient, receiver: Receiver, tmp_path: Path) -> None:
    """An answer slower than the timeout counts as a failure and the message is sent again."""
    outbox = outbox_at(tmp_path / "hooks.db", timeout=0.3)
    endpoint = outbox.add_endpoint(receiver.url)
    receiver.script = [1.0]
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        wait_until(lambda: all_delivered(outbox, endpoint.endpoint_id))
    (failure,) = outbox.attempts(endpoint.endpoint_id, failed_only=True)
    assert failure.status is None and "no answer" in (failure.error or "")
    assert len(receiver.received) == 2 and len(set(receiver.ids())) == 1


def test_410_disables_the_endpoint(chain: GPUHubClient, receiver: Receiver, tmp_path: Path) -> None:
    """A 410 answer disables the endpoint: nothing more is sent to it."""
    outbox = outbox_at(tmp_path / "hooks.db")
    endpoint = outbox.add_endpoint(receiver.url)
    receiver.script = [410]
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        wait_until(lambda: not outbox.get_endpoint(endpoint.endpoint_id).enabled)
        list_gpu(chain, "later")
        time.sleep(0.3)
    gone = outbox.get_endpoint(endpoint.endpoint_id)
    assert gone.disabled_reason == "the receiver answered 410 Gone"
    assert len(receiver.received) == 1 and gone.pending == 1


def test_restart_mid_backlog_loses_nothing(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """Events piled up while the receiver is down arrive in order after the server restarts."""
    receiver.stop()
    path = tmp_path / "hooks.db"
    outbox = outbox_at(path)
    endpoint = outbox.add_endpoint(receiver.url)
    dispatcher = WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01).start()
    for i in range(3):
        list_gpu(chain, f"GPU {i}")
    wait_until(lambda: len(outbox.messages(endpoint.endpoint_id)) == 3)
    wait_until(lambda: outbox.get_endpoint(endpoint.endpoint_id).failing_attempts > 0)
    dispatcher.stop()
    outbox.close()
    for i in range(3, 5):  # while the server is down
        list_gpu(chain, f"GPU {i}")
    receiver.start()
    try:
        reopened = outbox_at(path)
        with WebhookDispatcher(chain, reopened, poll_interval=0.01):
            wait_until(lambda: len(set(receiver.ids())) == 5)
            time.sleep(0.2)
    finally:
        receiver.stop()
    models = [p["data"]["args"]["gpuModel"] for p in receiver.payloads()]  # type: ignore[index]
    assert models == [f"GPU {i}" for i in range(5)]
    assert len(receiver.ids()) == 5


def test_event_filter(chain: GPUHubClient, receiver: Receiver, tmp_path: Path) -> None:
    """An endpoint with an event filter receives only those events."""
    outbox = outbox_at(tmp_path / "hooks.db")
    outbox.add_endpoint(receiver.url, event_types=["RentalStarted"])
    renter = chain.with_account(chain.accounts[2])
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        renter.rent(0, 1)
        wait_until(lambda: len(receiver.received) == 1)
        time.sleep(0.2)
    assert [p["type"] for p in receiver.payloads()] == ["RentalStarted"]


def test_outbox_file_is_private(tmp_path: Path) -> None:
    """A new outbox file (it holds the signing secrets) and its WAL are the owner's alone."""
    path = tmp_path / "hooks.db"
    outbox = outbox_at(path)
    outbox.add_endpoint("http://127.0.0.1:9/hook")
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in tmp_path.iterdir()}
    outbox.close()
    assert {"hooks.db", "hooks.db-wal"} <= modes.keys()
    assert set(modes.values()) == {0o600}


def test_backoff_stays_bounded_after_many_failures(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """A message that has failed two thousand times is retried at ``retry_max``, and the outbox
    keeps working (the doubling must not overflow)."""
    import sqlite3

    path = tmp_path / "hooks.db"
    outbox = outbox_at(path)
    endpoint = outbox.add_endpoint(receiver.url)
    list_gpu(chain)
    outbox.enqueue(chain.get_events(0))
    with sqlite3.connect(path) as db:  # an endpoint that has been down for months
        db.execute("UPDATE messages SET attempts = 2000")
    receiver.script = [500]
    before = time.time()
    assert outbox.deliver_due() == 0
    (message,) = outbox.messages(endpoint.endpoint_id)
    assert message.attempts == 2001
    assert message.next_attempt_at is not None
    assert message.next_attempt_at <= before + 0.2 + 1
    assert outbox.deliver_due(now=message.next_attempt_at) == 1

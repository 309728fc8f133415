"""Webhook delivery to a real local receiver (http.server on 127.0.0.1) from the embedded chain."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _nodes import ErringProxy

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.chain import AnvilNode, embedded_web3
from gpuhub.webhooks import Outbox, WebhookDispatcher, verify

if TYPE_CHECKING:
    from conftest import RawReceiver, Receiver


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


def outbox_at(path: Path, **options: Any) -> Outbox:
    """An outbox with quick retries that may deliver to the receivers on 127.0.0.1."""
    return Outbox(path, retry_first=0.05, retry_max=0.2, allow_private=True, **options)


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
    assert (failure.status, failure.error) == (None, "no complete answer within 0.3 s")
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


# ---------------------------------------------------------------- hostile receivers


NOT_HTTP = {
    "a non-HTTP status line": {"answer": b"HELLO FROM NOT-HTTP\r\n\r\n"},
    "a reset": {"reset": True},
    "a malformed header": {"answer": b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n"},
    "no answer at all": {"answer": b""},
}


@pytest.mark.parametrize("answer", NOT_HTTP.values(), ids=NOT_HTTP.keys())
def test_a_broken_answer_fails_one_delivery_only(
    chain: GPUHubClient,
    receiver: Receiver,
    raw_receiver: Callable[..., RawReceiver],
    tmp_path: Path,
    answer: dict[str, Any],
) -> None:
    """A receiver answering something that is not HTTP fails its own delivery, which is retried
    and recorded, while another endpoint gets its message."""
    hostile = raw_receiver(**answer)
    outbox = outbox_at(tmp_path / "hooks.db")
    bad = outbox.add_endpoint(hostile.url)
    good = outbox.add_endpoint(receiver.url)
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        wait_until(lambda: all_delivered(outbox, good.endpoint_id))
        wait_until(lambda: len(outbox.attempts(bad.endpoint_id)) >= 2)
    failures = outbox.attempts(bad.endpoint_id)
    assert all(f.status is None and f.error for f in failures)
    assert outbox.get_endpoint(bad.endpoint_id).pending == 1


def test_a_tls_failure_fails_one_delivery_only(
    chain: GPUHubClient,
    receiver: Receiver,
    raw_receiver: Callable[..., RawReceiver],
    tmp_path: Path,
) -> None:
    """An https:// endpoint whose server does not speak TLS fails its own delivery, recorded,
    while another endpoint gets its message."""
    plain = raw_receiver(b"HTTP/1.1 204 No Content\r\n\r\n")
    outbox = outbox_at(tmp_path / "hooks.db")
    bad = outbox.add_endpoint(plain.url.replace("http://", "https://"))
    good = outbox.add_endpoint(receiver.url)
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        wait_until(lambda: all_delivered(outbox, good.endpoint_id))
        wait_until(lambda: len(outbox.attempts(bad.endpoint_id)) >= 1)
    (failure, *_) = outbox.attempts(bad.endpoint_id)
    assert failure.status is None and "TLS" in (failure.error or "")


def test_a_trickling_receiver_is_cut_at_the_deadline(
    chain: GPUHubClient, raw_receiver: Callable[..., RawReceiver], tmp_path: Path
) -> None:
    """A receiver that answers one byte at a time is cut when the delivery's deadline passes,
    however often it sends a byte."""
    trickler = raw_receiver(b"HTTP/1.1 200 OK\r\n" + b"x" * 10_000, trickle=0.05)
    outbox = outbox_at(tmp_path / "hooks.db", timeout=0.5)
    endpoint = outbox.add_endpoint(trickler.url)
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        wait_until(lambda: bool(outbox.attempts(endpoint.endpoint_id)))
    (failure, *_) = outbox.attempts(endpoint.endpoint_id)
    assert (failure.status, failure.error) == (None, "no complete answer within 0.5 s")


def test_a_slow_endpoint_does_not_delay_another(
    chain: GPUHubClient,
    receiver: Receiver,
    raw_receiver: Callable[..., RawReceiver],
    tmp_path: Path,
) -> None:
    """While one endpoint holds its delivery open, another endpoint gets all its messages."""
    trickler = raw_receiver(b"HTTP/1.1 200 OK\r\n" + b"x" * 10_000, trickle=1.0)
    outbox = outbox_at(tmp_path / "hooks.db", timeout=60)
    slow = outbox.add_endpoint(trickler.url)
    fast = outbox.add_endpoint(receiver.url)
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        for i in range(3):
            list_gpu(chain, f"GPU {i}")
        wait_until(lambda: len(receiver.received) == 3)
        assert trickler.open_connections == 1
        assert outbox.attempts(slow.endpoint_id) == []
    assert all_delivered(outbox, fast.endpoint_id)


def test_redirects_are_not_followed(
    chain: GPUHubClient, raw_receiver: Callable[..., RawReceiver], tmp_path: Path
) -> None:
    """A 302 to an internal host is a failed delivery; the internal host is never contacted."""
    internal = raw_receiver(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    redirect = f"HTTP/1.1 302 Found\r\nLocation: {internal.url}\r\nContent-Length: 0\r\n\r\n"
    redirector = raw_receiver(redirect.encode())
    outbox = outbox_at(tmp_path / "hooks.db")
    endpoint = outbox.add_endpoint(redirector.url)
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        wait_until(lambda: len(outbox.attempts(endpoint.endpoint_id)) >= 2)
    failures = outbox.attempts(endpoint.endpoint_id)
    assert {(f.status, f.error) for f in failures} == {(302, "HTTP 302")}
    assert internal.requests == []


def test_deleting_an_endpoint_during_its_delivery(
    chain: GPUHubClient, receiver: Receiver, second_receiver: Receiver, tmp_path: Path
) -> None:
    """An endpoint removed while a delivery to it is in flight leaves the outbox consistent:
    delivery goes on, and an endpoint registered afterwards survives a restart."""
    path = tmp_path / "hooks.db"
    outbox = outbox_at(path)
    doomed = outbox.add_endpoint(receiver.url)
    receiver.script = [1.0]  # holds the delivery open for a second
    with WebhookDispatcher(chain, outbox, from_block=0, poll_interval=0.01):
        list_gpu(chain)
        wait_until(lambda: len(receiver.received) == 1)
        outbox.remove_endpoint(doomed.endpoint_id)
        survivor = outbox.add_endpoint(second_receiver.url)
        time.sleep(1.5)  # the delivery to the removed endpoint ends meanwhile
        list_gpu(chain, "after")
        wait_until(lambda: len(second_receiver.received) == 1)
    outbox.close()
    reopened = outbox_at(path)
    assert [e.endpoint_id for e in reopened.endpoints()] == [survivor.endpoint_id]
    assert reopened.attempts(doomed.endpoint_id) == []


def test_a_stored_invalid_url_disables_its_endpoint(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """An endpoint whose stored URL cannot be parsed (written before URLs were checked) is
    disabled at its first delivery, saying why; other endpoints still get their messages."""
    path = tmp_path / "hooks.db"
    outbox = outbox_at(path)
    broken = outbox.add_endpoint(receiver.url)
    good = outbox.add_endpoint(receiver.url)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE endpoints SET url = 'http://[::1' WHERE id = ?", (broken.endpoint_id,))
    list_gpu(chain)
    outbox.enqueue(chain.get_events(0))
    assert outbox.deliver_due() == 1
    disabled = outbox.get_endpoint(broken.endpoint_id)
    assert not disabled.enabled and "is not a valid URL" in (disabled.disabled_reason or "")
    assert outbox.get_endpoint(good.endpoint_id).pending == 0


def test_a_worker_that_dies_is_restarted(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """A worker killed by an error (the outbox locked by another process) is restarted, its
    death shows in the health report, and the event it was storing is still delivered."""
    path = tmp_path / "hooks.db"
    outbox = outbox_at(path)
    outbox.add_endpoint(receiver.url)
    dispatcher = WebhookDispatcher(chain, outbox, poll_interval=0.01).start()
    try:
        wait_until(lambda: outbox.next_block() is not None)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        list_gpu(chain)
        wait_until(lambda: dispatcher.health().restarts >= 1, timeout=30)
        other.execute("ROLLBACK")
        other.close()
        wait_until(lambda: len(receiver.received) == 1 and outbox.pending() == 0)
        health = dispatcher.health()
    finally:
        dispatcher.stop()
    assert health.alive and health.last_error == "OperationalError" and health.restarts >= 1


# ---------------------------------------------------------------- where deliveries may go


def test_a_private_target_is_refused_at_delivery(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """An endpoint stored while private targets were allowed is not delivered to once they are
    not: the check is made again at every delivery."""
    path = tmp_path / "hooks.db"
    with outbox_at(path) as allowing:
        endpoint = allowing.add_endpoint(receiver.url)
    outbox = Outbox(path, retry_first=0.05, retry_max=0.2)
    list_gpu(chain)
    outbox.enqueue(chain.get_events(0))
    assert outbox.deliver_due() == 0
    (failure,) = outbox.attempts(endpoint.endpoint_id)
    assert failure.error == "refused: 127.0.0.1 is a loopback address"
    assert receiver.received == []


class Rebinding:
    """A resolver whose answers change: a public address first, then loopback."""

    def __init__(self) -> None:
        self.answers = [["93.184.215.14"], ["127.0.0.1"]]

    def __call__(self, host: str, port: int) -> list[str]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_dns_rebinding_is_refused_at_delivery(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """A host that resolved to a public address at registration and to loopback at delivery
    is refused at delivery; nothing is sent."""
    outbox = Outbox(tmp_path / "hooks.db", resolver=Rebinding())
    endpoint = outbox.add_endpoint(f"http://hooks.example:{receiver.port}/hook")
    list_gpu(chain)
    outbox.enqueue(chain.get_events(0))
    assert outbox.deliver_due() == 0
    (failure,) = outbox.attempts(endpoint.endpoint_id)
    assert failure.error == "refused: hooks.example resolves to 127.0.0.1, a loopback address"
    assert receiver.received == []


def test_delivery_connects_to_the_checked_address(
    chain: GPUHubClient, receiver: Receiver, tmp_path: Path
) -> None:
    """The delivery goes to the address the check resolved (not a second lookup), with the
    endpoint's own host name in the request."""
    outbox = outbox_at(tmp_path / "hooks.db", resolver=lambda host, port: ["127.0.0.1"])
    endpoint = outbox.add_endpoint(f"http://hooks.example:{receiver.port}/hook")
    list_gpu(chain)
    outbox.enqueue(chain.get_events(0))
    assert outbox.deliver_due() == 1
    ((headers, _),) = receiver.received
    assert headers["host"] == f"hooks.example:{receiver.port}"
    assert outbox.get_endpoint(endpoint.endpoint_id).pending == 0


# ---------------------------------------------------------------- the node misbehaving


@pytest.mark.anvil
def test_a_node_error_does_not_end_following(
    anvil_node: AnvilNode, receiver: Receiver, tmp_path: Path
) -> None:
    """JSON-RPC errors on eth_getLogs are retried with backoff, and the event still arrives."""
    from web3 import HTTPProvider, Web3

    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    proxy = ErringProxy(anvil_node.url, failures=3)
    try:
        via_proxy = GPUHubClient(Web3(HTTPProvider(proxy.url)), market.contract_address)
        outbox = outbox_at(tmp_path / "hooks.db")
        outbox.add_endpoint(receiver.url)
        dispatcher = WebhookDispatcher(via_proxy, outbox, poll_interval=0.01).start()
        try:
            wait_until(lambda: outbox.next_block() is not None)
            list_gpu(market)
            wait_until(lambda: len(receiver.received) == 1)
            health = dispatcher.health()
        finally:
            dispatcher.stop()
    finally:
        proxy.close()
    assert proxy.answered_errors == 3
    assert health.alive and health.last_error == "RequestRejected" and health.restarts == 0

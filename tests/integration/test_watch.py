"""client.watch on the embedded chain and anvil: order, filters, confirmations, reorgs, outages."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest
from _nodes import ErringProxy
from web3 import HTTPProvider, Web3

from gpuhub import GPUHubClient, PriceUnit, RequestRejected, ValidationError
from gpuhub import watch as watch_module
from gpuhub.chain import AnvilNode, free_port
from gpuhub.events import ContractEvent, ListingCreated, Rated, RentalEnded, RentalStarted
from gpuhub.models import Role

PRICE = 3_600 * 10**9


def list_gpu(client: GPUHubClient, model: str = "NVIDIA A100") -> int:
    """Create a listing and return its id."""
    listing = client.create_listing(
        gpu_model=model, capacity=80, price=PRICE, unit=PriceUnit.HOUR, max_duration=10
    )
    return listing.listing_id


def take(events: object, count: int) -> list[ContractEvent]:
    """The next ``count`` events of an iterator."""
    return list(itertools.islice(events, count))  # type: ignore[call-overload]


def test_watch_yields_new_events_in_order(client: GPUHubClient) -> None:
    """watch yields the events of blocks mined after it started, in chain order, typed."""
    list_gpu(client, "before")
    with client.watch() as events:
        events.poll_once()
        ids = [list_gpu(client, f"GPU {i}") for i in range(3)]
        got = take(events, 3)
    assert [type(e) for e in got] == [ListingCreated] * 3
    assert [e.listing_id for e in got if isinstance(e, ListingCreated)] == ids
    assert [e.key for e in got] == sorted(e.key for e in got)


def test_watch_from_block_replays_history(client: GPUHubClient) -> None:
    """watch(from_block=0) first yields what is already on the chain."""
    list_gpu(client)
    with client.watch(from_block=0) as events:
        (first,) = take(events, 1)
    assert isinstance(first, ListingCreated) and first.listing_id == 0


def test_watch_filters_by_type_listing_and_account(client: GPUHubClient) -> None:
    """Event types, listing_id and account each narrow what watch yields."""
    provider = client.with_account(client.accounts[1])
    renter = client.with_account(client.accounts[2])
    other = client.with_account(client.accounts[3])
    list_gpu(provider)
    list_gpu(provider)
    by_type = client.watch(RentalStarted, "RentalEnded", from_block=0)
    by_listing = client.watch(from_block=0, listing_id=1)
    by_account = client.watch(from_block=0, account=renter.address)
    rental = renter.rent(1, 1)
    other.rent(0, 1)
    renter.extend_rental(rental.rental_id, 1)
    renter.end_rental(rental.rental_id)
    assert [e.name for e in take(by_type, 3)] == ["RentalStarted", "RentalStarted", "RentalEnded"]
    assert [e.name for e in take(by_listing, 4)] == [
        "ListingCreated",
        "RentalStarted",
        "RentalExtended",
        "RentalEnded",
    ]
    assert [e.name for e in take(by_account, 3)] == [
        "RentalStarted",
        "RentalExtended",
        "RentalEnded",
    ]
    for watch in (by_type, by_listing, by_account):
        watch.close()


def test_watch_rejects_unknown_event_type(client: GPUHubClient) -> None:
    """An unknown event name is a ValidationError naming the known ones."""
    with pytest.raises(ValidationError) as exc:
        client.watch("RentalBegun")
    assert exc.value.field == "event_types" and "RentalStarted" in str(exc.value)


def test_watch_waits_for_confirmations(client: GPUHubClient) -> None:
    """With confirmations=2 an event is yielded only once two blocks are on top of its own."""
    with client.watch(confirmations=2) as events:
        events.poll_once()
        list_gpu(client)
        client.chain.mine()
        assert events.poll_once() == []
        client.chain.mine()
        (event,) = events.poll_once() or []
    assert isinstance(event, ListingCreated) and event.listing_id == 0


def test_close_from_another_thread_ends_iteration(client: GPUHubClient) -> None:
    """close() from another thread ends a watch that is waiting for blocks."""
    events = client.watch(poll_interval=0.01)
    done = threading.Event()

    def consume() -> None:
        for _ in events:
            pass
        done.set()

    threading.Thread(target=consume, daemon=True).start()
    time.sleep(0.1)
    events.close()
    assert done.wait(5)


def test_reorg_retracts_delivered_events(client: GPUHubClient) -> None:
    """Events of blocks a reorganisation dropped are yielded again with removed=True."""
    w3 = client.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    with client.watch() as events:
        events.poll_once()
        list_gpu(client, "old chain")
        (old,) = take(events, 1)
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        other = client.with_account(client.accounts[4])  # a fresh nonce count for the new chain
        client.chain.mine()
        list_gpu(other, "new chain")
        dropped, new = take(events, 2)
    assert dropped.removed and dropped.block_hash == old.block_hash
    assert isinstance(dropped, ListingCreated) and dropped.gpu_model == "old chain"
    assert isinstance(new, ListingCreated) and new.gpu_model == "new chain" and not new.removed


def test_confirmations_hide_shallow_reorgs(client: GPUHubClient) -> None:
    """With confirmations=2 a one-block reorganisation is never seen."""
    w3 = client.w3
    with client.watch(confirmations=2) as events:
        events.poll_once()
        snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        list_gpu(client, "dropped")
        assert events.poll_once() == []
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        other = client.with_account(client.accounts[4])
        list_gpu(other, "kept")
        client.chain.mine()
        client.chain.mine()
        got = take(events, 1)
    assert [e.gpu_model for e in got if isinstance(e, ListingCreated)] == ["kept"]
    assert not got[0].removed


@pytest.mark.anvil
def test_watch_survives_node_restart(tmp_path: Path) -> None:
    """A node stopped and restarted mid-stream: every event is yielded exactly once."""
    node = AnvilNode(port=free_port(), extra_args=("--state", str(tmp_path / "state.json")))
    node.start()
    try:
        w3 = node.web3(timeout=2)
        client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
        events = client.watch(from_block=0, poll_interval=0.01)
        seen: list[ContractEvent] = []
        consumer = threading.Thread(target=lambda: seen.extend(events), daemon=True)
        consumer.start()
        for i in range(3):
            list_gpu(client, f"before {i}")
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        node.stop()
        time.sleep(0.5)  # the watch meets a dead node and backs off
        node.start()
        for i in range(3):
            list_gpu(client, f"after {i}")
        deadline = time.monotonic() + 20
        while len(seen) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # room for a duplicate to show up, if there were one
        events.close()
        consumer.join(10)
    finally:
        node.stop()
    assert [e.listing_id for e in seen if isinstance(e, ListingCreated)] == list(range(6))
    assert len(seen) == 6 and events.retries > 0


def test_rental_end_event_has_the_split(client: GPUHubClient) -> None:
    """A watched RentalEnded carries the split of the escrow."""
    provider = client.with_account(client.accounts[1])
    renter = client.with_account(client.accounts[2])
    list_gpu(provider)
    with client.watch(RentalEnded, from_block=0) as events:
        rental = renter.rent(0, 2)
        renter.end_rental(rental.rental_id)
        (ended,) = take(events, 1)
    assert isinstance(ended, RentalEnded)
    assert ended.used + ended.refund == rental.paid
    assert ended.provider_share + ended.fee == ended.used


def test_rated_event_is_typed(client: GPUHubClient) -> None:
    """A rating arrives as a typed Rated event with its role, score and comment."""
    provider = client.with_account(client.accounts[1])
    renter = client.with_account(client.accounts[2])
    list_gpu(provider)
    rental = renter.rent(0, 1)
    renter.end_rental(rental.rental_id)
    with client.watch(Rated, from_block=0) as events:
        renter.rate(rental.rental_id, 4, comment="fast \u2713")
        (rated,) = take(events, 1)
    assert isinstance(rated, Rated)
    assert (rated.rater, rated.ratee) == (renter.address, provider.address)
    assert (rated.role, rated.score, rated.comment) == (Role.PROVIDER, 4, "fast \u2713")


@pytest.mark.anvil
def test_watch_retries_reads_the_node_refuses(anvil_node: AnvilNode) -> None:
    """``header not found`` answered to eth_getLogs (a load-balanced provider whose backends are
    a block apart) is retried with backoff: the event still arrives, once."""
    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    start = w3.eth.block_number + 1
    proxy = ErringProxy(anvil_node.url, failures=3)
    try:
        via_proxy = GPUHubClient(Web3(HTTPProvider(proxy.url)), market.contract_address)
        listing_id = list_gpu(market)
        events = via_proxy.watch(from_block=start, poll_interval=0.01)
        got = take(events, 1)
        events.close()
    finally:
        proxy.close()
    assert proxy.answered_errors == 3 and events.retries >= 3
    assert isinstance(got[0], ListingCreated) and got[0].listing_id == listing_id


@pytest.mark.anvil
def test_watch_raises_a_refusal_that_lasts(
    anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node that keeps refusing past REFUSALS_PATIENCE means it: the watch raises its error."""
    monkeypatch.setattr(watch_module, "REFUSALS_PATIENCE", 0.3)
    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    start = w3.eth.block_number + 1
    proxy = ErringProxy(anvil_node.url, failures=10**6)
    try:
        via_proxy = GPUHubClient(Web3(HTTPProvider(proxy.url)), market.contract_address)
        list_gpu(market)
        events = via_proxy.watch(from_block=start, poll_interval=0.01)
        with pytest.raises(RequestRejected, match="header not found"):
            take(events, 1)
    finally:
        proxy.close()
    assert proxy.answered_errors >= 2

"""client.alerts on the embedded chain and anvil: each alert once, at the right chain time."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from gpuhub import ConnectionFailed, GPUHubClient, PriceUnit, QueryError, ValidationError
from gpuhub._transactions import Batch, Plan, Rpc
from gpuhub.alerts import Alert, AlertKind, AlertOptions, AlertRules, Alerts, format_eth

T = TypeVar("T")

PRICE = 3_600 * 10**9  # wei per hour


@pytest.fixture
def provider(client: GPUHubClient) -> GPUHubClient:
    """A provider with one listing (id 0), 1..10 hours."""
    provider = client.with_account(client.accounts[1])
    provider.create_listing(
        gpu_model="NVIDIA A100", capacity=80, price=PRICE, unit=PriceUnit.HOUR, max_duration=10
    )
    return provider


@pytest.fixture
def renter(client: GPUHubClient) -> GPUHubClient:
    """A renter with nothing yet."""
    return client.with_account(client.accounts[2])


def step(alerts: Alerts) -> list[AlertKind]:
    """The kinds of the alerts due now."""
    found = alerts.poll_once()
    assert found is not None
    return [a.kind for a in found]


def test_rental_lifecycle_alerts_both_roles_once(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """Rented, ending, settleable and ended fire once each, at the chain time they are due."""
    assert provider.address and renter.address
    for_provider = provider.alerts(provider.address, ends_within=600)
    for_renter = renter.alerts(renter.address, ends_within=600)
    assert step(for_provider) == [] and step(for_renter) == []
    rental = renter.rent(0, 1)
    assert step(for_provider) == [AlertKind.LISTING_RENTED]
    assert step(for_renter) == []
    renter.chain.advance_time(3600 - 601)
    assert step(for_provider) == [] and step(for_renter) == []
    renter.chain.advance_time(2)
    assert step(for_provider) == [AlertKind.RENTAL_ENDING]
    assert step(for_renter) == [AlertKind.RENTAL_ENDING]
    renter.chain.advance_time(100)
    assert step(for_provider) == [] and step(for_renter) == []
    renter.chain.advance_time(600)
    assert step(for_provider) == [AlertKind.RENTAL_SETTLEABLE]
    assert step(for_renter) == [AlertKind.RENTAL_SETTLEABLE]
    renter.chain.mine()
    assert step(for_provider) == [] and step(for_renter) == []
    renter.settle(rental.rental_id)
    assert step(for_provider) == [AlertKind.RENTAL_ENDED, AlertKind.WITHDRAWABLE]
    assert step(for_renter) == [AlertKind.RENTAL_ENDED]
    for_provider.close()
    for_renter.close()


def test_ending_alert_message_and_rental(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """The ending alert names the rental and the seconds left, and carries the rental."""
    assert renter.address
    alerts = renter.alerts(renter.address, ends_within=600)
    alerts.poll_once()
    rental = renter.rent(0, 1)
    alerts.poll_once()
    renter.chain.advance_time(3600 - 500)
    (alert,) = alerts.poll_once() or []
    assert alert.kind is AlertKind.RENTAL_ENDING and alert.rental == rental
    assert alert.message.startswith(f"Rental {rental.rental_id} ends in 500 s")
    assert alert.at == renter.chain.now()


def test_ended_alert_has_the_split(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Ending early tells the renter the refund and the provider its share, with the event."""
    assert provider.address and renter.address
    for_provider = provider.alerts(provider.address)
    for_renter = renter.alerts(renter.address)
    for_provider.poll_once()
    for_renter.poll_once()
    rental = renter.rent(0, 2)
    renter.chain.advance_time(1800)
    ended = renter.end_rental(rental.rental_id)
    used = ended.cost_at(ended.end)

    def ended_alert(alerts: Alerts) -> Alert:
        return next(a for a in alerts.poll_once() or [] if a.kind is AlertKind.RENTAL_ENDED)

    to_renter, to_provider = ended_alert(for_renter), ended_alert(for_provider)
    assert f"{format_eth(rental.paid - used)} was refunded to you" in to_renter.message
    assert f"{format_eth(used)} was credited to you" in to_provider.message
    assert to_renter.event is not None and to_renter.event.name == "RentalEnded"


def test_withdrawable_balance_at_start(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """An account that already has a balance hears about it once, when the alerts start."""
    assert renter.address
    rental = renter.rent(0, 2)
    renter.end_rental(rental.rental_id)
    alerts = renter.alerts(renter.address)
    (alert,) = alerts.poll_once() or []
    assert alert.kind is AlertKind.WITHDRAWABLE and alert.amount == renter.balance_of()
    assert alerts.poll_once() == []


def test_alerts_iterate_until_closed(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Iterating blocks until an alert is due and returns it."""
    assert provider.address
    with provider.alerts(provider.address, poll_interval=0.01) as alerts:
        alerts.poll_once()
        renter.rent(0, 1)
        alert = next(alerts)
    assert alert.kind is AlertKind.LISTING_RENTED and "rented by" in alert.message


def searched(alerts: Alerts) -> list[tuple[int, str | None, str]]:
    """The SEARCH_MATCH alerts due now, as (listing id, query, first words of the message)."""
    found = alerts.poll_once()
    assert found is not None
    return [
        (a.listing.listing_id, a.query, " ".join(a.message.split()[:2]))
        for a in found
        if a.kind is AlertKind.SEARCH_MATCH and a.listing is not None
    ]


def test_bad_saved_search_raises_at_the_call(provider: GPUHubClient) -> None:
    """A saved search that does not parse raises QueryError from client.alerts itself."""
    assert provider.address
    with pytest.raises(QueryError) as exc:
        provider.alerts(provider.address, searches=["model~A100", "gpu:A100"])
    assert exc.value.query == "gpu:A100" and exc.value.position == 0


def test_saved_searches_must_be_a_list(provider: GPUHubClient) -> None:
    """One query string passed as searches= is refused with the list form in the message."""
    assert provider.address
    with pytest.raises(ValidationError) as exc:
        provider.alerts(provider.address, searches="model~A100")
    assert exc.value.field == "searches" and "['model~A100']" in str(exc.value)


def test_new_matching_listing_alerts_once(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A new listing that matches a saved search alerts once, naming the query; others do not."""
    assert renter.address
    alerts = renter.alerts(renter.address, searches=["model~h100 capacity>=80"])
    assert searched(alerts) == []
    provider.create_listing(gpu_model="NVIDIA H100", capacity=40, price=PRICE)
    created = provider.create_listing(gpu_model="NVIDIA H100", capacity=80, price=PRICE)
    provider.create_listing(gpu_model="NVIDIA A100", capacity=80, price=PRICE)
    found = alerts.poll_once() or []
    assert [(a.kind, a.listing, a.query) for a in found] == [
        (AlertKind.SEARCH_MATCH, created, "model~h100 capacity>=80")
    ]
    assert found[0].message.startswith(f"New listing {created.listing_id} (NVIDIA H100, 80 GB")
    assert found[0].at == renter.chain.now()
    assert searched(alerts) == []


def test_price_drop_alerts_when_it_matches(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A price cut alerts when the listing then matches, and each later cut while it matches."""
    assert renter.address
    query = "price_per_hour<=0.000003eth"  # PRICE is 0.0000036 ETH per hour
    alerts = renter.alerts(renter.address, searches=[query])
    assert searched(alerts) == []
    provider.update_listing(0, price=PRICE - 1)  # cheaper, still no match
    assert searched(alerts) == []
    provider.update_listing(0, price=3 * 10**12)  # cheaper and matches now
    assert searched(alerts) == [(0, query, "Listing 0")]
    provider.update_listing(0, capacity=40)  # matches, same price
    assert searched(alerts) == []
    provider.update_listing(0, price=50 * 10**9, unit=PriceUnit.MINUTE)  # same per hour
    assert searched(alerts) == []
    provider.update_listing(0, price=49 * 10**9)  # cheaper still
    (alert,) = alerts.poll_once() or []
    assert alert.listing is not None and alert.listing.price == 49 * 10**9
    assert "is cheaper than before (0.00000005 ETH per minute)" in alert.message


def test_listing_available_again_alerts(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A matching listing alerts when it is marked available and when its rental ends."""
    assert renter.address
    alerts = renter.alerts(renter.address, searches=["model~A100"])
    assert searched(alerts) == []
    provider.fulfill_request(0)
    assert searched(alerts) == []
    provider.mark_available(0)
    assert searched(alerts) == [(0, "model~A100", "Listing 0")]
    rental = renter.rent(0, 1)
    assert searched(alerts) == []
    renter.end_rental(rental.rental_id)
    found = alerts.poll_once() or []
    (again,) = [a for a in found if a.kind is AlertKind.SEARCH_MATCH]
    assert "is available again" in again.message
    assert again.event is not None and again.event.name == "RentalEnded"


def test_status_query_sees_unavailable_listings(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """A saved search that names a status matches listings off the market too."""
    assert renter.address
    alerts = renter.alerts(renter.address, searches=["status=unavailable"])
    assert searched(alerts) == []
    provider.fulfill_request(0)
    provider.update_listing(0, price=PRICE // 2)
    assert searched(alerts) == [(0, "status=unavailable", "Listing 0")]


def test_one_alert_per_change_names_the_first_search(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """A change that matches several saved searches alerts once, with the first that matches."""
    assert renter.address
    searches = ["capacity>=100", "model~a100", "capacity>=80"]
    alerts = renter.alerts(renter.address, searches=searches)
    assert searched(alerts) == []
    provider.create_listing(gpu_model="NVIDIA A100", capacity=80, price=PRICE)
    assert searched(alerts) == [(1, "model~a100", "New listing")]


def test_rating_search_reads_the_reputation(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A saved search on rating alerts only once the provider's reputation meets it."""
    assert renter.address
    alerts = renter.alerts(renter.address, searches=["rating>3"])
    assert searched(alerts) == []
    rental = renter.rent(0, 1)
    renter.chain.advance_time(3600)  # a rating weighs what the rental billed
    renter.settle(rental.rental_id)  # listing 0 is available again, the provider unrated
    assert searched(alerts) == []
    renter.rate(rental.rental_id, 5)
    provider.create_listing(gpu_model="NVIDIA A100", capacity=80, price=PRICE)
    assert searched(alerts) == [(1, "rating>3", "New listing")]


def test_format_eth_is_exact() -> None:
    """format_eth prints wei as exact ETH, with no float rounding."""
    assert format_eth(1) == "0.000000000000000001 ETH"
    assert format_eth(15 * 10**17) == "1.5 ETH"
    assert format_eth(0) == "0 ETH"


def failing_at(plan: Plan[T], n: int, count: list[int]) -> Plan[T]:
    """``plan``, whose request number ``n`` (0-based) fails as if the node had gone away;
    ``count[0]`` ends as the number of requests it made."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = plan.send(value) if error is None else plan.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        value, error = None, None
        if isinstance(op, Rpc | Batch):
            count[0] += 1
            if count[0] - 1 == n:
                error = ConnectionFailed("the node went away")
                continue
        try:
            value = yield op
        except BaseException as err:
            error = err


def test_a_step_failed_at_any_request_then_rerun_alerts_the_same(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """A step that fails at any one of its requests and is run again gives exactly the alerts of
    a step that did not fail."""
    assert renter.address
    options = AlertOptions.of(renter.address, 600, ["model~A100"])
    streams = [AlertRules(renter._ops, options) for _ in range(40)]
    for rules in streams:
        renter._run(rules.step())
    rental = renter.rent(0, 2)
    provider.create_listing(gpu_model="NVIDIA A100", capacity=40, price=PRICE)
    provider.update_listing(1, price=PRICE // 2)
    renter.chain.advance_time(3600)
    renter.end_rental(rental.rental_id)
    count = [0]
    expected, _ = renter._run(failing_at(streams[0].step(), -1, count))
    assert [a.kind for a in expected] == [
        AlertKind.SEARCH_MATCH,
        AlertKind.SEARCH_MATCH,
        AlertKind.RENTAL_ENDED,
        AlertKind.WITHDRAWABLE,
        AlertKind.SEARCH_MATCH,
    ]
    requests = count[0]
    assert 1 < requests < len(streams)
    for n, rules in enumerate(streams[1 : requests + 1]):
        with pytest.raises(ConnectionFailed):
            renter._run(failing_at(rules.step(), n, [0]))
        again, _ = renter._run(rules.step())
        assert again == expected, f"failed at request {n}"


def test_rental_ending_while_alerts_start_is_not_missed(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """A rental ended in a block mined between the alerts' first look at the chain and their
    read of the running rentals still gives its RENTAL_ENDED."""
    assert renter.address
    rental = renter.rent(0, 1)
    rules = AlertRules(renter._ops, AlertOptions.of(renter.address, 600, []))

    def ended_after_first_request(plan: Plan[T]) -> Plan[T]:
        """``plan``, with the rental ended on the chain right after its first request."""
        answer = yield plan.send(None)
        renter.end_rental(rental.rental_id)
        while True:
            try:
                request = plan.send(answer)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            answer = yield request

    first, _ = renter._run(ended_after_first_request(rules.step()))
    later, _ = renter._run(rules.step())
    assert [a.kind for a in first + later] == [AlertKind.RENTAL_ENDED, AlertKind.WITHDRAWABLE]

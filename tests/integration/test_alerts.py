"""client.alerts on the embedded chain and anvil: each alert once, at the right chain time."""

from __future__ import annotations

import pytest

from gpuhub import GPUHubClient, PriceUnit, ValidationError
from gpuhub.alerts import Alert, AlertKind, Alerts, format_eth

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


def test_saved_searches_are_refused(provider: GPUHubClient) -> None:
    """Saved searches are refused with a message, since the query language is not here yet."""
    assert provider.address
    with pytest.raises(ValidationError) as exc:
        provider.alerts(provider.address, searches=["gpu:A100"])
    assert exc.value.field == "searches"


def test_format_eth_is_exact() -> None:
    """format_eth prints wei as exact ETH, with no float rounding."""
    assert format_eth(1) == "0.000000000000000001 ETH"
    assert format_eth(15 * 10**17) == "1.5 ETH"
    assert format_eth(0) == "0 ETH"

"""Rentals and escrow: every function's happy path and each revert, on both chains."""

from __future__ import annotations

import pytest

import gpuhub
from gpuhub import GPUHubClient, ListingStatus, PriceUnit, Rental, RentalStatus
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder, translate
from gpuhub.events import ListingCreated, RentalEnded, RentalStarted

PRICE = 3_600 * 10**9  # wei per hour: 10**9 per second


@pytest.fixture
def provider(client: GPUHubClient) -> GPUHubClient:
    """A provider with one AVAILABLE listing (id 0): 1..10 hours at PRICE per hour."""
    provider = client.with_account(client.accounts[1])
    provider.create_listing(
        gpu_model="NVIDIA A100", capacity=80, price=PRICE, unit=PriceUnit.HOUR, max_duration=10
    )
    return provider


@pytest.fixture
def renter(client: GPUHubClient) -> GPUHubClient:
    """A renter with nothing yet."""
    return client.with_account(client.accounts[2])


def escrow_and_balances(client: GPUHubClient) -> int:
    """Active escrow plus every withdrawable balance plus the fees the treasury holds, as the
    invariant counts it."""
    escrow = sum(r.paid for r in client.rentals(active_only=True))
    balances = sum(client.balance_of(a) for a in client.accounts)
    return escrow + balances + client.treasury_funds()


def assert_money_invariant(client: GPUHubClient) -> None:
    assert client.w3.eth.get_balance(client.contract_address) == escrow_and_balances(client)


def raw(client: GPUHubClient, fn: str, *args: object, value: int = 0) -> None:
    """Send straight to the contract, bypassing the client's checks; reverts come back typed."""
    with translate(ErrorDecoder(abi())):
        client.contract.functions[fn](*args).transact({"from": client.address, "value": value})


def test_quote(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """quote is price x duration."""
    assert renter.quote(0, 3) == 3 * PRICE


def test_quote_errors(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """quote of an unknown listing or a duration out of bounds raises the typed error."""
    with pytest.raises(gpuhub.ListingNotFound):
        renter.quote(5, 1)
    with pytest.raises(gpuhub.InvalidDuration) as exc:
        renter.quote(0, 11)
    assert (exc.value.duration, exc.value.min_duration, exc.value.max_duration) == (11, 1, 10)


def test_rent(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """rent escrows the cost, locks the terms and marks the listing RENTED."""
    rental = renter.rent(0, 2)
    assert rental.renter == renter.address and rental.provider == provider.address
    assert (rental.price, rental.unit, rental.paid) == (PRICE, PriceUnit.HOUR, 2 * PRICE)
    assert rental.end - rental.start == 7200 and rental.duration == 2
    assert rental.status is RentalStatus.ACTIVE
    assert renter.get_rental(rental.rental_id) == rental
    assert renter.active_rental(0) == rental
    assert renter.get_listing(0).status is ListingStatus.RENTED
    assert renter.w3.eth.get_balance(renter.contract_address) == 2 * PRICE
    assert renter.rental_count() == 1


def test_rent_credits_excess(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """ETH sent beyond the cost is credited to the renter's balance, never kept."""
    renter.rent(0, 1, max_total=5 * PRICE)
    assert renter.balance_of() == 4 * PRICE
    assert_money_invariant(renter)


def test_rent_taken_listing(
    provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """A rival renting a RENTED listing gets ListingNotAvailable and pays nothing."""
    renter.rent(0, 1)
    with pytest.raises(gpuhub.ListingNotAvailable) as exc:
        stranger.rent(0, 1)
    assert exc.value.status is ListingStatus.RENTED
    assert renter.rental_count() == 1
    assert_money_invariant(renter)


def test_rent_unavailable_listing(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """An UNAVAILABLE listing cannot be rented."""
    provider.fulfill_request(0)
    with pytest.raises(gpuhub.ListingNotAvailable) as exc:
        renter.rent(0, 1)
    assert exc.value.status is ListingStatus.UNAVAILABLE


def test_rent_own_listing(provider: GPUHubClient) -> None:
    """A provider cannot rent their own listing."""
    with pytest.raises(gpuhub.CannotRentOwnListing):
        provider.rent(0, 1)


@pytest.mark.parametrize("duration", [11, 100])
def test_rent_out_of_bounds(provider: GPUHubClient, renter: GPUHubClient, duration: int) -> None:
    """A duration outside the listing's bounds raises InvalidDuration."""
    with pytest.raises(gpuhub.InvalidDuration):
        renter.rent(0, duration)


def test_front_run_price_raise(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A price raise landing before the rent reverts it with TermsChanged; nothing is charged."""
    accepted = renter.quote(0, 2)
    provider.update_listing(0, price=2 * PRICE)
    with pytest.raises(gpuhub.TermsChanged) as exc:
        renter.rent(0, 2, max_total=accepted)
    assert exc.value.price == 2 * PRICE
    assert renter.get_listing(0).status is ListingStatus.AVAILABLE
    assert renter.w3.eth.get_balance(renter.contract_address) == 0


def test_front_run_unit_change(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A unit change (hours to days at the same price) reverts a rent stating the old unit."""
    provider.update_listing(0, unit=PriceUnit.DAY)
    with pytest.raises(gpuhub.TermsChanged) as exc:
        raw(renter, "rent", 0, 1, int(PriceUnit.HOUR), PRICE, value=PRICE)
    assert exc.value.unit is PriceUnit.DAY


def test_rent_underpaid(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Sending less than the cost raises InsufficientPayment with both amounts."""
    with pytest.raises(gpuhub.InsufficientPayment) as exc:
        raw(renter, "rent", 0, 2, int(PriceUnit.HOUR), 2 * PRICE, value=PRICE)
    assert (exc.value.required, exc.value.sent) == (2 * PRICE, PRICE)


def test_end_early_by_renter(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """The renter ending early pays for the seconds used and gets the rest back."""
    rental = renter.rent(0, 2)
    renter.chain.advance_time(1800)
    ended = renter.end_rental(rental.rental_id)
    used = ended.end - rental.start
    assert ended.status is RentalStatus.ENDED_BY_RENTER
    assert renter.balance_of() == 2 * PRICE - used * 10**9
    assert renter.balance_of(provider.address) == used * 10**9
    assert renter.get_listing(0).status is ListingStatus.AVAILABLE
    assert renter.provider_terminations(provider.address) == 0
    assert renter.active_rental(0) is None
    assert_money_invariant(renter)


def test_end_early_by_provider(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """The provider ending early refunds the renter and is counted against the provider."""
    rental = renter.rent(0, 2)
    renter.chain.advance_time(600)
    ended = provider.end_rental(rental.rental_id)
    assert ended.status is RentalStatus.ENDED_BY_PROVIDER
    assert provider.provider_terminations(provider.address) == 1
    assert renter.balance_of() + renter.balance_of(provider.address) == 2 * PRICE
    assert_money_invariant(renter)


def test_end_after_end_time_settles(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Ending after the end time settles: full price to the provider, no termination counted."""
    rental = renter.rent(0, 1)
    renter.chain.advance_time(4000)
    ended = provider.end_rental(rental.rental_id)
    assert ended.status is RentalStatus.SETTLED
    assert ended.end == rental.end
    assert provider.balance_of() == PRICE and renter.balance_of() == 0
    assert provider.provider_terminations(provider.address) == 0


def test_end_by_stranger(
    provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """Only renter or provider may end a running rental."""
    rental = renter.rent(0, 1)
    with pytest.raises(gpuhub.NotRentalParty) as exc:
        stranger.end_rental(rental.rental_id)
    assert exc.value.caller == stranger.address
    assert renter.get_rental(rental.rental_id) == rental


def test_end_twice(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """An ended rental cannot end again."""
    rental = renter.rent(0, 1)
    renter.end_rental(rental.rental_id)
    with pytest.raises(gpuhub.RentalNotActive) as exc:
        provider.end_rental(rental.rental_id)
    assert exc.value.status is RentalStatus.ENDED_BY_RENTER


def test_settle_by_anyone(
    provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """After the end time anyone may settle; the provider gets the full price."""
    rental = renter.rent(0, 3)
    renter.chain.advance_time(3 * 3600)
    settled = stranger.settle(rental.rental_id)
    assert settled.status is RentalStatus.SETTLED
    assert stranger.balance_of(provider.address) == 3 * PRICE
    assert stranger.get_listing(0).status is ListingStatus.AVAILABLE
    assert_money_invariant(renter)


def test_settle_too_early(
    provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """Settling before the end time raises RentalNotExpired with the end time."""
    rental = renter.rent(0, 1)
    with pytest.raises(gpuhub.RentalNotExpired) as exc:
        stranger.settle(rental.rental_id)
    assert exc.value.end == rental.end


def test_unknown_rental(renter: GPUHubClient) -> None:
    """Unknown rental ids raise RentalNotFound everywhere."""
    with pytest.raises(gpuhub.RentalNotFound):
        renter.get_rental(3)
    with pytest.raises(gpuhub.RentalNotFound):
        renter.end_rental(3)
    with pytest.raises(gpuhub.RentalNotFound):
        renter.settle(3)


def test_extend(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Extending adds units at the locked price, even after a price change."""
    rental = renter.rent(0, 2)
    provider.update_listing(0, price=5 * PRICE)
    extended = renter.extend_rental(rental.rental_id, 3)
    assert extended.end == rental.end + 3 * 3600
    assert extended.paid == 5 * PRICE and extended.price == PRICE
    assert_money_invariant(renter)


def test_extend_by_stranger(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Only the renter may extend; the provider cannot either."""
    rental = renter.rent(0, 2)
    with pytest.raises(gpuhub.NotRenter):
        raw(provider, "extendRental", rental.rental_id, 1, value=PRICE)


def test_extend_beyond_max(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """The total may not exceed the listing's maximum duration."""
    rental = renter.rent(0, 8)
    with pytest.raises(gpuhub.InvalidDuration) as exc:
        renter.extend_rental(rental.rental_id, 3)
    assert exc.value.duration == 11


def test_extend_expired(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A rental past its end time cannot be extended."""
    rental = renter.rent(0, 1)
    renter.chain.advance_time(3600)
    with pytest.raises(gpuhub.RentalExpired):
        renter.extend_rental(rental.rental_id, 1)


def test_extend_underpaid(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Extending without paying raises InsufficientPayment."""
    rental = renter.rent(0, 1)
    with pytest.raises(gpuhub.InsufficientPayment):
        raw(renter, "extendRental", rental.rental_id, 1, value=PRICE - 1)


def test_withdraw(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """withdraw sends the whole balance and leaves zero."""
    rental = renter.rent(0, 1)
    renter.chain.advance_time(3600)
    renter.settle(rental.rental_id)
    w3 = provider.w3
    before = w3.eth.get_balance(provider.address)
    assert provider.withdraw() == PRICE
    receipt = w3.eth.get_transaction_receipt(w3.eth.get_block("latest")["transactions"][-1])
    gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(provider.address) == before + PRICE - gas_cost
    assert provider.balance_of() == 0
    assert provider.w3.eth.get_balance(provider.contract_address) == 0


def test_withdraw_to(provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient) -> None:
    """withdraw(to) pays another address."""
    renter.rent(0, 1, max_total=3 * PRICE)
    before = renter.w3.eth.get_balance(stranger.address)
    assert renter.withdraw(stranger.address) == 2 * PRICE
    assert renter.w3.eth.get_balance(stranger.address) == before + 2 * PRICE


def test_withdraw_nothing(renter: GPUHubClient) -> None:
    """Withdrawing a zero balance raises NothingToWithdraw."""
    with pytest.raises(gpuhub.NothingToWithdraw) as exc:
        renter.withdraw()
    assert exc.value.account == renter.address


def test_fee_split(client: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient) -> None:
    """The fee is cut from the used part; the three parts add up to what was paid."""
    client.set_fee(250)
    rental = renter.rent(0, 2)
    client.set_fee(1000)  # does not touch the running rental
    renter.chain.advance_time(3000)
    ended = renter.end_rental(rental.rental_id)
    assert ended.fee_bps == 250
    used = ended.cost_at(ended.end)
    fee = used * 250 // 10_000
    assert client.treasury_funds() == fee
    assert client.balance_of(provider.address) == used - fee
    assert client.balance_of(renter.address) == 2 * PRICE - used
    assert_money_invariant(client)


def test_fee_governance_only(client: GPUHubClient, stranger: GPUHubClient) -> None:
    """Only governance sets the fee; above 10% is refused by the client and the contract."""
    with pytest.raises(gpuhub.NotGovernance):
        stranger.set_fee(10)
    with pytest.raises(gpuhub.ValidationError):
        client.set_fee(1001)
    with pytest.raises(gpuhub.FeeTooHigh) as exc:
        raw(client, "setFee", 1001)
    assert exc.value.max_fee_bps == 1000
    assert client.fee_bps() == 0


def settle_with_fee(client: GPUHubClient, renter: GPUHubClient) -> int:
    """Set a 10% fee, rent listing 0 for an hour and settle; returns the fee."""
    client.set_fee(1000)
    rental = renter.rent(0, 1)
    renter.chain.advance_time(3600)
    renter.settle(rental.rental_id)
    return PRICE // 10


def test_treasury_change_hands_over_the_fees_held(
    client: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """A new treasury pays out the fees collected before it, within the same limit; the old
    one no longer can."""
    fee = settle_with_fee(client, renter)
    client.set_treasury(stranger.address)
    assert client.treasury() == stranger.address
    assert client.treasury_funds() == fee
    with pytest.raises(gpuhub.NotTreasury):
        client.pay_from_treasury(client.address, 1)
    stranger.pay_from_treasury(stranger.address, fee * 500 // 10_000)
    assert client.treasury_funds() == fee - fee * 500 // 10_000
    assert_money_invariant(client)


def test_treasury_cannot_withdraw_the_fees(
    client: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """The treasury's fees are no withdrawable balance: withdraw() finds nothing."""
    settle_with_fee(client, renter)
    assert client.balance_of(client.address) == 0
    with pytest.raises(gpuhub.NothingToWithdraw):
        client.withdraw()


def test_treasury_pays_at_most_5_percent_per_period(
    client: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """A period's payouts stop at 5% of the fees held at its first payout; the period's end
    opens a new allowance of 5% of what is held then."""
    fee = settle_with_fee(client, renter)
    limit = fee * 500 // 10_000
    with pytest.raises(gpuhub.PayoutLimitExceeded) as exc:
        client.pay_from_treasury(stranger.address, limit + 1)
    assert (exc.value.amount, exc.value.allowance) == (limit + 1, limit)
    client.pay_from_treasury(stranger.address, limit - 1)
    period_ends = client.payout_allowance().period_ends
    assert client.payout_allowance().amount == 1
    with pytest.raises(gpuhub.PayoutLimitExceeded) as exc:
        client.pay_from_treasury(stranger.address, 2)
    assert (exc.value.allowance, exc.value.next_period) == (1, period_ends)
    client.chain.advance_time(max(period_ends - client.chain.now(), 0) + 1)
    held = fee - (limit - 1)
    assert client.payout_allowance().amount == held * 500 // 10_000
    client.pay_from_treasury(stranger.address, held * 500 // 10_000)
    assert client.treasury_funds() == held - held * 500 // 10_000
    assert_money_invariant(client)


def test_pause(client: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Pausing stops new listings and rentals, never ends or withdrawals."""
    rental = renter.rent(0, 1, max_total=2 * PRICE)
    client.set_paused(True)
    assert client.paused()
    with pytest.raises(gpuhub.MarketplacePaused):
        provider.create_listing(gpu_model="T4", capacity=16, price=1)
    renter.end_rental(rental.rental_id)
    with pytest.raises(gpuhub.MarketplacePaused):
        renter.rent(0, 1)
    assert renter.withdraw() > 0
    client.set_paused(False)
    assert renter.rent(0, 1).status is RentalStatus.ACTIVE


def test_governance_transfer(client: GPUHubClient, stranger: GPUHubClient) -> None:
    """Governance can be handed over; the old governance loses its powers."""
    client.transfer_governance(stranger.address)
    assert client.governance_address() == stranger.address
    with pytest.raises(gpuhub.NotGovernance):
        client.set_paused(True)
    stranger.set_paused(True)
    assert client.paused()
    with pytest.raises(gpuhub.InvalidAddress):
        raw(stranger, "transferGovernance", "0x" + "0" * 40)


def test_no_removal_while_rented(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A rented listing cannot be removed or taken off the market."""
    renter.rent(0, 1)
    with pytest.raises(gpuhub.InvalidStatusTransition):
        provider.remove_listing(0)
    with pytest.raises(gpuhub.InvalidStatusTransition):
        provider.fulfill_request(0)


def test_billing_helpers_agree_with_contract(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """The running rental's cost_at / refund_at give the contract's split to the wei."""
    provider.update_listing(0, price=7_777_777_777)  # not a multiple of 3600: rounding matters
    rental = renter.rent(0, 3)
    renter.chain.advance_time(1234)
    ended = renter.end_rental(rental.rental_id)
    actual = (renter.balance_of(provider.address), renter.balance_of())
    assert actual == (rental.cost_at(ended.end), rental.refund_at(ended.end))
    elapsed = ended.end - rental.start
    assert actual[0] == 7_777_777_777 * elapsed // 3600  # rounded down, the renter's favour
    assert sum(actual) == rental.paid


def test_rentals_filter(
    provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """rentals() filters by renter, provider and activity."""
    first = renter.rent(0, 1)
    renter.end_rental(first.rental_id)
    second = stranger.rent(0, 1)
    assert [r.rental_id for r in renter.rentals()] == [0, 1]
    assert [r.rental_id for r in renter.rentals(renter=renter.address)] == [0]
    assert [r.rental_id for r in renter.rentals(provider=provider.address, active_only=True)] == [1]
    assert isinstance(renter.rentals()[1], Rental) and renter.rentals()[1] == second


def test_events_decode_enums(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """get_events returns each step of a rental in order as typed events, enums decoded."""
    rental = renter.rent(0, 1)
    renter.end_rental(rental.rental_id)
    events = renter.get_events(0)
    assert [type(e) for e in events] == [ListingCreated, RentalStarted, RentalEnded]
    created, started, ended = events
    assert isinstance(created, ListingCreated) and created.unit is PriceUnit.HOUR
    assert isinstance(started, RentalStarted) and started.renter == renter.address
    assert isinstance(ended, RentalEnded) and ended.status is RentalStatus.ENDED_BY_RENTER
    assert ended.refund + ended.used == rental.paid
    assert renter.get_events(ended.block_number + 1) == []


def test_events_filtered_by_type(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """get_events(event_types=...) returns only the events of those types."""
    rental = renter.rent(0, 1)
    renter.end_rental(rental.rental_id)
    events = renter.get_events(0, event_types=["RentalEnded", RentalStarted])
    assert [e.name for e in events] == ["RentalStarted", "RentalEnded"]

"""Ratings and track records: every path of rate and each revert, on both chains."""

from __future__ import annotations

import pytest

import gpuhub
from gpuhub import GPUHubClient, PriceUnit, Rating, Reputation, Role
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder, translate
from gpuhub.chain import AnvilNode

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


def raw(client: GPUHubClient, fn: str, *args: object) -> None:
    """Send straight to the contract, bypassing the client's checks; reverts come back typed."""
    with translate(ErrorDecoder(abi())):
        client.contract.functions[fn](*args).transact({"from": client.address})


def ended_by_renter(renter: GPUHubClient, seconds: int = 1800) -> int:
    """Rent listing 0 for two hours, end it after ``seconds`` as the renter; the rental id."""
    rental_id = renter.rent(0, 2).rental_id
    renter.chain.advance_time(seconds)
    renter.end_rental(rental_id)
    return rental_id


def test_renter_rates_provider_after_early_end(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """After the renter ends early, the renter rates the provider and the event says so."""
    rental_id = ended_by_renter(renter)
    billed = renter.get_rental(rental_id)
    rating = renter.rate(rental_id, 4, comment="solid ✓")
    assert rating == Rating(
        rental_id=rental_id,
        rater=renter.address,
        ratee=provider.address,
        role=Role.PROVIDER,
        score=4,
        billed=billed.cost_at(billed.end),
        comment="solid ✓",
        block_number=renter.block_number(),
    )
    rep = renter.reputation(provider.address)
    assert (rep.provider_rating_count, rep.provider_rating_sum) == (1, 4)
    assert (rep.renter_rating_count, rep.renter_rating_sum) == (0, 0)


def test_provider_rates_renter_after_provider_end(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """After the provider ends early, the provider rates the renter (role RENTER)."""
    rental_id = renter.rent(0, 2).rental_id
    renter.chain.advance_time(600)
    ended = provider.end_rental(rental_id)
    rating = provider.rate(rental_id, 2, comment="")
    assert (rating.rater, rating.ratee, rating.role) == (
        provider.address,
        renter.address,
        Role.RENTER,
    )
    assert rating.billed == ended.cost_at(ended.end) > 0
    rep = provider.reputation(renter.address)
    assert (rep.renter_rating_count, rep.renter_rating_sum) == (1, 2)


def test_both_rate_after_settle(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """After a settle both sides rate each other, and the billed amount is the full price."""
    rental_id = renter.rent(0, 1).rental_id
    renter.chain.advance_time(3600)
    renter.settle(rental_id)
    assert renter.rate(rental_id, 5).billed == PRICE
    assert provider.rate(rental_id, 3).billed == PRICE
    assert renter.reputation(provider.address).provider_average == 5.0
    assert renter.reputation(renter.address).renter_average == 3.0


def test_rate_twice_is_refused(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A side rates a rental at most once: the second try is AlreadyRated."""
    rental_id = ended_by_renter(renter)
    renter.rate(rental_id, 5)
    with pytest.raises(gpuhub.AlreadyRated) as exc:
        renter.rate(rental_id, 1)
    assert (exc.value.rental_id, exc.value.rater) == (rental_id, renter.address)
    assert renter.reputation(provider.address).provider_rating_sum == 5


def test_one_sides_rating_leaves_the_other_free(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """The renter's rating does not use up the provider's."""
    rental_id = ended_by_renter(renter)
    renter.rate(rental_id, 5)
    assert provider.rate(rental_id, 4).ratee == renter.address


def test_rate_while_active_is_refused(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """An active rental cannot be rated by either side: RentalNotOver."""
    rental_id = renter.rent(0, 2).rental_id
    for side in (renter, provider):
        with pytest.raises(gpuhub.RentalNotOver) as exc:
            side.rate(rental_id, 5)
        assert exc.value.rental_id == rental_id


def test_stranger_cannot_rate(
    provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """Only the renter and the provider may rate: anyone else gets NotRentalParty."""
    rental_id = ended_by_renter(renter)
    with pytest.raises(gpuhub.NotRentalParty) as exc:
        stranger.rate(rental_id, 5)
    assert exc.value.caller == stranger.address


def test_unknown_rental(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Rating a rental id that was never used is RentalNotFound."""
    with pytest.raises(gpuhub.RentalNotFound) as exc:
        renter.rate(7, 5)
    assert exc.value.rental_id == 7


@pytest.mark.parametrize("score", [0, 6])
def test_contract_refuses_score_out_of_range(
    provider: GPUHubClient, renter: GPUHubClient, score: int
) -> None:
    """The contract itself refuses a score of 0 or 6 with InvalidScore."""
    rental_id = ended_by_renter(renter)
    with pytest.raises(gpuhub.InvalidScore) as exc:
        raw(renter, "rate", rental_id, score, "")
    assert exc.value.score == score


@pytest.mark.parametrize("score", [0, 6, True, 4.5])
def test_client_checks_score_before_sending(
    provider: GPUHubClient, renter: GPUHubClient, score: object
) -> None:
    """The client refuses a bad score with ValidationError and sends nothing."""
    rental_id = ended_by_renter(renter)
    block = renter.block_number()
    with pytest.raises(gpuhub.ValidationError) as exc:
        renter.rate(rental_id, score)  # type: ignore[arg-type]
    assert exc.value.field == "score"
    assert renter.block_number() == block


def test_contract_refuses_long_comment(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """A 281-byte comment is CommentTooLong on the contract; 280 bytes pass."""
    rental_id = ended_by_renter(renter)
    with pytest.raises(gpuhub.CommentTooLong) as exc:
        raw(renter, "rate", rental_id, 5, "é" * 140 + "x")
    assert (exc.value.length, exc.value.max_length) == (281, 280)
    assert renter.rate(rental_id, 5, comment="é" * 140).comment == "é" * 140


def test_client_checks_comment_before_sending(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """The client refuses a 281-byte comment with ValidationError naming the fix."""
    rental_id = ended_by_renter(renter)
    with pytest.raises(gpuhub.ValidationError, match="shorten") as exc:
        renter.rate(rental_id, 5, comment="x" * 281)
    assert exc.value.field == "comment"


def test_reverted_rating_changes_nothing(
    provider: GPUHubClient, renter: GPUHubClient, stranger: GPUHubClient
) -> None:
    """After reverted ratings, reputations, events and the rental are as before."""
    rental_id = ended_by_renter(renter)
    before = (
        renter.reputation(provider.address),
        renter.reputation(renter.address),
        renter.get_rental(rental_id),
    )
    for attempt in (
        lambda: raw(renter, "rate", rental_id, 0, ""),
        lambda: raw(renter, "rate", rental_id, 5, "x" * 281),
        lambda: stranger.rate(rental_id, 5),
    ):
        with pytest.raises(gpuhub.ContractError):
            attempt()
    after = (
        renter.reputation(provider.address),
        renter.reputation(renter.address),
        renter.get_rental(rental_id),
    )
    assert after == before
    assert renter.ratings() == []
    assert renter.rate(rental_id, 5).score == 5  # the side's one rating is still unused


def test_provider_early_end_counts_termination_not_completion(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """A provider who ends rentals early gets terminations, and neither side a completion."""
    for _ in range(2):
        rental_id = renter.rent(0, 2).rental_id
        renter.chain.advance_time(60)
        provider.end_rental(rental_id)
    p = renter.reputation(provider.address)
    r = renter.reputation(renter.address)
    assert (p.terminations, p.completed_as_provider) == (2, 0)
    assert (r.completed_as_renter, r.terminations) == (0, 0)
    assert renter.provider_terminations(provider.address) == 2


def test_renter_completions_count_early_ends_and_settles(
    provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """The renter's completions count early ends by the renter and settles; so do the provider's."""
    ended_by_renter(renter)
    rental_id = renter.rent(0, 1).rental_id
    renter.chain.advance_time(3600)
    provider.settle(rental_id)
    rental_id = renter.rent(0, 1).rental_id
    renter.chain.advance_time(3600)
    provider.end_rental(rental_id)  # at the end time: a settle, not a termination
    assert renter.reputation(renter.address) == Reputation(
        address=renter.address,
        provider_rating_count=0,
        provider_rating_sum=0,
        renter_rating_count=0,
        renter_rating_sum=0,
        completed_as_provider=0,
        completed_as_renter=3,
        terminations=0,
        provider_rating_weight=0,
        provider_rating_weighted_sum=0,
        renter_rating_weight=0,
        renter_rating_weighted_sum=0,
    )
    p = renter.reputation(provider.address)
    assert (p.completed_as_provider, p.completed_as_renter, p.terminations) == (3, 0, 0)


def test_counters_survive_withdraw(provider: GPUHubClient, renter: GPUHubClient) -> None:
    """Withdrawing empties the balance and keeps the completions that share its slot."""
    ended_by_renter(renter)
    for side in (provider, renter):
        side.withdraw()
        assert side.balance_of() == 0
    assert renter.reputation(renter.address).completed_as_renter == 1
    assert renter.reputation(provider.address).completed_as_provider == 1


def test_ratings_filters(
    client: GPUHubClient, provider: GPUHubClient, renter: GPUHubClient
) -> None:
    """ratings() filters by ratee, rater and rental id, oldest first."""
    first = ended_by_renter(renter)
    second = ended_by_renter(renter)
    renter.rate(first, 5, comment="one")
    provider.rate(first, 4)
    renter.rate(second, 3, comment="two")
    assert [r.comment for r in client.ratings(ratee=provider.address)] == ["one", "two"]
    assert [r.score for r in client.ratings(rater=provider.address)] == [4]
    assert [r.rater for r in client.ratings(rental_id=first)] == [
        renter.address,
        provider.address,
    ]
    assert client.ratings(rental_id=second, rater=provider.address) == []
    assert len(client.ratings()) == 3


def test_fresh_address_has_empty_reputation(client: GPUHubClient) -> None:
    """An address that never traded has zeros everywhere and no averages."""
    rep = client.reputation(client.accounts[5])
    assert rep.provider_rating_count == rep.completed_as_renter == rep.terminations == 0
    assert rep.provider_average is None and rep.renter_average is None


def test_balance_overflow_reverts_instead_of_truncating(anvil_node: AnvilNode) -> None:
    """A credit that would push a balance past 2**96 - 1 reverts with BalanceOverflow."""
    from eth_account import Account

    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3)
    # Fresh local accounts: nothing another test did to the node's accounts can interfere.
    provider = market.with_account(Account.create())
    renter = market.with_account(Account.create())
    for who, wei in ((provider, 10**20), (renter, 2**100)):
        w3.provider.make_request("anvil_setBalance", [who.address, hex(wei)])  # type: ignore[arg-type]
    for _ in range(2):
        provider.create_listing(gpu_model="H200", capacity=141, price=1, unit=PriceUnit.MINUTE)
    renter.rent(0, 1, max_total=2**96 - 1)
    held = renter.balance_of()
    assert held == 2**96 - 2
    with pytest.raises(gpuhub.BalanceOverflow) as exc:
        renter.rent(1, 1, max_total=3)
    assert (exc.value.account, exc.value.balance) == (renter.address, 2**96)
    assert renter.balance_of() == held and renter.rental_count() == 1


def rate_after(
    provider: GPUHubClient, renter: GPUHubClient, listing_id: int, seconds: int, score: int
) -> int:
    """Rent ``listing_id`` for an hour or more, end it after ``seconds`` and rate the provider
    ``score``; returns what the rental billed."""
    rental = renter.rent(listing_id, 10)
    if seconds:
        renter.chain.advance_time(seconds)
    renter.end_rental(rental.rental_id)
    return renter.rate(rental.rental_id, score).billed


@pytest.fixture
def rated_provider(provider: GPUHubClient, renter: GPUHubClient) -> tuple[GPUHubClient, int]:
    """The provider with a listing at 0.001 ETH an hour (id 1), rented three times for ten
    hours by real renters and rated 5, 4 and 4: a score of 4.0 (weight 30,000 units)."""
    listing = provider.create_listing(
        gpu_model="RTX 4090", capacity=24, price=10**15, unit=PriceUnit.HOUR, max_duration=10
    )
    for score in (5, 4, 4):
        rate_after(provider, renter, listing.listing_id, 10 * 3600, score)
    rep = renter.reputation(provider.address)
    assert (rep.provider_rating_weight, rep.provider_score()) == (30_000, 4.0)
    return provider, listing.listing_id


def test_review_bombing_with_rentals_ended_at_once_moves_nothing(
    rated_provider: tuple[GPUHubClient, int], stranger: GPUHubClient
) -> None:
    """Eleven rentals a stranger ends as soon as it starts them, each rated 1 star, count as
    ratings but weigh nothing: the provider's score stays 4.0 while its plain average falls."""
    provider, listing_id = rated_provider
    paid = sum(rate_after(provider, stranger, listing_id, 0, 1) for _ in range(11))
    rep = stranger.reputation(provider.address)
    assert rep.provider_rating_count == 14 and rep.provider_average is not None
    assert rep.provider_average < 2
    assert paid < 11 * 10**12  # each under one weight unit (10**12 wei)
    assert rep.provider_rating_weight == 30_000
    assert rep.provider_score() == 4.0


def test_moving_a_score_costs_what_it_weighs(
    rated_provider: tuple[GPUHubClient, int], stranger: GPUHubClient
) -> None:
    """Dragging a 4.0 provider with 30,000 units of rated rentals down to 3.0 takes one-star
    rentals billing (4.0 - 3.0) * 40,000 / (3.0 - 1) = 20,000 units (0.02 ETH), paid to the
    provider: a rental billed exactly that lands the score on 3.0."""
    provider, _ = rated_provider
    dearer = provider.create_listing(
        gpu_model="RTX 5090", capacity=32, price=2 * 10**15, unit=PriceUnit.HOUR, max_duration=10
    )
    billed = rate_after(provider, stranger, dearer.listing_id, 10 * 3600, 1)
    assert billed == 2 * 10**16
    assert stranger.reputation(provider.address).provider_score() == 3.0


@pytest.mark.anvil
def test_rating_weight_past_2_48_units_is_refused(anvil_node: AnvilNode) -> None:
    """A rating whose weight would pass 2^48 units (a rental billed more than all ETH there
    is, possible only where a dev chain mints it) reverts with RatingWeightOverflow and counts
    nothing."""
    w3 = anvil_node.web3()
    for account in w3.eth.accounts[3:5]:
        w3.provider.make_request("anvil_setBalance", [account, hex(2**100)])  # type: ignore[arg-type]
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    provider = market.with_account(market.accounts[3])
    renter = market.with_account(market.accounts[4])
    listing = provider.create_listing(
        gpu_model="H100", capacity=80, price=2**95, unit=PriceUnit.MINUTE
    )
    rental = renter.rent(listing.listing_id, 1)
    renter.chain.advance_time(60)
    renter.settle(rental.rental_id)
    with pytest.raises(gpuhub.RatingWeightOverflow) as exc:
        renter.rate(rental.rental_id, 5)
    assert (exc.value.account, exc.value.weight) == (provider.address, 2**95 // 10**12)
    assert renter.reputation(provider.address).provider_rating_count == 0

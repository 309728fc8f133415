"""The money invariant under random market activity, against a plain-Python model.

After every step: the contract's ETH balance equals the escrow of active rentals plus every
withdrawable balance plus the fees the treasury holds, and every listing, rental, balance,
reputation and treasury figure (payout limit included) equals the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from _expect import expect
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import gpuhub
from gpuhub import GPUHubClient, ListingStatus, PriceUnit, Rental, RentalStatus, Reputation
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder, translate
from gpuhub.chain import embedded_web3

UNITS = [PriceUnit.MINUTE, PriceUnit.HOUR, PriceUnit.DAY]
N_ACCOUNTS = 4
# Mostly everyday prices, sometimes ones whose rentals no account can pay for (up to the
# contract's 2^96 - 1 cap), so the refusals of huge amounts stay covered.
PRICES = st.one_of(st.integers(1, 10**15), st.sampled_from([10**24, 2**95, 2**96 - 1]))


@dataclass(frozen=True)
class ModelListing:
    provider: str
    price: int
    unit: PriceUnit
    min_duration: int
    max_duration: int
    status: ListingStatus = ListingStatus.AVAILABLE


class Market(RuleBasedStateMachine):
    """Random listings, rentals, extensions, ends, settlements, withdrawals, fees, treasury
    payouts, time jumps; listings change unit and maximum while rented, some prices are too large
    to pay, and earned votes follow the fees."""

    def __init__(self) -> None:
        super().__init__()
        w3 = embedded_web3()
        # Governance held by the deployer directly, so that governance actions are one step each.
        root = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
        # py-evm stamps a block max(parent + 1, wall clock): with the chain a month ahead of the
        # wall clock, the next block is always parent + 1, however slow a step runs.
        root.chain.advance_time(30 * 86_400)
        self.clients = [root.with_account(a) for a in root.accounts[:N_ACCOUNTS]]
        self.addresses = [c.address for c in self.clients]
        self.treasury = self.addresses[0]  # the deployer holds governance and the treasury
        self.pending_votes = dict.fromkeys(self.addresses, 0)
        self.listings: list[ModelListing] = []
        self.rentals: list[Rental] = []
        self.balances = dict.fromkeys(self.addresses, 0)
        self.accrued = 0  # fees the treasury holds
        self.period_start = 0  # the running payout period (0: none yet)
        self.period_limit = 0
        self.period_paid = 0
        self.fee_bps = 0
        self.reputations = {a: empty_reputation(a) for a in self.addresses}
        self.rated: set[tuple[int, str]] = set()

    @property
    def chain(self) -> gpuhub.GPUHubClient:
        return self.clients[0]

    def next_block_time(self) -> int:
        """The embedded chain mines the next block one second after the latest."""
        return self.chain.chain.now() + 1

    @initialize(
        provider=st.integers(0, N_ACCOUNTS - 1),
        offset=st.integers(1, N_ACCOUNTS - 1),
        price=st.integers(1, 10**15),
        closer=st.sampled_from(["renter", "provider", "settle"]),
    )
    def one_rental_over(self, provider: int, offset: int, price: int, closer: str) -> None:
        """Start every run with a rental already over, so that rating has something to rate."""
        renter = (provider + offset) % N_ACCOUNTS
        self.create(provider, price, PriceUnit.MINUTE, 1, 10)
        self.rent(renter, 0, 5, 0)
        self.advance_time(600 if closer == "settle" else 60)
        if closer == "settle":
            self.settle(provider, 0)
        else:
            self.end(renter if closer == "renter" else provider, 0)

    # ------------------------------------------------------------------ listings

    @rule(
        who=st.integers(0, N_ACCOUNTS - 1),
        price=PRICES,
        unit=st.sampled_from(UNITS),
        min_d=st.integers(1, 3),
        span=st.integers(0, 20),
    )
    def create(self, who: int, price: int, unit: PriceUnit, min_d: int, span: int) -> None:
        created = self.clients[who].create_listing(
            gpu_model="GPU",
            capacity=8,
            price=price,
            unit=unit,
            min_duration=min_d,
            max_duration=min_d + span,
        )
        assert created.listing_id == len(self.listings)
        self.listings.append(ModelListing(self.addresses[who], price, unit, min_d, min_d + span))

    @precondition(lambda self: self.listings)
    @rule(
        who=st.integers(0, N_ACCOUNTS - 1),
        pick=st.integers(0, 10**6),
        price=PRICES,
        unit=st.sampled_from(UNITS),
        span=st.integers(0, 40),
    )
    def update(self, who: int, pick: int, price: int, unit: PriceUnit, span: int) -> None:
        """Change price, unit and maximum, also while the listing is rented."""
        lid = pick % len(self.listings)
        listing = self.listings[lid]
        client = self.clients[who]
        terms = dict(price=price, unit=unit, max_duration=listing.min_duration + span)
        if listing.provider != client.address:
            expect(gpuhub.NotListingProvider, client.update_listing, lid, **terms)
            return
        client.update_listing(lid, **terms)
        self.listings[lid] = replace(listing, **terms)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ rentals

    @precondition(lambda self: self.listings)
    @rule(
        who=st.integers(0, N_ACCOUNTS - 1),
        pick=st.integers(0, 10**6),
        duration=st.integers(1, 25),
        excess=st.sampled_from([0, 0, 1, 10**12]),
    )
    def rent(self, who: int, pick: int, duration: int, excess: int) -> None:
        lid = pick % len(self.listings)
        listing = self.listings[lid]
        client = self.clients[who]
        cost = listing.price * duration
        funds = client.w3.eth.get_balance(client.address)
        if cost + excess > funds:
            # The node checks the value sent against the balance before running anything.
            expect(gpuhub.InsufficientFunds, client.rent, lid, duration, max_total=cost + excess)
        elif cost + excess > funds - 10**18:
            return  # too close to the balance to tell whether the gas still fits
        elif listing.status is not ListingStatus.AVAILABLE:
            expect(gpuhub.ListingNotAvailable, client.rent, lid, duration)
        elif listing.provider == client.address:
            expect(gpuhub.CannotRentOwnListing, client.rent, lid, duration)
        elif not listing.min_duration <= duration <= listing.max_duration:
            expect(gpuhub.InvalidDuration, client.rent, lid, duration)
        else:
            start = self.next_block_time()
            rental = client.rent(lid, duration, max_total=cost + excess)
            expected = Rental(
                rental_id=len(self.rentals),
                listing_id=lid,
                renter=client.address,
                provider=listing.provider,
                start=start,
                end=start + duration * listing.unit.seconds,
                price=listing.price,
                unit=listing.unit,
                paid=cost,
                fee_bps=self.fee_bps,
                status=RentalStatus.ACTIVE,
            )
            assert rental == expected
            self.rentals.append(expected)
            self.listings[lid] = replace(listing, status=ListingStatus.RENTED)
            self.balances[client.address] += excess

    def active(self) -> list[Rental]:
        return [r for r in self.rentals if r.is_active]

    @precondition(lambda self: any(r.is_active for r in self.rentals))
    @rule(who=st.integers(0, N_ACCOUNTS - 1), pick=st.integers(0, 10**6), extra=st.integers(1, 10))
    def extend(self, who: int, pick: int, extra: int) -> None:
        rental = self.active()[pick % len(self.active())]
        client = self.clients[who]
        listing = self.listings[rental.listing_id]
        value = rental.price * extra
        funds = client.w3.eth.get_balance(client.address)
        if value > funds - 10**18:
            if value > funds and rental.renter == client.address:
                expect(gpuhub.InsufficientFunds, client.extend_rental, rental.rental_id, extra)
            return  # unaffordable, or too close to the balance to tell
        if rental.renter != client.address:
            fn = client.contract.functions.extendRental(rental.rental_id, extra)
            with pytest.raises(gpuhub.NotRenter), translate(ErrorDecoder(abi())):
                fn.transact({"from": client.address, "value": rental.price * extra})
            return
        if self.next_block_time() >= rental.end:
            expect(gpuhub.RentalExpired, client.extend_rental, rental.rental_id, extra)
        elif rental.duration + extra > (
            listing.max_duration * listing.unit.seconds // rental.unit.seconds
        ):
            # The listing's limit, in its current unit, converted to the rental's locked unit.
            expect(gpuhub.InvalidDuration, client.extend_rental, rental.rental_id, extra)
        else:
            extended = client.extend_rental(rental.rental_id, extra)
            new = replace(
                rental,
                end=rental.end + extra * rental.unit.seconds,
                paid=rental.paid + rental.price * extra,
            )
            assert extended == new
            self.rentals[rental.rental_id] = new

    def close(self, rental: Rental, status: RentalStatus, at: int) -> Rental:
        """Credit the model's balances as the contract should, and return the closed rental."""
        closed = replace(rental, status=status, end=min(at, rental.end))
        used = closed.cost_at(closed.end)
        fee = used * rental.fee_bps // 10_000
        self.balances[rental.renter] += rental.paid - used
        self.balances[rental.provider] += used - fee
        self.accrued += fee
        self.pending_votes[rental.renter] += fee // 2
        self.pending_votes[rental.provider] += fee - fee // 2
        reps = self.reputations
        if status is RentalStatus.ENDED_BY_PROVIDER:
            old = reps[rental.provider]
            reps[rental.provider] = replace(old, terminations=old.terminations + 1)
        else:
            old = reps[rental.renter]
            reps[rental.renter] = replace(old, completed_as_renter=old.completed_as_renter + 1)
            old = reps[rental.provider]
            reps[rental.provider] = replace(
                old, completed_as_provider=old.completed_as_provider + 1
            )
        self.rentals[rental.rental_id] = closed
        lid = rental.listing_id
        self.listings[lid] = replace(self.listings[lid], status=ListingStatus.AVAILABLE)
        return closed

    @precondition(lambda self: any(r.is_active for r in self.rentals))
    @rule(who=st.integers(0, N_ACCOUNTS - 1), pick=st.integers(0, 10**6))
    def end(self, who: int, pick: int) -> None:
        rental = self.active()[pick % len(self.active())]
        client = self.clients[who]
        at = self.next_block_time()
        if client.address not in (rental.renter, rental.provider):
            expect(gpuhub.NotRentalParty, client.end_rental, rental.rental_id)
            return
        if at >= rental.end:
            status = RentalStatus.SETTLED
        elif client.address == rental.renter:
            status = RentalStatus.ENDED_BY_RENTER
        else:
            status = RentalStatus.ENDED_BY_PROVIDER
        assert client.end_rental(rental.rental_id) == self.close(rental, status, at)

    @precondition(lambda self: any(r.is_active for r in self.rentals))
    @rule(who=st.integers(0, N_ACCOUNTS - 1), pick=st.integers(0, 10**6))
    def settle(self, who: int, pick: int) -> None:
        rental = self.active()[pick % len(self.active())]
        client = self.clients[who]
        at = self.next_block_time()
        if at < rental.end:
            expect(gpuhub.RentalNotExpired, client.settle, rental.rental_id)
        else:
            assert client.settle(rental.rental_id) == self.close(rental, RentalStatus.SETTLED, at)

    @precondition(lambda self: self.rentals)
    @rule(
        side=st.sampled_from(["renter", "provider", "renter", "provider", "stranger"]),
        pick=st.integers(0, 10**6),
        over_only=st.sampled_from([True, True, True, False]),
        score=st.integers(1, 5),
        comment=st.sampled_from(["", "ok", "ü" * 140]),
    )
    def rate(self, side: str, pick: int, over_only: bool, score: int, comment: str) -> None:
        over = [r for r in self.rentals if not r.is_active]
        pool = over if over_only and over else self.rentals
        rental = pool[pick % len(pool)]
        if side == "stranger":
            address = next(a for a in self.addresses if a not in (rental.renter, rental.provider))
        else:
            address = rental.renter if side == "renter" else rental.provider
        client = self.clients[self.addresses.index(address)]
        rid = rental.rental_id
        if side == "stranger":
            expect(gpuhub.NotRentalParty, client.rate, rid, score, comment=comment)
        elif rental.is_active:
            expect(gpuhub.RentalNotOver, client.rate, rid, score, comment=comment)
        elif (rid, client.address) in self.rated:
            expect(gpuhub.AlreadyRated, client.rate, rid, score, comment=comment)
        else:
            rating = client.rate(rid, score, comment=comment)
            assert (rating.score, rating.comment) == (score, comment)
            assert rating.billed == rental.cost_at(rental.end)
            self.rated.add((rid, client.address))
            weight = rating.billed // 10**12
            if client.address == rental.renter:
                old = self.reputations[rental.provider]
                self.reputations[rental.provider] = replace(
                    old,
                    provider_rating_count=old.provider_rating_count + 1,
                    provider_rating_sum=old.provider_rating_sum + score,
                    provider_rating_weight=old.provider_rating_weight + weight,
                    provider_rating_weighted_sum=old.provider_rating_weighted_sum + score * weight,
                )
            else:
                old = self.reputations[rental.renter]
                self.reputations[rental.renter] = replace(
                    old,
                    renter_rating_count=old.renter_rating_count + 1,
                    renter_rating_sum=old.renter_rating_sum + score,
                    renter_rating_weight=old.renter_rating_weight + weight,
                    renter_rating_weighted_sum=old.renter_rating_weighted_sum + score * weight,
                )

    # ------------------------------------------------------------------ money and governance

    @rule(who=st.integers(0, N_ACCOUNTS - 1))
    def withdraw(self, who: int) -> None:
        client = self.clients[who]
        owed = self.balances[client.address]  # the treasury's fees are no balance
        if owed == 0:
            expect(gpuhub.NothingToWithdraw, client.withdraw)
            return
        assert client.withdraw() == owed
        self.balances[client.address] = 0

    @rule(who=st.sampled_from([0, 0, 0, 1]), fee=st.integers(0, 1000))
    def set_fee(self, who: int, fee: int) -> None:
        if who != 0:
            expect(gpuhub.NotGovernance, self.clients[who].set_fee, fee)
            return
        self.clients[0].set_fee(fee)
        self.fee_bps = fee

    @rule(
        who=st.sampled_from([0, 0, 0, 1]),
        to=st.integers(0, N_ACCOUNTS - 1),
        share=st.sampled_from([1, 100, 250, 500, 501, 2500, 10_000, 10_001]),
    )
    def pay_from_treasury(self, who: int, to: int, share: int) -> None:
        """Pay ``share`` basis points of the fees held: at most 5% of them per 30 days."""
        client = self.clients[who]
        held = self.accrued
        amount = max(held * share // 10_000, 1)
        target = self.addresses[to]
        now = self.next_block_time()
        start, limit, paid = self.period_start, self.period_limit, self.period_paid
        if start == 0 or now >= start + 30 * 86_400:
            start, limit, paid = now, held * 500 // 10_000, 0
        if who != 0:
            expect(gpuhub.NotTreasury, client.pay_from_treasury, target, amount)
        elif amount > held:
            expect(gpuhub.InsufficientTreasury, client.pay_from_treasury, target, amount)
        elif amount > limit - paid:
            error = expect(gpuhub.PayoutLimitExceeded, client.pay_from_treasury, target, amount)
            assert (error.allowance, error.next_period) == (limit - paid, start + 30 * 86_400)
        else:
            client.pay_from_treasury(target, amount)
            self.accrued -= amount
            self.period_start, self.period_limit, self.period_paid = start, limit, paid + amount

    @rule(seconds=st.sampled_from([1, 59, 60, 61, 1799, 3600, 7200, 86_400, 30 * 86_400]))
    def advance_time(self, seconds: int) -> None:
        self.chain.chain.advance_time(seconds)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def money_adds_up_and_matches_model(self) -> None:
        chain = self.chain
        rentals = chain.rentals()
        balances = [chain.balance_of(a) for a in self.addresses]
        escrow = sum(r.paid for r in rentals if r.is_active)
        held = chain.treasury_funds()
        assert chain.w3.eth.get_balance(chain.contract_address) == escrow + sum(balances) + held
        assert held == self.accrued

        assert rentals == self.rentals
        listings = chain.list_listings()
        assert [(x.provider, x.price, x.unit, x.status) for x in listings] == [
            (m.provider, m.price, m.unit, m.status) for m in self.listings
        ]
        assert balances == [self.balances[a] for a in self.addresses]
        assert chain.fee_bps() == self.fee_bps
        pending = [int(chain.contract.functions.pendingVotes(a).call()) for a in self.addresses]
        assert pending == [self.pending_votes[a] for a in self.addresses]
        for address in self.addresses:
            assert chain.reputation(address) == self.reputations[address]


def empty_reputation(address: str) -> Reputation:
    """The reputation of an address that has done nothing yet."""
    return Reputation(
        address=address,
        provider_rating_count=0,
        provider_rating_sum=0,
        renter_rating_count=0,
        renter_rating_sum=0,
        completed_as_provider=0,
        completed_as_renter=0,
        terminations=0,
        provider_rating_weight=0,
        provider_rating_weighted_sum=0,
        renter_rating_weight=0,
        renter_rating_weighted_sum=0,
    )


# Every run starts with a rental over (one_rental_over), so each example rents, ends and rates;
# 60 of them take about as long as 200 did when most runs never got a rental going.
Market.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestMarket = Market.TestCase

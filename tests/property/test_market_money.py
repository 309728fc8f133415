"""The money invariant under random market activity, against a plain-Python model.

After every step: the contract's ETH balance equals the escrow of active rentals plus every
withdrawable balance, and every listing, rental, balance and reputation equals the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from _expect import expect
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import gpuhub
from gpuhub import GPUHubClient, ListingStatus, PriceUnit, Rental, RentalStatus, Reputation
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder, translate
from gpuhub.chain import embedded_web3

UNITS = [PriceUnit.MINUTE, PriceUnit.HOUR]
N_ACCOUNTS = 4


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
    payouts, time jumps; earned votes follow the fees."""

    def __init__(self) -> None:
        super().__init__()
        w3 = embedded_web3()
        # Governance held by the deployer directly, so that governance actions are one step each.
        root = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
        self.clients = [root.with_account(a) for a in root.accounts[:N_ACCOUNTS]]
        self.addresses = [c.address for c in self.clients]
        self.treasury = self.addresses[0]  # the deployer holds governance and the treasury
        self.pending_votes = dict.fromkeys(self.addresses, 0)
        self.listings: list[ModelListing] = []
        self.rentals: list[Rental] = []
        self.balances = dict.fromkeys(self.addresses, 0)
        self.accrued = 0
        self.fee_bps = 0
        self.reputations = {a: empty_reputation(a) for a in self.addresses}
        self.rated: set[tuple[int, str]] = set()

    @property
    def chain(self) -> gpuhub.GPUHubClient:
        return self.clients[0]

    def next_block_time(self) -> int:
        """The embedded chain mines the next block one second after the latest."""
        return self.chain.chain.now() + 1

    # ------------------------------------------------------------------ listings

    @rule(
        who=st.integers(0, N_ACCOUNTS - 1),
        price=st.integers(1, 10**15),
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
        price=st.integers(1, 10**15),
        unit=st.sampled_from(UNITS),
    )
    def update(self, who: int, pick: int, price: int, unit: PriceUnit) -> None:
        lid = pick % len(self.listings)
        listing = self.listings[lid]
        client = self.clients[who]
        if listing.provider != client.address:
            expect(gpuhub.NotListingProvider, client.update_listing, lid, price=price, unit=unit)
            return
        client.update_listing(lid, price=price, unit=unit)
        self.listings[lid] = replace(listing, price=price, unit=unit)

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
        if listing.status is not ListingStatus.AVAILABLE:
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
        if rental.renter != client.address:
            fn = client.contract.functions.extendRental(rental.rental_id, extra)
            with pytest.raises(gpuhub.NotRenter), translate(ErrorDecoder(abi())):
                fn.transact({"from": client.address, "value": rental.price * extra})
            return
        if self.next_block_time() >= rental.end:
            expect(gpuhub.RentalExpired, client.extend_rental, rental.rental_id, extra)
        elif rental.duration + extra > listing.max_duration:
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
        self.pending_votes[rental.provider] += fee // 2
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
        who=st.integers(0, N_ACCOUNTS - 1),
        pick=st.integers(0, 10**6),
        score=st.integers(1, 5),
        comment=st.sampled_from(["", "ok", "ü" * 140]),
    )
    def rate(self, who: int, pick: int, score: int, comment: str) -> None:
        rental = self.rentals[pick % len(self.rentals)]
        client = self.clients[who]
        rid = rental.rental_id
        if client.address not in (rental.renter, rental.provider):
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
            if client.address == rental.renter:
                old = self.reputations[rental.provider]
                self.reputations[rental.provider] = replace(
                    old,
                    provider_rating_count=old.provider_rating_count + 1,
                    provider_rating_sum=old.provider_rating_sum + score,
                )
            else:
                old = self.reputations[rental.renter]
                self.reputations[rental.renter] = replace(
                    old,
                    renter_rating_count=old.renter_rating_count + 1,
                    renter_rating_sum=old.renter_rating_sum + score,
                )

    # ------------------------------------------------------------------ money and governance

    @rule(who=st.integers(0, N_ACCOUNTS - 1))
    def withdraw(self, who: int) -> None:
        client = self.clients[who]
        owed = self.balances[client.address] + (
            self.accrued if client.address == self.treasury else 0
        )
        if owed == 0:
            expect(gpuhub.NothingToWithdraw, client.withdraw)
            return
        assert client.withdraw() == owed
        self.balances[client.address] = 0
        if client.address == self.treasury:
            self.accrued = 0

    @rule(who=st.sampled_from([0, 0, 0, 1]), fee=st.integers(0, 1000))
    def set_fee(self, who: int, fee: int) -> None:
        if who != 0:
            expect(gpuhub.NotGovernance, self.clients[who].set_fee, fee)
            return
        self.clients[0].set_fee(fee)
        self.fee_bps = fee

    @rule(
        who=st.sampled_from([0, 0, 0, 1]), to=st.integers(0, N_ACCOUNTS - 1), part=st.integers(1, 4)
    )
    def pay_from_treasury(self, who: int, to: int, part: int) -> None:
        client = self.clients[who]
        held = self.accrued + self.balances[self.treasury]
        amount = max(held * part // 4, 1)
        target = self.addresses[to]
        if who != 0:
            expect(gpuhub.NotTreasury, client.pay_from_treasury, target, amount)
        elif amount > held:
            expect(gpuhub.InsufficientTreasury, client.pay_from_treasury, target, amount)
        else:
            client.pay_from_treasury(target, amount)
            from_fees = min(amount, self.accrued)
            self.accrued -= from_fees
            self.balances[self.treasury] -= amount - from_fees

    @rule(seconds=st.sampled_from([1, 59, 60, 61, 1799, 3600, 7200, 86_400]))
    def advance_time(self, seconds: int) -> None:
        self.chain.chain.advance_time(seconds)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def money_adds_up_and_matches_model(self) -> None:
        chain = self.chain
        rentals = chain.rentals()
        balances = [chain.balance_of(a) for a in self.addresses]
        escrow = sum(r.paid for r in rentals if r.is_active)
        assert chain.w3.eth.get_balance(chain.contract_address) == escrow + sum(balances)

        assert rentals == self.rentals
        listings = chain.list_listings()
        assert [(x.provider, x.price, x.unit, x.status) for x in listings] == [
            (m.provider, m.price, m.unit, m.status) for m in self.listings
        ]
        owed = [
            self.balances[a] + (self.accrued if a == self.treasury else 0) for a in self.addresses
        ]
        assert balances == owed
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
    )


Market.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestMarket = Market.TestCase

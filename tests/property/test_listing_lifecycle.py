"""Random sequences of listing operations agree with a plain-Python model of the lifecycle."""

from __future__ import annotations

from dataclasses import replace

from _expect import expect
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import gpuhub
from gpuhub import GPUHubClient, Listing, ListingStatus, PriceUnit
from gpuhub._core import max_duration_for
from gpuhub.chain import embedded_web3

# Any text but control characters (Unicode category Cc: C0, DEL and C1), which the contract
# refuses (test_hardening.py covers that).
printable = st.characters(blacklist_categories=("Cs", "Cc"))
models = st.text(printable, min_size=1, max_size=20) | st.text(
    alphabet="ab", min_size=18, max_size=64
)
terms = st.sampled_from(PriceUnit).flatmap(
    lambda unit: st.fixed_dictionaries(
        {
            "gpu_model": models.filter(lambda m: 1 <= len(m.encode()) <= 64),
            "capacity": st.integers(1, 2**16 - 1),
            "price": st.integers(1, 2**96 - 1),
            "unit": st.just(unit),
            "min_duration": st.integers(1, 10),
            "max_duration": st.integers(10, max_duration_for(unit)),
        }
    )
)

# (operation, required current status, resulting status)
TRANSITIONS = {
    "fulfill_request": ({ListingStatus.AVAILABLE}, ListingStatus.UNAVAILABLE),
    "mark_available": ({ListingStatus.UNAVAILABLE}, ListingStatus.AVAILABLE),
    "remove_listing": ({ListingStatus.AVAILABLE, ListingStatus.UNAVAILABLE}, ListingStatus.REMOVED),
}


class ListingLifecycle(RuleBasedStateMachine):
    """The contract's listings, driven at random, always equal the model's."""

    def __init__(self) -> None:
        super().__init__()
        # A fresh chain per example: a long-lived one slows down as its history grows.
        w3 = embedded_web3()
        deployer = GPUHubClient.deploy(w3, governance=w3.eth.accounts[0])  # no governor needed
        self.accounts = deployer.accounts[:3]
        self.clients = [deployer.with_account(a) for a in self.accounts]
        self.model: list[Listing] = []

    @rule(who=st.integers(0, 2), fields=terms)
    def create(self, who: int, fields: dict[str, object]) -> None:
        created = self.clients[who].create_listing(**fields)  # type: ignore[arg-type]
        expected = Listing(
            listing_id=len(self.model),
            provider=self.accounts[who],
            status=ListingStatus.AVAILABLE,
            **fields,
        )  # type: ignore[arg-type]
        assert created == expected
        self.model.append(expected)

    @precondition(lambda self: self.model)
    @rule(who=st.integers(0, 2), pick=st.integers(0, 10**6), fields=terms)
    def update(self, who: int, pick: int, fields: dict[str, object]) -> None:
        current = self.model[pick % len(self.model)]
        client = self.clients[who]
        if current.provider != client.address:
            expect(gpuhub.NotListingProvider, client.update_listing, current.listing_id, **fields)
        elif current.status is ListingStatus.REMOVED:
            expect(
                gpuhub.InvalidStatusTransition, client.update_listing, current.listing_id, **fields
            )
        else:
            new = replace(current, **fields)  # type: ignore[arg-type]
            assert client.update_listing(current.listing_id, **fields) == new  # type: ignore[arg-type]
            self.model[current.listing_id] = new

    @precondition(lambda self: self.model)
    @rule(
        who=st.integers(0, 2), pick=st.integers(0, 10**6), op=st.sampled_from(sorted(TRANSITIONS))
    )
    def change_status(self, who: int, pick: int, op: str) -> None:
        current = self.model[pick % len(self.model)]
        client = self.clients[who]
        allowed, target = TRANSITIONS[op]
        if current.provider != client.address:
            expect(gpuhub.NotListingProvider, getattr(client, op), current.listing_id)
        elif current.status not in allowed:
            expect(gpuhub.InvalidStatusTransition, getattr(client, op), current.listing_id)
        else:
            new = replace(current, status=target)
            assert getattr(client, op)(current.listing_id) == new
            self.model[current.listing_id] = new

    @rule(pick=st.integers(0, 50))
    def read_unknown(self, pick: int) -> None:
        missing = len(self.model) + pick
        expect(gpuhub.ListingNotFound, self.clients[0].get_listing, missing)

    @invariant()
    def contract_matches_model(self) -> None:
        client = self.clients[0]
        assert client.listing_count() == len(self.model)
        assert client.list_listings(page_size=4) == self.model
        assert client.list_gpus() == [x for x in self.model if x.is_available]


ListingLifecycle.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestListingLifecycle = ListingLifecycle.TestCase

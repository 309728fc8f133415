"""Attacks on the escrow: re-entrant and reverting receivers, strangers, front-running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import gpuhub
from gpuhub import GPUHubClient, PriceUnit, RentalStatus
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder, translate
from gpuhub.build import BuildError, compile_sources

PRICE = 60 * 10**9  # wei per minute
ACCEPT, REJECT, REENTER_WITHDRAW, REENTER_END = range(4)


@pytest.fixture(scope="session")
def puppet_build() -> dict[str, Any]:
    """Puppet.sol compiled with the project's pinned compiler."""
    path = Path(__file__).resolve().parents[1] / "contracts" / "Puppet.sol"
    try:
        _, output = compile_sources({"Puppet.sol": path.read_text()})
    except BuildError as err:
        pytest.fail(f"cannot compile the attack contract: {err}")
    compiled = output["contracts"]["Puppet.sol"]["Puppet"]
    return {"abi": compiled["abi"], "bytecode": compiled["evm"]["bytecode"]["object"]}


class Puppet:
    """A deployed Puppet, driven by one of the chain's accounts."""

    def __init__(self, client: GPUHubClient, build: dict[str, Any], owner: str) -> None:
        w3 = client.w3
        factory = w3.eth.contract(abi=build["abi"], bytecode=build["bytecode"])
        tx = factory.constructor(client.contract_address).transact({"from": owner})
        self.address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
        self.contract = w3.eth.contract(address=self.address, abi=build["abi"])
        self.w3, self.owner = w3, owner
        self.decoder = ErrorDecoder(abi())

    def send(self, fn: str, *args: object, value: int = 0) -> None:
        """Call a puppet function; a GPUHub revert bubbles up as its typed error."""
        with translate(self.decoder):
            tx = self.contract.functions[fn](*args).transact({"from": self.owner, "value": value})
        assert self.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1

    def read(self, fn: str) -> Any:
        return self.contract.functions[fn]().call()


def hub_balance(client: GPUHubClient) -> int:
    return client.w3.eth.get_balance(client.contract_address)


def total_claims(client: GPUHubClient, *addresses: str) -> int:
    escrow = sum(r.paid for r in client.rentals(active_only=True))
    return escrow + sum(client.balance_of(a) for a in {*client.accounts, *addresses})


@pytest.fixture
def market(client: GPUHubClient) -> GPUHubClient:
    """A marketplace where accounts[1] lists a GPU (id 0) and accounts[3] rents and refunds."""
    provider = client.with_account(client.accounts[1])
    provider.create_listing(
        gpu_model="RTX 4090", capacity=24, price=PRICE, unit=PriceUnit.MINUTE, max_duration=100
    )
    provider.create_listing(
        gpu_model="RTX 3090", capacity=24, price=PRICE, unit=PriceUnit.MINUTE, max_duration=100
    )
    # Someone else's money in escrow and balances, which an attacker must not reach.
    honest = client.with_account(client.accounts[3])
    rental = honest.rent(1, 10, max_total=12 * PRICE)
    honest.chain.advance_time(120)
    honest.end_rental(rental.rental_id)
    return client


def test_reentrant_renter_gets_only_its_balance(
    market: GPUHubClient, puppet_build: dict[str, Any]
) -> None:
    """A renter contract re-entering withdraw on receive gets its own balance once, no more."""
    puppet = Puppet(market, puppet_build, market.accounts[4])
    puppet.send("rent", 0, 10, int(PriceUnit.MINUTE), 10 * PRICE, value=10 * PRICE)
    market.chain.advance_time(60)
    puppet.send("end", 0 + market.rental_count() - 1)
    own = market.balance_of(puppet.address)
    others_before = hub_balance(market) - own
    puppet.send("setMode", REENTER_WITHDRAW, 0)
    puppet.send("pull")
    assert market.w3.eth.get_balance(puppet.address) == own
    assert puppet.read("reentries") == 1 and puppet.read("reentriesSucceeded") == 0
    assert hub_balance(market) == others_before == total_claims(market, puppet.address)


def test_reentrant_end_during_withdraw_is_refused(
    market: GPUHubClient, puppet_build: dict[str, Any]
) -> None:
    """Re-entering to end a rental while receiving a withdrawal fails; the rental stays active."""
    puppet = Puppet(market, puppet_build, market.accounts[4])
    puppet.send(
        "rent", 0, 10, int(PriceUnit.MINUTE), 12 * PRICE, value=12 * PRICE
    )  # 2 * PRICE excess
    rental_id = market.rental_count() - 1
    puppet.send("setMode", REENTER_END, rental_id)
    puppet.send("pull")
    assert puppet.read("reentries") == 1
    assert market.get_rental(rental_id).status is RentalStatus.ACTIVE
    assert market.w3.eth.get_balance(puppet.address) == 2 * PRICE
    assert hub_balance(market) == total_claims(market, puppet.address)


def test_rejecting_provider_blocks_nobody(
    market: GPUHubClient, puppet_build: dict[str, Any]
) -> None:
    """A provider whose receive reverts cannot withdraw, keeps its balance, and blocks no one."""
    puppet = Puppet(market, puppet_build, market.accounts[4])
    puppet.send("list", "Evil GPU", PRICE)
    listing_id = market.listing_count() - 1
    puppet.send("setMode", REJECT, 0)
    renter = market.with_account(market.accounts[5])
    rental = renter.rent(listing_id, 5)
    renter.chain.advance_time(5 * 60)
    renter.settle(rental.rental_id)  # settling credits; it never pushes ETH to the provider
    assert market.balance_of(puppet.address) == 5 * PRICE
    with pytest.raises(gpuhub.WithdrawFailed) as exc:
        puppet.send("pull")
    assert exc.value.amount == 5 * PRICE
    assert market.balance_of(puppet.address) == 5 * PRICE
    assert market.with_account(market.accounts[3]).withdraw() > 0  # others are unaffected
    assert market.with_account(market.accounts[1]).withdraw() > 0
    rescue = market.accounts[6]
    before = market.w3.eth.get_balance(rescue)
    puppet.send("pullTo", rescue)
    assert market.w3.eth.get_balance(rescue) == before + 5 * PRICE
    assert hub_balance(market) == total_claims(market, puppet.address)


def test_rejecting_renter_can_still_be_ended(
    market: GPUHubClient, puppet_build: dict[str, Any]
) -> None:
    """A renter that refuses ETH cannot stop the provider from ending or settling its rental."""
    puppet = Puppet(market, puppet_build, market.accounts[4])
    puppet.send("rent", 0, 10, int(PriceUnit.MINUTE), 10 * PRICE, value=10 * PRICE)
    puppet.send("setMode", REJECT, 0)
    provider = market.with_account(market.accounts[1])
    ended = provider.end_rental(market.rental_count() - 1)
    assert ended.status is RentalStatus.ENDED_BY_PROVIDER
    assert market.get_listing(0).is_available
    assert hub_balance(market) == total_claims(market, puppet.address)


def test_stranger_cannot_touch_rentals(market: GPUHubClient, stranger: GPUHubClient) -> None:
    """A stranger cannot end, extend or settle early another's rental, nor withdraw their money."""
    renter = market.with_account(market.accounts[5])
    rental = renter.rent(0, 5, max_total=6 * PRICE)
    before = hub_balance(market)
    with pytest.raises(gpuhub.NotRentalParty):
        stranger.end_rental(rental.rental_id)
    with pytest.raises(gpuhub.NotRenter), translate(ErrorDecoder(abi())):
        market.contract.functions.extendRental(rental.rental_id, 1).transact(
            {"from": stranger.address, "value": PRICE}
        )
    with pytest.raises(gpuhub.RentalNotExpired):
        stranger.settle(rental.rental_id)
    with pytest.raises(gpuhub.NothingToWithdraw):
        stranger.withdraw(renter.address)  # withdraws the caller's balance, which is zero
    assert renter.get_rental(rental.rental_id) == rental
    assert hub_balance(market) == before
    assert renter.balance_of() == PRICE

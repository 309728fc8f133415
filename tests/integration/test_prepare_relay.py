"""Every write prepared for a key the client never holds, signed with eth-account, relayed."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

import gpuhub
from gpuhub import (
    Action,
    GovernanceSettings,
    GPUHubClient,
    ListingStatus,
    PriceUnit,
    TransactionOutcome,
    VoteSupport,
)
from gpuhub._access import public_key_of
from gpuhub._prepare import CALLS
from gpuhub.chain import AnvilNode

pytestmark = pytest.mark.anvil

PRICE = 3_600 * 10**9  # wei per hour
ETH = 10**18


def funded(market: GPUHubClient) -> LocalAccount:
    """A new local key holding 1 ETH, which only this test knows.

    The ETH comes from the node's last account, which no client of these tests sends from: a
    plain web3 send from a client's own account would take a nonce the client has counted.
    """
    account: LocalAccount = Account.create()
    sent = market.w3.eth.send_transaction(
        {"from": market.accounts[-1], "to": account.address, "value": ETH}
    )
    # anvil answers the send before it mines it: a busy machine let the relay's send reach it
    # first, refused for insufficient funds.
    market.w3.eth.wait_for_transaction_receipt(sent, timeout=30, poll_latency=0.01)
    return account


def relayed(
    market: GPUHubClient, signer: LocalAccount, call: str, **args: Any
) -> TransactionOutcome:
    """Prepare ``call`` for ``signer``, sign it with eth-account, relay the bytes."""
    prepared = market.prepare(call, sender=signer.address, **args)
    signed = signer.sign_transaction(dict(prepared.transaction))
    return market.relay(signed.raw_transaction, sender=signer.address)


@pytest.fixture
def market(anvil_node: AnvilNode) -> GPUHubClient:
    """A marketplace on anvil; account 0 (the node's) holds governance directly."""
    w3 = anvil_node.web3()
    return GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])


@dataclass
class Scene:
    """Who signs a write, its arguments, and what its outcome must show."""

    signer: LocalAccount
    args: dict[str, Any]
    check: Callable[[TransactionOutcome], bool]


def _listed(market: GPUHubClient, provider: LocalAccount) -> int:
    listing = market.with_account(provider).create_listing(
        gpu_model="NVIDIA L4", capacity=24, price=PRICE, unit=PriceUnit.HOUR, max_duration=10
    )
    return listing.listing_id


def _rented(market: GPUHubClient, provider: LocalAccount, renter: LocalAccount) -> int:
    listing_id = _listed(market, provider)
    return market.with_account(renter).rent(listing_id, 2).rental_id


def _names(outcome: TransactionOutcome) -> list[str]:
    return [e.name for e in outcome.events]


def _governing(market: GPUHubClient, wallet: LocalAccount) -> LocalAccount:
    """``wallet``, made the marketplace's governance."""
    market.transfer_governance(wallet.address)
    return wallet


def _expired(market: GPUHubClient, provider: LocalAccount, renter: LocalAccount) -> int:
    """A rental whose time is over."""
    rental_id = _rented(market, provider, renter)
    market.chain.advance_time(3 * 3600)
    return rental_id


SCENES: dict[str, Callable[[GPUHubClient, LocalAccount, LocalAccount], Scene]] = {
    "create_listing": lambda m, p, r: Scene(
        p,
        {"gpu_model": "RTX 4090", "capacity": 24, "price": PRICE, "unit": PriceUnit.HOUR},
        lambda o: o.listings[0].gpu_model == "RTX 4090" and o.listings[0].provider == p.address,
    ),
    "update_listing": lambda m, p, r: Scene(
        p,
        {"listing_id": _listed(m, p), "price": 2 * PRICE},
        lambda o: _names(o) == ["ListingUpdated"] and o.listings[0].price == 2 * PRICE,
    ),
    "fulfill_request": lambda m, p, r: Scene(
        p,
        {"listing_id": _listed(m, p)},
        lambda o: o.listings[0].status == ListingStatus.UNAVAILABLE,
    ),
    "mark_available": lambda m, p, r: Scene(
        p,
        {"listing_id": m.with_account(p).fulfill_request(_listed(m, p)).listing_id},
        lambda o: o.listings[0].status == ListingStatus.AVAILABLE,
    ),
    "remove_listing": lambda m, p, r: Scene(
        p,
        {"listing_id": _listed(m, p)},
        lambda o: o.listings[0].status == ListingStatus.REMOVED,
    ),
    "rent": lambda m, p, r: Scene(
        r,
        {"listing_id": _listed(m, p), "duration": 2},
        lambda o: o.rentals[0].renter == r.address and o.rentals[0].paid == 2 * PRICE,
    ),
    "extend_rental": lambda m, p, r: Scene(
        r,
        {"rental_id": _rented(m, p, r), "extra": 1},
        lambda o: _names(o) == ["RentalExtended"] and o.rentals[0].paid == 3 * PRICE,
    ),
    "end_rental": lambda m, p, r: Scene(
        r,
        {"rental_id": _rented(m, p, r)},
        lambda o: "RentalEnded" in _names(o) and not o.rentals[0].is_active,
    ),
    "settle": lambda m, p, r: Scene(
        p,
        {"rental_id": _expired(m, p, r)},
        lambda o: "RentalEnded" in _names(o) and o.rentals[0].status.name == "SETTLED",
    ),
    "withdraw": lambda m, p, r: Scene(
        r,
        {"to": None},
        lambda o: _names(o) == ["Withdrawn"] and o.events[0].amount == PRICE,
    ),
    "rate": lambda m, p, r: Scene(
        r,
        {"rental_id": m.with_account(r).end_rental(_rented(m, p, r)).rental_id, "score": 4},
        lambda o: _names(o) == ["Rated"] and o.events[0].score == 4,
    ),
    "request_access": lambda m, p, r: Scene(
        r,
        {"rental_id": _rented(m, p, r), "public_key": "0x" + public_key_of(os.urandom(32)).hex()},
        lambda o: _names(o) == ["AccessRequested"],
    ),
    "grant_access": lambda m, p, r: Scene(
        p,
        {"rental_id": _requested(m, p, r), "details": "ssh gpu@203.0.113.7 -p 2222"},
        lambda o: (
            _names(o) == ["AccessGranted"]
            and m.with_account(r).access(o.events[0].rental_id, access_key=ACCESS_KEY)
            == "ssh gpu@203.0.113.7 -p 2222"
        ),
    ),
    "set_fee": lambda m, p, r: Scene(
        _governing(m, r), {"fee_bps": 250}, lambda o: m.fee_bps() == 250
    ),
    "set_paused": lambda m, p, r: Scene(_governing(m, r), {"paused": True}, lambda o: m.paused()),
    "set_guardian": lambda m, p, r: Scene(
        _governing(m, r), {"guardian": p.address}, lambda o: m.guardian() == p.address
    ),
    "set_treasury": lambda m, p, r: Scene(
        _governing(m, r), {"treasury": p.address}, lambda o: m.treasury() == p.address
    ),
    "transfer_governance": lambda m, p, r: Scene(
        _governing(m, r),
        {"new_governance": p.address},
        lambda o: m.governance_address() == p.address,
    ),
    "pause": lambda m, p, r: Scene(_governing(m, r), {}, lambda o: m.paused()),
    "pay_from_treasury": lambda m, p, r: Scene(
        _treasury_with_fees(m, p, r),
        {"to": r.address, "amount": 1_000},
        lambda o: _names(o) == ["Withdrawn"] and o.events[0].to == r.address,
    ),
}
#: the renter's key for access details in the grant_access scene.
ACCESS_KEY = bytes(range(1, 33))


def _requested(market: GPUHubClient, provider: LocalAccount, renter: LocalAccount) -> int:
    rental_id = _rented(market, provider, renter)
    market.with_account(renter).request_access(rental_id, access_key=ACCESS_KEY)
    return rental_id


def _treasury_with_fees(
    market: GPUHubClient, wallet: LocalAccount, renter: LocalAccount
) -> LocalAccount:
    """``wallet``, made the treasury, holding the fee of a rental billed at a 10% fee."""
    market.set_fee(1_000)
    market.set_treasury(wallet.address)
    market.with_account(renter).settle(_expired(market, funded(market), renter))
    return wallet


def _withdrawable(market: GPUHubClient, renter: LocalAccount) -> None:
    """Give ``renter`` a balance of PRICE: a rent that sent PRICE too much."""
    provider = funded(market)
    listing_id = _listed(market, provider)
    market.with_account(renter).rent(listing_id, 1, max_total=2 * PRICE)


@pytest.mark.parametrize("call", sorted(SCENES))
def test_every_write_prepared_signed_and_relayed(market: GPUHubClient, call: str) -> None:
    """A write prepared for a key the client never sees, signed with eth-account and relayed,
    does on chain what the client's own method does."""
    provider, renter = funded(market), funded(market)
    if call == "withdraw":
        _withdrawable(market, renter)
    scene = SCENES[call](market, provider, renter)
    outcome = relayed(market, scene.signer, call, **scene.args)
    assert outcome.mined and outcome.sender == scene.signer.address
    assert scene.check(outcome), outcome


def test_claim_votes_prepared_signed_and_relayed(anvil_node: AnvilNode) -> None:
    """Votes earned by paying a fee on a governed marketplace are claimed through a relayed
    transaction."""
    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(
        w3, account=w3.eth.accounts[0], governance=GovernanceSettings.dev()
    )
    gov = market.governance
    proposal = gov.propose([Action.set_fee(1_000)], "a fee of 10%")
    market.chain.advance_time(max(proposal.vote_start - market.chain.now(), 0) + 1)
    gov.vote(proposal.proposal_id, VoteSupport.FOR)
    market.chain.advance_time(max(proposal.vote_end - market.chain.now(), 0) + 1)
    queued = gov.queue(proposal.proposal_id)
    market.chain.advance_time(max(queued.eta - market.chain.now(), 0) + 1)
    gov.execute(proposal.proposal_id)
    provider, renter = funded(market), funded(market)
    market.with_account(renter).settle(_expired(market, provider, renter))
    pending = market.with_account(renter).governance.pending_votes()
    outcome = relayed(market, renter, "claim_votes")
    assert pending > 0 and outcome.events[0].units == pending


def test_every_write_has_a_scene() -> None:
    """The scenes above cover every write that can be prepared."""
    assert set(SCENES) | {"claim_votes"} == set(CALLS)


def test_a_call_that_would_revert_is_refused_at_preparation(market: GPUHubClient) -> None:
    """Preparing a rent of one's own listing raises CannotRentOwnListing with its field."""
    provider = funded(market)
    listing_id = _listed(market, provider)
    with pytest.raises(gpuhub.CannotRentOwnListing) as exc:
        market.prepare("rent", sender=provider.address, listing_id=listing_id, duration=1)
    assert exc.value.listing_id == listing_id


def test_rent_summary_names_quote_escrow_and_refund(market: GPUHubClient) -> None:
    """A rent's summary gives the quote, the escrow, the excess credited back and what an early
    end gives back, in wei and in words."""
    provider, renter = funded(market), funded(market)
    listing_id = _listed(market, provider)
    prepared = market.prepare(
        "rent", sender=renter.address, listing_id=listing_id, duration=3, max_total=4 * PRICE
    )
    assert prepared.transaction["value"] == 4 * PRICE
    amounts = prepared.amounts
    assert (amounts["quote"], amounts["escrow"], amounts["excess"]) == (3 * PRICE,) * 2 + (PRICE,)
    assert amounts["refund_per_unit"] == PRICE
    assert amounts["refund_at_half"] == 3 * PRICE - PRICE * 5400 // 3600
    assert "0.0000108 ETH" in prepared.summary  # the quote, 3 hours at 0.0000036 ETH
    assert (
        amounts["max_gas_fee"] == prepared.transaction["gas"] * prepared.transaction["maxFeePerGas"]
    )


def test_prepared_transaction_is_at_the_next_nonce(market: GPUHubClient) -> None:
    """The prepared transaction carries the signer's next nonce, the chain id and a gas limit
    above the node's estimate."""
    renter = funded(market)
    market.with_account(renter).create_listing(gpu_model="T4", capacity=16, price=1)
    prepared = market.prepare("fulfill_request", sender=renter.address, listing_id=0)
    assert prepared.transaction["nonce"] == 1 and prepared.transaction["chainId"] == 31337
    assert prepared.transaction["type"] == 2 and int(prepared.transaction["gas"]) > 28_000


def test_relay_refuses_a_signer_that_is_not_from(market: GPUHubClient) -> None:
    """A transaction signed by one key and relayed as another account's is refused, unsent."""
    provider, impostor = funded(market), funded(market)
    prepared = market.prepare(
        "create_listing", sender=impostor.address, gpu_model="T4", capacity=16, price=1
    )
    signed = impostor.sign_transaction(dict(prepared.transaction))
    with pytest.raises(gpuhub.RelayRefused) as exc:
        market.relay(signed.raw_transaction, sender=provider.address)
    assert exc.value.field == "from"
    assert market.w3.eth.get_transaction_count(impostor.address) == 0


def test_relay_refuses_a_transaction_to_another_contract(market: GPUHubClient) -> None:
    """A signed transfer to an address other than the marketplace is refused."""
    sender = funded(market)
    signed = sender.sign_transaction(
        {
            "to": sender.address,
            "value": 1,
            "gas": 21_000,
            "gasPrice": 10**9,
            "nonce": 0,
            "chainId": 31337,
        }
    )
    with pytest.raises(gpuhub.RelayRefused) as exc:
        market.relay(signed.raw_transaction, sender=sender.address)
    assert exc.value.field == "to"


def test_relay_refuses_another_chain(market: GPUHubClient) -> None:
    """A transaction signed for another chain id is refused."""
    sender = funded(market)
    prepared = market.prepare(
        "create_listing", sender=sender.address, gpu_model="T4", capacity=16, price=1
    )
    signed = sender.sign_transaction({**prepared.transaction, "chainId": 1})
    with pytest.raises(gpuhub.RelayRefused) as exc:
        market.relay(signed.raw_transaction, sender=sender.address)
    assert exc.value.field == "chainId"


def test_relay_refuses_bytes_that_are_no_transaction(market: GPUHubClient) -> None:
    """Random bytes are refused as no signed transaction."""
    with pytest.raises(gpuhub.RelayRefused) as exc:
        market.relay("0x02c0ffee", sender=market.accounts[0])
    assert exc.value.field == "raw"


def test_replay_answers_the_first_outcome_and_charges_once(market: GPUHubClient) -> None:
    """The same signed rent relayed twice answers the first outcome; the renter pays once."""
    provider, renter = funded(market), funded(market)
    listing_id = _listed(market, provider)
    prepared = market.prepare("rent", sender=renter.address, listing_id=listing_id, duration=1)
    raw = renter.sign_transaction(dict(prepared.transaction)).raw_transaction
    first = market.relay(raw, sender=renter.address)
    balance = market.w3.eth.get_balance(renter.address)
    again = market.relay(raw, sender=renter.address)
    assert again == first
    assert market.w3.eth.get_balance(renter.address) == balance
    assert market.rental_count() == 1


def test_relay_refuses_a_used_nonce(market: GPUHubClient) -> None:
    """A second transaction signed at a nonce already used is refused, naming the next one."""
    provider = funded(market)
    first = market.prepare(
        "create_listing", sender=provider.address, gpu_model="A", capacity=1, price=1
    )
    market.relay(provider.sign_transaction(dict(first.transaction)).raw_transaction)
    other = {**first.transaction, "gas": int(first.transaction["gas"]) + 1}
    with pytest.raises(gpuhub.RelayRefused) as exc:
        market.relay(provider.sign_transaction(other).raw_transaction, sender=provider.address)
    assert exc.value.field == "nonce" and "next nonce is 1" in str(exc.value)


def test_relay_refuses_what_would_revert_now(market: GPUHubClient) -> None:
    """A rent signed while the listing was free, relayed after another renter took it, is
    refused with ListingNotAvailable and never sent."""
    provider, late, early = funded(market), funded(market), funded(market)
    listing_id = _listed(market, provider)
    prepared = market.prepare("rent", sender=late.address, listing_id=listing_id, duration=1)
    market.with_account(early).rent(listing_id, 1)
    with pytest.raises(gpuhub.ListingNotAvailable) as exc:
        market.relay(late.sign_transaction(dict(prepared.transaction)).raw_transaction)
    assert exc.value.listing_id == listing_id
    assert market.w3.eth.get_transaction_count(late.address) == 0


def test_outcome_of_an_unknown_hash(market: GPUHubClient) -> None:
    """Looking up a hash the node never saw raises TransactionNotFound with the hash."""
    unknown = "0x" + "ab" * 32
    with pytest.raises(gpuhub.TransactionNotFound) as exc:
        market.outcome(unknown)
    assert exc.value.tx_hash == unknown


def test_relay_refuses_too_little_gas(market: GPUHubClient) -> None:
    """A transaction signed with less gas than its call needs is refused before it can run out
    of gas at the signer's cost."""
    provider = funded(market)
    prepared = market.prepare(
        "create_listing", sender=provider.address, gpu_model="T4", capacity=16, price=1
    )
    starved = {**prepared.transaction, "gas": 30_000}
    with pytest.raises(gpuhub.RelayRefused) as exc:
        market.relay(provider.sign_transaction(starved).raw_transaction, sender=provider.address)
    assert exc.value.field == "gas"
    assert market.w3.eth.get_transaction_count(provider.address) == 0

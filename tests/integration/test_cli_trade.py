"""A whole trade from the command line against anvil, signed by two keystore accounts chosen
with --from, every step's --json parsed and checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _cli import Cli

from gpuhub.chain import AnvilNode
from gpuhub.client import GPUHubClient

pytestmark = pytest.mark.anvil

HOUR = 3600


@pytest.fixture
def market(anvil_node: AnvilNode) -> GPUHubClient:
    """A fresh marketplace on the session's anvil."""
    return GPUHubClient.deploy(anvil_node.web3())


@pytest.fixture
def cli(anvil_node: AnvilNode, market: GPUHubClient, home: Path) -> Cli:
    """The command line on that node; the marketplace given by $GPUHUB_CONTRACT."""
    return Cli(anvil_node.url, home, {"GPUHUB_CONTRACT": market.contract_address})


def test_add_rent_end_withdraw_rate(cli: Cli, market: GPUHubClient) -> None:
    """alice lists, bob rents, extends and ends early; both withdraw and rate each other."""
    alice = cli.account("alice", market)
    bob = cli.account("bob", market)
    listing = cli.json(
        "add",
        "NVIDIA L4",
        "--capacity",
        "24",
        "--price",
        "0.05eth/h",
        "--max",
        "3d",
        "--from",
        "alice",
    )
    assert listing["provider"] == alice and listing["price"] == str(5 * 10**16)
    assert (listing["unit"], listing["max_duration"], listing["status"]) == (
        "HOUR",
        72,
        "AVAILABLE",
    )
    lid = str(listing["listing_id"])
    updated = cli.json(
        "update", lid, "--price", "60gwei/min", "--min", "30m", "--max", "3d", "--from", "alice"
    )
    assert (updated["price"], updated["unit"], updated["min_duration"]) == (
        "60000000000",
        "MINUTE",
        30,
    )
    assert updated["max_duration"] == 3 * 24 * 60
    assert cli.json("unavailable", lid, "--from", "alice")["status"] == "UNAVAILABLE"
    assert cli.json("list") == []
    assert cli.json("available", lid, "--from", "alice")["status"] == "AVAILABLE"
    assert [x["listing_id"] for x in cli.json("list", "--max-price", "0.0000036eth/h")] == [0]
    assert cli.json("list", "--max-price", "0.0000035eth/h") == []
    quote = cli.json("quote", lid, "2h")
    assert (quote["duration"], quote["cost"]) == (120, str(120 * 60 * 10**9))

    rental = cli.json("rent", lid, "2h", "--from", "bob")
    assert (rental["renter"], rental["paid"], rental["status"]) == (bob, quote["cost"], "ACTIVE")
    rid = str(rental["rental_id"])
    assert cli.json("show", lid)["active_rental"]["rental_id"] == rental["rental_id"]
    assert [r["rental_id"] for r in cli.json("rentals", "--mine", "--from", "bob")] == [0]
    extended = cli.json("extend", rid, "60", "--from", "bob")
    assert extended["end"] - extended["start"] == 3 * HOUR
    cli("chain", "advance-time", "30m")
    ended = cli.json("end", rid, "--from", "bob")
    assert ended["status"] == "ENDED_BY_RENTER"
    billed = market.get_rental(0).cost_at(ended["end"])

    owed = cli.json("balance", "--from", "alice")
    assert (owed["address"], owed["withdrawable"]) == (alice, str(billed))
    assert cli.json("withdraw", "--from", "alice")["amount"] == str(billed)
    refund = cli.json("withdraw", "--from", "bob")
    assert int(refund["amount"]) == 180 * 60 * 10**9 - billed
    assert cli.json("balance", alice)["withdrawable"] == "0"

    by_bob = cli.json("rate", rid, "5", "--comment", "fast", "--from", "bob")
    assert (by_bob["ratee"], by_bob["role"], by_bob["score"]) == (alice, "PROVIDER", 5)
    by_alice = cli.json("rate", rid, "4", "--from", "alice")
    assert (by_alice["ratee"], by_alice["role"]) == (bob, "RENTER")
    rep = cli.json("reputation", alice)
    assert (rep["provider_rating_count"], rep["completed_as_provider"]) == (1, 1)


def test_settle_after_the_end_by_anyone(cli: Cli, market: GPUHubClient) -> None:
    """A rental whose time is up is settled by a third account (an address the node unlocks)."""
    cli.account("alice", market)
    cli.account("bob", market)
    cli("add", "T4", "--capacity", "16", "--price", "1gwei/min", "--from", "alice")
    cli("rent", "0", "10m", "--from", "bob")
    cli("settle", "0", "--from", market.accounts[3], code=4)
    cli("chain", "advance-time", "11m")
    settled = cli.json("settle", "0", "--from", market.accounts[3])
    assert (settled["status"], settled["paid"]) == ("SETTLED", str(10 * 10**9))
    assert cli.json("rentals", "--active") == []


def test_remove_takes_a_listing_off_for_good(cli: Cli, market: GPUHubClient) -> None:
    """remove leaves the listing REMOVED; list --all still shows it, list does not."""
    cli.account("alice", market)
    cli("add", "T4", "--capacity", "16", "--price", "1gwei/min", "--from", "alice")
    assert cli.json("remove", "0", "--from", "alice")["status"] == "REMOVED"
    assert cli.json("list") == [] and cli.json("list", "--all")[0]["status"] == "REMOVED"
    cli("available", "0", "--from", "alice", code=4)


def test_watch_prints_each_event_as_a_json_line(cli: Cli, market: GPUHubClient) -> None:
    """watch --json prints one JSON object per event, wei as strings, and stops at --count."""
    start = market.block_number() + 1
    provider = market.with_account(market.accounts[1])
    provider.create_listing(gpu_model="T4", capacity=16, price=10**15)
    market.rent(0, 2)
    out = cli("watch", "--from-block", str(start), "--count", "2", "--json").stdout
    created, started = (json.loads(line) for line in out.splitlines())
    assert (created["event"], created["price"], created["gpu_model"]) == (
        "ListingCreated",
        str(10**15),
        "T4",
    )
    assert (started["event"], started["paid"], started["renter"]) == (
        "RentalStarted",
        str(2 * 10**15),
        market.address,
    )
    text = cli("watch", "RentalStarted", "--from-block", str(start), "--count", "1").stdout
    assert "RentalStarted" in text and "paid=0.002 ETH" in text


def test_alerts_print_what_is_due_for_an_account(cli: Cli, market: GPUHubClient) -> None:
    """alerts --json tells the renter at once that money waits and that a rental ends soon."""
    provider = market.with_account(market.accounts[1])
    provider.create_listing(gpu_model="T4", capacity=16, price=10**12)
    market.rent(0, 5, max_total=10**13)  # the excess is credited back: something to withdraw
    lines = cli("alerts", market.address or "", "--ends-within", "10m", "--count", "2", "--json")
    kinds = sorted(json.loads(line)["kind"] for line in lines.stdout.splitlines())
    assert kinds == ["rental_ending", "withdrawable"]

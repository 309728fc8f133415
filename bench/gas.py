"""Gas used by each marketplace operation, as JSON.

    python bench/gas.py [--chain embedded|anvil]

Targets: create (20-byte model) <= 100,000; requestAccess and grantAccess with a 300-byte payload
<= 35,000 each; each availability change <= 30,000; price update
<= 40,000; rent <= 110,000; end by the renter <= 80,000, by the provider <= 85,000, settle
<= 60,000 (all while counting the track records and, with a fee, accruing votes); withdraw
<= 45,000; rate with a comment of up to 32 bytes <= 45,000 (<= 65,000 for an address's very
first rating). Governance (no targets): the governed deployment in total, claimVotes, propose
(a fee change, and a payout: a POWER proposal, which records its quorum), vote, queue, execute
(a fee change), cancel; the treasury's first payout of a period and a later one.
Text checks: a 64-byte model name of two-byte characters, a 280-byte comment of emoji.
The original GPUHub contract: create 142,070, update 38,471, mark unavailable 32,354,
mark available 54,276, deploy 765,379.

Ending and rating are measured twice more, for accounts in two states: ``*_first`` for a renter
and a provider whose account and reputation slots are still empty (their first rental ever), and
``*_common`` for accounts with history (a rental completed and rated both ways, balances withdrawn
to zero), the case the targets are about.
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable
from typing import Any

from gpuhub import Action, GPUHubClient, PriceUnit, VoteSupport
from gpuhub.chain import AnvilNode, embedded_web3

TARGETS = {
    "create_listing_20b_model": 100_000,
    "fulfill_request": 30_000,
    "mark_available": 30_000,
    "update_listing_price": 40_000,
    "rent": 110_000,
    "end_rental_by_renter": 80_000,
    "end_rental_by_provider": 85_000,
    "settle": 60_000,
    "withdraw": 45_000,
    "end_rental_by_renter_common": 80_000,
    "end_rental_by_provider_common": 85_000,
    "settle_common": 60_000,
    "rate": 45_000,
    "rate_first": 65_000,
    "request_access_300b": 35_000,
    "grant_access_300b": 35_000,
}
COMMENT_32B = "fast, stable, as described: 5/5!"
#: 300 non-zero bytes, as a ciphertext is (a zero byte of calldata costs 4 gas, not 16).
PAYLOAD_300B = bytes((i * 37 + 11) % 255 + 1 for i in range(300))
SSH_ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"


def gas_of(client: GPUHubClient, send: Callable[[], Any]) -> int:
    """Gas used by the transaction ``send`` makes (the latest block's only one)."""
    send()
    block = client.w3.eth.get_block("latest", full_transactions=False)
    receipt = client.w3.eth.get_transaction_receipt(block["transactions"][-1])
    return int(receipt["gasUsed"])


def measure(w3: Any) -> dict[str, int]:
    # Governance held by the deployer, so the fee is one transaction; governance() does the rest.
    deploy_client = GPUHubClient.deploy(w3, governance=w3.eth.accounts[0])
    receipt = w3.eth.get_transaction_receipt(w3.eth.get_block("latest")["transactions"][-1])
    client = deploy_client
    model20 = "NVIDIA RTX 4090 24GB"
    assert len(model20.encode()) == 20
    new = dict(gpu_model=model20, capacity=24, price=10**15, unit=PriceUnit.HOUR, max_duration=72)
    results = {"deploy": int(receipt["gasUsed"])}
    results["create_listing_first"] = gas_of(client, lambda: client.create_listing(**new))
    results["create_listing_20b_model"] = gas_of(client, lambda: client.create_listing(**new))
    results["create_listing_64b_model"] = gas_of(
        client, lambda: client.create_listing(**{**new, "gpu_model": "x" * 64})
    )
    results["create_listing_64b_utf8_model"] = gas_of(
        client, lambda: client.create_listing(**{**new, "gpu_model": "ü" * 32})
    )
    results["update_listing_price"] = gas_of(
        client, lambda: client.update_listing(1, price=2 * 10**15)
    )
    results["fulfill_request"] = gas_of(client, lambda: client.fulfill_request(1))
    results["mark_available"] = gas_of(client, lambda: client.mark_available(1))
    results["remove_listing"] = gas_of(client, lambda: client.remove_listing(1))

    # Rentals, with a 2.5% fee so every balance (renter, provider, treasury) is credited.
    client.set_fee(250)
    renter = client.with_account(client.accounts[1])
    hours = dict(gpu_model=model20, capacity=24, price=10**15, unit=PriceUnit.HOUR, max_duration=72)
    for _ in range(3):
        client.create_listing(**hours)
    first = len(client.list_listings()) - 3
    results["rent_first"] = gas_of(client, lambda: renter.rent(first, 2))
    results["rent"] = gas_of(client, lambda: renter.rent(first + 1, 2))
    results["rent_with_excess"] = gas_of(
        client, lambda: renter.rent(first + 2, 2, max_total=3 * 10**15)
    )
    results["extend_rental"] = gas_of(client, lambda: renter.extend_rental(1, 1))
    client.chain.advance_time(1800)
    results["end_rental_by_renter"] = gas_of(client, lambda: renter.end_rental(0))
    results["end_rental_by_provider"] = gas_of(client, lambda: client.end_rental(1))
    client.chain.advance_time(3 * 3600)
    results["settle"] = gas_of(client, lambda: renter.settle(2))
    results["withdraw"] = gas_of(client, lambda: renter.withdraw())
    # The deployer is the treasury here: a payout opening a period, then one within it.
    results["pay_from_treasury_first"] = gas_of(
        client, lambda: client.pay_from_treasury(client.accounts[5], 100)
    )
    results["pay_from_treasury"] = gas_of(
        client, lambda: client.pay_from_treasury(client.accounts[5], 100)
    )
    results.update(measure_reputation(client))
    results.update(measure_access(client))
    results.update(governance(w3))
    return results


def governance(w3: Any) -> dict[str, int]:
    """Gas of a governed market: its deployment (every transaction), claim, and one proposal."""
    start = w3.eth.block_number
    market = GPUHubClient.deploy(w3)
    deployed = sum(
        int(w3.eth.get_transaction_receipt(h)["gasUsed"])
        for n in range(start + 1, w3.eth.block_number + 1)
        for h in w3.eth.get_block(n)["transactions"]
    )
    gov = market.governance
    results = {"deploy_governed_total": deployed}
    propose = gov.propose([Action.set_fee(250)], "Set the fee to 2.5%")
    results["propose"] = gas_of(market, lambda: propose)  # already sent: the latest transaction
    market.chain.advance_time(propose.vote_start - market.chain.now() + 1)
    results["vote"] = gas_of(market, lambda: gov.vote(propose.proposal_id, VoteSupport.FOR))
    market.chain.advance_time(propose.vote_end - market.chain.now() + 1)
    results["queue"] = gas_of(market, lambda: gov.queue(propose.proposal_id))
    market.chain.advance_time(gov.timelock_delay() + 1)
    results["execute"] = gas_of(market, lambda: gov.execute(propose.proposal_id))
    payout = gov.propose([Action.pay(market.accounts[3], 1)], "Pay 1 wei")
    results["propose_power"] = gas_of(market, lambda: payout)
    cancel = getattr(gov, "cancel", None)
    if cancel is not None:
        results["cancel"] = gas_of(market, lambda: cancel(payout.proposal_id))
    provider = market.with_account(market.accounts[1])
    renter = market.with_account(market.accounts[2])
    provider.create_listing(gpu_model="A100", capacity=80, price=10**15, unit=PriceUnit.HOUR)
    rental = renter.rent(0, 1)
    market.chain.advance_time(3600)
    renter.settle(rental.rental_id)
    results["claim_votes_first"] = gas_of(market, lambda: renter.governance.claim_votes())
    rental = renter.rent(0, 1)
    market.chain.advance_time(3600)
    renter.settle(rental.rental_id)
    results["claim_votes"] = gas_of(market, lambda: renter.governance.claim_votes())
    return results


def measure_reputation(client: GPUHubClient) -> dict[str, int]:
    """Ending and rating for fresh accounts (``*_first``) and for accounts with history."""
    assert len(COMMENT_32B.encode()) == 32
    results: dict[str, int] = {}
    unrated = 0
    pairs = {"end_rental_by_renter": (2, 3), "end_rental_by_provider": (4, 5), "settle": (6, 7)}
    for name, (p, r) in pairs.items():
        provider = client.with_account(client.accounts[p])
        renter = client.with_account(client.accounts[r])
        listing_id = provider.create_listing(
            gpu_model="NVIDIA A100", capacity=80, price=10**15, unit=PriceUnit.HOUR
        ).listing_id
        results[f"{name}_first"], _ = ending(name, provider, renter, listing_id)
        # History: a rental the renter ended, rated both ways, and everything withdrawn.
        rental_id = renter.rent(listing_id, 2).rental_id
        client.chain.advance_time(1800)
        renter.end_rental(rental_id)
        rate = gas_of(client, functools.partial(renter.rate, rental_id, 5, comment=COMMENT_32B))
        if name == "end_rental_by_renter":
            results["rate_first"] = rate  # the provider's first rating ever
        provider.rate(rental_id, 5)
        for side in (provider, renter):
            if side.balance_of():
                side.withdraw()
        results[f"{name}_common"], rental_id = ending(name, provider, renter, listing_id)
        if name == "end_rental_by_renter":
            unrated = rental_id

    provider = client.with_account(client.accounts[2])
    renter = client.with_account(client.accounts[3])
    rental_id = unrated  # ended by the renter with history, not rated yet
    results["rate"] = gas_of(client, lambda: renter.rate(rental_id, 4, comment=COMMENT_32B))
    results["rate_no_comment"] = gas_of(client, lambda: provider.rate(rental_id, 5))
    listing_id = renter.get_rental(rental_id).listing_id
    last = renter.rent(listing_id, 1).rental_id
    renter.end_rental(last)
    results["rate_280b_comment"] = gas_of(client, lambda: renter.rate(last, 4, comment="x" * 280))
    emoji = renter.rent(listing_id, 1).rental_id
    renter.end_rental(emoji)
    results["rate_280b_emoji_comment"] = gas_of(
        client, lambda: renter.rate(emoji, 4, comment="🚀" * 70)
    )
    return results


def measure_access(client: GPUHubClient) -> dict[str, int]:
    """The access handoff: 300-byte payloads (the target), and what the client sends for an
    ed25519 key (114 bytes) and a one-line ssh command (94 bytes)."""
    provider = client.with_account(client.accounts[8])
    renter = client.with_account(client.accounts[9])
    listing_id = provider.create_listing(
        gpu_model="NVIDIA A100", capacity=80, price=10**15, unit=PriceUnit.HOUR
    ).listing_id
    rental_id = renter.rent(listing_id, 2).rental_id
    contract = client.contract.functions

    def raw(fn: str, sender: GPUHubClient) -> Callable[[], Any]:
        return lambda: contract[fn](rental_id, PAYLOAD_300B).transact({"from": sender.address})

    return {
        "request_access_300b": gas_of(client, raw("requestAccess", renter)),
        "grant_access_300b": gas_of(client, raw("grantAccess", provider)),
        "request_access_ed25519": gas_of(
            client, lambda: renter.request_access(rental_id, ssh_key=SSH_ED25519)
        ),
        "grant_access_ssh_command": gas_of(
            client, lambda: provider.grant_access(rental_id, "ssh -p 2222 root@203.0.113.7")
        ),
    }


def ending(
    name: str, provider: GPUHubClient, renter: GPUHubClient, listing_id: int
) -> tuple[int, int]:
    """Gas of a new rental's ending of kind ``name`` (renter's early end, provider's, settle),
    and the rental's id."""
    rental_id = renter.rent(listing_id, 2).rental_id
    if name == "settle":
        renter.chain.advance_time(3 * 3600)
        return gas_of(renter, lambda: renter.settle(rental_id)), rental_id
    renter.chain.advance_time(1800)
    ender = renter if name == "end_rental_by_renter" else provider
    return gas_of(renter, lambda: ender.end_rental(rental_id)), rental_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chain", choices=["embedded", "anvil"], default="anvil")
    args = parser.parse_args()
    if args.chain == "anvil":
        with AnvilNode() as node:
            gas = measure(node.web3())
    else:
        gas = measure(embedded_web3())
    report = {
        "chain": args.chain,
        "gas": gas,
        "targets": {k: {"limit": v, "used": gas[k], "ok": gas[k] <= v} for k, v in TARGETS.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

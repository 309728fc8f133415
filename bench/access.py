"""Time from renting to connection details at the renter, through the provider agent, as JSON.

    python bench/access.py [--rounds 5] [--block-time 1]

On anvil mining a block every ``--block-time`` seconds, a provider agent serves one published
GPU with a start hook that prints an ssh command at once; each round a renter rents, asks for
access with an SSH key and waits for the details. Reported per round and summarised: the
seconds from the rent transaction's block (its timestamp) to the decrypted details at the
renter, and the blocks from the rent's block to the grant's (target: at most 3); and the gas of
``requestAccess`` and ``grantAccess`` as sent.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.chain import AnvilNode
from gpuhub.events import AccessGranted, RentalStarted
from gpuhub.provider import GPU, AgentConfig, AgentState, ProviderAgent, Terms, publish

TARGET_BLOCKS = 3
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
GPU_0 = GPU(
    index=0,
    name="NVIDIA H100 80GB HBM3",
    uuid="GPU-00000000-0000-4000-8000-000000000000",
    memory_mib=81559,
    driver_version="535.129.03",
)


def measure(w3: Any, rounds: int, folder: Path) -> dict[str, Any]:
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
    provider = market.with_account(market.accounts[1])
    renter = market.with_account(market.accounts[2])
    assert provider.address is not None
    state = AgentState(
        folder / "agent.db",
        chain_id=provider.chain_id,
        marketplace=provider.contract_address,
        provider=provider.address,
    )
    (published,) = publish(provider, state, [GPU_0], Terms(price=10**14, unit=PriceUnit.MINUTE))
    hook = folder / "start.sh"
    hook.write_text('#!/bin/sh\necho "ssh -p 2222 r$GPUHUB_RENTAL_ID@gpu.example.net"\n')
    hook.chmod(0o755)
    quiet = logging.getLogger("gpuhub.provider.bench")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    agent = ProviderAgent(
        provider, state, AgentConfig(start_hook=str(hook), poll_interval=0.05), logger=quiet
    )
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    results = []
    gas: dict[str, int] = {}
    try:
        for _ in range(rounds):
            before = w3.eth.block_number
            rental = renter.rent(published.listing_id or 0, 10)
            (started,) = (
                e
                for e in renter.get_events(before, event_types=[RentalStarted])
                if isinstance(e, RentalStarted) and e.rental_id == rental.rental_id
            )
            rent_block = w3.eth.get_block(started.block_number)
            request = renter.request_access(rental.rental_id, ssh_key=SSH_KEY)
            details = renter.access(rental.rental_id, timeout=60)
            arrived = time.time()
            assert details is not None, "no details within 60 s"
            (grant,) = renter.get_events(rent_block["number"], event_types=[AccessGranted])
            receipt = w3.eth.get_transaction_receipt(grant.tx_hash)
            gas = {"requestAccess": request.gas_used, "grantAccess": int(receipt["gasUsed"])}
            results.append(
                {
                    "rental_id": rental.rental_id,
                    "seconds": round(arrived - rent_block["timestamp"], 3),
                    "blocks": grant.block_number - rent_block["number"],
                }
            )
            renter.end_rental(rental.rental_id)
    finally:
        stop.set()
        runner.join(30)
        state.close()
    seconds = [r["seconds"] for r in results]
    blocks = [r["blocks"] for r in results]
    return {
        "rounds": results,
        "seconds": {"median": statistics.median(seconds), "max": max(seconds)},
        "blocks": {"median": statistics.median(blocks), "max": max(blocks)},
        "target_blocks": TARGET_BLOCKS,
        "ok": max(blocks) <= TARGET_BLOCKS,
        "gas": gas,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block-time", type=int, default=1)
    args = parser.parse_args()
    with (
        AnvilNode(extra_args=("--block-time", str(args.block_time))) as node,
        tempfile.TemporaryDirectory() as folder,
    ):
        report = measure(node.web3(), args.rounds, Path(folder))
    print(json.dumps({"chain": "anvil", "block_time": args.block_time, **report}, indent=2))


if __name__ == "__main__":
    main()

"""MarketIndex: sync throughput, search latency, and the chain evaluator beside it.

    python bench/index.py [--listings 10000] [--rentals 10000] [--indexed 100000]
                          [--embedded-blocks 500] [--postgres URL]

Prints JSON:
- sync: events per second syncing the whole history of ``--listings`` listings and
  ``--rentals`` rentals (started, then settled) from anvil into SQLite (and PostgreSQL with
  --postgres).
  Target: the whole history in under 20 s.
- embedded: a sync of ``--embedded-blocks`` blocks of the embedded chain (read block by block)
  beside one eth_getLogs over the same blocks, which eth-tester answers by scanning the chain.
- search: index.search p50 / p99 over ``--indexed`` listings for five typical queries, on
  SQLite, and the first run of each (which compiles its SQL; later runs reuse it). Those
  listings are ListingCreated and Rated events generated here and applied through the index's
  own code (creating 100,000 listings on a chain would take the benchmark hours).
  Target: p50 <= 5 ms.
- chain_search: client.search over the ``--listings`` listings on anvil, for the same queries.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from gpuhub import GPUHubClient, MarketIndex
from gpuhub.chain import AnvilNode
from gpuhub.index._index import _Event

QUERIES = [
    "model~4090 capacity>=24 price_per_hour<=0.5eth rating>=4.5 sort=price_per_hour limit=20",
    "capacity>=48 sort=-capacity,price_per_hour limit=20",
    "price_per_hour<=1000000gwei sort=price_per_hour limit=50",
    "model~a100 unit=hour max_hours>=2d sort=-rating limit=20",
    "provider~ab sort=id limit=100",
]
BATCH = 1000


def send_batches(
    client: GPUHubClient, sender: str, calls: list[tuple[str, list[Any], int]]
) -> None:
    """Send ``(function, args, value)`` calls from the unlocked ``sender``, BATCH per block,
    as batched JSON-RPC requests: filling the chain is not what is measured here."""
    import requests

    url = client.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    rpc = client.w3.provider.make_request
    rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
    nonce = client.w3.eth.get_transaction_count(sender)  # type: ignore[arg-type]
    try:
        for first in range(0, len(calls), BATCH):
            batch = []
            for fn, args, value in calls[first : first + BATCH]:
                tx = {
                    "from": sender,
                    "to": client.contract_address,
                    "data": client.contract.encode_abi(fn, args=args),
                    "gas": hex(300_000),
                    "nonce": hex(nonce),
                    "value": hex(value),
                }
                batch.append(
                    {"jsonrpc": "2.0", "id": nonce, "method": "eth_sendTransaction", "params": [tx]}
                )
                nonce += 1
            answers = requests.post(url, json=batch, timeout=300).json()
            errors = [a["error"] for a in answers if "error" in a]
            assert not errors, errors[:3]
            rpc("evm_mine", [])  # type: ignore[arg-type]
    finally:
        rpc("evm_setAutomine", [True])  # type: ignore[arg-type]


def fill_chain(client: GPUHubClient, listings: int, rentals: int) -> None:
    """Listings, then rentals of one unit each, then (a day later) every rental settled."""
    provider, renter = client.accounts[0], client.accounts[1]
    terms = [
        (
            f"NVIDIA RTX {4000 + i % 100}" if i % 3 else f"NVIDIA A100 {i % 7}",
            8 + i % 73,
            10**12 + i * 10**9,
            i % 3,
        )
        for i in range(listings)
    ]
    send_batches(
        client,
        provider,
        [("createListing", [m, cap, price, unit, 1, 100], 0) for m, cap, price, unit in terms],
    )
    for first in range(0, rentals, listings):
        count = min(listings, rentals - first)
        send_batches(
            client,
            renter,
            [("rent", [i, 1, terms[i][3], terms[i][2]], terms[i][2]) for i in range(count)],
        )
        client.chain.advance_time(86400 + 60)
        send_batches(client, provider, [("settle", [first + i], 0) for i in range(count)])
    assert client.listing_count() == listings and client.rental_count() == rentals


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3), "p99_ms": round(p99 * 1000, 3)}


def time_queries(search: Any, repeat: int) -> dict[str, Any]:
    results = {}
    for query in QUERIES:
        start = time.perf_counter()
        search(query)  # warm caches and the statement cache
        first = time.perf_counter() - start
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            found = search(query)
            samples.append(time.perf_counter() - start)
        results[query] = {
            **percentiles(samples),
            "first_ms": round(first * 1000, 3),
            "total": found.total,
        }
    return results


def sync_bench(client: GPUHubClient, url: str) -> dict[str, Any]:
    with MarketIndex.rebuild(client, url) as index:
        start = time.perf_counter()
        index.sync()
        elapsed = time.perf_counter() - start
        rentals = index.list_rentals()
        ended = sum(not r.is_active for r in rentals)
        events = index.search("status=any").total + len(rentals) + ended
    return {"events": events, "seconds": round(elapsed, 2), "events_per_s": round(events / elapsed)}


def embedded_bench(blocks: int, folder: Path) -> dict[str, Any]:
    client = GPUHubClient.local()
    for i in range(blocks):
        client.create_listing(gpu_model=f"GPU {i}", capacity=8, price=10**15)
    head = client.block_number()
    with MarketIndex(client, f"sqlite:///{folder / 'embedded.db'}") as index:
        start = time.perf_counter()
        index.sync()
        sync_s = time.perf_counter() - start
    start = time.perf_counter()
    events = client.get_events(0, head)
    get_logs_s = time.perf_counter() - start
    return {
        "blocks": head,
        "events": len(events),
        "index_sync_s": round(sync_s, 2),
        "one_get_logs_s": round(get_logs_s, 2),
    }


def synthetic_index(client: GPUHubClient, url: str, count: int) -> MarketIndex:
    """An index of ``count`` generated listings from 1,000 providers with generated ratings."""
    rng = random.Random(7)
    providers = [
        client.w3.to_checksum_address(f"0x{rng.getrandbits(160):040x}") for _ in range(1000)
    ]
    models = ["NVIDIA RTX 4090", "NVIDIA RTX 4080", "NVIDIA A100 80GB", "NVIDIA H100", "AMD MI300X"]
    index = MarketIndex.rebuild(client, url)
    chunk = 10_000
    for first in range(0, count, chunk):
        events = []
        for i in range(first, min(first + chunk, count)):
            unit = rng.randrange(3)
            events.append(
                _Event(
                    "ListingCreated",
                    1,
                    {
                        "listingId": i,
                        "provider": providers[i % len(providers)],
                        "gpuModel": models[i % len(models)],
                        "capacity": rng.choice([8, 16, 24, 48, 80]),
                        "price": rng.randrange(10**12, 10**18) // (1 if unit else 60),
                        "unit": unit,
                        "minDuration": 1,
                        "maxDuration": rng.randrange(1, 200),
                    },
                    log_index=i,
                )
            )
        index._commit_range(first // chunk, first // chunk, events, {}, journal_above=count)
    ratings = [
        _Event(
            "Rated",
            2,
            {
                "rentalId": n,
                "rater": providers[0],
                "ratee": providers[n % len(providers)],
                "role": 1,
                "score": rng.randint(1, 5),
                "billed": 10**15,
                "comment": "",
            },
            log_index=n,
        )
        for n in range(20_000)
    ]
    last = -(-count // chunk)  # the block after the listings' last
    index._commit_range(last, last, ratings, {}, journal_above=count)
    index._analyze()  # as sync does after a large catch-up
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--rentals", type=int, default=10_000)
    parser.add_argument("--indexed", type=int, default=100_000)
    parser.add_argument("--embedded-blocks", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--postgres", help="also sync into this PostgreSQL database URL")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gpuhub-bench-"))
    report: dict[str, Any] = {"chain": "anvil", "database": "sqlite"}
    with AnvilNode(extra_args=("--gas-limit", "1000000000")) as node:
        client = GPUHubClient.deploy(node.web3())
        start = time.perf_counter()
        fill_chain(client, args.listings, args.rentals)
        report["fill_s"] = round(time.perf_counter() - start, 1)
        report["sync"] = {"sqlite": sync_bench(client, f"sqlite:///{folder / 'sync.db'}")}
        if args.postgres:
            report["sync"]["postgresql"] = sync_bench(client, args.postgres)
        report["sync"]["target_s"] = 20
        report["chain_search"] = {
            "listings": args.listings,
            "queries": time_queries(client.search, 5),
        }
        with synthetic_index(client, f"sqlite:///{folder / 'search.db'}", args.indexed) as index:
            report["search"] = {
                "listings": args.indexed,
                "queries": time_queries(index.search, args.repeat),
                "target_p50_ms": 5,
            }
    report["embedded"] = embedded_bench(args.embedded_blocks, folder)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

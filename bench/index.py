"""MarketIndex: sync throughput, search latency, and the chain evaluator beside it.

    python bench/index.py [--listings 10000] [--rentals 10000] [--indexed 100000]
                          [--embedded-blocks 500] [--postgres URL] [--search-only]

Prints JSON:
- sync: events per second syncing the whole history of ``--listings`` listings and
  ``--rentals`` rentals (started, then settled) from anvil into SQLite (and PostgreSQL with
  --postgres).
  Target: the whole history in under 20 s.
- embedded: a sync of ``--embedded-blocks`` blocks of the embedded chain (read block by block)
  beside one eth_getLogs over the same blocks, which eth-tester answers by scanning the chain.
- search: index.search p50 / p99 over ``--indexed`` market-shaped listings (bench/market.py:
  skewed models, long-tailed prices, Zipf providers, a rating per fifth listing) for the broad
  and narrow market queries, each beside its exact match count, the total the search answered
  (counted 1,000 past the page) and the load average; the first run of each (which compiles its
  SQL); the bytes per listing of the SQLite file and of the listings table with its indexes;
  which listings index each query's plan uses (EXPLAIN QUERY PLAN; EXPLAIN on PostgreSQL) and
  any no query uses. The listings are events generated here and applied through the index's own
  code, as a sync would. With --postgres, the same on PostgreSQL.
  Target: p50 <= 5 ms, at most 400 bytes per listing.
- chain_search: client.search over the ``--listings`` listings on anvil, for five queries.

``--search-only`` runs the search part alone (an embedded chain gives the index its identity);
run under another checkout's ``src/`` (PYTHONPATH) it measures that checkout's index.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import market
from harness import load_average

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


def _event(name: str, block: int, args: dict[str, Any], log_index: int) -> _Event:
    """An event at ``log_index`` in its block (an index from before events kept their position
    has no such field)."""
    if "log_index" in {f.name for f in dataclasses.fields(_Event)}:
        return _Event(name, block, args, log_index=log_index)
    return _Event(name, block, args)


def synthetic_index(client: GPUHubClient, url: str, count: int) -> MarketIndex:
    """An index of ``count`` market-shaped listings (bench/market.py) from 2,000 providers, with
    a rating for every fifth listing; applied as events through the index's own code."""
    rng = random.Random(3)
    owners = [client.w3.to_checksum_address(f"0x{rng.getrandbits(160):040x}") for _ in range(2000)]
    terms = market.listings(count)
    index = MarketIndex.rebuild(client, url)
    chunk = 10_000
    block = 0
    for first in range(0, count, chunk):
        events = []
        for i in range(first, min(first + chunk, count)):
            t = terms[i]
            args = {
                "listingId": i,
                "provider": owners[t.provider],
                "gpuModel": t.gpu_model,
                "capacity": t.capacity,
                "price": t.price,
                "unit": t.unit,
                "minDuration": t.min_duration,
                "maxDuration": t.max_duration,
            }
            events.append(_event("ListingCreated", block, args, len(events)))
            if t.status:
                status = {"listingId": i, "status": t.status}
                events.append(_event("ListingStatusChanged", block, status, len(events)))
        index._commit_range(block, block, events, {}, journal_above=2**62)
        block += 1
    ratings = [
        _event(
            "Rated",
            block,
            {
                "rentalId": n,
                "rater": owners[0],
                "ratee": owners[provider],
                "role": 1,
                "score": score,
                "billed": 10**15 * (1 + n % 50),
                "comment": "",
            },
            n,
        )
        for n, (provider, score) in enumerate(market.ratings(count // 5))
    ]
    index._commit_range(block, block, ratings, {}, journal_above=2**62)
    if hasattr(index, "_vacuum"):
        index._vacuum()  # as sync does after a large catch-up
    index._analyze()
    return index


def search(index: MarketIndex, query: str, exact: bool = False) -> Any:
    """``index.search``, counting as the index does by default (or every match)."""
    if "exact_total" not in inspect.signature(index.search).parameters:
        return index.search(query)  # an index from before totals could be capped: counts all
    return index.search(query, exact_total=exact)


def time_index_queries(index: MarketIndex, repeat: int) -> dict[str, Any]:
    """p50/p99 of each market query, beside its match count and the load average."""
    results = {}
    for name, query in market.QUERIES.items():
        matches = search(index, query, exact=True).total
        start = time.perf_counter()
        search(index, query)
        first = time.perf_counter() - start
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            found = search(index, query)
            samples.append(time.perf_counter() - start)
        results[name] = {
            "query": query,
            "matches": matches,
            "total_answered": found.total,
            "total_exact": getattr(found, "total_exact", True),
            **percentiles(samples),
            "first_ms": round(first * 1000, 3),
            "load_average": load_average(),
        }
    return results


def sqlite_bytes(index: MarketIndex, count: int) -> dict[str, Any]:
    """Bytes per listing of the whole SQLite file and of the listings table with its indexes;
    the other tables and indexes (the history the analytics keep, ratings, ...) beside."""
    with index._engine.connect() as db:
        db.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes = dict(db.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").all())
        names = db.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'gpuhub_listings'"
        ).scalars()
        listing_parts = {name: sizes.get(name, 0) for name in names}
    return {
        "file_bytes_per_listing": round(sum(sizes.values()) / count, 1),
        "listings_table_and_indexes_bytes_per_listing": round(
            sum(listing_parts.values()) / count, 1
        ),
        "by_part": {name: round(size / count, 1) for name, size in sorted(listing_parts.items())},
        "other_parts": {
            name: round(size / count, 1)
            for name, size in sorted(sizes.items())
            if name not in listing_parts and size >= count
        },
    }


def plans(index: MarketIndex) -> dict[str, Any]:
    """Which listings index each query's statements use (EXPLAIN QUERY PLAN on SQLite, EXPLAIN
    on PostgreSQL), and the listings indexes no query uses."""
    from gpuhub.index import _sql
    from gpuhub.index._schema import listings
    from gpuhub.search import Query

    used: dict[str, list[str]] = {}
    explain = "EXPLAIN QUERY PLAN " if index._engine.dialect.name == "sqlite" else "EXPLAIN "
    names = sorted(i.name for i in listings.indexes)
    with index._engine.connect() as db:
        for name, text in market.QUERIES.items():
            parsed = Query.of(text)
            narrowing = _sql.narrowing(db, parsed.filters(), index._narrowing_statement)
            statements = index._statements(parsed, narrowing, 1000)
            found = set()
            for statement in (statements.page, statements.capped_count):
                if statement is None:
                    continue
                plan = " ".join(
                    str(row)
                    for row in db.exec_driver_sql(explain + statement.sql, statement.params)
                )
                found |= {n for n in names if n in plan}
            used[name] = sorted(found)
    every = {n for found in used.values() for n in found}
    return {"indexes_used": used, "unused_indexes": sorted(set(names) - every)}


def search_report(
    client: GPUHubClient, folder: Path, count: int, repeat: int, postgres: str | None
) -> dict[str, Any]:
    start = time.perf_counter()
    with synthetic_index(client, f"sqlite:///{folder / 'search.db'}", count) as index:
        built = time.perf_counter() - start
        report: dict[str, Any] = {
            "listings": count,
            "build_s": round(built, 1),
            "queries": time_index_queries(index, repeat),
            "sqlite_size": sqlite_bytes(index, count),
            "target_p50_ms": 5,
            "target_bytes_per_listing": 400,
        }
        with contextlib.suppress(ImportError, AttributeError, TypeError):
            report["sqlite_plans"] = plans(index)
    if postgres:
        with synthetic_index(client, postgres, count) as index:
            report["postgresql"] = {"queries": time_index_queries(index, repeat)}
            with contextlib.suppress(ImportError, AttributeError, TypeError):
                report["postgresql"]["plans"] = plans(index)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--rentals", type=int, default=10_000)
    parser.add_argument("--indexed", type=int, default=100_000)
    parser.add_argument("--embedded-blocks", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--postgres", help="also sync into this PostgreSQL database URL")
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="only the searches over --indexed listings (embedded chain for the identity)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gpuhub-bench-"))
    if args.search_only:
        report = search_report(
            GPUHubClient.local(), folder, args.indexed, args.repeat, args.postgres
        )
        print(json.dumps(harness.report("index_search", report), indent=2))
        return
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
        report["search"] = search_report(client, folder, args.indexed, args.repeat, args.postgres)
    report["embedded"] = embedded_bench(args.embedded_blocks, folder)
    print(json.dumps(harness.report("index", report), indent=2))


if __name__ == "__main__":
    main()

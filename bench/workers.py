"""`gpuhub serve --workers N` on PostgreSQL: searches per second with 16 clients, as JSON.

    python bench/workers.py [--listings 100000] [--workers 1 2 4] [--clients 16]
                            [--seconds 10] [--postgres URL]

A fresh anvil filled with market-shaped listings (bench/market.py), their index synced once
into PostgreSQL (``--postgres URL``, else a server started for the run from the system's
PostgreSQL binaries), then for each worker count: `gpuhub serve --workers N --index URL`, and
``--clients`` threads, each on its own keep-alive connection, sending
``GET /v1/listings?q=...`` (a broad market query) for ``--seconds``: requests per second and
p50/p99. Beside it, the same search in-process (``index.search`` on the same database): one
thread's p50/p99, and ``--clients`` threads' searches per second (what the database and the
search code take without HTTP). Ratios: HTTP p50 over in-process p50, and the in-process
threads' rate over HTTP's. The load average (1, 5, 15 minutes) is printed beside each
figure: the machine may be shared, and more workers than cores only add switching.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import market
from harness import latency, load_average, report, serve

from api import Http
from gpuhub import GPUHubClient, MarketIndex
from gpuhub.chain import AnvilNode, free_port

QUERY = market.QUERIES["broad_price"]
PATH = "/v1/listings?" + urlencode({"q": QUERY})


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """``url``, or a PostgreSQL server of the run's own from the system's binaries (as the
    postgres user when run as root), removed after."""
    if url:
        yield url
        return
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    initdb = shutil.which("initdb") or (str(found[-1]) if found else None)
    if initdb is None:
        raise SystemExit("no PostgreSQL binaries: apt-get install postgresql, or pass --postgres")
    pg_ctl = str(Path(initdb).with_name("pg_ctl"))
    runner = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="gpuhub-bench-pg-"))
    if runner:
        shutil.chown(root, user="postgres")
    data, port = root / "data", free_port()
    subprocess.run(
        [*runner, initdb, "-D", str(data), "-U", "gpuhub", "--auth=trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    subprocess.run(
        [*runner, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://gpuhub@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*runner, pg_ctl, "-D", str(data), "-m", "fast", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


def http_clients(url: str, count: int, seconds: float) -> dict[str, Any]:
    """``count`` threads, each on its own connection, sending the search for ``seconds``."""
    stop = time.monotonic() + seconds
    samples: list[list[float]] = [[] for _ in range(count)]

    def work(at: int) -> None:
        http = Http(url)
        try:
            http.get(PATH)  # the connection made and the worker warm before timing
            while time.monotonic() < stop or not samples[at]:
                start = time.perf_counter()
                http.get(PATH)
                samples[at].append(time.perf_counter() - start)
        finally:
            http.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(work, range(count)))
    elapsed = time.perf_counter() - started
    every = [s for found in samples for s in found]
    return {
        "requests_per_s": round(len(every) / elapsed, 1),
        **latency(every),
        "requests": len(every),
        "load_average": load_average(),
    }


def in_process(index: MarketIndex, count: int, seconds: float) -> dict[str, Any]:
    """The same search through ``index.search``: one thread's latencies, then ``count``
    threads' rate."""
    one: list[float] = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop or len(one) < 20:
        start = time.perf_counter()
        index.search(QUERY)
        one.append(time.perf_counter() - start)
    done = [0] * count

    def work(at: int) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            index.search(QUERY)
            done[at] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(work, range(count)))
    return {
        "one_thread": {**latency(one), "searches": len(one)},
        f"threads_{count}_searches_per_s": round(sum(done) / (time.perf_counter() - started), 1),
        "load_average": load_average(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--postgres", help="a PostgreSQL database URL (default: start one)")
    args = parser.parse_args()
    extra = ("--gas-limit", "1000000000", "--prune-history", "100")
    with AnvilNode(accounts=50, extra_args=extra) as node, postgres(args.postgres) as url:
        client = GPUHubClient.deploy(node.web3())
        started = time.perf_counter()
        market.fill_chain(client, args.listings)
        fill_s = time.perf_counter() - started
        with MarketIndex(client, url) as index:
            started = time.perf_counter()
            index.sync()
            sync_s = time.perf_counter() - started
            found = index.search(QUERY).total
            local = in_process(index, args.clients, args.seconds)
        runs = {}
        for workers in args.workers:
            serving = ("--index", url, "--workers", str(workers), "--rate-limit", "none")
            with serve(node.url, client.contract_address, args=serving) as (served, _):
                over_http = http_clients(served, args.clients, args.seconds)
            over_http["ratio_p50_http_to_in_process"] = round(
                over_http["p50_ms"] / local["one_thread"]["p50_ms"], 2
            )
            over_http["ratio_in_process_threads_rate_to_http"] = round(
                local[f"threads_{args.clients}_searches_per_s"] / over_http["requests_per_s"], 2
            )
            runs[f"workers_{workers}"] = over_http
    print(
        json.dumps(
            report(
                "workers",
                {
                    "server": "gpuhub serve --workers N --index PostgreSQL on 127.0.0.1, anvil",
                    "cpus": os.cpu_count(),
                    "listings": args.listings,
                    "query": QUERY,
                    "matches": found,
                    "clients": args.clients,
                    "fill_s": round(fill_s, 1),
                    "index_sync_s": round(sync_s, 1),
                    "in_process_index_search": local,
                    "http": runs,
                },
            ),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

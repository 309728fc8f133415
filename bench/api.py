"""HTTP API throughput and latency against `gpuhub serve` (uvicorn) on 127.0.0.1, over anvil.

    python bench/api.py [--listings 1000] [--requests 300] [--concurrency 8]

Prints JSON: requests per second and p50/p99 latency for GET /getgpulist over all listings and
POST /getgpudetailsbyid, sequential (latency) and concurrent (throughput). Target: p50 <= 50 ms
for the list over 1,000 listings.

Then GET /health p50/p99 while ``--attackers`` clients keep posting 63 KiB bodies holding an
unclosed string of escaped quotes (which once held the event loop for half a minute each), and
how many of those the server answered meanwhile. Target: /health p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
from list_gpus import fill


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    name: str,
    call: Callable[[httpx.Client], httpx.Response],
    url: str,
    requests: int,
    concurrency: int,
) -> dict[str, object]:
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(5):  # warm up
            call(http)
        latencies = []
        for _ in range(requests):
            start = time.perf_counter()
            answer = call(http)
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text

    def worker(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for _ in range(n):
                assert call(http).status_code == 200

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, [requests // concurrency] * concurrency))
    elapsed = time.perf_counter() - start
    return {
        "route": name,
        "sequential": {
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "rps": round(requests / sum(latencies), 1),
        },
        "concurrent": {
            "threads": concurrency,
            "rps": round((requests // concurrency) * concurrency / elapsed, 1),
        },
    }


#: a body whose depth check once took quadratic time: 63 KiB of escaped quotes, never closed.
HOSTILE_BODY = b'{"maxPrice": "' + b'\\"' * (63 * 512)


def under_hostile_bodies(url: str, attackers: int, samples: int) -> dict[str, object]:
    """/health latency while ``attackers`` clients post HOSTILE_BODY back to back."""
    stop = threading.Event()
    answered = [0] * attackers

    def attack(at: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            while not stop.is_set():
                answer = http.post(
                    "/getgpulist",
                    content=HOSTILE_BODY,
                    headers={"Content-Type": "application/json"},
                )
                assert answer.status_code == 422, answer.text
                answered[at] += 1

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(attackers)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    started = time.perf_counter()
    latencies = []
    with httpx.Client(base_url=url, timeout=600) as http:
        for _ in range(samples):
            start = time.perf_counter()
            assert http.get("/health").status_code == 200
            latencies.append(time.perf_counter() - start)
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "route": "GET /health",
        "while": f"{attackers} clients post {len(HOSTILE_BODY)} bytes of unclosed escaped quotes",
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "hostile_answered_per_s": round(sum(answered) / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--health-samples", type=int, default=100)
    args = parser.parse_args()
    with AnvilNode(extra_args=("--gas-limit", "1000000000", "--prune-history", "100")) as node:
        client = GPUHubClient.deploy(node.web3())
        fill(client, args.listings)
        port = free_port()
        env = {**os.environ, "GPUHUB_API_KEY": "bench"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gpuhub",
                "serve",
                "--rpc",
                node.url,
                "--contract",
                client.contract_address,
                "--port",
                str(port),
                "--rate-limit",
                "none",  # one address sends every request here
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("gpuhub serve did not start")
                time.sleep(0.1)
            results = [
                measure(
                    "GET /getgpulist",
                    lambda h: h.get("/getgpulist"),
                    url,
                    args.requests,
                    args.concurrency,
                ),
                measure(
                    "POST /getgpudetailsbyid",
                    lambda h: h.post("/getgpudetailsbyid", json={"listingID": 7}),
                    url,
                    args.requests,
                    args.concurrency,
                ),
            ]
            hostile = under_hostile_bodies(url, args.attackers, args.health_samples)
        finally:
            server.terminate()
            server.wait(10)
    print(
        json.dumps(
            {
                "server": "gpuhub serve (uvicorn, 1 worker) on 127.0.0.1",
                "chain": "anvil",
                "listings": args.listings,
                "results": results,
                "under_hostile_bodies": hostile,
                "target": {"route": "GET /getgpulist", "p50_ms_max": 50, "health_p99_ms_max": 250},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

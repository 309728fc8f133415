"""CPU of an idle `gpuhub serve` in front of anvil, as JSON.

    python bench/idle.py [--seconds 15] [--rounds 3] [--baseline-src DIR]

Each contender gets a fresh anvil with a deployed marketplace and 20 listings, then `gpuhub serve`
(1 uvicorn worker) is left alone: after a 3 s settle, the share of one core its process uses
(all threads, user + system, from psutil) is measured over ``--seconds``. Contenders are run
in turn, ``--rounds`` times, with the load average beside each figure.

Contenders: ``serve`` (this checkout: its index followed over a newHeads subscription),
``serve_polling`` (the same, told to poll: ``--ws`` at a closed port), ``serve_webhook`` (with
one webhook endpoint, so its dispatcher follows the chain too) and, with --baseline-src, the
same ``serve`` from another checkout's sources (``baseline``). Target: at most 2% of a core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import cpu_share, load_average, report, serve

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode, free_port


def contender(args: tuple[str, ...], src: str | None, seconds: float) -> dict[str, Any]:
    with AnvilNode() as node:
        client = GPUHubClient.deploy(node.web3())
        batch = client.batch()
        for i in range(20):
            batch.create_listing(gpu_model=f"NVIDIA RTX {4000 + i}", capacity=24, price=10**15)
        batch.send()
        with serve(node.url, client.contract_address, src=src, args=args) as (_, process):
            time.sleep(3)
            share = cpu_share(process, seconds)
    return {"cpu_percent_of_a_core": share, "load_average": load_average()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-src", help="another checkout's src/ folder to measure beside")
    args = parser.parse_args()
    closed = f"ws://127.0.0.1:{free_port()}"
    contenders: dict[str, tuple[tuple[str, ...], str | None]] = {
        "serve": ((), None),
        "serve_polling": (("--ws", closed), None),
        "serve_webhook": (
            ("--webhook", f"http://127.0.0.1:{free_port()}/hook", "--allow-private-webhooks"),
            None,
        ),
    }
    if args.baseline_src:
        contenders["baseline"] = ((), args.baseline_src)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, (extra, src) in contenders.items():
            runs[name].append(contender(extra, src, args.seconds))
    summary = {
        name: {
            "median_cpu_percent": statistics.median(r["cpu_percent_of_a_core"] for r in found),
            "runs": found,
        }
        for name, found in runs.items()
    }
    print(
        json.dumps(
            report(
                "idle",
                {
                    "chain": "anvil (automine), 20 listings",
                    "seconds_measured": args.seconds,
                    "contenders": summary,
                    "target_cpu_percent_max": 2,
                },
            ),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Run every benchmark and write one JSON summary (``make bench``).

    python bench/run_all.py [--out bench/results.json] [--baseline-src DIR] [--quick]

Each benchmark runs as its own process (so one's memory and threads do not weigh on the next)
and prints JSON; this collects them under their names in ``--out``, with the machine's core
count and the load average before each, and prints where it wrote them. The figures are
machine-specific: the file is not committed (the docs quote only figures a rerun reproduces,
with the load average they were taken at). ``--baseline-src`` (another checkout's ``src/``)
is passed to the benchmarks that measure a baseline beside this checkout (api, idle), and
``index_baseline`` runs the index's searches with that checkout's sources.
``--quick`` runs small sizes, to check that every benchmark works.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks(quick: bool, baseline: str | None) -> dict[str, list[str]]:
    base = [] if baseline is None else ["--baseline-src", baseline]
    if quick:
        return {
            "gas": ["gas.py"],
            "tx": ["tx.py", "--writes", "16", "--rounds", "1", "--skip-embedded"],
            "events": ["events.py", "--events", "2000", "--rounds", "2"],
            "index": ["index.py", "--search-only", "--indexed", "20000", "--repeat", "50"],
            "analytics": ["analytics.py", "--listings", "5000", "--rentals", "20000"],
            "api": ["api.py", "--sizes", "2000", "--rounds", "1", "--seconds", "2", *base],
            "idle": ["idle.py", "--seconds", "5", "--rounds", "1", *base],
            "list_gpus": ["list_gpus.py", "--sizes", "100", "1000", "--skip-embedded"],
            "latency": ["latency.py", "--samples", "10", "--transactions", "100"],
            "cli": ["cli.py", "--runs", "2"],
            "access": ["access.py", "--rounds", "1"],
        }
    return {
        "gas": ["gas.py"],
        "tx": ["tx.py"],
        "events": ["events.py"],
        "index": ["index.py", "--search-only"],
        "analytics": ["analytics.py"],
        "api": ["api.py", *base],
        "idle": ["idle.py", *base],
        "list_gpus": ["list_gpus.py", "--skip-embedded"],
        "latency": ["latency.py"],
        "cli": ["cli.py"],
        "access": ["access.py"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("--baseline-src", help="another checkout's src/ folder, measured beside")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {"cores": os.cpu_count(), "started": time.time()}
    plan = benchmarks(args.quick, args.baseline_src)
    env: dict[str, dict[str, str]] = {}
    if args.baseline_src:
        plan = {**plan, "index_baseline": plan["index"]}
        source = str(Path(args.baseline_src).resolve())
        env["index_baseline"] = {**os.environ, "PYTHONPATH": source}
    for name, command in plan.items():
        before = [round(x, 2) for x in os.getloadavg()]
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(HERE / command[0]), *command[1:]],
            capture_output=True,
            text=True,
            check=False,
            env=env.get(name),
        )
        entry: dict[str, object] = {
            "load_average_before": before,
            "seconds": round(time.perf_counter() - started, 1),
        }
        try:
            entry["result"] = json.loads(done.stdout)
        except json.JSONDecodeError:
            entry["error"] = (done.stderr or done.stdout)[-2000:]
        results[name] = entry
        print(f"{name}: {'ok' if 'result' in entry else 'FAILED'} in {entry['seconds']} s")
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    if any("error" in v for v in results.values() if isinstance(v, dict)):
        sys.exit(1)


if __name__ == "__main__":
    main()

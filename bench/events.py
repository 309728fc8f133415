"""get_events over 10,000 events on anvil, next to the raw eth_getLogs it is built on.

    python bench/events.py [--events 10000] [--repeat 5]

Prints JSON. Target: typed events within 2x of the raw eth_getLogs request (JSON-RPC round trip
and JSON parsing, no decoding), and far ahead of web3's generic ``process_log``. The two reads
alternate, so a machine busy with something else slows both alike; the load average is printed
beside them. The marketplace is deployed with its governance, whose events are left out of the
range read (it starts after the deployment).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from list_gpus import fill

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode


def timed(fn: Any, repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` runs of ``fn`` and its last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def interleaved(first: Any, second: Any, repeat: int) -> tuple[list[float], list[float], Any]:
    """Seconds of ``repeat`` runs of each, ``first`` and ``second`` taking turns, and the last
    result of ``second``."""
    times: tuple[list[float], list[float]] = ([], [])
    result = None
    for _ in range(repeat):
        for fn, spent in zip((first, second), times, strict=True):
            start = time.perf_counter()
            result = fn()
            spent.append(time.perf_counter() - start)
    return times[0], times[1], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with AnvilNode(extra_args=("--gas-limit", "1000000000")) as node:
        w3 = node.web3()
        client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
        first = client.block_number() + 1
        fill(client, args.events)
        last = client.block_number()
        params = {"address": client.contract_address, "fromBlock": hex(first), "toBlock": hex(last)}

        def raw() -> list[Any]:
            result: list[Any] = w3.provider.make_request("eth_getLogs", [params])["result"]  # type: ignore[arg-type]
            return result

        def generic() -> list[Any]:
            event = client.contract.events.ListingCreated()
            logs = w3.eth.get_logs(
                {"address": client.contract_address, "fromBlock": first, "toBlock": last}
            )
            return [event.process_log(log) for log in logs]

        load_before = os.getloadavg()
        raw_times, typed_times, events = interleaved(
            raw, lambda: client.get_events(first, last), args.repeat
        )
        raw_s, typed_s = statistics.median(raw_times), statistics.median(typed_times)
        logs = raw()
        generic_s, _ = timed(generic, 1)
        assert len(events) == len(logs) == args.events
        print(
            json.dumps(
                {
                    "chain": "anvil",
                    "events": len(events),
                    "repeat": args.repeat,
                    "raw_eth_getLogs_s": round(raw_s, 4),
                    "get_events_s": round(typed_s, 4),
                    "ratio_to_raw": round(typed_s / raw_s, 2),
                    "web3_process_log_s": round(generic_s, 4),
                    "per_event_decode_us": round((typed_s - raw_s) / len(events) * 1e6, 2),
                    "load_average_1_5_15": [
                        [round(x, 2) for x in load] for load in (load_before, os.getloadavg())
                    ],
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

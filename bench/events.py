"""get_events over 10,000 events on anvil, next to the raw eth_getLogs it is built on, as JSON.

    python bench/events.py [--events 10000] [--rounds 5]

One anvil with a governed marketplace (as ``GPUHubClient.deploy`` makes it: the deployment's
own governance events come first) and ``--events`` ListingCreated events. Three contenders read
the same blocks, interleaved (raw, typed, web3, raw, typed, web3, ...) for ``--rounds`` rounds,
the load average printed beside each round:

- ``raw_eth_getLogs``: the JSON-RPC request alone (round trip and JSON parsing, no decoding);
- ``get_events``: ``client.get_events`` (typed events, every kind);
- ``web3_process_log``: web3's ``get_logs`` for the ListingCreated topic, then
  ``ListingCreated().process_log`` on each (web3's generic decoding).

All three read from the block after the deployment, so the governance events are left out of
the range. Target: typed events within 2x of the raw request, and far ahead of web3's generic
decoding.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import load_average, report
from list_gpus import fill

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with AnvilNode(extra_args=("--gas-limit", "1000000000", "--prune-history", "100")) as node:
        w3 = node.web3()
        client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
        first = client.block_number() + 1  # after the deployment and its governance wiring
        fill(client, args.events)
        last = client.block_number()
        event = client.contract.events.ListingCreated()
        topic = event.topic  # type: ignore[attr-defined]
        params = {"address": client.contract_address, "fromBlock": hex(first), "toBlock": hex(last)}

        def raw() -> int:
            return len(w3.provider.make_request("eth_getLogs", [params])["result"])  # type: ignore[arg-type]

        def typed() -> int:
            return sum(e.name == "ListingCreated" for e in client.get_events(first, last))

        def generic() -> int:
            query = {"address": client.contract_address, "fromBlock": first, "toBlock": last}
            logs = w3.eth.get_logs({**query, "topics": [topic]})  # type: ignore[typeddict-item]
            return len([event.process_log(log) for log in logs])

        contenders: dict[str, Callable[[], int]] = {
            "raw_eth_getLogs": raw,
            "get_events": typed,
            "web3_process_log": generic,
        }
        seconds: dict[str, list[float]] = {name: [] for name in contenders}
        rounds: list[dict[str, Any]] = []
        for _ in range(args.rounds):
            this_round: dict[str, Any] = {}
            for name, read in contenders.items():
                start = time.perf_counter()
                found = read()
                elapsed = time.perf_counter() - start
                seconds[name].append(elapsed)
                this_round[name] = {"s": round(elapsed, 4), "listing_created": found}
            this_round["load_average"] = load_average()
            rounds.append(this_round)
    median = {name: statistics.median(found) for name, found in seconds.items()}
    print(
        json.dumps(
            report(
                "events",
                {
                    "chain": "anvil",
                    "events": args.events,
                    "median_s": {name: round(value, 4) for name, value in median.items()},
                    "get_events_vs_raw": round(median["get_events"] / median["raw_eth_getLogs"], 2),
                    "web3_vs_get_events": round(
                        median["web3_process_log"] / median["get_events"], 2
                    ),
                    "per_event_decode_us": round(
                        (median["get_events"] - median["raw_eth_getLogs"]) / args.events * 1e6, 2
                    ),
                    "rounds": rounds,
                    "target_get_events_vs_raw_max": 2,
                },
            ),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

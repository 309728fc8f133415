"""How long the gpuhub command takes to start, as a real process.

    python bench/cli.py [--runs 7]

Prints JSON: the median wall-clock seconds of `gpuhub --help` (imports only the command's
modules), `gpuhub config show --json` (settings, no network), `gpuhub list --json` against anvil
(web3 and the client loaded, three RPC calls), and the milliseconds `import gpuhub.cli` takes as
`python -X importtime` reports it. Target: `gpuhub --help` in under 0.3 s on a laptop; every test
that runs the command as a process pays the `list` figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode


def seconds(args: list[str], env: dict[str, str], runs: int) -> float:
    """Median wall-clock seconds of ``python -m gpuhub ARGS`` over ``runs`` runs."""
    taken = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gpuhub", *args], env=env, check=True, capture_output=True
        )
        taken.append(time.perf_counter() - start)
    return round(statistics.median(taken), 3)


def import_ms() -> float:
    """Cumulative microseconds of ``import gpuhub.cli``, as -X importtime reports, in ms."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import gpuhub.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in done.stderr.splitlines() if x.rstrip().endswith("| gpuhub.cli"))
    match = re.search(r"\|\s*(\d+)\s*\|", line)
    assert match is not None
    return round(int(match.group(1)) / 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as home, AnvilNode() as node:
        market = GPUHubClient.deploy(node.web3())
        market.create_listing(gpu_model="T4", capacity=16, price=1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPUHUB_")}
        env.update(
            XDG_CONFIG_HOME=home,
            GPUHUB_RPC_URL=node.url,
            GPUHUB_CONTRACT=market.contract_address,
        )
        print(
            json.dumps(
                {
                    "runs": runs,
                    "help_s": seconds(["--help"], env, runs),
                    "config_show_s": seconds(["config", "show", "--json"], env, runs),
                    "list_s": seconds(["list", "--json"], env, runs),
                    "import_gpuhub_cli_ms": import_ms(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

"""Every command as a real process: gpuhub node started as one, then each command against it,
a whole trade and a governance round signed by keystore accounts, and the node's state kept
across a restart. Then gpuhub serve --demo over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _cli import PASSWORD, Cli
from eth_account import Account

from gpuhub.chain import find_anvil, free_port

pytestmark = pytest.mark.anvil


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUHUB_")}
    return {**env, "XDG_CONFIG_HOME": str(home), "GPUHUB_KEYSTORE_PASSWORD": PASSWORD}


class Node:
    """``gpuhub node --json`` as a process, until stopped with SIGTERM."""

    def __init__(self, home: Path, port: int, state: Path) -> None:
        find_anvil()
        command = ["node", "--port", str(port), "--state", str(state), "--json"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gpuhub", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_env(home),
        )
        lines = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # one JSON document, its closing brace alone on a line
            lines.append(line)
            if line == "}\n":
                break
        assert self.proc.poll() is None, "".join(lines)
        self.started: dict[str, Any] = json.loads("".join(lines))
        self.dev = [a["address"] for a in self.started["accounts"]]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


@pytest.fixture
def node(home: Path, tmp_path: Path) -> Iterator[tuple[Node, Cli]]:
    """gpuhub node on a free port, keeping its chain in a state file, and a Cli on it."""
    port = free_port()
    started = Node(home, port, tmp_path / "chain.json")
    try:
        yield started, Cli(f"http://127.0.0.1:{port}", home)
    finally:
        if started.proc.poll() is None:
            started.stop()


def test_every_command_as_a_process(node: tuple[Node, Cli], tmp_path: Path) -> None:
    """Each command runs once as its own process and prints what --json promises (the test
    moves the clock and funds accounts itself, to keep the processes few)."""
    from web3 import HTTPProvider, Web3

    from gpuhub.chain import DevChain
    from gpuhub.client import GPUHubClient

    started, cli = node
    dev = started.dev
    assert len(dev) == 10 and started.started["accounts"][0]["key"].startswith("0x")
    assert started.started["marketplace"]["kept"] is False
    w3 = Web3(HTTPProvider(cli.rpc))
    clock = DevChain(w3)

    def run(*args: str, code: int = 0, input: str | None = None) -> str:
        return cli.process(*args, code=code, input=input).stdout

    def js(*args: str, input: str | None = None) -> Any:
        return json.loads(run(*args, "--json", input=input))

    def fund(address: str) -> None:
        tx = w3.eth.send_transaction({"from": dev[0], "to": address, "value": 10**19})
        w3.eth.wait_for_transaction_receipt(tx)

    deployed = js("deploy", "--from", dev[0])
    assert js("config", "show")["deployments"]["31337"]["marketplace"] == deployed["marketplace"]
    market = GPUHubClient(w3, deployed["marketplace"])

    alice = Account.create()
    assert js("account", "import", "alice", input=f"{alice.key.hex()}\n")["alias"] == "alice"
    bob = js("account", "new", "bob")
    assert [a["alias"] for a in js("account", "list")] == ["alice", "bob"]
    assert js("account", "show", "bob") == bob
    fund(alice.address)
    fund(bob["address"])

    listing = js("add", "RTX 4090", "--capacity", "24", "--price", "0.001eth/h", "--from", "alice")
    lid = str(listing["listing_id"])
    assert js("update", lid, "--capacity", "20", "--from", "alice")["capacity"] == 20
    assert js("unavailable", lid, "--from", "alice")["status"] == "UNAVAILABLE"
    assert js("available", lid, "--from", "alice")["status"] == "AVAILABLE"
    assert [x["gpu_model"] for x in js("list")] == ["RTX 4090"]
    assert js("show", lid)["active_rental"] is None
    assert js("search", "model~4090")["total"] == 1
    assert js("quote", lid, "3h")["cost"] == str(3 * 10**15)
    rental = js("rent", lid, "3h", "--from", "bob")
    rid = str(rental["rental_id"])
    assert [r["rental_id"] for r in js("rentals", "--active")] == [rental["rental_id"]]
    assert js("extend", rid, "1h", "--from", "bob")["paid"] == str(4 * 10**15)
    assert js("chain", "advance-time", "1h")["advanced"] == 3600
    assert js("end", rid, "--from", "bob")["status"] == "ENDED_BY_RENTER"
    owed = js("balance", "--from", "alice")["withdrawable"]
    alert = json.loads(run("alerts", "--from", "alice", "--count", "1", "--json"))
    assert (alert["kind"], alert["amount"]) == ("withdrawable", owed)
    assert js("withdraw", "--from", "alice")["amount"] == owed
    assert js("rate", rid, "5", "--from", "bob")["score"] == 5
    assert js("reputation", alice.address)["provider_rating_count"] == 1
    watched = run("watch", "ListingCreated", "--from-block", "0", "--count", "1", "--json")
    assert json.loads(watched)["listing_id"] == listing["listing_id"]

    index = str(tmp_path / "index.db")
    assert js("index", "sync", "--url", index)["synced_block"] > 0
    assert js("search", "model~4090", "--index", index)["total"] == 1

    market.with_account(dev[2]).rent(listing["listing_id"], 1)
    clock.advance_time(2 * 3600)
    assert js("settle", "1", "--from", "bob")["status"] == "SETTLED"
    assert js("remove", lid, "--from", "alice")["status"] == "REMOVED"

    proposal = js("gov", "propose", "set-fee", "50", "--from", dev[0])
    pid = proposal["proposal_id"]
    clock.advance_time(2)
    assert js("gov", "vote", pid, "for", "--from", dev[0])["for_votes"] == str(10**18)
    clock.advance_time(601)
    assert js("gov", "queue", pid, "--from", dev[0])["state"] == "QUEUED"
    clock.advance_time(61)
    assert js("gov", "execute", pid, "--from", dev[0])["state"] == "EXECUTED"
    assert js("gov", "show", pid[:12])["state"] == "EXECUTED"
    assert [p["state"] for p in js("gov", "list")] == ["EXECUTED"]
    assert js("gov", "delegate", alice.address, "--from", dev[0])["delegate"] == alice.address
    assert js("gov", "votes", alice.address)["votes"] == str(10**18)
    run("gov", "claim", "--from", "bob", code=4)


def test_node_keeps_its_chain_in_the_state_file(
    node: tuple[Node, Cli], home: Path, tmp_path: Path
) -> None:
    """Stopped with SIGTERM and started again with the same --state, the node has the same
    marketplace and listings, and does not deploy again."""
    started, cli = node
    cli.process(
        "add", "Kept T4", "--capacity", "16", "--price", "1gwei/m", "--from", started.dev[1]
    )
    assert started.stop() == 0
    port = int(cli.rpc.rsplit(":", 1)[1])
    again = Node(home, port, tmp_path / "chain.json")
    try:
        assert again.started["marketplace"] == {**started.started["marketplace"], "kept": True}
        listed = json.loads(cli.process("list", "--json").stdout)
        assert [x["gpu_model"] for x in listed] == ["Kept T4"]
    finally:
        again.stop()


def test_serve_demo_lets_the_server_account_rent(home: Path) -> None:
    """gpuhub serve --demo lists GPUs from other accounts, so a rental works over HTTP at once."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpuhub",
            "serve",
            "--demo",
            "--port",
            str(port),
            "--allow-unauthenticated-writes",
            "--json",
        ],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if line == "}\n":
                break
        serving = json.loads("".join(lines))
        base = serving["url"]
        assert base == f"http://127.0.0.1:{port}" and serving["chain_id"] == 131277322940537
        deadline = time.monotonic() + 90
        while True:
            try:
                listings = httpx.get(f"{base}/v1/listings", timeout=5).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "gpuhub serve --demo did not start"
                time.sleep(0.2)
        assert listings["total"] == 5
        rented = httpx.post(f"{base}/v1/rentals", json={"listing_id": 0, "duration": 1}, timeout=30)
        assert rented.status_code == 201, rented.text
        assert (rented.json()["status"], rented.json()["renter"]) == ("ACTIVE", serving["account"])
    finally:
        server.terminate()
        server.wait(10)

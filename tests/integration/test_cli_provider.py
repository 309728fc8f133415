"""``gpuhub provider detect``, ``check`` and ``publish`` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _cli import Cli

from gpuhub.chain import AnvilNode
from gpuhub.client import GPUHubClient

NO_NODE = "http://127.0.0.1:9"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"


@pytest.fixture
def offline(home: Path) -> Cli:
    """The command line with no node (detection and checks need none)."""
    return Cli(NO_NODE, home)


def test_detect_json(offline: Cli, fake_nvidia_smi: Callable[..., str]) -> None:
    """detect --json lists each GPU with its UUID, memory and listing capacity."""
    smi = fake_nvidia_smi("eight-gpu-h100.xml")
    gpus = offline.json("provider", "detect", "--no-nvml", "--nvidia-smi", smi)
    assert len(gpus) == 8
    assert (gpus[5]["memory_mib"], gpus[5]["capacity_gb"], gpus[5]["ecc_errors"]) == (81559, 80, 2)


def test_detect_table(offline: Cli, fake_nvidia_smi: Callable[..., str]) -> None:
    """detect prints a table of the GPUs and the driver version."""
    smi = fake_nvidia_smi("one-gpu-rtx4090.xml")
    out = offline("provider", "detect", "--no-nvml", "--nvidia-smi", smi).stdout
    assert "NVIDIA GeForce RTX 4090" in out and "24564 MiB (24 GB)" in out
    assert "driver 550.54.14, CUDA 12.4" in out


def test_detect_without_driver(offline: Cli, fake_nvidia_smi: Callable[..., str]) -> None:
    """No driver: one line saying what nvidia-smi said and what to do, exit 3, no traceback."""
    smi = fake_nvidia_smi("driver-not-loaded.txt", status=9)
    failed = offline("provider", "detect", "--no-nvml", "--nvidia-smi", smi, code=3)
    assert "couldn't communicate with the NVIDIA driver" in failed.stderr
    assert "install the NVIDIA driver" in failed.stderr


def test_check_names_failures(
    offline: Cli, fake_nvidia_smi: Callable[..., str], tmp_path: Path
) -> None:
    """check exits 1 and names each failed check: here GPU 5's ECC errors and no start hook."""
    smi = fake_nvidia_smi("eight-gpu-h100.xml")
    failed = offline("provider", "check", "--no-nvml", "--nvidia-smi", smi, code=1)
    assert failed.stderr.strip() == "error: 2 check(s) failed: GPU 5 ECC, start hook"
    assert "FAIL GPU 5 ECC: 2 uncorrectable ECC errors" in failed.stdout


def test_check_passes(offline: Cli, fake_nvidia_smi: Callable[..., str], tmp_path: Path) -> None:
    """A healthy GPU and a runnable hook (from the environment) pass every check."""
    hook = tmp_path / "start.sh"
    hook.write_text("#!/bin/sh\necho ssh -p 2222 u@h\n")
    hook.chmod(0o755)
    offline.env["GPUHUB_START_HOOK"] = str(hook)
    smi = fake_nvidia_smi("one-gpu-rtx4090.xml")
    report = offline.json("provider", "check", "--no-nvml", "--nvidia-smi", smi)
    assert report["ok"] and [c["name"] for c in report["checks"]][-1] == "start hook"


@pytest.mark.anvil
def test_publish_twice(
    anvil_node: AnvilNode, home: Path, fake_nvidia_smi: Callable[..., str]
) -> None:
    """publish lists each GPU once; a second run at a new price updates the same listings."""
    market = GPUHubClient.deploy(anvil_node.web3())
    cli = Cli(anvil_node.url, home, {"GPUHUB_CONTRACT": market.contract_address})
    cli.account("alice", market)
    smi = fake_nvidia_smi("eight-gpu-h100.xml")
    args = ("provider", "publish", "--no-nvml", "--nvidia-smi", smi, "--from", "alice")
    first = cli.json(*args, "--price", "2eth/day", "--max", "3d")
    assert [p["action"] for p in first] == ["created"] * 8
    assert first[0]["listing"]["gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert (first[0]["listing"]["unit"], first[0]["listing"]["max_duration"]) == ("DAY", 3)
    again = cli.json(*args, "--price", "0.1eth/h")
    assert [p["action"] for p in again] == ["updated"] * 8
    assert [p["listing_id"] for p in again] == [p["listing_id"] for p in first]
    assert market.listing_count() == 8


def agent_process(cli: Cli, *args: str) -> subprocess.Popen[str]:
    """``gpuhub provider run ARGS`` as a real process, as a provider would start it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GPUHUB_") or k == "GPUHUB_KEYSTORE_PASSWORD"
    }
    env.update(XDG_CONFIG_HOME=str(cli.home), GPUHUB_RPC_URL=cli.rpc, **cli.env)
    return subprocess.Popen(
        [sys.executable, "-m", "gpuhub", "provider", "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.anvil
def test_rent_wait_access_end_to_end(
    anvil_node: AnvilNode, home: Path, fake_nvidia_smi: Callable[..., str], tmp_path: Path
) -> None:
    """A provider publishes and runs the agent; a renter's `rent --wait-access` prints what the
    start hook produced; SIGTERM stops the agent cleanly, every log line JSON."""
    market = GPUHubClient.deploy(anvil_node.web3())
    cli = Cli(anvil_node.url, home, {"GPUHUB_CONTRACT": market.contract_address})
    cli.account("alice", market)
    cli.account("bob", market)
    smi = fake_nvidia_smi("one-gpu-rtx4090.xml")
    cli(
        "provider",
        "publish",
        "--no-nvml",
        "--nvidia-smi",
        smi,
        "--price",
        "0.01eth/h",
        "--from",
        "alice",
    )
    hook = tmp_path / "start.sh"
    hook.write_text('#!/bin/sh\necho "ssh -p 2222 r$GPUHUB_RENTAL_ID@gpu.example.net"\n')
    hook.chmod(0o755)
    key = tmp_path / "id_ed25519.pub"
    key.write_text(SSH_KEY + " bob@laptop\n")
    agent = agent_process(cli, "--start-hook", str(hook), "--poll", "0.1", "--from", "alice")
    try:
        rented = cli(
            "rent",
            "0",
            "2h",
            "--ssh-key",
            str(key),
            "--wait-access",
            "--access-timeout",
            "60",
            "--from",
            "bob",
        )
        assert rented.stdout.splitlines()[-1] == "ssh -p 2222 r0@gpu.example.net"
        assert cli.json("access", "0", "--from", "bob")["access"] == (
            "ssh -p 2222 r0@gpu.example.net"
        )
        agent.send_signal(signal.SIGTERM)
        _, log = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()
    assert agent.returncode == 0
    actions = [json.loads(line)["action"] for line in log.splitlines()]
    assert actions[0] == "agent_started" and actions[-1] == "agent_stopped"
    assert "access_granted" in actions


@pytest.mark.anvil
def test_no_answer_says_what_to_do(anvil_node: AnvilNode, home: Path) -> None:
    """With no agent answering, --wait-access ends with one line: end the rental, or wait."""
    market = GPUHubClient.deploy(anvil_node.web3())
    cli = Cli(anvil_node.url, home, {"GPUHUB_CONTRACT": market.contract_address})
    cli.account("alice", market)
    cli.account("bob", market)
    cli("add", "NVIDIA L4", "--capacity", "24", "--price", "0.01eth/h", "--from", "alice")
    failed = cli(
        "rent", "0", "1h", "--wait-access", "--access-timeout", "1", "--from", "bob", code=3
    )
    assert "no connection details for rental 0 after 1 s" in failed.stderr
    assert "gpuhub end 0 --from bob" in failed.stderr and "only the seconds used" in failed.stderr
    assert "rented listing 0 as rental 0" in failed.stdout


def test_run_needs_a_start_hook(offline: Cli) -> None:
    """run without a start hook says how to give one (exit 2), before touching the chain."""
    failed = offline("provider", "run", "--from", "0x" + "11" * 20, code=2)
    assert "--start-hook" in failed.stderr

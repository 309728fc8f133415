"""``gpuhub provider detect``, ``check`` and ``publish`` from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from _cli import Cli

from gpuhub.chain import AnvilNode
from gpuhub.client import GPUHubClient

NO_NODE = "http://127.0.0.1:9"


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

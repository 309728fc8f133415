"""The gpuhub command line."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from gpuhub.chain import AnvilNode
from gpuhub.cli import app
from gpuhub.client import GPUHubClient


def test_demo_runs_the_story() -> None:
    """gpuhub demo exits 0 and tells the story from listing to withdrawal."""
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for text in (
        "Three providers",
        "NVIDIA H100 SXM5",
        "UNAVAILABLE",
        "NotListingProvider",
        "demo finished",
    ):
        assert text in result.output


def test_python_m_gpuhub() -> None:
    """python -m gpuhub is the same command."""
    out = subprocess.run(
        [sys.executable, "-m", "gpuhub", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in out.stdout


def test_list_against_anvil(anvil_node: AnvilNode) -> None:
    """gpuhub list prints a marketplace's listings from a real node."""
    client = GPUHubClient.deploy(anvil_node.web3())
    client.create_listing(gpu_model="Tesla T4", capacity=16, price=5)
    result = CliRunner().invoke(
        app, ["list", "--rpc", anvil_node.url, "--contract", client.contract_address]
    )
    assert result.exit_code == 0, result.output
    assert "Tesla T4" in result.output


def test_list_reports_unreachable_node() -> None:
    """An unreachable node is one clear error line and exit code 1, not a traceback."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpuhub",
            "list",
            "--rpc",
            "http://127.0.0.1:9",
            "--contract",
            "0x" + "1" * 40,
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "cannot reach the Ethereum node" in out.stderr
    assert "Traceback" not in out.stderr

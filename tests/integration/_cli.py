"""Helpers for the command-line tests: a clean config directory, the CLI run in-process with
typer's CliRunner (or as a real process), and funded accounts in its keystore."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from typer.testing import CliRunner, Result

from gpuhub.cli import EXIT_CODES, app
from gpuhub.client import GPUHubClient

PASSWORD = "s3cret pass phrase"


@dataclass
class Cli:
    """``gpuhub`` against one node, with a config directory of its own."""

    rpc: str
    home: Path
    #: environment added to every run (GPUHUB_CONTRACT, say).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        """gpuhub's config directory."""
        return self.home / "gpuhub"

    def run(self, *args: str, input: str | None = None) -> Result:
        """Run ``gpuhub ARGS`` in-process: it must end with a documented exit code, never a
        traceback, and a failure must be one line on stderr."""
        env = {"GPUHUB_RPC_URL": self.rpc, **self.env}
        result = CliRunner().invoke(app, list(args), input=input, env=env)
        seen = (args, result.exit_code, result.stdout, result.stderr, result.exception)
        assert result.exit_code in EXIT_CODES, seen
        assert "Traceback" not in result.stdout + result.stderr, seen
        if result.exit_code:
            assert len(result.stderr.strip().splitlines()) == 1, seen
            assert result.stderr.startswith("error: "), seen
        return result

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        """Run ``gpuhub ARGS`` in-process; it must exit with ``code``."""
        result = self.run(*args, input=input)
        assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        """Run ``gpuhub ARGS --json`` and return the one JSON document it prints."""
        return json.loads(self(*args, "--json", input=input).stdout)

    def process(
        self, *args: str, code: int = 0, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``gpuhub ARGS`` as a real process; it must exit with ``code``."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("GPUHUB_") or k == "GPUHUB_KEYSTORE_PASSWORD"
        }
        env.update(XDG_CONFIG_HOME=str(self.home), GPUHUB_RPC_URL=self.rpc, **self.env)
        done = subprocess.run(
            [sys.executable, "-m", "gpuhub", *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        assert code in EXIT_CODES
        return done

    def account(self, alias: str, market: GPUHubClient, eth: int = 10) -> str:
        """A new key imported under ``alias`` (the key typed in, hidden), funded with ``eth``
        ETH; returns its address."""
        account = Account.create()
        self("account", "import", alias, input=f"{account.key.hex()}\n")
        fund(market, account.address, eth * 10**18)
        return str(account.address)


def fund(market: GPUHubClient, address: str, wei: int) -> None:
    """Send ``wei`` from the node's first account and wait for it to be mined."""
    w3 = market.w3
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "value": wei})
    w3.eth.wait_for_transaction_receipt(tx)

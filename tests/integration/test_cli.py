"""The gpuhub command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpuhub.chain import AnvilNode
from gpuhub.cli import app
from gpuhub.cli._context import Session
from gpuhub.cli.serve import server_client
from gpuhub.client import GPUHubClient
from gpuhub.exceptions import ConfigError, KeystoreError


def test_demo_runs_the_story() -> None:
    """gpuhub demo exits 0 and tells the story from listing to withdrawal."""
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for text in (
        "Three providers",
        "NVIDIA H100 SXM5",
        "UNAVAILABLE",
        "NotListingProvider",
        "NotGovernance",
        "Votes claimed",
        "Lower the fee to 2.5%",
        "EXECUTED",
        "demo finished",
    ):
        assert text in result.output


def test_python_m_gpuhub() -> None:
    """python -m gpuhub is the same command."""
    out = subprocess.run(
        [sys.executable, "-m", "gpuhub", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in out.stdout


def test_list_against_anvil(anvil_node: AnvilNode, home: Path) -> None:
    """gpuhub list prints a marketplace's listings from a real node."""
    client = GPUHubClient.deploy(anvil_node.web3())
    client.create_listing(gpu_model="Tesla T4", capacity=16, price=5)
    result = CliRunner().invoke(
        app, ["list", "--rpc", anvil_node.url, "--contract", client.contract_address]
    )
    assert result.exit_code == 0, result.output
    assert "Tesla T4" in result.output


@pytest.mark.parametrize("command", ["list", "serve"])
def test_unreachable_node_is_one_error_line(command: str) -> None:
    """An unreachable node is one clear error line and exit code 5, not a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUHUB_")}
    rpc = ["--rpc", "http://127.0.0.1:9", "--contract", "0x" + "1" * 40]
    out = subprocess.run(
        [sys.executable, "-m", "gpuhub", command, *rpc],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 5
    assert out.stderr.startswith("error: cannot reach the Ethereum node")
    assert len(out.stderr.splitlines()) == 1


def _session(anvil_node: AnvilNode, market: GPUHubClient, **given: str) -> Session:
    return Session(rpc=anvil_node.url, contract=market.contract_address, **given)


def test_serve_signs_with_node_account(anvil_node: AnvilNode, home: Path) -> None:
    """Without an account, key or keystore, gpuhub serve sends as the node's first account."""
    market = GPUHubClient.deploy(anvil_node.web3())
    client = server_client(_session(anvil_node, market))
    assert client.address == anvil_node.web3().eth.accounts[0]
    assert client.create_listing(gpu_model="T4", capacity=16, price=1).provider == client.address


def test_serve_signs_with_key_from_environment(
    anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """gpuhub serve's client signs with $GPUHUB_PRIVATE_KEY, never a command-line key."""
    from eth_account import Account

    market = GPUHubClient.deploy(anvil_node.web3())
    account = Account.create()
    monkeypatch.setenv("GPUHUB_PRIVATE_KEY", account.key.hex())
    client = server_client(_session(anvil_node, market))
    assert client.address == account.address
    assert account.key.hex() not in repr(client)


def test_serve_signs_as_the_from_account(anvil_node: AnvilNode, home: Path) -> None:
    """gpuhub serve --from ALIAS signs with that keystore account."""
    from eth_account import Account

    market = GPUHubClient.deploy(anvil_node.web3())
    account = Account.create()
    CliRunner().invoke(app, ["account", "import", "server"], input=f"{account.key.hex()}\n")
    client = server_client(_session(anvil_node, market, account="server"))
    assert client.address == account.address


def test_serve_reads_keystore(
    anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path
) -> None:
    """gpuhub serve decrypts a keystore with $GPUHUB_KEYSTORE_PASSWORD; a wrong one is refused."""
    import json

    from eth_account import Account

    market = GPUHubClient.deploy(anvil_node.web3())
    account = Account.create()
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, "s3cret", iterations=2)))
    monkeypatch.setenv("GPUHUB_KEYSTORE_PASSWORD", "s3cret")
    assert server_client(_session(anvil_node, market), keystore).address == account.address
    monkeypatch.setenv("GPUHUB_KEYSTORE_PASSWORD", "hunter2")
    with pytest.raises(KeystoreError, match="cannot decrypt") as exc:
        server_client(_session(anvil_node, market), keystore)
    assert "hunter2" not in str(exc.value) and account.key.hex() not in str(exc.value)


def test_serve_rejects_bad_key_without_echoing_it(
    anvil_node: AnvilNode, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """A malformed $GPUHUB_PRIVATE_KEY is refused and never printed back."""
    market = GPUHubClient.deploy(anvil_node.web3())
    monkeypatch.setenv("GPUHUB_PRIVATE_KEY", "0xdeadbeefnotakey")
    with pytest.raises(ConfigError) as exc:
        server_client(_session(anvil_node, market))
    assert "deadbeef" not in str(exc.value)


def test_version_and_short_help() -> None:
    """gpuhub --version prints the version and -h is the same as --help."""
    import gpuhub

    version = CliRunner().invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"gpuhub {gpuhub.__version__}"
    short = CliRunner().invoke(app, ["serve", "-h"])
    assert (
        short.exit_code == 0 and short.output == CliRunner().invoke(app, ["serve", "--help"]).output
    )


@pytest.mark.parametrize("columns", ["80", "110"])
def test_serve_help_keeps_option_names_whole(columns: str) -> None:
    """serve --help shows every option name in full on a narrow terminal."""
    out = subprocess.run(
        [sys.executable, "-m", "gpuhub", "serve", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": columns},
        check=True,
    )
    for option in ("--allow-unauthenticated-writes", "--cors-origin", "--keystore"):
        assert option in out.stdout


def test_errors_print_square_brackets() -> None:
    """An error message with square brackets reaches the terminal intact, not eaten as markup."""
    script = (
        "import sys; sys.modules['uvicorn'] = None; sys.argv = ['gpuhub', 'serve'];"
        "from gpuhub.cli import main; main()"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 6
    assert 'pip install "gpuhub-eth[api]"' in out.stderr


def test_node_stops_anvil_on_sigterm() -> None:
    """kill -TERM on gpuhub node stops its anvil child too, freeing the port."""
    import signal
    import socket

    from gpuhub.chain import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpuhub", "node", "--port", str(port), "--no-deploy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "anvil listening" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    with socket.socket() as sock, pytest.raises(OSError):
        sock.connect(("127.0.0.1", port))


def test_node_refuses_a_port_in_use(home: Path) -> None:
    """gpuhub node on a port something listens on fails with one line naming --port."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["node", "--port", str(port)])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"error: port {port} is in use (another node?): stop it, or pass --port with a free "
        "port\n"
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("gpuhub ren", ["rent", "rentals"]),
        ("gpuhub gov propose set-", ["set-fee", "set-treasury", "set-guardian"]),
        ("gpuhub rent --max", ["--max-total"]),
    ],
)
def test_shell_completion(words: str, expected: list[str]) -> None:
    """The shell's completion request is answered with commands, sub-commands and options."""
    env = {
        **os.environ,
        "_GPUHUB_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    out = subprocess.run(
        [sys.executable, "-c", "from gpuhub.cli import main; main()"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout.split() == expected


def test_completion_script_is_shown() -> None:
    """gpuhub --show-completion prints the script that installs completion."""
    out = subprocess.run(
        [sys.executable, "-m", "gpuhub", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "_gpuhub_completion" in out.stdout

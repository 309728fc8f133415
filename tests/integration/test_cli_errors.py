"""Bad input of every kind ends in one line on stderr and a documented exit code, never a
traceback: one case per code, then random command lines drawn by hypothesis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import Cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuhub import Action
from gpuhub.chain import AnvilNode
from gpuhub.cli import EXIT_CODES
from gpuhub.cli._app import EXIT_BUG
from gpuhub.client import GPUHubClient

pytestmark = pytest.mark.anvil


def rented_market(node: AnvilNode) -> GPUHubClient:
    """A marketplace with one listing by the node's second account, rented by its first."""
    client = GPUHubClient.deploy(node.web3())
    client.with_account(client.accounts[1]).create_listing(
        gpu_model="T4", capacity=16, price=10**12, max_duration=100
    )
    client.rent(0, 2)
    return client


def cli_on(node: AnvilNode, market: GPUHubClient, home: Path) -> Cli:
    """The command line on ``market``, with one keystore account, alice."""
    cli = Cli(node.url, home, {"GPUHUB_CONTRACT": market.contract_address})
    cli.account("alice", market)
    return cli


@pytest.fixture
def market(anvil_node: AnvilNode) -> GPUHubClient:
    """A marketplace with one listing by the node's second account, rented by its first."""
    return rented_market(anvil_node)


@pytest.fixture
def cli(anvil_node: AnvilNode, market: GPUHubClient, home: Path) -> Cli:
    """The command line on that marketplace, with one keystore account, alice."""
    return cli_on(anvil_node, market, home)


@pytest.fixture
def own_cli(home: Path) -> Iterator[Cli]:
    """The command line on such a marketplace on an anvil of its own: commands that move the
    clock arbitrarily far leave the session's node as it was."""
    with AnvilNode(accounts=20) as node:
        yield cli_on(node, rented_market(node), home)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["add", "T4", "--capacity", "16", "--price", "1eth"], 2, "--price: say what the price"),
        (["rent", "0", "2x"], 2, "DURATION: unknown unit 'x'"),
        (["rent", "0", "90s", "--from", "alice"], 2, "not a whole number of minutes"),
        (["list", "--max-price", "0.5wei"], 2, "not a whole number of wei"),
        (["balance", "0x1234"], 2, "ADDRESS: expected a 0x-prefixed address"),
        (["lsit"], 2, "No such command 'lsit'"),
        (["show", "7"], 3, "ListingNotFound(listing_id=7): gpuhub list --all"),
        (["end", "0", "--from", "alice"], 4, "NotRentalParty"),
        (["rent", "0", "2", "--from", "alice"], 4, "ListingNotAvailable"),
        (["withdraw", "--from", "alice"], 4, "NothingToWithdraw"),
        (["list", "--rpc", "http://127.0.0.1:9"], 5, "cannot reach the Ethereum node"),
    ],
)
def test_each_kind_of_failure_has_its_code(cli: Cli, args: list[str], code: int, says: str) -> None:
    """Usage errors exit 2, unknown things 3, contract refusals 4, an unreachable node 5."""
    failed = cli(*args, code=code)
    assert says in failed.stderr


def test_exit_codes_are_the_documented_ones() -> None:
    """docs/cli.md lists every exit code the command line can end with."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    for code in EXIT_CODES:
        assert f"| {code} |" in doc


TOKENS = st.sampled_from(
    [
        "0",
        "1",
        "2",
        "-1",
        "7",
        "99999999999999999999999999999",
        "1.5",
        "nan",
        "",
        "1eth",
        "0.05eth/h",
        "50gwei/min",
        "1e999",
        "1.5wei",
        "2eth/week",
        "/h",
        "2h",
        "90m",
        "1h30m",
        "0s",
        "99999999d",
        "3",
        "h",
        "alice",
        "nobody",
        "0xabc",
        "0x" + "1" * 40,
        "0x" + "ab" * 32,
        "0X" + "G" * 40,
        "--from",
        "--json",
        "--price",
        "--capacity",
        "--min",
        "--max",
        "--to",
        "--all",
        "--comment",
        "--mine",
        "--active",
        "--max-total",
        "--contract",
        "--profile",
        "--index",
        "--renter",
        "--url",
        "for",
        "against",
        "none",
        "model~4090",
        "capacity>=",
        "sort=-price",
        "[bold]x[/]",
        "[/red]",
        "é",
        "\t",
    ]
)
COMMANDS = st.sampled_from(
    [
        ["list"],
        ["show"],
        ["add"],
        ["update"],
        ["available"],
        ["unavailable"],
        ["remove"],
        ["quote"],
        ["rent"],
        ["extend"],
        ["end"],
        ["settle"],
        ["rentals"],
        ["balance"],
        ["withdraw"],
        ["rate"],
        ["reputation"],
        ["search"],
        ["index", "sync"],
        ["account", "new"],
        ["account", "import"],
        ["account", "list"],
        ["account", "show"],
        ["config", "show"],
        ["chain", "advance-time"],
        ["gov", "list"],
        ["gov", "show"],
        ["gov", "vote"],
        ["gov", "queue"],
        ["gov", "execute"],
        ["gov", "claim"],
        ["gov", "delegate"],
        ["gov", "votes"],
        ["gov", "propose", "set-fee"],
        ["gov", "propose", "pay"],
        ["gov", "propose", "call"],
        ["gov", "propose", "set-guardian"],
    ]
)
TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(COMMANDS, st.lists(st.one_of(TOKENS, TEXT), max_size=6), st.sampled_from(["", "x\n"]))
def test_random_command_lines_fail_cleanly(
    own_cli: Cli, command: list[str], args: list[str], stdin: str
) -> None:
    """Whatever the arguments, a command ends with a documented exit code other than the bug
    code, and a failure is one line on stderr (Cli.run checks those)."""
    result = own_cli.run(*command, *args, input=stdin)
    assert result.exit_code != EXIT_BUG, (command, args, result.stderr)


def test_time_past_year_9999_prints(own_cli: Cli) -> None:
    """A dev chain moved past the year 9999 (273,000 years at a time) prints its clock as a
    timestamp instead of failing as a bug."""
    moved = own_cli("chain", "advance-time", "99999999d")
    assert "past the year 9999" in moved.stdout


def test_names_from_the_chain_print_as_text(cli: Cli, market: GPUHubClient) -> None:
    """A model name or a proposal written as rich markup prints as it is, and breaks no table."""
    hostile = "[/red] [bold]x"
    market.with_account(market.accounts[2]).create_listing(gpu_model=hostile, capacity=16, price=1)
    market.governance.propose([Action.pause()], "[/] pause")
    for args in (["list"], ["show", "1"], ["search", "capacity>=1"]):
        assert hostile in cli(*args).stdout
    assert "[/] pause" in cli("gov", "list").stdout

"""Where the command line finds its node, marketplace and signer: flags, environment, profiles,
the deployments file, and keystores unlocked by password. No key or password is ever shown."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from _cli import PASSWORD, Cli
from eth_account import Account

from gpuhub.chain import AnvilNode
from gpuhub.client import GPUHubClient

pytestmark = pytest.mark.anvil


@pytest.fixture
def cli(anvil_node: AnvilNode, home: Path) -> Cli:
    """The command line on the session's anvil, with an empty config directory."""
    return Cli(anvil_node.url, home)


def test_flag_beats_environment_beats_profile(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, anvil_node: AnvilNode
) -> None:
    """config show names each value's source: the flag over the environment over the profile."""
    cli.config.mkdir(parents=True)
    (cli.config / "config.toml").write_text(
        'profile = "dev"\n[profiles.dev]\naccount = "from-profile"\nindex = "idx.db"\n'
        f'contract = "0x{"1" * 40}"\n'
    )
    monkeypatch.setenv("GPUHUB_ACCOUNT", "from-env")
    monkeypatch.setenv("GPUHUB_CONTRACT", "0x" + "2" * 40)
    shown = cli.json("config", "show", "--contract", "0x" + "3" * 40)
    settings = shown["settings"]
    assert settings["contract"] == {"value": "0x" + "3" * 40, "source": "--contract"}
    assert settings["account"] == {"value": "from-env", "source": "$GPUHUB_ACCOUNT"}
    assert settings["index"] == {"value": "idx.db", "source": "profile 'dev'"}
    assert settings["rpc_url"] == {"value": anvil_node.url, "source": "$GPUHUB_RPC_URL"}
    assert shown["profile"]["value"] == "dev"


def test_profile_chooses_the_network(cli: Cli, anvil_node: AnvilNode) -> None:
    """A profile's rpc_url and contract are used when no flag or variable sets them."""
    market = GPUHubClient.deploy(anvil_node.web3())
    market.create_listing(gpu_model="Profiled T4", capacity=16, price=1)
    cli.config.mkdir(parents=True)
    (cli.config / "config.toml").write_text(
        f'[profiles.anvil]\nrpc_url = "{anvil_node.url}"\ncontract = "{market.contract_address}"\n'
    )
    cli.rpc = ""  # nothing from the environment: the profile decides
    listed = cli.json("list", "--profile", "anvil")
    assert [x["gpu_model"] for x in listed] == ["Profiled T4"]
    cli("list", "--profile", "mainnet", code=2)


def test_deploy_records_the_marketplace_for_the_chain(cli: Cli, anvil_node: AnvilNode) -> None:
    """After gpuhub deploy, commands on that chain find the marketplace with no --contract."""
    cli("list", code=2)  # nothing known on the chain yet: the error says to deploy
    deployed = cli.json("deploy", "--from", anvil_node.web3().eth.accounts[0])
    assert deployed["chain_id"] == 31337 and deployed["governor"] is not None
    assert cli.json("list") == []
    shown = cli.json("config", "show")
    assert shown["deployments"]["31337"]["marketplace"] == deployed["marketplace"]


def test_a_forgotten_marketplace_names_the_fix(cli: Cli, anvil_node: AnvilNode) -> None:
    """A recorded address with no code (the node restarted fresh) is not found (exit 3)."""
    from gpuhub.config import Deployments

    Deployments(cli.config / "deployments.json").record(31337, "0x" + "5" * 40, 0)
    refused = cli("list", code=3)
    assert "deployments.json" in refused.stderr and "gpuhub deploy" in refused.stderr


def test_account_new_list_show(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """account new makes a 0600 keyfile from a password read from stdin; list and show find it
    without a password."""
    monkeypatch.delenv("GPUHUB_KEYSTORE_PASSWORD")
    made = cli.json("account", "new", "alice", input=f"{PASSWORD}\n")
    assert stat.S_IMODE(Path(made["path"]).stat().st_mode) == 0o600
    assert cli.json("account", "list") == [made]
    assert cli.json("account", "show", made["address"].lower()) == made
    cli("account", "show", "bob", code=3)
    taken = cli("account", "new", "alice", input="", code=1)  # refused before any prompt
    assert "exists already" in taken.stderr


def test_unlock_with_the_right_password_only(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write as a keystore account unlocks it with the password; a wrong one is refused."""
    market = GPUHubClient.deploy(cli_web3(cli))
    cli.env["GPUHUB_CONTRACT"] = market.contract_address
    cli.account("alice", market)
    monkeypatch.setenv("GPUHUB_KEYSTORE_PASSWORD", "not it")
    refused = cli("add", "T4", "--capacity", "16", "--price", "1gwei/m", "--from", "alice", code=1)
    assert refused.stderr == "error: cannot unlock alice: wrong password\n"
    monkeypatch.delenv("GPUHUB_KEYSTORE_PASSWORD")
    added = cli(
        "add",
        "T4",
        "--capacity",
        "16",
        "--price",
        "1gwei/m",
        "--from",
        "alice",
        input=f"{PASSWORD}\n",
    )
    assert "listed as listing 0" in added.stdout


def test_writes_need_an_account(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write with no account is a usage error naming --from; $GPUHUB_PRIVATE_KEY signs."""
    market = GPUHubClient.deploy(cli_web3(cli))
    cli.env["GPUHUB_CONTRACT"] = market.contract_address
    refused = cli("add", "T4", "--capacity", "16", "--price", "1gwei/m", code=2)
    assert "pass --from ALIAS" in refused.stderr
    key = Account.create()
    monkeypatch.setenv("GPUHUB_PRIVATE_KEY", key.key.hex())
    from _cli import fund

    fund(market, key.address, 10**18)
    added = cli.json("add", "T4", "--capacity", "16", "--price", "1gwei/m")
    assert added["provider"] == key.address


def test_no_key_or_password_is_ever_shown(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Importing, listing, signing and failing to unlock print and log neither the key nor the
    password."""
    caplog.set_level(logging.DEBUG)
    market = GPUHubClient.deploy(cli_web3(cli))
    cli.env["GPUHUB_CONTRACT"] = market.contract_address
    key = Account.create()
    from _cli import fund

    fund(market, key.address, 10**18)
    monkeypatch.delenv("GPUHUB_KEYSTORE_PASSWORD")
    seen = [
        cli("account", "import", "alice", input=f"{key.key.hex()}\n{PASSWORD}\n"),
        cli("account", "list"),
        cli("account", "show", "alice"),
        cli(
            "add",
            "T4",
            "--capacity",
            "16",
            "--price",
            "1gwei/m",
            "--from",
            "alice",
            input=f"{PASSWORD}\n",
        ),
        cli("withdraw", "--from", "alice", input="Tr0ub4dor&3\n", code=1),
        cli("config", "show"),
    ]
    shown = caplog.text + "".join(r.stdout + r.stderr for r in seen)
    assert key.key.hex().removeprefix("0x") not in shown
    assert PASSWORD not in shown, shown[shown.find(PASSWORD) - 300 : shown.find(PASSWORD) + 50]
    assert "Tr0ub4dor" not in shown


def cli_web3(cli: Cli):  # type: ignore[no-untyped-def]
    """A Web3 on the command line's node."""
    from web3 import HTTPProvider, Web3

    return Web3(HTTPProvider(cli.rpc))


def test_import_a_keyfile_made_elsewhere(cli: Cli, tmp_path: Path) -> None:
    """account import --keyfile copies a keyfile another tool made, once its password opens it."""
    import json

    key = Account.create()
    outside = tmp_path / "cast-wallet-key"
    outside.write_text(json.dumps(Account.encrypt(key.key, PASSWORD, iterations=2**4)))
    imported = cli.json("account", "import", "eve", "--keyfile", str(outside))
    assert imported["address"] == key.address
    assert stat.S_IMODE(Path(imported["path"]).stat().st_mode) == 0o600


def test_an_rpc_url_with_a_key_is_never_shown_whole(cli: Cli, anvil_node: AnvilNode) -> None:
    """Messages and config show give the node's scheme and host only: providers put API keys in
    the rest of the URL."""
    keyed = f"{anvil_node.url}/?token=Sup3rSecretApiKey"
    missing = cli("list", "--rpc", keyed, code=2)
    assert f"no marketplace known on chain 31337 ({anvil_node.url}/…)" in missing.stderr
    unreachable = cli("list", "--rpc", f"{anvil_node.url}/v3/Sup3rSecretApiKey", code=5)
    pathed = "https://user:Sup3rSecretApiKey@node.example/v3/Sup3rSecretApiKey"
    text = cli("config", "show", "--rpc", pathed).stdout
    value = cli.json("config", "show", "--rpc", pathed)["settings"]["rpc_url"]["value"]
    assert value == "https://node.example/…"
    bad = cli("list", "--rpc", "infura.io/v3/Sup3rSecretApiKey", code=2)
    seen = missing.stderr + unreachable.stderr + text + value + bad.stderr
    assert "Sup3rSecretApiKey" not in seen

"""gpuhub.config: the config directory, profiles, precedence and the deployments file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuhub import ConfigError
from gpuhub.config import Deployment, Deployments, config_dir, resolve

CONFIG = """
profile = "local"

[profiles.local]
rpc_url = "http://127.0.0.1:8545"
account = "alice"

[profiles.sepolia]
rpc_url = "https://sepolia.example/rpc"
contract = "0x00000000000000000000000000000000000000aa"
index = "~/sepolia.db"
"""


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A config directory with two profiles, "local" active."""
    (tmp_path / "config.toml").write_text(CONFIG)
    return tmp_path


def test_config_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$XDG_CONFIG_HOME/gpuhub when it is absolute, else ~/.config/gpuhub."""
    assert config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "gpuhub"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_dir({"XDG_CONFIG_HOME": "relative"}) == tmp_path / ".config" / "gpuhub"
    assert config_dir({}) == tmp_path / ".config" / "gpuhub"


def test_flag_beats_environment_beats_profile_beats_default(directory: Path) -> None:
    """Each setting comes from the flag, else the environment, else the profile, else default."""
    env = {"GPUHUB_RPC_URL": "http://env:1", "GPUHUB_ACCOUNT": "bob"}
    flags = {"rpc_url": "http://flag:1"}
    settings = resolve(flags, environ=env, directory=directory)
    assert (settings["rpc_url"], settings.values["rpc_url"].source) == ("http://flag:1", "--rpc")
    assert (settings["account"], settings.values["account"].source) == ("bob", "$GPUHUB_ACCOUNT")
    only_profile = resolve({}, environ={}, directory=directory)
    assert only_profile.values["account"].source == "profile 'local'"
    assert only_profile["account"] == "alice"
    assert (only_profile["contract"], only_profile.values["contract"].source) == (None, "unset")
    empty = resolve({}, environ={}, directory=directory / "nothing-here")
    assert empty.values["rpc_url"].source == "default"
    assert empty["rpc_url"] == "http://127.0.0.1:8545"


def test_profile_is_chosen_by_flag_then_environment_then_file(directory: Path) -> None:
    """--profile beats $GPUHUB_PROFILE, which beats the file's profile key."""
    env = {"GPUHUB_PROFILE": "sepolia"}
    assert resolve(environ=env, directory=directory).profile.value == "sepolia"
    assert resolve(environ=env, directory=directory)["index"] == "~/sepolia.db"
    chosen = resolve(profile="local", environ=env, directory=directory)
    assert (chosen.profile.value, chosen.profile.source) == ("local", "--profile")
    assert resolve(environ={}, directory=directory).profile.value == "local"


def test_a_profile_named_default_is_used_when_none_is_chosen(tmp_path: Path) -> None:
    """With no active profile named anywhere, a [profiles.default] table applies."""
    (tmp_path / "config.toml").write_text('[profiles.default]\naccount = "carol"\n')
    settings = resolve(environ={}, directory=tmp_path)
    assert (settings.profile.value, settings["account"]) == ("default", "carol")


def test_unknown_profile_is_refused(directory: Path) -> None:
    """A profile the file does not have is a ConfigError naming the ones it has."""
    with pytest.raises(ConfigError, match=r"no profile 'mainnet'.*local, sepolia"):
        resolve(profile="mainnet", environ={}, directory=directory)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("profile = ", "not valid TOML"),
        ('[profiles.local]\nrpc = "x"\n', "unknown setting 'rpc'"),
        ("[profiles.local]\naccount = 3\n", "must be text"),
        ('colour = "red"\n', "unknown key 'colour'"),
        ("profiles = 3\n", "must hold tables"),
    ],
)
def test_malformed_config_is_one_clear_error(tmp_path: Path, text: str, reason: str) -> None:
    """A config file that does not parse or holds unknown keys names the file and the key."""
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=reason) as exc:
        resolve(environ={}, directory=tmp_path)
    assert str(tmp_path / "config.toml") in str(exc.value)


def test_deployments_are_recorded_per_chain(tmp_path: Path) -> None:
    """Recording a marketplace keeps other chains' and replaces the same chain's."""
    deployments = Deployments(tmp_path / "sub" / "deployments.json")
    assert deployments.get(31337) is None
    deployments.record(31337, "0x" + "1" * 40, 5)
    deployments.record(11155111, "0x" + "2" * 40, 700)
    deployments.record(31337, "0x" + "3" * 40, 9)
    assert deployments.all() == {
        31337: Deployment(31337, "0x" + "3" * 40, 9),
        11155111: Deployment(11155111, "0x" + "2" * 40, 700),
    }
    left = sorted(p.name for p in deployments.path.parent.iterdir())
    assert left == [".deployments.json.lock", "deployments.json"]  # no temporary file left


def _record_many(path: str, first: int) -> None:
    deployments = Deployments(Path(path))
    for chain_id in range(first, first + 40):
        deployments.record(chain_id, "0x" + f"{chain_id:040x}", chain_id)


def test_processes_recording_at_once_keep_every_entry(tmp_path: Path) -> None:
    """Three processes recording 40 chains each at the same time: all 120 are kept (each read,
    change and write runs under the file's lock; without it, writes overwrote each other)."""
    import multiprocessing

    path = str(tmp_path / "deployments.json")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_record_many, args=(path, first)) for first in (1, 41, 81)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert sorted(Deployments(Path(path)).all()) == list(range(1, 121))


def test_a_foreign_deployments_file_is_refused(tmp_path: Path) -> None:
    """A deployments file gpuhub did not write is a ConfigError saying to delete it."""
    path = tmp_path / "deployments.json"
    path.write_text('{"chains": {"x": 1}}')
    with pytest.raises(ConfigError, match="delete it"):
        Deployments(path).all()

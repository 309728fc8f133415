"""Where gpuhub keeps its settings, and the order it finds them in.

The config directory is ``$XDG_CONFIG_HOME/gpuhub`` (``~/.config/gpuhub`` by default)::

    config.toml              profiles, one per network; yours to edit (gpuhub never rewrites it)
    deployments.json         the marketplace address per chain id, written by gpuhub node / deploy
    keystores/<alias>.json   encrypted keys (gpuhub.keystore), mode 0600

``config.toml`` names the active profile and holds one table per profile::

    profile = "local"

    [profiles.local]
    rpc_url = "http://127.0.0.1:8545"
    account = "alice"

    [profiles.sepolia]
    rpc_url = "https://sepolia.example/rpc"
    contract = "0x..."
    account = "me"
    index = "~/gpuhub/sepolia.db"

Each setting is found in this order: the command line's flag, then the environment
(``GPUHUB_RPC_URL``, ``GPUHUB_CONTRACT``, ``GPUHUB_ACCOUNT``, ``GPUHUB_INDEX``), then the active
profile (chosen by ``--profile``, ``GPUHUB_PROFILE``, the file's ``profile`` key, or a profile
named ``default``), then the built-in default. :func:`resolve` returns each value with where it
came from. A marketplace address no setting gives is looked up by chain id in the deployments file.

Nothing here touches the network; ``config.toml`` is read with the standard library's tomllib.
"""

from __future__ import annotations

import contextlib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .exceptions import ConfigError

__all__ = [
    "CONFIG_FILE",
    "DEPLOYMENTS_FILE",
    "SETTINGS",
    "Deployment",
    "Deployments",
    "Setting",
    "Settings",
    "Value",
    "config_dir",
    "resolve",
]

CONFIG_FILE = "config.toml"
DEPLOYMENTS_FILE = "deployments.json"
#: environment variable that picks the active profile.
PROFILE_ENV = "GPUHUB_PROFILE"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name in config.toml, its flag, its environment variable and default."""

    name: str
    flag: str
    env: str
    default: str | None
    help: str


#: every setting, by its name in config.toml.
SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "rpc_url",
            "--rpc",
            "GPUHUB_RPC_URL",
            "http://127.0.0.1:8545",
            "the node's JSON-RPC URL",
        ),
        Setting(
            "contract",
            "--contract",
            "GPUHUB_CONTRACT",
            None,
            "the marketplace's address (default: the one deployed on the chain, from "
            "deployments.json)",
        ),
        Setting("account", "--from", "GPUHUB_ACCOUNT", None, "the signing account's alias"),
        Setting("index", "--index", "GPUHUB_INDEX", None, "the market index (a file or a URL)"),
        Setting(
            "start_hook",
            "--start-hook",
            "GPUHUB_START_HOOK",
            None,
            "the provider agent's command run when a rental starts",
        ),
        Setting(
            "stop_hook",
            "--stop-hook",
            "GPUHUB_STOP_HOOK",
            None,
            "the provider agent's command run when a rental is over",
        ),
    )
}


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """gpuhub's config directory: ``$XDG_CONFIG_HOME/gpuhub``, else ``~/.config/gpuhub``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or ""
    # The XDG spec says a relative path is invalid and must be ignored.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "gpuhub"


@dataclass(frozen=True, slots=True)
class Value:
    """A setting's value and where it came from."""

    #: the setting's name.
    name: str
    #: its value, or None when nothing sets it.
    value: str | None
    #: where it came from: ``--rpc``, ``$GPUHUB_RPC_URL``, ``profile 'local'``, ``default``, or
    #: ``unset``.
    source: str


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting resolved, with the profile and the files they were read from."""

    #: the active profile's name (None when there is none) and what chose it.
    profile: Value
    #: each setting by name.
    values: dict[str, Value]
    #: the config directory.
    directory: Path

    def __getitem__(self, name: str) -> str | None:
        return self.values[name].value

    @property
    def config_file(self) -> Path:
        """The config file (it may not exist)."""
        return self.directory / CONFIG_FILE

    @property
    def deployments(self) -> Deployments:
        """The deployments file of this config directory."""
        return Deployments(self.directory / DEPLOYMENTS_FILE)


def resolve(
    flags: Mapping[str, str | None] | None = None,
    *,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> Settings:
    """Every setting from the flags, the environment, the active profile and the defaults.

    Args:
        flags: values given on the command line, by setting name (None: not given).
        profile: the profile asked for on the command line (``--profile``).
        environ: the environment (default: ``os.environ``).
        directory: the config directory (default: :func:`config_dir`).

    Raises:
        ConfigError: config.toml does not parse, holds an unknown key or a value that is not
            text, or the profile asked for is not in it.
    """
    env = os.environ if environ is None else environ
    where = config_dir(env) if directory is None else directory
    path = where / CONFIG_FILE
    active, profiles = _read(path)
    if profile:
        chosen = Value("profile", profile, "--profile")
    elif env.get(PROFILE_ENV):
        chosen = Value("profile", env[PROFILE_ENV], f"${PROFILE_ENV}")
    elif active is not None:
        chosen = Value("profile", active, f"{path}")
    elif "default" in profiles:
        chosen = Value("profile", "default", "default")
    else:
        chosen = Value("profile", None, "unset")
    table: dict[str, str] = {}
    if chosen.value is not None:
        if chosen.value not in profiles:
            known = ", ".join(sorted(profiles)) or "none yet"
            raise ConfigError(
                f"no profile {chosen.value!r} in {path} (from {chosen.source}); profiles there: "
                f"{known}. Add a [profiles.{chosen.value}] table or pick another with --profile"
            )
        table = profiles[chosen.value]
    given = flags or {}
    values = {}
    for name, setting in SETTINGS.items():
        if given.get(name):
            values[name] = Value(name, given[name], setting.flag)
        elif env.get(setting.env):
            values[name] = Value(name, env[setting.env], f"${setting.env}")
        elif name in table:
            values[name] = Value(name, table[name], f"profile {chosen.value!r}")
        elif setting.default is not None:
            values[name] = Value(name, setting.default, "default")
        else:
            values[name] = Value(name, None, "unset")
    return Settings(profile=chosen, values=values, directory=where)


def _read(path: Path) -> tuple[str | None, dict[str, dict[str, str]]]:
    """The active profile's name and every profile's table, from ``path`` (none if missing)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    unknown = set(document) - {"profile", "profiles"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {sorted(unknown)[0]!r} at the top; it holds 'profile' and "
            "[profiles.NAME] tables"
        )
    active = document.get("profile")
    if active is not None and not isinstance(active, str):
        raise ConfigError(f"{path}: 'profile' must be a profile's name in quotes")
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: 'profiles' must hold tables, as in [profiles.local]")
    checked: dict[str, dict[str, str]] = {}
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: profiles.{name} must be a table, as in [profiles.{name}]")
        for key, value in table.items():
            if key not in SETTINGS:
                raise ConfigError(
                    f"{path}: unknown setting {key!r} in [profiles.{name}]; settings are "
                    f"{', '.join(SETTINGS)}"
                )
            if not isinstance(value, str):
                raise ConfigError(f"{path}: profiles.{name}.{key} must be text in quotes")
        checked[name] = table
    return active, checked


@dataclass(frozen=True, slots=True)
class Deployment:
    """A marketplace recorded for one chain."""

    #: the chain's id.
    chain_id: int
    #: the marketplace's address.
    address: str
    #: a block at or before the one the marketplace was created in (where an index starts).
    block: int


class Deployments:
    """The marketplace address per chain id, in a JSON file gpuhub writes (``deployments.json``).

    JSON rather than TOML: gpuhub alone writes this file, so it needs no TOML writer, and
    ``config.toml``, which people edit, is never rewritten (its comments stay).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"Deployments({str(self.path)!r})"

    def all(self) -> dict[int, Deployment]:
        """Every recorded marketplace by chain id.

        Raises:
            ConfigError: the file is not one gpuhub wrote (delete it to start over).
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read {self.path}: {err}") from None
        try:
            chains = json.loads(text)["chains"]
            return {
                int(chain): Deployment(int(chain), str(entry["marketplace"]), int(entry["block"]))
                for chain, entry in chains.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ConfigError(
                f"{self.path} is not a deployments file gpuhub wrote: delete it, then run "
                "gpuhub deploy (or gpuhub node) again"
            ) from None

    def get(self, chain_id: int) -> Deployment | None:
        """The marketplace recorded for ``chain_id``, or None."""
        return self.all().get(chain_id)

    def record(self, chain_id: int, address: str, block: int) -> Deployment:
        """Record ``address`` as the marketplace of ``chain_id`` (replacing any before it).

        Two processes recording at once (two nodes started side by side) each keep their entry:
        the read, change and write run under a lock on a file beside this one.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._locked():
            entries: dict[str, Any] = {
                str(d.chain_id): {"marketplace": d.address, "block": d.block}
                for d in self.all().values()
            }
            entries[str(chain_id)] = {"marketplace": address, "block": block}
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            temporary.write_text(
                json.dumps({"chains": entries}, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            # Atomic on POSIX and Windows: a reader sees the old file or the new one, never half.
            os.replace(temporary, self.path)
        return Deployment(chain_id, address, block)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on ``.deployments.json.lock`` (POSIX ``flock``; elsewhere none)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: the atomic replace alone
            yield
            return
        with open(self.path.with_name(f".{self.path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

"""What every chain command needs: its settings, a connection, and a signer for writes.

Options every command shares are declared once here (``Rpc``, ``Contract``, ``Profile``, ``From``,
``Json``); a command lists those it takes and hands them to :class:`Session`, which resolves them
with :func:`gpuhub.config.resolve` (flag, then environment, then profile, then default).
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..config import Settings, resolve
from ..exceptions import ConfigError, ContractNotDeployed, GPUHubError, ValidationError

if TYPE_CHECKING:
    from web3 import Web3

    from ..client import GPUHubClient
    from ..keystore import Keystore

#: the environment variable a keystore's password is read from (else a prompt).
PASSWORD_ENV = "GPUHUB_KEYSTORE_PASSWORD"
#: the environment variable of a raw private key, for scripts with no keystore.
PRIVATE_KEY_ENV = "GPUHUB_PRIVATE_KEY"

Rpc = Annotated[
    str | None,
    typer.Option(
        "--rpc",
        help="the node's JSON-RPC URL [env GPUHUB_RPC_URL, profile rpc_url; "
        "default http://127.0.0.1:8545]",
        show_default=False,
    ),
]
Contract = Annotated[
    str | None,
    typer.Option(
        "--contract",
        help="the marketplace's address [env GPUHUB_CONTRACT, profile contract; default: the "
        "one gpuhub node or gpuhub deploy recorded for the chain]",
        show_default=False,
    ),
]
Profile = Annotated[
    str | None,
    typer.Option("--profile", help="the config profile to use [env GPUHUB_PROFILE]"),
]
From = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="the account: a keystore alias (gpuhub account list) or an address the node "
        "unlocks [env GPUHUB_ACCOUNT, profile account]",
        show_default=False,
    ),
]
Json = Annotated[
    bool, typer.Option("--json", help="print one JSON document (exact wei as strings)")
]


class Session:
    """One command's settings, resolved once, and the clients built from them."""

    def __init__(
        self,
        *,
        rpc: str | None = None,
        contract: str | None = None,
        profile: str | None = None,
        account: str | None = None,
        index: str | None = None,
    ) -> None:
        self.settings: Settings = resolve(
            {"rpc_url": rpc, "contract": contract, "account": account, "index": index},
            profile=profile,
        )

    # ------------------------------------------------------------------ the node

    @cached_property
    def rpc_url(self) -> str:
        """The node's URL, checked to be HTTP(S)."""
        value = self.settings.values["rpc_url"]
        url = value.value or ""
        if not url.startswith(("http://", "https://")):
            # Not repeated: providers put API keys in their URLs.
            raise ConfigError(
                f"the RPC URL (from {value.source}) must start with http:// or https://"
            )
        return url

    @property
    def rpc_shown(self) -> str:
        """The node's URL as messages show it: scheme and host only (providers put API keys in
        the path, the query or the user part)."""
        return shown_url(self.settings["rpc_url"] or "")

    @cached_property
    def web3(self) -> Web3:
        """A Web3 on the node (nothing is sent until it is used)."""
        from web3 import HTTPProvider, Web3

        return Web3(HTTPProvider(self.rpc_url, request_kwargs={"timeout": 30}))

    def node(self, call: Any, *args: Any) -> Any:
        """``call(*args)`` on the node, with its failures as gpuhub errors."""
        from .._artifact import error_abi
        from .._errors import ErrorDecoder, translate

        with translate(ErrorDecoder(error_abi())):
            return call(*args)

    @cached_property
    def chain_id(self) -> int:
        """The node's chain id."""
        return int(self.node(lambda: self.web3.eth.chain_id))

    # ------------------------------------------------------------------ the marketplace

    def contract_address(self) -> tuple[str, str]:
        """The marketplace's address and where it came from (a setting, or the deployments file).

        Raises:
            ConfigError: no setting gives one and none is recorded for the chain.
        """
        value = self.settings.values["contract"]
        if value.value:
            return value.value, value.source
        recorded = self.settings.deployments.get(self.chain_id)
        if recorded is None:
            raise ConfigError(
                f"no marketplace known on chain {self.chain_id} ({self.rpc_shown}): pass "
                "--contract ADDRESS, set GPUHUB_CONTRACT or a profile's contract, or deploy one "
                "with gpuhub deploy"
            )
        return recorded.address, f"{self.settings.deployments.path} (chain {self.chain_id})"

    @cached_property
    def client(self) -> GPUHubClient:
        """A read-only client for the marketplace."""
        from ..client import GPUHubClient

        address, source = self.contract_address()
        try:
            return GPUHubClient(self.web3, address)
        except ContractNotDeployed as err:
            raise type(err)(
                f"no GPUHub marketplace at {address} on chain {self.chain_id} (from {source}): "
                "pass --contract with the right address, or deploy one with gpuhub deploy "
                "(a node restarted without --state forgets its contracts)"
            ) from None
        except ValidationError as err:
            raise ConfigError(f"the marketplace address (from {source}) is wrong: {err}") from None

    # ------------------------------------------------------------------ accounts

    @cached_property
    def keystore(self) -> Keystore:
        """The keystores under the config directory."""
        from ..keystore import Keystore

        return Keystore(self.settings.directory / "keystores")

    def account_name(self) -> str | None:
        """The account setting (an alias or an address), or None."""
        return self.settings["account"]

    def address(self) -> str | None:
        """The account's address, with no password asked (a keystore stores it in the clear)."""
        from .._core import check_address

        name = self.account_name()
        if name is None:
            key = os.environ.get(PRIVATE_KEY_ENV)
            return None if not key else _key_account(key).address
        if name[:2].lower() == "0x":
            return check_address("--from", name)
        return self.keystore.get(name).address

    def sender(self) -> GPUHubClient:
        """The marketplace client, sending as the account (asks for a keystore's password).

        Raises:
            ValidationError: no account is set.
            AccountNotFound: the alias or address is not in the keystore (and, for an address,
                not unlocked by the node).
        """
        return self.client.with_account(self.signer())

    def signer(self) -> Any:
        """The signing account: a LocalAccount, or an address the node unlocks."""
        from .._core import check_address
        from ..exceptions import AccountNotFound

        name = self.account_name()
        if name is None:
            key = os.environ.get(PRIVATE_KEY_ENV)
            if key:
                return _key_account(key)
            raise ValidationError(
                "--from",
                "this command sends a transaction: pass --from ALIAS (gpuhub account list), set "
                "GPUHUB_ACCOUNT, or set account in your profile",
            )
        if name[:2].lower() != "0x":
            entry = self.keystore.get(name)
            return self.keystore.unlock(entry.alias, password(f"password for {entry.alias}"))
        address = check_address("--from", name)
        try:
            entry = self.keystore.get(address)
        except AccountNotFound:
            unlocked = {a.lower() for a in self.node(lambda: self.web3.eth.accounts)}
            if address.lower() in unlocked:
                return address
            raise AccountNotFound(
                name,
                f"{address} is neither in the keystore nor unlocked by the node: import its key "
                "with gpuhub account import ALIAS, then pass --from ALIAS",
            ) from None
        return self.keystore.unlock(entry.alias, password(f"password for {entry.alias}"))


def shown_url(url: str) -> str:
    """``url`` with everything after the host hidden, and any user or password dropped."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not shown)"
    hidden = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{hidden}" if parts.scheme else "(not shown)"


def _key_account(key: str) -> Any:
    from eth_account import Account

    try:
        return Account.from_key(key.strip())
    except (ValueError, TypeError):
        raise ConfigError(f"{PRIVATE_KEY_ENV} is not a valid private key (not shown)") from None


def password(prompt: str, *, confirm: bool = False) -> str:
    """A keystore password: $GPUHUB_KEYSTORE_PASSWORD, else a hidden prompt on a terminal, else
    one line of stdin. Never an argument, never echoed."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    return secret(prompt, confirm=confirm)


def secret(prompt: str, *, confirm: bool = False) -> str:
    """A secret from a hidden prompt on a terminal, else one line of stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        text: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
        return text
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise GPUHubError(
            f"{prompt}: nothing on stdin; type it at a terminal, or pipe it in "
            f"(passwords may also come from {PASSWORD_ENV})"
        )
    return line.rstrip("\r\n")

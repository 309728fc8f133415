"""Encrypted keys on disk, one file per account, found by an alias.

A :class:`Keystore` is a directory of keyfiles in eth-account's format (the Web3 Secret Storage
definition geth, Foundry's ``cast wallet`` and MetaMask exports use): ``<alias>.json``, created
with mode 0600 in a directory of mode 0700. The key is encrypted with scrypt; the address is
stored in the clear, so finding an account by alias or address needs no password.

    >>> store = Keystore(config_dir() / "keystores")
    >>> entry = store.create("alice", password)          # a new random key
    >>> account = store.unlock("alice", password)        # an eth-account LocalAccount
    >>> client.with_account(account).withdraw()

The scrypt cost is the one geth and eth-account use by default (N = 2**18: about 0.7 s and
256 MiB to unlock), so a stolen file costs a guesser as much per password. Tests lower it with
``Keystore(path, scrypt_n=2**4)`` (or by setting ``gpuhub.keystore.SCRYPT_N``); the cost is stored
in each file, so unlocking follows whatever the file says.

Keys and passwords never appear in a repr, a message or a log.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import AccountNotFound, KeystoreError, ValidationError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

__all__ = ["ALIAS", "SCRYPT_N", "Keystore", "KeystoreEntry", "check_alias"]

#: scrypt's cost parameter N for new keystores (eth-account's and geth's standard).
SCRYPT_N = 2**18
#: what an alias may be: a letter or digit, then letters, digits, ``.``, ``_`` or ``-``; at most
#: 64 characters; never ``0x`` followed by hex, so an alias is never mistaken for an address.
ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SUFFIX = ".json"


@dataclass(frozen=True, slots=True)
class KeystoreEntry:
    """One account in a keystore: its alias, its address and its file."""

    #: the name it is found by.
    alias: str
    #: its checksummed address.
    address: str
    #: the keyfile.
    path: Path


class Keystore:
    """A directory of encrypted keyfiles, one per alias.

    Args:
        directory: where the keyfiles are (created, mode 0700, on the first write).
        scrypt_n: scrypt's cost for new keyfiles (default :data:`SCRYPT_N`); a power of two.
    """

    def __init__(self, directory: Path, *, scrypt_n: int | None = None) -> None:
        self.directory = directory
        self._scrypt_n = scrypt_n

    def __repr__(self) -> str:
        return f"Keystore({str(self.directory)!r})"

    # ------------------------------------------------------------------ reading

    def entries(self) -> list[KeystoreEntry]:
        """Every account, sorted by alias (files that are not keyfiles are skipped)."""
        found = []
        try:
            paths = sorted(self.directory.glob(f"*{_SUFFIX}"))
        except OSError:
            return []
        for path in paths:
            alias = path.name[: -len(_SUFFIX)]
            if not ALIAS.fullmatch(alias):
                continue
            try:
                address = _address_of(_read_json(path))
            except KeystoreError:
                continue
            found.append(KeystoreEntry(alias, address, path))
        return found

    def get(self, name: str) -> KeystoreEntry:
        """The account with alias ``name``, or with address ``name`` (0x..., any case).

        Raises:
            AccountNotFound: no keyfile has this alias or address.
        """
        if _looks_like_address(name):
            for entry in self.entries():
                if entry.address.lower() == name.lower():
                    return entry
            raise AccountNotFound(
                name,
                f"no keystore in {self.directory} holds the key of {name}: import it with "
                "gpuhub account import ALIAS",
            )
        path = self._path(name)
        if not path.is_file():
            known = ", ".join(e.alias for e in self.entries()) or "none yet"
            raise AccountNotFound(
                name,
                f"no account {name!r} in {self.directory} (accounts: {known}); create one with "
                f"gpuhub account new {name}, or import a key with gpuhub account import {name}",
            )
        return KeystoreEntry(name, _address_of(_read_json(path)), path)

    def unlock(self, name: str, password: str) -> LocalAccount:
        """The account ``name`` (alias or address), decrypted with ``password``.

        Raises:
            AccountNotFound: no such account.
            KeystoreError: the password is wrong, or the file is not a keyfile.
        """
        from eth_account import Account

        entry = self.get(name)
        document = _read_json(entry.path)
        try:
            key = Account.decrypt(document, password)
        except (ValueError, KeyError, TypeError) as err:
            wrong = "MAC mismatch" in str(err)
            raise KeystoreError(
                f"cannot unlock {entry.alias}: wrong password"
                if wrong
                else f"cannot unlock {entry.alias}: {entry.path} is not a keyfile eth-account reads"
            ) from None
        account: LocalAccount = Account.from_key(key)
        return account

    # ------------------------------------------------------------------ writing

    def ensure_free(self, alias: str) -> None:
        """Raise unless ``alias`` is a valid alias no account has yet (checked again on write).

        Raises:
            ValidationError: the alias is not a valid name.
            KeystoreError: the alias is taken.
        """
        path = self._path(alias)
        if path.exists():
            raise KeystoreError(
                f"an account named {alias!r} exists already ({path}); pick another alias"
            )

    def create(self, alias: str, password: str) -> KeystoreEntry:
        """A new account with a random key, encrypted with ``password``.

        Raises:
            ValidationError: the alias is not a valid name, or the password is empty.
            KeystoreError: the alias is taken.
        """
        return self.add(alias, "0x" + secrets.token_hex(32), password)

    def add(self, alias: str, private_key: str | bytes, password: str) -> KeystoreEntry:
        """Store ``private_key`` under ``alias``, encrypted with ``password``.

        Raises:
            ValidationError: the alias is not a valid name, the password is empty, or the key
                is not a private key (the key is never repeated).
            KeystoreError: the alias is taken.
        """
        from eth_account import Account

        check_alias(alias)
        if not password:
            raise ValidationError("password", "an empty password protects nothing; choose one")
        try:
            account = Account.from_key(private_key)
        except (ValueError, TypeError):
            raise ValidationError(
                "private key", "not a private key (expected 64 hex digits, 0x optional)"
            ) from None
        n = SCRYPT_N if self._scrypt_n is None else self._scrypt_n
        document = Account.encrypt(account.key, password, kdf="scrypt", iterations=n)
        return self._write(alias, document, account.address)

    def add_keyfile(self, alias: str, keyfile: Path, password: str) -> KeystoreEntry:
        """Copy a keyfile from elsewhere (geth, ``cast wallet``) under ``alias``, after checking
        that ``password`` unlocks it (the file keeps its own encryption).

        Raises:
            ValidationError: the alias is not a valid name.
            KeystoreError: the file is not a keyfile, the password is wrong, or the alias is
                taken.
        """
        from eth_account import Account

        check_alias(alias)
        document = _read_json(keyfile)
        try:
            address = Account.from_key(Account.decrypt(document, password)).address
        except (ValueError, KeyError, TypeError) as err:
            wrong = "MAC mismatch" in str(err)
            raise KeystoreError(
                f"cannot unlock {keyfile}: wrong password"
                if wrong
                else f"{keyfile} is not a keyfile eth-account reads"
            ) from None
        return self._write(alias, document, address)

    def _write(self, alias: str, document: dict[str, Any], address: str) -> KeystoreEntry:
        for entry in self.entries():
            if entry.address == address:
                raise KeystoreError(f"{address} is in the keystore already, as {entry.alias!r}")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(alias)
        text = json.dumps(document)
        try:
            # O_EXCL: an alias is never overwritten, even by a second process at the same time.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeystoreError(
                f"an account named {alias!r} exists already ({path}); pick another alias"
            ) from None
        except OSError as err:
            raise KeystoreError(f"cannot write {path}: {err.strerror}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        return KeystoreEntry(alias, address, path)

    def _path(self, alias: str) -> Path:
        check_alias(alias)
        return self.directory / f"{alias}{_SUFFIX}"


def check_alias(alias: str) -> None:
    """Raise ValidationError unless ``alias`` is a valid alias (see :data:`ALIAS`)."""
    if not isinstance(alias, str) or not ALIAS.fullmatch(alias) or _looks_like_address(alias):
        raise ValidationError(
            "alias",
            "an alias is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
            "digit (and not an address)",
        )


def _looks_like_address(name: str) -> bool:
    return name[:2].lower() == "0x" and len(name) > 2


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeystoreError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError):
        raise KeystoreError(f"{path} is not a keyfile (not JSON)") from None
    if not isinstance(document, dict):
        raise KeystoreError(f"{path} is not a keyfile")
    return document


def _address_of(document: dict[str, Any]) -> str:
    from eth_utils.address import is_hex_address, to_checksum_address

    raw = document.get("address")
    if not isinstance(raw, str):
        raise KeystoreError("the keyfile has no address")
    address = raw if raw.startswith("0x") else "0x" + raw
    if not is_hex_address(address):
        raise KeystoreError("the keyfile's address is not an address")
    return str(to_checksum_address(address))

"""gpuhub.keystore: encrypted keyfiles found by alias, private files, no secret ever shown."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from eth_account import Account

from gpuhub import AccountNotFound, KeystoreError, ValidationError
from gpuhub.keystore import SCRYPT_N, Keystore

PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> Keystore:
    """An empty keystore with a cheap KDF (the cost is stored in each file)."""
    return Keystore(tmp_path / "keystores", scrypt_n=2**4)


def test_create_then_unlock(store: Keystore) -> None:
    """A created account unlocks with its password to a LocalAccount at the same address."""
    entry = store.create("alice", PASSWORD)
    account = store.unlock("alice", PASSWORD)
    assert account.address == entry.address == store.get("alice").address
    assert store.get(entry.address.lower()).alias == "alice"


def test_wrong_password_is_refused(store: Keystore) -> None:
    """A wrong password is a KeystoreError that repeats neither password nor key."""
    key = Account.create().key
    store.add("alice", key.hex(), PASSWORD)
    with pytest.raises(KeystoreError, match="wrong password") as exc:
        store.unlock("alice", "hunter2")
    assert "hunter2" not in str(exc.value) and key.hex() not in str(exc.value)
    assert exc.value.__suppress_context__


def test_files_are_private(store: Keystore) -> None:
    """Keyfiles are created 0600 in a 0700 directory."""
    entry = store.create("alice", PASSWORD)
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700


def test_keyfile_is_eth_account_format(store: Keystore) -> None:
    """The file is an eth-account keyfile any tool can decrypt; the KDF cost is the one asked."""
    key = Account.create().key
    entry = store.add("alice", key, PASSWORD)
    document = json.loads(entry.path.read_text())
    assert document["crypto"]["kdf"] == "scrypt" and document["crypto"]["kdfparams"]["n"] == 2**4
    assert Account.decrypt(document, PASSWORD) == key


def test_default_kdf_cost_is_geths(tmp_path: Path) -> None:
    """Without a lower cost, new keyfiles use scrypt N = 2**18, as geth and eth-account do."""
    assert SCRYPT_N == 2**18
    entry = Keystore(tmp_path).create("real", PASSWORD)
    assert json.loads(entry.path.read_text())["crypto"]["kdfparams"]["n"] == 2**18


def test_aliases_and_addresses_are_unique(store: Keystore) -> None:
    """An alias is never overwritten, and one key is stored once."""
    key = Account.create().key.hex()
    store.add("alice", key, PASSWORD)
    with pytest.raises(KeystoreError, match="exists already"):
        store.create("alice", PASSWORD)
    with pytest.raises(KeystoreError, match="in the keystore already, as 'alice'"):
        store.add("alice2", key, PASSWORD)


@pytest.mark.parametrize("alias", ["", "-x", "a/b", "../up", "0xabc", "a" * 65, "sp ace"])
def test_bad_aliases_are_refused(store: Keystore, alias: str) -> None:
    """Aliases are plain names: no paths, no address look-alikes, no empty names."""
    with pytest.raises(ValidationError) as exc:
        store.create(alias, PASSWORD)
    assert exc.value.field == "alias"


def test_bad_key_and_empty_password_are_refused(store: Keystore) -> None:
    """A malformed key is refused without being repeated; an empty password is refused."""
    with pytest.raises(ValidationError) as exc:
        store.add("alice", "0xdeadbeefnotakey", PASSWORD)
    assert "deadbeef" not in str(exc.value)
    with pytest.raises(ValidationError, match="empty password"):
        store.create("alice", "")


def test_unknown_account_is_not_found(store: Keystore) -> None:
    """An unknown alias or address is AccountNotFound with the name and how to add it."""
    store.create("alice", PASSWORD)
    with pytest.raises(AccountNotFound, match="accounts: alice") as exc:
        store.get("bob")
    assert exc.value.name == "bob"
    with pytest.raises(AccountNotFound, match="gpuhub account import"):
        store.get("0x" + "ab" * 20)


def test_copy_a_keyfile_from_elsewhere(store: Keystore, tmp_path: Path) -> None:
    """An existing keyfile is copied in once its password unlocks it; a wrong one is refused."""
    key = Account.create().key
    outside = tmp_path / "geth-keyfile.json"
    outside.write_text(json.dumps(Account.encrypt(key, PASSWORD, iterations=2**4)))
    with pytest.raises(KeystoreError, match="wrong password"):
        store.add_keyfile("imported", outside, "nope")
    entry = store.add_keyfile("imported", outside, PASSWORD)
    assert store.unlock("imported", PASSWORD).key == key
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600


def test_listing_skips_files_that_are_not_keyfiles(store: Keystore) -> None:
    """Stray files in the directory are not accounts, and never break the listing."""
    store.create("alice", PASSWORD)
    (store.directory / "notes.json").write_text("not json")
    (store.directory / "odd name.json").write_text("{}")
    assert [e.alias for e in store.entries()] == ["alice"]


def test_secrets_never_reach_logs_or_reprs(
    store: Keystore, caplog: pytest.LogCaptureFixture
) -> None:
    """Creating, unlocking and failing to unlock log and show neither the key nor the password."""
    caplog.set_level(logging.DEBUG)
    key = Account.create().key.hex()
    entry = store.add("alice", key, PASSWORD)
    account = store.unlock("alice", PASSWORD)
    with pytest.raises(KeystoreError):
        store.unlock("alice", PASSWORD + "x")
    shown = " ".join([caplog.text, repr(store), repr(entry), repr(account.address)])
    assert key.removeprefix("0x") not in shown and PASSWORD not in shown

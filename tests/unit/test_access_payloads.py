"""The access handoff's payloads and keys: only the renter's rental key opens the details."""

from __future__ import annotations

import base64
import contextlib
import os

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuhub import AccessPayloadError, ValidationError
from gpuhub._access import (
    MAX_ACCESS_PAYLOAD,
    MAX_DETAILS,
    check_ssh_key,
    decode_request,
    decrypt_details,
    encode_request,
    encrypt_details,
    key_from_signature,
    key_message,
    public_key_of,
)

MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DETAILS = "ssh -p 2222 renter@203.0.113.7"


def ssh_key(kind: str = "ssh-ed25519", body: bytes = b"\x01" * 32, comment: str = "") -> str:
    """An OpenSSH public key line: the type, then the base64 of (type, key material)."""
    name = kind.encode()
    blob = len(name).to_bytes(4, "big") + name + len(body).to_bytes(4, "big") + body
    return f"{kind} {base64.b64encode(blob).decode()} {comment}".strip()


def rental_key(private_key: str, rental_id: int = 7) -> bytes:
    """The key ``private_key``'s account derives for a rental, as the client does."""
    message = encode_defunct(text=key_message(31337, MARKET, rental_id))
    signature = Account.from_key(private_key).sign_message(message).signature
    return key_from_signature(bytes(signature))


RENTER = "0x" + "11" * 32
PROVIDER = "0x" + "22" * 32
STRANGER = "0x" + "33" * 32


def test_round_trip() -> None:
    """Details encrypted to the renter's rental key open with it."""
    key = rental_key(RENTER)
    assert decrypt_details(key, encrypt_details(public_key_of(key), DETAILS)) == DETAILS


def test_key_is_deterministic() -> None:
    """The same account derives the same rental key again (after a restart, elsewhere)."""
    assert rental_key(RENTER) == rental_key(RENTER)


def test_key_per_rental() -> None:
    """Each rental has its own key."""
    assert rental_key(RENTER, 7) != rental_key(RENTER, 8)


def test_stranger_cannot_decrypt() -> None:
    """A third account's key for the same rental does not open the grant."""
    grant = encrypt_details(public_key_of(rental_key(RENTER)), DETAILS)
    with pytest.raises(AccessPayloadError) as exc:
        decrypt_details(rental_key(STRANGER), grant)
    assert "cannot open" in exc.value.reason


def test_provider_cannot_decrypt() -> None:
    """The provider, with its account key or a rental key of its own, cannot open the grant."""
    grant = encrypt_details(public_key_of(rental_key(RENTER)), DETAILS)
    for key in (bytes.fromhex(PROVIDER[2:]), rental_key(PROVIDER)):
        with pytest.raises(AccessPayloadError):
            decrypt_details(key, grant)


def test_observer_sees_no_plaintext() -> None:
    """The request and the grant, all an observer of the events gets, hold no plaintext."""
    public = public_key_of(rental_key(RENTER))
    published = encode_request(public, ssh_key()) + encrypt_details(public, DETAILS)
    for word in ("2222", "renter", "203.0.113.7"):
        assert word.encode() not in published


def test_grant_is_randomised() -> None:
    """Two grants of the same details differ (a fresh ephemeral key each time)."""
    public = public_key_of(rental_key(RENTER))
    assert encrypt_details(public, DETAILS) != encrypt_details(public, DETAILS)


def test_tampered_grant() -> None:
    """A grant altered in transit does not open (AES-GCM authenticates it)."""
    key = rental_key(RENTER)
    grant = bytearray(encrypt_details(public_key_of(key), DETAILS))
    grant[-1] ^= 1
    with pytest.raises(AccessPayloadError):
        decrypt_details(key, bytes(grant))


def test_longest_details_fill_the_cap() -> None:
    """Details of MAX_DETAILS bytes make a grant of exactly the contract's cap."""
    grant = encrypt_details(public_key_of(rental_key(RENTER)), "x" * MAX_DETAILS)
    assert len(grant) == MAX_ACCESS_PAYLOAD


def test_details_too_long() -> None:
    """One byte more is refused before anything is sent, naming the limit."""
    with pytest.raises(ValidationError, match=str(MAX_DETAILS)) as exc:
        encrypt_details(public_key_of(rental_key(RENTER)), "x" * (MAX_DETAILS + 1))
    assert exc.value.field == "details"


def test_request_round_trip() -> None:
    """A request carries the public key and the SSH key, without the key's comment."""
    public = public_key_of(rental_key(RENTER))
    payload = encode_request(public, ssh_key(comment="alice@laptop"))
    assert decode_request(payload) == (public, ssh_key())
    assert b"alice" not in payload


def test_request_without_ssh_key() -> None:
    """The SSH key is optional."""
    public = public_key_of(rental_key(RENTER))
    assert decode_request(encode_request(public, None)) == (public, None)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "unsupported SSH key type"),
        ("ssh-dss AAAAB3NzaC1kc3M=", "unsupported SSH key type"),
        ("ssh-ed25519 not*base64", "not base64"),
        (ssh_key().replace("ssh-ed25519 ", "ssh-rsa ", 1), "not an ssh-rsa key"),
        (ssh_key() + "\n" + ssh_key("ssh-rsa"), "one line"),
        ("ssh-ed25519", "expected an SSH public key"),
        (ssh_key("ssh-rsa", b"\x01" * 1200), "use ed25519"),
    ],
)
def test_bad_ssh_keys(text: str, complaint: str) -> None:
    """What is not one SSH public key of an allowed type is refused, saying why."""
    with pytest.raises(ValidationError, match=complaint) as exc:
        check_ssh_key(text)
    assert exc.value.field == "ssh_key"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "not a version 1 access request"),
        (b"\x02" + bytes(33), "not a version 1 access request"),
        (b"\x01\x02" + bytes(32), "not a point on secp256k1"),
        (b"\x01" + bytes(MAX_ACCESS_PAYLOAD), "over the 1024-byte cap"),
    ],
)
def test_bad_requests(payload: bytes, reason: str) -> None:
    """A request that does not decode raises AccessPayloadError with the reason."""
    with pytest.raises(AccessPayloadError) as exc:
        decode_request(payload)
    assert reason in exc.value.reason


def test_request_with_hostile_ssh_key() -> None:
    """A request whose SSH key field smuggles a second line is refused by the reader."""
    public = public_key_of(rental_key(RENTER))
    payload = b"\x01" + public + (ssh_key() + '\ncommand="sh" ' + ssh_key()).encode()
    with pytest.raises(AccessPayloadError, match="SSH key does not check out"):
        decode_request(payload)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=MAX_ACCESS_PAYLOAD + 8))
def test_any_bytes_fail_typed(payload: bytes) -> None:
    """Whatever bytes a party sends, reading them fails only with AccessPayloadError."""
    key = rental_key(RENTER)
    for read in (decode_request, lambda p: decrypt_details(key, p)):
        with contextlib.suppress(AccessPayloadError):
            read(payload)


def test_bad_private_key_does_not_leak() -> None:
    """A private key that is not one is refused without quoting it."""
    with pytest.raises(ValidationError) as exc:
        public_key_of(bytes(32))
    assert "00" * 8 not in str(exc.value)


def test_random_signatures_give_valid_keys() -> None:
    """Every signature maps to a usable secp256k1 key."""
    for _ in range(20):
        public_key_of(key_from_signature(os.urandom(65)))

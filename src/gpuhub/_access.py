"""The access handoff's payloads and keys (sans-I/O): what ``requestAccess`` and ``grantAccess``
carry, and the renter's per-rental encryption key.

A request is ``0x01 || public key (33 bytes, compressed secp256k1) || SSH public key`` (the SSH
key as "type base64", possibly empty). A grant is ``0x01 || ECIES ciphertext`` of the connection
details, encrypted to the request's public key (eciespy: secp256k1 ECDH, HKDF-SHA256,
AES-256-GCM, a compressed ephemeral key), so the chain only ever carries ciphertext.

The renter's key is derived, never stored: the renter's account signs a fixed text naming the
chain, the marketplace and the rental (EIP-191), and the key is the hash of that signature.
Ethereum signatures are deterministic (RFC 6979), so the same account derives the same key after
a restart, on another machine, with nothing to back up; each rental gets its own key, so one
leaked key opens one rental's details. Senders that cannot sign deterministically (contract
wallets) pass a key of their own instead.
"""

from __future__ import annotations

import binascii
from typing import Any

from eth_utils.crypto import keccak

from .exceptions import AccessPayloadError, MissingDependency, ValidationError

#: first byte of every request and grant this version writes and reads.
PAYLOAD_VERSION = 1
#: the contract's cap on a request or grant payload, in bytes (GPUHub.MAX_ACCESS_PAYLOAD).
MAX_ACCESS_PAYLOAD = 1024
#: a compressed secp256k1 public key.
PUBLIC_KEY_SIZE = 33
#: ECIES overhead: compressed ephemeral key, AES-GCM nonce and tag.
_ECIES_OVERHEAD = 33 + 16 + 16
#: the longest details a grant can carry, in UTF-8 bytes.
MAX_DETAILS = MAX_ACCESS_PAYLOAD - 1 - _ECIES_OVERHEAD
#: the longest SSH public key a request can carry ("type base64"), in bytes.
MAX_SSH_KEY = MAX_ACCESS_PAYLOAD - 1 - PUBLIC_KEY_SIZE
#: SSH public key types a request may carry (OpenSSH's names).
SSH_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_KEY_DOMAIN = b"gpuhub access key v1"


def check_ssh_key(text: str, *, field: str = "ssh_key") -> str:
    """``text`` as a canonical SSH public key, "type base64", with its comment dropped.

    The comment ("user@laptop") would be published on chain for nothing. The key travels in
    every hook's environment, so it must be one line of an allowed type whose base64 blob
    decodes and names the same type: nothing a shell or an ``authorized_keys`` file could read
    as more than one key.

    Raises:
        ValidationError: not such a key; the message says what is wrong.
    """
    if not isinstance(text, str):
        raise ValidationError(field, f"expected the text of an SSH public key, got {text!r}")
    parts = text.strip().split()
    if len(parts) < 2:
        raise ValidationError(
            field, "expected an SSH public key, 'ssh-ed25519 AAAA... [comment]' (a .pub file)"
        )
    kind, blob = parts[0], parts[1]
    if kind not in SSH_KEY_TYPES:
        raise ValidationError(
            field,
            f"unsupported SSH key type {kind[:40]!r}; use one of {', '.join(sorted(SSH_KEY_TYPES))}"
            " (a private key file? pass the .pub one)",
        )
    if "\n" in text.strip() or "\r" in text:
        raise ValidationError(field, "expected one line holding one SSH public key")
    try:
        raw = binascii.a2b_base64(blob.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValidationError(field, "the key's second field is not base64") from exc
    name = kind.encode()
    if raw[:4] != len(name).to_bytes(4, "big") or raw[4 : 4 + len(name)] != name:
        raise ValidationError(field, f"the key's base64 blob is not an {kind} key")
    canonical = f"{kind} {blob}"
    if len(canonical) > MAX_SSH_KEY:
        raise ValidationError(
            field, f"{len(canonical)} bytes; at most {MAX_SSH_KEY} fit a request: use ed25519"
        )
    return canonical


def encode_request(public_key: bytes, ssh_key: str | None) -> bytes:
    """The ``requestAccess`` payload for ``public_key`` and an SSH key (checked here)."""
    _check_public_key(public_key)
    ssh = check_ssh_key(ssh_key).encode() if ssh_key is not None else b""
    return bytes([PAYLOAD_VERSION]) + public_key + ssh


def decode_request(payload: bytes) -> tuple[bytes, str | None]:
    """The public key and SSH key (None: none sent) of a ``requestAccess`` payload.

    Raises:
        AccessPayloadError: another version, a key off the curve, or an SSH key that does not
            pass :func:`check_ssh_key`; the renter wrote it, so the reader skips it.
    """
    _check_size(payload)
    if len(payload) < 1 + PUBLIC_KEY_SIZE or payload[0] != PAYLOAD_VERSION:
        raise AccessPayloadError(
            f"not a version {PAYLOAD_VERSION} access request ({len(payload)} bytes)"
        )
    public_key = payload[1 : 1 + PUBLIC_KEY_SIZE]
    try:
        _check_public_key(public_key)
    except ValidationError as exc:
        raise AccessPayloadError(str(exc)) from exc
    rest = payload[1 + PUBLIC_KEY_SIZE :]
    if not rest:
        return public_key, None
    try:
        return public_key, check_ssh_key(rest.decode("ascii"))
    except (UnicodeDecodeError, ValidationError) as exc:
        raise AccessPayloadError(f"the SSH key does not check out: {exc}") from exc


def encrypt_details(public_key: bytes, details: str) -> bytes:
    """The ``grantAccess`` payload: ``details`` encrypted to ``public_key``.

    Raises:
        ValidationError: the details are empty or longer than :data:`MAX_DETAILS` bytes.
    """
    if not isinstance(details, str) or not details.strip():
        raise ValidationError("details", "expected the connection details as non-empty text")
    data = details.encode()
    if len(data) > MAX_DETAILS:
        raise ValidationError(
            "details", f"{len(data)} bytes of UTF-8; at most {MAX_DETAILS} fit a grant"
        )
    _check_public_key(public_key)
    ecies = _ecies()
    return bytes([PAYLOAD_VERSION]) + bytes(ecies.encrypt(public_key, data, _config(ecies)))


def decrypt_details(private_key: bytes, payload: bytes) -> str:
    """The details a ``grantAccess`` payload carries, opened with ``private_key``.

    Raises:
        AccessPayloadError: another version, or a ciphertext this key cannot open (encrypted to
            someone else, or altered).
    """
    _check_size(payload)
    if len(payload) <= 1 + _ECIES_OVERHEAD or payload[0] != PAYLOAD_VERSION:
        raise AccessPayloadError(
            f"not a version {PAYLOAD_VERSION} access grant ({len(payload)} bytes)"
        )
    ecies = _ecies()
    try:
        plain = bytes(ecies.decrypt(private_key, payload[1:], _config(ecies)))
    except (ValueError, TypeError) as exc:
        raise AccessPayloadError("this key cannot open the grant (not encrypted to it)") from exc
    return plain.decode("utf-8", errors="replace")


def key_message(chain_id: int, marketplace: str, rental_id: int) -> str:
    """The text the renter's account signs to derive the rental's key (EIP-191)."""
    return (
        "gpuhub: derive the key that reads the access details of one rental.\n"
        f"chain: {chain_id}\nmarketplace: {marketplace}\nrental: {rental_id}\n"
        "Sign this only in gpuhub: whoever holds this signature can read those details."
    )


def key_from_signature(signature: bytes) -> bytes:
    """A secp256k1 private key (32 bytes) from the renter's signature of :func:`key_message`."""
    if len(signature) != 65:
        raise ValidationError("signature", f"expected 65 bytes, got {len(signature)}")
    digest = int.from_bytes(keccak(_KEY_DOMAIN + signature), "big")
    return (digest % (_SECP256K1_ORDER - 1) + 1).to_bytes(32, "big")


def public_key_of(private_key: bytes) -> bytes:
    """The compressed public key (33 bytes) of a 32-byte secp256k1 private key."""
    ecies = _ecies()
    try:
        key = ecies.keys.PrivateKey("secp256k1", private_key)
        return bytes(key.public_key.to_bytes(compressed=True))
    except ValueError as exc:
        # eciespy's message would quote the key; this one does not.
        raise ValidationError("encryption_key", "not a secp256k1 private key") from exc


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
        raise ValidationError(
            "public_key", f"expected a {PUBLIC_KEY_SIZE}-byte compressed secp256k1 public key"
        )
    ecies = _ecies()
    try:
        ecies.keys.PublicKey("secp256k1", public_key)
    except ValueError as exc:
        raise ValidationError("public_key", "not a point on secp256k1") from exc


def _check_size(payload: bytes) -> None:
    if len(payload) > MAX_ACCESS_PAYLOAD:
        raise AccessPayloadError(f"{len(payload)} bytes, over the {MAX_ACCESS_PAYLOAD}-byte cap")


def _ecies() -> Any:
    try:
        import ecies
    except ImportError as exc:
        raise MissingDependency(
            "the access handoff needs eciespy: pip install 'gpuhub-eth[cli]' (renters) or "
            "'gpuhub-eth[provider]' (providers)"
        ) from exc
    return ecies


def _config(ecies: Any) -> Any:
    return ecies.config.Config(is_ephemeral_key_compressed=True)

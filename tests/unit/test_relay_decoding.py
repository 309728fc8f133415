"""Signed transactions as the relay reads them: any bytes, hostile or not, decode or are refused."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuhub import RelayRefused
from gpuhub._prepare import decode_signed

KEY = Account.from_key(b"\x01" * 32)
TX = {
    "to": to_checksum_address("0x" + "ab" * 20),
    "value": 7,
    "gas": 50_000,
    "nonce": 3,
    "chainId": 31337,
    "data": "0x1234",
}


def test_a_typed_transaction_decodes_with_its_signer() -> None:
    """An EIP-1559 transaction decodes to its fields, signer and hash."""
    signed = KEY.sign_transaction({**TX, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1})
    found = decode_signed("0x" + bytes(signed.raw_transaction).hex())
    assert (found.signer, found.chain_id, found.nonce, found.value) == (KEY.address, 31337, 3, 7)
    assert found.tx_hash == "0x" + bytes(signed.hash).hex() and found.data == b"\x12\x34"


def test_a_legacy_transaction_decodes_with_its_chain() -> None:
    """A legacy EIP-155 transaction decodes with the chain id folded into its v."""
    signed = KEY.sign_transaction({**TX, "gasPrice": 10**9})
    found = decode_signed(bytes(signed.raw_transaction))
    assert (found.signer, found.chain_id, found.gas) == (KEY.address, 31337, 50_000)


def test_a_legacy_transaction_without_a_chain_has_none() -> None:
    """A pre-EIP-155 signature, valid on every chain, decodes with no chain id (the relay then
    refuses it)."""
    unsigned = {k: v for k, v in TX.items() if k != "chainId"}
    signed = KEY.sign_transaction({**unsigned, "gasPrice": 10**9})
    assert decode_signed(bytes(signed.raw_transaction)).chain_id is None


@pytest.mark.parametrize("raw", ["", "0x", "0x1", "zz", "0x02c0", "0xf8", 12, None, b"\x00" * 10])
def test_what_is_no_transaction_is_refused(raw: object) -> None:
    """Empty, odd-length, non-hex, truncated and wrongly typed input is RelayRefused on raw."""
    with pytest.raises(RelayRefused) as exc:
        decode_signed(raw)
    assert exc.value.field == "raw"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_refused(raw: bytes) -> None:
    """Random bytes never raise anything but RelayRefused."""
    try:
        decode_signed(raw)
    except RelayRefused as err:
        assert err.field == "raw"

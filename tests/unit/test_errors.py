"""Decoding revert data into typed exceptions (no chain)."""

from __future__ import annotations

import pickle

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector as selector

from gpuhub import (
    InvalidStatusTransition,
    ListingNotFound,
    ListingStatus,
    NotListingProvider,
    TransactionReverted,
)
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder

DECODER = ErrorDecoder(abi())


def test_decodes_custom_error_with_fields() -> None:
    """A custom error's selector and arguments become the same-named exception's attributes."""
    data = selector("ListingNotFound(uint256)") + encode(["uint256"], [7])
    err = DECODER.decode(data)
    assert isinstance(err, ListingNotFound) and err.listing_id == 7


def test_decodes_enums_and_addresses() -> None:
    """Enum arguments decode to the IntEnums and addresses to checksummed strings."""
    data = selector("InvalidStatusTransition(uint256,uint8,uint8)") + encode(
        ["uint256", "uint8", "uint8"], [1, 3, 0]
    )
    err = DECODER.decode(data)
    assert isinstance(err, InvalidStatusTransition)
    assert err.current is ListingStatus.REMOVED and err.requested is ListingStatus.AVAILABLE
    who = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
    err2 = DECODER.decode(
        selector("NotListingProvider(uint256,address)") + encode(["uint256", "address"], [1, who])
    )
    assert isinstance(err2, NotListingProvider)
    assert err2.caller == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"


def test_plain_reason_and_panic() -> None:
    """Error(string) and Panic(uint256) become TransactionReverted with the reason in words."""
    reason = DECODER.decode(selector("Error(string)") + encode(["string"], ["nope"]))
    panic = DECODER.decode(selector("Panic(uint256)") + encode(["uint256"], [0x11]))
    empty = DECODER.decode(b"")
    assert isinstance(reason, TransactionReverted) and "nope" in str(reason)
    assert isinstance(panic, TransactionReverted) and "0x11" in str(panic)
    assert isinstance(empty, TransactionReverted) and "without a reason" in str(empty)


def test_contract_errors_pickle() -> None:
    """Typed errors survive pickling (they cross process and thread pools)."""
    err = ListingNotFound(3)
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, ListingNotFound) and again.listing_id == 3
    assert str(again) == str(err)

"""The contract's text rule against Python's: random bytes as a model name are accepted, or
refused as not UTF-8 or as holding a control character, at the same offset Python finds."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from _expect import PHASES
from eth_abi import encode
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpuhub
from gpuhub import GPUHubClient
from gpuhub._artifact import abi
from gpuhub._errors import ErrorDecoder, translate

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SELECTOR = keccak(text="createListing(string,uint256,uint256,uint8,uint256,uint256)")[:4]
#: bytes at the edges of UTF-8's classes: controls, continuation bytes, every kind of lead.
EDGES = [0x00, 0x1F, 0x20, 0x41, 0x7E, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1]
EDGES += [0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
#: well-formed characters at the edges of each length, of the controls and of the surrogates.
CHARS = "\x00\x1f \x7f\x80\x9f\xa0\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0010ffff"

pieces = st.one_of(
    st.sampled_from(EDGES).map(lambda b: bytes([b])),
    st.sampled_from(CHARS).map(lambda c: c.encode("utf-8", "surrogatepass")),
    st.text(max_size=4).map(str.encode),
    st.binary(max_size=3),
)
models = st.lists(pieces, min_size=1, max_size=24).map(b"".join).filter(lambda b: 1 <= len(b) <= 64)


def python_verdict(raw: bytes) -> tuple[type[gpuhub.ContractError], int] | None:
    """The first fault of ``raw`` as Python's strict UTF-8 decoder and the control-character
    rule see it, scanning from the start; None when ``raw`` is a name the contract takes."""
    try:
        raw.decode("utf-8")
        bad = len(raw)
    except UnicodeDecodeError as err:
        bad = err.start
    found = _CONTROL.search(raw[:bad].decode("utf-8"))
    if found is not None:
        return gpuhub.GpuModelControlCharacter, len(raw[:bad].decode()[: found.start()].encode())
    if bad < len(raw):
        return gpuhub.GpuModelNotUtf8, bad
    return None


@pytest.fixture(scope="module")
def market() -> Iterator[GPUHubClient]:
    """A marketplace on the embedded chain (names are tried with eth_call, nothing is mined)."""
    yield GPUHubClient.local()


@settings(
    max_examples=300, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.too_slow]
)
@given(raw=models)
def test_contract_and_python_agree_on_every_name(market: GPUHubClient, raw: bytes) -> None:
    """createListing refuses exactly the names Python refuses, with the same error and offset."""
    args = encode(
        ["bytes", "uint256", "uint256", "uint8", "uint256", "uint256"], [raw, 16, 10, 0, 1, 10]
    )
    call = {"from": market.address, "to": market.contract_address, "data": _SELECTOR + args}
    expected = python_verdict(raw)
    if expected is None:
        with translate(ErrorDecoder(abi())):
            market.w3.eth.call(call)  # type: ignore[arg-type]
        return
    error, offset = expected
    with pytest.raises(error) as exc, translate(ErrorDecoder(abi())):
        market.w3.eth.call(call)  # type: ignore[arg-type]
    assert exc.value.offset == offset  # type: ignore[attr-defined]

"""Client-side argument checks and the listing filter (no chain)."""

from __future__ import annotations

import pytest

from gpuhub import Listing, ListingStatus, PriceUnit, ValidationError, _core
from gpuhub._core import filter_listings, listing_terms

GOOD = dict(
    gpu_model="A100", capacity=80, price=10, unit=PriceUnit.HOUR, min_duration=1, max_duration=5
)


def test_good_terms_pass() -> None:
    """Valid terms come back in ABI order."""
    assert listing_terms(**GOOD).abi_args() == ["A100", 80, 10, 1, 1, 5]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gpu_model", ""),
        ("gpu_model", "x" * 65),
        ("gpu_model", "é" * 33),  # 66 bytes of UTF-8
        ("gpu_model", 5),
        ("capacity", 0),
        ("capacity", -1),
        ("capacity", 65536),
        ("capacity", True),
        ("capacity", 1.5),
        ("price", 0),
        ("price", -10),
        ("price", 2**96),
        ("price", "12"),
        ("unit", 3),
        ("unit", "WEEK"),
        ("min_duration", 0),
        ("max_duration", 2**24),
    ],
)
def test_bad_field_is_named(field: str, value: object) -> None:
    """Each invalid field raises ValidationError (a ValueError) naming that field."""
    with pytest.raises(ValidationError) as exc:
        listing_terms(**{**GOOD, field: value})
    assert exc.value.field == field
    assert isinstance(exc.value, ValueError)
    assert str(exc.value).startswith(f"{field}:")


def test_min_above_max() -> None:
    """min_duration above max_duration is refused with both values in the message."""
    with pytest.raises(ValidationError, match=r"6 > 5"):
        listing_terms(**{**GOOD, "min_duration": 6})


def test_unit_by_name_and_value() -> None:
    """Units are accepted as the enum, its value or its name."""
    assert listing_terms(**{**GOOD, "unit": "day"}).unit is PriceUnit.DAY
    assert listing_terms(**{**GOOD, "unit": 0}).unit is PriceUnit.MINUTE


def listing(
    i: int,
    *,
    price: int,
    unit: PriceUnit = PriceUnit.HOUR,
    capacity: int = 24,
    status: ListingStatus = ListingStatus.AVAILABLE,
) -> Listing:
    return Listing(
        listing_id=i,
        provider="0x" + "1" * 40,
        gpu_model="G",
        capacity=capacity,
        price=price,
        unit=unit,
        min_duration=1,
        max_duration=9,
        status=status,
    )


def test_filter_raw_price() -> None:
    """Without price_unit, max_price compares raw prices, inclusive."""
    items = [listing(0, price=10), listing(1, price=11)]
    assert filter_listings(items, max_price=10) == items[:1]


def test_filter_capacity_and_status() -> None:
    """min_capacity is inclusive and unavailable listings are dropped by default."""
    items = [
        listing(0, price=1, capacity=16),
        listing(1, price=1, capacity=15),
        listing(2, price=1, status=ListingStatus.RENTED),
    ]
    assert filter_listings(items, min_capacity=16) == items[:1]
    assert filter_listings(items, available_only=False) == items


def test_filter_converts_units_exactly() -> None:
    """A per-minute price of 1 is 60 per hour: kept at max 60, dropped at 59."""
    items = [listing(0, price=1, unit=PriceUnit.MINUTE)]
    assert filter_listings(items, max_price=60, price_unit=PriceUnit.HOUR) == items
    assert filter_listings(items, max_price=59, price_unit=PriceUnit.HOUR) == []


def test_filter_rejects_negative() -> None:
    """A negative max_price is a ValidationError."""
    with pytest.raises(ValidationError):
        filter_listings([], max_price=-1)


def test_unit_seconds() -> None:
    """Units know their length in seconds."""
    assert [u.seconds for u in PriceUnit] == [60, 3600, 86400]


def test_page_decoder_matches_abi_decoding() -> None:
    """The hand-written getListings decoder agrees with eth-abi on every field."""
    from eth_abi import encode
    from eth_utils import to_checksum_address

    from gpuhub._core import decode_listing_page

    rows = [
        (0, "0x" + "ab" * 20, "NVIDIA RTX 4090", 24, 10**15, 1, 1, 72, 0),
        (1, "0x" + "cd" * 20, "é" * 32, 65535, 2**96 - 1, 2, 3, 2**24 - 1, 3),
        (2, "0x" + "ab" * 20, "x", 1, 1, 0, 1, 1, 2),
    ]
    data = encode(
        ["(uint256,address,string,uint256,uint256,uint8,uint256,uint256,uint8)[]"], [rows]
    )
    decoded = decode_listing_page(data, to_checksum_address)
    assert decoded == [Listing.from_abi((r[0], to_checksum_address(r[1]), *r[2:])) for r in rows]
    assert (
        decode_listing_page(
            encode(
                ["(uint256,address,string,uint256,uint256,uint8,uint256,uint256,uint8)[]"], [[]]
            ),
            to_checksum_address,
        )
        == []
    )


@pytest.mark.parametrize("char", ["\x00", "\t", "\n", "\x1b", "\x1f", "\x7f", "\x80", "\x9f"])
def test_check_text_refuses_control_characters(char: str) -> None:
    """Every C0 control, DEL and every C1 control is refused, at its UTF-8 byte offset."""
    with pytest.raises(ValidationError, match=rf"U\+{ord(char):04X} at byte 3") as exc:
        _core.check_text("gpu_model", "ü" + "x" + char)
    assert exc.value.field == "gpu_model"


@pytest.mark.parametrize("text", ["\u00a0", "\u2028", "%_\\\"'", "🚀", "Ü"])
def test_check_text_accepts_other_text(text: str) -> None:
    """Text past the control characters (a no-break space, separators, symbols) is accepted."""
    assert _core.check_text("comment", text) == text.encode()

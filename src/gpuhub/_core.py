"""Sans-I/O rules: argument checks that mirror the contract's, and the listing filter.

Nothing here touches the network, so the client and its tests share one copy of each rule.
The contract stays the authority; these checks only fail fast with a clearer message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .exceptions import UnknownOption, ValidationError
from .models import Listing, ListingStatus, PriceUnit

MAX_MODEL_BYTES = 64
MAX_CAPACITY = 2**16 - 1
MAX_PRICE = 2**96 - 1
MAX_DURATION = 2**24 - 1
#: longest rental in seconds (the contract's MAX_RENTAL_SECONDS).
MAX_RENTAL_SECONDS = 2**30
MAX_FEE_BPS = 1_000
#: the most the treasury pays out per payout period, in basis points of the fees it holds (the
#: contract's MAX_PAYOUT_BPS), and that period in seconds (PAYOUT_PERIOD).
MAX_PAYOUT_BPS = 500
PAYOUT_PERIOD = 30 * 86_400
MAX_SCORE = 5
#: longest rating comment in bytes of UTF-8 (the contract's MAX_COMMENT_LENGTH).
MAX_COMMENT_BYTES = 280
MAX_UINT256 = 2**256 - 1
#: the least gas any transaction needs (the intrinsic cost of a plain transfer).
MIN_GAS = 21_000
#: a gas limit above any block's (nodes refuse it with a less helpful message).
MAX_GAS = 2**63 - 1


def check_int(field: str, value: Any, *, low: int = 0, high: int = MAX_UINT256) -> int:
    """Return ``value`` if it is an int (not a bool) within ``low..high``, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"expected an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low} and {high}, got {value}")
    return value


def parse_whole(field: str, text: str, *, high: int = MAX_UINT256) -> int:
    """``text``, a whole number written in the ASCII digits 0-9, as an int within ``0..high``.

    ``str.isdigit`` also accepts superscripts and other digits that ``int`` refuses (``"²"``) or
    reads (``"٣"``); here only 0-9 pass, and the text is never echoed.
    """
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()):
        raise ValidationError(field, "expected a whole number written in the digits 0-9")
    if len(text) > len(str(high)) + 1 or int(text) > high:
        raise ValidationError(field, f"must be at most {high}")
    return int(text)


_HEX = frozenset("0123456789abcdefABCDEF")
#: the zero address, which the contract reads as "none" (no guardian, no governor).
ZERO_ADDRESS = "0x" + "00" * 20


def check_account(value: Any) -> Any:
    """``value`` as a sender: a checksummed address, or an object that signs like eth-account's
    ``LocalAccount`` (kept as it is); anything else is a ValidationError naming both."""
    if isinstance(value, str):
        return check_address("account", value)
    if not hasattr(value, "sign_transaction") or not hasattr(value, "address"):
        raise ValidationError(
            "account",
            f"expected the 0x address of an account the node unlocks, or an eth_account "
            f"LocalAccount (Account.from_key(...)), got {type(value).__name__}",
        )
    return value


def check_contract_address(value: Any, client: str) -> str:
    """The marketplace address a client is built on; None names the way to get one."""
    if value is None:
        raise ValidationError(
            "contract_address",
            f"is required: pass the marketplace's address, or deploy a new marketplace with "
            f"{client}.deploy(w3, account=...) ({client}.local() for an in-process chain)",
        )
    return check_address("contract_address", value)


def check_address(field: str, value: Any) -> str:
    """Return ``value`` as a checksummed address, or raise a ValidationError that never repeats it.

    The value is never echoed: a private key passed where an address belongs must not end up in a
    message, a log or a traceback.
    """
    from eth_utils.address import to_checksum_address

    if not isinstance(value, str):
        raise ValidationError(
            field, f"expected a 0x-prefixed address string, got {type(value).__name__}"
        )
    digits = value[2:] if value[:2] in ("0x", "0X") else value
    if len(digits) == 64 and set(digits) <= _HEX:
        raise ValidationError(
            field,
            "got 32 bytes of hex, which looks like a private key, not an address: pass the "
            "account's address (LocalAccount.address); the value is not shown",
        )
    if not value.startswith("0x") or len(digits) != 40 or not set(digits) <= _HEX:
        raise ValidationError(
            field,
            f"expected a 0x-prefixed address of 40 hex digits, got a {len(value)}-character "
            "string (not shown)",
        )
    checksummed = to_checksum_address(value)
    if digits != digits.lower() and digits != digits.upper() and value != checksummed:
        raise ValidationError(
            field,
            "the address's mixed-case checksum (EIP-55) is wrong, so it may have a typo: check "
            "it, or pass it in lower case to skip the check",
        )
    return str(checksummed)


#: the keyword options every write takes (``TxOptions``), besides ``wait``.
TX_OPTIONS = ("timeout", "gas", "gas_price", "max_fee_per_gas", "max_priority_fee_per_gas")


def check_tx_options(options: Any) -> None:
    """Check the keyword options of a write (``gas``, fees, ``timeout``) before anything is sent.

    Raises:
        UnknownOption: a name that is not an option (a typo is never silently ignored).
        ValidationError: a value out of range.
    """
    unknown = sorted(set(options) - set(TX_OPTIONS))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], ("wait", *TX_OPTIONS), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownOption(
            unknown[0],
            f"is not an option of this call; {hint}the options are wait, {', '.join(TX_OPTIONS)}",
        )
    for name in ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas"):
        if name in options:
            check_int(name, options[name], high=MAX_UINT256)
    if "gas" in options:
        check_int("gas", options["gas"], low=MIN_GAS, high=MAX_GAS)
    if "timeout" in options:
        timeout = options["timeout"]
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout < 10**9
        ):
            raise ValidationError("timeout", "expected a positive number of seconds")


def check_number(field: str, value: Any) -> float:
    """Return ``value`` if it is a non-negative, finite int or float (seconds), else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise ValidationError(field, f"expected a number of seconds >= 0, got {value!r}")
    return float(value)


def check_unit(value: Any) -> PriceUnit:
    """Return ``value`` as a PriceUnit; accepts the enum, its int value or its name."""
    if isinstance(value, PriceUnit):
        return value
    if isinstance(value, str) and value.upper() in PriceUnit.__members__:
        return PriceUnit[value.upper()]
    if isinstance(value, int) and not isinstance(value, bool) and value in set(PriceUnit):
        return PriceUnit(value)
    names = ", ".join(PriceUnit.__members__)
    raise ValidationError("unit", f"expected one of {names}, got {value!r}")


@dataclass(frozen=True, slots=True)
class ListingTerms:
    """Checked arguments of createListing / updateListing, in ABI order."""

    gpu_model: str
    capacity: int
    price: int
    unit: PriceUnit
    min_duration: int
    max_duration: int

    def abi_args(self) -> list[Any]:
        """Arguments for the contract function, in order."""
        return [
            self.gpu_model,
            self.capacity,
            self.price,
            int(self.unit),
            self.min_duration,
            self.max_duration,
        ]


def listing_terms(
    *,
    gpu_model: Any,
    capacity: Any,
    price: Any,
    unit: Any,
    min_duration: Any,
    max_duration: Any,
) -> ListingTerms:
    """Check a listing's fields the way the contract will, raising ValidationError."""
    size = len(check_text("gpu_model", gpu_model))
    if not 1 <= size <= MAX_MODEL_BYTES:
        raise ValidationError(
            "gpu_model", f"must be 1 to {MAX_MODEL_BYTES} bytes of UTF-8, got {size} bytes"
        )
    check_int("capacity", capacity, low=1, high=MAX_CAPACITY)
    check_int("price", price, low=1, high=MAX_PRICE)
    unit = check_unit(unit)
    check_int("min_duration", min_duration, low=1, high=MAX_DURATION)
    check_int("max_duration", max_duration, low=1, high=max_duration_for(unit))
    if min_duration > max_duration:
        raise ValidationError(
            "min_duration", f"must not exceed max_duration ({min_duration} > {max_duration})"
        )
    return ListingTerms(gpu_model, capacity, price, unit, min_duration, max_duration)


def max_duration_for(unit: PriceUnit) -> int:
    """The longest max_duration the contract accepts in ``unit`` (2**24 - 1, at most 2**30 s)."""
    return min(MAX_DURATION, MAX_RENTAL_SECONDS // unit.seconds)


#: the characters the contract refuses in text: C0 controls, DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def check_text(field: str, value: Any) -> bytes:
    """``value`` as the UTF-8 the contract takes for a model name or a comment, or raise.

    The contract refuses control characters (C0 U+0000..U+001F, DEL U+007F, C1
    U+0080..U+009F: ``GpuModelControlCharacter``, ``CommentControlCharacter``) so that no
    database or terminal meets them; the offset is in bytes of UTF-8, as the contract counts.
    """
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string, got {type(value).__name__}")
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValidationError(
            field,
            f"cannot be encoded as UTF-8 (a lone surrogate at character {err.start}): send text",
        ) from None
    found = _CONTROL.search(value)
    if found is not None:
        offset = len(value[: found.start()].encode("utf-8"))
        raise ValidationError(
            field,
            f"holds the control character U+{ord(found.group()):04X} at byte {offset}: the "
            "contract takes printable text only (no NUL, newline, tab or escape)",
        )
    return raw


def decode_text(raw: bytes) -> str:
    """A string read from the chain: UTF-8 with invalid bytes replaced (U+FFFD), since the
    contract once stored any bytes a sender passed and one bad name must not break a read."""
    return raw.decode("utf-8", errors="replace")


def check_listing_id(listing_id: Any) -> int:
    """A listing id is a non-negative integer."""
    return check_int("listing_id", listing_id)


def check_score(score: Any) -> int:
    """A rating's score is an integer from 1 to 5."""
    return check_int("score", score, low=1, high=MAX_SCORE)


def check_comment(comment: Any) -> str:
    """A rating's comment is a string of at most 280 bytes of UTF-8 without control characters."""
    size = len(check_text("comment", comment))
    if size > MAX_COMMENT_BYTES:
        raise ValidationError(
            "comment", f"must be at most {MAX_COMMENT_BYTES} bytes of UTF-8, got {size}: shorten it"
        )
    text: str = comment
    return text


def filter_listings(
    listings: Iterable[Listing],
    *,
    max_price: int | None = None,
    min_capacity: int | None = None,
    available_only: bool = True,
    price_unit: PriceUnit | None = None,
) -> list[Listing]:
    """Keep the listings that match, as the original ``/getgpulist`` did.

    ``max_price`` compares with each listing's own price when ``price_unit`` is None; with a unit
    it compares the price converted to that unit, exactly (no rounding), so listings priced per
    minute, hour and day can be filtered together.
    """
    if max_price is not None:
        check_int("max_price", max_price)
    if min_capacity is not None:
        check_int("min_capacity", min_capacity)
    target = None if price_unit is None else check_unit(price_unit)
    found = []
    for listing in listings:
        if available_only and not listing.is_available:
            continue
        if min_capacity is not None and listing.capacity < min_capacity:
            continue
        if max_price is not None:
            if target is None:
                if listing.price > max_price:
                    continue
            # price per target unit = price * target.seconds / unit.seconds, compared exactly
            elif listing.price * target.seconds > max_price * listing.unit.seconds:
                continue
        found.append(listing)
    return found


def decode_listing_page(data: bytes, checksum: Callable[[str], str]) -> list[Listing]:
    """Decode the return data of ``getListings`` (an ABI ``ListingView[]``) into Listings.

    A hand-written decoder for this one shape: web3's generic result formatting costs about
    60 us per listing, which would dominate reading 10,000 listings.
    """
    word = _word_reader(data)
    base = word(0) + 32
    count = word(base - 32)
    providers: dict[bytes, str] = {}
    page = []
    for i in range(count):
        at = base + word(base + 32 * i)
        raw_provider = data[at + 44 : at + 64]
        provider = providers.get(raw_provider)
        if provider is None:
            provider = providers[raw_provider] = checksum("0x" + raw_provider.hex())
        text_at = at + word(at + 64)
        length = word(text_at)
        page.append(
            Listing(
                listing_id=word(at),
                provider=provider,
                gpu_model=decode_text(data[text_at + 32 : text_at + 32 + length]),
                capacity=word(at + 96),
                price=word(at + 128),
                unit=PriceUnit(word(at + 160)),
                min_duration=word(at + 192),
                max_duration=word(at + 224),
                status=ListingStatus(word(at + 256)),
            )
        )
    return page


def decode_uint(data: bytes) -> int:
    """The first word of return data as an unsigned integer."""
    if len(data) < 32:
        raise ValueError(f"expected a 32-byte word, got {len(data)} bytes")
    return int.from_bytes(data[:32], "big")


def _word_reader(data: bytes) -> Callable[[int], int]:
    from_bytes = int.from_bytes

    def word(at: int) -> int:
        return from_bytes(data[at : at + 32], "big")

    return word

"""Typed contract events: one frozen dataclass per event the marketplace emits.

``client.get_events``, ``client.watch`` and ``client.alerts`` return these. Each class carries the
event's arguments as typed fields (snake_case of the Solidity names; money in wei, times in Unix
seconds, enums as IntEnums, addresses checksummed) and where it was emitted (block number and
hash, transaction hash, log index). A test holds the classes against the shipped ABI.

The generic form stays one call away: ``event.to_market_event()`` gives the
:class:`~gpuhub.models.MarketEvent` (name + ``args`` dict by Solidity names) that earlier
versions returned, and ``event.args`` is that dict.

Logs are decoded by :class:`EventDecoder`, built once per process from the ABI: a small
word-reader per event signature, since web3's generic log processing costs tens of microseconds
per log.

Example::

    >>> for event in client.get_events(0):
    ...     if isinstance(event, gpuhub.events.RentalStarted):
    ...         print(event.rental_id, event.renter, event.paid)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .models import ListingStatus, MarketEvent, PriceUnit, RentalStatus, Role

__all__ = [
    "AMOUNT_ARGS",
    "AccessGranted",
    "AccessRequested",
    "ContractEvent",
    "EventDecoder",
    "FeeChanged",
    "GovernanceTransferred",
    "GovernorChanged",
    "GuardianChanged",
    "ListingCreated",
    "ListingStatusChanged",
    "ListingUpdated",
    "PausedChanged",
    "Rated",
    "RentalEnded",
    "RentalExtended",
    "RentalStarted",
    "TreasuryChanged",
    "VotesClaimed",
    "Withdrawn",
    "event_class",
    "event_classes",
    "event_topics",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractEvent:
    """Where an event was emitted; every typed event class extends this."""

    #: the Solidity event's name, e.g. ``"RentalStarted"`` (a class attribute).
    name: ClassVar[str] = ""
    #: block it was emitted in.
    block_number: int
    #: 0x-prefixed hash of that block (watch uses it to notice reorganisations).
    block_hash: str
    #: 0x-prefixed hash of the transaction that emitted it.
    tx_hash: str
    #: position of the log in its block.
    log_index: int
    #: True when a chain reorganisation dropped the block after this event was delivered
    #: (``watch`` then delivers it a second time with ``removed=True``, as ``eth_subscribe`` does).
    removed: bool = False

    def __str__(self) -> str:
        from ._display import summary

        return summary(self)

    def _repr_html_(self) -> str:
        from ._display import record_html

        return record_html(self)

    @property
    def key(self) -> tuple[int, int]:
        """``(block_number, log_index)``: the event's position on the chain, for ordering."""
        return (self.block_number, self.log_index)

    @property
    def args(self) -> dict[str, Any]:
        """The event's arguments by their Solidity names (the generic form's ``args``)."""
        return {abi: getattr(self, field) for abi, field in _field_names(self.name)}

    def to_json(self, *, amounts_as_text: bool = False) -> dict[str, Any]:
        """A JSON-ready dict: enums by name, integers past 2**53 as decimal strings.

        ``amounts_as_text`` writes every amount (the arguments in :data:`AMOUNT_ARGS`) as a
        decimal string whatever its size, as the HTTP API's ``/v1`` routes do.
        """
        args = {k: json_value(v) for k, v in self.args.items()}
        if amounts_as_text:
            args.update({k: str(v) for k, v in args.items() if k in AMOUNT_ARGS})
        return {
            "name": self.name,
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "tx_hash": self.tx_hash,
            "log_index": self.log_index,
            "removed": self.removed,
            "args": args,
        }

    def to_market_event(self) -> MarketEvent:
        """The generic form: name, position and an ``args`` dict by Solidity names."""
        return MarketEvent(
            name=self.name,
            block_number=self.block_number,
            tx_hash=self.tx_hash,
            log_index=self.log_index,
            args=self.args,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingCreated(ContractEvent):
    """A provider listed a GPU."""

    name: ClassVar[str] = "ListingCreated"
    #: the new listing's id.
    listing_id: int
    #: its provider.
    provider: str
    #: GPU model name.
    gpu_model: str
    #: GPU memory in GB.
    capacity: int
    #: wei per ``unit``.
    price: int
    #: unit of time the price is quoted in.
    unit: PriceUnit
    #: shortest rental, in units.
    min_duration: int
    #: longest rental, in units.
    max_duration: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingUpdated(ContractEvent):
    """A provider changed a listing's terms; the fields are the new terms."""

    name: ClassVar[str] = "ListingUpdated"
    #: the listing.
    listing_id: int
    #: its provider.
    provider: str
    #: GPU model name.
    gpu_model: str
    #: GPU memory in GB.
    capacity: int
    #: wei per ``unit``.
    price: int
    #: unit of time the price is quoted in.
    unit: PriceUnit
    #: shortest rental, in units.
    min_duration: int
    #: longest rental, in units.
    max_duration: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingStatusChanged(ContractEvent):
    """A listing became available, unavailable, rented or removed."""

    name: ClassVar[str] = "ListingStatusChanged"
    #: the listing.
    listing_id: int
    #: its new status.
    status: ListingStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class RentalStarted(ContractEvent):
    """A renter rented a listing, paying into escrow."""

    name: ClassVar[str] = "RentalStarted"
    #: the new rental's id.
    rental_id: int
    #: the rented listing.
    listing_id: int
    #: who pays.
    renter: str
    #: Unix time it started.
    start: int
    #: Unix time it runs until.
    end: int
    #: wei per ``unit``, locked for the rental.
    price: int
    #: unit of the locked price.
    unit: PriceUnit
    #: wei held in escrow.
    paid: int
    #: platform fee in basis points, locked for the rental.
    fee_bps: int
    #: wei sent beyond the cost, credited to the renter's balance.
    excess: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RentalExtended(ContractEvent):
    """A renter bought more time on a running rental."""

    name: ClassVar[str] = "RentalExtended"
    #: the rental.
    rental_id: int
    #: units added.
    extra_units: int
    #: the new end time.
    end: int
    #: wei added to escrow.
    cost: int
    #: wei sent beyond the cost, credited to the renter's balance.
    excess: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RentalEnded(ContractEvent):
    """A rental was ended (by renter or provider) or settled; escrow was split."""

    name: ClassVar[str] = "RentalEnded"
    #: the rental.
    rental_id: int
    #: its listing.
    listing_id: int
    #: how it ended.
    status: RentalStatus
    #: Unix time billing stopped (the rental's ``end`` from now on).
    end: int
    #: wei billed for the time used.
    used: int
    #: wei credited back to the renter.
    refund: int
    #: wei credited to the provider.
    provider_share: int
    #: wei credited to the treasury.
    fee: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Rated(ContractEvent):
    """One side of an ended rental rated the other."""

    name: ClassVar[str] = "Rated"
    #: the rental rated.
    rental_id: int
    #: who rated.
    rater: str
    #: who was rated.
    ratee: str
    #: the side ``ratee`` was on (PROVIDER: the renter rated the provider).
    role: Role
    #: 1..5.
    score: int
    #: wei the rental billed (what the rating weighs).
    billed: int
    #: free text (invalid UTF-8 replaced).
    comment: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawn(ContractEvent):
    """An account withdrew its balance."""

    name: ClassVar[str] = "Withdrawn"
    #: whose balance.
    account: str
    #: where the ETH went.
    to: str
    #: wei sent.
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeChanged(ContractEvent):
    """Governance changed the platform fee for rentals started from now on."""

    name: ClassVar[str] = "FeeChanged"
    #: the fee before, in basis points.
    old_fee_bps: int
    #: the fee now, in basis points.
    new_fee_bps: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TreasuryChanged(ContractEvent):
    """Governance moved where fees are credited."""

    name: ClassVar[str] = "TreasuryChanged"
    #: the treasury before.
    old_treasury: str
    #: the treasury now.
    new_treasury: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PausedChanged(ContractEvent):
    """Governance paused or resumed new listings and rentals."""

    name: ClassVar[str] = "PausedChanged"
    #: True while paused.
    paused: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class GovernanceTransferred(ContractEvent):
    """Governance was handed to another address."""

    name: ClassVar[str] = "GovernanceTransferred"
    #: governance before.
    old_governance: str
    #: governance now.
    new_governance: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GovernorChanged(ContractEvent):
    """A governor was installed: its timelock now holds governance and its votes count."""

    name: ClassVar[str] = "GovernorChanged"
    #: the governor before (the zero address for none).
    old_governor: str
    #: the governor now.
    new_governor: str
    #: the participation votes contract the governor counts.
    votes: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardianChanged(ContractEvent):
    """Governance set or removed the address that may pause at once."""

    name: ClassVar[str] = "GuardianChanged"
    #: the guardian before (the zero address for none).
    old_guardian: str
    #: the guardian now (the zero address for none).
    new_guardian: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VotesClaimed(ContractEvent):
    """An account minted the voting units its rentals' fees earned."""

    name: ClassVar[str] = "VotesClaimed"
    #: who claimed.
    account: str
    #: voting units minted (one per wei of fee earned).
    units: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessRequested(ContractEvent):
    """A renter asked for access to a running rental (see ``client.request_access``)."""

    name: ClassVar[str] = "AccessRequested"
    #: the rental.
    rental_id: int
    #: version byte, the renter's encryption public key and optionally an SSH public key
    #: (``gpuhub._access.decode_request`` reads it).
    payload: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessGranted(ContractEvent):
    """A provider answered an access request with details only the renter can decrypt."""

    name: ClassVar[str] = "AccessGranted"
    #: the rental.
    rental_id: int
    #: version byte and ECIES ciphertext of the connection details.
    payload: bytes


_CLASSES: tuple[type[ContractEvent], ...] = (
    AccessGranted,
    AccessRequested,
    FeeChanged,
    GovernanceTransferred,
    GovernorChanged,
    GuardianChanged,
    ListingCreated,
    ListingStatusChanged,
    ListingUpdated,
    PausedChanged,
    Rated,
    RentalEnded,
    RentalExtended,
    RentalStarted,
    TreasuryChanged,
    VotesClaimed,
    Withdrawn,
)


#: event arguments (Solidity names) that are amounts: wei, or voting units (one per wei of fee).
AMOUNT_ARGS = frozenset(
    {
        "amount",
        "billed",
        "cost",
        "excess",
        "fee",
        "paid",
        "price",
        "providerShare",
        "refund",
        "units",
        "used",
    }
)


def json_value(value: Any) -> Any:
    """Enums by name; integers JavaScript cannot hold exactly as decimal strings; bytes as 0x
    hex."""
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def event_classes() -> dict[str, type[ContractEvent]]:
    """Every typed event class by its Solidity event name."""
    return {cls.name: cls for cls in _CLASSES}


def event_class(event: str | type[ContractEvent]) -> type[ContractEvent]:
    """The class for ``event`` (a class, or a Solidity event name such as ``"RentalStarted"``).

    Raises:
        ValidationError: no such event.
    """
    from .exceptions import ValidationError

    if isinstance(event, type) and issubclass(event, ContractEvent) and event in _CLASSES:
        return event
    found = event_classes().get(event) if isinstance(event, str) else None
    if found is None:
        names = ", ".join(sorted(event_classes()))
        raise ValidationError("event_types", f"expected one of {names}, got {event!r}")
    return found


def event_topics(event_types: Iterable[str | type[ContractEvent]]) -> list[str] | None:
    """Topic 0 of each of ``event_types`` (for an eth_getLogs filter); None for every event."""
    names = [event_class(e).name for e in event_types]
    if not names:
        return None
    topics = default_decoder().topics
    return [topics[n] for n in names if n in topics]


def snake_case(name: str) -> str:
    """``listingId`` -> ``listing_id``: the field name of a Solidity argument."""
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@functools.cache
def _field_names(event_name: str) -> tuple[tuple[str, str], ...]:
    from ._artifact import abi

    for entry in abi():
        if entry["type"] == "event" and entry["name"] == event_name:
            return tuple((arg["name"], snake_case(arg["name"])) for arg in entry["inputs"])
    return ()


# ---------------------------------------------------------------------------- decoding

_ENUMS: dict[str, type[Any]] = {
    "enum GPUHub.ListingStatus": ListingStatus,
    "enum GPUHub.PriceUnit": PriceUnit,
    "enum GPUHub.RentalStatus": RentalStatus,
    "enum GPUHub.Role": Role,
}
_STATIC_SCALARS = ("uint", "int", "address", "bool", "bytes32")


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    return bytes(value)


def _as_hex(value: Any) -> str:
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


def _as_int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


class _Layout:
    """How to read one event's fields out of its topics and data."""

    def __init__(self, cls: type[ContractEvent], entry: Mapping[str, Any]) -> None:
        from eth_utils.address import to_checksum_address

        self.cls = cls
        self.fields: list[str] = []
        # (from_topics, position, reader) per field, in ABI order
        self.readers: list[tuple[bool, int, Callable[[bytes, int], Any]]] = []
        self.fallback_types: list[str] | None = None
        checksum_cache: dict[bytes, str] = {}

        def address(raw: bytes, at: int) -> str:
            word = raw[at + 12 : at + 32]
            found = checksum_cache.get(word)
            if found is None:
                found = checksum_cache[word] = to_checksum_address(word)
            return found

        def uint(raw: bytes, at: int) -> int:
            return int.from_bytes(raw[at : at + 32], "big")

        def sint(raw: bytes, at: int) -> int:
            return int.from_bytes(raw[at : at + 32], "big", signed=True)

        def boolean(raw: bytes, at: int) -> bool:
            return any(raw[at : at + 32])

        def bytes32(raw: bytes, at: int) -> str:
            return "0x" + raw[at : at + 32].hex()

        def string(raw: bytes, at: int) -> str:
            start = int.from_bytes(raw[at : at + 32], "big")
            length = int.from_bytes(raw[start : start + 32], "big")
            # the contract accepts any bytes as a string
            return raw[start + 32 : start + 32 + length].decode("utf-8", errors="replace")

        def dynamic_bytes(raw: bytes, at: int) -> bytes:
            start = int.from_bytes(raw[at : at + 32], "big")
            length = int.from_bytes(raw[start : start + 32], "big")
            return raw[start + 32 : start + 32 + length]

        topic, slot = 1, 0
        data_types: list[str] = []
        for arg in entry["inputs"]:
            abi_type: str = arg["type"]
            self.fields.append(snake_case(arg["name"]))
            if abi_type == "address":
                read: Callable[[bytes, int], Any] = address
            elif abi_type == "bool":
                read = boolean
            elif abi_type.startswith("uint"):
                read = uint
            elif abi_type.startswith("int"):
                read = sint
            elif abi_type == "bytes32":
                read = bytes32
            elif abi_type == "string" and not arg["indexed"]:
                read = string
            elif abi_type == "bytes" and not arg["indexed"]:
                read = dynamic_bytes
            else:  # arrays, tuples, indexed dynamic values: leave them to eth-abi
                read = bytes32 if arg["indexed"] else uint
                self.fallback_types = []
            enum = _ENUMS.get(arg.get("internalType", ""))
            if enum is not None:
                read = _enum_reader(enum, read)
            if arg["indexed"]:
                self.readers.append((True, topic, read))
                topic += 1
            else:
                self.readers.append((False, slot * 32, read))
                data_types.append(abi_type)
                slot += 1
        if self.fallback_types is not None:
            self.fallback_types = data_types

    def decode(self, log: Mapping[str, Any]) -> ContractEvent:
        topics = log["topics"]
        data = _as_bytes(log["data"])
        values: dict[str, Any] = {}
        for name, (from_topics, at, read) in zip(self.fields, self.readers, strict=True):
            values[name] = read(_as_bytes(topics[at]), 0) if from_topics else read(data, at)
        if self.fallback_types is not None:
            from ._abi import codec

            decoded = iter(codec().decode(self.fallback_types, data))
            for name, (from_topics, _, _) in zip(self.fields, self.readers, strict=True):
                if not from_topics:
                    values[name] = next(decoded)
        return self.cls(
            block_number=_as_int(log["blockNumber"]),
            block_hash=_as_hex(log["blockHash"]),
            tx_hash=_as_hex(log["transactionHash"]),
            log_index=_as_int(log["logIndex"]),
            removed=bool(log.get("removed", False)),
            **values,
        )


def _enum_reader(enum: type[Any], read: Callable[[bytes, int], Any]) -> Callable[[bytes, int], Any]:
    members = {m.value: m for m in enum}

    def read_enum(raw: bytes, at: int) -> Any:
        value = read(raw, at)
        return members.get(value, value)

    return read_enum


class EventDecoder:
    """Turns raw logs (JSON-RPC hex strings or web3's HexBytes) into typed events.

    Built once per ABI: one layout per event signature, keyed by topic 0.
    """

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        from eth_utils.crypto import keccak

        classes = event_classes()
        self._layouts: dict[str, _Layout] = {}
        self.topics: dict[str, str] = {}
        for entry in abi:
            if entry.get("type") != "event" or entry["name"] not in classes:
                continue
            types = ",".join(arg["type"] for arg in entry["inputs"])
            topic = "0x" + keccak(text=f"{entry['name']}({types})").hex()
            self._layouts[topic] = _Layout(classes[entry["name"]], entry)
            self.topics[entry["name"]] = topic

    def decode(self, log: Mapping[str, Any]) -> ContractEvent | None:
        """The typed event of one log, or None when it is no event of this contract."""
        topics = log["topics"]
        if not topics:
            return None
        layout = self._layouts.get(_as_hex(topics[0]))
        return None if layout is None else layout.decode(log)

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> list[ContractEvent]:
        """The typed events of ``logs``, in the order given, skipping foreign logs."""
        found = []
        for log in logs:
            event = self.decode(log)
            if event is not None:
                found.append(event)
        return found


@functools.cache
def default_decoder() -> EventDecoder:
    """The decoder for the packaged GPUHub ABI (built once per process)."""
    from ._artifact import abi

    return EventDecoder(abi())


def retracted(event: ContractEvent) -> ContractEvent:
    """A copy of ``event`` marked as dropped by a reorganisation."""
    return dataclasses.replace(event, removed=True)

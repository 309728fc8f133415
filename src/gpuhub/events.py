"""Typed contract events: one frozen dataclass per event the marketplace emits.

``client.get_events``, ``client.watch`` and ``client.alerts`` return these. Each class carries the
event's arguments as typed fields (snake_case of the Solidity names; money in wei, times in Unix
seconds, enums as IntEnums, addresses checksummed) and where it was emitted (block number and
hash, transaction hash, log index). A test holds the classes against the shipped ABI.

The generic form stays one call away: ``event.to_market_event()`` gives the
:class:`~gpuhub.models.MarketEvent` (name + ``args`` dict by Solidity names) that earlier
versions returned, and ``event.args`` is that dict.

Logs are decoded by :class:`EventDecoder`, built once per process from an ABI: word readers
compiled per event signature, since web3's generic log processing costs tens of microseconds
per log. It is the one log decoder: ``get_events`` and the watches get typed events from it;
receipts, ratings, access payloads, the governor's proposals and the index get the arguments
by name (:meth:`EventDecoder.args`). A new event needs its class here, in ``_CLASSES``, and
nothing else.

Example::

    >>> for event in client.get_events(0):
    ...     if isinstance(event, gpuhub.events.RentalStarted):
    ...         print(event.rental_id, event.renter, event.paid)
"""

from __future__ import annotations

import dataclasses
import functools
import keyword
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .models import ABI_ENUMS, ListingStatus, MarketEvent, PriceUnit, RentalStatus, Role

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
    """(Solidity name, field name) of each of the event's arguments."""
    return default_decoder().field_names(event_name)


# ---------------------------------------------------------------------------- decoding


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


def _hex_topics(topics: Sequence[Any]) -> list[str]:
    return ["0x" + bytes(topic).hex() for topic in topics]


@functools.lru_cache(maxsize=65_536)
def _checksum(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


def _signed(value: int) -> int:
    return value - (1 << 256) if value >> 255 else value


def _string(raw: bytes, at: int) -> str:
    start = int.from_bytes(raw[at : at + 32], "big")
    length = int.from_bytes(raw[start : start + 32], "big")
    # the contract accepts any bytes as a string
    return raw[start + 32 : start + 32 + length].decode("utf-8", errors="replace")


def _dynamic_bytes(raw: bytes, at: int) -> bytes:
    start = int.from_bytes(raw[at : at + 32], "big")
    length = int.from_bytes(raw[start : start + 32], "big")
    return raw[start + 32 : start + 32 + length]


def _topic_reader(abi_type: str, topic: str) -> str:
    """An expression reading an indexed argument from its topic (a hex string)."""
    if abi_type == "address":
        return f'_checksum("0x" + {topic}[-40:].lower())'
    if abi_type == "bool":
        return f"int({topic}, 16) != 0"
    if abi_type.startswith("uint"):
        return f"int({topic}, 16)"
    if abi_type.startswith("int"):
        return f"_signed(int({topic}, 16))"
    return f"{topic}.lower()"  # bytes32, or the hash of an indexed dynamic value


def _word_reader(abi_type: str, at: int) -> str | None:
    """An expression reading a data argument from its word at ``at``; None for the types only
    eth-abi reads (arrays, tuples)."""
    word = f"raw[{at}:{at + 32}]"
    if abi_type == "address":
        return f'_checksum("0x" + raw[{at + 12}:{at + 32}].hex())'
    if abi_type == "bool":
        return f'int.from_bytes({word}, "big") != 0'
    if abi_type.startswith("uint"):
        return f'int.from_bytes({word}, "big")'
    if abi_type.startswith("int"):
        return f'int.from_bytes({word}, "big", signed=True)'
    if abi_type == "bytes32":
        return f'"0x" + {word}.hex()'
    if abi_type == "string":
        return f"_string(raw, {at})"
    if abi_type == "bytes":
        return f"_dynamic_bytes(raw, {at})"
    return None


class _Layout:
    """How to read one event's arguments out of its topics and data.

    Each argument is read by an expression: an indexed one from its topic, a one-word data
    argument (integer, address, bool, bytes32) straight from its word, a string or bytes through
    its offset; an event with anything else in its data (arrays, tuples) has all its data
    decoded by eth-abi. The expressions are compiled once into two functions per event, as
    ``dataclasses`` compiles ``__init__``: at a few microseconds a log, a function call per
    argument would cost as much as the reading.
    """

    def __init__(self, entry: Mapping[str, Any], cls: type[ContractEvent] | None) -> None:
        self.name: str = entry["name"]
        self.cls = cls
        #: argument names as Solidity spells them, and as the typed class's fields.
        self.names = tuple(arg["name"] for arg in entry["inputs"])
        self.fields = tuple(snake_case(name) for name in self.names)
        scope: dict[str, Any] = {
            "_as_bytes": _as_bytes,
            "_as_hex": _as_hex,
            "_as_int": _as_int,
            "_hex_topics": _hex_topics,
            "_checksum": _checksum,
            "_signed": _signed,
            "_string": _string,
            "_dynamic_bytes": _dynamic_bytes,
            "_cls": cls,
        }
        readers: list[str | None] = []
        data_types: list[str] = []
        topic = 1
        for arg in entry["inputs"]:
            abi_type = _abi_type(arg)
            if arg["indexed"]:
                readers.append(_topic_reader(abi_type, f"topics[{topic}]"))
                topic += 1
            else:
                readers.append(_word_reader(abi_type, len(data_types) * 32))
                data_types.append(abi_type)
        whole_data = None in readers
        if whole_data:
            scope["_decode_data"] = functools.partial(_decode_data, data_types)
        expressions: list[str] = []
        slot = 0
        for i, (arg, reader) in enumerate(zip(entry["inputs"], readers, strict=True)):
            if not arg["indexed"]:
                if whole_data:
                    reader = f"decoded[{slot}]"
                    if data_types[slot] == "address":
                        reader = f"_checksum({reader})"
                slot += 1
            assert reader is not None  # only data arguments have none, and then whole_data
            enum = ABI_ENUMS.get(arg.get("internalType", ""))
            if enum is not None:
                scope[f"_members{i}"] = {m.value: m for m in enum}
                reader = f"_members{i}.get(v{i} := {reader}, v{i})"
            expressions.append(reader)
        head = [
            "    if topics[0].__class__ is not str:",
            "        topics = _hex_topics(topics)",
            "    raw = _as_bytes(data)",
        ]
        if whole_data:
            head.append("    decoded = _decode_data(raw)")
        returned = "".join(f"{e}, " for e in expressions)  # a tuple, even of one or none
        lines = ["def values(topics, data):", *head, f"    return ({returned})"]
        if cls is not None:
            if not all(f.isidentifier() and not keyword.iskeyword(f) for f in self.fields):
                raise ValueError(f"event {self.name} has an argument that is no field name")
            arguments = "".join(
                f", {field}={e}" for field, e in zip(self.fields, expressions, strict=True)
            )
            lines += [
                "def decode(log):",
                '    topics, data = log["topics"], log["data"]',
                *head,
                '    return _cls(block_number=_as_int(log["blockNumber"]),'
                ' block_hash=_as_hex(log["blockHash"]),'
                ' tx_hash=_as_hex(log["transactionHash"]),'
                ' log_index=_as_int(log["logIndex"]),'
                f' removed=bool(log.get("removed", False)){arguments})',
            ]
        exec(compile("\n".join(lines), f"<gpuhub.events {self.name}>", "exec"), scope)
        #: the arguments of a log of this event (topics and data), in ABI order.
        self.values: Callable[[Sequence[Any], Any], tuple[Any, ...]] = scope["values"]
        #: the typed event of one log of this event (which has a class).
        self.decode: Callable[[Mapping[str, Any]], ContractEvent] = scope.get("decode", _no_class)


def _abi_type(arg: Mapping[str, Any]) -> str:
    """An argument's canonical type, tuples spelled out: ``(uint256,string)[]``."""
    kind: str = arg["type"]
    if not kind.startswith("tuple"):
        return kind
    inner = ",".join(_abi_type(c) for c in arg["components"])
    return f"({inner}){kind[len('tuple') :]}"


def _decode_data(types: list[str], raw: bytes) -> tuple[Any, ...]:
    from ._abi import codec

    return tuple(codec().decode(types, raw))


def _no_class(log: Mapping[str, Any]) -> ContractEvent:
    raise TypeError("this event has no typed class")


class EventDecoder:
    """Turns raw logs (JSON-RPC hex strings or web3's HexBytes) into typed events or into
    arguments by name: the one log decoder, for the marketplace and the governance contracts.

    Built once per ABI: one layout per event signature, keyed by topic 0. An event with a typed
    class (:func:`event_classes`) decodes to it; every event of the ABI decodes to its
    arguments (:meth:`args`), for receipts and the contracts that have no typed events.
    """

    def __init__(self, abi: Sequence[Mapping[str, Any]]) -> None:
        from eth_utils.crypto import keccak

        classes = event_classes()
        self._layouts: dict[str, _Layout] = {}
        #: topic 0 of each event, 0x-prefixed hex, by the event's name.
        self.topics: dict[str, str] = {}
        for entry in abi:
            if entry.get("type") != "event":
                continue
            types = ",".join(_abi_type(arg) for arg in entry["inputs"])
            topic = "0x" + keccak(text=f"{entry['name']}({types})").hex()
            self._layouts[topic] = _Layout(entry, classes.get(entry["name"]))
            self.topics[entry["name"]] = topic

    def decode(self, log: Mapping[str, Any]) -> ContractEvent | None:
        """The typed event of one log, or None when it is no typed event of this contract."""
        topics = log["topics"]
        if not topics:
            return None
        layout = self._layouts.get(_as_hex(topics[0]))
        return None if layout is None or layout.cls is None else layout.decode(log)

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> list[ContractEvent]:
        """The typed events of ``logs``, in the order given, skipping foreign logs."""
        found = []
        for log in logs:
            event = self.decode(log)
            if event is not None:
                found.append(event)
        return found

    def field_names(self, event_name: str) -> tuple[tuple[str, str], ...]:
        """(Solidity name, typed field name) of each argument of event ``event_name``."""
        topic = self.topics.get(event_name)
        if topic is None:
            return ()
        layout = self._layouts[topic]
        return tuple(zip(layout.names, layout.fields, strict=True))

    def args(self, topics: Sequence[Any], data: Any) -> tuple[str, dict[str, Any]] | None:
        """The event's name and its arguments by their Solidity names (enums as IntEnums,
        addresses checksummed), for a log given as its topics and data (hex or bytes); None when
        topic 0 is no event of this contract."""
        layout = self._layouts.get(_as_hex(topics[0])) if topics else None
        if layout is None:
            return None
        return layout.name, dict(zip(layout.names, layout.values(topics, data), strict=True))

    def args_of(self, event_name: str, topics: Sequence[Any], data: Any) -> dict[str, Any] | None:
        """The arguments of a log of event ``event_name`` (as :meth:`args` gives them); None for
        a log of any other event."""
        found = self.args(topics, data)
        return found[1] if found is not None and found[0] == event_name else None


@functools.cache
def default_decoder() -> EventDecoder:
    """The decoder for the packaged GPUHub ABI (built once per process)."""
    return decoder_for("GPUHub")


@functools.cache
def decoder_for(contract: str) -> EventDecoder:
    """The decoder for a packaged contract's ABI (``"GPUHubGovernor"``, ...), built once."""
    from ._artifact import abi

    return EventDecoder(abi(contract))


def retracted(event: ContractEvent) -> ContractEvent:
    """A copy of ``event`` marked as dropped by a reorganisation."""
    return dataclasses.replace(event, removed=True)

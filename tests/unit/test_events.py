"""Typed event classes against the shipped ABI, and the log decoder on hand-made logs."""

from __future__ import annotations

import dataclasses

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from gpuhub import PriceUnit, RentalStatus
from gpuhub._artifact import abi
from gpuhub.events import (
    ContractEvent,
    EventDecoder,
    ListingCreated,
    RentalEnded,
    event_classes,
    snake_case,
)

BASE_FIELDS = [f.name for f in dataclasses.fields(ContractEvent)]
ENUM_TYPES = {
    "enum GPUHub.PriceUnit": "PriceUnit",
    "enum GPUHub.ListingStatus": "ListingStatus",
    "enum GPUHub.RentalStatus": "RentalStatus",
    "enum GPUHub.Role": "Role",
}


def python_type(arg: dict[str, str]) -> str:
    """The annotation a field of this ABI argument should have."""
    if arg["internalType"] in ENUM_TYPES:
        return ENUM_TYPES[arg["internalType"]]
    if arg["type"].startswith(("uint", "int")):
        return "int"
    return {"address": "str", "string": "str", "bool": "bool", "bytes32": "str", "bytes": "bytes"}[
        arg["type"]
    ]


def test_one_class_per_abi_event() -> None:
    """Every event in the shipped ABI has a typed class of the same name, and no class is extra."""
    abi_events = {e["name"] for e in abi() if e["type"] == "event"}
    assert set(event_classes()) == abi_events


def test_event_fields_match_abi() -> None:
    """Each class's own fields are the ABI arguments in order, snake_cased, with matching types."""
    for entry in (e for e in abi() if e["type"] == "event"):
        cls = event_classes()[entry["name"]]
        fields = [f for f in dataclasses.fields(cls) if f.name not in BASE_FIELDS]
        assert [(f.name, f.type) for f in fields] == [
            (snake_case(arg["name"]), python_type(arg)) for arg in entry["inputs"]
        ], entry["name"]


def test_event_classes_are_frozen() -> None:
    """Typed events cannot be changed after they are made."""
    for cls in event_classes().values():
        params = cls.__dataclass_params__  # type: ignore[attr-defined]
        assert params.frozen, cls.name


def hand_made_log(name: str, indexed: list[bytes], data: bytes) -> dict[str, object]:
    """A log as a JSON-RPC node returns it, for the event called ``name``."""
    entry = next(e for e in abi() if e["type"] == "event" and e["name"] == name)
    types = ",".join(a["type"] for a in entry["inputs"])
    topic0 = "0x" + keccak(text=f"{name}({types})").hex()
    return {
        "topics": [topic0, *("0x" + t.hex() for t in indexed)],
        "data": "0x" + data.hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
        "logIndex": "0x3",
        "removed": False,
    }


def test_decoder_reads_indexed_and_dynamic_fields() -> None:
    """A ListingCreated log decodes its topics, its string and its enum into typed fields."""
    provider = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    data = encode(
        ["string", "uint256", "uint256", "uint8", "uint256", "uint256"],
        ["RTX 4090 \u00e9", 24, 10**15, 1, 1, 100],
    )
    log = hand_made_log(
        "ListingCreated", [(7).to_bytes(32, "big"), bytes(12) + bytes.fromhex(provider[2:])], data
    )
    event = EventDecoder(abi()).decode(log)
    assert event == ListingCreated(
        block_number=16,
        block_hash="0x" + "ab" * 32,
        tx_hash="0x" + "cd" * 32,
        log_index=3,
        listing_id=7,
        provider=provider,
        gpu_model="RTX 4090 \u00e9",
        capacity=24,
        price=10**15,
        unit=PriceUnit.HOUR,
        min_duration=1,
        max_duration=100,
    )


def test_decoder_replaces_invalid_utf8() -> None:
    """A model name that is not UTF-8 decodes with replacement characters instead of failing."""
    data = encode(
        ["string", "uint256", "uint256", "uint8", "uint256", "uint256"], ["", 1, 1, 0, 1, 1]
    )
    # the string's bytes are patched after encoding: eth-abi only encodes valid text
    raw = bytearray(data)
    raw[6 * 32 + 31] = 2  # length 2
    raw[7 * 32 : 7 * 32 + 2] = b"\xff\xfe"
    log = hand_made_log("ListingCreated", [bytes(32), bytes(32)], bytes(raw) + bytes(32))
    event = EventDecoder(abi()).decode(log)
    assert isinstance(event, ListingCreated)
    assert event.gpu_model == "\ufffd\ufffd"


def test_generic_form_stays_available() -> None:
    """to_market_event gives the generic name + args form with the Solidity argument names."""
    data = encode(["uint8", *["uint256"] * 5], [1, 77, 5, 6, 4, 1])
    log = hand_made_log("RentalEnded", [(2).to_bytes(32, "big"), (3).to_bytes(32, "big")], data)
    event = EventDecoder(abi()).decode(log)
    assert isinstance(event, RentalEnded)
    generic = event.to_market_event()
    assert generic.name == "RentalEnded"
    assert generic.args == {
        "rentalId": 2,
        "listingId": 3,
        "status": RentalStatus.ENDED_BY_RENTER,
        "end": 77,
        "used": 5,
        "refund": 6,
        "providerShare": 4,
        "fee": 1,
    }


def test_decoder_skips_foreign_logs() -> None:
    """A log whose topic 0 is no event of the contract decodes to None."""
    log = hand_made_log("RentalEnded", [bytes(32), bytes(32)], bytes(192))
    log["topics"] = ["0x" + "00" * 32]
    assert EventDecoder(abi()).decode(log) is None


def test_amount_args_are_the_fields_documented_as_wei() -> None:
    """AMOUNT_ARGS names exactly the event fields documented as wei, and the voting units."""
    import inspect
    import re

    from gpuhub import events

    documented = set()
    for cls in events.event_classes().values():
        source = inspect.getsource(cls)
        for field in re.findall(r"#: (?:wei|voting units)[^\n]*\n\s+(\w+):", source):
            documented.add(
                next(abi for abi, name in events._field_names(cls.name) if name == field)
            )
    assert documented == events.AMOUNT_ARGS


def test_args_are_the_typed_fields_by_solidity_name() -> None:
    """A log's arguments by name are exactly the typed event's ``args``: one table for both."""
    data = encode(["uint8", *["uint256"] * 5], [3, 90, 7, 8, 5, 2])
    log = hand_made_log("RentalEnded", [(4).to_bytes(32, "big"), (5).to_bytes(32, "big")], data)
    decoder = EventDecoder(abi())
    event = decoder.decode(log)
    assert event is not None
    assert decoder.args(log["topics"], log["data"]) == ("RentalEnded", event.args)


def test_args_of_another_event_is_none() -> None:
    """Asking for one event's arguments from a log of another event gives None."""
    log = hand_made_log("RentalEnded", [bytes(32), bytes(32)], bytes(192))
    decoder = EventDecoder(abi())
    assert decoder.args_of("Rated", log["topics"], log["data"]) is None
    assert decoder.args_of("RentalEnded", log["topics"], log["data"]) is not None


def test_governor_event_with_arrays_decodes() -> None:
    """The governor's ProposalCreated (arrays and strings in its data) decodes through the same
    decoder, its proposer checksummed as the marketplace's addresses are."""
    from gpuhub.events import decoder_for

    proposer = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    target = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"
    types = ["uint256", "address", "address[]", "uint256[]", "string[]", "bytes[]"]
    data = encode(
        [*types, "uint256", "uint256", "string"],
        [9, proposer, [target], [0], [""], [b"\x01\x02"], 100, 200, "Fee to 1%"],
    )
    decoder = decoder_for("GPUHubGovernor")
    topic0 = decoder.topics["ProposalCreated"]
    args = decoder.args_of("ProposalCreated", [topic0], "0x" + data.hex())
    assert args == {
        "proposalId": 9,
        "proposer": proposer,
        "targets": (target.lower(),),
        "values": (0,),
        "signatures": ("",),
        "calldatas": (b"\x01\x02",),
        "voteStart": 100,
        "voteEnd": 200,
        "description": "Fee to 1%",
    }
    assert decoder.decode({"topics": [topic0], "data": "0x" + data.hex()}) is None

"""Chain text every reader can hold: model names and rating comments without control characters.

PostgreSQL text cannot hold NUL and SQLite's LIKE stops at it, so a NUL in a name once stopped
every sync of a PostgreSQL index for good. The contract now refuses control characters (C0
U+0000..U+001F, DEL U+007F, C1 U+0080..U+009F) in names and comments, the client refuses them
before sending, and the index meets every other kind of text.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_abi import encode
from eth_utils.crypto import keccak

import gpuhub
from gpuhub import GPUHubClient, MarketIndex, PriceUnit
from gpuhub.search._lexer import quote

PRICE = 36 * 10**14  # wei per hour: 10**12 a second, so every rating weighs


def raw_send(client: GPUHubClient, signature: str, types: list[str], values: list[object]) -> None:
    """Send ``signature(values)`` straight to the contract, past the client's checks (strings
    given as bytes: the ABI encodes string and bytes alike)."""
    data = keccak(text=signature)[:4] + encode(types, values)
    sender = client._require_sender()
    params = {"to": client.contract_address, "data": "0x" + data.hex()}
    tx_hash = client._run(sender.send(params, {}))
    client._run(sender.wait(tx_hash, params, None))


def raw_create(client: GPUHubClient, model: bytes) -> None:
    """createListing with ``model`` as raw bytes."""
    raw_send(
        client,
        "createListing(string,uint256,uint256,uint8,uint256,uint256)",
        ["bytes", "uint256", "uint256", "uint8", "uint256", "uint256"],
        [model, 16, 10, 0, 1, 10],
    )


def raw_rate(client: GPUHubClient, rental_id: int, comment: bytes) -> None:
    """rate(rental_id, 4, comment) with the comment as raw bytes."""
    raw_send(
        client,
        "rate(uint256,uint256,string)",
        ["uint256", "uint256", "bytes"],
        [rental_id, 4, comment],
    )


@pytest.fixture
def ended(client: GPUHubClient) -> int:
    """A rental of account 1's listing by the client's account, over after a minute."""
    provider = client.with_account(client.accounts[1])
    provider.create_listing(gpu_model="L4", capacity=24, price=PRICE, unit=PriceUnit.HOUR)
    rental = client.rent(0, 1)
    client.chain.advance_time(60)
    client.end_rental(rental.rental_id)
    return rental.rental_id


@pytest.mark.parametrize(
    ("model", "offset"),
    [
        (b"RTX\x004090", 3),  # NUL
        (b"\x1b[31mA100", 0),  # ESC: a terminal escape
        (b"A100\x7f", 4),  # DEL
        ("Ü\u0085".encode(), 2),  # C1 (NEL), after a two-byte character
        (b"H100\n", 4),  # newline
        (b"x" * 31 + b"\x00", 31),  # last byte of the first word
        (b"x" * 32 + b"\x1f", 32),  # first byte of the second word
        (b"x" * 63 + b"\t", 63),  # last byte a name may have
        ("🚀".encode() + b"\x00", 4),  # past a four-byte character
    ],
)
def test_contract_refuses_control_characters_in_names(
    client: GPUHubClient, model: bytes, offset: int
) -> None:
    """A model name with a control character reverts with GpuModelControlCharacter at its byte
    offset, wherever it sits in the name's words; nothing is listed."""
    with pytest.raises(gpuhub.GpuModelControlCharacter) as exc:
        raw_create(client, model)
    assert exc.value.offset == offset
    assert client.listing_count() == 0


def test_contract_refuses_a_nul_in_an_update(client: GPUHubClient) -> None:
    """updateListing applies the same rule: a NUL in the new name reverts, the old name stays."""
    client.create_listing(gpu_model="RTX 4090", capacity=24, price=10**12)
    with pytest.raises(gpuhub.GpuModelControlCharacter) as exc:
        raw_send(
            client,
            "updateListing(uint256,string,uint256,uint256,uint8,uint256,uint256)",
            ["uint256", "bytes", "uint256", "uint256", "uint8", "uint256", "uint256"],
            [0, b"RTX\x00", 24, 10**12, 0, 1, 10],
        )
    assert exc.value.offset == 3
    assert client.get_listing(0).gpu_model == "RTX 4090"


def test_a_padded_name_is_judged_by_its_own_bytes(client: GPUHubClient) -> None:
    """Bytes after a name in its calldata word (the sender's to choose) do not count: a name
    ending in a control-free byte next to 0xff padding is accepted."""
    model = b"RTX 4090"
    selector = keccak(text="createListing(string,uint256,uint256,uint8,uint256,uint256)")[:4]
    args = bytearray(
        encode(
            ["bytes", "uint256", "uint256", "uint8", "uint256", "uint256"],
            [model, 16, 10, 0, 1, 10],
        )
    )
    text_at = 6 * 32 + 32  # after the head and the length word
    args[text_at + len(model) : text_at + 32] = b"\xff" * (32 - len(model))
    sender = client._require_sender()
    params = {"to": client.contract_address, "data": "0x" + (selector + bytes(args)).hex()}
    client._run(sender.wait(client._run(sender.send(params, {})), params, None))
    assert client.get_listing(0).gpu_model == "RTX 4090"


@pytest.mark.parametrize(
    ("comment", "error", "offset"),
    [
        (b"good\x00", gpuhub.CommentControlCharacter, 4),
        (b"line one\nline two", gpuhub.CommentControlCharacter, 8),
        (b"x" * 279 + b"\x7f", gpuhub.CommentControlCharacter, 279),
        (b"ok \xff", gpuhub.CommentNotUtf8, 3),
        (b"\xed\xa0\x80", gpuhub.CommentNotUtf8, 0),
    ],
)
def test_contract_refuses_bad_comments(
    client: GPUHubClient, ended: int, comment: bytes, error: type[gpuhub.ContractError], offset: int
) -> None:
    """A comment with a control character or invalid UTF-8 reverts with the typed error at its
    offset; the rental stays unrated."""
    with pytest.raises(error) as exc:
        raw_rate(client, ended, comment)
    assert exc.value.offset == offset  # type: ignore[attr-defined]
    assert client.ratings(rental_id=ended) == []
    assert client.rate(ended, 4, comment="fine").comment == "fine"


@pytest.mark.parametrize("model", ["RTX\x004090", "A100\u0085", "tab\there", "\x1b[2J"])
def test_client_refuses_control_characters_in_names(client: GPUHubClient, model: str) -> None:
    """The client refuses a name with a control character before sending, naming the byte."""
    block = client.block_number()
    with pytest.raises(gpuhub.ValidationError, match="control character") as exc:
        client.create_listing(gpu_model=model, capacity=24, price=10**12)
    assert exc.value.field == "gpu_model"
    assert client.block_number() == block


def test_client_refuses_control_characters_in_comments(client: GPUHubClient, ended: int) -> None:
    """The client refuses a comment with a NUL before sending, with its byte offset."""
    block = client.block_number()
    with pytest.raises(gpuhub.ValidationError, match=r"U\+0000 at byte 6") as exc:
        client.rate(ended, 5, comment="fast\u00e9\x00")
    assert exc.value.field == "comment"
    assert client.block_number() == block


#: text of every other kind, valid UTF-8 without control characters: quotes, LIKE's wildcards,
#: backslashes, emoji, scripts, a no-break space (the first code point past C1), separators.
ODD_NAMES = [
    "RTX \"4090\" 'Ti'",
    "100% A100",
    "H100_SXM5",
    "back\\slash \\x00",
    "🚀 rocket 🚀",
    "Радеон 日本",
    "nbsp\u00a0here",
    "line\u2028separator",
    "' OR 1=1 --",
]
ODD_COMMENTS = ['said "5/5"', "100%_sure", "C:\\gpu\\", "🔥" * 70, "\u00a0", "%_%"]


@pytest.fixture
def index(client: GPUHubClient, database_url: str) -> Iterator[MarketIndex]:
    """An empty index of the test's marketplace, on SQLite or PostgreSQL."""
    with MarketIndex(client, database_url) as found:
        yield found


def test_index_holds_and_searches_every_other_kind_of_text(
    client: GPUHubClient, index: MarketIndex
) -> None:
    """A market whose names and comments hold quotes, %, _, backslashes, emoji and other
    scripts syncs into the index, which mirrors the chain and answers every search on them as
    the chain does."""
    renter = client.with_account(client.accounts[1])
    for name in ODD_NAMES:
        client.create_listing(gpu_model=name, capacity=24, price=PRICE, unit=PriceUnit.HOUR)
    for listing_id, comment in enumerate(ODD_COMMENTS):
        rental = renter.rent(listing_id, 1)
        client.chain.advance_time(60)
        renter.end_rental(rental.rental_id)
        renter.rate(rental.rental_id, 1 + listing_id % 5, comment=comment)
    index.sync()
    assert index.list_listings() == client.list_listings()
    assert index.list_ratings() == client.ratings()
    assert [r.comment for r in index.list_ratings()] == ODD_COMMENTS
    needles = ['"', "'", "%", "_", "\\", "\\x00", "🚀", "本", "\u00a0", "\u2028", "1=1", "% A"]
    for needle in needles:
        query = f"model~{quote(needle)} sort=-rating,id"
        found, expected = index.search(query), client.search(query)
        assert found.total > 0, query
        assert found.listings == expected.listings, query
    for name in ODD_NAMES:
        query = f"model={quote(name)}"
        assert [x.gpu_model for x in index.search(query).listings] == [name], query

"""JSON-RPC over the embedded chain: the requests the client makes, answered by eth-tester itself.

Going to eth-tester directly (not through web3's provider) lets the embedded chain keep up at
demo scale:

- one EVM execution per write: a transaction is sent without a dry run first, and if it reverts
  the chain is put back to the snapshot taken before it (``gpuhub_sendChecked``), so a refused
  write leaves no trace, as a refused estimate does on a real node;
- event reads linear in the chain's length: eth-tester's ``get_logs`` walks every block of the
  range for every call, so this keeps the logs of each block it has read and reads only new
  blocks after that;
- every listing read from the contract's storage (``gpuhub_getListings``), not by running the
  ``getListings`` view: py-evm executes it at about a millisecond per listing, while reading the
  state trie (each trie node decoded once, then kept) takes a few microseconds per slot.

Answers have the shapes of a real node's (camelCase keys); numbers stay ints, which the parsers in
``_transactions`` accept as well as hex quantities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

from ._core import decode_text
from .exceptions import TransactionReverted
from .models import Listing, ListingStatus, PriceUnit

_TX_KEYS = {
    "from": "from",
    "to": "to",
    "data": "data",
    "value": "value",
    "gas": "gas",
    "gasPrice": "gas_price",
    "maxFeePerGas": "max_fee_per_gas",
    "maxPriorityFeePerGas": "max_priority_fee_per_gas",
    "nonce": "nonce",
}
_INT_KEYS = {"value", "gas", "gas_price", "max_fee_per_gas", "max_priority_fee_per_gas", "nonce"}

#: decoded trie nodes kept at most; nodes are named by their hash, so a kept one never goes stale.
MAX_TRIE_NODES = 1_000_000


class EmbeddedChain:
    """Answers JSON-RPC requests from an ``eth_tester.EthereumTester``; not thread-safe (the
    caller serialises requests)."""

    def __init__(self, tester: Any) -> None:
        self._tester = tester
        self._chain_id = int(tester.backend.chain.chain_id)
        # eth-tester wants a sender for calls, and one that can pay for their gas.
        self._caller = tester.get_accounts()[0]
        self._logs: list[dict[str, Any]] = []
        #: (number, hash) of every block whose logs are in ``_logs``.
        self._scanned: list[tuple[int, str]] = []
        self._trie = _TrieReader()
        self._layout: ListingLayout | None = None
        self._code_hash = b""
        #: (mapping slot, first storage slot) of each listing, by id: keccak(id . mapping slot).
        self._listing_slots: list[tuple[int, int]] = []

    def request(self, method: str, params: list[Any]) -> Any:
        """The ``result`` a node would give for ``method(params)``; reverts raise eth-tester's
        ``TransactionFailed``, which ``_errors.translate`` decodes."""
        tester = self._tester
        if method == "eth_chainId":
            return self._chain_id
        if method == "eth_blockNumber":
            return tester.get_block_by_number("latest")["number"]
        if method == "eth_getCode":
            return tester.get_code(params[0], _block(params[1]))
        if method == "eth_getBalance":
            return tester.get_balance(params[0], _block(params[1]))
        if method == "eth_call":
            return self._call({"from": self._caller, **_tx(params[0])}, _block(params[1]))
        if method == "eth_getTransactionCount":
            return tester.get_nonce(params[0], "pending")
        if method == "eth_gasPrice":
            return tester.get_block_by_number("pending")["base_fee_per_gas"]
        if method == "eth_getBlockByNumber":
            block = tester.get_block_by_number(_block(params[0]))
            return {
                "number": block["number"],
                "hash": block["hash"],
                "timestamp": block["timestamp"],
                "baseFeePerGas": block["base_fee_per_gas"],
            }
        if method == "eth_estimateGas":
            # Asked only when preparing a transaction for another signer: the client's own
            # sends skip the estimate here (see gpuhub_sendChecked).
            return self._estimate({"from": self._caller, **_tx(params[0])})
        if method == "eth_sendTransaction":
            return tester.send_transaction(_tx(params[0]))
        if method == "eth_sendRawTransaction":
            return tester.send_raw_transaction(params[0])
        if method == "gpuhub_sendChecked":
            return self._send_checked(params[0], params[1])
        if method == "eth_getTransactionReceipt":
            return self._receipt(params[0])
        if method == "eth_getTransactionByHash":
            return self._transaction(params[0])
        if method == "eth_getLogs":
            return self._get_logs(params[0])
        if method == "gpuhub_getListings":
            return self._listings(params[0])
        if method == "eth_sign":
            return self._sign(params[0], params[1])
        raise NotImplementedError(f"the embedded chain does not answer {method}")

    def _sign(self, address: str, data: str) -> bytes:
        """``eth_sign`` as a node does it: the EIP-191 signature of ``data`` by one of the
        chain's own accounts."""
        from eth_account import Account
        from eth_account.messages import encode_defunct

        for key in self._tester.backend.account_keys:
            if key.public_key.to_checksum_address().lower() == address.lower():
                message = encode_defunct(hexstr=data)
                return bytes(Account.sign_message(message, key.to_bytes()).signature)
        raise ValueError(f"eth_sign: {address} is not an account of the embedded chain")

    def _listings(self, address: str) -> list[Listing] | None:
        """Every listing of the marketplace at ``address`` as of the latest block, read from its
        storage where the packaged artifact's storage layout says each field is; None when the
        code there is not the packaged GPUHub's."""
        from eth_utils.crypto import keccak

        from ._artifact import load_artifact

        if self._layout is None:
            artifact = load_artifact()
            self._code_hash = keccak(bytes.fromhex(artifact["deployedBytecode"]))
            self._layout = ListingLayout.from_solc(artifact.get("storageLayout") or {})
        layout = self._layout
        chain = self._tester.backend.chain  # a new object after reset_to_genesis
        trie = self._trie
        trie.db = chain.chaindb.db
        root = chain.get_canonical_head().state_root
        account = trie.get(root, keccak(bytes.fromhex(address[2:])).hex())
        if account is None or not layout:
            return None
        _, _, storage_root, code_hash = _rlp_list(account)
        if code_hash != self._code_hash:
            return None

        def word(slot: int) -> int:
            value = trie.get(storage_root, trie.slot_path(slot))
            # A storage value is RLP of at most 32 bytes: one byte as itself, else a length byte.
            return 0 if value is None else int.from_bytes(value[1:] if value[0] >= 0x80 else value)

        count = layout.count.read(word(layout.count.slot))
        mapping = layout.mapping_slot.to_bytes(32, "big")
        starts = self._listing_slots
        if starts and starts[0][0] != layout.mapping_slot:
            starts.clear()
        for listing_id in range(len(starts), count):
            at = int.from_bytes(keccak(listing_id.to_bytes(32, "big") + mapping), "big")
            starts.append((layout.mapping_slot, at))
        providers: dict[int, str] = {}
        listings = []
        field, slots = layout.fields, layout.slots
        for listing_id in range(count):
            at = starts[listing_id][1]
            words = {slot: word(at + slot) for slot in slots}

            def get(name: str, words: dict[int, int] = words) -> int:
                return field[name].read(words[field[name].slot])

            length = get("modelLength")
            model = b""
            for part in layout.model:
                if len(model) >= length:
                    break
                if part.slot not in words:
                    words[part.slot] = word(at + part.slot)
                model += part.read(words[part.slot]).to_bytes(part.size, "big")
            raw_provider = get("provider")
            provider = providers.get(raw_provider)
            if provider is None:
                provider = providers[raw_provider] = to_checksum_address(
                    raw_provider.to_bytes(20, "big")
                )
            listings.append(
                Listing(
                    listing_id=listing_id,
                    provider=provider,
                    gpu_model=decode_text(model[:length]),
                    capacity=get("capacity"),
                    price=get("price"),
                    unit=PriceUnit(get("unit")),
                    min_duration=get("minDuration"),
                    max_duration=get("maxDuration"),
                    status=ListingStatus(get("status")),
                )
            )
        return listings

    def _send_checked(self, tx: dict[str, Any], raw: str | None) -> str:
        tester = self._tester
        snapshot = tester.take_snapshot()
        tx_hash: str = tester.send_raw_transaction(raw) if raw else tester.send_transaction(_tx(tx))
        if tester.get_transaction_receipt(tx_hash)["status"] == 1:
            return tx_hash
        tester.revert_to_snapshot(snapshot)
        call = {k: v for k, v in _tx(tx).items() if k not in ("nonce", "gas")}
        self._call(call, "latest")  # raises the revert with its data
        raise TransactionReverted("reverted without a reason (out of gas or a bad argument)")

    def _call(self, tx: dict[str, Any], block: Any) -> Any:
        from eth_tester.exceptions import TransactionFailed

        try:
            return self._tester.call(tx, block)
        except TransactionFailed as err:
            # The shape web3's provider gives, which _errors.revert_data reads.
            raise TransactionFailed(f"execution reverted: {err.args[0]}") from err

    def _estimate(self, tx: dict[str, Any]) -> int:
        from eth_tester.exceptions import TransactionFailed

        try:
            return int(self._tester.estimate_gas(tx))
        except TransactionFailed as err:
            # The estimate's error holds py-evm's Revert, whose argument is the revert data.
            reason = err.args[0] if err.args else b""
            data = reason.args[0] if isinstance(reason, Exception) and reason.args else reason
            raise TransactionFailed(f"execution reverted: {data!r}") from err

    def _transaction(self, tx_hash: str) -> dict[str, Any] | None:
        from eth_tester.exceptions import TransactionNotFound

        try:
            raw = self._tester.get_transaction_by_hash(tx_hash)
        except TransactionNotFound:
            return None
        return {
            "hash": raw["hash"],
            "gas": raw["gas"],
            "nonce": raw["nonce"],
            "blockNumber": raw["block_number"],
            "from": raw["from"],
            "to": raw["to"],
            "input": raw["data"],
            "value": raw["value"],
        }

    def _receipt(self, tx_hash: str) -> dict[str, Any] | None:
        from eth_tester.exceptions import TransactionNotFound

        try:
            raw = self._tester.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        return {
            "transactionHash": raw["transaction_hash"],
            "status": raw["status"],
            "blockNumber": raw["block_number"],
            "gasUsed": raw["gas_used"],
            "contractAddress": raw["contract_address"],
            "logs": [_log(entry) for entry in raw["logs"]],
        }

    def _get_logs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        head = self._tester.get_block_by_number("latest")["number"]
        self._scan(head)
        low = _number(query.get("fromBlock", "latest"), head)
        high = _number(query.get("toBlock", "latest"), head)
        address = query.get("address")
        wanted = None if address is None else {str(address).lower()}
        topics = [
            None if t is None else {x.lower() for x in ([t] if isinstance(t, str) else t)}
            for t in query.get("topics") or []
        ]
        return [
            entry
            for entry in self._logs
            if low <= entry["blockNumber"] <= high
            and (wanted is None or entry["address"].lower() in wanted)
            and _topics_match(entry["topics"], topics)
        ]

    def _scan(self, head: int) -> None:
        tester = self._tester
        # A snapshot reverted or a block replaced since the last scan: drop what changed.
        while self._scanned and (
            self._scanned[-1][0] > head
            or tester.get_block_by_number(self._scanned[-1][0])["hash"] != self._scanned[-1][1]
        ):
            number, _ = self._scanned.pop()
            while self._logs and self._logs[-1]["blockNumber"] >= number:
                self._logs.pop()
        start = self._scanned[-1][0] + 1 if self._scanned else 0
        for number in range(start, head + 1):
            block_hash = self._scan_block(number)
            self._scanned.append((number, block_hash))

    def _scan_block(self, number: int) -> str:
        """Add one block's logs, read from py-evm's receipts: eth-tester's receipt lookup by
        hash walks the chain, which would make reading every block quadratic."""
        chain = self._tester.backend.chain
        block = chain.get_canonical_block_by_number(number)
        block_hash = "0x" + bytes(block.hash).hex()
        index = 0
        for tx, receipt in zip(block.transactions, block.get_receipts(chain.chaindb), strict=True):
            for log in receipt.logs:
                self._logs.append(
                    {
                        "address": to_checksum_address(log.address),
                        "topics": ["0x" + t.to_bytes(32, "big").hex() for t in log.topics],
                        "data": "0x" + bytes(log.data).hex(),
                        "blockNumber": number,
                        "blockHash": block_hash,
                        "transactionHash": "0x" + bytes(tx.hash).hex(),
                        "logIndex": index,
                    }
                )
                index += 1
        return block_hash


@dataclass(frozen=True, slots=True)
class Spot:
    """Where one value lives in storage: a slot (relative to its struct), a bit shift, a width."""

    name: str
    slot: int
    shift: int
    size: int

    def read(self, word: int) -> int:
        """The value, out of its slot's word."""
        return (word >> self.shift) & ((1 << (8 * self.size)) - 1)


@dataclass(frozen=True, slots=True)
class ListingLayout:
    """Where GPUHub keeps its listings, from solc's storage layout (the artifact's
    ``storageLayout``), so a contract that moves its state variables needs no change here."""

    #: the listing counter.
    count: Spot
    #: the slot of the ``_listings`` mapping.
    mapping_slot: int
    #: every field of the ``Listing`` struct, by name.
    fields: dict[str, Spot]
    #: the parts of the model name, in order (``model0``, ``model1``, ...).
    model: tuple[Spot, ...]

    @property
    def slots(self) -> set[int]:
        """The struct's slots every listing is read from (the model's later parts only when
        the name reaches them)."""
        return {spot.slot for spot in self.fields.values()} - {
            spot.slot for spot in self.model[1:]
        } | {self.model[0].slot}

    @classmethod
    def from_solc(cls, layout: dict[str, Any]) -> ListingLayout | None:
        """Read from solc's ``storageLayout`` output; None if it lacks what listings need."""
        try:
            types = layout["types"]

            def spot(entry: dict[str, Any]) -> Spot:
                size = int(types[entry["type"]]["numberOfBytes"])
                return Spot(entry["label"], int(entry["slot"]), 8 * int(entry["offset"]), size)

            names = {entry["label"]: entry for entry in layout["storage"]}
            mapping = names["_listings"]
            members = types[types[mapping["type"]]["value"]]["members"]
            fields = {member["label"]: spot(member) for member in members}
            model = tuple(fields[f"model{i}"] for i in range(len(fields)) if f"model{i}" in fields)
            wanted = {"provider", "status", "unit", "modelLength", "capacity", "price"}
            if not model or not wanted | {"minDuration", "maxDuration"} <= set(fields):
                return None
            return cls(spot(names["_listingCount"]), int(mapping["slot"]), fields, model)
        except (KeyError, TypeError, ValueError):
            return None


class _TrieReader:
    """Looks keys up in the Merkle-Patricia tries of one node database (py-evm's), decoding each
    trie node once: reading 10,000 listings touches the same upper nodes tens of thousands of
    times, and RLP decoding in Python is what a lookup costs."""

    def __init__(self) -> None:
        #: the node database to read (py-evm's); kept nodes stay valid in any database.
        self.db: Any = None
        self._nodes: dict[bytes, Any] = {}
        self._slot_paths: dict[int, str] = {}

    def slot_path(self, slot: int) -> str:
        """The key of storage ``slot`` in a storage trie (its hash, as hex digits)."""
        path = self._slot_paths.get(slot)
        if path is None:
            from eth_hash.auto import keccak

            if len(self._slot_paths) >= MAX_TRIE_NODES:
                self._slot_paths.clear()
            path = self._slot_paths[slot] = keccak(slot.to_bytes(32, "big")).hex()
        return path

    def get(self, root: bytes, path: str) -> bytes | None:
        """The value at the key whose hash is ``path`` (hex digits), or None."""
        at = 0
        node = self._node(root)
        while node is not None:
            if isinstance(node, list):  # branch: 16 children and a value
                if at == len(path):
                    return node[16] or None
                node = self._node(node[int(path[at], 16)])
                at += 1
                continue
            nibbles, leaf, child = node  # leaf or extension
            if path[at : at + len(nibbles)] != nibbles:
                return None
            at += len(nibbles)
            if leaf:
                return child if at == len(path) else None
            node = self._node(child)
        return None

    def _node(self, ref: Any) -> Any:
        """A node from its reference: a hash, the node itself when under 32 bytes, or empty."""
        if isinstance(ref, list):
            return _shape(ref)
        if not ref:
            return None
        node = self._nodes.get(ref)
        if node is None:
            import rlp

            if len(self._nodes) >= MAX_TRIE_NODES:
                self._nodes.clear()
            node = self._nodes[ref] = _shape(rlp.decode(self.db[ref]))
        return node


def _shape(node: list[Any]) -> Any:
    """A decoded node as the lookup walks it: a branch stays a list of 17, a leaf or extension
    becomes (nibbles as hex digits, is a leaf, value or child)."""
    if len(node) == 17:
        return node
    encoded = node[0].hex()
    flag = int(encoded[0], 16)  # hex-prefix encoding: 2 = leaf, 1 = odd length
    return (encoded[1:] if flag & 1 else encoded[2:], flag >= 2, node[1])


def _rlp_list(raw: bytes) -> list[Any]:
    import rlp

    decoded: list[Any] = rlp.decode(raw)
    return decoded


def _topics_match(have: list[str], want: list[set[str] | None]) -> bool:
    """eth_getLogs topic filtering: each position is any value (None) or one of a set."""
    if len(want) > len(have):
        return all(w is None for w in want[len(have) :]) and _topics_match(have, want[: len(have)])
    return all(w is None or have[i].lower() in w for i, w in enumerate(want))


def _log(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": entry["address"],
        "topics": entry["topics"],
        "data": entry["data"],
        "blockNumber": entry["block_number"],
        "blockHash": entry["block_hash"],
        "transactionHash": entry["transaction_hash"],
        "logIndex": entry["log_index"],
    }


def _tx(params: dict[str, Any]) -> dict[str, Any]:
    """JSON-RPC transaction fields in eth-tester's names, numbers as ints."""
    tx = {}
    for key, value in params.items():
        name = _TX_KEYS.get(key)
        if name is None:
            continue
        tx[name] = int(value, 16) if name in _INT_KEYS and isinstance(value, str) else value
    return tx


def _block(block: Any) -> Any:
    return int(block, 16) if isinstance(block, str) and block.startswith("0x") else block


def _number(block: Any, head: int) -> int:
    block = _block(block)
    return head if block in ("latest", "pending", "safe", "finalized") else int(block)

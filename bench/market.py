"""Market-shaped data for the benchmarks: skewed models, long-tailed prices, a few big providers.

A few consumer and data-centre GPUs make most of the listings (the RTX 4090 alone about a
quarter) and a long tail of models a few each; hourly prices spread log-normally around each
model's median, with a few listings priced far off it; a few providers hold most listings (Zipf);
most listings are available. Deterministic for a seed, so every contender and every rerun
searches the same market.

Also the queries the benchmarks time: broad ones (most of the market matches) and narrow ones,
named, so that the reports can print each one's match count beside its time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

WEI_PER_ETH = 10**18
UNIT_SECONDS = {0: 60, 1: 3600, 2: 86400}

#: (model, memory per GPU in GB, share of listings, median price per GPU-hour in ETH)
MODELS: list[tuple[str, int, float, float]] = [
    ("NVIDIA GeForce RTX 4090", 24, 26.0, 0.00018),
    ("NVIDIA GeForce RTX 3090", 24, 15.0, 0.00009),
    ("NVIDIA GeForce RTX 4080", 16, 7.0, 0.00011),
    ("NVIDIA GeForce RTX 3080", 10, 6.0, 0.00005),
    ("NVIDIA RTX A6000", 48, 6.0, 0.00025),
    ("NVIDIA A100 80GB PCIe", 80, 6.0, 0.0006),
    ("NVIDIA A100 40GB SXM4", 40, 4.0, 0.0005),
    ("NVIDIA H100 80GB HBM3", 80, 4.0, 0.0011),
    ("NVIDIA Tesla T4", 16, 4.0, 0.00006),
    ("NVIDIA L40S", 48, 3.0, 0.0004),
    ("NVIDIA Tesla V100 32GB", 32, 3.0, 0.0001),
    ("NVIDIA GeForce RTX 5090", 32, 2.5, 0.00028),
    ("NVIDIA RTX 6000 Ada", 48, 2.0, 0.0003),
    ("AMD Instinct MI300X", 192, 1.0, 0.0012),
    ("NVIDIA H200 141GB", 141, 0.5, 0.0016),
    *[
        (f"{vendor} {name}", memory, 0.25, price)
        for vendor, name, memory, price in [
            ("NVIDIA", "GeForce RTX 3060", 12, 0.00003),
            ("NVIDIA", "GeForce RTX 3070", 8, 0.00004),
            ("NVIDIA", "GeForce RTX 4070 Ti", 12, 0.00006),
            ("NVIDIA", "GeForce RTX 4060", 8, 0.00003),
            ("NVIDIA", "GeForce GTX 1080 Ti", 11, 0.00002),
            ("NVIDIA", "Quadro RTX 8000", 48, 0.00015),
            ("NVIDIA", "Tesla P100", 16, 0.00003),
            ("NVIDIA", "A40", 48, 0.0002),
            ("NVIDIA", "A10G", 24, 0.00012),
            ("NVIDIA", "L4", 24, 0.0001),
            ("NVIDIA", "A30", 24, 0.00015),
            ("NVIDIA", "RTX A5000", 24, 0.00012),
            ("NVIDIA", "RTX A4000", 16, 0.00007),
            ("NVIDIA", "GH200 480GB", 96, 0.002),
            ("NVIDIA", "B200", 192, 0.003),
            ("AMD", "Instinct MI250X", 128, 0.0007),
            ("AMD", "Radeon RX 7900 XTX", 24, 0.00006),
            ("AMD", "Radeon PRO W7900", 48, 0.00012),
            ("Intel", "Data Center GPU Max 1550", 128, 0.0006),
            ("Intel", "Arc A770", 16, 0.00002),
        ]
    ],
]
#: GPUs per listing, and how often.
GPU_COUNTS = [(1, 70.0), (2, 14.0), (4, 10.0), (8, 6.0)]
#: price units (MINUTE, HOUR, DAY) and how often.
UNITS = [(0, 20.0), (1, 65.0), (2, 15.0)]
#: listing statuses (AVAILABLE, UNAVAILABLE, RENTED, REMOVED) and how often.
STATUSES = [(0, 80.0), (1, 7.0), (2, 10.0), (3, 3.0)]

#: the searches the benchmarks time, by name: broad ones first.
QUERIES: dict[str, str] = {
    "broad_price": "price_per_hour<=0.002eth sort=price_per_hour limit=20",
    "broad_capacity": "sort=-capacity,price_per_hour limit=20",
    "broad_rating": "capacity>=16 sort=-rating limit=20",
    "broad_cheap_4090": "model~4090 price_per_hour<=0.0003eth sort=price_per_hour limit=20",
    "narrow_h100": (
        "model~h100 capacity>=80 price_per_hour<=0.002eth rating>=4 sort=price_per_hour limit=20"
    ),
    "narrow_a100_long": "model~a100 unit=hour max_hours>=2d sort=-rating limit=20",
    "narrow_provider": "provider~abc sort=id limit=100",
}


@dataclass(frozen=True, slots=True)
class Terms:
    """One generated listing: what ``createListing`` takes, its provider and its status."""

    provider: int
    gpu_model: str
    capacity: int
    price: int
    unit: int
    min_duration: int
    max_duration: int
    status: int


def _pick(rng: random.Random, weighted: list[tuple[int, float]]) -> int:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def provider_weights(providers: int) -> list[float]:
    """Zipf shares: the biggest provider lists about 10% of the market, most list a few."""
    return [1 / (rank + 1) ** 1.07 for rank in range(providers)]


def listings(count: int, *, providers: int = 2000, seed: int = 7) -> list[Terms]:
    """``count`` listings shaped like a market."""
    rng = random.Random(seed)
    model_weights = [share for _, _, share, _ in MODELS]
    owners = rng.choices(range(providers), provider_weights(providers), k=count)
    found = []
    for owner in owners:
        name, memory, _, median = rng.choices(MODELS, model_weights)[0]
        gpus = _pick(rng, GPU_COUNTS)
        unit = _pick(rng, UNITS)
        hourly = median * gpus * math.exp(rng.gauss(0, 0.6))
        if rng.random() < 0.02:  # the long tail: priced far off the market, either way
            hourly *= 10 ** rng.uniform(-2, 2.5)
        per_unit = hourly * UNIT_SECONDS[unit] / 3600
        price = max(1, round(per_unit * 10**9)) * 10**9  # whole gwei
        unit_hours = UNIT_SECONDS[unit] / 3600
        max_hours = math.exp(rng.uniform(0, math.log(2000)))
        max_duration = max(1, round(max_hours / unit_hours))
        found.append(
            Terms(
                provider=owner,
                gpu_model=name,
                capacity=memory * gpus,
                price=price,
                unit=unit,
                min_duration=1,
                max_duration=max_duration,
                status=_pick(rng, STATUSES),
            )
        )
    return found


def ratings(count: int, *, providers: int = 2000, seed: int = 11) -> list[tuple[int, int]]:
    """``count`` (provider, score) ratings, mostly of big providers, mostly good."""
    rng = random.Random(seed)
    rated = rng.choices(range(providers), provider_weights(providers), k=count)
    scores = rng.choices([1, 2, 3, 4, 5], [5, 5, 10, 30, 50], k=count)
    return list(zip(rated, scores, strict=True))


def fill_chain(client: Any, count: int, *, per_block: int = 1000) -> None:
    """Create ``count`` market-shaped listings on an anvil node, from its unlocked accounts as
    providers (the big ones first), ``per_block`` transactions per mined block, sent as
    batched ``eth_sendTransaction`` requests: filling the chain is not what is measured."""
    import requests

    url = client.w3.provider.endpoint_uri
    rpc = client.w3.provider.make_request
    senders = list(client.accounts)
    nonces = {s: client.w3.eth.get_transaction_count(s) for s in senders}
    calldata = client.contract.encode_abi
    rpc("evm_setAutomine", [False])
    try:
        terms = listings(count, providers=len(senders))
        for first in range(0, count, per_block):
            batch = []
            for t in terms[first : first + per_block]:
                sender = senders[t.provider]
                args = [t.gpu_model, t.capacity, t.price, t.unit, t.min_duration, t.max_duration]
                tx = {
                    "from": sender,
                    "to": client.contract_address,
                    "data": calldata("createListing", args=args),
                    "gas": hex(300_000),
                    "nonce": hex(nonces[sender]),
                }
                nonces[sender] += 1
                batch.append(
                    {
                        "jsonrpc": "2.0",
                        "id": len(batch),
                        "method": "eth_sendTransaction",
                        "params": [tx],
                    }
                )
            answers = requests.post(url, json=batch, timeout=600).json()
            errors = [a["error"] for a in answers if "error" in a]
            assert not errors, errors[:3]
            rpc("evm_mine", [])
    finally:
        rpc("evm_setAutomine", [True])
    assert client.listing_count() >= count

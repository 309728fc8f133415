"""gpuhub.analytics over a large index: market() and earnings() on SQLite and PostgreSQL, beside
the same numbers computed with pandas from the raw rows.

    python bench/analytics.py [--listings 100000] [--rentals 1000000] [--postgres URL]
                              [--repeat 5] [--db FILE]

The index is generated, not synced (a chain with a million rentals would take the benchmark
days): rows go straight into the index's history tables, shaped as a sync of such a market
would leave them.

- ``gpuhub_listing_versions``: each listing's creation (AVAILABLE); one listing in ten
  repriced once, a few marked UNAVAILABLE for a while, one in twenty REMOVED after its last
  rental (rentals make no versions: the rentals table says when a listing was rented).
- ``gpuhub_rentals``: rentals back to back on their listings over the year before "now" (gaps of
  a few hours on average), 1 to 72 units each; 75 % settled at their end (some late), 15 %
  ended early by the renter, 5 % by the provider, and those still running at "now" active.
  Prices per model around a base (H100 2.5e15 wei per hour ...), a third of listings per
  minute, per hour or per day; a 2.5 % fee; 20,000 renters.
- ``gpuhub_ratings``: one rating in five of the completed rentals, and their sums per model in
  ``gpuhub_model_ratings``.
- Providers are skewed (a few hold many listings): ``earnings`` is timed for the provider with
  the most rentals and for a typical one.

Prints JSON: the row counts, the median of ``--repeat`` runs of ``market(index, window="30d")``
and ``earnings(index, provider, by="day")`` on each database, wall-clock and this process's CPU
time (target: at most 500 ms each on SQLite; on a shared machine the wall clock also counts the
wait for a core), pandas' time to load the raw rows and to compute the same result from them
(checked equal), and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from gpuhub import GPUHubClient, MarketIndex, analytics
from gpuhub.chain import embedded_web3
from gpuhub.index._schema import (
    OPEN_END,
    listing_versions,
    meta,
    model_ratings,
    money,
    money_value,
    ratings,
    rentals,
    wei,
)

NOW = 1_767_225_600  # 2026-01-01 00:00 UTC
YEAR = 365 * 86400
UNITS = (60, 3600, 86400)
MODELS = {
    "NVIDIA H100 SXM5 80GB": 25 * 10**14,
    "NVIDIA A100 80GB": 12 * 10**14,
    "AMD MI300X": 22 * 10**14,
    "NVIDIA L40S": 9 * 10**14,
    "NVIDIA RTX 4090": 4 * 10**14,
    "NVIDIA A10": 3 * 10**14,
    "NVIDIA RTX 3090": 2 * 10**14,
    "NVIDIA T4": 10**14,
}
FEE_BPS = 250
CHUNK = 20_000


def address(n: int) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(f"0x{(n * 0x9E3779B97F4A7C15 + 0xABC) % 2**160:040x}"))


def generate(
    listings: int, target_rentals: int, seed: int = 7
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Versions, rentals and ratings of a year of a market (see the module's docstring)."""
    rng = random.Random(seed)
    providers = [address(n) for n in range(max(10, listings // 20))]
    renters = [address(10**6 + n) for n in range(20_000)]
    names = list(MODELS)
    per_listing = target_rentals / listings
    versions: list[dict[str, Any]] = []
    made: list[dict[str, Any]] = []
    for listing_id in range(listings):
        provider = providers[int(len(providers) * rng.random() ** 3)]
        model = names[int(len(names) * rng.random() ** 1.5)]
        unit = rng.randrange(3)
        hourly = MODELS[model] * rng.uniform(0.6, 1.6)
        price = max(1, int(hourly * UNITS[unit] / 3600))
        t = NOW - YEAR + rng.randrange(30 * 86400)
        # (time, status on the provider's side, price): rentals are no versions
        state: list[tuple[int, int, int]] = [(t, 0, price)]
        repriced = rng.random() < 0.1
        average_gap = max(3600.0, YEAR / per_listing - 1.6 * 86400)
        while True:
            start = t + int(rng.expovariate(1 / average_gap)) + 1
            units = rng.randint(1, 72 * 3600 // UNITS[unit] if unit < 2 else 3)
            end = start + units * UNITS[unit]
            if start >= NOW:
                break
            if repriced and rng.random() < 0.2:
                price = max(1, int(price * rng.uniform(0.7, 1.3)))
                state.append((start - 1, 0, price))
                repriced = False
            fate = rng.random()
            if end > NOW:
                status, stop, ended_at = 0, end, None
            elif fate < 0.75:
                status, stop, ended_at = 3, end, end + int(rng.expovariate(1 / 1800))
            elif fate < 0.9:
                status, stop = 1, start + rng.randrange(1, end - start)
                ended_at = stop
            else:
                status, stop = 2, start + rng.randrange(1, end - start)
                ended_at = stop
            if ended_at is not None and ended_at >= NOW:
                status, stop, ended_at = 0, end, None
            paid = price * units
            billed = min(price * (stop - start) // UNITS[unit], paid) if ended_at else 0
            fee = billed * FEE_BPS // 10_000
            made.append(
                {
                    "listing_id": listing_id,
                    "renter": renters[rng.randrange(len(renters))],
                    "provider": provider,
                    "start": start,
                    "end": stop,
                    "price": wei(price),
                    "unit": unit,
                    "paid": wei(paid),
                    "fee_bps": FEE_BPS,
                    "status": status,
                    "model": model,
                    **money("price_per_day", price * 86400 // UNITS[unit]),
                    **money("billed", billed),
                    **money("fee", fee),
                    **money("refund", paid - billed if ended_at else 0),
                    "ended_at": ended_at,
                }
            )
            if ended_at is None:
                break
            t = ended_at
            if rng.random() < 0.05 / max(1.0, per_listing):
                state.append((t + 1, 1, price))
                t += rng.randrange(86400, 10 * 86400)
                state.append((t, 0, price))
        running = bool(made) and made[-1]["listing_id"] == listing_id and not made[-1]["ended_at"]
        if rng.random() < 0.05 and not running and state[-1][1] == 0 and t + 86400 < NOW:
            state.append((t + 86400, 3, price))
        for position, (at, status, cost) in enumerate(state):
            until = state[position + 1][0] if position + 1 < len(state) else OPEN_END
            versions.append(
                {
                    "listing_id": listing_id,
                    "provider": provider,
                    "model": model,
                    "capacity": 80,
                    "unit": unit,
                    **money("price_per_day", cost * 86400 // UNITS[unit]),
                    "status": status,
                    "start": at,
                    "end": until,
                }
            )
    made.sort(key=lambda r: r["start"])
    for rental_id, row in enumerate(made):
        row["id"] = rental_id
    versions.sort(key=lambda v: (v["start"], v["listing_id"]))
    for position, row in enumerate(versions):
        row["id"] = row["start"] * 2**24 + position % 2**24
    rated = []
    for row in made:
        if row["status"] in (1, 3) and rng.random() < 0.2:
            rated.append(
                {
                    "id": row["id"] * 2 + 1,
                    "rental_id": row["id"],
                    "rater": row["renter"],
                    "ratee": row["provider"],
                    "role": 1,
                    "score": rng.randint(1, 5),
                    "billed": wei(money_value(row, "billed")),
                    "comment": "",
                    "block": 1,
                    "time": row["ended_at"],
                    "model": row["model"],
                    "weight": money_value(row, "billed") // 10**12,
                }
            )
    return versions, made, rated


def fill(index: MarketIndex, rows: tuple[list[Any], list[Any], list[Any]]) -> None:
    """Insert the generated rows, and set the index's height and time to "now"."""
    versions, made, rated = rows
    totals: dict[str, dict[str, Any]] = {}
    for rating in rated:
        total = totals.setdefault(
            rating["model"],
            {"model": rating["model"], "ratings": 0, "weighted_sum": 0, "weight": 0},
        )
        total["ratings"] += 1
        total["weighted_sum"] += rating["score"] * rating["weight"]
        total["weight"] += rating["weight"]
    engine = index._engine
    with engine.begin() as db:
        for table, values in (
            (listing_versions, versions),
            (rentals, made),
            (ratings, rated),
            (model_ratings, list(totals.values())),
        ):
            for at in range(0, len(values), CHUNK):
                db.execute(insert(table), values[at : at + CHUNK])
        db.execute(meta.update().where(meta.c.key == "synced_time").values(value=str(NOW - 1)))
        db.execute(meta.update().where(meta.c.key == "synced_block").values(value="1"))
    index._analyze()
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: the visibility map lets PostgreSQL read
        # the covering indexes alone (index-only scans) instead of visiting each row.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            for table in (listing_versions, rentals, ratings, model_ratings):
                db.exec_driver_sql(f"VACUUM ANALYZE {table.name}")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median of ``repeat`` runs of ``fn``, in milliseconds, and its last result."""
    times, _, result = timed_both(fn, repeat)
    return times, result


def timed_both(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """The medians of ``repeat`` runs of ``fn``: wall-clock and this process's CPU time, in
    milliseconds (on a busy machine the wall clock also counts the wait for a core), and the
    last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return round(statistics.median(walls), 1), round(statistics.median(cpus), 1), result


# ---------------------------------------------------------------------- pandas from raw rows


def _parts(name: str) -> str:
    return f"{name}_2, {name}_1, {name}_0"


def raw_frames(index: MarketIndex, lo: int) -> tuple[Any, Any, Any]:
    """The rows the market statistics need, read into DataFrames as they are stored."""
    import pandas as pd

    with index._engine.connect() as db:
        versions = pd.read_sql(
            text(
                f'SELECT listing_id, model, status, {_parts("price_per_day")}, start, "end" '
                'FROM gpuhub_listing_versions WHERE "end" > :lo'
            ),
            db,
            params={"lo": lo},
        )
        made = pd.read_sql(
            text(
                f'SELECT id, listing_id, model, start, "end", {_parts("price_per_day")}, '
                f"{_parts('billed')}, ended_at FROM gpuhub_rentals "
                'WHERE "end" > :lo OR start >= :lo OR ended_at >= :lo OR ended_at IS NULL'
            ),
            db,
            params={"lo": lo},
        )
        rated = pd.read_sql(
            text("SELECT score, weight, time, model FROM gpuhub_ratings WHERE role = 1"), db
        )
    return versions, made, rated


def _amounts(frame: Any, name: str) -> list[int]:
    """The amount ``name`` of each row, as Python ints from its three parts."""
    base = 10**12
    return [
        (int(a) * base + int(b)) * base + int(c)
        for a, b, c in zip(frame[f"{name}_2"], frame[f"{name}_1"], frame[f"{name}_0"], strict=True)
    ]


def pandas_market(versions: Any, made: Any, rated: Any, lo: int, hi: int) -> dict[str, Any]:
    """analytics.market's numbers per model, with pandas (money as Python ints)."""
    at = hi - 1
    out: dict[str, dict[str, Any]] = {}
    ended = made["ended_at"]
    busy = set(made.loc[(made["start"] <= at) & (ended.isna() | (ended > at)), "listing_id"])
    now = versions[(versions["start"] <= at) & (versions["end"] > at)]
    free = now[(now["status"] == 0) & ~now["listing_id"].isin(busy)]
    for model, rows in now.groupby("model"):
        entry = out.setdefault(str(model), {})
        entry["listings"] = int((rows["status"] != 3).sum())
    for model, rows in free.groupby("model"):
        out[str(model)]["available"] = len(rows)
        out[str(model)]["ask"] = _prices(sorted(_amounts(rows, "price_per_day")))
    live = versions[(versions["status"] != 3) & (versions["start"] < hi)]
    inside = (live["end"].clip(upper=hi) - live["start"].clip(lower=lo)).clip(lower=0)
    for model, seconds in inside.groupby(live["model"]).sum().items():
        out.setdefault(str(model), {})["listed_seconds"] = int(seconds)
    started = made[(made["start"] >= lo) & (made["start"] < hi)]
    for model, rows in started.groupby("model"):
        entry = out.setdefault(str(model), {})
        entry["rentals"] = len(rows)
        entry["realized"] = _prices(sorted(_amounts(rows, "price_per_day")))
    running = made[made["start"] < hi]
    used = (running["end"].clip(upper=hi) - running["start"].clip(lower=lo)).clip(lower=0)
    for model, seconds in used.groupby(running["model"]).sum().items():
        out.setdefault(str(model), {})["rented_seconds"] = int(seconds)
    done = made[(ended >= lo) & (ended < hi)]
    for model, rows in done.groupby("model"):
        out.setdefault(str(model), {})["volume"] = sum(_amounts(rows, "billed"))
    scored = rated[rated["time"] < hi]
    for model, rows in scored.groupby("model"):
        total = int(rows["weight"].sum())
        out.setdefault(str(model), {})["rating"] = (
            int((rows["score"] * rows["weight"]).sum()) / total if total else None
        )
    return out


def _prices(values: list[int]) -> dict[str, int] | None:
    if not values:
        return None
    ranks = {"min": 0, "p10": 10, "p25": 25, "median": 50, "p75": 75, "p90": 90, "max": 100}
    found = {
        k: values[max(1, math.ceil(p * len(values) / 100)) - 1] // 24 for k, p in ranks.items()
    }
    found["mean"] = sum(values) // (24 * len(values))
    return found


def same_market(sql: Any, mine: dict[str, Any]) -> bool:
    """True when the pandas numbers equal analytics.market's."""
    frame = sql.frame
    for position, model in enumerate(frame["model"]):
        got = mine[model]
        row = {c: frame[c].iloc[position] for c in frame.columns}
        for name in ("min", "median", "p90", "max", "mean"):
            for block in ("ask", "realized"):
                want = got.get(block)
                if row[f"{block}_{name}"] != (None if want is None else want[name]):
                    return False
        for column in ("listings", "available", "listed_seconds", "rented_seconds", "volume"):
            if row[column] != got.get(column, 0):
                return False
    return True


def raw_provider(index: MarketIndex, provider: str) -> Any:
    """A provider's rentals as stored, in a DataFrame."""
    import pandas as pd

    with index._engine.connect() as db:
        return pd.read_sql(
            text(
                f"SELECT ended_at, {_parts('billed')}, {_parts('fee')}, {_parts('refund')} "
                "FROM gpuhub_rentals WHERE provider = :provider"
            ),
            db,
            params={"provider": provider},
        )


def pandas_earnings(made: Any, hi: int) -> dict[int, tuple[int, int, int]]:
    """Per day: a provider's rentals ended in it, their billed wei and fees, with pandas."""
    mine = made[made["ended_at"].notna() & (made["ended_at"] < hi)]
    days = (mine["ended_at"] // 86400 * 86400).astype("int64")
    out = {}
    for day, rows in mine.groupby(days):
        out[int(day)] = (len(rows), sum(_amounts(rows, "billed")), sum(_amounts(rows, "fee")))
    return out


# ---------------------------------------------------------------------- the run


def bench(url: str, rows: Any, repeat: int, client: GPUHubClient) -> dict[str, Any]:
    index = MarketIndex.rebuild(client, url)
    start = time.perf_counter()
    fill(index, rows)
    report: dict[str, Any] = {"fill_s": round(time.perf_counter() - start, 1)}
    made = rows[1]
    counts: dict[str, int] = {}
    for row in made:
        counts[row["provider"]] = counts.get(row["provider"], 0) + 1
    ranked = sorted(counts, key=counts.__getitem__)
    top, typical = ranked[-1], ranked[len(ranked) // 2]
    market_ms, market_cpu, stats = timed_both(lambda: analytics.market(index, window="30d"), repeat)
    report["market_ms"] = market_ms
    report["market_cpu_ms"] = market_cpu
    report["market_models"] = len(stats)
    for name, provider in (("top", top), ("typical", typical)):
        ms, cpu, _ = timed_both(lambda p=provider: analytics.earnings(index, p, by="day"), repeat)
        report[f"earnings_{name}_provider_ms"] = ms
        report[f"earnings_{name}_provider_cpu_ms"] = cpu
        report[f"earnings_{name}_provider_rentals"] = counts[provider]
    lo, hi = stats.start, stats.end
    load_ms, frames = timed(lambda: raw_frames(index, lo), 1)
    compute_ms, mine = timed(lambda: pandas_market(*frames, lo, hi), 1)
    report["pandas_market"] = {
        "load_rows_ms": load_ms,
        "compute_ms": compute_ms,
        "rows": [len(f) for f in frames],
        "equal": same_market(stats, mine),
        "ratio_to_sql": round((load_ms + compute_ms) / market_ms, 1),
    }
    load_ms, raw = timed(lambda: raw_provider(index, top), 1)
    compute_ms, earned_rows = timed(lambda: pandas_earnings(raw, hi), 1)
    sql_earned = analytics.earnings(index, top, by="day").frame
    sql_rows = {
        int(t.timestamp()): (int(n), int(b), int(f))
        for t, n, b, f in zip(
            sql_earned["period"],
            sql_earned["rentals"],
            sql_earned["billed"],
            sql_earned["fees"],
            strict=True,
        )
        if n
    }
    report["pandas_earnings_top_provider"] = {
        "load_rows_ms": load_ms,
        "compute_ms": compute_ms,
        "rows": len(raw),
        "equal": sql_rows == earned_rows,
        "ratio_to_sql": round((load_ms + compute_ms) / report["earnings_top_provider_ms"], 1),
    }
    index.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--rentals", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", help="also run on this PostgreSQL database URL")
    parser.add_argument("--db", help="the SQLite file (default: a temporary one)")
    args = parser.parse_args()
    w3 = embedded_web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    start = time.perf_counter()
    rows = generate(args.listings, args.rentals)
    report: dict[str, Any] = {
        "listings": args.listings,
        "rentals": len(rows[1]),
        "versions": len(rows[0]),
        "ratings": len(rows[2]),
        "generate_s": round(time.perf_counter() - start, 1),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    folder = Path(tempfile.mkdtemp(prefix="gpuhub-bench-"))
    path = args.db or str(folder / "analytics.db")
    report["sqlite"] = bench(f"sqlite:///{path}", rows, args.repeat, client)
    report["sqlite"]["target_ms"] = 500
    if args.postgres:
        report["postgresql"] = bench(args.postgres, rows, args.repeat, client)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))
    for leftover in _files(folder):
        leftover.unlink()


def _files(folder: Path) -> Iterator[Path]:
    yield from (p for p in folder.iterdir() if p.is_file())


if __name__ == "__main__":
    main()

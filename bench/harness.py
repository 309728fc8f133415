"""What the benchmarks share: percentiles, the load average beside each figure, `gpuhub serve`
started as a process (from this checkout or another one's sources), its CPU and peak memory.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

from gpuhub.chain import free_port

ROOT = Path(__file__).resolve().parent.parent


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, printed beside each figure: the machine is shared."""
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(samples: list[float]) -> dict[str, float]:
    """p50 and p99 of ``samples`` (seconds) in milliseconds."""
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 3),
        "p99_ms": round(percentile(samples, 0.99) * 1000, 3),
    }


def source_env(src: str | None) -> dict[str, str]:
    """The environment of a process that imports gpuhub from ``src`` (another checkout's
    ``src`` folder, to measure it beside this one) or from this checkout."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@contextlib.contextmanager
def serve(
    rpc: str,
    contract: str,
    *,
    src: str | None = None,
    args: tuple[str, ...] = (),
    ready_timeout: float = 600.0,
) -> Iterator[tuple[str, psutil.Process]]:
    """``gpuhub serve`` over ``rpc`` on a free port, once ``/health`` answers (it may sync an
    index first); yields its URL and process, and stops it after."""
    port = free_port()
    env = {**source_env(src), "GPUHUB_API_KEY": "bench"}
    command = [sys.executable, "-m", "gpuhub", "serve", "--rpc", rpc, "--contract", contract]
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed once the server has stopped)
    process = subprocess.Popen(
        [*command, "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        cwd=ROOT if src is None else Path(src).parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            if process.poll() is not None:
                log.seek(0)
                said = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"gpuhub serve exited with {process.returncode}: {said}")
            if time.monotonic() > deadline:
                raise RuntimeError("gpuhub serve did not start")
            time.sleep(0.2)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def cpu_share(process: psutil.Process, seconds: float) -> float:
    """The share of one core ``process`` (all its threads) used over ``seconds``, in percent."""
    before = process.cpu_times()
    start = time.monotonic()
    time.sleep(seconds)
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return round(100 * used / (time.monotonic() - start), 2)


def peak_rss_mb(process: psutil.Process) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc")


def rss_mb(process: psutil.Process) -> float:
    return round(process.memory_info().rss / 2**20, 1)


def report(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the benchmark's name and the load average when it ended."""
    return {"benchmark": name, "load_average_end": load_average(), **payload}

"""Running the provider's start and stop hooks: one command line, a timeout, its output.

A hook is the provider's own program (a script that starts a container, adds a user, ...). It
runs without a shell (the command line is split as a shell would, then executed directly), in
its own process group so that a timeout kills whatever it started in the foreground too, with
the rental described in ``GPUHUB_*`` environment variables. Its standard output, trimmed, is what
the renter receives (start hook); its standard error goes to the agent's log.
"""

from __future__ import annotations

import contextlib
import os
import random
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

#: the most of a hook's stdout and stderr kept (the rest is dropped, not buffered forever).
OUTPUT_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class HookResult:
    """How one run of a hook went."""

    #: True when it exited with status 0 within its timeout.
    ok: bool
    #: its standard output, trimmed (the access details, for a start hook).
    output: str
    #: what went wrong, for the log: the exit status and the end of its standard error, or the
    #: timeout; empty when ``ok``.
    error: str
    #: seconds it ran.
    seconds: float


def run_hook(command: str, env: Mapping[str, str], *, timeout: float) -> HookResult:
    """Run ``command`` with ``env`` added to this process's environment, for at most
    ``timeout`` seconds.

    The ``GPUHUB_*`` variables of this process are not passed on (the account's key or its
    keystore password may be among them): the hook sees only those in ``env``.

    Never raises for the hook's own failures (missing program, non-zero exit, timeout): they
    come back as a result that is not ``ok``.
    """
    began = time.monotonic()
    # Files, not pipes: a daemon the hook leaves running (sshd, say) inherits its output and
    # would hold a pipe open, so waiting for the pipe's end would wait for the daemon.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                shlex.split(command),
                env={**_inherited(), **env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except (OSError, ValueError) as exc:
            return HookResult(ok=False, output="", error=f"cannot start: {exc}", seconds=0.0)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait()
            return HookResult(
                ok=False,
                output="",
                error=f"no exit within {timeout:g} s: killed",
                seconds=time.monotonic() - began,
            )
        seconds = time.monotonic() - began
        text = _read(out, head=True)
        if status != 0:
            tail = _read(err, head=False)[-500:]
            return HookResult(
                ok=False,
                output=text,
                error=f"exit status {status}" + (f": {tail}" if tail else ""),
                seconds=seconds,
            )
        return HookResult(ok=True, output=text, error="", seconds=seconds)


def _inherited() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("GPUHUB_")}


def _read(file: IO[bytes], *, head: bool) -> str:
    """The first (or last) OUTPUT_LIMIT bytes written to ``file``, decoded and trimmed."""
    size = file.seek(0, os.SEEK_END)
    file.seek(0 if head else max(0, size - OUTPUT_LIMIT))
    return file.read(OUTPUT_LIMIT).decode("utf-8", errors="replace").strip()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry): doubling from
    ``base`` up to ``cap``, with +-20 % jitter so that many failing rentals do not retry in
    step."""
    delay: float = min(cap, base * 2 ** (attempt - 1))
    return delay * random.uniform(0.8, 1.2)

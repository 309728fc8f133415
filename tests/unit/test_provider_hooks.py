"""Running hooks: output, failures and timeouts come back as results, never as exceptions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gpuhub.provider._hooks import backoff, run_hook


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "hook.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_output_and_environment(tmp_path: Path) -> None:
    """A hook sees the rental in its environment; its trimmed stdout is the result."""
    hook = script(tmp_path, 'echo "  ssh -p 2222 user@host rental=$GPUHUB_RENTAL_ID  "\n')
    result = run_hook(hook, {"GPUHUB_RENTAL_ID": "7"}, timeout=10)
    assert (result.ok, result.output, result.error) == (True, "ssh -p 2222 user@host rental=7", "")


def test_failure_reports_status_and_stderr(tmp_path: Path) -> None:
    """A non-zero exit is a failed result with the status and the end of stderr."""
    hook = script(tmp_path, "echo 'docker: no such image' >&2\nexit 3\n")
    result = run_hook(hook, {}, timeout=10)
    assert not result.ok
    assert result.error == "exit status 3: docker: no such image"


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    """A hook that hangs is killed at its timeout, children included."""
    marker = tmp_path / "child-alive"
    hook = script(tmp_path, f"(sleep 2; touch {marker}) &\nsleep 30\n")
    began = time.monotonic()
    result = run_hook(hook, {}, timeout=0.5)
    assert not result.ok and "no exit within 0.5 s" in result.error
    assert time.monotonic() - began < 5
    time.sleep(2.5)
    assert not marker.exists()


def test_daemon_left_running_does_not_block(tmp_path: Path) -> None:
    """A hook that leaves a background process holding its output returns when it exits."""
    hook = script(tmp_path, "sleep 5 &\necho ready\n")
    began = time.monotonic()
    result = run_hook(hook, {}, timeout=4)
    assert (result.ok, result.output) == (True, "ready")
    assert time.monotonic() - began < 3


def test_missing_program(tmp_path: Path) -> None:
    """A hook that cannot start is a failed result saying so."""
    result = run_hook(str(tmp_path / "nope.sh"), {}, timeout=1)
    assert not result.ok and result.error.startswith("cannot start")


def test_backoff_doubles_to_a_cap() -> None:
    """Retries wait about base, 2 base, 4 base ... never more than the cap (+20 % jitter)."""
    waits = [backoff(n, base=1.0, cap=8.0) for n in range(1, 7)]
    for wait, expected in zip(waits, [1, 2, 4, 8, 8, 8], strict=True):
        assert 0.8 * expected <= wait <= 1.2 * expected


def test_secrets_in_environment_not_passed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's own GPUHUB_* variables (its account key) never reach a hook."""
    monkeypatch.setenv("GPUHUB_PRIVATE_KEY", "0x" + "ab" * 32)
    monkeypatch.setenv("OTHER_SETTING", "kept")
    hook = script(tmp_path, 'echo "key=${GPUHUB_PRIVATE_KEY:-none} other=$OTHER_SETTING"\n')
    result = run_hook(hook, {"GPUHUB_RENTAL_ID": "1"}, timeout=10)
    assert result.output == "key=none other=kept"

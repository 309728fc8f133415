"""The provider self-test: each failed check is named, with what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gpuhub.provider import Check, self_test


@pytest.fixture
def hook(tmp_path: Path) -> str:
    """An executable start hook script."""
    script = tmp_path / "start.sh"
    script.write_text("#!/bin/sh\necho ssh -p 2222 renter@host\n")
    script.chmod(0o755)
    return str(script)


def failures(checks: list[Check]) -> dict[str, str]:
    return {c.name: c.detail for c in checks if not c.ok}


def test_healthy_machine_passes(fake_nvidia_smi: Callable[..., str], hook: str) -> None:
    """One healthy GPU and a runnable hook: every check passes."""
    checks = self_test(
        start_hook=hook, nvml=False, nvidia_smi=fake_nvidia_smi("one-gpu-rtx4090.xml")
    )
    assert failures(checks) == {}
    assert [c.name for c in checks] == [
        "driver",
        "GPUs",
        "GPU 0 memory",
        "GPU 0 ECC",
        "start hook",
    ]


def test_ecc_errors_fail(fake_nvidia_smi: Callable[..., str], hook: str) -> None:
    """The GPU with uncorrectable ECC errors fails its check, and only that one."""
    checks = self_test(
        start_hook=hook, nvml=False, nvidia_smi=fake_nvidia_smi("eight-gpu-h100.xml")
    )
    failed = failures(checks)
    assert list(failed) == ["GPU 5 ECC"]
    assert "2 uncorrectable ECC errors" in failed["GPU 5 ECC"]
    assert "nvidia-smi -r -i 5" in failed["GPU 5 ECC"]


def test_mig_fails(fake_nvidia_smi: Callable[..., str], hook: str) -> None:
    """A card split by MIG fails its memory check: no renter would get it whole."""
    checks = self_test(start_hook=hook, nvml=False, nvidia_smi=fake_nvidia_smi("mig-a100.xml"))
    failed = failures(checks)
    assert list(failed) == ["GPU 0 memory"]
    assert "MIG is on" in failed["GPU 0 memory"]


def test_driver_failure(fake_nvidia_smi: Callable[..., str], hook: str) -> None:
    """A driver that does not answer fails the driver check with nvidia-smi's message."""
    command = fake_nvidia_smi("driver-not-loaded.txt", status=9)
    failed = failures(self_test(start_hook=hook, nvml=False, nvidia_smi=command))
    assert list(failed) == ["driver"]
    assert "couldn't communicate" in failed["driver"]


def test_no_hook(fake_nvidia_smi: Callable[..., str]) -> None:
    """No start hook configured fails the hook check."""
    checks = self_test(
        start_hook=None, nvml=False, nvidia_smi=fake_nvidia_smi("one-gpu-rtx4090.xml")
    )
    assert list(failures(checks)) == ["start hook"]


def test_hook_not_executable(fake_nvidia_smi: Callable[..., str], tmp_path: Path) -> None:
    """A hook script without its execute bit fails, saying chmod +x."""
    script = tmp_path / "start.sh"
    script.write_text("#!/bin/sh\n")
    checks = self_test(
        start_hook=f"{script} --port 2222",
        nvml=False,
        nvidia_smi=fake_nvidia_smi("one-gpu-rtx4090.xml"),
    )
    assert "chmod +x" in failures(checks)["start hook"]


def test_listing_capacity_mismatch(fake_nvidia_smi: Callable[..., str], hook: str) -> None:
    """A listing that states another memory size than the GPU reports fails."""
    checks = self_test(
        start_hook=hook,
        listed={"GPU-3b5e7d1a-92c4-4f0e-8a61-d2c9b7e40f13": 48},
        nvml=False,
        nvidia_smi=fake_nvidia_smi("one-gpu-rtx4090.xml"),
    )
    assert "listed with 48 GB but the GPU reports 24 GB" in failures(checks)["GPU 0 listing"]

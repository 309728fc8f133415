"""The self-test a provider runs before listing anything (``gpuhub provider check``)."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..exceptions import GPUDetectionError
from ._detect import GPU, detect_gpus


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One self-test check and its outcome."""

    #: what was checked: "driver", "GPU 0 memory", "start hook", ...
    name: str
    #: True when it passed.
    ok: bool
    #: what was seen, and on a failure what to do.
    detail: str


def self_test(
    *,
    start_hook: str | None,
    listed: Mapping[str, int] | None = None,
    nvml: bool = True,
    nvidia_smi: str | None = "nvidia-smi",
) -> list[Check]:
    """Check that this machine can serve rentals: the driver answers, each GPU reports its
    memory whole (MIG off) and no uncorrectable ECC errors, its listing (if any) states that
    memory, and the start hook can be run.

    Args:
        start_hook: the start hook command line (None: none configured, which fails).
        listed: GPU UUID -> the capacity (GB) its listing states, for GPUs already published.
        nvml: try NVML first (as for :func:`detect_gpus`).
        nvidia_smi: the nvidia-smi command to fall back on (as for :func:`detect_gpus`).

    Returns:
        Every check in order; the machine passes when all are ``ok``.
    """
    checks: list[Check] = []
    try:
        gpus = detect_gpus(nvml=nvml, nvidia_smi=nvidia_smi)
    except GPUDetectionError as exc:
        checks.append(Check(name="driver", ok=False, detail=str(exc)))
        gpus = ()
    else:
        version = gpus[0].driver_version if gpus else "answering"
        cuda = f", CUDA {gpus[0].cuda_version}" if gpus and gpus[0].cuda_version else ""
        checks.append(Check(name="driver", ok=True, detail=f"driver {version}{cuda}"))
        checks.append(
            Check(
                name="GPUs",
                ok=bool(gpus),
                detail=f"{len(gpus)} found"
                if gpus
                else "the driver sees no GPU: check `nvidia-smi -L` and the kernel log",
            )
        )
    for gpu in gpus:
        checks.extend(gpu_checks(gpu, listed=(listed or {}).get(gpu.uuid)))
    checks.append(hook_check(start_hook))
    return checks


def gpu_checks(gpu: GPU, *, listed: int | None = None) -> list[Check]:
    """The checks of one GPU: memory reported and whole, its listing's capacity, ECC."""
    label = f"GPU {gpu.index}"
    checks = [_memory_check(label, gpu)]
    if listed is not None:
        checks.append(
            Check(
                name=f"{label} listing",
                ok=listed == gpu.capacity_gb,
                detail=f"listed with {listed} GB, as the GPU reports"
                if listed == gpu.capacity_gb
                else f"listed with {listed} GB but the GPU reports {gpu.capacity_gb} GB: "
                "run `gpuhub provider publish` to correct the listing",
            )
        )
    checks.append(_ecc_check(label, gpu))
    return checks


def _memory_check(label: str, gpu: GPU) -> Check:
    name = f"{label} memory"
    if gpu.memory_mib <= 0:
        return Check(name=name, ok=False, detail="reports no memory: the GPU may be failing")
    if gpu.mig_enabled:
        sizes = ", ".join(f"{m.memory_mib} MiB" for m in gpu.mig_devices) or "no instances"
        return Check(
            name=name,
            ok=False,
            detail=f"MIG is on ({sizes}), so no renter gets the whole {gpu.capacity_gb} GB: "
            f"turn it off with `nvidia-smi -i {gpu.index} -mig 0` (then reset the GPU)",
        )
    return Check(
        name=name, ok=True, detail=f"{gpu.memory_mib} MiB ({gpu.capacity_gb} GB), {gpu.name}"
    )


def _ecc_check(label: str, gpu: GPU) -> Check:
    name = f"{label} ECC"
    if gpu.ecc_errors is None:
        return Check(name=name, ok=True, detail="no ECC counters on this card (not reported)")
    if gpu.ecc_errors == 0:
        return Check(name=name, ok=True, detail="no uncorrectable errors since the driver loaded")
    return Check(
        name=name,
        ok=False,
        detail=f"{gpu.ecc_errors} uncorrectable ECC errors since the driver loaded: a renter's "
        f"job could crash or compute wrong results; drain the GPU, reset it "
        f"(`nvidia-smi -r -i {gpu.index}`) and check again",
    )


def hook_check(command: str | None, *, name: str = "start hook") -> Check:
    """Whether the hook command line names a program this user can run."""
    if not command or not command.strip():
        return Check(
            name=name,
            ok=False,
            detail=f"no {name} configured: set it in the provider profile "
            "(`gpuhub provider run --start-hook ...`)",
        )
    try:
        program = shlex.split(command)[0]
    except ValueError as exc:
        return Check(name=name, ok=False, detail=f"the command line does not parse: {exc}")
    found = shutil.which(program)
    if found is None or not os.access(found, os.X_OK):
        return Check(
            name=name,
            ok=False,
            detail=f"{program!r} is not an executable file on PATH (chmod +x it, or give its path)",
        )
    return Check(name=name, ok=True, detail=f"runs {found}")


def failed(checks: Sequence[Check]) -> list[Check]:
    """The checks that did not pass."""
    return [c for c in checks if not c.ok]

"""Finding the machine's NVIDIA GPUs: NVML first, ``nvidia-smi -q -x`` when NVML cannot load.

NVML (through nvidia-ml-py) is what ``nvidia-smi`` itself reads; the XML path is there for hosts
where the Python bindings cannot find ``libnvidia-ml.so.1`` but the tool works (containers that
mount only the binary, say). Both paths give the same frozen :class:`GPU` values.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import GPUDetectionError

#: seconds ``nvidia-smi -q -x`` may take; it stalls for tens of seconds on a GPU that is falling
#: off the bus, and detection must not hang the agent with it.
NVIDIA_SMI_TIMEOUT = 60.0
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class MigDevice:
    """One MIG instance of a GPU split by Multi-Instance GPU."""

    #: position among the GPU's MIG devices, as nvidia-smi numbers them.
    index: int
    #: the GPU instance and compute instance it is made of.
    gpu_instance_id: int
    compute_instance_id: int
    #: its share of the GPU's memory, MiB.
    memory_mib: int
    #: "MIG-..." where NVML reports it (nvidia-smi's XML does not).
    uuid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GPU:
    """One NVIDIA GPU as the driver reports it.

    Example::

        >>> from gpuhub.provider import detect_gpus
        >>> for gpu in detect_gpus():
        ...     print(gpu.uuid, gpu.name, gpu.capacity_gb, "GB")
        GPU-3b5e7d1a-... NVIDIA GeForce RTX 4090 24 GB
    """

    #: the driver's index (``nvidia-smi -i``), in PCI bus order.
    index: int
    #: the product name, "NVIDIA H100 80GB HBM3".
    name: str
    #: "GPU-..." : stable across reboots and slots; the agent keys its listings by it.
    uuid: str
    #: total framebuffer memory, MiB, as the driver reports it ("81559 MiB" on an H100 80GB).
    memory_mib: int
    #: the driver's version, "535.129.03".
    driver_version: str
    #: the highest CUDA version the driver supports, "12.2"; None where not reported.
    cuda_version: str | None = None
    #: PCI bus id, "00000000:18:00.0".
    pci_bus_id: str = ""
    #: GPU utilization in percent over the driver's last sample; None where not reported (MIG).
    utilization_percent: int | None = None
    #: core temperature in degrees Celsius; None where not reported.
    temperature_c: int | None = None
    #: uncorrectable ECC errors since the driver loaded (volatile counters, DRAM and SRAM);
    #: None where the card keeps no counters (GeForce cards, ECC off, or under MIG).
    ecc_errors: int | None = None
    #: True when Multi-Instance GPU is on: the card is split and no one process sees it whole.
    mig_enabled: bool = False
    #: the MIG instances when ``mig_enabled``.
    mig_devices: tuple[MigDevice, ...] = field(default=())

    @property
    def capacity_gb(self) -> int:
        """Memory in whole GiB, rounded to nearest, as a listing's ``capacity`` says it: 80 for
        an H100 80GB (81559 MiB), 24 for an RTX 4090 (24564 MiB)."""
        return (self.memory_mib + 512) // 1024


def detect_gpus(*, nvml: bool = True, nvidia_smi: str | None = "nvidia-smi") -> tuple[GPU, ...]:
    """The machine's NVIDIA GPUs, in index order.

    Args:
        nvml: try NVML (nvidia-ml-py) first.
        nvidia_smi: the ``nvidia-smi`` command run when NVML cannot be used (a name looked up on
            PATH, or a path); None: do not run it.

    Returns:
        One :class:`GPU` per device; empty when the driver works and sees no GPU.

    Raises:
        GPUDetectionError: neither NVML nor nvidia-smi could be used; the message says what each
            answered and what to do.
    """
    tried: list[str] = []
    if nvml:
        try:
            return _from_nvml()
        except _Unavailable as exc:
            tried.append(f"NVML: {exc}")
    if nvidia_smi is not None:
        try:
            return _from_nvidia_smi(nvidia_smi)
        except _Unavailable as exc:
            tried.append(f"nvidia-smi: {exc}")
    if not tried:
        raise GPUDetectionError("no detection method enabled: allow NVML or nvidia-smi")
    raise GPUDetectionError(
        "no NVIDIA GPU could be read ("
        + "; ".join(tried)
        + "): install the NVIDIA driver and check that `nvidia-smi` works on this machine"
    )


class _Unavailable(Exception):
    """One detection path could not be used; the message says why."""


# ---------------------------------------------------------------------------------- NVML


def _from_nvml() -> tuple[GPU, ...]:
    try:
        import pynvml
    except ImportError as exc:
        raise _Unavailable(
            "nvidia-ml-py is not installed (pip install 'gpuhub-eth[provider]')"
        ) from exc
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise _Unavailable(str(exc)) from exc
    try:
        driver = str(pynvml.nvmlSystemGetDriverVersion())
        cuda = _nvml_optional(lambda: _cuda_version(pynvml.nvmlSystemGetCudaDriverVersion()))
        count = pynvml.nvmlDeviceGetCount()
        return tuple(_nvml_gpu(pynvml, i, driver, cuda) for i in range(count))
    except pynvml.NVMLError as exc:
        raise _Unavailable(str(exc)) from exc
    finally:
        _nvml_optional(pynvml.nvmlShutdown)


def _nvml_gpu(pynvml: Any, index: int, driver: str, cuda: str | None) -> GPU:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    mig = _nvml_optional(lambda: pynvml.nvmlDeviceGetMigMode(handle)[0])
    mig_enabled = mig == pynvml.NVML_DEVICE_MIG_ENABLE
    return GPU(
        index=index,
        name=str(pynvml.nvmlDeviceGetName(handle)),
        uuid=str(pynvml.nvmlDeviceGetUUID(handle)),
        memory_mib=int(pynvml.nvmlDeviceGetMemoryInfo(handle).total) // MIB,
        driver_version=driver,
        cuda_version=cuda,
        pci_bus_id=str(pynvml.nvmlDeviceGetPciInfo(handle).busId),
        utilization_percent=_nvml_optional(
            lambda: int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        ),
        temperature_c=_nvml_optional(
            lambda: int(pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU))
        ),
        ecc_errors=_nvml_optional(
            lambda: int(
                pynvml.nvmlDeviceGetTotalEccErrors(
                    handle, pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, pynvml.NVML_VOLATILE_ECC
                )
            )
        ),
        mig_enabled=mig_enabled,
        mig_devices=_nvml_mig_devices(pynvml, handle) if mig_enabled else (),
    )


def _nvml_mig_devices(pynvml: Any, handle: Any) -> tuple[MigDevice, ...]:
    found: list[MigDevice] = []
    for slot in range(pynvml.nvmlDeviceGetMaxMigDeviceCount(handle)):
        try:
            mig = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
        except pynvml.NVMLError_NotFound:
            continue  # an empty slot
        found.append(
            MigDevice(
                index=len(found),
                gpu_instance_id=int(pynvml.nvmlDeviceGetGpuInstanceId(mig)),
                compute_instance_id=int(pynvml.nvmlDeviceGetComputeInstanceId(mig)),
                memory_mib=int(pynvml.nvmlDeviceGetMemoryInfo(mig).total) // MIB,
                uuid=str(pynvml.nvmlDeviceGetUUID(mig)),
            )
        )
    return tuple(found)


def _nvml_optional(read: Any) -> Any:
    """``read()``, or None where the device does not support it (ECC on GeForce, say)."""
    import pynvml

    try:
        return read()
    except pynvml.NVMLError:
        return None


def _cuda_version(encoded: int) -> str:
    """NVML's 12020 as "12.2"."""
    return f"{encoded // 1000}.{encoded % 1000 // 10}"


# ---------------------------------------------------------------------------------- nvidia-smi


def _from_nvidia_smi(command: str) -> tuple[GPU, ...]:
    path = shutil.which(command)
    if path is None:
        raise _Unavailable(f"{command!r} not found on PATH")
    try:
        done = subprocess.run(
            [path, "-q", "-x"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=NVIDIA_SMI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise _Unavailable(f"no answer within {NVIDIA_SMI_TIMEOUT:.0f} s") from exc
    except OSError as exc:
        raise _Unavailable(str(exc)) from exc
    try:
        return parse_nvidia_smi_xml(done.stdout)
    except GPUDetectionError as exc:
        status = f" (exit status {done.returncode})" if done.returncode else ""
        raise _Unavailable(f"{exc}{status}") from exc


def parse_nvidia_smi_xml(text: str) -> tuple[GPU, ...]:
    """The GPUs in the output of ``nvidia-smi -q -x``.

    Reads the fields gpuhub needs from any schema version nvidia-smi has printed (v6 to v12):
    values are trimmed (driver 580 pads them with spaces), units dropped ("81559 MiB", "34 C",
    "0 %"), and "N/A" read as not reported.

    Args:
        text: what ``nvidia-smi -q -x`` printed.

    Returns:
        One :class:`GPU` per ``<gpu>`` element, in document (bus) order.

    Raises:
        GPUDetectionError: the text is not nvidia-smi's XML (nvidia-smi prints an error message
            instead when the driver is not loaded; the error quotes it), or a GPU lacks its
            name, UUID or memory size.

    Example::

        >>> import subprocess
        >>> out = subprocess.run(["nvidia-smi", "-q", "-x"], capture_output=True, text=True)
        >>> parse_nvidia_smi_xml(out.stdout)[0].memory_mib
        81559
    """
    stripped = text.strip()
    if not stripped.startswith("<"):
        first = stripped.splitlines()[0] if stripped else "no output"
        raise GPUDetectionError(f"nvidia-smi printed no XML: {first[:300]}")
    try:
        root = ET.fromstring(stripped)
    except ET.ParseError as exc:
        raise GPUDetectionError(f"nvidia-smi printed XML that does not parse: {exc}") from exc
    if root.tag != "nvidia_smi_log":
        raise GPUDetectionError(
            f"not nvidia-smi's XML: the root element is <{root.tag}>, not <nvidia_smi_log>"
        )
    driver = _text(root, "driver_version") or ""
    cuda = _text(root, "cuda_version")
    return tuple(
        _xml_gpu(element, index, driver, cuda) for index, element in enumerate(root.iter("gpu"))
    )


def _xml_gpu(gpu: ET.Element, index: int, driver: str, cuda: str | None) -> GPU:
    bus_id = _text(gpu, "pci/pci_bus_id") or gpu.get("id") or ""
    name = _text(gpu, "product_name")
    uuid = _text(gpu, "uuid")
    memory = _number(gpu, "fb_memory_usage/total")
    missing = [
        label
        for label, value in (("product_name", name), ("uuid", uuid), ("memory", memory))
        if value is None
    ]
    if missing or name is None or uuid is None or memory is None:
        raise GPUDetectionError(
            f"GPU {index} ({bus_id}) reports no {', '.join(missing)}: the GPU may be failing; "
            "check `nvidia-smi -q -i " + str(index) + "` and the kernel log (dmesg | grep NVRM)"
        )
    mig_enabled = (_text(gpu, "mig_mode/current_mig") or "").lower() == "enabled"
    return GPU(
        index=index,
        name=name,
        uuid=uuid,
        memory_mib=memory,
        driver_version=driver,
        cuda_version=cuda,
        pci_bus_id=bus_id,
        utilization_percent=_number(gpu, "utilization/gpu_util"),
        temperature_c=_number(gpu, "temperature/gpu_temp"),
        ecc_errors=_uncorrectable_ecc(gpu),
        mig_enabled=mig_enabled,
        mig_devices=tuple(_xml_mig(m) for m in gpu.iterfind("mig_devices/mig_device")),
    )


def _xml_mig(mig: ET.Element) -> MigDevice:
    return MigDevice(
        index=_number(mig, "index") or 0,
        gpu_instance_id=_number(mig, "gpu_instance_id") or 0,
        compute_instance_id=_number(mig, "compute_instance_id") or 0,
        memory_mib=_number(mig, "fb_memory_usage/total") or 0,
    )


def _uncorrectable_ecc(gpu: ET.Element) -> int | None:
    """Volatile uncorrectable ECC errors, whatever the schema calls them: dram_uncorrectable and
    sram_uncorrectable(_parity, _secded) from v11 on, double_bit/total before."""
    volatile = gpu.find("ecc_errors/volatile")
    if volatile is None:
        return None
    counts = [
        _value(child.text) for child in volatile if "uncorrectable" in child.tag and len(child) == 0
    ]
    legacy = volatile.find("double_bit/total")
    if legacy is not None:
        counts.append(_value(legacy.text))
    known = [c for c in counts if c is not None]
    return sum(known) if known else None


def _text(element: ET.Element, path: str) -> str | None:
    """The trimmed text at ``path``; None when absent, empty or "N/A"."""
    found = element.find(path)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return None if value in ("", "N/A", "None") else value


def _number(element: ET.Element, path: str) -> int | None:
    return _value(_text(element, path))


def _value(text: str | None) -> int | None:
    """The leading integer of "81559 MiB", "34 C", "0 %"; None for "N/A", "Unknown Error"."""
    if text is None:
        return None
    word = text.strip().split(" ", 1)[0]
    try:
        return int(word)
    except ValueError:
        return None

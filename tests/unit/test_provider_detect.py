"""GPU detection: nvidia-smi's XML as drivers print it, the fallback order, the failures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gpuhub import GPUDetectionError
from gpuhub.provider import GPU, detect_gpus, parse_nvidia_smi_xml

NVIDIA_SMI_OUTPUTS = Path(__file__).resolve().parents[1] / "data" / "nvidia-smi"


def parse(name: str) -> tuple[GPU, ...]:
    return parse_nvidia_smi_xml((NVIDIA_SMI_OUTPUTS / name).read_text())


def test_one_gpu() -> None:
    """A workstation's RTX 4090 reads with its identity, memory, driver and sensors."""
    (gpu,) = parse("one-gpu-rtx4090.xml")
    assert gpu == GPU(
        index=0,
        name="NVIDIA GeForce RTX 4090",
        uuid="GPU-3b5e7d1a-92c4-4f0e-8a61-d2c9b7e40f13",
        memory_mib=24564,
        driver_version="550.54.14",
        cuda_version="12.4",
        pci_bus_id="00000000:01:00.0",
        utilization_percent=0,
        temperature_c=34,
        ecc_errors=None,
    )
    assert gpu.capacity_gb == 24


def test_eight_gpus_in_bus_order() -> None:
    """An HGX H100 server reads as eight 80 GB GPUs, indexed 0-7 in bus order, UUIDs distinct."""
    gpus = parse("eight-gpu-h100.xml")
    assert [g.index for g in gpus] == list(range(8))
    assert [g.pci_bus_id.split(":")[1] for g in gpus] == [
        "18",
        "2A",
        "3A",
        "5D",
        "9A",
        "AB",
        "BA",
        "DB",
    ]
    assert len({g.uuid for g in gpus}) == 8
    assert {(g.name, g.memory_mib, g.capacity_gb) for g in gpus} == {
        ("NVIDIA H100 80GB HBM3", 81559, 80)
    }


def test_eight_gpus_sensors() -> None:
    """Utilization and the uncorrectable ECC count are read per GPU (GPU 5 has two errors)."""
    gpus = parse("eight-gpu-h100.xml")
    assert [g.utilization_percent for g in gpus] == [97, 98, 0, 0, 0, 0, 0, 0]
    assert [g.ecc_errors for g in gpus] == [0, 0, 0, 0, 0, 2, 0, 0]


def test_mig() -> None:
    """A card split by MIG says so and lists its instances; it reports no utilization or ECC."""
    (gpu,) = parse("mig-a100.xml")
    assert gpu.mig_enabled
    assert [(m.index, m.gpu_instance_id, m.memory_mib) for m in gpu.mig_devices] == [
        (0, 1, 19968),
        (1, 5, 9856),
        (2, 13, 4864),
    ]
    assert (gpu.utilization_percent, gpu.ecc_errors, gpu.capacity_gb) == (None, None, 40)


def test_driver_not_loaded() -> None:
    """nvidia-smi's message when it cannot reach the driver becomes the error, quoted."""
    with pytest.raises(GPUDetectionError, match="couldn't communicate with the NVIDIA driver"):
        parse("driver-not-loaded.txt")


def test_driver_version_mismatch() -> None:
    """NVML refusing to start after a driver upgrade is quoted too."""
    with pytest.raises(GPUDetectionError, match="Driver/library version mismatch"):
        parse("driver-version-mismatch.txt")


def test_padded_values() -> None:
    """Values padded with spaces (driver 580 writes " 37 C ") read as numbers."""
    (gpu,) = parse_nvidia_smi_xml(
        "<nvidia_smi_log><driver_version> 580.65.06 </driver_version><gpu>"
        "<product_name> NVIDIA RTX PRO 6000 Blackwell </product_name><uuid> GPU-1 </uuid>"
        "<fb_memory_usage><total> 97887 MiB </total></fb_memory_usage>"
        "<temperature><gpu_temp> 37 C </gpu_temp></temperature></gpu></nvidia_smi_log>"
    )
    assert (gpu.name, gpu.uuid, gpu.memory_mib, gpu.temperature_c, gpu.driver_version) == (
        "NVIDIA RTX PRO 6000 Blackwell",
        "GPU-1",
        97887,
        37,
        "580.65.06",
    )


def test_legacy_ecc_schema() -> None:
    """Before schema v11 the uncorrectable count is volatile/double_bit/total."""
    (gpu,) = parse_nvidia_smi_xml(
        "<nvidia_smi_log><gpu><product_name>Tesla P100-PCIE-16GB</product_name>"
        "<uuid>GPU-2</uuid><fb_memory_usage><total>16280 MiB</total></fb_memory_usage>"
        "<ecc_errors><volatile><single_bit><total>4</total></single_bit>"
        "<double_bit><device_memory>1</device_memory><total>1</total></double_bit>"
        "</volatile></ecc_errors></gpu></nvidia_smi_log>"
    )
    assert gpu.ecc_errors == 1


def test_gpu_without_uuid() -> None:
    """A GPU that reports no UUID (failing) is named in the error, with what to check."""
    with pytest.raises(GPUDetectionError, match=r"GPU 0 \(00000000:0B:00.0\) reports no uuid"):
        parse_nvidia_smi_xml(
            '<nvidia_smi_log><gpu id="00000000:0B:00.0"><product_name>X</product_name>'
            "<uuid>N/A</uuid><fb_memory_usage><total>1 MiB</total></fb_memory_usage>"
            "</gpu></nvidia_smi_log>"
        )


def test_not_nvidia_smi_xml() -> None:
    """XML of another tool is refused, naming its root element."""
    with pytest.raises(GPUDetectionError, match="<rocm_smi>"):
        parse_nvidia_smi_xml("<rocm_smi/>")


def test_truncated_xml() -> None:
    """Output cut off mid-document is an error, not a partial list."""
    text = (NVIDIA_SMI_OUTPUTS / "eight-gpu-h100.xml").read_text()
    with pytest.raises(GPUDetectionError, match="does not parse"):
        parse_nvidia_smi_xml(text[: len(text) // 2])


def test_no_gpu_attached() -> None:
    """A driver that sees no GPU gives an empty tuple, not an error."""
    assert (
        parse_nvidia_smi_xml("<nvidia_smi_log><attached_gpus>0</attached_gpus></nvidia_smi_log>")
        == ()
    )


def test_detect_through_nvidia_smi(fake_nvidia_smi: Callable[..., str]) -> None:
    """Without NVML, detection runs nvidia-smi -q -x and parses what it prints."""
    gpus = detect_gpus(nvml=False, nvidia_smi=fake_nvidia_smi("eight-gpu-h100.xml"))
    assert len(gpus) == 8


def test_detect_reports_nvidia_smi_failure(fake_nvidia_smi: Callable[..., str]) -> None:
    """nvidia-smi's own message and exit status reach the error, with what to do."""
    command = fake_nvidia_smi("driver-not-loaded.txt", status=9)
    with pytest.raises(GPUDetectionError) as exc:
        detect_gpus(nvml=False, nvidia_smi=command)
    assert "couldn't communicate" in str(exc.value)
    assert "exit status 9" in str(exc.value)
    assert "install the NVIDIA driver" in str(exc.value)


def test_detect_without_any_driver() -> None:
    """With no NVML and no nvidia-smi, the error names both attempts."""
    with pytest.raises(GPUDetectionError) as exc:
        detect_gpus(nvidia_smi="/nonexistent/nvidia-smi")
    assert "NVML:" in str(exc.value)
    assert "'/nonexistent/nvidia-smi' not found" in str(exc.value)


def test_falls_back_from_nvml(fake_nvidia_smi: Callable[..., str]) -> None:
    """On a machine whose NVML library does not load, nvidia-smi answers instead."""
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("NVML loads on this machine: detection reads it, not nvidia-smi")
    (gpu,) = detect_gpus(nvidia_smi=fake_nvidia_smi("one-gpu-rtx4090.xml"))
    assert gpu.name == "NVIDIA GeForce RTX 4090"

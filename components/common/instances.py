"""GPU instance catalog: each cloud's GPU instance / machine / VM types.

Per type: GPU model (a key of ``GPU_MODELS``), GPUs per node, GPU memory per GPU, vCPUs, memory,
the cloud's accelerator name where the API needs one (GKE ``guest_accelerators``), and an
approximate on-demand Linux price in USD per hour in the reference region (AWS us-east-1,
GCP us-central1, Azure eastus), as known at ``PRICES_AS_OF``. Prices change and differ per
region; they feed estimates, never billing. Config validation, the capacity planner and the
cost estimate read this module; it is data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from components.common.gpus import GPU_MODELS

Cloud = Literal["aws", "gcp", "azure"]
PRICES_AS_OF = "2026-11"
PRICE_REGIONS: dict[str, str] = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}


@dataclass(frozen=True)
class InstanceType:
    cloud: Cloud
    name: str
    gpu_model: str
    gpus: int
    vcpus: int
    memory_gib: int
    usd_per_hour: float
    accelerator: Optional[str] = None

    @property
    def gpu_memory_gib(self) -> int:
        return GPU_MODELS[self.gpu_model].memory_gib


def _aws(name: str, gpu: str, gpus: int, vcpus: int, mem: int, usd: float) -> InstanceType:
    return InstanceType("aws", name, gpu, gpus, vcpus, mem, usd)


def _gcp(name: str, gpu: str, gpus: int, vcpus: int, mem: int, usd: float, accelerator: str) -> InstanceType:
    return InstanceType("gcp", name, gpu, gpus, vcpus, mem, usd, accelerator)


def _az(name: str, gpu: str, gpus: int, vcpus: int, mem: int, usd: float) -> InstanceType:
    return InstanceType("azure", name, gpu, gpus, vcpus, mem, usd)


_CATALOG: tuple[InstanceType, ...] = (
    # AWS: g4dn (T4), g5 (A10G), g6 (L4), g6e (L40S), p4d/p4de (A100), p5 (H100), p5e (H200).
    _aws("g4dn.xlarge", "T4", 1, 4, 16, 0.526),
    _aws("g4dn.2xlarge", "T4", 1, 8, 32, 0.752),
    _aws("g4dn.12xlarge", "T4", 4, 48, 192, 3.912),
    _aws("g5.xlarge", "A10G", 1, 4, 16, 1.006),
    _aws("g5.2xlarge", "A10G", 1, 8, 32, 1.212),
    _aws("g5.4xlarge", "A10G", 1, 16, 64, 1.624),
    _aws("g5.8xlarge", "A10G", 1, 32, 128, 2.448),
    _aws("g5.12xlarge", "A10G", 4, 48, 192, 5.672),
    _aws("g5.24xlarge", "A10G", 4, 96, 384, 8.144),
    _aws("g5.48xlarge", "A10G", 8, 192, 768, 16.288),
    _aws("g6.xlarge", "L4", 1, 4, 16, 0.805),
    _aws("g6.2xlarge", "L4", 1, 8, 32, 0.978),
    _aws("g6.4xlarge", "L4", 1, 16, 64, 1.323),
    _aws("g6.8xlarge", "L4", 1, 32, 128, 2.014),
    _aws("g6.12xlarge", "L4", 4, 48, 192, 4.602),
    _aws("g6.24xlarge", "L4", 4, 96, 384, 6.675),
    _aws("g6.48xlarge", "L4", 8, 192, 768, 13.350),
    _aws("g6e.xlarge", "L40S", 1, 4, 32, 1.861),
    _aws("g6e.2xlarge", "L40S", 1, 8, 64, 2.242),
    _aws("g6e.4xlarge", "L40S", 1, 16, 128, 3.004),
    _aws("g6e.8xlarge", "L40S", 1, 32, 256, 4.529),
    _aws("g6e.12xlarge", "L40S", 4, 48, 384, 10.493),
    _aws("g6e.24xlarge", "L40S", 4, 96, 768, 15.066),
    _aws("g6e.48xlarge", "L40S", 8, 192, 1536, 30.131),
    _aws("p4d.24xlarge", "A100-40GB", 8, 96, 1152, 21.958),
    _aws("p4de.24xlarge", "A100-80GB", 8, 96, 1152, 27.447),
    _aws("p5.4xlarge", "H100-80GB", 1, 16, 256, 6.880),
    _aws("p5.48xlarge", "H100-80GB", 8, 192, 2048, 55.040),
    _aws("p5e.48xlarge", "H200-141GB", 8, 192, 2048, 63.296),
    # GCP: g2 (L4), a2-highgpu (A100 40GB), a2-ultragpu (A100 80GB), a3 (H100 80GB).
    _gcp("g2-standard-4", "L4", 1, 4, 16, 0.707, "nvidia-l4"),
    _gcp("g2-standard-8", "L4", 1, 8, 32, 0.854, "nvidia-l4"),
    _gcp("g2-standard-12", "L4", 1, 12, 48, 1.000, "nvidia-l4"),
    _gcp("g2-standard-16", "L4", 1, 16, 64, 1.147, "nvidia-l4"),
    _gcp("g2-standard-24", "L4", 2, 24, 96, 2.000, "nvidia-l4"),
    _gcp("g2-standard-32", "L4", 1, 32, 128, 1.733, "nvidia-l4"),
    _gcp("g2-standard-48", "L4", 4, 48, 192, 4.000, "nvidia-l4"),
    _gcp("g2-standard-96", "L4", 8, 96, 384, 8.000, "nvidia-l4"),
    _gcp("a2-highgpu-1g", "A100-40GB", 1, 12, 85, 3.673, "nvidia-tesla-a100"),
    _gcp("a2-highgpu-2g", "A100-40GB", 2, 24, 170, 7.347, "nvidia-tesla-a100"),
    _gcp("a2-highgpu-4g", "A100-40GB", 4, 48, 340, 14.694, "nvidia-tesla-a100"),
    _gcp("a2-highgpu-8g", "A100-40GB", 8, 96, 680, 29.387, "nvidia-tesla-a100"),
    _gcp("a2-megagpu-16g", "A100-40GB", 16, 96, 1360, 55.739, "nvidia-tesla-a100"),
    _gcp("a2-ultragpu-1g", "A100-80GB", 1, 12, 170, 5.069, "nvidia-a100-80gb"),
    _gcp("a2-ultragpu-2g", "A100-80GB", 2, 24, 340, 10.138, "nvidia-a100-80gb"),
    _gcp("a2-ultragpu-4g", "A100-80GB", 4, 48, 680, 20.276, "nvidia-a100-80gb"),
    _gcp("a2-ultragpu-8g", "A100-80GB", 8, 96, 1360, 40.552, "nvidia-a100-80gb"),
    _gcp("a3-highgpu-8g", "H100-80GB", 8, 208, 1872, 88.254, "nvidia-h100-80gb"),
    _gcp("a3-megagpu-8g", "H100-80GB", 8, 208, 1872, 92.214, "nvidia-h100-mega-80gb"),
    # Azure: NCasT4_v3 (T4), NC A100 v4, ND A100 v4 (40GB asr / 80GB amsr), NC/ND H100 v5.
    _az("Standard_NC4as_T4_v3", "T4", 1, 4, 28, 0.526),
    _az("Standard_NC8as_T4_v3", "T4", 1, 8, 56, 0.752),
    _az("Standard_NC16as_T4_v3", "T4", 1, 16, 110, 1.204),
    _az("Standard_NC64as_T4_v3", "T4", 4, 64, 440, 4.352),
    _az("Standard_NC24ads_A100_v4", "A100-80GB", 1, 24, 220, 3.673),
    _az("Standard_NC48ads_A100_v4", "A100-80GB", 2, 48, 440, 7.346),
    _az("Standard_NC96ads_A100_v4", "A100-80GB", 4, 96, 880, 14.692),
    _az("Standard_ND96asr_v4", "A100-40GB", 8, 96, 900, 27.197),
    _az("Standard_ND96amsr_A100_v4", "A100-80GB", 8, 96, 1900, 32.770),
    _az("Standard_NC40ads_H100_v5", "H100-NVL-94GB", 1, 40, 320, 6.980),
    _az("Standard_NC80adis_H100_v5", "H100-NVL-94GB", 2, 80, 640, 13.960),
    _az("Standard_ND96isr_H100_v5", "H100-80GB", 8, 96, 1900, 98.320),
)

INSTANCE_TYPES: dict[Cloud, dict[str, InstanceType]] = {
    cloud: {t.name: t for t in _CATALOG if t.cloud == cloud} for cloud in ("aws", "gcp", "azure")
}


def lookup(cloud: Cloud, name: str) -> Optional[InstanceType]:
    return INSTANCE_TYPES[cloud].get(name)

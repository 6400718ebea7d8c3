"""GPU models the platform knows: memory and the MIG profiles each supports.

Used to validate pool declarations (a MIG profile must exist on the GPU) and, later, by the
capacity planner. Memory is the usable framebuffer NVIDIA publishes, in GiB-rounded GB as the
product names use it. MIG profiles are those NVIDIA's MIG user guide lists per product, each
with the number of instances one GPU splits into (the ``all-<profile>`` layouts of the GPU
Operator's default mig-parted config).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GpuModel:
    name: str
    memory_gib: int
    # MIG profile -> instances per GPU when every GPU is split into that profile.
    mig_devices: Mapping[str, int] = field(default_factory=dict, hash=False)

    @property
    def mig_profiles(self) -> tuple[str, ...]:
        return tuple(self.mig_devices)


_A100_40 = {"1g.5gb": 7, "1g.10gb": 4, "2g.10gb": 3, "3g.20gb": 2, "4g.20gb": 1, "7g.40gb": 1}
_A100_80 = {"1g.10gb": 7, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1}
_H100_94 = {"1g.12gb": 7, "1g.24gb": 4, "2g.24gb": 3, "3g.47gb": 2, "4g.47gb": 1, "7g.94gb": 1}
_H200 = {"1g.18gb": 7, "1g.35gb": 4, "2g.35gb": 3, "3g.71gb": 2, "4g.71gb": 1, "7g.141gb": 1}
_B200 = {"1g.23gb": 7, "1g.45gb": 4, "2g.45gb": 3, "3g.90gb": 2, "4g.90gb": 1, "7g.180gb": 1}

GPU_MODELS: dict[str, GpuModel] = {
    m.name: m
    for m in (
        GpuModel("T4", 16),
        GpuModel("A10G", 24),
        GpuModel("A10", 24),
        GpuModel("L4", 24),
        GpuModel("A30", 24, {"1g.6gb": 4, "2g.12gb": 2, "4g.24gb": 1}),
        GpuModel("L40S", 48),
        GpuModel("A40", 48),
        GpuModel("RTX-6000-ADA", 48),
        GpuModel("A100-40GB", 40, _A100_40),
        GpuModel("A100-80GB", 80, _A100_80),
        GpuModel("H100-80GB", 80, _A100_80),
        GpuModel("H100-NVL-94GB", 94, _H100_94),
        GpuModel("H200-141GB", 141, _H200),
        GpuModel("B200-180GB", 180, _B200),
    )
}


def mig_config_name(profile: str) -> str:
    """Name of the mig-parted layout that splits every GPU of a node into ``profile``.

    The GPU Operator's default mig-parted config ships one ``all-<profile>`` layout per
    supported profile; nodes select it with the ``nvidia.com/mig.config`` label.
    """
    return f"all-{profile}"

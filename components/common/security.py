"""Secure defaults for every workload the platform renders.

Non-root, no privilege escalation, read-only root filesystem, every capability dropped,
seccomp RuntimeDefault, no service-account token unless asked for, and requests and limits
always set. A workload that needs less (e.g. a GPU Operator daemonset) says so explicitly
at its call site, never by editing these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def to_k8s(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


def container_security_context(run_as_user: int = 65532) -> dict:
    """securityContext for a container that needs nothing from the host."""
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(fs_group: int = 65532) -> dict:
    """Pod-level securityContext matching the PSA ``restricted`` profile."""
    return {
        "runAsNonRoot": True,
        "fsGroup": fs_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def secure_pod_spec(containers: list[dict], *, automount_token: bool = False, **extra) -> dict:
    """A pod spec whose containers all carry the secure context and explicit resources.

    Raises ValueError when a container lacks requests or limits, so a workload without them
    cannot be rendered at all.
    """
    hardened = []
    for c in containers:
        res = c.get("resources") or {}
        if not res.get("requests") or not res.get("limits"):
            raise ValueError(f"container {c.get('name')!r} must set resource requests and limits")
        hardened.append({**c, "securityContext": {**container_security_context(), **c.get("securityContext", {})}})
    return {
        "automountServiceAccountToken": automount_token,
        "securityContext": pod_security_context(),
        "containers": hardened,
        **extra,
    }

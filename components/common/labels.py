"""Standard Kubernetes labels carried by everything the platform creates."""

from __future__ import annotations

PART_OF = "genai-platform"
MANAGED_BY = "pulumi"


def standard_labels(name: str, instance: str, component: str) -> dict[str, str]:
    """The app.kubernetes.io label set (name, instance, component, part-of, managed-by)."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }

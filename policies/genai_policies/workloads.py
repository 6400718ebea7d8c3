"""``requests-and-limits`` and ``pinned-images``: what every container must declare."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from .k8s import api_kind, containers, get, is_release, mappings, pod_spec, walk
from .model import SECRET, UNKNOWN, PolicyContext, Record

RESOURCE_KEYS = (("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory"))


def requests_and_limits(record: Record, ctx: PolicyContext) -> list[str]:
    """Every container and init container sets requests and limits for both cpu and memory."""
    spec = pod_spec(record)
    if spec is None:
        return []
    out = []
    for label, c in containers(spec):
        missing = [f"{kind}.{res}" for kind, res in RESOURCE_KEYS if get(c, "resources", kind, res) in (None, "")]
        if missing:
            out.append(f"{label}: set resources.{', resources.'.join(missing)} (the scheduler and quotas need "
                       "requests; limits keep one pod from starving its node)")
    return out


def image_problem(image: str) -> Optional[str]:
    """Why an image reference is not pinned, or None when it names a fixed tag or a digest."""
    if image in ("", UNKNOWN, SECRET):
        return None
    if "@" in image:
        return None if image.split("@", 1)[1] else "has an empty digest"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (it means latest)"
    tag = last.split(":", 1)[1]
    if not tag:
        return "has an empty tag"
    if tag.lower() == "latest":
        return "uses the moving tag latest"
    return None


def _fix(image: str, why: str) -> str:
    return f"image {image!r} {why}: pin a version tag or a digest (never latest)"


def pinned_images(record: Record, ctx: PolicyContext) -> list[str]:
    """Every image names a version tag or a digest, never ``latest``."""
    out = []
    spec = pod_spec(record)
    if spec is not None:
        for label, c in containers(spec, ephemeral=True):
            image = c.get("image")
            why = image_problem(image) if isinstance(image, str) else "is not set"
            if why:
                out.append(f"{label}: {_fix(str(image), why)}")
        return out
    if is_release(record):
        # A chart without a tag value runs its appVersion, fixed by the pinned chart version;
        # what moves is an explicit latest, or a whole container (name + image) passed through
        # the values (extra init containers, sidecars, plugins) without a tag.
        for path, m in mappings(record.props.get("values") or {}):
            for key, value in m.items():
                if str(key).lower().endswith("tag") and isinstance(value, str) and value.lower() == "latest":
                    here = f"{path}.{key}" if path else str(key)
                    out.append(f"values {here}: the tag 'latest' moves under the pinned chart; set a version tag")
            image = m.get("image")
            if not isinstance(image, str):
                continue
            container = "name" in m and not any(k in m for k in ("tag", "imageTag", "repository"))
            explicit = "@" in image or ":" in image.rsplit("/", 1)[-1]
            why = image_problem(image) if container or explicit else None
            if why:
                out.append(f"values {path + '.' if path else ''}image: {_fix(image, why)}")
        return out
    if api_kind(record) is not None and isinstance(record.props.get("spec"), Mapping):
        # Custom resources whose operators run images (database clusters, proxies).
        for path, key, value in walk(record.props["spec"], "spec"):
            if key in ("image", "imageName") and isinstance(value, str):
                why = image_problem(value)
                if why:
                    out.append(f"{path}: {_fix(value, why)}")
    return out

"""Pure builders for the model catalog: the volume, download Jobs, index and access objects.

Layout: one claim (``model-catalog``) holds ``<model>/<revision[:12]>/`` per model, so a new
revision downloads beside the one being served and servers switch once it is complete. Each
directory gets ``.catalog-complete.json`` (key, source, revision, file count, bytes) only
after its download succeeded; servers wait for that marker before starting.

Downloaders, chosen by source scheme:

- ``hf://``: ``hf download`` from ``huggingface_hub`` (pinned, installed at start into the
  Job's scratch volume; ``python:3.12.12-slim-bookworm`` carries no CLI), Xet high-performance
  mode and ``--max-workers`` parallel files; the Hub token, when given, comes from a Secret.
- ``s3://``, ``gs://``, ``az://``: ``rclone copy`` (``rclone/rclone:1.74.4``) with parallel
  transfers and multi-stream files, authenticated by the runtime (``env_auth``): IRSA or EKS Pod
  Identity, GKE Workload Identity, Azure Workload Identity through the ``model-downloader``
  service account the cluster layer bound to the platform bucket.
- ``pvc://claim/path``: nothing to fetch; the Job only checks the path is there and not empty.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from components.cluster.info import IDENTITY_ENDPOINTS, GpuPool, ObjectStore, WorkloadIdentity
from components.common.labels import standard_labels
from components.common.security import Resources, secure_pod_spec
from components.models.placement import ModelRequest, Placement

MODEL_LABEL = "genai-platform.io/model"
COMPONENT_DOWNLOAD = "model-download"
CATALOG_CLAIM = "model-catalog"
INDEX_CONFIGMAP = "model-catalog-index"
SCRIPT_CONFIGMAP = "model-catalog-download"
DOWNLOADER_SERVICE_ACCOUNT = "model-downloader"
HF_TOKEN_SECRET = "hf-token"
IDENTITY_NAME = "model-downloads"
MARKER_NAME = ".catalog-complete.json"
SCRIPT_PATH = Path(__file__).with_name("download.sh")
SCRIPT_DIR = "/opt/catalog"
DOWNLOAD_MOUNT = "/catalog"
SERVER_MOUNT = "/models"
SCRATCH = "/tmp"

HF_IMAGE = "python:3.12.12-slim-bookworm"
HF_CLI_PACKAGE = "huggingface_hub==2.4.0"
OBJECT_STORE_IMAGE = "rclone/rclone:1.74.4"
DOWNLOADER_UID = 65532
# Checkpoint formats no engine here loads (original PyTorch shards, Flax, TF, Rust): skipping
# them keeps e.g. Llama repos from doubling in size.
HF_EXCLUDE = ("original/*", "*.pth", "*.msgpack", "*.h5", "*.ot")


@dataclass(frozen=True)
class CatalogSettings:
    min_size_gib: int = 20
    max_workers: int = 16
    backoff_limit: int = 6
    ttl_seconds_after_finished: int = 86400
    # Seconds allowed per GiB on top of a 30-minute floor (~17 MiB/s worst case).
    seconds_per_gib: int = 60
    resources: Resources = field(default_factory=lambda: Resources("500m", "1Gi", "4", "8Gi"))
    scratch_size: str = "4Gi"
    hf_image: str = HF_IMAGE
    hf_cli_package: str = HF_CLI_PACKAGE
    object_store_image: str = OBJECT_STORE_IMAGE
    # Velero leaves the claim out of backups (the weights can be downloaded again).
    backup_excluded: bool = False


@dataclass(frozen=True)
class CatalogEntry:
    """One model's place in the catalog."""

    model: str
    uri: str
    revision: Optional[str]
    weights_file: Optional[str]
    weights_gib: float

    @property
    def scheme(self) -> str:
        return self.uri.split("://", 1)[0]

    @property
    def needs_download(self) -> bool:
        return self.scheme != "pvc"

    @property
    def key(self) -> str:
        """Identity of what is fetched: source, revision and single file."""
        ident = f"{self.uri}@{self.revision or ''}#{self.weights_file or ''}"
        return hashlib.sha256(ident.encode()).hexdigest()[:16]

    @property
    def rel_dir(self) -> str:
        return f"{self.model}/{(self.revision or self.key)[:12]}"

    @property
    def pvc_claim(self) -> str:
        return self.uri.split("://", 1)[1].split("/", 1)[0]

    @property
    def pvc_path(self) -> str:
        rest = self.uri.split("://", 1)[1]
        return rest.split("/", 1)[1] if "/" in rest else ""


def deadline_seconds(e: CatalogEntry, settings: CatalogSettings) -> int:
    """How long one download may run: 30 minutes plus ``seconds_per_gib`` per GiB of weights."""
    return 1800 + math.ceil(e.weights_gib) * settings.seconds_per_gib


def entry(req: ModelRequest, placement: Placement) -> CatalogEntry:
    return CatalogEntry(model=req.name, uri=req.source.uri, revision=req.source.revision,
                        weights_file=req.weights_file, weights_gib=placement.weights_gib)


def catalog_size_gib(entries: Iterable[CatalogEntry], headroom: float, min_size_gib: int) -> int:
    """(Sum of the weights fetched into the claim + the largest of them) × headroom, rounded up.

    A new revision downloads beside the one being served, so the claim must hold one model
    twice during a switch; the largest is the worst case.
    """
    if headroom < 1.0:
        raise ValueError(f"catalog headroom must be at least 1.0, got {headroom}")
    fetched = [e.weights_gib for e in entries if e.needs_download]
    total = sum(fetched) + max(fetched, default=0.0)
    return max(min_size_gib, math.ceil(total * headroom))


def label_value(value: str) -> str:
    """A label value from a name that may be longer than the 63 characters labels allow."""
    return value[:63].rstrip("-_.")


def labels(name: str, instance: str, component: str, model: Optional[str] = None) -> dict[str, str]:
    out = standard_labels(label_value(name), label_value(instance), component)
    if model:
        out[MODEL_LABEL] = model
    return out


# Velero skips a claim (and its volume) labelled so. Stated here, not imported: the models
# layer knows nothing of the backups that read it.
BACKUP_EXCLUDE_LABEL = {"velero.io/exclude-from-backup": "true"}


def catalog_claim(namespace: str, instance: str, storage_class: str, rwx: bool, size_gib: int,
                  backup_excluded: bool = False) -> dict:
    """The catalog claim. RWX when the cluster has a shared class; RWO is the single-node case
    (kind, k3d, one-box on-prem): every download and server pod must then share that node.
    With ``backup_excluded``, backups leave it out: every model in it can be downloaded again."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": CATALOG_CLAIM,
            "namespace": namespace,
            "labels": {**labels(CATALOG_CLAIM, instance, "model-catalog"),
                       **(BACKUP_EXCLUDE_LABEL if backup_excluded else {})},
            # WaitForFirstConsumer classes leave a claim Pending until a pod mounts it; nothing
            # here needs it Bound before the pods that mount it exist.
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "accessModes": ["ReadWriteMany" if rwx else "ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": f"{size_gib}Gi"}},
        },
    }


def index_configmap(namespace: str, instance: str, entries: Sequence[CatalogEntry]) -> dict:
    rows = [{
        "model": e.model,
        "source": e.uri,
        "revision": e.revision,
        "path": model_path(e, SERVER_MOUNT) if e.needs_download else e.uri,
        "weightsFile": e.weights_file,
        "sizeGiB": round(e.weights_gib, 2),
    } for e in sorted(entries, key=lambda e: e.model)]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": INDEX_CONFIGMAP, "namespace": namespace,
                     "labels": labels(INDEX_CONFIGMAP, instance, "model-catalog")},
        "data": {"index.json": json.dumps(rows, indent=2, sort_keys=True) + "\n"},
    }


def script_configmap(namespace: str, instance: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": SCRIPT_CONFIGMAP, "namespace": namespace,
                     "labels": labels(SCRIPT_CONFIGMAP, instance, COMPONENT_DOWNLOAD)},
        "data": {"download.sh": SCRIPT_PATH.read_text()},
    }


def service_account(namespace: str, instance: str, identity: Optional[WorkloadIdentity]) -> dict:
    """The downloaders' account; the cluster layer bound it to the platform bucket when it has one."""
    meta: dict = {"name": DOWNLOADER_SERVICE_ACCOUNT, "namespace": namespace,
                  "labels": labels(DOWNLOADER_SERVICE_ACCOUNT, instance, COMPONENT_DOWNLOAD)}
    if identity is not None and identity.annotations:
        meta["annotations"] = dict(identity.annotations)
    # Projected identity tokens are mounted by the clouds' webhooks; the API token is not needed.
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta, "automountServiceAccountToken": False}


def model_path(e: CatalogEntry, mount: str) -> str:
    """Where a server finds the model: the directory, or the single weights file in it."""
    base = f"{mount}/{e.model}" if not e.needs_download else f"{mount}/{e.rel_dir}"
    return f"{base}/{e.weights_file}" if e.weights_file else base


def avoid_gpu_nodes(pools: Sequence[GpuPool]) -> Optional[dict]:
    """Node affinity keeping a pod off every GPU pool's nodes (downloads run on CPU nodes)."""
    exprs: dict[str, set[str]] = {}
    for pool in pools:
        for key, value in pool.node_selector.items():
            exprs.setdefault(key, set()).add(value)
    if not exprs:
        return None
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
        "matchExpressions": [{"key": k, "operator": "NotIn", "values": sorted(v)} for k, v in sorted(exprs.items())],
    }]}}}


def _env(pairs: Mapping[str, Optional[str]]) -> list[dict]:
    return [{"name": k, "value": v} for k, v in pairs.items() if v is not None]


def _downloader_env(e: CatalogEntry, settings: CatalogSettings, store: Optional[ObjectStore],
                    hf_token: bool) -> list[dict]:
    dest = f"{DOWNLOAD_MOUNT}/{e.rel_dir}" if e.needs_download else f"{DOWNLOAD_MOUNT}/{e.pvc_path}".rstrip("/")
    env = _env({
        "SOURCE_URI": e.uri,
        "REVISION": e.revision or "",
        "DEST": dest,
        "KEY": e.key,
        "WEIGHTS_FILE": e.weights_file,
        "MARKER_NAME": MARKER_NAME,
        "MAX_WORKERS": str(settings.max_workers),
        "HOME": SCRATCH,
        "TOOLS_DIR": f"{SCRATCH}/tools",
    })
    if e.scheme == "hf":
        env += _env({
            "EXCLUDE": " ".join(HF_EXCLUDE) if not e.weights_file else None,
            "HF_CLI_PACKAGE": settings.hf_cli_package,
            "HF_HOME": f"{SCRATCH}/hf-home",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            # Parallel Xet transfers; the chunk cache would only duplicate the files on scratch.
            "HF_XET_HIGH_PERFORMANCE": "1",
            "HF_XET_CHUNK_CACHE_SIZE_BYTES": "0",
        })
        if hf_token:
            env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {
                "name": HF_TOKEN_SECRET, "key": "token", "optional": True}}})
    elif e.scheme in ("s3", "gs", "az"):
        env += _env({
            "RCLONE_CONFIG": f"{SCRATCH}/rclone.conf",
            "RCLONE_S3_PROVIDER": "AWS" if e.scheme == "s3" else None,
            "RCLONE_S3_ENV_AUTH": "true" if e.scheme == "s3" else None,
            "RCLONE_S3_REGION": store.region if e.scheme == "s3" and store is not None and store.kind == "s3" else None,
            "RCLONE_GCS_ENV_AUTH": "true" if e.scheme == "gs" else None,
            "RCLONE_AZUREBLOB_ENV_AUTH": "true" if e.scheme == "az" else None,
        })
    return env


def download_job(e: CatalogEntry, namespace: str, instance: str, settings: CatalogSettings, *,
                 pools: Sequence[GpuPool] = (), identity: Optional[WorkloadIdentity] = None,
                 store: Optional[ObjectStore] = None, hf_token: bool = False) -> dict:
    """The Job that fills (or, for pvc://, checks) one model directory.

    Its name carries a hash of its whole spec: Jobs are immutable, so a new source, revision,
    image or setting makes a new Job (which skips at once when the marker already matches).
    """
    image = settings.hf_image if e.scheme in ("hf", "pvc") else settings.object_store_image
    claim = CATALOG_CLAIM if e.needs_download else e.pvc_claim
    volume_mount = {"name": "catalog", "mountPath": DOWNLOAD_MOUNT, "readOnly": not e.needs_download}
    container = {
        "name": "download",
        "image": image,
        "command": ["sh", f"{SCRIPT_DIR}/download.sh"],
        "env": _downloader_env(e, settings, store, hf_token),
        "resources": settings.resources.to_k8s(),
        "volumeMounts": [volume_mount,
                         {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
                         {"name": "scratch", "mountPath": SCRATCH}],
        "securityContext": {"runAsUser": DOWNLOADER_UID, "runAsGroup": DOWNLOADER_UID},
    }
    pod_labels = {**labels(f"{e.model}-download", instance, COMPONENT_DOWNLOAD, e.model),
                  **(dict(identity.pod_labels) if identity is not None else {})}
    extra: dict = {
        "restartPolicy": "Never",
        "serviceAccountName": DOWNLOADER_SERVICE_ACCOUNT,
        "volumes": [
            {"name": "catalog", "persistentVolumeClaim": {"claimName": claim, "readOnly": not e.needs_download}},
            {"name": "script", "configMap": {"name": SCRIPT_CONFIGMAP, "defaultMode": 0o555}},
            {"name": "scratch", "emptyDir": {"sizeLimit": settings.scratch_size}},
        ],
    }
    affinity = avoid_gpu_nodes(pools)
    if affinity is not None:
        extra["affinity"] = affinity
    deadline = deadline_seconds(e, settings)
    spec = {
        "backoffLimit": settings.backoff_limit,
        "activeDeadlineSeconds": deadline,
        "ttlSecondsAfterFinished": settings.ttl_seconds_after_finished,
        "template": {"metadata": {"labels": pod_labels},
                     "spec": secure_pod_spec([container], **extra)},
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{e.model[:44]}-dl-{digest}",
            "namespace": namespace,
            "labels": labels(f"{e.model}-download", instance, COMPONENT_DOWNLOAD, e.model),
            # Pulumi waits for the download to finish; give it the Job's own deadline.
            "annotations": {"pulumi.com/timeoutSeconds": str(deadline + 600)},
        },
        "spec": spec,
    }


def hf_token_secret(namespace: str, instance: str) -> dict:
    """Metadata of the Hub token Secret (its data is the secret value, set by the component)."""
    return {"name": HF_TOKEN_SECRET, "namespace": namespace,
            "labels": labels(HF_TOKEN_SECRET, instance, COMPONENT_DOWNLOAD)}


def downloader_egress(namespace: str, policy_labels: dict, cluster_kind: str) -> dict:
    """Downloads reach the Hub, PyPI and object stores over HTTPS, and the node-local identity
    endpoint where the cloud serves workload credentials over plain HTTP (EKS Pod Identity
    agent, GKE metadata server)."""
    rules: list[dict] = [{"ports": [{"protocol": "TCP", "port": 443}]}]
    link_local = IDENTITY_ENDPOINTS.get(cluster_kind)
    if link_local:
        rules.append({"to": [{"ipBlock": {"cidr": link_local}}], "ports": [{"protocol": "TCP", "port": 80}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-download-egress", "namespace": namespace, "labels": policy_labels},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/component": COMPONENT_DOWNLOAD}},
            "policyTypes": ["Egress"],
            "egress": rules,
        },
    }


@dataclass(frozen=True)
class ModelVolume:
    """How a server pod mounts its model and knows it is complete."""

    volume: dict
    mount: dict
    model_path: str
    marker: Optional[str]          # marker path inside the server pod; None for pvc://
    key: str
    wait_seconds: int              # how long a server may wait for its download


def server_volume(e: CatalogEntry, settings: CatalogSettings) -> ModelVolume:
    if e.needs_download:
        return ModelVolume(
            volume={"name": "models", "persistentVolumeClaim": {"claimName": CATALOG_CLAIM, "readOnly": True}},
            mount={"name": "models", "mountPath": SERVER_MOUNT, "readOnly": True},
            model_path=model_path(e, SERVER_MOUNT),
            marker=f"{SERVER_MOUNT}/{e.rel_dir}/{MARKER_NAME}",
            key=e.key,
            wait_seconds=deadline_seconds(e, settings),
        )
    mount: dict = {"name": "models", "mountPath": f"{SERVER_MOUNT}/{e.model}", "readOnly": True}
    if e.pvc_path:
        mount["subPath"] = e.pvc_path
    return ModelVolume(
        volume={"name": "models", "persistentVolumeClaim": {"claimName": e.pvc_claim, "readOnly": True}},
        mount=mount, model_path=model_path(e, SERVER_MOUNT), marker=None, key=e.key, wait_seconds=0,
    )

"""Pure builders for a tenant's document ingestion: the scheduled CronJob and the one-off
preprocessing Job.

Both run the tenant's images with the tenant ConfigMap and Secret as their environment (the
same contract the app reads: gateway URL and key, embedding model, vector store and its
token, database) plus:

- ``DOCUMENT_SOURCE``: the configured URI (s3://, gs://, az://account/container, https://,
  pvc://claim/path);
- ``DOCUMENT_DIR``: for a pvc:// source, where the claim is mounted (read-only) joined with
  the path inside it.

Root filesystems are read-only; ``/tmp`` is a scratch emptyDir.
"""

from __future__ import annotations

from typing import Optional

from components.common.labels import standard_labels
from components.common.security import Resources, secure_pod_spec
from components.edge.contracts import TENANT_LABEL
from components.tenancy import contracts as c
from components.tenancy.contracts import IngestionSettings

COMPONENT = "ingestion"
NAME = "ingestion"
PREPROCESS_NAME = "ingestion-preprocess"
CONTAINER = "ingest"
SOURCE_ENV = "DOCUMENT_SOURCE"
DIR_ENV = "DOCUMENT_DIR"
DOCUMENTS_DIR = "/documents"
TMP_DIR = "/tmp"
TMP_SIZE = "5Gi"

BACKOFF_LIMIT = 2
DEADLINE_SECONDS = 6 * 3600               # a run that takes longer is stuck, not busy
# Long enough to read a failed run's logs; the history limits prune sooner on busy schedules.
TTL_SECONDS = 3 * 24 * 3600
HISTORY = 3
# A run missed by more than this (controller down, cluster upgrade) waits for the next slot.
STARTING_DEADLINE_SECONDS = 3600


def labels(tenant: str, name: str) -> dict[str, str]:
    return {**standard_labels(name, tenant, COMPONENT), TENANT_LABEL: tenant}


def resources(settings: IngestionSettings) -> Resources:
    return Resources(cpu_request=settings.cpu, memory_request=settings.memory,
                     cpu_limit=settings.cpu_limit or settings.cpu,
                     memory_limit=settings.memory_limit or settings.memory)


def claim(source: str) -> Optional[tuple[str, str]]:
    """(claim, path inside it) of a pvc:// source, else None."""
    if not source.startswith("pvc://"):
        return None
    name, _, path = source[len("pvc://"):].partition("/")
    return name, path.strip("/")


def document_env(settings: IngestionSettings) -> list[dict]:
    env = [{"name": SOURCE_ENV, "value": settings.source}]
    pvc = claim(settings.source)
    if pvc is not None:
        env.append({"name": DIR_ENV, "value": f"{DOCUMENTS_DIR}/{pvc[1]}".rstrip("/")})
    return env


def env_from(secret: str) -> list[dict]:
    return [{"configMapRef": {"name": c.TENANT_CONFIG}}, {"secretRef": {"name": secret}}]


def pod_spec(settings: IngestionSettings, image: str, args: tuple[str, ...], secret: str) -> dict:
    mounts = [{"name": "tmp", "mountPath": TMP_DIR}]
    volumes: list[dict] = [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}]
    pvc = claim(settings.source)
    if pvc is not None:
        mounts.append({"name": "documents", "mountPath": DOCUMENTS_DIR, "readOnly": True})
        volumes.append({"name": "documents", "persistentVolumeClaim": {"claimName": pvc[0], "readOnly": True}})
    container: dict = {
        "name": CONTAINER,
        "image": image,
        "envFrom": env_from(secret),
        "env": document_env(settings),
        "resources": resources(settings).to_k8s(),
        "volumeMounts": mounts,
    }
    if args:
        container["args"] = list(args)
    # Never: a retry is a new pod, so a failed attempt's logs stay readable.
    return secure_pod_spec([container], restartPolicy="Never", volumes=volumes, enableServiceLinks=False)


def job_spec(settings: IngestionSettings, tenant: str, name: str, image: str, args: tuple[str, ...],
             secret: str, ttl: Optional[int]) -> dict:
    spec: dict = {
        "backoffLimit": BACKOFF_LIMIT,
        "activeDeadlineSeconds": DEADLINE_SECONDS,
        "template": {"metadata": {"labels": labels(tenant, name)},
                     "spec": pod_spec(settings, image, args, secret)},
    }
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    return spec


def cronjob(namespace: str, tenant: str, settings: IngestionSettings, secret: str) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": NAME, "namespace": namespace, "labels": labels(tenant, NAME)},
        "spec": {
            "schedule": settings.schedule,
            # Two runs embedding the same documents would race on the same collection.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
            "successfulJobsHistoryLimit": HISTORY,
            "failedJobsHistoryLimit": HISTORY,
            "jobTemplate": {
                "metadata": {"labels": labels(tenant, NAME)},
                "spec": job_spec(settings, tenant, NAME, settings.image, settings.args, secret, TTL_SECONDS),
            },
        },
    }


def preprocess_job(namespace: str, tenant: str, settings: IngestionSettings, secret: str) -> Optional[dict]:
    """The one-off preprocessing Job, or None without a preprocess image.

    It is kept after it finishes (no TTL): a Job the cluster deleted would be created, and
    run, again by the next ``pulumi up --refresh``. ``pulumi up`` doesn't wait for it, and
    neither does the CronJob: a scheduled run that starts first works on the documents as
    they are.
    """
    if settings.preprocess_image is None:
        return None
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": PREPROCESS_NAME, "namespace": namespace, "labels": labels(tenant, PREPROCESS_NAME),
                     "annotations": {"pulumi.com/skipAwait": "true"}},
        "spec": job_spec(settings, tenant, PREPROCESS_NAME, settings.preprocess_image,
                         settings.preprocess_args, secret, None),
    }

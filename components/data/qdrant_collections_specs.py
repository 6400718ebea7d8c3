"""Pure builders for tenants' Qdrant collections, created by the platform.

A tenant's token (``qdrant_specs.collection_token``) reads and writes its one collection but
cannot create it: creating a collection needs global manage access, which only the API key
has. So the platform creates ``tenant-<name>`` with a Job in the data namespace that holds
the API key, and the tenant never sees the key.

- ``collection_job``: the Job, one per tenant, that creates the collection when it is absent
  and otherwise checks that its vectors match the configured size and distance.

The Job's pods reach Qdrant through the data namespace's own policies (the same ones the
snapshot CronJob relies on): ``data_namespace_egress`` lets every pod of the namespace talk
within it, and ``qdrant_specs.network_policy`` admits every pod of the namespace on 6333.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.common.labels import standard_labels
from components.common.security import Resources, container_security_context, secure_pod_spec
from components.data import qdrant_specs as qs

# The snapshot job's pinned image: the script needs nothing beyond the standard library.
IMAGE = qs.SNAPSHOT_IMAGE
RUN_AS = qs.SNAPSHOT_RUN_AS
RESOURCES = Resources(cpu_request="20m", memory_request="32Mi", cpu_limit="100m", memory_limit="64Mi")
BACKOFF_LIMIT = 4
DEADLINE_SECONDS = 900
DISTANCES = ("Cosine", "Dot", "Euclid", "Manhattan")


@dataclass(frozen=True)
class TenantCollection:
    """The collection one tenant gets: its vectors' size (the embedding model's output) and metric."""

    tenant: str
    dimension: int
    distance: str = "Cosine"

    def __post_init__(self):
        if self.dimension < 1:
            raise ValueError(f"tenant {self.tenant!r}: a collection needs a vector size of at least 1")
        if self.distance not in DISTANCES:
            raise ValueError(f"tenant {self.tenant!r}: distance {self.distance!r} is not one of {DISTANCES}")

    @property
    def name(self) -> str:
        return collection_name(self.tenant)


def collection_name(tenant: str) -> str:
    return f"tenant-{tenant}"


def job_name(collection: TenantCollection) -> str:
    # Tenant names have at most 30 characters: this stays within the 63 of the Job's pod label.
    return f"{qs.RELEASE}-collection-{collection.name}"


COLLECTION_SCRIPT = '''\
"""Create one Qdrant collection if it is absent; if present, check its vectors match."""
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

KEY = os.environ["QDRANT_API_KEY"]
NAME = os.environ["COLLECTION"]
URL = os.environ["QDRANT_URL"].rstrip("/") + "/collections/" + urllib.parse.quote(NAME, safe="")
WANT = {"size": int(os.environ["VECTOR_SIZE"]), "distance": os.environ["DISTANCE"]}
ATTEMPTS = int(os.environ.get("ATTEMPTS", "30"))
PAUSE = float(os.environ.get("PAUSE_SECONDS", "5"))


def call(method, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL, data=data, method=method,
                                     headers={"api-key": KEY, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response).get("result")
    except urllib.error.HTTPError as err:
        return err.code, None


def call_when_reachable(method, body=None):
    # Right after a rollout the Service may have no ready peer yet.
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return call(method, body)
        except OSError as err:
            print("qdrant unreachable (" + str(err) + "), attempt " + str(attempt), file=sys.stderr, flush=True)
            time.sleep(PAUSE)
    raise SystemExit("qdrant stayed unreachable at " + URL)


def main():
    status, info = call_when_reachable("GET")
    if status == 404:
        status, _ = call_when_reachable("PUT", {"vectors": WANT})
        if status == 200:
            print("created " + NAME + " with " + json.dumps(WANT), flush=True)
            return 0
        if status != 409:  # 409: created meanwhile by another run; check it below
            print("creating " + NAME + " failed with HTTP " + str(status), file=sys.stderr, flush=True)
            return 1
        status, info = call_when_reachable("GET")
    if status != 200 or not info:
        print("reading " + NAME + " failed with HTTP " + str(status), file=sys.stderr, flush=True)
        return 1
    vectors = info["config"]["params"]["vectors"]
    have = {"size": vectors.get("size"), "distance": vectors.get("distance")}
    if have != WANT:
        # Vectors of another size can't be added; recreating would drop the tenant's data.
        print(NAME + " exists with vectors " + json.dumps(vectors) + " but the config asks for " + json.dumps(WANT)
              + ": restore the tenant's dimension/distance, or delete the collection to have it recreated",
              file=sys.stderr, flush=True)
        return 1
    print(NAME + " already exists with " + json.dumps(WANT), flush=True)
    return 0


sys.exit(main())
'''


def collection_labels(collection: TenantCollection) -> dict[str, str]:
    return standard_labels("qdrant-collection", job_name(collection), "vector-database")


def collection_job(settings: qs.QdrantSettings, collection: TenantCollection) -> dict:
    container = {
        "name": "create-collection",
        "image": IMAGE,
        "command": ["python", "-B", "-c", COLLECTION_SCRIPT],
        "env": [
            {"name": "QDRANT_API_KEY",
             "valueFrom": {"secretKeyRef": {"name": settings.api_key_secret, "key": qs.API_KEY_KEY}}},
            {"name": "QDRANT_URL", "value": f"http://{qs.service_host(settings.namespace)}:{qs.HTTP_PORT}"},
            {"name": "COLLECTION", "value": collection.name},
            {"name": "VECTOR_SIZE", "value": str(collection.dimension)},
            {"name": "DISTANCE", "value": collection.distance},
        ],
        "resources": RESOURCES.to_k8s(),
        "securityContext": container_security_context(RUN_AS),
    }
    labels = collection_labels(collection)
    # No ttlSecondsAfterFinished: the finished Job stays, so the collection is created once
    # and Pulumi, which waits for the Job to complete, sees no drift afterwards.
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(collection), "namespace": settings.namespace, "labels": labels},
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": DEADLINE_SECONDS,
            "template": {"metadata": {"labels": labels},
                         "spec": secure_pod_spec([container], restartPolicy="Never")},
        },
    }

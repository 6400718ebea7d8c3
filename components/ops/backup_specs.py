"""Pure builders of the objects around Velero's release: Schedules, the VolumeSnapshotClasses
Velero picks, the node agent's ConfigMap, the static-keys Secret's metadata and the namespace's
NetworkPolicies.

Schedules are Pulumi resources created after the release (not the chart's ``schedules``
value): each is validated against the Schedule CRD in the offline plan, shows up as its own
object in review, and waits for the CRDs and the snapshot classes it relies on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from components.cluster.info import IDENTITY_ENDPOINTS, ObjectStore, WorkloadIdentity
from components.common.labels import PART_OF, standard_labels
from components.common.security import Resources
from components.ops.backup_values import CREDENTIALS_SECRET, METRICS_PORT, NODE_AGENT_CONFIG, STORAGE_LOCATION
from components.platform.network_policies import namespace_peer, network_policy, tcp

# Velero leaves out every object (a claim: and its volume) carrying this label.
EXCLUDE_LABEL = {"velero.io/exclude-from-backup": "true"}
# Velero's CSI plugin snapshots a driver's volumes with the VolumeSnapshotClass so labelled.
SNAPSHOT_CLASS_LABEL = {"velero.io/csi-volumesnapshot-class": "true"}
# The RWO (block) CSI driver of each cloud; an existing cluster's classes are its own (the NFS
# class of ``storage.volumeSnapshots`` is the platform's, labelled by the storage component).
RWO_DRIVERS = {"eks": "ebs.csi.aws.com", "gke": "pd.csi.storage.gke.io", "aks": "disk.csi.azure.com"}
API_SERVER_PORTS = (443, 6443)
IDENTITY_PORT = 80
COMPONENT = "backups"


@dataclass(frozen=True)
class ScheduleSettings:
    name: str                      # "platform", "tenants"
    cron: str
    retention_days: int
    namespaces: tuple[str, ...]


def go_duration(days: int) -> str:
    """A Backup TTL as Velero prints it (Go's time.Duration): 30 days -> ``720h0m0s``."""
    return f"{days * 24}h0m0s"


def schedule(s: ScheduleSettings, namespace: str, instance: str, snapshots: bool, move_data: bool) -> dict:
    template: dict = {
        "includedNamespaces": list(s.namespaces),
        "storageLocation": STORAGE_LOCATION,
        "ttl": go_duration(s.retention_days),
        "snapshotVolumes": snapshots,
        # Volumes go through CSI snapshots only, never by copying files out of running pods.
        "defaultVolumesToFsBackup": False,
        "metadata": {"labels": {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": COMPONENT,
                                "genai-platform.io/backup-schedule": s.name}},
    }
    if snapshots:
        template["snapshotMoveData"] = move_data
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Schedule",
        "metadata": {"name": s.name, "namespace": namespace,
                     "labels": standard_labels(f"backup-{s.name}", instance, COMPONENT)},
        "spec": {
            "schedule": s.cron,
            # Backups outlive the Schedule object: deleting or replacing it must not delete them.
            "useOwnerReferencesInBackup": False,
            "template": template,
        },
    }


def snapshot_classes(cluster_kind: str) -> list[dict]:
    """The VolumeSnapshotClass Velero uses for the cloud's RWO driver (none on existing clusters).

    ``Retain``: the cloud snapshot outlives the VolumeSnapshot objects (and a lost namespace);
    Velero itself switches it to Delete when the backup expires or after the data mover copied it.
    """
    driver = RWO_DRIVERS.get(cluster_kind)
    if driver is None:
        return []
    name = f"velero-{driver.split('.', 1)[0]}"
    return [{
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotClass",
        "metadata": {"name": name, "labels": {**standard_labels(name, "backups", COMPONENT), **SNAPSHOT_CLASS_LABEL}},
        "driver": driver,
        "deletionPolicy": "Retain",
    }]


def data_mover_labels(identity: Optional[WorkloadIdentity]) -> dict[str, str]:
    """Labels of the data-mover pods. Setting any replaces Velero's copying of the node agent's
    third-party labels, so the identity's labels (Azure's token injection) are restated."""
    return {"app.kubernetes.io/name": "velero-data-mover", "app.kubernetes.io/component": COMPONENT,
            "app.kubernetes.io/part-of": PART_OF, **dict(identity.pod_labels if identity else {})}


def node_agent_config(namespace: str, instance: str, identity: Optional[WorkloadIdentity],
                      data_mover: Resources) -> dict:
    """The node agent's ConfigMap (``--node-agent-configmap``): requests and limits of the
    data-mover pods it launches (BestEffort otherwise) and their labels. Velero reads the one
    key's JSON; it must exist before the node agent starts (Velero 1.17+ exits otherwise)."""
    config = {
        "podResources": {"cpuRequest": data_mover.cpu_request, "memoryRequest": data_mover.memory_request,
                         "cpuLimit": data_mover.cpu_limit, "memoryLimit": data_mover.memory_limit},
        "podLabels": data_mover_labels(identity),
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NODE_AGENT_CONFIG, "namespace": namespace,
                     "labels": standard_labels(NODE_AGENT_CONFIG, instance, COMPONENT)},
        "data": {"node-agent-config.json": json.dumps(config, sort_keys=True)},
    }


def credentials_secret_metadata(namespace: str, instance: str) -> dict:
    return {"name": CREDENTIALS_SECRET, "namespace": namespace,
            "labels": standard_labels(CREDENTIALS_SECRET, instance, COMPONENT)}


def store_port(store: ObjectStore) -> int:
    """The object store's port: HTTPS for cloud stores, the endpoint's own on-prem."""
    if not isinstance(store.endpoint, str):
        return 443
    url = urlsplit(store.endpoint)
    return url.port or (443 if url.scheme == "https" else 80)


def network_policies(namespace: str, labels: Mapping[str, str], *, cluster_kind: str, object_store_port: int,
                     workload_identity: bool, metrics_namespace: Optional[str]) -> list[dict]:
    """Velero's allowances on top of the baseline, for every pod of the namespace (server,
    node agent, data movers and maintenance Jobs all reach the same places): the API server;
    the object store, whose address has no labels (any address on its port); on EKS and GKE
    the node-local endpoint that serves workload credentials; and Prometheus' scrapes."""
    out = [
        network_policy("allow-api-server", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": tcp(API_SERVER_PORTS)}]}),
        network_policy("allow-object-store", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": tcp([object_store_port])}]}),
    ]
    identity_cidr = IDENTITY_ENDPOINTS.get(cluster_kind) if workload_identity else None
    if identity_cidr:
        out.append(network_policy("allow-workload-identity", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": identity_cidr}}], "ports": tcp([IDENTITY_PORT])}]}))
    if metrics_namespace:
        out.append(network_policy("allow-metrics-scrape", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [namespace_peer(metrics_namespace)], "ports": tcp([METRICS_PORT])}]}))
    return out

"""Backups: Velero writing the cluster's Kubernetes objects and volumes to the cluster's bucket.

Creates:
- the backups namespace (``PlatformNamespace``): PSA ``restricted``, or ``baseline`` when the
  data mover runs, because Velero's data-mover pods run as root (they restore files with
  their owners) and accept no security context; with the baseline policies plus egress to the
  API server, the object store and (EKS, GKE) the node-local identity endpoint, and ingress
  from Prometheus on the metrics port;
- on an S3-compatible store with static keys (existing clusters), the Secret holding them in
  the AWS credentials-file format, mounted by the chart; cloud clusters use the ``backups``
  workload identity and no Secret;
- with the data mover, the node agent's ConfigMap (resources and labels of data-mover pods);
- the Helm release (chart ``velero``, pinned version): server, plugin, storage location in
  ``<bucket>/<prefix>``, CSI snapshots, node agent and ServiceMonitor/PodMonitor as set;
- with snapshots on a cloud cluster, the VolumeSnapshotClass of its RWO CSI driver labelled
  for Velero;
- one ``Schedule`` per ``ScheduleSettings``, after the release and the snapshot classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import ClusterObject, child_opts, opaque_secret
from components.common.labels import standard_labels
from components.common.security import Resources
from components.ops import backup_specs as specs
from components.ops.backup_specs import EXCLUDE_LABEL, ScheduleSettings
from components.ops.backup_values import (
    CHART,
    CREDENTIALS_KEY,
    REPOSITORY,
    STORAGE_LOCATION,
    VeleroSettings,
    aws_credentials_file,
    credentials_mode,
    velero_values,
)
from components.ops.contracts import VELERO_RELEASE
from components.platform.namespace import NamespaceArgs, PlatformNamespace

__all__ = ["EXCLUDE_LABEL", "BackupArgs", "Backups", "ScheduleSettings"]

IDENTITY_NAME = "backups"
DATA_MOVER_RESOURCES = Resources("250m", "512Mi", "2", "2Gi")


@dataclass(frozen=True)
class BackupArgs:
    cluster: ClusterInfo
    namespace: str                 # "velero"
    chart_version: str
    prefix: str                    # object prefix in the bucket
    schedules: tuple[ScheduleSettings, ...]
    snapshots: bool
    snapshot_move_data: bool
    resources: Resources           # the Velero server
    metrics_namespace: Optional[str] = None   # Prometheus' namespace; None: no ServiceMonitor
    depends_on: tuple[pulumi.Resource, ...] = ()


class Backups(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    schedules: dict[str, k8s.apiextensions.CustomResource]
    storage_location: str

    def __init__(self, name: str, args: BackupArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:ops:Backups", name, None, opts)
        cluster, ns = args.cluster, args.namespace
        provider = cluster.provider
        store = cluster.object_store
        if store is None:
            raise ValueError("backups: the cluster has no object store for Velero to write to")
        identity = cluster.identities.get(IDENTITY_NAME)
        mode = credentials_mode(store, identity)
        node_agent = args.snapshots and args.snapshot_move_data

        policy_labels = standard_labels("network-policy", ns, specs.COMPONENT)
        namespace = PlatformNamespace(f"{name}-ns", NamespaceArgs(
            provider=provider,
            namespace=ns,
            component=specs.COMPONENT,
            kubernetes_version=cluster.kubernetes_version,
            pod_security="baseline" if node_agent else "restricted",
            extra_policies=tuple(specs.network_policies(
                ns, policy_labels, cluster_kind=cluster.kind, object_store_port=specs.store_port(store),
                workload_identity=mode == "identity", metrics_namespace=args.metrics_namespace)),
            protect=cluster.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        before_release: list[pulumi.Resource] = [namespace.resource, *args.depends_on]

        if mode == "keys":
            keys = pulumi.Output.all(store.access_key_id, store.secret_access_key).apply(
                lambda v: aws_credentials_file(v[0], v[1]))
            before_release.append(opaque_secret(
                f"{name}-credentials", specs.credentials_secret_metadata(ns, name), {CREDENTIALS_KEY: keys},
                child_opts(self, provider, depends_on=[namespace.resource])))
        if node_agent:
            cm = specs.node_agent_config(ns, name, identity, DATA_MOVER_RESOURCES)
            before_release.append(k8s.core.v1.ConfigMap(
                f"{name}-node-agent", metadata=cm["metadata"], data=cm["data"],
                opts=child_opts(self, provider, depends_on=[namespace.resource])))

        settings = VeleroSettings(
            namespace=ns, prefix=args.prefix, resources=args.resources, node_agent=node_agent,
            repository_namespaces=tuple(dict.fromkeys(n for s in args.schedules for n in s.namespaces)),
            metrics_namespace=args.metrics_namespace)
        self.values = velero_values(store, identity, settings)
        self.release = k8s.helm.v3.Release(
            name,
            name=VELERO_RELEASE,
            chart=CHART,
            version=args.chart_version,
            repository_opts={"repo": REPOSITORY},
            namespace=ns,
            values=self.values,
            opts=child_opts(self, provider, depends_on=before_release),
        )

        classes = []
        for vsc in specs.snapshot_classes(cluster.kind) if args.snapshots else []:
            classes.append(ClusterObject(
                f"{name}-{vsc['metadata']['name']}", api_version=vsc["apiVersion"], kind=vsc["kind"],
                metadata=vsc["metadata"], fields={"driver": vsc["driver"], "deletionPolicy": vsc["deletionPolicy"]},
                opts=child_opts(self, provider)))

        self.storage_location = STORAGE_LOCATION
        self.schedules = {}
        for s in args.schedules:
            obj = specs.schedule(s, ns, name, args.snapshots, args.snapshot_move_data)
            # A new Schedule backs up at once: the CRDs, the storage location and the snapshot
            # classes must be there first.
            self.schedules[s.name] = k8s.apiextensions.CustomResource(
                f"{name}-{s.name}", api_version=obj["apiVersion"], kind=obj["kind"],
                metadata=obj["metadata"], spec=obj["spec"],
                opts=child_opts(self, provider, depends_on=[self.release, *classes, *args.depends_on]))

        self._outputs = {
            "namespace": ns,
            "chartVersion": args.chart_version,
            "storageLocation": self.storage_location,
            "bucket": store.bucket,
            "prefix": args.prefix,
            "snapshots": args.snapshots,
            "dataMover": node_agent,
            "schedules": {s.name: {"cron": s.cron, "retentionDays": s.retention_days, "namespaces": list(s.namespaces)}
                          for s in args.schedules},
        }
        self.register_outputs(self._outputs)

    def outputs(self) -> dict:
        """What the stack exports about its backups."""
        return dict(self._outputs)

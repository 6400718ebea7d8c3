"""``protected-stateful``: in a protected stack, nothing that holds data can be deleted by Pulumi.

The stack's ``protect`` setting says whether it is protected: it is what the program itself
reads to protect its stateful resources, and both the CLI (``PULUMI_CONFIG``) and the offline
plan hand it to the policies. Inferring it from the resources (say, "the cluster is
protected") would let a forgotten ``protect`` on the cluster switch the whole check off.

What holds data:
- cloud clusters (every workload and volume lives in them), buckets and storage accounts,
  file systems, image registries, encryption keys (without them the encrypted data is
  unreadable) and the Azure resource group that contains all of these;
- PersistentVolumeClaims, StatefulSets with volumeClaimTemplates, and the database clusters
  the operators run (CloudNativePG, Percona MongoDB, K8ssandra, MySQL InnoDB); a CloudNativePG
  ``Database`` only when deleting it drops the database (``databaseReclaimPolicy: delete``);
- Helm releases that run data: the vector databases (Qdrant, Milvus), Valkey/Redis when they
  keep their data on volumes (the in-memory session stores and rate-limit counters don't),
  and the database operators (removing one stops failover and backups of every cluster it
  manages, and CloudNativePG's chart deletes its CRDs, and every cluster object, with it);
- the namespaces holding any of the above (deleting a namespace deletes everything in it).
"""

from __future__ import annotations

from collections.abc import Mapping

from .k8s import api_kind, chart_name, get, is_release, name_of, namespace_of
from .model import Finding, PolicyContext, Record

STATEFUL_CLOUD_TYPES = frozenset({
    "aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster", "azure-native:containerservice:ManagedCluster",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "gcp:storage/bucket:Bucket",
    "azure-native:storage:StorageAccount", "azure-native:storage:BlobContainer", "azure-native:storage:FileShare",
    "aws:efs/fileSystem:FileSystem", "gcp:filestore/instance:Instance",
    "aws:ecr/repository:Repository", "gcp:artifactregistry/repository:Repository",
    "azure-native:containerregistry:Registry",
    "aws:kms/key:Key", "gcp:kms/keyRing:KeyRing", "gcp:kms/cryptoKey:CryptoKey",
    "azure-native:resources:ResourceGroup",
})
DATABASE_KINDS = frozenset({
    ("postgresql.cnpg.io", "Cluster"),
    ("psmdb.percona.com", "PerconaServerMongoDB"),
    ("k8ssandra.io", "K8ssandraCluster"),
    ("mysql.oracle.com", "InnoDBCluster"),
})
VECTOR_DB_CHARTS = frozenset({"qdrant", "milvus"})
CACHE_CHARTS = frozenset({"valkey", "redis"})
OPERATOR_CHARTS = frozenset({"cloudnative-pg", "mysql-operator", "psmdb-operator", "k8ssandra-operator"})


def _volumes_requested(values: Mapping) -> bool:
    """Whether a Valkey/Redis release keeps data on volumes (primary or replica persistence)."""
    for path in (("dataStorage",), ("persistence",), ("master", "persistence"), ("primary", "persistence"),
                 ("replica", "persistence")):
        section = get(values, *path)
        if not isinstance(section, Mapping):
            continue
        if section.get("enabled") is True:
            return True
        if "enabled" not in section and (section.get("size") or section.get("storageClass")):
            return True
    return False


def why_stateful(record: Record) -> str | None:
    """What data ``record`` holds, or None when losing it loses nothing."""
    if record.type in STATEFUL_CLOUD_TYPES:
        return "holds data"
    if is_release(record):
        chart = chart_name(record)
        if chart in VECTOR_DB_CHARTS:
            return "runs a vector database"
        if chart in CACHE_CHARTS and _volumes_requested(record.props.get("values") or {}):
            return "keeps its data on volumes"
        if chart in OPERATOR_CHARTS:
            return "runs the operator of database clusters"
        return None
    kind = api_kind(record)
    if kind is None:
        return None
    if kind == ("", "PersistentVolumeClaim"):
        return "is a volume"
    if kind in DATABASE_KINDS:
        return "is a database cluster"
    if kind == ("postgresql.cnpg.io", "Database") and get(record.props, "spec", "databaseReclaimPolicy") == "delete":
        return "drops its database when deleted (databaseReclaimPolicy: delete)"
    if kind == ("apps", "StatefulSet") and get(record.props, "spec", "volumeClaimTemplates"):
        return "owns volumes (volumeClaimTemplates)"
    return None


def protected_stateful(records: list[Record], ctx: PolicyContext) -> list[Finding]:
    if not ctx.stack_protected:
        return []
    fix = "give it the stack's protect setting (protect=... in its resource options, as its siblings have)"
    out, data_namespaces = [], set()
    for r in records:
        why = why_stateful(r)
        if why is None:
            continue
        if namespace_of(r):
            data_namespaces.add(namespace_of(r))
        if not r.protect:
            out.append(Finding(r.urn, f"{why} but is not protected in a protected stack: {fix}"))
    for r in records:
        name = get(r.props, "metadata", "name") or name_of(r)
        if api_kind(r) == ("", "Namespace") and not r.protect and name in data_namespaces:
            out.append(Finding(r.urn, f"holds stateful resources but is not protected (deleting it deletes "
                                      f"them): {fix}"))
    return out

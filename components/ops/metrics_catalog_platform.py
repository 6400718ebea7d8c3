"""Metric names of the platform's own exporters (Prometheus, Kubernetes, operators, databases,
backups) that the alert rules and the platform dashboard use, per exporter.

Each set was read from the exporter's source at the version the platform pins; the comment
above each entry names the file and version. Counters are listed under their exposed names
(client_golang keeps the ``_total`` the code declares). The alert rules are held to this
catalog and to ``metrics_catalog.SERVING_METRICS`` by the tests, so a misspelt or invented
name fails there instead of producing an alert that can never fire.

Labels the rules rely on, for the same versions:

- kube-state-metrics is scraped with ``honorLabels: true`` (kube-prometheus-stack 88.5.3
  values), so ``namespace`` is the object's namespace; the kubelet likewise.
- cert-manager and KEDA export their own ``namespace`` label while their ServiceMonitors keep
  ``honorLabels: false`` (the cert-manager v1.21.1 chart default, the KEDA 2.20.2 chart has no
  such key): Prometheus stores the object's namespace as ``exported_namespace``.
- The CloudNativePG, MySQL, MongoDB and Redis exporters add no ``namespace`` of their own; their
  series carry the scraped pod's namespace and pod.
"""

from __future__ import annotations

# Prometheus v3.14.0 (kube-prometheus-stack 88.5.3 ``prometheusSpec.image.tag``): the synthetic
# ``up`` series of every target (scrape/scrape.go) and ``ALERTS`` (rules/alerting.go
# alertMetricName).
PROMETHEUS = frozenset({"up", "ALERTS"})

# kube-state-metrics v2.20.0 (appVersion of the kube-state-metrics chart 8.4.0 that
# kube-prometheus-stack 88.5.3 depends on): internal/store/deployment.go, pod.go,
# statefulset.go, daemonset.go, horizontalpodautoscaler.go, node.go, persistentvolumeclaim.go.
# Condition metrics carry ``condition`` and a lower-case ``status`` (true|false|unknown;
# utils.go addConditionMetrics); node capacity carries ``resource`` with the name sanitized
# (``nvidia.com/gpu`` -> ``nvidia_com_gpu``).
KUBE_STATE_METRICS = frozenset({
    "kube_deployment_spec_replicas", "kube_deployment_status_replicas",
    "kube_deployment_status_replicas_available", "kube_deployment_status_replicas_ready",
    "kube_deployment_status_condition",
    "kube_statefulset_replicas", "kube_statefulset_status_replicas_ready",
    "kube_daemonset_status_desired_number_scheduled", "kube_daemonset_status_number_ready",
    "kube_horizontalpodautoscaler_spec_max_replicas", "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_pod_status_ready", "kube_pod_status_phase", "kube_pod_owner", "kube_pod_info",
    "kube_pod_container_status_restarts_total", "kube_pod_container_status_waiting_reason",
    "kube_node_info", "kube_node_status_condition", "kube_node_status_capacity", "kube_node_status_allocatable",
    "kube_persistentvolumeclaim_info",
})

# Kubelet volume stats (Kubernetes pkg/kubelet/metrics/collectors/volume_stats.go), labels
# ``namespace`` and ``persistentvolumeclaim``; scraped from /metrics by the kube-prometheus-stack
# 88.5.3 kubelet ServiceMonitor. Kubernetes 1.34.0 and 1.34.1 lost them (kubernetes#133847,
# fixed in 1.34.2).
KUBELET = frozenset({
    "kubelet_volume_stats_capacity_bytes", "kubelet_volume_stats_available_bytes",
    "kubelet_volume_stats_used_bytes",
})

# node-exporter v1.12.1 (appVersion of prometheus-node-exporter chart 4.56.1):
# collector/cpu_common.go, collector/meminfo.go (node_memory_<field>_bytes),
# collector/filesystem_common.go.
NODE_EXPORTER = frozenset({
    "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes", "node_filesystem_size_bytes",
})

# cert-manager v1.21.1: internal/collectors/certificate_collector.go. Labels name, namespace,
# issuer_name, issuer_kind, issuer_group; the ready status also ``condition``
# (True|False|Unknown).
CERT_MANAGER = frozenset({
    "certmanager_certificate_expiration_timestamp_seconds", "certmanager_certificate_ready_status",
})

# CloudNativePG 1.30.0 (operator of the cloudnative-pg chart 0.29.0, as
# components/data/postgres_specs.py pins): the instance manager's own collector
# (pkg/management/postgres/webserver/metricserver/pg_collector.go, namespace ``cnpg``, subsystem
# ``collector``; the backup timestamps are set on the primary from the Cluster status) and the
# default queries (config/manager/default-monitoring.yaml, ``pg_replication``: ``lag`` is 0 on
# the primary and on a replica that has replayed all it received, so an idle cluster reads 0).
CLOUDNATIVE_PG = frozenset({
    "cnpg_collector_up", "cnpg_collector_last_available_backup_timestamp",
    "cnpg_collector_last_failed_backup_timestamp",
    "cnpg_pg_replication_lag", "cnpg_pg_replication_in_recovery", "cnpg_pg_replication_is_wal_receiver_up",
    "cnpg_pg_replication_streaming_replicas",
})

# KEDA 2.20.2: pkg/metricscollector/prommetrics.go (namespace ``keda``). The ScaledObject's
# namespace label is stored as ``exported_namespace`` (see the module docstring).
KEDA = frozenset({
    "keda_scaled_object_errors_total", "keda_scaler_active", "keda_scaler_metrics_value",
    "keda_scaler_detail_errors_total",
})

# Velero 1.18.1 (appVersion of the velero chart 12.1.0): pkg/metrics/metrics.go, label
# ``schedule`` (empty for ad-hoc backups). backup_last_status is 1 after a successful backup and
# 0 after a failed or partially failed one; backup_last_successful_timestamp is recomputed from
# the Backup objects on every resync, so it survives a restart of the server.
VELERO = frozenset({
    "velero_backup_attempt_total", "velero_backup_success_total", "velero_backup_failure_total",
    "velero_backup_partial_failure_total", "velero_backup_last_status",
    "velero_backup_last_successful_timestamp",
})

# mysqld_exporter v0.15.1 (components/data/mysql_specs.py EXPORTER_IMAGE): collector/exporter.go.
# Group Replication's lag is only exported by the perf_schema.replication_group_member_stats
# collector, which is off by default, so no replication-lag metric is listed.
MYSQLD_EXPORTER = frozenset({"mysql_up"})

# mongodb_exporter v0.52.0 (components/data/mongodb_specs.py EXPORTER_IMAGE, run with
# --compatible-mode and --collector.diagnosticdata): exporter/general_collector.go (mongodb_up)
# and exporter/v1_compatibility.go replSetMetrics (labels set, name, state, self; one series per
# secondary in every member's exporter).
MONGODB_EXPORTER = frozenset({"mongodb_up", "mongodb_mongod_replset_member_replication_lag"})

# redis_exporter v1.79.0 (the valkey chart 0.11.0 default exporter tag): exporter/exporter.go,
# default namespace ``redis`` (main.go).
REDIS_EXPORTER = frozenset({"redis_up"})

PLATFORM_METRICS: dict[str, frozenset[str]] = {
    "prometheus": PROMETHEUS,
    "kube-state-metrics": KUBE_STATE_METRICS,
    "kubelet": KUBELET,
    "node-exporter": NODE_EXPORTER,
    "cert-manager": CERT_MANAGER,
    "cloudnative-pg": CLOUDNATIVE_PG,
    "keda": KEDA,
    "velero": VELERO,
    "mysqld-exporter": MYSQLD_EXPORTER,
    "mongodb-exporter": MONGODB_EXPORTER,
    "redis-exporter": REDIS_EXPORTER,
}

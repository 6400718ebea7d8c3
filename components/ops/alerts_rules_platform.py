"""Alert rules for the platform's state: volumes, databases and certificates.

Volumes are watched through the kubelet's volume stats for every PVC of the cluster (the model
catalog, the databases, Prometheus, Loki, tenants' volumes); databases through their exporters
(CloudNativePG's instance manager, mysqld_exporter, mongodb_exporter, redis_exporter, as
components/data/*_specs.py run them) and kube-state-metrics; certificates through
cert-manager's own metrics, whose certificate namespace Prometheus stores as
``exported_namespace`` (the chart's ServiceMonitor keeps ``honorLabels: false``).
"""

from __future__ import annotations

from components.ops.alerts_rules_base import Alert, RuleSettings, Topic, ns, num, sel

PVC_BY = "namespace, persistentvolumeclaim"
USED_RATIO = ("1 - kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes")
# Replication lag (seconds) a replica may carry for a while without anyone needing to act.
REPLICATION_LAG_SECONDS = 60
CERT_WARNING_DAYS = 14
CERT_CRITICAL_DAYS = 3


def full_ratio(warning_ratio: float) -> float:
    """Where "nearly full" becomes "full": halfway between the warning ratio and 100%."""
    return round((1 + warning_ratio) / 2, 4)


def storage_topic(s: RuleSettings) -> Topic:
    r = s.thresholds.pvc_full_ratio
    used = f"max by ({PVC_BY}) ({USED_RATIO})"
    where = "PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }}"
    checks = (
        "kubectl -n <ns> get pvc <pvc> -o wide",
        "kubectl -n <ns> get pods -o json | jq -r '.items[] | select(any(.spec.volumes[]?; "
        ".persistentVolumeClaim.claimName == \"<pvc>\")) | .metadata.name'",
        'PromQL: kubelet_volume_stats_used_bytes{namespace="<ns>", persistentvolumeclaim="<pvc>"}',
    )
    fix = """Raise the size the stack gives the volume and pulumi up (the platform's
    StorageClasses allow expansion): the model catalog's size, data.<engine>.storageGiB for a
    database, observability.prometheus.storageGiB or observability.logs.storageGiB; a tenant's
    volumes through the tenant's settings. Or free space: remove models no stack lists from the
    catalog, shorten a retention."""
    return Topic("storage", (
        Alert(
            "PersistentVolumeNearlyFull",
            f"{used} > {num(r)}",
            "15m", "warning",
            "A persistent volume is nearly full",
            f"{where} is {{{{ $value | humanizePercentage }}}} full.",
            f"The volume is more than {num(r * 100)}% full (observability.pvcFullRatio).",
            checks, fix,
        ),
        Alert(
            "PersistentVolumeFull",
            f"{used} > {num(full_ratio(r))}",
            "5m", "critical",
            "A persistent volume is full",
            f"{where} is {{{{ $value | humanizePercentage }}}} full.",
            f"""More than {num(full_ratio(r) * 100)}% is used: writes fail soon (a database stops
            accepting transactions, catalog downloads fail, Prometheus and Loki drop data).""",
            checks, fix,
        ),
        Alert(
            "PersistentVolumeFillingUp",
            f"""
            max by ({PVC_BY}) (predict_linear(kubelet_volume_stats_available_bytes[6h], 24 * 3600)) < 0
            and on ({PVC_BY})
              {used} > 0.5
            """,
            "1h", "warning",
            "A persistent volume will be full within a day",
            f"{where} fills up within 24 hours at the rate of the last 6 hours.",
            """At the growth of the last six hours the volume is full within 24 hours (only
            volumes already more than half full are judged). Growth that stops on its own, such as
            a model download into the catalog, needs nothing.""",
            (*checks, 'PromQL: predict_linear(kubelet_volume_stats_available_bytes{namespace="<ns>", '
                      'persistentvolumeclaim="<pvc>"}[6h], 24 * 3600)'),
            fix,
        ),
    ))


def _up_zero(metric: str, namespace: str) -> str:
    return f"(max by (namespace, pod) ({sel(metric, ns(namespace))}) == 0)"


def database_topic(s: RuleSettings) -> Topic:
    d = s.data_namespace
    assert d is not None
    lag = num(REPLICATION_LAG_SECONDS)
    pods = f"kubectl -n {d} get pods -o wide"
    return Topic("databases", (
        Alert(
            "DatabaseDown",
            "\nor ".join(_up_zero(m, d) for m in ("cnpg_collector_up", "mysql_up", "mongodb_up", "redis_up")),
            "5m", "critical",
            "A database server does not answer its exporter",
            "The exporter in {{ $labels.namespace }}/{{ $labels.pod }} cannot reach its database.",
            """The metrics exporter next to a database server (CloudNativePG's instance manager,
            mysqld_exporter, mongodb_exporter or redis_exporter) cannot connect to it.""",
            (
                pods,
                f"kubectl -n {d} logs <pod> --all-containers --tail=100",
                f"kubectl -n {d} get clusters.postgresql.cnpg.io,innodbclusters,perconaservermongodbs",
                f'PromQL: {{__name__=~"cnpg_collector_up|mysql_up|mongodb_up|redis_up", namespace="{d}"}}',
            ),
            f"""By the server's log: out of disk (see PersistentVolumeFull), out of memory (raise
            data.<engine>.resources), or a failover that did not complete (the operator's status
            and log: kubectl -n {d} describe <cluster object>).""",
        ),
        Alert(
            "DatabasePodNotReady",
            f"""
            (
              max by (namespace, pod) ({sel("kube_pod_status_ready", ns(d), 'condition="false"')}) == 1
              and on (namespace, pod)
              max by (namespace, pod) ({sel("kube_pod_status_phase", ns(d), 'phase=~"Pending|Running"')}) == 1
            )
            unless on (namespace, pod)
              max by (namespace, pod) ({sel("kube_pod_owner", ns(d), 'owner_kind="Job"')}) == 1
            """,
            "15m", "warning",
            "A database pod is not ready",
            "Pod {{ $labels.namespace }}/{{ $labels.pod }} has not been ready for 15 minutes.",
            f"""A database, pooler or router pod in {d} is not ready (Jobs such as backups and
            database setup are not counted). A replicated database keeps serving with one member
            down, but without its redundancy.""",
            (
                pods,
                f"kubectl -n {d} describe pod <pod>",
                f"kubectl -n {d} logs <pod> --all-containers --tail=100",
            ),
            """Pending: no node with room in the pod's zone (node group size, the volume's zone).
            Crash-looping: the container's log. A replica that cannot rejoin: the operator's
            re-clone procedure (CloudNativePG: kubectl cnpg destroy <namespace>/<cluster>
            <instance>, then the operator recreates it).""",
        ),
        Alert(
            "PostgresReplicationLagHigh",
            f"max by (namespace, pod) ({sel('cnpg_pg_replication_lag', ns(d))}) > {lag}",
            "5m", "warning",
            "A PostgreSQL replica lags behind its primary",
            "Replica {{ $labels.namespace }}/{{ $labels.pod }} is {{ $value | humanizeDuration }} behind the primary.",
            f"""The replica has received WAL it has not replayed for more than {lag} s
            (CloudNativePG's pg_replication query reads 0 on an idle, caught-up replica). A
            failover to it would lose that much, and reads from it are stale.""",
            (
                f"kubectl cnpg status -n {d} <cluster>",
                f'PromQL: cnpg_pg_replication_lag{{namespace="{d}"}}',
                f'PromQL: cnpg_pg_replication_is_wal_receiver_up{{namespace="{d}"}}',
            ),
            """A replica short of CPU or IOPS (raise data.postgres.resources or the volume's class),
            long queries on it holding replay back, or a broken stream (its log).""",
        ),
        Alert(
            "MongoReplicationLagHigh",
            f"max by (namespace, set, name) ({sel('mongodb_mongod_replset_member_replication_lag', ns(d))}) > {lag}",
            "5m", "warning",
            "A MongoDB secondary lags behind its primary",
            "Member {{ $labels.name }} of replica set {{ $labels.set }} is {{ $value }} s behind the primary.",
            f"""The secondary's last applied operation is more than {lag} s older than the
            primary's (mongodb_exporter in compatible mode).""",
            (
                f"kubectl -n {d} exec <member-pod> -c mongod -- mongosh --quiet --eval 'rs.printSecondaryReplicationInfo()'",
                f'PromQL: mongodb_mongod_replset_member_replication_lag{{namespace="{d}"}}',
            ),
            """A secondary short of CPU, memory or IOPS (raise data.mongodb.resources), or an oplog
            too small for the write rate (the secondary then needs an initial sync).""",
        ),
        Alert(
            "PostgresBackupFailed",
            f"""
            max by (namespace, pod) ({sel("cnpg_collector_last_failed_backup_timestamp", ns(d))})
              > max by (namespace, pod) ({sel("cnpg_collector_last_available_backup_timestamp", ns(d))})
            """,
            "5m", "warning",
            "The last PostgreSQL backup failed",
            "The newest backup of the cluster behind {{ $labels.namespace }}/{{ $labels.pod }} failed "
            "(at {{ $value | humanizeTimestamp }}) after the last good one.",
            """CloudNativePG's most recent base backup to the object store failed, so the newest
            good backup is older than the schedule promises.""",
            (
                f"kubectl -n {d} get backups.postgresql.cnpg.io --sort-by=.metadata.creationTimestamp",
                f"kubectl -n {d} describe backups.postgresql.cnpg.io <newest>",
                f"kubectl cnpg status -n {d} <cluster>",
            ),
            f"""Usually the bucket's credentials or reachability: the workload identity, the egress
            policy to the cloud's identity endpoint, the keys Secret on premises. Once fixed,
            start a backup: kubectl cnpg backup -n {d} <cluster>.""",
        ),
    ))


def certificates_topic(s: RuleSettings) -> Topic:
    expiry = ("min by (exported_namespace, name) (certmanager_certificate_expiration_timestamp_seconds > 0)"
              " - time()")
    where = "Certificate {{ $labels.exported_namespace }}/{{ $labels.name }}"
    checks = (
        "kubectl -n <ns> describe certificate <name>",
        "kubectl -n <ns> get certificaterequests,orders,challenges",
        "kubectl -n <cert-manager-namespace> logs deploy/cert-manager --tail=200",
        'PromQL: certmanager_certificate_ready_status{exported_namespace="<ns>", name="<name>"}',
    )
    return Topic("certificates", (
        Alert(
            "CertificateExpiringSoon",
            f"{expiry} < {CERT_WARNING_DAYS} * 86400 > {CERT_CRITICAL_DAYS} * 86400",
            "1h", "warning",
            "A certificate expires within two weeks",
            f"{where} expires in {{{{ $value | humanizeDuration }}}}.",
            f"""cert-manager renews a certificate when a third of its lifetime is left (30 days
            for the gateway's 90-day certificate), so less than {CERT_WARNING_DAYS} days left
            means renewal has been failing for a while.""",
            checks,
            """ACME: the challenge must reach the gateway (HTTP-01: port 80 of the public Gateway;
            DNS-01: the DNS API token Secret). An existing issuer: its own health. cmctl renew -n
            <ns> <name> retries at once.""",
        ),
        Alert(
            "CertificateExpiryImminent",
            f"{expiry} < {CERT_CRITICAL_DAYS} * 86400",
            "10m", "critical",
            "A certificate expires within three days",
            f"{where} expires in {{{{ $value | humanizeDuration }}}}.",
            "Clients will reject the gateway (or whatever serves this certificate) once it expires.",
            checks,
            """As for CertificateExpiringSoon. If renewal cannot be fixed in time, put a certificate
            issued elsewhere into the Secret the Certificate names, and fix the issuer after.""",
        ),
        Alert(
            "CertificateNotReady",
            'max by (exported_namespace, name) (certmanager_certificate_ready_status{condition!="True"}) == 1',
            "30m", "warning",
            "A certificate is not ready",
            f"{where} has not been Ready for 30 minutes.",
            """cert-manager could not issue or renew the certificate (the old Secret, if any, stays
            in use until it expires).""",
            checks,
            """The failing CertificateRequest, Order or Challenge names the cause: DNS, HTTP-01
            reachability, an issuer that is not ready, the ACME server's rate limits.""",
        ),
    ))

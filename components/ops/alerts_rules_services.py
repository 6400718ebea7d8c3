"""Alert rules for the platform's services: the gateway, backups and logs.

Gateway: Envoy Gateway v1.9.0 runs each Gateway's Envoy pods in its controller namespace, in a
Deployment named ``envoy-<gateway namespace>-<gateway name>-<hash>``
(internal/infrastructure/kubernetes/proxy/resource.go ExpectedResourceHashedName); the proxies'
PodMonitor scrapes Envoy's stats, where ``*_rq_5xx`` counters become ``*_rq_xx`` with the tag
``envoy_response_code_class`` (Envoy's default tag extraction, as the Envoy Gateway v1.9.0
dashboards query them). Envoy Gateway's own stats and readiness listeners use the connection
manager prefixes ``eg-stats-http`` and ``eg-ready-http``; the rules leave them out so Prometheus'
scrapes and kubelet probes do not count as traffic.

Backups: Velero 1.18's ``velero_backup_last_status`` / ``velero_backup_last_successful_timestamp``
per ``schedule``. Logs: the Loki single-binary StatefulSet and the collector's DaemonSet are
named after their releases (chart fullname = release name when it contains the chart's name).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from components.ops.alerts_rules_base import Alert, RuleSettings, Topic, ns, num, sel
from components.ops.contracts import COLLECTOR_RELEASE, LOKI_RELEASE

EG_LISTENERS = 'envoy_http_conn_manager_prefix!~"eg-.*"'
# Below these request rates a ratio says little; an idle gateway never alerts.
GATEWAY_MIN_RPS = 0.5
BACKEND_MIN_RPS = 0.1


def _proxy_deployments(s: RuleSettings) -> tuple[str, ...]:
    return (ns(s.gateway_proxy_namespace), f'deployment=~"envoy-{s.gateway_namespace}-.+"')


def gateway_topic(s: RuleSettings) -> Topic:
    p, g = s.gateway_proxy_namespace, s.gateway_namespace
    t = num(s.thresholds.gateway_5xx_ratio)
    down = sel("envoy_http_downstream_rq_total", ns(p), EG_LISTENERS)
    down_5xx = sel("envoy_http_downstream_rq_xx", ns(p), 'envoy_response_code_class="5"', EG_LISTENERS)
    up_total = sel("envoy_cluster_upstream_rq_total", ns(p))
    up_5xx = sel("envoy_cluster_upstream_rq_xx", ns(p), 'envoy_response_code_class="5"')
    by = "namespace, envoy_cluster_name"
    proxies = f"kubectl -n {p} get deploy,pods -l app.kubernetes.io/name=envoy,app.kubernetes.io/component=proxy -o wide"
    checks = (
        proxies,
        f"kubectl -n {p} logs deploy/<envoy deployment> -c envoy --tail=200",
        f"kubectl -n {g} get gateway,httproute,aigatewayroute",
    )
    deployments = _proxy_deployments(s)
    return Topic("gateway", (
        Alert(
            "GatewayHighErrorRate",
            f"""
            sum by (namespace) (rate({down_5xx}[5m]))
              / sum by (namespace) (rate({down}[5m])) > {t}
            and on (namespace)
              sum by (namespace) (rate({down}[5m])) > {num(GATEWAY_MIN_RPS)}
            """,
            "10m", "critical",
            "The gateway answers many requests with 5xx",
            f"{{{{ $value | humanizePercentage }}}} of the gateway's responses are 5xx (threshold {t}).",
            f"""More than {num(s.thresholds.gateway_5xx_ratio * 100)}% of what clients receive from the
            gateway's Envoy proxies are server errors (observability.gateway5xxRatio), with at
            least {num(GATEWAY_MIN_RPS)} requests per second. GatewayBackendErrorRate names the
            backend when one model causes it; otherwise the proxies or their extensions (AI
            Gateway's external processor, the rate limiter) fail.""",
            (
                *checks,
                f"PromQL: sum by (envoy_cluster_name) (rate({up_5xx}[5m]))",
                f"kubectl -n {s.gateway_proxy_namespace} get pods -l control-plane=envoy-gateway",
            ),
            """Follow the backend: a model that is down (the models alerts) gives 503; timeouts give
            504 (the route's request timeout against the model's latency). If every backend is
            affected, look at the Envoy and ai-gateway-extproc container logs of the proxies.""",
        ),
        Alert(
            "GatewayBackendErrorRate",
            f"""
            sum by ({by}) (rate({up_5xx}[5m]))
              / sum by ({by}) (rate({up_total}[5m])) > {t}
            and on ({by})
              sum by ({by}) (rate({up_total}[5m])) > {num(BACKEND_MIN_RPS)}
            """,
            "10m", "warning",
            "A gateway backend returns many 5xx",
            f"Backend {{{{ $labels.envoy_cluster_name }}}}: {{{{ $value | humanizePercentage }}}} of the "
            f"gateway's requests to it end in 5xx (threshold {t}).",
            f"""More than {num(s.thresholds.gateway_5xx_ratio * 100)}% of the requests the proxies send
            to this backend (Envoy cluster, named after the route) fail with a server error or
            are answered 5xx by Envoy for it (no healthy endpoint, timeout, reset).""",
            (
                *checks,
                f'PromQL: sum by (envoy_response_code_class) (rate(envoy_cluster_upstream_rq_xx{{namespace="{p}", '
                'envoy_cluster_name="<cluster>"}[5m]))',
            ),
            """The route names the model: check its server (the models alerts, kubectl -n
            <models-namespace> logs deploy/<model> -c server). 503 with no healthy endpoints: no
            ready replica; 504: requests slower than the route's timeout.""",
        ),
        Alert(
            "GatewayProxiesDown",
            f"""
            max by (namespace, deployment) ({sel("kube_deployment_spec_replicas", *deployments)}) > 0
            and on (namespace, deployment)
              max by (namespace, deployment) ({sel("kube_deployment_status_replicas_available", *deployments)}) == 0
            """,
            "5m", "critical",
            "A gateway has no running Envoy proxy",
            "Envoy Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has no available replica: "
            "its Gateway serves no traffic.",
            f"""None of the Envoy pods of a Gateway in {g} is available, so every request through
            it fails.""",
            (*checks, f"kubectl -n {p} describe deploy <envoy deployment>"),
            f"""By the pods' state: Pending (no room on the nodes), crash-looping (the envoy
            container's log; a bad EnvoyProxy or policy shows in kubectl -n {g} describe gateway),
            or not ready (the xDS connection to Envoy Gateway: kubectl -n {p} logs
            deploy/envoy-gateway).""",
        ),
        Alert(
            "GatewayProxiesDegraded",
            f"""
            max by (namespace, deployment) ({sel("kube_deployment_status_replicas_available", *deployments)})
              < max by (namespace, deployment) ({sel("kube_deployment_spec_replicas", *deployments)})
            """,
            "15m", "warning",
            "A gateway runs with fewer Envoy proxies than configured",
            "Envoy Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has fewer available replicas "
            "than it wants.",
            "Some Envoy pods of a Gateway are not available: less capacity and no redundancy.",
            (*checks, f"kubectl -n {p} describe deploy <envoy deployment>"),
            "As for GatewayProxiesDown.",
        ),
    ))


# Cron: five numeric fields ("minute hour day-of-month month day-of-week"), as the stack schema
# accepts them (infra/schema_data.py Cron).
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_PART = re.compile(r"^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$")


def _cron_values(field: str, low: int, high: int) -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        m = _CRON_PART.match(part)
        if not m:
            raise ValueError(f"cron field {field!r}: cannot read {part!r}")
        if m.group(1) == "*":
            start, end = low, high
        else:
            start = int(m.group(2))
            end = int(m.group(3)) if m.group(3) else (high if m.group(4) else start)
        step = int(m.group(4) or 1)
        if not low <= start <= end <= high or step < 1:
            raise ValueError(f"cron field {field!r}: {part!r} is outside {low}-{high}")
        out |= set(range(start, end + 1, step))
    return out


def _unrestricted(field: str) -> bool:
    # robfig/cron marks a field "*" (or "*/1") as a wildcard; "*/2" already restricts it.
    return any(part in ("*", "*/1") for part in field.split(","))


def cron_period_seconds(cron: str) -> int:
    """The longest gap between two runs of a cron schedule, over five years (two leap days).

    Day of month and day of week combine as in Velero's robfig/cron: when both are restricted a
    day matching either runs; otherwise both must match."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"cron {cron!r}: five fields expected")
    minutes, hours, doms, months, dows = (_cron_values(f, lo, hi) for f, (lo, hi) in zip(fields, _CRON_BOUNDS, strict=True))
    dows = {d % 7 for d in dows}
    either = not _unrestricted(fields[2]) and not _unrestricted(fields[4])
    times: list[int] = []
    day = dt.date(2028, 1, 1)
    for _ in range(5 * 366):
        dom_ok, dow_ok = day.day in doms, (day.weekday() + 1) % 7 in dows
        if day.month in months and ((dom_ok or dow_ok) if either else (dom_ok and dow_ok)):
            base = calendar.timegm(day.timetuple())
            times += [base + h * 3600 + m * 60 for h in sorted(hours) for m in sorted(minutes)]
        day += dt.timedelta(days=1)
    if len(times) < 2:
        raise ValueError(f"cron {cron!r} runs less than twice in five years")
    return max(b - a for a, b in zip(times, times[1:], strict=False))


def backups_topic(s: RuleSettings) -> Topic:
    v = s.backups_namespace
    last_success = {name: sel("velero_backup_last_successful_timestamp", ns(v), f'schedule="{name}"')
                    for name in sorted(s.backup_schedules)}
    stale = "\nor ".join(
        f"(time() - max by (schedule) ({last_success[name]}) > {2 * cron_period_seconds(cron)})"
        for name, cron in sorted(s.backup_schedules.items()))
    last_status = sel("velero_backup_last_status", ns(v), 'schedule!=""')
    checks = (
        f"velero -n {v} schedule get",
        f"velero -n {v} backup get --selector velero.io/schedule-name=<schedule>",
        f"velero -n {v} backup describe <backup> --details",
        f"velero -n {v} backup logs <backup>",
    )
    alerts = [
        Alert(
            "VeleroBackupFailed",
            f"max by (schedule) ({last_status}) == 0",
            "5m", "warning",
            "The last scheduled backup failed",
            "The last backup of Velero schedule {{ $labels.schedule }} failed or partially failed.",
            """Velero's most recent backup for this schedule ended Failed or PartiallyFailed (some
            resources or volumes are missing from it). The metric stays 0 until a backup of the
            schedule succeeds.""",
            (*checks, 'PromQL: velero_backup_last_status{schedule="<schedule>"}'),
            f"""By the backup's errors: the bucket (credentials, reachability from the velero
            namespace), a volume snapshot that timed out (the CSI driver's snapshot class, the
            node agent's logs for data movement), or an object Velero cannot read. Start one by
            hand to check the fix: velero -n {v} backup create --from-schedule <schedule>.""",
        ),
        Alert(
            "VeleroNotReporting",
            f"absent({sel('velero_backup_attempt_total', ns(v))})",
            "30m", "warning",
            "Velero reports no metrics",
            "Prometheus has no Velero metrics from {{ $labels.namespace }}: backups may not be running, "
            "and their alerts cannot fire.",
            """Velero's server is down or not scraped, so neither failed nor missing backups can
            alert.""",
            (
                f"kubectl -n {v} get deploy,pods",
                f"kubectl -n {v} logs deploy/velero --tail=200",
                f"kubectl -n {v} get servicemonitor",
                f'PromQL: up{{namespace="{v}"}}',
            ),
            """Bring the server back (its log names the cause, often the plugin or the bucket), or
            the ServiceMonitor if only scraping is broken.""",
        ),
    ]
    if stale:
        alerts.append(Alert(
            "VeleroBackupTooOld",
            stale,
            "10m", "critical",
            "A backup schedule has no recent successful backup",
            "Velero schedule {{ $labels.schedule }} last succeeded {{ $value | humanizeDuration }} ago, "
            "more than twice its period.",
            """No backup of this schedule has succeeded for two of its periods: restoring would lose
            more than the stack's backup settings promise.""",
            (*checks, 'PromQL: time() - velero_backup_last_successful_timestamp{schedule="<schedule>"}'),
            f"""As for VeleroBackupFailed; if no backup was even attempted, the schedule is paused
            (velero -n {v} schedule unpause <schedule>) or Velero is down.""",
        ))
    return Topic("backups", tuple(alerts))


def logs_topic(s: RuleSettings) -> Topic:
    n = s.monitoring_namespace
    ready = sel("kube_statefulset_status_replicas_ready", ns(n), f'statefulset="{LOKI_RELEASE}"')
    wanted = sel("kube_statefulset_replicas", ns(n), f'statefulset="{LOKI_RELEASE}"')
    loki_up = sel("up", f'job="{n}/{LOKI_RELEASE}"')
    alerts = [Alert(
        "LokiUnavailable",
        f"""
        (max by (namespace, statefulset) ({ready}) < max by (namespace, statefulset) ({wanted}))
        or (max by (namespace, job) ({loki_up}) == 0)
        """,
        "10m", "warning",
        "Loki is not available",
        "Loki in {{ $labels.namespace }} is not ready: logs are not stored and cannot be searched.",
        f"""Loki's pod is not ready or its metrics endpoint does not answer (the chart's
        ServiceMonitor names the job {n}/{LOKI_RELEASE}). The collector keeps retrying for a
        while, then drops log lines.""",
        (
            f"kubectl -n {n} get statefulset,pods -l app.kubernetes.io/instance={LOKI_RELEASE}",
            f"kubectl -n {n} logs statefulset/{LOKI_RELEASE} --tail=200",
            f'PromQL: up{{job="{n}/{LOKI_RELEASE}"}}',
        ),
        """Out of disk (PersistentVolumeFull for its volume: raise observability.logs.storageGiB or
        lower retentionDays), out of memory (observability.logs.resources), or a bad configuration
        after an upgrade (its log).""",
    )]
    if s.log_collector:
        ds = (ns(n), f'daemonset="{COLLECTOR_RELEASE}"')
        alerts.append(Alert(
            "LogCollectorNotRunning",
            f"""
            max by (namespace, daemonset) ({sel("kube_daemonset_status_number_ready", *ds)})
              < max by (namespace, daemonset) ({sel("kube_daemonset_status_desired_number_scheduled", *ds)})
            """,
            "15m", "warning",
            "The log collector is not running on every node",
            "{{ $labels.namespace }}/{{ $labels.daemonset }}: fewer collector pods are ready than there are "
            "nodes to run on; those nodes' logs are not collected.",
            "Some nodes have no ready log collector, so their pods' logs never reach Loki.",
            (
                f"kubectl -n {n} get ds {COLLECTOR_RELEASE} -o wide",
                f"kubectl -n {n} get pods -l app.kubernetes.io/instance={COLLECTOR_RELEASE} -o wide",
                f"kubectl -n {n} logs ds/{COLLECTOR_RELEASE} -c alloy --tail=200",
            ),
            """A node taint the collector does not tolerate, a pod that cannot start (its events), or
            a configuration error after a change (the alloy container's log).""",
        ))
    return Topic("logs", tuple(alerts))

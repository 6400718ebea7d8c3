"""Operations: observability (Prometheus, Alertmanager, Grafana, Loki, alert rules, dashboards,
load tests) and backups (Velero)."""

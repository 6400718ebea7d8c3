"""The ``observability`` and ``backups`` sections and the ``alertmanagerReceivers`` secret: what each
bad input gets (key path and fix), before anything is registered."""

from __future__ import annotations

NS = "genai-platform"
RECEIVERS = "receivers:\n  - name: oncall\n    webhook_configs:\n      - url: https://hooks.example.com/a\n" \
            "route:\n  receiver: oncall\n"


def problems(result) -> str:
    assert result.error, "expected a configuration error"
    assert "Traceback" not in result.error
    assert not result.monitor.registrations, "nothing may be registered when the config is invalid"
    return result.error


def test_field_errors_name_their_keys(run):
    err = problems(run("local", overrides={"observability": {
        "prometheus": {"retention": "15 days", "storageGiB": 2, "scrapeInterval": "0s"},
        "logs": {"collector": "fluentbit", "retentionDays": 0},
        "gateway5xxRatio": 1.5}}))
    assert f"{NS}:observability.prometheus.retention: must be a duration such as '12h', '15d' or '2w'" in err
    assert f"{NS}:observability.prometheus.storageGiB: must be >= 5" in err
    assert f"{NS}:observability.prometheus.scrapeInterval: must be an interval such as '15s'" in err
    assert f"{NS}:observability.logs.collector: must be one of 'alloy' or 'none'; got 'fluentbit'" in err
    assert f"{NS}:observability.logs.retentionDays: must be >= 1" in err
    assert f"{NS}:observability.gateway5xxRatio: must be < 1.0" in err


def test_unknown_key_gets_a_suggestion(run):
    err = problems(run("local", overrides={"observability": {"prometheus": {"retension": "15d"}}}))
    assert f"{NS}:observability.prometheus.retension: unknown key; did you mean 'retention'?" in err


def test_namespace_taken_by_another_layer(run):
    err = problems(run("local", overrides={"observability": {"namespace": "genai-models"}}))
    assert f"{NS}:observability.namespace: 'genai-models' is already namespaces.models" in err


def test_prometheus_address_must_point_at_the_installed_prometheus(run):
    err = problems(run("local", overrides={"observability": {"namespace": "metrics"}}))
    assert f"{NS}:modelServing.prometheusAddress: points into namespace 'monitoring', but the observability " \
           "layer installs Prometheus in 'metrics': set it to " \
           "http://kube-prometheus-stack-prometheus.metrics.svc:9090" in err


def test_load_test_needs_a_gateway_a_tenant_and_a_chat_model(run):
    err = problems(run("local", overrides={"gateway": None, "tenants": [],
                                           "observability": {"loadTest": {"enabled": True}}}))
    assert f"{NS}:observability.loadTest.enabled: the load test calls the gateway; add a gateway section" in err
    assert f"{NS}:observability.loadTest.tenant: required: the tenant whose API key (and rate limits) the " \
           "load test uses; add a tenant first" in err
    err = problems(run("local", overrides={"observability": {"loadTest": {"enabled": True, "tenant": "nobody"}}}))
    assert f"{NS}:observability.loadTest.tenant: 'nobody' is not a tenant; one of demo" in err


def test_load_test_rates_must_be_positive(run):
    err = problems(run("local", overrides={"observability": {"loadTest": {
        "enabled": True, "tenant": "demo", "rates": [1, 0]}}}))
    assert f"{NS}:observability.loadTest.rates: every rate must be > 0 requests per second" in err


def test_backups_on_an_existing_cluster_need_a_bucket_and_snapshots(run):
    err = problems(run("local", overrides={"backups": {}}))
    assert f"{NS}:backups: Velero needs a bucket: on an existing cluster add the objectStore section" in err
    assert f"{NS}:backups.snapshots: volume snapshots need the snapshot CRDs and a VolumeSnapshotClass: set " \
           "storage.volumeSnapshots to 'install' or 'existing', or set backups.snapshots to false" in err


def test_moving_snapshot_data_needs_snapshots(run):
    err = problems(run("local", overrides={"backups": {"snapshots": False}}))
    assert f"{NS}:backups.snapshotMoveData: moves snapshot data, so it needs backups.snapshots true" in err


def test_backup_schedule_is_checked(run):
    err = problems(run("local", overrides={"backups": {"tenants": {"schedule": "hourly", "retentionDays": 0}}}))
    assert f"{NS}:backups.tenants.schedule:" in err
    assert f"{NS}:backups.tenants.retentionDays: must be >= 1" in err


def test_receivers_secret_only_with_observability(run):
    err = problems(run("local", secrets={"alertmanagerReceivers": RECEIVERS}))
    assert f"{NS}:alertmanagerReceivers: only applies with the observability section" in err


def test_receivers_secret_must_define_every_routed_receiver(run):
    bad = RECEIVERS.replace("receiver: oncall", "receiver: pager")
    err = problems(run("local", overrides={"observability": {}}, secrets={"alertmanagerReceivers": bad}))
    assert f"{NS}:alertmanagerReceivers: route.receiver: 'pager' is not a receiver" in err


def test_receivers_secret_must_be_yaml_with_receivers(run):
    err = problems(run("local", overrides={"observability": {}}, secrets={"alertmanagerReceivers": "just text"}))
    assert f"{NS}:alertmanagerReceivers:" in err
    assert "receivers" in err.split(f"{NS}:alertmanagerReceivers:", 1)[1]


def test_receivers_secret_must_be_stored_as_a_secret(run):
    err = problems(run("local", overrides={"observability": {}, "alertmanagerReceivers": RECEIVERS}))
    assert f"{NS}:alertmanagerReceivers: must be stored as a secret" in err

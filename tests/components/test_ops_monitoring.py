"""kube-prometheus-stack: its values against the pinned chart's reference values, what they
select, keep and hide per cloud, the monitoring namespace's NetworkPolicies (walked), and the
component under the recording mocks (Secrets, namespace, release; no secret in the values)."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
import yaml
from component_programs import run_component_program
from netpol_walk import External, Pod, allowed, reachable_ports

from components.common.security import Resources
from components.ops import contracts
from components.ops import monitoring_values as mv
from components.ops.alertmanager_config import alertmanager_yaml
from components.ops.monitoring_policies import monitoring_policies
from components.platform.network_policies import baseline, network_policy, tcp
from infra.plan.mocks import SECRET
from infra.plan.validate import REFERENCE_DIR, has_chart_reference, validate_helm_values, validate_manifest
from infra.schema_ops import KUBE_PROMETHEUS_STACK_VERSION

NS = "monitoring"
RES = Resources(cpu_request="500m", memory_request="2Gi", cpu_limit="1", memory_limit="4Gi")
PROM = mv.PrometheusSettings(retention="15d", storage_gib=50, replicas=1, scrape_interval="30s", resources=RES)
AM = mv.AlertmanagerSettings(replicas=1, storage_gib=2, resources=RES)
GRAFANA = mv.GrafanaSettings(storage_gib=None, resources=RES)
LOKI_URL = f"http://loki.{NS}.svc:{contracts.LOKI_PORT}"
# Read by the Alertmanager template, documented only in a comment of values.yaml
# (``# configSecret:``); infra/plan/validate.py CHART_KEY_ALLOWANCES lists it.
COMMENTED_KEYS = ("alertmanager.alertmanagerSpec.configSecret",)
KINDS = ("ServiceMonitor", "PodMonitor", "Rule", "Probe", "ScrapeConfig")


def values(kind: str = "eks", prometheus=PROM, alertmanager=AM, grafana=GRAFANA, loki_url=None,
           zone_spread=False) -> dict:
    return mv.monitoring_values(cluster_kind=kind, storage_class="gp3", prometheus=prometheus,
                                alertmanager=alertmanager, grafana=grafana, loki_url=loki_url, zone_spread=zone_spread)


def chart_errors(v: dict) -> list[str]:
    return [e for e in validate_helm_values(mv.CHART, v) if not any(f": {k}:" in e for k in COMMENTED_KEYS)]


def reference(*parts: str) -> dict:
    return yaml.safe_load((REFERENCE_DIR / "chart-values" / mv.CHART / "/".join(parts)).read_text())


def decamel(kind: str) -> str:
    return kind[0].lower() + kind[1:]


HA = dict(prometheus=mv.PrometheusSettings("30d", 200, 2, "15s", RES), alertmanager=mv.AlertmanagerSettings(3, 5, RES),
          grafana=mv.GrafanaSettings(10, RES), loki_url=LOKI_URL, zone_spread=True)


# --- chart and keys -----------------------------------------------------------------------------

def test_chart_is_the_pinned_reference():
    assert has_chart_reference(mv.CHART)
    assert mv.CHART_VERSION == KUBE_PROMETHEUS_STACK_VERSION == "88.5.3"
    index = json.loads((REFERENCE_DIR / "index.json").read_text())
    (entry,) = [f for f in index["files"] if f["path"] == f"chart-values/{mv.CHART}/values.yaml"]
    assert entry["chart_version"] == mv.CHART_VERSION
    assert entry["source_repo"] == "prometheus-community/helm-charts"
    assert mv.REPOSITORY == "https://prometheus-community.github.io/helm-charts"


@pytest.mark.parametrize("kind", ["eks", "gke", "aks", "existing"])
@pytest.mark.parametrize("ha", [False, True])
def test_every_key_exists_in_the_chart(kind, ha):
    v = values(kind, **HA) if ha else values(kind)
    assert chart_errors(v) == []


def test_commented_keys_are_documented_by_the_chart():
    text = (REFERENCE_DIR / "chart-values" / mv.CHART / "values.yaml").read_text()
    assert "    # configSecret:" in text
    assert "configSecret" not in reference("values.yaml")["alertmanager"]["alertmanagerSpec"]
    assert values()["alertmanager"]["alertmanagerSpec"]["configSecret"] == mv.ALERTMANAGER_CONFIG_SECRET


def test_release_name_gives_the_service_names_of_the_contract():
    # The chart's fullname is the release name when it contains the chart name (truncated at 26).
    assert contracts.MONITORING_RELEASE == mv.CHART and len(mv.CHART) <= 26
    assert contracts.PROMETHEUS_SERVICE == f"{mv.CHART}-prometheus"
    assert contracts.ALERTMANAGER_SERVICE == f"{mv.CHART}-alertmanager"
    # Grafana's subchart: release name + "-grafana"; its Service listens on 80.
    assert contracts.GRAFANA_SERVICE == f"{mv.CHART}-grafana" and contracts.GRAFANA_PORT == 80
    defaults = reference("values.yaml")
    assert defaults["prometheus"]["service"]["port"] == contracts.PROMETHEUS_PORT
    assert defaults["alertmanager"]["service"]["port"] == contracts.ALERTMANAGER_PORT
    assert defaults["fullnameOverride"] == "" and defaults["nameOverride"] == ""
    assert "fullnameOverride" not in values() and "nameOverride" not in values()


# --- Prometheus ---------------------------------------------------------------------------------

def test_prometheus_selects_every_monitor_in_every_namespace():
    spec = values()["prometheus"]["prometheusSpec"]
    defaults = reference("values.yaml")["prometheus"]["prometheusSpec"]
    for kind in KINDS:
        key = decamel(kind)
        # The chart's default (true) would select only objects labelled release=kube-prometheus-stack.
        assert defaults[f"{key}SelectorNilUsesHelmValues"] is True
        assert spec[f"{key}SelectorNilUsesHelmValues"] is False
        assert spec[f"{key}Selector"] == {} and spec[f"{key}NamespaceSelector"] == {}


@pytest.mark.parametrize("gib", [5, 7, 50, 200, 1000])
def test_retention_size_stays_under_the_volume(gib):
    settings = mv.PrometheusSettings("15d", gib, 1, "30s", RES)
    spec = values(prometheus=settings)["prometheus"]["prometheusSpec"]
    size = spec["retentionSize"]
    # The operator's ByteSize pattern (v0.93 ``ByteSize``), powers of two.
    assert re.fullmatch(r"(^0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$", size)
    capped = int(size.removesuffix("GiB"))
    assert capped < gib and capped >= 0.8 * gib
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == f"{gib}Gi"
    assert spec["retention"] == "15d"


def test_prometheus_storage_replicas_interval_resources():
    spec = values()["prometheus"]["prometheusSpec"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3" and claim["accessModes"] == ["ReadWriteOnce"]
    assert spec["replicas"] == 1 and spec["scrapeInterval"] == "30s"
    assert spec["resources"] == RES.to_k8s()


def test_one_replica_has_no_budget_or_spread():
    v = values()
    for part, spec in (("prometheus", "prometheusSpec"), ("alertmanager", "alertmanagerSpec")):
        assert "podDisruptionBudget" not in v[part]
        assert "topologySpreadConstraints" not in v[part][spec]


def test_replicas_get_a_budget_and_spread_over_nodes_and_zones():
    v = values(**HA)
    for part, spec, selector, replicas in (("prometheus", "prometheusSpec", mv.PROMETHEUS_SELECTOR, 2),
                                           ("alertmanager", "alertmanagerSpec", mv.ALERTMANAGER_SELECTOR, 3)):
        assert v[part]["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
        assert v[part][spec]["replicas"] == replicas
        spread = v[part][spec]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
        assert all(c["labelSelector"] == {"matchLabels": selector} for c in spread)
    no_zones = values(prometheus=HA["prometheus"])["prometheus"]["prometheusSpec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in no_zones] == ["kubernetes.io/hostname"]


def test_spread_selectors_are_the_operators_pod_labels():
    assert mv.PROMETHEUS_SELECTOR == {"app.kubernetes.io/name": "prometheus",
                                      "operator.prometheus.io/name": contracts.PROMETHEUS_SERVICE}
    assert mv.ALERTMANAGER_SELECTOR == {"app.kubernetes.io/name": "alertmanager",
                                        "alertmanager": contracts.ALERTMANAGER_SERVICE}


# --- Alertmanager and Grafana: Secrets, not values ----------------------------------------------------

def test_alertmanager_reads_our_secret():
    spec = values()["alertmanager"]["alertmanagerSpec"]
    assert spec["useExistingSecret"] is True
    assert spec["configSecret"] == mv.ALERTMANAGER_CONFIG_SECRET
    assert "config" not in values()["alertmanager"] and "stringConfig" not in values()["alertmanager"]
    claim = spec["storage"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3" and claim["resources"]["requests"]["storage"] == "2Gi"
    assert spec["resources"] == RES.to_k8s()


def test_grafana_admin_login_from_our_secret():
    g = values()["grafana"]
    assert g["admin"] == {"existingSecret": mv.GRAFANA_ADMIN_SECRET, "userKey": "admin-user",
                          "passwordKey": "admin-password"}
    assert "adminPassword" not in g
    # The keys are the chart's (kube-prometheus-stack documents the grafana subchart's admin block).
    assert set(g["admin"]) == set(reference("values.yaml")["grafana"]["admin"])


def test_prometheus_data_source_uid_is_the_charts():
    defaults = reference("values.yaml")["grafana"]["sidecar"]["datasources"]
    assert mv.PROMETHEUS_DATASOURCE_UID == defaults["uid"] == "prometheus"
    ds = values()["grafana"]["sidecar"]["datasources"]
    assert ds["uid"] == mv.PROMETHEUS_DATASOURCE_UID and ds["enabled"] and ds["defaultDatasourceEnabled"]


def test_dashboards_sidecar_watches_every_namespace_with_folders():
    d = values()["grafana"]["sidecar"]["dashboards"]
    assert {d["label"]: d["labelValue"]} == contracts.DASHBOARD_LABEL
    assert d["enabled"] is True and d["searchNamespace"] == "ALL"
    assert d["folderAnnotation"] == contracts.DASHBOARD_FOLDER_ANNOTATION
    assert d["provider"]["foldersFromFilesStructure"] is True


def test_loki_data_source_only_with_a_loki_url():
    assert "additionalDataSources" not in values()["grafana"]
    (loki,) = values(loki_url=LOKI_URL)["grafana"]["additionalDataSources"]
    assert (loki["type"], loki["uid"], loki["url"]) == ("loki", mv.LOKI_DATASOURCE_UID, LOKI_URL)
    assert mv.LOKI_DATASOURCE_UID == "loki"


def test_grafana_persistence_only_when_sized():
    g = values()["grafana"]
    assert "persistence" not in g and "deploymentStrategy" not in g
    g = values(grafana=mv.GrafanaSettings(10, RES))["grafana"]
    assert g["persistence"] == {"enabled": True, "type": "pvc", "storageClassName": "gp3",
                                "accessModes": ["ReadWriteOnce"], "size": "10Gi"}
    assert g["deploymentStrategy"] == {"type": "Recreate"}


def test_grafana_does_not_reach_out():
    ini = values()["grafana"]["grafana.ini"]
    assert ini["plugins"]["preinstall_disabled"] is True and ini["plugins"]["plugin_admin_enabled"] is False
    assert not any(ini["analytics"].values())
    assert ini["snapshots"]["external_enabled"] is False


# --- containers ---------------------------------------------------------------------------------

def test_every_container_has_requests_and_limits():
    v = values(grafana=mv.GrafanaSettings(10, RES))
    sized = {
        "operator": v["prometheusOperator"]["resources"],
        "config reloaders": v["prometheusOperator"]["prometheusConfigReloader"]["resources"],
        "webhook certificate jobs": v["prometheusOperator"]["admissionWebhooks"]["patch"]["resources"],
        "prometheus": v["prometheus"]["prometheusSpec"]["resources"],
        "alertmanager": v["alertmanager"]["alertmanagerSpec"]["resources"],
        "grafana": v["grafana"]["resources"],
        "grafana sidecars": v["grafana"]["sidecar"]["resources"],
        "kube-state-metrics": v["kube-state-metrics"]["resources"],
        "node-exporter": v["prometheus-node-exporter"]["resources"],
    }
    for what, res in sized.items():
        assert set(res) == {"requests", "limits"}, what
        assert set(res["requests"]) == set(res["limits"]) == {"cpu", "memory"}, what
    # Containers the chart would run without resources are off.
    assert v["grafana"]["testFramework"] == {"enabled": False}
    assert v["grafana"]["initChownData"] == {"enabled": False}
    defaults = reference("values.yaml")
    assert defaults["crds"]["upgradeJob"]["enabled"] is False and "upgradeJob" not in v["crds"]
    assert defaults["windowsMonitoring"]["enabled"] is False and "windowsMonitoring" not in v
    assert defaults["thanosRuler"]["enabled"] is False and "thanosRuler" not in v


def test_no_image_is_overridden():
    def images(obj, path=""):
        if isinstance(obj, dict):
            for k, val in obj.items():
                yield from ([f"{path}.{k}"] if k.lower().endswith("image") else []) + list(images(val, f"{path}.{k}"))
    assert list(images(values(**HA))) == []


def test_node_exporter_runs_on_gpu_nodes():
    v = values()
    assert v["nodeExporter"]["enabled"] is True
    assert "tolerations" not in v["prometheus-node-exporter"]
    tolerations = reference("subcharts", "prometheus-node-exporter", "values.yaml")["tolerations"]

    def tolerates(t: dict, key: str, value: str, effect: str) -> bool:
        if t.get("effect") not in (None, effect):
            return False
        if t.get("operator") == "Exists":
            return t.get("key") in (None, key)
        return t.get("key") == key and t.get("value") == value
    assert any(tolerates(t, "nvidia.com/gpu", "present", "NoSchedule") for t in tolerations)


# --- who runs the control plane -------------------------------------------------------------------

HIDDEN = ("kubeEtcd", "kubeControllerManager", "kubeScheduler", "kubeProxy")


@pytest.mark.parametrize("kind", ["eks", "gke", "aks"])
def test_managed_control_planes_scrape_and_alert_on_nothing_hidden(kind):
    v = values(kind)
    for key in HIDDEN:
        assert v[key] == {"enabled": False}
    assert v["defaultRules"]["rules"] == {"etcd": False, "kubeControllerManager": False, "kubeSchedulerAlerting": False,
                                          "kubeSchedulerRecording": False, "kubeProxy": False}
    rules = reference("values.yaml")["defaultRules"]["rules"]
    assert set(v["defaultRules"]["rules"]) <= set(rules)


def test_existing_clusters_keep_control_plane_scrapes():
    v = values("existing")
    defaults = reference("values.yaml")
    for key in HIDDEN:
        assert key not in v and defaults[key]["enabled"] is True
    assert "defaultRules" not in v and "coreDns" not in v


def test_gke_scrapes_kube_dns_instead_of_coredns():
    v = values("gke")
    assert v["coreDns"] == {"enabled": False} and v["kubeDns"] == {"enabled": True}
    assert "kubeDns" not in values("eks") and "kubeDns" not in values("aks")


# --- NetworkPolicies ----------------------------------------------------------------------------

LABELS = {"app.kubernetes.io/name": "network-policy"}
NAMESPACES = {NS: {}, "keda": {}, "models": {}, "tenant-acme": {}}
PROMETHEUS = Pod(NS, {**mv.PROMETHEUS_SELECTOR, "prometheus": contracts.PROMETHEUS_SERVICE}, "prometheus")
ALERTMANAGER = Pod(NS, {**mv.ALERTMANAGER_SELECTOR, "app.kubernetes.io/instance": contracts.ALERTMANAGER_SERVICE},
                   "alertmanager")
GRAFANA_POD = Pod(NS, {**mv.GRAFANA_SELECTOR}, "grafana")
OPERATOR = Pod(NS, {**mv.OPERATOR_SELECTOR, "app.kubernetes.io/component": "prometheus-operator"}, "operator")
KSM = Pod(NS, {**mv.KUBE_STATE_METRICS_SELECTOR}, "kube-state-metrics")
WEBHOOK_JOB = Pod(NS, {**mv.ADMISSION_JOBS_SELECTOR, "app": f"{mv.CHART}-admission-create"}, "admission-create")
LOKI = Pod(NS, {"app.kubernetes.io/name": "loki"}, "loki")
MODEL = Pod("models", {"app.kubernetes.io/name": "vllm"}, "model")
KEDA = Pod("keda", {"app": "keda-operator"}, "keda")
TENANT = Pod("tenant-acme", {"app.kubernetes.io/component": "chat-app"}, "chat")
NODE = External("10.0.3.7")
INTERNET = External("203.0.113.10")


def policies(**kwargs) -> list[dict]:
    out = [*baseline(NS, LABELS), *monitoring_policies(NS, LABELS, **kwargs)]
    for p in out:
        assert validate_manifest(p, "1.33") == [], p["metadata"]["name"]
    return out


def can(src, dst, port: int, protocol: str = "TCP", **kwargs) -> bool:
    return allowed(policies(**kwargs), NAMESPACES, src, dst, port, protocol)


def test_prometheus_scrapes_pods_everywhere_and_nodes():
    assert can(PROMETHEUS, MODEL, 8000)
    assert can(PROMETHEUS, KEDA, 8080)
    for port in (9100, 10250, 443, 6443):
        assert can(PROMETHEUS, NODE, port), port
    assert not can(PROMETHEUS, NODE, 22)
    assert not can(PROMETHEUS, INTERNET, 80)


def test_control_plane_ports_only_for_a_self_managed_control_plane():
    for port in mv.CONTROL_PLANE_PORTS:
        assert not can(PROMETHEUS, NODE, port)
        assert can(PROMETHEUS, NODE, port, control_plane=True)


def test_prometheus_scrapes_every_pod_of_its_namespace():
    for pod, port in ((ALERTMANAGER, 9093), (ALERTMANAGER, 8080), (GRAFANA_POD, 3000), (OPERATOR, 10250),
                      (KSM, 8080), (LOKI, 3100), (PROMETHEUS, 8080)):
        assert can(PROMETHEUS, pod, port), pod
    assert not can(MODEL, GRAFANA_POD, 3000)
    assert not can(GRAFANA_POD, KSM, 8080)


def test_who_may_query_prometheus():
    assert can(KEDA, PROMETHEUS, 9090, query_namespaces=("keda",))
    assert not can(KEDA, PROMETHEUS, 8080, query_namespaces=("keda",))
    assert not can(KEDA, PROMETHEUS, 9090)
    assert can(GRAFANA_POD, PROMETHEUS, 9090)
    assert not can(TENANT, PROMETHEUS, 9090, query_namespaces=("keda",))
    assert reachable_ports(policies(query_namespaces=("keda",)), NAMESPACES, TENANT, PROMETHEUS) == []


def test_alertmanager_receives_alerts_gossips_and_notifies():
    assert can(PROMETHEUS, ALERTMANAGER, 9093)
    assert can(GRAFANA_POD, ALERTMANAGER, 9093)
    assert not can(TENANT, ALERTMANAGER, 9093)
    other = Pod(NS, {**mv.ALERTMANAGER_SELECTOR, "app.kubernetes.io/instance": "x"}, "alertmanager-1")
    for protocol in ("TCP", "UDP"):
        assert can(ALERTMANAGER, other, 9094, protocol)
    assert not can(GRAFANA_POD, ALERTMANAGER, 9094)
    for port in (443, 25, 587):
        assert can(ALERTMANAGER, INTERNET, port), port
    assert not can(ALERTMANAGER, INTERNET, 80)
    assert not can(ALERTMANAGER, MODEL, 8000)


def test_grafana_reaches_its_data_sources_and_no_web():
    assert can(GRAFANA_POD, PROMETHEUS, 9090)
    # Loki's own ingress from Grafana belongs to the logs component; stand in for it.
    loki_ingress = network_policy("loki-from-grafana", NS, LABELS, {
        "podSelector": {"matchLabels": LOKI.labels}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": mv.GRAFANA_SELECTOR}}], "ports": tcp([3100])}]})
    assert not allowed([*policies(), loki_ingress], NAMESPACES, GRAFANA_POD, LOKI, 3100)
    assert allowed([*policies(loki=True), loki_ingress], NAMESPACES, GRAFANA_POD, LOKI, 3100)
    assert not can(GRAFANA_POD, INTERNET, 3100, loki=True)
    assert not can(GRAFANA_POD, INTERNET, 80)
    assert not can(GRAFANA_POD, MODEL, 8000, loki=True)


def test_operator_and_exporters_reach_the_api_server():
    for pod in (OPERATOR, KSM, WEBHOOK_JOB, GRAFANA_POD, PROMETHEUS):
        assert can(pod, NODE, 443) and can(pod, NODE, 6443), pod
    assert not can(LOKI, NODE, 443)
    # The API server calls the operator's admission webhooks on the chart's TLS port.
    assert can(NODE, OPERATOR, 10250)
    assert not can(NODE, OPERATOR, 8080)
    assert not can(NODE, PROMETHEUS, 9090)


# --- the component under the recording mocks ------------------------------------------------------

RECEIVERS = "receivers:\n  - name: oncall\n    webhook_configs:\n      - url: https://hooks.example.com/sekrit-path\n" \
            "route:\n  receiver: oncall\n"

PROGRAM = textwrap.dedent(f'''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, StorageClasses
    from components.common.security import Resources
    from components.ops.monitoring import Monitoring, MonitoringArgs
    from components.ops.monitoring_values import AlertmanagerSettings, GrafanaSettings, PrometheusSettings

    provider = k8s.Provider("k8s", kubeconfig="stub")
    cluster = ClusterInfo(kind="eks", name="c", provider=provider, kubernetes_version="1.33", gpu_pools=(),
                          storage=StorageClasses(rwo="gp3", rwx=None))
    res = Resources("100m", "128Mi", "500m", "512Mi")
    m = Monitoring("monitoring", MonitoringArgs(
        cluster=cluster, namespace="{NS}", chart_version="88.5.3",
        prometheus=PrometheusSettings("15d", 50, 1, "30s", res),
        alertmanager=AlertmanagerSettings(1, 2, res),
        grafana=GrafanaSettings(None, res),
        receivers=pulumi.Output.secret({RECEIVERS!r}),
        loki_url="{LOKI_URL}",
        query_namespaces=("keda",),
    ))
    pulumi.export("password", m.grafana_admin_password)
    pulumi.export("plainPassword", pulumi.Output.unsecret(m.grafana_admin_password))
    pulumi.export("alertmanagerConfig", pulumi.Output.unsecret(m.alertmanager_config))
    pulumi.export("where", {{"namespace": m.namespace, "prometheus": m.prometheus_url,
                             "secret": m.grafana_admin_secret, "grafana": m.grafana_service,
                             "alertmanager": m.alertmanager_url}})
''')


@pytest.fixture(scope="module")
def monitoring_run(tmp_path_factory):
    return run_component_program(tmp_path_factory.mktemp("monitoring"), PROGRAM, "monitoring-test").monitor


def under(mon, kind: str) -> list:
    return [r for r in mon.registrations if r.custom and r.type.endswith(f":{kind}")]


def test_component_creates_namespace_secrets_and_release(monitoring_run):
    mon = monitoring_run
    assert mon.violations == []
    (component,) = mon.by_type("genai:ops:Monitoring")
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    (ns,) = under(mon, "Namespace")
    assert ns.inputs["metadata"]["name"] == NS
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    names = {p.inputs["metadata"]["name"] for p in under(mon, "NetworkPolicy")}
    assert {"default-deny", "allow-dns", "allow-prometheus", "allow-scrapes", "allow-alertmanager",
            "allow-grafana", "allow-operator", "allow-kube-state-metrics", "allow-admission-jobs"} == names

    secrets = {s.inputs["metadata"]["name"]: s for s in under(mon, "Secret")}
    assert set(secrets) == {mv.GRAFANA_ADMIN_SECRET, mv.ALERTMANAGER_CONFIG_SECRET}
    for s in secrets.values():
        assert validate_manifest(s.inputs, "1.33") == []
        assert s.inputs["metadata"]["namespace"] == NS and s.provider == provider.urn
        assert s.parent == component.urn
    assert secrets[mv.GRAFANA_ADMIN_SECRET].inputs["stringData"] == {"admin-user": SECRET, "admin-password": SECRET}
    assert secrets[mv.ALERTMANAGER_CONFIG_SECRET].inputs["stringData"] == {"alertmanager.yaml": SECRET}

    (release,) = under(mon, "Release")
    r = release.inputs
    assert (r["name"], r["namespace"], r["chart"], r["version"]) == (contracts.MONITORING_RELEASE, NS, mv.CHART, "88.5.3")
    assert r["repositoryOpts"] == {"repo": mv.REPOSITORY}
    assert r["skipCrds"] is False and r["timeout"] >= 600
    assert release.provider == provider.urn and release.parent == component.urn
    assert r["values"] == values("eks", loki_url=LOKI_URL, prometheus=mv.PrometheusSettings(
        "15d", 50, 1, "30s", Resources("100m", "128Mi", "500m", "512Mi")), alertmanager=mv.AlertmanagerSettings(
        1, 2, Resources("100m", "128Mi", "500m", "512Mi")), grafana=mv.GrafanaSettings(
        None, Resources("100m", "128Mi", "500m", "512Mi")))
    # The release waits for the namespace, its policies and both Secrets.
    allow_prometheus = next(p for p in under(mon, "NetworkPolicy") if p.inputs["metadata"]["name"] == "allow-prometheus")
    assert {ns.urn, allow_prometheus.urn, *(s.urn for s in secrets.values())} <= set(release.dependencies)


def test_no_secret_reaches_the_release_or_any_object(monitoring_run):
    mon = monitoring_run
    password = mon.stack_outputs["plainPassword"]
    assert password.startswith("plan-") and mon.stack_outputs["password"] == SECRET
    recorded = json.dumps([r.inputs for r in mon.registrations
                           if r.type != "random:index/randomPassword:RandomPassword"])
    assert password not in recorded
    assert "sekrit-path" not in recorded and "hooks.example.com" not in recorded


def test_alertmanager_config_is_built_from_the_secret(monitoring_run):
    text = monitoring_run.stack_outputs["alertmanagerConfig"]
    assert text == alertmanager_yaml(RECEIVERS)
    config = yaml.safe_load(text)
    assert [r["name"] for r in config["receivers"]] == ["null", "oncall"]
    assert config["route"]["receiver"] == "oncall"


def test_component_exposes_where_things_are(monitoring_run):
    assert monitoring_run.stack_outputs["where"] == {
        "namespace": NS, "prometheus": f"http://{contracts.PROMETHEUS_SERVICE}.{NS}.svc:9090",
        "secret": mv.GRAFANA_ADMIN_SECRET, "grafana": contracts.GRAFANA_SERVICE,
        "alertmanager": f"http://{contracts.ALERTMANAGER_SERVICE}.{NS}.svc:9093"}

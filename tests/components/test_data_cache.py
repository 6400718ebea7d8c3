"""The Valkey cache's pure builders: chart values (storage, replication, memory, auth, probes,
PDB, spread, exporter, security) checked against the chart's reference values and schema, and
its NetworkPolicy against the Kubernetes schema."""

from __future__ import annotations

import dataclasses

import pytest

from components.common.security import Resources
from components.data import cache_specs as cs
from components.data.common import DataContext
from infra.plan.validate import has_chart_reference, validate_helm_values, validate_manifest

RES = Resources(cpu_request="500m", memory_request="1Gi", cpu_limit="1", memory_limit="2Gi")
BASE = cs.CacheSettings(namespace="genai-data", replicas=0, persistence=True, storage_gib=20, storage_class="gp3",
                        resources=RES, max_memory_bytes=cs.default_max_memory("2Gi"), eviction_policy="allkeys-lru",
                        auth_secret="valkey-auth")


def settings(**kw) -> cs.CacheSettings:
    return dataclasses.replace(BASE, **kw)


def ctx(metrics_namespace: str | None = "monitoring") -> DataContext:
    return DataContext(cluster=None, namespace="genai-data", allow_from=("tenant-a",),  # type: ignore[arg-type]
                       metrics_namespace=metrics_namespace)


VARIANTS = {
    "standalone": settings(),
    "ephemeral": settings(persistence=False),
    "replicated": settings(replicas=2, zone_spread=True),
    "scraped": settings(replicas=1, service_monitors=True, service_monitor_labels={"release": "kps"}),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_values_are_keys_of_the_pinned_chart_and_satisfy_its_schema(name):
    assert has_chart_reference(cs.CHART)
    assert validate_helm_values(cs.CHART, cs.valkey_values(VARIANTS[name])) == []


def test_standalone_keeps_its_data_on_the_rwo_class_and_is_recreated_not_rolled():
    values = cs.valkey_values(settings(keep_volume=True))
    assert values["dataStorage"] == {"enabled": True, "requestedSize": "20Gi", "className": "gp3", "keepPvc": True}
    assert values["deploymentStrategy"] == "Recreate"
    assert "replica" not in values
    # One pod: nothing to budget.
    assert "podDisruptionBudget" not in values
    assert cs.valkey_values(settings())["dataStorage"]["keepPvc"] is False


def test_without_persistence_there_is_no_volume_and_no_snapshotting():
    values = cs.valkey_values(settings(persistence=False))
    assert "dataStorage" not in values and "replica" not in values
    assert 'save ""' in values["valkeyConfig"].splitlines()
    assert "appendonly no" in values["valkeyConfig"].splitlines()
    assert 'save ""' not in cs.valkey_values(settings()).get("valkeyConfig")


def test_replicas_run_beside_the_primary_on_claims_with_the_chart_pdb():
    values = cs.valkey_values(settings(replicas=2, storage_gib=8, storage_class="fast"))
    assert values["replica"] == {"enabled": True, "replicas": 2,
                                 "persistence": {"size": "8Gi", "storageClass": "fast"}}
    assert values["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    assert "dataStorage" not in values and "deploymentStrategy" not in values


def test_max_memory_and_eviction_reach_valkey_conf():
    values = cs.valkey_values(settings(max_memory_bytes=123456789, eviction_policy="allkeys-lfu"))
    lines = values["valkeyConfig"].splitlines()
    assert "maxmemory 123456789" in lines
    assert "maxmemory-policy allkeys-lfu" in lines


@pytest.mark.parametrize(("quantity", "expected"), [("2Gi", 2 * 2**30), ("512Mi", 512 * 2**20), ("1G", 10**9),
                                                   ("1.5Gi", int(1.5 * 2**30)), ("1000", 1000)])
def test_quantities_in_bytes(quantity, expected):
    assert cs.quantity_bytes(quantity) == expected


def test_default_max_memory_is_eighty_percent_of_the_limit():
    assert cs.default_max_memory("10Gi") == int(10 * 2**30 * 0.8)


def test_auth_reads_the_default_users_password_from_our_secret():
    values = cs.valkey_values(settings(auth_secret="my-users"))
    assert values["auth"] == {"enabled": True, "usersExistingSecret": "my-users",
                              "aclUsers": {"default": {"permissions": "~* &* +@all"}}}
    assert values["extraValkeySecrets"] == [{"name": "my-users", "mountPath": cs.AUTH_MOUNT}]
    assert "password" not in str(values["auth"]).lower()


def test_probes_authenticate_and_demand_pong_and_liveness_only_checks_the_socket():
    values = cs.valkey_values(settings())
    for probe in ("startupProbe", "readinessProbe"):
        assert values[probe]["enabled"] is True
        command = values[probe]["customProbe"]["exec"]["command"]
        assert command[:2] == ["sh", "-c"]
        assert f"{cs.AUTH_MOUNT}/default" in command[2] and "VALKEYCLI_AUTH" in command[2]
        assert command[2].endswith("= PONG ]")
    assert values["startupProbe"]["customProbe"]["failureThreshold"] == cs.STARTUP_FAILURES
    assert values["livenessProbe"] == {"enabled": True, "customProbe": {
        "tcpSocket": {"port": "tcp"}, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 6,
        "successThreshold": 1}}


def test_every_container_is_restricted_with_requests_and_limits():
    values = cs.valkey_values(VARIANTS["scraped"])
    pod = values["podSecurityContext"]
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for sc in (values["securityContext"], values["metrics"]["exporter"]["securityContext"]):
        assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]} and sc["readOnlyRootFilesystem"] is True
    for res in (values["resources"], values["initResources"], values["metrics"]["exporter"]["resources"]):
        assert res["requests"] and res["limits"]
    assert values["resources"] == RES.to_k8s()
    assert values["serviceAccount"]["automount"] is False


def test_exporter_and_service_monitor_only_when_scraped():
    on = cs.valkey_values(VARIANTS["scraped"])["metrics"]
    assert on["enabled"] is True
    assert on["serviceMonitor"] == {"enabled": True, "extraLabels": {"release": "kps"}}
    assert "metrics" not in cs.valkey_values(settings())


def test_pods_spread_over_nodes_and_over_zones_when_asked():
    spread = cs.valkey_values(settings(replicas=2))["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["kubernetes.io/hostname"]
    assert spread[0]["labelSelector"]["matchLabels"] == cs.selector()
    zoned = cs.valkey_values(settings(replicas=2, zone_spread=True))["topologySpreadConstraints"]
    assert {c["topologyKey"]: c["whenUnsatisfiable"] for c in zoned} == {
        "kubernetes.io/hostname": "ScheduleAnyway", "topology.kubernetes.io/zone": "DoNotSchedule"}


def test_network_policy_admits_clients_on_6379_and_prometheus_on_the_exporter():
    policy = cs.network_policy(ctx(), {"app.kubernetes.io/name": "network-policy"}, ("rag",), metrics=True)
    assert validate_manifest(policy, "1.33") == []
    assert policy["spec"]["podSelector"] == {"matchLabels": cs.selector()}
    rules = policy["spec"]["ingress"]
    clients = next(r for r in rules if r.get("ports") == [{"protocol": "TCP", "port": 6379}])
    names = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
             for p in clients["from"] if "namespaceSelector" in p}
    assert names == {"tenant-a", "rag"}
    scrape = next(r for r in rules if r.get("ports") == [{"protocol": "TCP", "port": 9121}])
    assert scrape["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    quiet = cs.network_policy(ctx(), {}, (), metrics=False)
    assert all(r.get("ports") != [{"protocol": "TCP", "port": 9121}] for r in quiet["spec"]["ingress"])

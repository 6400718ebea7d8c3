"""A tenant's session store: the Valkey chart's values (checked against the pinned chart's reference
values and schema), its URL and NetworkPolicy, and the component under the recording mocks (the
password reaches the chart only through the Secret and stays secret everywhere else)."""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest
from component_programs import run_component_program

from components.common.security import Resources
from components.data import cache_specs as cs
from components.tenancy import app_specs, policy_specs
from components.tenancy import session_store_specs as spec
from infra.plan.mocks import SECRET
from infra.plan.validate import has_chart_reference, validate_helm_values, validate_manifest

NS = "tenant-acme"
RES = Resources(cpu_request="100m", memory_request="128Mi", cpu_limit="500m", memory_limit="256Mi")


def values(resources: Resources = RES) -> dict:
    return spec.values("acme", NS, resources)


def match_labels(obj) -> list[dict]:
    """Every ``matchLabels`` anywhere in the values."""
    if isinstance(obj, dict):
        found = [obj["matchLabels"]] if "matchLabels" in obj else []
        return found + [m for v in obj.values() for m in match_labels(v)]
    if isinstance(obj, list):
        return [m for v in obj for m in match_labels(v)]
    return []


# --- chart values ---------------------------------------------------------------------------

def test_values_are_keys_of_the_pinned_chart_and_satisfy_its_schema():
    assert has_chart_reference(spec.CHART)
    assert (spec.CHART, spec.CHART_VERSION, spec.REPOSITORY) == (cs.CHART, cs.CHART_VERSION, cs.REPOSITORY)
    assert validate_helm_values(spec.CHART, values()) == []


def test_the_release_renders_the_session_store_service_and_selects_only_its_own_pod():
    v = values()
    # Without the override the chart would name everything "session-store-valkey".
    assert v["fullnameOverride"] == spec.RELEASE == "session-store"
    assert spec.selector() == {"app.kubernetes.io/name": "valkey", "app.kubernetes.io/instance": "session-store"}
    # Nothing in the values may select the shared cache's pods (release "valkey").
    assert all(m == spec.selector() for m in match_labels(v))
    assert v["topologySpreadConstraints"] == []
    # Extra pod labels must not restate the chart's selector labels (duplicate keys in the template).
    assert not set(v["podLabels"]) & set(spec.selector())
    assert v["podLabels"]["app.kubernetes.io/component"] == "session-store"
    assert v["podLabels"]["genai-platform.io/tenant"] == "acme"


def test_one_pod_without_volume_replicas_or_snapshots():
    v = values()
    assert "replica" not in v and "dataStorage" not in v and "podDisruptionBudget" not in v
    lines = v["valkeyConfig"].splitlines()
    assert 'save ""' in lines and "appendonly no" in lines


def test_max_memory_is_eighty_percent_of_the_limit_and_evicts_least_recently_used():
    lines = values(Resources("100m", "128Mi", "500m", "1Gi"))["valkeyConfig"].splitlines()
    assert f"maxmemory {int(2**30 * 0.8)}" in lines
    assert "maxmemory-policy allkeys-lru" in lines
    assert f"maxmemory {int(256 * 2**20 * 0.8)}" in values()["valkeyConfig"].splitlines()


def test_acl_auth_reads_the_default_users_password_from_the_secret_only():
    v = values()
    assert v["auth"] == {"enabled": True, "usersExistingSecret": "session-store-auth",
                         "aclUsers": {"default": {"permissions": "~* &* +@all"}}}
    assert v["extraValkeySecrets"] == [{"name": spec.AUTH_SECRET, "mountPath": cs.AUTH_MOUNT}]
    assert "password" not in json.dumps(v["auth"]).lower()


def test_probes_authenticate_with_the_mounted_password():
    v = values()
    for probe in ("startupProbe", "readinessProbe"):
        script = v[probe]["customProbe"]["exec"]["command"][2]
        assert f"{cs.AUTH_MOUNT}/{spec.ACL_USER}" in script and "VALKEYCLI_AUTH" in script
        assert script.endswith("= PONG ]")
    assert v["livenessProbe"]["customProbe"]["tcpSocket"] == {"port": "tcp"}


def test_restricted_contexts_with_requests_and_limits():
    v = values()
    assert v["podSecurityContext"]["runAsNonRoot"] is True
    assert v["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = v["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert v["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert v["initResources"]["requests"] and v["initResources"]["limits"]
    assert v["serviceAccount"]["automount"] is False
    assert "metrics" not in v


# --- how the app reaches it -----------------------------------------------------------------

def test_url_names_the_acl_user_the_service_and_database_zero():
    assert spec.redis_url(NS, "pw123") == "redis://default:pw123@session-store.tenant-acme.svc.cluster.local:6379/0"


def test_egress_target_is_the_store_pod_on_6379():
    e = spec.egress(NS)
    assert (e.namespace, dict(e.pod_selector), e.ports) == (NS, spec.selector(), (6379,))


def test_only_the_tenants_app_pods_may_connect():
    policy = spec.app_ingress(NS, spec.labels("acme"))
    assert validate_manifest(policy, "1.33") == []
    s = policy["spec"]
    assert s["podSelector"] == {"matchLabels": spec.selector()}
    assert s["policyTypes"] == ["Ingress"]
    # A podSelector alone: pods of this namespace only.
    assert s["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "chat-app"}}}],
                             "ports": [{"protocol": "TCP", "port": 6379}]}]
    out = spec.app_egress(NS, spec.labels("acme"))
    assert validate_manifest(out, "1.33") == []
    assert out["spec"] == {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "chat-app"}},
                           "policyTypes": ["Egress"],
                           "egress": [{"to": [{"podSelector": {"matchLabels": spec.selector()}}],
                                       "ports": [{"protocol": "TCP", "port": 6379}]}]}
    assert policy["metadata"]["name"] != out["metadata"]["name"]
    assert spec.APP_SELECTOR == policy_specs.APP_SELECTOR == {"app.kubernetes.io/component": app_specs.COMPONENT}


# --- the component under the recording mocks --------------------------------------------------

PROGRAM = textwrap.dedent('''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.tenancy.session_store import SessionStoreArgs, TenantSessionStore

    provider = k8s.Provider("k8s", kubeconfig="stub")
    ns = k8s.core.v1.Namespace("ns", metadata={"name": "tenant-acme"}, opts=pulumi.ResourceOptions(provider=provider))
    store = TenantSessionStore("acme-sessions", SessionStoreArgs(provider=provider, tenant="acme",
                                                                  namespace="tenant-acme", depends_on=(ns,)))
    pulumi.export("url", store.url)
    pulumi.export("plainUrl", pulumi.Output.unsecret(store.url))
    pulumi.export("where", {"selector": store.selector, "port": store.port})
''')


@pytest.fixture(scope="module")
def store_run(tmp_path_factory):
    result = run_component_program(tmp_path_factory.mktemp("session-store"), PROGRAM, "session-store-test")
    return result.monitor


def children(mon, kind: str) -> list:
    return [r for r in mon.registrations if r.custom and r.type.endswith(f":{kind}")
            and r.parent and r.parent.endswith("genai:tenancy:SessionStore::acme-sessions")]


def test_component_creates_the_secret_and_release_with_the_explicit_provider(store_run):
    mon = store_run
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    (secret,) = children(mon, "Secret")
    (release,) = children(mon, "Release")
    for r in (secret, release):
        assert r.provider == provider.urn
    assert mon.violations == []
    assert validate_manifest(secret.inputs, "1.33") == []
    assert secret.inputs["metadata"]["name"] == "session-store-auth"
    assert secret.inputs["metadata"]["namespace"] == NS
    assert secret.inputs["stringData"] == {"default": SECRET}
    r = release.inputs
    assert (r["name"], r["namespace"], r["chart"], r["version"]) == ("session-store", NS, "valkey", "0.11.0")
    assert r["repositoryOpts"] == {"repo": cs.REPOSITORY}
    assert r["values"] == values()
    # The release waits for the namespace and for the Secret its pods mount.
    ns_urn = next(x.urn for x in mon.registrations if x.name == "ns")
    assert {ns_urn, secret.urn} <= set(release.dependencies)


def test_url_is_secret_and_the_password_appears_nowhere_else(store_run):
    mon = store_run
    password = "plan-" + hashlib.sha256(b"acme-sessions-password").hexdigest()[:24]
    assert mon.stack_outputs["url"] == SECRET
    assert mon.stack_outputs["plainUrl"] == spec.redis_url(NS, password)
    assert mon.stack_outputs["where"] == {"selector": spec.selector(), "port": 6379}
    recorded = json.dumps([r.inputs for r in mon.registrations
                           if r.type != "random:index/randomPassword:RandomPassword"])
    assert password not in recorded

"""Tenant namespaces: quota, limits, RBAC and network isolation, proven with the policy walker
over two tenants, the models namespace and the gateway's proxies; and the component itself
under the plan's recording mocks."""

from __future__ import annotations

import textwrap

import pytest
from component_programs import run_component_program
from netpol_walk import External, Pod, allowed, reachable_ports

from components.edge.contracts import (
    INTERNAL_GATEWAY,
    OWNING_GATEWAY_NAME,
    OWNING_GATEWAY_NAMESPACE,
    PUBLIC_GATEWAY,
    ROUTES_NAMESPACE_LABEL,
    TENANT_LABEL,
    GatewayEndpoints,
)
from components.models import server_specs as ss
from components.platform import network_policies
from components.platform.namespace import NamespaceArgs, namespace_labels
from components.tenancy import namespace_specs as ns_specs
from components.tenancy import policy_specs as ps
from components.tenancy import rbac_specs as rbac
from components.tenancy.contracts import Egress
from infra.plan.mocks import RecordingMonitor
from infra.plan.render import is_manifest
from infra.plan.validate import validate_manifest

QUOTA = ns_specs.QuotaSettings(cpu="8", memory="32Gi", gpus=2, storage_gib=100, pods=50, services=20,
                               persistent_volume_claims=10, config_maps=50, secrets=50)
LIMITS = ns_specs.LimitSettings(default_cpu="500m", default_memory="512Mi", default_request_cpu="100m",
                                default_request_memory="128Mi", max_cpu="4", max_memory="16Gi")
CONTROLLER_NS, GATEWAY_NS = "envoy-gateway-system", "genai-gateway"
GATEWAY = GatewayEndpoints(public_url="https://ai.example.com",
                           internal_url=f"http://genai-gateway-internal.{CONTROLLER_NS}.svc.cluster.local",
                           controller_namespace=CONTROLLER_NS, gateway_namespace=GATEWAY_NS)
MODEL_PORTS = (8000, 8080)
DATA = Egress(namespace="genai-data", pod_selector={"cnpg.io/cluster": "platform-pg"}, ports=(5432,))
B_DB = Egress(namespace="tenant-b", pod_selector={"cnpg.io/cluster": "b-db"}, ports=(5432,))

A = ps.PolicyInputs(tenant="a", namespace="tenant-a", gateway=GATEWAY, models_namespace="models",
                    model_ports=MODEL_PORTS, egress=(DATA,), object_store_egress=True)
B = ps.PolicyInputs(tenant="b", namespace="tenant-b", app_port=3000, gateway=GATEWAY, models_namespace="models",
                    model_ports=MODEL_PORTS, egress=(DATA, B_DB), metrics_namespace="monitoring", metrics_ports=(9100,))


def validated(objs: list[dict]) -> list[dict]:
    for obj in objs:
        assert validate_manifest(obj, "1.33") == [], (obj["kind"], obj["metadata"]["name"])
    return objs


def tenant_namespace_labels(p: ps.PolicyInputs) -> dict[str, str]:
    return namespace_labels(NamespaceArgs(
        provider=None, namespace=p.namespace, component=ns_specs.COMPONENT,  # type: ignore[arg-type]
        kubernetes_version="1.33", extra_labels=ns_specs.tenant_labels(p.tenant, model_clients=True)))


# --- quota, limits ---------------------------------------------------------------------------

def test_quota_caps_compute_gpus_storage_and_objects():
    (quota,) = validated([ns_specs.resource_quota("a", "tenant-a", QUOTA)])
    hard = quota["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "2"
    assert hard["requests.cpu"] == hard["limits.cpu"] == "8"
    assert hard["requests.memory"] == hard["limits.memory"] == "32Gi"
    assert hard["requests.storage"] == "100Gi" and hard["persistentvolumeclaims"] == "10"
    assert hard["services.loadbalancers"] == hard["services.nodeports"] == "0"
    assert (hard["pods"], hard["services"], hard["configmaps"], hard["secrets"]) == ("50", "20", "50", "50")
    assert {"count/jobs.batch", "count/cronjobs.batch"} <= set(hard)
    assert quota["metadata"]["labels"][TENANT_LABEL] == "a"


def test_no_gpus_is_an_explicit_zero():
    hard = ns_specs.resource_quota("a", "tenant-a", ns_specs.QuotaSettings(
        cpu="1", memory="1Gi", gpus=0, storage_gib=0, pods=5, services=1, persistent_volume_claims=0,
        config_maps=5, secrets=5))["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "0" and hard["requests.storage"] == "0Gi"


def test_limit_range_defaults_and_ceilings():
    (lr,) = validated([ns_specs.limit_range("a", "tenant-a", LIMITS, storage_gib=100)])
    container, claim = lr["spec"]["limits"]
    assert container["type"] == "Container"
    assert container["default"] == {"cpu": "500m", "memory": "512Mi"}
    assert container["defaultRequest"] == {"cpu": "100m", "memory": "128Mi"}
    assert container["max"] == {"cpu": "4", "memory": "16Gi"}
    assert claim == {"type": "PersistentVolumeClaim", "max": {"storage": "100Gi"}}


def test_namespace_labels_are_the_contract():
    labels = tenant_namespace_labels(A)
    assert labels[TENANT_LABEL] == "a"
    assert labels[ROUTES_NAMESPACE_LABEL] == "true"
    assert labels[ss.CLIENT_NAMESPACE_LABEL] == "true"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ss.CLIENT_NAMESPACE_LABEL not in dict(ns_specs.tenant_labels("a", model_clients=False))


# --- RBAC -------------------------------------------------------------------------------------

def rules_for(role: dict, group: str, resource: str) -> set[str]:
    return {v for r in role["rules"] if group in r["apiGroups"] and resource in r["resources"] for v in r["verbs"]}


def test_roles_have_no_wildcards_or_escalation():
    objs = validated(rbac.rbac_objects("a", "tenant-a", ("a-devs",), ("a-readers",)))
    assert {o["kind"] for o in objs} == {"Role", "RoleBinding"}
    for role in (o for o in objs if o["kind"] == "Role"):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
            assert "nonResourceURLs" not in rule and "resourceNames" not in rule


def test_edit_role_runs_workloads_but_cannot_loosen_the_fences():
    edit = rbac.edit_role("a", "tenant-a")
    assert {"create", "update", "delete"} <= rules_for(edit, "apps", "deployments")
    assert {"create", "update", "delete"} <= rules_for(edit, "batch", "cronjobs")
    assert "create" in rules_for(edit, "", "secrets")
    for group, resource in [("", "resourcequotas"), ("", "limitranges"), ("networking.k8s.io", "networkpolicies"),
                            (rbac.RBAC_GROUP, "rolebindings"), (rbac.RBAC_GROUP, "roles"), ("", "endpoints"),
                            ("discovery.k8s.io", "endpointslices"), ("gateway.networking.k8s.io", "httproutes"),
                            ("policy", "poddisruptionbudgets")]:
        assert rules_for(edit, group, resource) <= set(rbac.READ), (group, resource)
    assert not rules_for(edit, "apps", "daemonsets")
    assert not rules_for(edit, "networking.k8s.io", "ingresses")


def test_view_role_reads_and_never_secrets():
    view = rbac.view_role("a", "tenant-a")
    assert all(set(r["verbs"]) == {"get", "list", "watch"} for r in view["rules"])
    assert not rules_for(view, "", "secrets")
    assert not rules_for(view, "", "pods/exec")
    assert rules_for(view, "apps", "deployments") == {"get", "list", "watch"}


def test_bindings_only_for_given_groups():
    assert [o["kind"] for o in rbac.rbac_objects("a", "tenant-a", (), ())] == ["Role", "Role"]
    objs = rbac.rbac_objects("a", "tenant-a", (), ("auditors", "support"))
    (binding,) = [o for o in objs if o["kind"] == "RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-view"}
    assert binding["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "auditors"},
                                   {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "support"}]
    assert binding["metadata"]["namespace"] == "tenant-a"


# --- network isolation, walked ------------------------------------------------------------------

def all_policies() -> list[dict]:
    out = []
    for p in (A, B):
        out += network_policies.baseline(p.namespace, {}) + ps.tenant_policies(p, {"x": "y"})
    out += network_policies.baseline("models", {})
    out += ss.network_policies("models", {}, api_ports=MODEL_PORTS, metrics_ports=(8000,), metrics_namespace="monitoring")
    return validated(out)


NAMESPACES = {
    "tenant-a": tenant_namespace_labels(A),
    "tenant-b": tenant_namespace_labels(B),
    "models": {ss.CLIENT_NAMESPACE_LABEL: "true"},
    CONTROLLER_NS: {},
    GATEWAY_NS: {},
    "genai-data": {},
    "monitoring": {},
    "kube-system": {},
    "other": {},
}


def proxy(gateway: str, gateway_ns: str = GATEWAY_NS, ip: str = "10.9.0.1") -> Pod:
    return Pod(CONTROLLER_NS, {OWNING_GATEWAY_NAME: gateway, OWNING_GATEWAY_NAMESPACE: gateway_ns},
               f"envoy-{gateway}-{gateway_ns}", ip=ip)


def tenant_pods(p: ps.PolicyInputs, n: int) -> dict[str, Pod]:
    return {
        "app": Pod(p.namespace, {**ps.APP_SELECTOR, TENANT_LABEL: p.tenant}, "app", ip=f"10.{n}.0.2"),
        "ingest": Pod(p.namespace, {"app.kubernetes.io/component": "ingestion"}, "ingest", ip=f"10.{n}.0.3"),
        "db": Pod(p.namespace, {"cnpg.io/cluster": f"{p.tenant}-db"}, "db", ip=f"10.{n}.0.4"),
    }


POD_A, POD_B = tenant_pods(A, 1), tenant_pods(B, 2)
PUBLIC, INTERNAL = proxy(PUBLIC_GATEWAY), proxy(INTERNAL_GATEWAY)
MODEL = Pod("models", ss.labels("llama", "llama"), "llama", ip="10.5.0.2")
OUTSIDERS = [
    proxy("other-gateway"), proxy(PUBLIC_GATEWAY, gateway_ns="tenant-b"),
    Pod(CONTROLLER_NS, {"app.kubernetes.io/name": "envoy-gateway"}, "controller"),
    Pod("other", {OWNING_GATEWAY_NAME: PUBLIC_GATEWAY, OWNING_GATEWAY_NAMESPACE: GATEWAY_NS}, "look-alike"),
    Pod("monitoring", {"app": "prometheus"}, "prometheus"), Pod("genai-data", {"cnpg.io/cluster": "platform-pg"}, "pg"),
    MODEL, External("203.0.113.9"), External("10.0.0.1"),
]
DNS = Pod("kube-system", {"k8s-app": "kube-dns"}, "coredns")


@pytest.fixture(scope="module")
def policies() -> list[dict]:
    return all_policies()


@pytest.mark.parametrize(("src", "dst"), [(s, d) for s in POD_A.values() for d in POD_B.values()]
                         + [(s, d) for s in POD_B.values() for d in POD_A.values()], ids=str)
def test_tenants_cannot_reach_each_other_on_any_port(policies, src, dst):
    assert reachable_ports(policies, NAMESPACES, src, dst) == []


@pytest.mark.parametrize("pods", [POD_A, POD_B], ids=["a", "b"])
def test_app_is_reachable_only_from_the_gateway_proxies(policies, pods):
    app = pods["app"]
    port = A.app_port if app.namespace == "tenant-a" else B.app_port
    for gw in (PUBLIC, INTERNAL):
        assert reachable_ports(policies, NAMESPACES, gw, app) == [("TCP", port)]
    others = [*OUTSIDERS, *POD_A.values(), *POD_B.values()]
    admitted = [str(s) for s in others if s is not app and allowed(policies, NAMESPACES, s, app, port)]
    if app.namespace == "tenant-b":
        # Prometheus scrapes B's pods (metrics_namespace set), on the app and metrics ports only.
        assert admitted == ["monitoring/prometheus"]
        assert reachable_ports(policies, NAMESPACES, OUTSIDERS[4], app) == [("TCP", 3000), ("TCP", 9100)]
    else:
        assert admitted == []


@pytest.mark.parametrize("pods", [POD_A, POD_B], ids=["a", "b"])
def test_tenant_pods_reach_the_internal_gateway_models_and_dns(policies, pods):
    for pod in pods.values():
        assert reachable_ports(policies, NAMESPACES, pod, INTERNAL) == [("TCP", 10080)]
        assert reachable_ports(policies, NAMESPACES, pod, PUBLIC) == []
        assert reachable_ports(policies, NAMESPACES, pod, MODEL) == [("TCP", 8000), ("TCP", 8080)]
        assert {("UDP", 53), ("TCP", 53)} == set(reachable_ports(policies, NAMESPACES, pod, DNS))
        assert allowed(policies, NAMESPACES, pod, OUTSIDERS[5], 5432)
        assert not allowed(policies, NAMESPACES, pod, OUTSIDERS[5], 5433)
        elsewhere = Pod("other", {"cnpg.io/cluster": "platform-pg"}, "same-labels-elsewhere")
        assert reachable_ports(policies, NAMESPACES, pod, elsewhere) == []


def test_models_namespace_admits_no_unlabelled_caller(policies):
    stranger = Pod("other", {}, "stranger")
    assert reachable_ports(policies, NAMESPACES, stranger, MODEL) == []


def test_https_to_public_addresses_only_for_object_store_ingestion(policies):
    bucket = External("52.216.10.20")
    assert reachable_ports(policies, NAMESPACES, POD_A["ingest"], bucket) == [("TCP", 443)]
    assert reachable_ports(policies, NAMESPACES, POD_B["ingest"], bucket) == []
    for private in ("10.2.0.2", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.64.3.4"):
        assert not allowed(policies, NAMESPACES, POD_A["ingest"], External(private), 443), private


def test_dedicated_database_inside_the_namespace(policies):
    assert reachable_ports(policies, NAMESPACES, POD_B["app"], POD_B["db"]) == [("TCP", 5432)]
    assert reachable_ports(policies, NAMESPACES, POD_A["app"], POD_A["db"]) == [], "A has no local target"


def test_without_gateway_or_models_nothing_is_opened():
    bare = ps.tenant_policies(ps.PolicyInputs(tenant="c", namespace="tenant-c"), {})
    assert bare == []


# --- the component under the plan's recording mocks -------------------------------------------

PROGRAM = textwrap.dedent('''
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, StorageClasses
    from components.edge.contracts import GatewayEndpoints
    from components.tenancy.contracts import Egress
    from components.tenancy.namespace import LimitSettings, QuotaSettings, TenantNamespace, TenantNamespaceArgs

    provider = k8s.Provider("k8s", kubeconfig="stub")
    cluster = ClusterInfo(kind="existing", name="t", provider=provider, kubernetes_version="1.33", gpu_pools=(),
                          storage=StorageClasses(rwo="standard", rwx=None), protect=True)
    quota = QuotaSettings(cpu="8", memory="32Gi", gpus=1, storage_gib=50, pods=40, services=10,
                          persistent_volume_claims=5, config_maps=40, secrets=40)
    limits = LimitSettings(default_cpu="500m", default_memory="512Mi", default_request_cpu="100m",
                           default_request_memory="128Mi", max_cpu="4", max_memory="16Gi")
    gateway = GatewayEndpoints(public_url="https://ai.example.com",
                               internal_url="http://genai-gateway-internal.envoy-gateway-system.svc.cluster.local",
                               controller_namespace="envoy-gateway-system", gateway_namespace="genai-gateway")
    TenantNamespace("acme", TenantNamespaceArgs(
        cluster=cluster, tenant="acme", namespace="tenant-acme", quota=quota, limits=limits,
        edit_groups=("acme-devs",), gateway=gateway, models_namespace="models", model_ports=(8000,),
        egress=(Egress("genai-data", {"cnpg.io/cluster": "pg"}, (5432,)),), metrics_namespace="monitoring"))
    TenantNamespace("beta", TenantNamespaceArgs(
        cluster=cluster, tenant="beta", namespace="tenant-beta", quota=quota, limits=limits))
''')


@pytest.fixture(scope="module")
def tenant_run(tmp_path_factory) -> RecordingMonitor:
    result = run_component_program(tmp_path_factory.mktemp("tenant"), PROGRAM, "tenant-test")
    return result.monitor


def manifests(mon: RecordingMonitor, namespace: str) -> dict[tuple[str, str], dict]:
    return {(r.inputs["kind"], r.inputs["metadata"]["name"]): r.inputs for r in mon.registrations
            if is_manifest(r) and (r.inputs["metadata"].get("namespace") or r.inputs["metadata"]["name"]) == namespace}


def test_component_renders_valid_namespaced_objects(tenant_run):
    objs = [r.inputs for r in tenant_run.registrations if is_manifest(r)]
    assert [e for o in objs for e in validate_manifest(o, "1.33")] == []
    kinds = {o["kind"] for o in objs}
    assert kinds == {"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "Role", "RoleBinding"}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding"}
    assert tenant_run.violations == []


def test_component_objects_per_tenant(tenant_run):
    acme, beta = manifests(tenant_run, "tenant-acme"), manifests(tenant_run, "tenant-beta")
    assert set(acme) == {
        ("Namespace", "tenant-acme"), ("ResourceQuota", "tenant-quota"), ("LimitRange", "tenant-limits"),
        ("Role", "tenant-edit"), ("Role", "tenant-view"), ("RoleBinding", "tenant-edit"),
        ("NetworkPolicy", "default-deny"), ("NetworkPolicy", "allow-dns"), ("NetworkPolicy", "allow-app-from-gateway"),
        ("NetworkPolicy", "allow-egress-gateway"), ("NetworkPolicy", "allow-egress-models"),
        ("NetworkPolicy", "allow-egress-data"), ("NetworkPolicy", "allow-metrics-scrape")}
    assert {k for k in beta if k[0] in ("RoleBinding", "NetworkPolicy")} == {
        ("NetworkPolicy", "default-deny"), ("NetworkPolicy", "allow-dns")}
    labels = acme[("Namespace", "tenant-acme")]["metadata"]["labels"]
    assert labels[TENANT_LABEL] == "acme" and labels[ss.CLIENT_NAMESPACE_LABEL] == "true"
    assert ss.CLIENT_NAMESPACE_LABEL not in beta[("Namespace", "tenant-beta")]["metadata"]["labels"]
    assert acme[("ResourceQuota", "tenant-quota")]["spec"]["hard"]["requests.nvidia.com/gpu"] == "1"
    assert acme[("RoleBinding", "tenant-edit")]["subjects"][0]["name"] == "acme-devs"


def test_component_uses_the_provider_parents_and_protects_the_namespace(tenant_run):
    (provider,) = tenant_run.by_type("pulumi:providers:kubernetes")
    k8s_resources = [r for r in tenant_run.registrations if r.custom and r.type.startswith("kubernetes:")]
    assert k8s_resources and all(r.provider == provider.urn for r in k8s_resources)
    assert all(r.parent and "genai:" in r.parent for r in k8s_resources)
    namespaces = tenant_run.by_type("kubernetes:core/v1:Namespace")
    assert len(namespaces) == 2 and all(r.protect for r in namespaces)
    quota = next(r for r in tenant_run.by_type("kubernetes:core/v1:ResourceQuota"))
    ns_urn = next(r.urn for r in namespaces if r.inputs["metadata"]["name"] == quota.inputs["metadata"]["namespace"])
    assert ns_urn in quota.dependencies
    components = {r.type for r in tenant_run.registrations if not r.custom}
    assert "genai:tenancy:Namespace" in components

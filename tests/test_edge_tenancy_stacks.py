"""The gateway and the tenants as the stacks render them: what reaches the cluster per stack."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import run_stack
from netpol_walk import Pod, allowed

from components.edge.contracts import TENANT_HEADER
from components.edge.gateway_specs import envoy_pod_labels
from components.models.server_specs import labels as server_labels
from infra.plan.runner import RunResult

CR = "kubernetes:{}:{}"
HELM = "kubernetes:helm.sh/v3:Release"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
_RUNS: dict[str, RunResult] = {}


def planned(stack: str) -> RunResult:
    if stack not in _RUNS:
        result = run_stack(stack)
        assert result.error is None, result.error
        _RUNS[stack] = result
    return _RUNS[stack]


def objects(result: RunResult, api: str, kind: str) -> list[dict]:
    return [r.inputs for r in result.monitor.registrations if r.type == CR.format(api, kind)]


def releases(result: RunResult) -> dict[str, dict]:
    return {r.inputs["name"]: r.inputs for r in result.monitor.registrations if r.type == HELM}


def stack_tenants(result: RunResult) -> dict:
    return result.monitor.stack_outputs.get("tenants", {})


@pytest.mark.parametrize("stack", ["local", "dev", "staging", "onprem", "prod-aws", "prod-gcp", "prod-azure"])
def test_every_stack_has_the_gateway_and_its_tenants(stack):
    result = planned(stack)
    out = result.monitor.stack_outputs
    assert out["gateway"]["url"].startswith("https://api.") and out["gateway"]["url"].endswith("/v1")
    assert out["gateway"]["internalUrl"] == \
        "http://genai-gateway-internal.envoy-gateway-system.svc.cluster.local/v1"
    assert len(stack_tenants(result)) >= (1 if stack == "local" else 2)
    # One key per tenant, exported only as a secret.
    assert out["tenantApiKeys"] == "[secret]"
    names = {(g["metadata"]["name"], g["spec"]["gatewayClassName"])
             for g in objects(result, "gateway.networking.k8s.io/v1", "Gateway")}
    assert names == {("genai", "genai"), ("genai-internal", "genai")}


@pytest.mark.parametrize("stack", ["onprem", "prod-aws", "prod-gcp", "prod-azure"])
def test_every_vllm_model_has_a_pool_whose_selector_matches_its_server_pods(stack):
    result = planned(stack)
    deployments = {d["metadata"]["name"]: d for d in
                   (r.inputs for r in result.monitor.registrations if r.type == "kubernetes:apps/v1:Deployment")}
    routed = result.monitor.stack_outputs["gateway"]["models"]
    pooled = sorted(name for name, m in routed.items() if m["endpointPicker"])
    assert pooled, "every GPU stack serves some vLLM model"
    rels = releases(result)
    for model in pooled:
        values = rels[f"{model}-pool"]["values"]
        match = values["inferencePool"]["modelServers"]["matchLabels"]
        pod_labels = deployments[model]["spec"]["template"]["metadata"]["labels"]
        assert match.items() <= pod_labels.items(), (model, match, pod_labels)
        # ...and no other model's pods.
        for other, dep in deployments.items():
            if other != model and "genai-platform.io/model" in dep["spec"]["template"]["metadata"]["labels"]:
                assert not match.items() <= dep["spec"]["template"]["metadata"]["labels"].items()
        assert server_labels(model, "x").items() >= match.items()


@pytest.mark.parametrize("stack", ["onprem", "prod-aws"])
def test_pools_sharing_the_models_namespace_render_no_common_secret(stack):
    rels = [r for name, r in releases(planned(stack)).items() if name.endswith("-pool")]
    assert len(rels) >= 2
    secrets = [r["values"]["inferenceExtension"]["monitoring"]["prometheus"]["auth"]["secretName"] for r in rels]
    assert len(set(secrets)) == len(secrets)


def test_openai_route_has_one_rule_per_openai_model_on_both_gateways():
    result = planned("onprem")
    (route,) = objects(result, "aigateway.envoyproxy.io/v1beta1", "AIGatewayRoute")
    routed = result.monitor.stack_outputs["gateway"]["models"]
    openai = {n for n, m in routed.items() if m["path"] == "/v1"}
    rules = {rule["matches"][0]["headers"][0]["value"] for rule in route["spec"]["rules"]}
    assert rules == openai
    assert {p["name"] for p in route["spec"]["parentRefs"]} == {"genai", "genai-internal"}
    (path_route,) = [r for r in objects(result, "gateway.networking.k8s.io/v1", "HTTPRoute")
                     if r["metadata"]["name"] == "model-apis"]
    prefixes = {m["path"]["value"] for rule in path_route["spec"]["rules"] for m in rule["matches"]}
    assert prefixes == {f"/models/{n}/" for n, m in routed.items() if m["path"] != "/v1"}


@pytest.mark.parametrize("stack, kind", [
    ("local", "self-signed"), ("dev", "http01"), ("prod-azure", "dns01"), ("onprem", "existing")])
def test_tls_issuer_per_stack(stack, kind):
    result = planned(stack)
    issuers = {i["metadata"]["name"]: i["spec"] for i in objects(result, "cert-manager.io/v1", "ClusterIssuer")}
    (cert,) = [c for c in objects(result, "cert-manager.io/v1", "Certificate")
               if c["metadata"]["namespace"] == "genai-gateway"]
    hosts = {t["url"].removeprefix("https://") for t in stack_tenants(result).values()}
    assert hosts <= set(cert["spec"]["dnsNames"]), "every tenant app hostname is in the certificate"
    issuer = cert["spec"]["issuerRef"]["name"]
    if kind == "self-signed":
        assert issuer == "genai-ca" and "ca" in issuers["genai-ca"]
    elif kind == "existing":
        assert issuer == "corp-ca" and not issuers
    else:
        solvers = issuers[issuer]["acme"]["solvers"]
        assert ("http01" if kind == "http01" else "dns01") in solvers[0]


@pytest.mark.parametrize("stack", ["dev", "prod-aws"])
def test_every_tenant_has_a_credential_and_its_own_limits(stack):
    result = planned(stack)
    tenants = set(stack_tenants(result))
    (policy,) = objects(result, "gateway.envoyproxy.io/v1alpha1", "SecurityPolicy")
    refs = {r["name"] for r in policy["spec"]["apiKeyAuth"]["credentialRefs"]}
    assert refs == {f"tenant-key-{t}" for t in tenants}
    assert policy["spec"]["apiKeyAuth"]["forwardClientIDHeader"] == TENANT_HEADER
    targets = {t["name"] for t in policy["spec"]["targetRefs"]}
    assert targets == {"openai", "model-apis"}
    (limits,) = objects(result, "gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy")
    rules = limits["spec"]["rateLimit"]["global"]["rules"]
    per_tenant = Counter(r["clientSelectors"][0]["headers"][0]["value"] for r in rules)
    assert set(per_tenant) == tenants
    # A token rule exactly for the tenants that set tokensPerMinute.
    token_rules = {r["clientSelectors"][0]["headers"][0]["value"] for r in rules if "cost" in r}
    assert token_rules == {t for t, n in per_tenant.items() if n == 2}
    # Keys exist only as secret Secret values.
    secrets = [r for r in result.monitor.registrations if r.type == "kubernetes:core/v1:Secret"
               and r.inputs["metadata"]["name"].startswith("tenant-key-")]
    assert len(secrets) == len(tenants)
    assert all(set(s.to_json()["inputs"]["stringData"].values()) == {"[secret]"} for s in secrets)


def test_quotas_include_gpus_and_rbac_grants_nothing_cluster_wide():
    result = planned("prod-aws")
    quotas = objects(result, "core/v1", "ResourceQuota")
    assert len(quotas) == len(stack_tenants(result))
    assert all("requests.nvidia.com/gpu" in q["spec"]["hard"] for q in quotas)
    kinds = {r.type for r in result.monitor.registrations}
    tenancy = [r for r in result.monitor.registrations if r.type.startswith("kubernetes:rbac")
               and r.inputs["metadata"].get("namespace", "").startswith("tenant-")]
    assert tenancy and all(r.type in ("kubernetes:rbac.authorization.k8s.io/v1:Role",
                                      "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding") for r in tenancy)
    assert "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding" not in kinds


def test_gateway_proxies_are_highly_available_in_prod():
    result = planned("prod-aws")
    proxies = {p["metadata"]["name"]: p["spec"]["provider"]["kubernetes"]
               for p in objects(result, "gateway.envoyproxy.io/v1alpha1", "EnvoyProxy")}
    for spec in proxies.values():
        assert spec["envoyDeployment"]["replicas"] >= 2
        assert spec["envoyPDB"]["minAvailable"] == 1
        keys = {c["topologyKey"] for c in spec["envoyDeployment"]["pod"]["topologySpreadConstraints"]}
        assert "topology.kubernetes.io/zone" in keys


def test_the_full_onprem_plan_keeps_tenants_apart():
    """Every NetworkPolicy the onprem stack renders, walked for the two tenants' pods."""
    result = planned("onprem")
    policies = [r.inputs for r in result.monitor.registrations if r.type == POLICY]
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"].get("labels", {})
                  for r in result.monitor.registrations if r.type == "kubernetes:core/v1:Namespace"}
    a, b = sorted(t["namespace"] for t in stack_tenants(result).values())
    app = {"app.kubernetes.io/component": "chat-app"}
    app_a, app_b = Pod(a, app), Pod(b, app)
    job_a = Pod(a, {"app.kubernetes.io/component": "ingestion"})

    def proxy(gateway: str) -> Pod:
        # The labels Envoy Gateway puts on a Gateway's proxies.
        return Pod("envoy-gateway-system", envoy_pod_labels(gateway, "genai-gateway"))

    for port in (80, 443, 5432, 6379, 6333, 8080, 8000):
        assert not allowed(policies, namespaces, app_a, app_b, port)
        assert not allowed(policies, namespaces, app_b, app_a, port)
        assert not allowed(policies, namespaces, job_a, app_b, port)
    # Only the gateway's proxies reach an app; a model server or a database pod doesn't.
    assert allowed(policies, namespaces, proxy("genai"), app_a, 8080)
    assert allowed(policies, namespaces, proxy("genai-internal"), app_b, 8080)
    model_pod = Pod("genai-models", {"app.kubernetes.io/component": "model-server"})
    assert not allowed(policies, namespaces, model_pod, app_a, 8080)
    # Apps call the models through the internal gateway, not around it.
    assert allowed(policies, namespaces, app_a, proxy("genai-internal"), 10080)
    vllm = Pod("genai-models", {"app.kubernetes.io/component": "model-server", "genai-platform.io/model": "x"})
    assert not allowed(policies, namespaces, app_a, vllm, 8000)


def test_no_tenant_secret_value_reaches_the_plan():
    result = planned("dev")
    text = json.dumps([r.to_json() for r in result.monitor.registrations])
    assert "sk-search-" not in text and "sk-support-" not in text
    envs = [r.to_json()["inputs"] for r in result.monitor.registrations if r.type == "kubernetes:core/v1:Secret"
            and r.inputs["metadata"]["name"] == "tenant-env"]
    assert len(envs) == 2
    for env in envs:
        assert {"OPENAI_API_KEY", "DATABASE_URL", "APP_SECRET_KEY", "SESSION_REDIS_URL"} <= set(env["stringData"])
        assert set(env["stringData"].values()) == {"[secret]"}

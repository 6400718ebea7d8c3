"""Tenant access at the gateway: key Secrets, SecurityPolicy (API keys or JWT) and per-tenant rate
limits, as pure builders against the Envoy Gateway v1.9 schemas and
as a component under the recording mocks (keys stay secret, one credential per tenant)."""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest
from component_programs import run_component_program

from components.edge import access_specs as spec
from components.edge.contracts import (
    AI_GATEWAY_METADATA_NAMESPACE,
    MODEL_PATH_ROUTE,
    OPENAI_ROUTE,
    TENANT_HEADER,
    TOTAL_TOKENS_KEY,
    TenantAccess,
)
from infra.plan.mocks import SECRET
from infra.plan.validate import validate_manifest

NS = "genai-gateway"
LABELS = {"app.kubernetes.io/name": "tenant-access"}
ROUTES = (OPENAI_ROUTE, MODEL_PATH_ROUTE)
ACME = TenantAccess(name="acme", namespace="tenant-acme", requests_per_minute=600, tokens_per_minute=100_000)
GLOBEX = TenantAccess(name="globex", namespace="tenant-globex", requests_per_minute=60)
JWT = spec.JwtSettings(issuer="https://login.example.com/", jwks_uri="https://login.example.com/keys",
                       audiences=("genai",), tenant_claim="org")


def valid(obj: dict) -> dict:
    assert validate_manifest(obj, "1.33") == [], obj["metadata"]["name"]
    return obj


def tenants(n: int) -> tuple[TenantAccess, ...]:
    return tuple(TenantAccess(name=f"t{i}", namespace=f"tenant-t{i}", requests_per_minute=10) for i in range(n))


# --- SecurityPolicy ------------------------------------------------------------------------

def test_api_keys_one_credential_per_tenant_read_from_authorization():
    p = valid(spec.security_policy(NS, ROUTES, (ACME, GLOBEX), LABELS))
    assert p["metadata"] == {"name": "model-access", "namespace": NS, "labels": LABELS}
    s = p["spec"]
    assert s["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "openai"},
                               {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "model-apis"}]
    auth = s["apiKeyAuth"]
    assert auth["credentialRefs"] == [{"group": "", "kind": "Secret", "name": "tenant-key-acme"},
                                      {"group": "", "kind": "Secret", "name": "tenant-key-globex"}]
    # Envoy's api_key_auth drops "Bearer " itself, so OpenAI clients' Authorization header works as is.
    assert auth["extractFrom"] == [{"headers": ["Authorization"]}]
    assert auth["forwardClientIDHeader"] == TENANT_HEADER == "x-genai-tenant"
    assert auth["sanitize"] is True
    assert "jwt" not in s and "authorization" not in s


def test_key_secret_holds_the_key_under_the_tenant_name():
    s = valid(spec.key_secret("acme", NS, "sk-acme-x", LABELS))
    assert s["metadata"]["name"] == spec.key_secret_name("acme") == "tenant-key-acme"
    assert s["type"] == "Opaque" and s["stringData"] == {"acme": "sk-acme-x"}
    assert spec.key_prefix("acme") == "sk-acme-"


def test_jwt_admits_only_tokens_naming_a_known_tenant():
    p = valid(spec.security_policy(NS, ROUTES, (ACME, GLOBEX), LABELS, auth_mode="jwt", jwt=JWT))
    s = p["spec"]
    assert "apiKeyAuth" not in s
    (provider,) = s["jwt"]["providers"]
    assert provider == {"name": "tenants", "issuer": "https://login.example.com/",
                        "remoteJWKS": {"uri": "https://login.example.com/keys"}, "audiences": ["genai"],
                        "claimToHeaders": [{"claim": "org", "header": TENANT_HEADER}]}
    assert s["authorization"]["defaultAction"] == "Deny"
    (rule,) = s["authorization"]["rules"]
    assert rule["action"] == "Allow"
    assert rule["principal"] == {"jwt": {"provider": "tenants", "claims": [{"name": "org", "values": ["acme", "globex"]}]}}


def test_jwt_without_audiences_leaves_them_unchecked():
    jwt = spec.JwtSettings(issuer="https://idp.example.com", jwks_uri="https://idp.example.com/jwks")
    (provider,) = valid(spec.security_policy(NS, ROUTES, (ACME,), LABELS, auth_mode="jwt", jwt=jwt))["spec"]["jwt"]["providers"]
    assert "audiences" not in provider and provider["claimToHeaders"][0]["claim"] == "tenant"


def test_jwt_tenant_lists_beyond_one_claims_limit_spread_over_rules():
    many = tenants(300)
    rules = valid(spec.security_policy(NS, ROUTES, many, LABELS, auth_mode="jwt", jwt=JWT))["spec"]["authorization"]["rules"]
    values = [r["principal"]["jwt"]["claims"][0]["values"] for r in rules]
    assert [len(v) for v in values] == [128, 128, 44]
    assert [x for v in values for x in v] == [t.name for t in many]
    assert len({r["name"] for r in rules}) == 3


def test_no_tenant_means_nobody_gets_in():
    for mode, jwt in (("apiKey", None), ("jwt", JWT)):
        s = valid(spec.security_policy(NS, ROUTES, (), LABELS, auth_mode=mode, jwt=jwt))["spec"]
        assert s == {"targetRefs": spec.route_refs(ROUTES), "authorization": {"defaultAction": "Deny"}}


@pytest.mark.parametrize(("routes", "mode", "jwt", "message"), [
    ((), "apiKey", None, "no routes"),
    ((OPENAI_ROUTE, OPENAI_ROUTE), "apiKey", None, "duplicate routes"),
    (ROUTES, "oidc", None, "not one of"),
    (ROUTES, "jwt", None, "needs JWT settings"),
    (ROUTES, "jwt", spec.JwtSettings("https://i", "https://i/k", audiences=tuple("abcdefghi")), "at most 8"),
])
def test_bad_settings_fail_with_their_reason(routes, mode, jwt, message):
    with pytest.raises(ValueError, match=message):
        spec.security_policy(NS, routes, (ACME,), LABELS, auth_mode=mode, jwt=jwt)


# --- rate limits ---------------------------------------------------------------------------

def test_requests_and_tokens_per_tenant():
    p = valid(spec.rate_limit_policy(NS, ROUTES, (ACME, GLOBEX), LABELS))
    assert p["metadata"]["name"] == "tenant-rate-limits"
    s = p["spec"]
    assert s["targetRefs"] == spec.route_refs(ROUTES)
    assert s["mergeType"] == "StrategicMerge"
    assert s["rateLimit"]["type"] == "Global"
    acme_requests, acme_tokens, globex_requests = s["rateLimit"]["global"]["rules"]
    selector = [{"headers": [{"name": TENANT_HEADER, "type": "Exact", "value": "acme"}]}]
    assert acme_requests == {"clientSelectors": selector, "limit": {"requests": 600, "unit": "Minute"}, "shared": True}
    assert acme_tokens["clientSelectors"] == selector
    assert acme_tokens["limit"] == {"requests": 100_000, "unit": "Minute"}
    assert acme_tokens["cost"] == {
        "request": {"from": "Number", "number": 0},
        "response": {"from": "Metadata", "metadata": {"namespace": "io.envoy.ai_gateway", "key": "llm_total_token"}}}
    assert (AI_GATEWAY_METADATA_NAMESPACE, TOTAL_TOKENS_KEY) == ("io.envoy.ai_gateway", "llm_total_token")
    assert acme_tokens["shared"] is True
    assert globex_requests["clientSelectors"][0]["headers"][0]["value"] == "globex"
    assert globex_requests["limit"] == {"requests": 60, "unit": "Minute"} and "cost" not in globex_requests


def test_no_tenant_no_rate_limit_policy():
    assert spec.rate_limit_policy(NS, ROUTES, (), LABELS) is None


def test_rule_count_is_bounded_by_the_crd():
    with_tokens = tuple(TenantAccess(f"t{i}", f"tenant-t{i}", 10, 1000) for i in range(129))
    assert len(spec.rate_limit_rules(with_tokens[:128])) == 256
    with pytest.raises(ValueError, match="at most 256"):
        spec.rate_limit_rules(with_tokens)


# --- the component under the recording mocks ------------------------------------------------

PROGRAM = textwrap.dedent('''
    import hashlib

    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, StorageClasses
    from components.edge.access import AccessArgs, JwtSettings, TenantGatewayAccess
    from components.edge.contracts import TenantAccess

    provider = k8s.Provider("k8s", kubeconfig="stub")
    cluster = ClusterInfo(kind="existing", name="test", provider=provider, kubernetes_version="1.33", gpu_pools=(),
                          storage=StorageClasses(rwo="standard", rwx=None))
    gate = k8s.core.v1.Namespace("gate", metadata={"name": "genai-gateway"}, opts=pulumi.ResourceOptions(provider=provider))
    tenants = (TenantAccess("acme", "tenant-acme", 600, 100000), TenantAccess("globex", "tenant-globex", 60))
    keys = TenantGatewayAccess("keys", AccessArgs(cluster=cluster, namespace="genai-gateway", tenants=tenants,
                               routes=("openai", "model-apis"), depends_on=(gate,)))
    jwt = TenantGatewayAccess("jwt", AccessArgs(cluster=cluster, namespace="jwt-gateway", tenants=tenants,
                              routes=("openai",), auth_mode="jwt",
                              jwt=JwtSettings("https://idp.example.com", "https://idp.example.com/jwks")))
    empty = TenantGatewayAccess("empty", AccessArgs(cluster=cluster, namespace="empty-gateway", tenants=(),
                                routes=("openai",)))
    pulumi.export("tenantApiKeys", keys.api_keys)
    pulumi.export("keySecrets", keys.key_secrets)
    pulumi.export("jwtKeys", {"keys": jwt.api_keys, "secrets": jwt.key_secrets})
    # Digests only: what the keys are made of is checked without the keys leaving the secret.
    pulumi.export("keyDigests", {t: pulumi.Output.unsecret(k.apply(lambda v: hashlib.sha256(v.encode()).hexdigest()))
                                 for t, k in keys.api_keys.items()})
''')


@pytest.fixture(scope="module")
def access_run(tmp_path_factory):
    result = run_component_program(tmp_path_factory.mktemp("access"), PROGRAM, "access-test")
    return result.monitor


def mock_password(resource_name: str) -> str:
    """The ``result`` the recording mocks give a RandomPassword of that name."""
    return "plan-" + hashlib.sha256(resource_name.encode()).hexdigest()[:24]


def of(mon, component: str, kind: str) -> list:
    return [r for r in mon.registrations if r.custom and r.type.endswith(f":{kind}")
            and r.parent and r.parent.endswith(f"::{component}")]


def test_every_object_validates_with_the_explicit_provider(access_run):
    mon = access_run
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    objects = [r for r in mon.registrations if r.custom and r.type.startswith("kubernetes:") and r.name != "gate"]
    assert {r.inputs["kind"] for r in objects} == {"Secret", "SecurityPolicy", "BackendTrafficPolicy"}
    for r in objects:
        assert r.provider == provider.urn, r.urn
        assert "genai:edge:TenantAccess" in r.parent, r.urn
        assert validate_manifest(r.inputs, "1.33") == [], r.urn
    assert mon.violations == []


def test_one_generated_key_and_secret_per_tenant(access_run):
    mon = access_run
    passwords = of(mon, "keys", "RandomPassword")
    assert sorted(p.name for p in passwords) == ["keys-acme-key", "keys-globex-key"]
    assert all(p.inputs["length"] == 48 and p.inputs["special"] is False for p in passwords)
    secrets = {s.inputs["metadata"]["name"]: s.inputs for s in of(mon, "keys", "Secret")}
    assert set(secrets) == {"tenant-key-acme", "tenant-key-globex"}
    assert secrets["tenant-key-acme"]["stringData"] == {"acme": SECRET}
    assert secrets["tenant-key-globex"]["metadata"]["namespace"] == "genai-gateway"
    assert mon.stack_outputs["keySecrets"] == {"acme": "tenant-key-acme", "globex": "tenant-key-globex"}
    # Each key is the tenant's prefix followed by its own generated password.
    assert mon.stack_outputs["keyDigests"] == {
        t: hashlib.sha256(f"sk-{t}-{mock_password(f'keys-{t}-key')}".encode()).hexdigest() for t in ("acme", "globex")}


def test_no_key_leaves_a_secret_value(access_run):
    mon = access_run
    assert mon.stack_outputs["tenantApiKeys"] == {"acme": SECRET, "globex": SECRET}
    # The mocks' generated value for each password: nowhere in any recorded input or output.
    generated = [mock_password(n) for n in ("keys-acme-key", "keys-globex-key")]
    recorded = json.dumps([r.inputs for r in mon.registrations if r.type != "random:index/randomPassword:RandomPassword"])
    recorded += json.dumps(mon.stack_outputs)
    assert not any(g in recorded for g in generated)


def test_policies_wait_for_their_dependencies(access_run):
    mon = access_run
    gate = next(r.urn for r in mon.registrations if r.name == "gate")
    (policy,) = of(mon, "keys", "SecurityPolicy")
    secret_urns = {s.urn for s in of(mon, "keys", "Secret")}
    assert secret_urns | {gate} <= set(policy.dependencies)
    (limits,) = of(mon, "keys", "BackendTrafficPolicy")
    assert gate in limits.dependencies


def test_jwt_mode_renders_no_keys(access_run):
    mon = access_run
    assert of(mon, "jwt", "Secret") == [] and of(mon, "jwt", "RandomPassword") == []
    assert mon.stack_outputs["jwtKeys"] == {"keys": {}, "secrets": {}}
    (policy,) = of(mon, "jwt", "SecurityPolicy")
    assert policy.inputs["spec"]["jwt"]["providers"][0]["claimToHeaders"] == [{"claim": "tenant", "header": TENANT_HEADER}]
    assert len(of(mon, "jwt", "BackendTrafficPolicy")) == 1


def test_no_tenants_only_a_deny_all_policy(access_run):
    mon = access_run
    objects = [r for r in mon.registrations if r.custom and r.parent and r.parent.endswith("::empty")]
    assert [r.inputs["kind"] for r in objects] == ["SecurityPolicy"]
    assert objects[0].inputs["spec"]["authorization"] == {"defaultAction": "Deny"}

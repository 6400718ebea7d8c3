"""The ``gateway`` section: what each bad input gets (key path and fix), before anything is registered."""

from __future__ import annotations

from typing import Any

NS = "genai-platform"
HOST = "api.genai.localhost"


def problems(result) -> str:
    assert result.error, "expected a configuration error"
    assert "Traceback" not in result.error
    assert not result.monitor.registrations, "nothing may be registered when the config is invalid"
    return result.error


def gateway(**settings: Any) -> dict[str, Any]:
    return {"gateway": {"hostname": HOST, "loadBalancer": {"type": "NodePort"}, **settings}}


def test_acme_without_an_account_and_an_account_without_acme(run):
    err = problems(run("local", overrides=gateway(tls={"issuer": "acme"})))
    assert f"{NS}:gateway.tls.acme: required when gateway.tls.issuer is 'acme': the account's email" in err
    err = problems(run("local", overrides=gateway(tls={"acme": {"email": "ops@example.com"}})))
    assert f"{NS}:gateway.tls.acme: only applies when gateway.tls.issuer is 'acme' (it is 'self-signed'); " \
           "set issuer to 'acme' or remove this key" in err


def test_an_existing_issuer_must_be_named_and_only_with_issuer_existing(run):
    err = problems(run("local", overrides=gateway(tls={"issuer": "existing"})))
    assert f"{NS}:gateway.tls.existingIssuer: required when gateway.tls.issuer is 'existing': the name" in err
    err = problems(run("local", overrides=gateway(tls={"existingIssuer": {"name": "corp-ca"}})))
    assert f"{NS}:gateway.tls.existingIssuer: only applies when gateway.tls.issuer is 'existing'" in err


def test_jwt_mode_needs_its_settings_and_api_keys_take_none(run):
    err = problems(run("local", overrides=gateway(auth={"mode": "jwt"})))
    assert f"{NS}:gateway.auth.jwt: required when gateway.auth.mode is 'jwt': issuer, jwksUri" in err
    jwt = {"issuer": "https://login.example.com", "jwksUri": "https://login.example.com/keys"}
    err = problems(run("local", overrides=gateway(auth={"jwt": jwt})))
    assert f"{NS}:gateway.auth.jwt: only applies when gateway.auth.mode is 'jwt' (it is 'apiKey'); " \
           "set mode to 'jwt' or remove this key" in err


def test_load_balancer_settings_without_a_load_balancer(run):
    err = problems(run("local", overrides={"gateway": {"hostname": HOST, "loadBalancer": {
        "type": "ClusterIP", "internal": True, "sourceRanges": ["10.0.0.0/8"], "externalTrafficPolicy": "Cluster"}}}))
    assert f"{NS}:gateway.loadBalancer.internal: only applies when gateway.loadBalancer.type is 'LoadBalancer' " \
           "(it is 'ClusterIP')" in err
    assert f"{NS}:gateway.loadBalancer.sourceRanges: only applies when gateway.loadBalancer.type is " \
           "'LoadBalancer' (it is 'ClusterIP'): nothing would filter clients" in err
    assert f"{NS}:gateway.loadBalancer.externalTrafficPolicy: only applies to NodePort and LoadBalancer " \
           "Services" in err


def test_zone_spread_needs_zones_the_stack_names(run):
    err = problems(run("local", overrides=gateway(zoneSpread=True, replicas=2)))
    assert f"{NS}:gateway.zoneSpread: this stack does not name its zones" in err
    assert "list them in cluster.existing.zones or set zoneSpread to false" in err
    one_zone = {"target": "existing", "kubernetesVersion": "1.33", "existing": {"zones": ["rack-a"]}}
    err = problems(run("local", overrides={**gateway(zoneSpread=True, replicas=2), "cluster": one_zone}))
    assert f"{NS}:gateway.zoneSpread: the cluster has one zone (rack-a); spreading across zones needs at " \
           "least two" in err


def test_gateway_namespaces_must_be_their_own(run):
    err = problems(run("local", overrides=gateway(namespace="genai-models", controllerNamespace="kube-system",
                                                  aiControllerNamespace="genai-models")))
    assert f"{NS}:gateway.namespace: 'genai-models' is already namespaces.models; give the gateway a namespace " \
           "of its own" in err
    assert f"{NS}:gateway.controllerNamespace: 'kube-system' belongs to Kubernetes" in err
    assert f"{NS}:gateway.aiControllerNamespace: 'genai-models' is already gateway.namespace" in err


def test_gateway_namespace_against_the_data_layer_and_cert_manager(run):
    err = problems(run("local", overrides=gateway(namespace="genai-data", controllerNamespace="cert-manager")))
    assert f"{NS}:gateway.namespace: 'genai-data' is already databases.namespace" in err
    assert f"{NS}:gateway.controllerNamespace: 'cert-manager' is already cert-manager's namespace" in err


def test_proxy_and_picker_limits_below_requests(run):
    err = problems(run("local", overrides=gateway(
        resources={"cpu": "2", "cpuLimit": "1"},
        endpointPicker={"resources": {"memory": "2Gi", "memoryLimit": "1Gi"}})))
    assert f"{NS}:gateway.resources.cpuLimit: 1 is below the request 2; raise it or lower the request" in err
    assert f"{NS}:gateway.endpointPicker.resources.memoryLimit: 1Gi is below the request 2Gi" in err


def test_a_bad_hostname_is_a_field_error(run):
    err = problems(run("local", overrides={"gateway": {"hostname": "API.genai.localhost:443"}}))
    assert f"{NS}:gateway.hostname: must be a fully qualified lowercase DNS name" in err


def test_gateway_rules_run_beside_errors_of_other_sections(run):
    # An invalid field elsewhere must not hide the gateway's own problems until the next round.
    err = problems(run("local", overrides={**gateway(auth={"mode": "jwt"}), "gpuOperator": {"drivr": "managed"}}))
    assert f"{NS}:gpuOperator.drivr: unknown key" in err
    assert f"{NS}:gateway.auth.jwt: required when gateway.auth.mode is 'jwt'" in err


def test_the_brief_gateway_passes_config_loading(run):
    result = run("local", overrides={
        "gateway": {"hostname": HOST, "loadBalancer": {"type": "NodePort"}},
        "tenants": [{"name": "demo", "app": {"hostname": "chat.genai.localhost"}}],
    })
    assert result.error is None, result.error

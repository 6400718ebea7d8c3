"""The gateway's TLS objects per issuer mode, checked against cert-manager's CRD schemas."""

from __future__ import annotations

import pytest

from components.edge import tls_specs as tls
from components.edge.contracts import HTTP_LISTENER, PUBLIC_GATEWAY
from components.platform import cert_manager_specs as cm
from infra.plan.validate import validate_helm_values, validate_manifest

LABELS = {"app.kubernetes.io/name": "gateway"}
HOSTS = ("api.genai.example.com", "chat.genai.example.com")


def objects(issuer: str, **kw) -> list[dict]:
    objs = tls.tls_objects(issuer=issuer, gateway_namespace="genai-gateway", cert_manager_namespace="cert-manager",
                           labels=LABELS, hostnames=HOSTS, **kw)
    for o in objs:
        assert validate_manifest(o, "1.33") == [], (o["kind"], o["metadata"]["name"])
    return objs


def test_self_signed_chain_signs_the_gateway_certificate():
    objs = objects("self-signed")
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("ClusterIssuer", "genai-selfsigned"), ("Certificate", "genai-ca"), ("ClusterIssuer", "genai-ca"),
        ("Certificate", "genai-gateway-tls")]
    ca_cert = objs[1]
    assert ca_cert["metadata"]["namespace"] == "cert-manager"      # where ClusterIssuers read Secrets
    assert ca_cert["spec"]["isCA"] is True and ca_cert["spec"]["issuerRef"]["name"] == "genai-selfsigned"
    assert objs[2]["spec"] == {"ca": {"secretName": ca_cert["spec"]["secretName"]}}
    cert = objs[3]
    assert cert["metadata"]["namespace"] == "genai-gateway"
    assert cert["spec"]["issuerRef"] == {"name": "genai-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert cert["spec"]["dnsNames"] == list(HOSTS) and cert["spec"]["secretName"] == tls.GATEWAY_CERT_SECRET


def test_acme_http01_answers_through_the_public_http_listener():
    issuer, cert = objects("acme", acme_email="ops@example.com", acme_server=tls_server(), acme_solver="http01")
    acme = issuer["spec"]["acme"]
    assert acme["email"] == "ops@example.com" and acme["server"] == tls_server()
    (solver,) = acme["solvers"]
    (ref,) = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
    assert ref == {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": PUBLIC_GATEWAY,
                   "namespace": "genai-gateway", "sectionName": HTTP_LISTENER}
    assert cert["spec"]["issuerRef"]["name"] == tls.ACME_ISSUER


def tls_server() -> str:
    return "https://acme-staging-v02.api.letsencrypt.org/directory"


def test_acme_dns01_reads_the_cloudflare_token_from_cert_managers_namespace():
    issuer, _ = objects("acme", acme_email="ops@example.com", acme_server=tls_server(), acme_solver="dns01")
    (solver,) = issuer["spec"]["acme"]["solvers"]
    assert solver == {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": tls.DNS_TOKEN_SECRET,
                                                                      "key": tls.DNS_TOKEN_KEY}}}}
    assert tls.dns_token_secret_metadata("cert-manager", LABELS)["namespace"] == "cert-manager"


def test_existing_issuer_creates_only_the_certificate():
    (cert,) = objects("existing", existing_issuer="corp-pki", existing_issuer_kind="Issuer")
    assert cert["spec"]["issuerRef"] == {"name": "corp-pki", "kind": "Issuer", "group": "cert-manager.io"}


@pytest.mark.parametrize(("issuer", "kw"), [("acme", {}), ("existing", {}), ("vault", {}),
                                            ("acme", {"acme_email": "a@b.io", "acme_solver": "tls-alpn"})])
def test_incomplete_settings_are_refused(issuer, kw):
    with pytest.raises(ValueError):
        tls.tls_objects(issuer=issuer, gateway_namespace="g", cert_manager_namespace="c", labels=LABELS,
                        hostnames=HOSTS, **kw)


def test_duplicate_hostnames_are_certified_once():
    cert = tls.gateway_certificate("g", LABELS, ["a.example.com", "a.example.com", "b.example.com"], "x")
    assert cert["spec"]["dnsNames"] == ["a.example.com", "b.example.com"]


def test_cert_manager_gateway_api_support_only_when_asked():
    assert "config" not in cm.cert_manager_values("cert-manager")
    on = cm.cert_manager_values("cert-manager", gateway_api=True)
    assert on["config"] == {"gatewayAPI": {"enabled": True}}
    assert validate_helm_values(cm.CERT_MANAGER_CHART, on) == []

"""Pure builders for the gateway's TLS (cert-manager.io/v1): issuers and the serving certificate.

- ``self-signed``: a selfSigned ClusterIssuer signs a CA Certificate (kept in cert-manager's
  namespace, where ClusterIssuers read their Secrets), and a CA ClusterIssuer issues from it.
  Clients must trust that CA (its Secret's ``ca.crt``); for labs and air-gapped sites.
- ``acme``: an ACME ClusterIssuer (Let's Encrypt by default) proving the domain by HTTP-01
  through the public Gateway's plain-HTTP listener, or DNS-01 through Cloudflare.
- ``existing``: an issuer the platform team already runs; nothing is created.

The Certificate lives in the gateway namespace beside the Gateway whose HTTPS listener reads
its Secret, so no ReferenceGrant is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

from components.edge.contracts import HTTP_LISTENER, PUBLIC_GATEWAY

API_VERSION = "cert-manager.io/v1"
SELF_SIGNED_ISSUER = "genai-selfsigned"
CA_ISSUER = "genai-ca"
CA_CERTIFICATE = "genai-ca"
CA_SECRET = "genai-ca"
ACME_ISSUER = "genai-acme"
ACME_ACCOUNT_SECRET = "genai-acme-account"
DNS_TOKEN_SECRET = "genai-acme-dns-token"
DNS_TOKEN_KEY = "api-token"
GATEWAY_CERTIFICATE = "genai-gateway-tls"
GATEWAY_CERT_SECRET = "genai-gateway-tls"
# cert-manager's default: renew when a third of the lifetime is left.
CA_DURATION = "87600h"        # ten years: rotating the CA means every client re-trusts it
CERT_DURATION = "2160h"       # ninety days, what public ACME CAs issue


def _meta(name: str, labels: Mapping[str, str], namespace: Optional[str] = None) -> dict:
    meta: dict = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def issuer_ref(issuer: str, kind: str = "ClusterIssuer") -> dict:
    return {"name": issuer, "kind": kind, "group": "cert-manager.io"}


def self_signed_chain(cert_manager_namespace: str, labels: Mapping[str, str]) -> list[dict]:
    """selfSigned ClusterIssuer -> CA Certificate (isCA) -> CA ClusterIssuer, in that order."""
    return [
        {"apiVersion": API_VERSION, "kind": "ClusterIssuer", "metadata": _meta(SELF_SIGNED_ISSUER, labels),
         "spec": {"selfSigned": {}}},
        {"apiVersion": API_VERSION, "kind": "Certificate",
         "metadata": _meta(CA_CERTIFICATE, labels, cert_manager_namespace),
         "spec": {"isCA": True, "commonName": "genai-platform gateway CA", "secretName": CA_SECRET,
                  "duration": CA_DURATION,
                  "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                  "issuerRef": issuer_ref(SELF_SIGNED_ISSUER)}},
        {"apiVersion": API_VERSION, "kind": "ClusterIssuer", "metadata": _meta(CA_ISSUER, labels),
         "spec": {"ca": {"secretName": CA_SECRET}}},
    ]


def acme_issuer(labels: Mapping[str, str], *, email: str, server: str, solver: str,
                gateway_namespace: str) -> dict:
    """An ACME ClusterIssuer. HTTP-01 answers through an HTTPRoute cert-manager attaches to the
    public Gateway's ``http`` listener (cert-manager needs its Gateway API support on)."""
    if solver == "http01":
        challenge = {"http01": {"gatewayHTTPRoute": {"parentRefs": [{
            "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": PUBLIC_GATEWAY,
            "namespace": gateway_namespace, "sectionName": HTTP_LISTENER}]}}}
    elif solver == "dns01":
        challenge = {"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": DNS_TOKEN_SECRET, "key": DNS_TOKEN_KEY}}}}
    else:
        raise ValueError(f"unknown ACME solver {solver!r} (http01 or dns01)")
    return {"apiVersion": API_VERSION, "kind": "ClusterIssuer", "metadata": _meta(ACME_ISSUER, labels),
            "spec": {"acme": {"email": email, "server": server,
                              "privateKeySecretRef": {"name": ACME_ACCOUNT_SECRET},
                              "solvers": [challenge]}}}


def dns_token_secret_metadata(cert_manager_namespace: str, labels: Mapping[str, str]) -> dict:
    """Where the Cloudflare token goes: a ClusterIssuer reads Secrets from cert-manager's namespace."""
    return _meta(DNS_TOKEN_SECRET, labels, cert_manager_namespace)


def gateway_certificate(namespace: str, labels: Mapping[str, str], hostnames: Sequence[str],
                        issuer: str, issuer_kind: str = "ClusterIssuer") -> dict:
    names = list(dict.fromkeys(hostnames))
    if not names:
        raise ValueError("the gateway certificate needs at least one hostname")
    return {"apiVersion": API_VERSION, "kind": "Certificate",
            "metadata": _meta(GATEWAY_CERTIFICATE, labels, namespace),
            "spec": {"secretName": GATEWAY_CERT_SECRET, "dnsNames": names, "commonName": names[0],
                     "duration": CERT_DURATION,
                     "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                     "issuerRef": issuer_ref(issuer, issuer_kind)}}


def tls_objects(*, issuer: str, gateway_namespace: str, cert_manager_namespace: str, labels: Mapping[str, str],
                hostnames: Sequence[str], acme_email: Optional[str] = None, acme_server: str = "",
                acme_solver: str = "http01", existing_issuer: Optional[str] = None,
                existing_issuer_kind: str = "ClusterIssuer") -> list[dict]:
    """Every cert-manager object for one issuer mode, issuers before the certificate they sign."""
    if issuer == "self-signed":
        objs = self_signed_chain(cert_manager_namespace, labels)
        ref = (CA_ISSUER, "ClusterIssuer")
    elif issuer == "acme":
        if not acme_email:
            raise ValueError("an ACME issuer needs an e-mail address")
        objs = [acme_issuer(labels, email=acme_email, server=acme_server, solver=acme_solver,
                            gateway_namespace=gateway_namespace)]
        ref = (ACME_ISSUER, "ClusterIssuer")
    elif issuer == "existing":
        if not existing_issuer:
            raise ValueError("issuer 'existing' needs the issuer's name")
        objs, ref = [], (existing_issuer, existing_issuer_kind)
    else:
        raise ValueError(f"unknown issuer {issuer!r} (self-signed, acme or existing)")
    return [*objs, gateway_certificate(gateway_namespace, labels, hostnames, *ref)]

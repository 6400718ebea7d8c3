"""A tenant's share of the data layer: its database and role, collection token, cache user."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest

from components.common.security import Resources
from components.data import cache_specs as cs
from components.data import postgres_specs as ps
from components.data import qdrant_collections_specs as qc
from components.data import qdrant_specs as qs
from components.data.common import DataContext, data_namespace_egress
from components.data.postgres_access import operator_network_policies
from components.tenancy import data_specs as ds
from infra.plan.validate import validate_helm_values, validate_manifest

RES = Resources(cpu_request="1", memory_request="2Gi", cpu_limit="2", memory_limit="4Gi")
SHARED = ps.PostgresSettings(name="postgres", namespace="genai-data", version="17", instances=2,
                             databases=(ps.DatabaseSpec("app", "app"), ps.tenant_database("acme")),
                             storage_gib=20, storage_class="gp3", resources=RES)
QDRANT = qs.QdrantSettings(namespace="genai-data", replicas=1, replication_factor=1, storage_gib=50,
                           storage_class="gp3", resources=RES, api_key_secret="qdrant-api-key")
CACHE = cs.CacheSettings(namespace="genai-data", replicas=0, persistence=True, storage_gib=5, storage_class="gp3",
                         resources=RES, max_memory_bytes=2**30, eviction_policy="allkeys-lru",
                         auth_secret="valkey-auth", tenants=("acme", "globex"))


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_collection_token_is_hs256_signed_with_the_api_key_and_scoped_to_one_collection():
    token = qs.collection_token("k" * 40, "tenant-acme")
    header, claims, signature = token.split(".")
    assert json.loads(_b64decode(header)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(_b64decode(claims)) == {"access": [{"collection": "tenant-acme", "access": "rw"}]}
    expected = hmac.new(b"k" * 40, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert _b64decode(signature) == expected
    assert qs.collection_token("other-key" * 5, "tenant-acme") != token


def test_jwt_rbac_is_switched_on_only_with_tenants():
    assert "service" not in qs.qdrant_values(QDRANT)["config"]
    values = qs.qdrant_values(dataclasses.replace(QDRANT, jwt_rbac=True))
    assert values["config"]["service"] == {"jwt_rbac": True}
    # The API key still comes from the environment, never the values.
    assert "apiKey" not in values and "api_key" not in json.dumps(values["config"])


def test_tenant_database_and_role_reach_the_cnpg_objects():
    cluster = ps.cluster(SHARED)
    roles = cluster["spec"]["managed"]["roles"]
    assert {"name": "tenant-acme", "ensure": "present", "login": True, "inherit": True,
            "passwordSecret": {"name": "postgres-tenant-acme"}} in roles
    db = ps.database(SHARED, SHARED.databases[1])
    assert db["spec"]["name"] == "tenant-acme" and db["spec"]["owner"] == "tenant-acme"
    assert db["metadata"]["name"] == "postgres-tenant-acme"
    assert {"name": "vector", "ensure": "present"} in db["spec"]["extensions"]
    assert validate_manifest(cluster, "1.33") == []
    assert validate_manifest(db, "1.33") == []


def test_dedicated_cluster_lives_in_the_tenant_namespace_with_its_policies():
    s = ds.dedicated_settings("acme", "tenant-acme", version="17", instances=2, storage_gib=30, storage_class="gp3",
                              operator_namespace="cnpg-system")
    cluster = ps.cluster(s)
    assert cluster["metadata"]["namespace"] == "tenant-acme"
    assert cluster["spec"]["instances"] == 2 and cluster["spec"]["storage"]["size"] == "30Gi"
    assert cluster["spec"]["imageName"] == ps.IMAGES["17"]
    assert cluster["spec"]["bootstrap"]["initdb"]["owner"] == "tenant-acme"
    assert "backup" not in cluster["spec"]
    assert validate_manifest(cluster, "1.33") == []
    policies = ds.dedicated_policies(s)
    for p in policies:
        assert p["metadata"]["namespace"] == "tenant-acme"
        assert validate_manifest(p, "1.33") == []
    ingress = policies[0]["spec"]["ingress"][1]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "cnpg-system"}
    assert {p["port"] for p in ingress["ports"]} == {ps.STATUS_PORT, ps.POSTGRES_PORT}
    # The tenant's egress selects exactly the instances the cluster spreads (its pods' labels).
    egress = ds.postgres_egress("tenant-acme", s.instance_selector)
    spread = cluster["spec"]["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]
    assert dict(egress.pod_selector) == spread and egress.ports == (5432,)


def test_operator_reaches_dedicated_clusters_in_tenant_namespaces():
    s = dataclasses.replace(SHARED, managed_namespaces=("tenant-acme",))
    policies = operator_network_policies(s, "genai-data", None)
    extra = next(p for p in policies if p["metadata"]["name"] == "allow-egress-tenant-instances")
    rule = extra["spec"]["egress"][0]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "tenant-acme"}}}]
    assert validate_manifest(extra, "1.33") == []
    assert not any(p["metadata"]["name"] == "allow-egress-tenant-instances"
                   for p in operator_network_policies(SHARED, "genai-data", None))


def test_valkey_acl_user_per_tenant_limited_to_its_prefix():
    values = cs.valkey_values(CACHE)
    users = values["auth"]["aclUsers"]
    assert users["default"] == {"permissions": cs.ACL_PERMISSIONS}
    assert users["tenant-acme"] == {"permissions": "~acme:* &acme:* +@all -@dangerous"}
    assert users["tenant-globex"]["permissions"].startswith("~globex:* &globex:* ")
    # Passwords come from the one Secret, key = user name (the chart's default passwordKey).
    assert values["auth"]["usersExistingSecret"] == "valkey-auth"
    assert all("password" not in u for u in users.values())
    assert validate_helm_values(cs.CHART, values) == []


def test_tenant_namespaces_allowed_into_engines_and_egress_matches_their_pods():
    ctx = DataContext(cluster=None, namespace="genai-data", allow_from=("tenant-acme",))  # type: ignore[arg-type]
    for policy, selector in ((qs.network_policy(ctx, {}, (), False), qs.selector()),
                             (cs.network_policy(ctx, {}, (), False), cs.selector())):
        clients = policy["spec"]["ingress"][1]["from"]
        assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "tenant-acme"}}} in clients
        assert policy["spec"]["podSelector"]["matchLabels"] == selector


def test_connection_urls_escape_the_password():
    assert ds.database_url("tenant-acme", "p@ss/w", "h", 5432, "tenant-acme") == \
        "postgresql://tenant-acme:p%40ss%2Fw@h:5432/tenant-acme"
    assert ds.redis_url("tenant-acme", "pw", "valkey.genai-data.svc.cluster.local", 6379) == \
        "redis://tenant-acme:pw@valkey.genai-data.svc.cluster.local:6379/0"


# --- Qdrant collections created by the platform ---------------------------------------------

ACME_COLLECTION = qc.TenantCollection("acme", 768, "Dot")


def test_collection_job_is_valid_restricted_and_holds_the_api_key_not_a_token():
    job = qc.collection_job(QDRANT, ACME_COLLECTION)
    assert validate_manifest(job, "1.33") == []
    assert job["metadata"] == {"name": "qdrant-collection-tenant-acme", "namespace": "genai-data",
                               "labels": qc.collection_labels(ACME_COLLECTION)}
    spec = job["spec"]
    # Created once: the finished Job stays (no TTL), and it retries a few times only.
    assert "ttlSecondsAfterFinished" not in spec and spec["backoffLimit"] == qc.BACKOFF_LIMIT
    assert "pulumi.com/skipAwait" not in job["metadata"].get("annotations", {})
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["image"] == qs.SNAPSHOT_IMAGE and not container["image"].endswith(":latest")
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"] == qc.RESOURCES.to_k8s()
    env = {e["name"]: e for e in container["env"]}
    assert env["QDRANT_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "qdrant-api-key", "key": "api-key"}}
    assert env["QDRANT_URL"]["value"] == "http://qdrant.genai-data.svc.cluster.local:6333"
    assert (env["COLLECTION"]["value"], env["VECTOR_SIZE"]["value"], env["DISTANCE"]["value"]) == \
        ("tenant-acme", "768", "Dot")
    assert container["command"] == ["python", "-B", "-c", qc.COLLECTION_SCRIPT]


def test_collection_job_name_fits_the_pod_label_for_the_longest_tenant_name():
    assert len(qc.job_name(qc.TenantCollection("t" * 30, 8))) <= 63


def test_a_collection_needs_a_size_and_a_qdrant_distance():
    with pytest.raises(ValueError):
        qc.TenantCollection("acme", 0)
    with pytest.raises(ValueError):
        qc.TenantCollection("acme", 8, "cosine")


def test_the_collection_job_reaches_qdrant_through_the_data_namespace_policies():
    # The Job runs in the data namespace, whose pods may reach each other, and Qdrant admits
    # every pod of its namespace on REST.
    job = qc.collection_job(QDRANT, ACME_COLLECTION)
    ctx = DataContext(cluster=None, namespace="genai-data")  # type: ignore[arg-type]
    policy = qs.network_policy(ctx, {}, (), False)
    assert job["metadata"]["namespace"] == policy["metadata"]["namespace"]
    clients = policy["spec"]["ingress"][1]
    assert {"podSelector": {}} in clients["from"]
    assert {"protocol": "TCP", "port": qs.HTTP_PORT} in clients["ports"]
    egress = data_namespace_egress("genai-data", {})
    in_namespace = next(p for p in egress if p["metadata"]["name"] == "allow-egress-in-namespace")
    assert in_namespace["spec"]["egress"] == [{"to": [{"podSelector": {}}]}]


class FakeCollections(BaseHTTPRequestHandler):
    """Qdrant's collection endpoints: GET (404 when absent), PUT (409 when present)."""

    collections: dict[str, dict] = {}
    calls: list[tuple[str, str, str, object]] = []
    race = False     # a PUT finds the collection created meanwhile

    def log_message(self, *args):
        pass

    def _reply(self, status, result=None):
        body = json.dumps({"result": result, "status": "ok" if status == 200 else {"error": "x"}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        name = unquote(self.path.rsplit("/", 1)[1])
        self.calls.append(("GET", name, self.headers.get("api-key", ""), None))
        if name not in self.collections:
            return self._reply(404)
        return self._reply(200, {"status": "green", "config": {"params": {"vectors": self.collections[name]}}})

    def do_PUT(self):
        name = unquote(self.path.rsplit("/", 1)[1])
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(("PUT", name, self.headers.get("api-key", ""), body))
        if self.race:   # another run created it between our GET and PUT
            self.collections[name] = dict(body["vectors"])
        if name in self.collections:
            return self._reply(409)
        self.collections[name] = dict(body["vectors"])
        return self._reply(200, True)


@pytest.fixture
def fake_collections():
    FakeCollections.collections, FakeCollections.calls, FakeCollections.race = {}, [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCollections)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def run_collection_script(port: int, size: int = 768, distance: str = "Dot") -> subprocess.CompletedProcess:
    env = {**os.environ, "QDRANT_API_KEY": "k-123", "QDRANT_URL": f"http://127.0.0.1:{port}/",
           "COLLECTION": "tenant-acme", "VECTOR_SIZE": str(size), "DISTANCE": distance}
    return subprocess.run([sys.executable, "-B", "-c", qc.COLLECTION_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_collection_is_created_once_with_its_size_and_distance(fake_collections):
    first = run_collection_script(fake_collections)
    assert first.returncode == 0, first.stderr
    assert FakeCollections.calls == [("GET", "tenant-acme", "k-123", None),
                                     ("PUT", "tenant-acme", "k-123", {"vectors": {"size": 768, "distance": "Dot"}})]
    # A second run (a replaced Job, a retried pod) only looks.
    again = run_collection_script(fake_collections)
    assert again.returncode == 0, again.stderr
    assert [c[0] for c in FakeCollections.calls] == ["GET", "PUT", "GET"]
    assert "already exists" in again.stdout


def test_a_collection_created_meanwhile_is_accepted_when_it_matches(fake_collections):
    FakeCollections.race = True
    done = run_collection_script(fake_collections)
    assert done.returncode == 0, done.stderr
    assert [c[0] for c in FakeCollections.calls] == ["GET", "PUT", "GET"]


def test_an_existing_collection_of_another_size_fails_the_job_and_is_left_alone(fake_collections):
    FakeCollections.collections = {"tenant-acme": {"size": 384, "distance": "Cosine"}}
    done = run_collection_script(fake_collections)
    assert done.returncode == 1
    assert "asks for" in done.stderr and '"size": 384' in done.stderr
    assert [c[0] for c in FakeCollections.calls] == ["GET"]

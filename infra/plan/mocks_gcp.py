"""Mocked outputs of gcp resources and data sources, shaped like real ones.

Ids and computed outputs follow the Google APIs' formats (``projects/<p>/locations/<l>/...``
ids, self links, service-account emails and members, ``<region>-docker.pkg.dev`` registry
URIs, a cluster endpoint with a base64 PEM CA), so the program's wiring (kubeconfig from
endpoint and CA, IAM members from account outputs, bucket and registry references) runs on
values like a deployment's. Inputs come back as outputs, plus what the API computes.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Callable
from typing import Any

import pulumi

from infra.plan.mocks import fake_id

PLAN_PROJECT = "plan-project"
PROJECT_NUMBER = "123456789012"
COMPUTE = "https://www.googleapis.com/compute/v1"
MASTER_VERSION = "1.33.5-gke.1308000"


def _digits(name: str, n: int = 19) -> str:
    return str(int(hashlib.sha256(name.encode()).hexdigest(), 16))[:n]


def _ca(name: str) -> str:
    body = base64.b64encode(hashlib.sha256(name.encode()).digest() * 8).decode()
    pem = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def _public_ip(name: str) -> str:
    h = hashlib.sha256(name.encode()).digest()
    return f"34.{h[0]}.{h[1]}.{h[2] or 1}"


def _name(o: dict, args: pulumi.runtime.MockResourceArgs) -> str:
    return o.get("name") or f"{args.name}-{hashlib.sha256(args.name.encode()).hexdigest()[:7]}"


def _project(o: dict) -> str:
    return o.get("project") or PLAN_PROJECT


def _service(o, args):
    return f"{_project(o)}/{o['service']}", {}


def _network(o, args):
    name = _name(o, args)
    link = f"{COMPUTE}/projects/{_project(o)}/global/networks/{name}"
    return f"projects/{_project(o)}/global/networks/{name}", {
        "name": name, "selfLink": link, "networkId": _digits(name), "numericId": _digits(name)}


def _subnetwork(o, args):
    name, region = _name(o, args), o.get("region", "us-central1")
    gateway = str(next(ipaddress.ip_network(o["ipCidrRange"]).hosts()))
    path = f"projects/{_project(o)}/regions/{region}/subnetworks/{name}"
    return path, {"name": name, "selfLink": f"{COMPUTE}/{path}", "gatewayAddress": gateway,
                  "subnetworkId": int(_digits(name, 15)), "creationTimestamp": "2026-01-01T00:00:00.000-08:00"}


def _regional(kind: str):
    def outputs(o, args):
        name, region = _name(o, args), o.get("region", "us-central1")
        path = f"projects/{_project(o)}/regions/{region}/{kind}/{name}"
        return path, {"name": name, "selfLink": f"{COMPUTE}/{path}"}
    return outputs


def _router_nat(o, args):
    name, region = _name(o, args), o.get("region", "us-central1")
    return f"{_project(o)}/{region}/{o['router']}/{name}", {"name": name}


def _firewall(o, args):
    name = _name(o, args)
    path = f"projects/{_project(o)}/global/firewalls/{name}"
    return path, {"name": name, "selfLink": f"{COMPUTE}/{path}"}


def _cluster(o, args):
    name, location = _name(o, args), o["location"]
    private = o.get("privateClusterConfig") or {}
    endpoint = "172.16.0.2" if private.get("enablePrivateEndpoint") else _public_ip(name)
    if private.get("masterIpv4CidrBlock"):
        hosts = ipaddress.ip_network(private["masterIpv4CidrBlock"]).hosts()
        private = {**private, "privateEndpoint": str(next(hosts)), "publicEndpoint": _public_ip(name),
                   "peeringName": f"gke-n{_digits(name, 12)}-peer"}
        endpoint = private["privateEndpoint"] if private.get("enablePrivateEndpoint") else endpoint
    path = f"projects/{_project(o)}/locations/{location}/clusters/{name}"
    return path, {
        "name": name, "endpoint": endpoint, "masterVersion": MASTER_VERSION,
        "masterAuth": {"clusterCaCertificate": _ca(name), "clientCertificateConfig": {"issueClientCertificate": False}},
        "selfLink": f"https://container.googleapis.com/v1/{path}", "servicesIpv4Cidr": "10.8.0.0/20",
        "labelFingerprint": hashlib.sha256(name.encode()).hexdigest()[:8],
        **({"privateClusterConfig": private} if private else {}),
    }


def _node_pool(o, args):
    name, cluster = _name(o, args), o["cluster"]
    zones = o.get("nodeLocations") or [o["location"]]
    groups = [f"{COMPUTE}/projects/{_project(o)}/zones/{z}/instanceGroupManagers/gke-{cluster}-{name}-grp" for z in zones]
    return f"{_project(o)}/{o['location']}/{cluster}/{name}", {
        "name": name, "version": MASTER_VERSION, "instanceGroupUrls": groups, "managedInstanceGroupUrls": groups,
        "nodeCount": o.get("initialNodeCount", 0)}


def _account(o, args):
    email = f"{o['accountId']}@{_project(o)}.iam.gserviceaccount.com"
    path = f"projects/{_project(o)}/serviceAccounts/{email}"
    return path, {"name": path, "email": email, "member": f"serviceAccount:{email}", "uniqueId": _digits(email, 21)}


def _iam_member(scope_key: str):
    def outputs(o, args):
        etag = base64.b64encode(hashlib.sha256(args.name.encode()).digest()[:8]).decode()
        return f"{o.get(scope_key, '')}/{o['role']}/{o['member']}", {"etag": etag}
    return outputs


def _bucket(o, args):
    name = o["name"]
    return name, {"url": f"gs://{name}", "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
                  "projectNumber": PROJECT_NUMBER, "storageClass": o.get("storageClass", "STANDARD"),
                  "timeCreated": "2026-01-01T00:00:00.000Z"}


def _repository(o, args):
    repo, location = o["repositoryId"], o["location"]
    return f"projects/{_project(o)}/locations/{location}/repositories/{repo}", {
        "name": repo, "registryUri": f"{location}-docker.pkg.dev/{_project(o)}/{repo}",
        "createTime": "2026-01-01T00:00:00Z", "updateTime": "2026-01-01T00:00:00Z"}


def _key_ring(o, args):
    return f"projects/{_project(o)}/locations/{o['location']}/keyRings/{o['name']}", {}


def _crypto_key(o, args):
    return f"{o['keyRing']}/cryptoKeys/{o['name']}", {}


_RESOURCES: dict[str, Callable[[dict, Any], tuple[str, dict]]] = {
    "gcp:projects/service:Service": _service,
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:compute/firewall:Firewall": _firewall,
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:serviceaccount/account:Account": _account,
    "gcp:serviceaccount/iAMMember:IAMMember": _iam_member("serviceAccountId"),
    "gcp:projects/iAMMember:IAMMember": _iam_member("project"),
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _iam_member("bucket"),
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": _iam_member("repository"),
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _iam_member("cryptoKeyId"),
}


def new_resource(args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
    inputs = dict(args.inputs)
    build = _RESOURCES.get(args.typ)
    if build is None:
        return fake_id(args.typ.rsplit(":", 1)[-1].lower(), args.name), inputs
    rid, computed = build(inputs, args)
    return rid, {**inputs, **computed}


def call(args: pulumi.runtime.MockCallArgs) -> dict:
    if args.token == "gcp:organizations/getProject:getProject":
        project = args.args.get("projectId") or PLAN_PROJECT
        return {"projectId": project, "number": PROJECT_NUMBER, "name": project, "id": f"projects/{project}",
                "labels": {}, "effectiveLabels": {}, "pulumiLabels": {}}
    return {}

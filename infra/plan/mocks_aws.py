"""Mocked outputs of aws resources and data sources, shaped like real ones.

Ids carry AWS's prefixes and lengths (``vpc-`` + 17 hex, ``fs-``, ``lt-``...), ARNs name the
stack's region and a fixed example account, the EKS cluster gets an endpoint, base64 CA data
and an OIDC issuer URL, autonamed resources get Pulumi-style names, and the add-on version
data source answers per add-on and Kubernetes version. Everything derives from resource
names, so plans are reproducible. The SDK itself is never imported here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

import pulumi

from infra.plan.mocks import fake_id

ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
# Plausible add-on versions for the plan; real deployments read EKS's default per cluster version.
ADDON_VERSIONS = {
    "vpc-cni": "v1.20.4-eksbuild.1",
    "coredns": "v1.12.2-eksbuild.4",
    "eks-pod-identity-agent": "v1.3.8-eksbuild.2",
    "aws-ebs-csi-driver": "v1.48.0-eksbuild.2",
    "aws-efs-csi-driver": "v2.1.11-eksbuild.1",
    "snapshot-controller": "v8.3.0-eksbuild.1",
}
_CA_PEM = ("-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIIplanplanplanMA0GCSqGSIb3DQEBCwUAMBUxEzARBgNVBAMT\n"
           "Cmt1YmVybmV0ZXMwHhcNMjYwMTAxMDAwMDAwWhcNMzYwMTAxMDAwMDAwWjAVMRMwEQYD\n-----END CERTIFICATE-----\n")


def _hex(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _region(inputs: dict) -> str:
    """The resource's own region, else the stack's ``cluster.eks.region`` (the provider's)."""
    if isinstance(inputs.get("region"), str) and inputs["region"]:
        return inputs["region"]
    try:
        config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
        cluster = json.loads(config.get("genai-platform:cluster") or "{}")
        return (cluster.get("eks") or {}).get("region") or DEFAULT_REGION
    except (TypeError, ValueError):
        return DEFAULT_REGION


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _autoname(name: str, given: Any) -> str:
    return given if isinstance(given, str) and given else f"{name}-{_hex(name, 7)}"


def _ip(seed: str, first: int) -> str:
    h = hashlib.sha256(seed.encode()).digest()
    return f"{first}.{h[0]}.{h[1]}.{max(h[2], 1)}"


def _ec2(prefix: str, kind: str) -> Callable[[str, dict, str], tuple[str, dict]]:
    def make(name: str, inputs: dict, region: str) -> tuple[str, dict]:
        rid = f"{prefix}-{_hex(name, 17)}"
        return rid, {"arn": _arn("ec2", region, f"{kind}/{rid}"), "ownerId": ACCOUNT}
    return make


def _vpc(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    rid, out = _ec2("vpc", "vpc")(name, inputs, region)
    return rid, {**out, "defaultSecurityGroupId": f"sg-{_hex(name + 'sg', 17)}",
                 "mainRouteTableId": f"rtb-{_hex(name + 'rt', 17)}", "defaultNetworkAclId": f"acl-{_hex(name, 17)}",
                 "dhcpOptionsId": f"dopt-{_hex(name, 17)}", "instanceTenancy": "default"}


def _subnet(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    rid, out = _ec2("subnet", "subnet")(name, inputs, region)
    zone = str(inputs.get("availabilityZone") or f"{region}a")
    short = "".join(p[0] for p in region.split("-")[:-1]) + region.split("-")[-1]
    return rid, {**out, "availabilityZoneId": f"{short}-az{ord(zone[-1]) - ord('a') + 1}"}


def _eip(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    rid = f"eipalloc-{_hex(name, 17)}"
    ip = _ip(name, 3)
    return rid, {"allocationId": rid, "publicIp": ip, "domain": "vpc",
                 "publicDns": f"ec2-{ip.replace('.', '-')}.compute-1.amazonaws.com"}


def _nat(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    return f"nat-{_hex(name, 17)}", {"publicIp": _ip(name, 3), "privateIp": _ip(name, 10),
                                     "networkInterfaceId": f"eni-{_hex(name, 17)}"}


def _route(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    return f"r-{inputs.get('routeTableId', 'rtb')}1080289494", {"state": "active", "origin": "CreateRoute"}


def _security_group(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    rid = f"sg-{_hex(name, 17)}"
    return rid, {"arn": _arn("ec2", region, f"security-group/{rid}"), "ownerId": ACCOUNT,
                 "name": _autoname(name, inputs.get("name"))}


def _sg_rule(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    rid = f"sgr-{_hex(name, 17)}"
    return rid, {"arn": _arn("ec2", region, f"security-group-rule/{rid}"), "securityGroupRuleId": rid}


def _launch_template(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    rid = f"lt-{_hex(name, 17)}"
    return rid, {"arn": _arn("ec2", region, f"launch-template/{rid}"), "name": _autoname(name, inputs.get("name")),
                 "latestVersion": 1, "defaultVersion": 1}


def _role(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    role = _autoname(name, inputs.get("name"))
    return role, {"name": role, "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                  "uniqueId": "AROA" + _hex(name, 17).upper(), "path": "/"}


def _role_policy(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    policy = _autoname(name, inputs.get("name"))
    return f"{inputs.get('role')}:{policy}", {"name": policy}


def _oidc(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}"
    return arn, {"arn": arn}


def _kms_key(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    h = _hex(name, 32)
    key = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return key, {"keyId": key, "arn": _arn("kms", region, f"key/{key}"), "keyUsage": "ENCRYPT_DECRYPT",
                 "customerMasterKeySpec": "SYMMETRIC_DEFAULT"}


def _kms_alias(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    alias = _autoname(name, inputs.get("name"))
    return alias, {"arn": _arn("kms", region, alias),
                   "targetKeyArn": _arn("kms", region, f"key/{inputs.get('targetKeyId')}")}


def _log_group(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    group = _autoname(name, inputs.get("name"))
    return group, {"name": group, "arn": _arn("logs", region, f"log-group:{group}")}


def _eks_cluster(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    cluster = _autoname(name, inputs.get("name"))
    oidc_id = _hex(cluster + "oidc", 32).upper()
    vpc_config = dict(inputs.get("vpcConfig") or {})
    vpc_config.update({"clusterSecurityGroupId": f"sg-{_hex(cluster + 'cluster', 17)}",
                       "vpcId": f"vpc-{_hex(cluster + 'vpc', 17)}"})
    return cluster, {
        "name": cluster,
        "arn": _arn("eks", region, f"cluster/{cluster}"),
        "endpoint": f"https://{_hex(cluster, 32).upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(_CA_PEM.encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}],
        "status": "ACTIVE",
        "platformVersion": "eks.12",
        "clusterId": _hex(cluster + "id", 32),
        "vpcConfig": vpc_config,
        "createdAt": "2026-11-23T00:00:00Z",
    }


def _access_entry(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    cluster, principal = inputs.get("clusterName"), inputs.get("principalArn")
    return f"{cluster}:{principal}", {
        "accessEntryArn": _arn("eks", region, f"access-entry/{cluster}/role/{ACCOUNT}/{_hex(name, 36)}"),
        "type": inputs.get("type", "STANDARD"), "userName": principal}


def _policy_association(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    return f"{inputs.get('clusterName')}#{inputs.get('principalArn')}#{inputs.get('policyArn')}", {
        "associatedAt": "2026-11-23T00:00:00Z"}


def _addon(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    cluster, addon = inputs.get("clusterName"), inputs.get("addonName")
    return f"{cluster}:{addon}", {"arn": _arn("eks", region, f"addon/{cluster}/{addon}/{_hex(name, 36)}")}


def _node_group(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    cluster = inputs.get("clusterName")
    group = _autoname(name, inputs.get("nodeGroupName"))
    return f"{cluster}:{group}", {
        "nodeGroupName": group, "status": "ACTIVE",
        "arn": _arn("eks", region, f"nodegroup/{cluster}/{group}/{_hex(name, 36)}"),
        "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{_hex(name, 36)}"}]}],
    }


def _asg_tag(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    # The provider's id: "<group name>,<tag key>".
    return f"{inputs.get('autoscalingGroupName')},{(inputs.get('tag') or {}).get('key')}", {}


def _pod_identity(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    association = f"a-{_hex(name, 17)}"
    cluster = inputs.get("clusterName")
    return f"{cluster},{association}", {
        "associationId": association,
        "associationArn": _arn("eks", region, f"podidentityassociation/{cluster}/{association}")}


def _file_system(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    fs = f"fs-{_hex(name, 17)}"
    return fs, {"arn": _arn("elasticfilesystem", region, f"file-system/{fs}"), "ownerId": ACCOUNT,
                "dnsName": f"{fs}.efs.{region}.amazonaws.com", "creationToken": _autoname(name, None)}


def _mount_target(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    fs = inputs.get("fileSystemId")
    return f"fsmt-{_hex(name, 17)}", {"ipAddress": _ip(name, 10), "dnsName": f"{fs}.efs.{region}.amazonaws.com",
                                      "networkInterfaceId": f"eni-{_hex(name, 17)}", "ownerId": ACCOUNT}


def _repository(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    repo = _autoname(name, inputs.get("name"))
    return repo, {"name": repo, "arn": _arn("ecr", region, f"repository/{repo}"), "registryId": ACCOUNT,
                  "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repo}"}


def _bucket(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix') or name + '-'}{_hex(name, 26)}"
    return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": region,
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                    "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com"}


def _of_bucket(name: str, inputs: dict, region: str) -> tuple[str, dict]:
    return str(inputs.get("bucket") or name), {}


_RESOURCES: dict[str, Callable[[str, dict, str], tuple[str, dict]]] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/route:Route": _route,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": lambda n, i, r: (f"rtbassoc-{_hex(n, 17)}", {}),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _sg_rule,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": lambda n, i, r: (f"{i.get('role')}-{_hex(n, 26)}", {}),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/accessEntry:AccessEntry": _access_entry,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _policy_association,
    "aws:eks/addon:Addon": _addon,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _pod_identity,
    "aws:autoscaling/tag:Tag": _asg_tag,
    "aws:efs/fileSystem:FileSystem": _file_system,
    "aws:efs/mountTarget:MountTarget": _mount_target,
    "aws:ecr/repository:Repository": _repository,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": lambda n, i, r: (str(i.get("repository")), {"registryId": ACCOUNT}),
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _of_bucket,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _of_bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _of_bucket,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _of_bucket,
    "aws:s3/bucketPolicy:BucketPolicy": _of_bucket,
}


def new_resource(args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
    inputs = dict(args.inputs)
    region = _region(inputs)
    make = _RESOURCES.get(args.typ)
    if make is None:
        kind = args.typ.rsplit(":", 1)[-1]
        service = args.typ.split(":")[1].split("/")[0]
        rid = fake_id(kind.lower(), args.name)
        return rid, {**inputs, "arn": _arn(service, region, f"{kind[0].lower()}{kind[1:]}/{rid}")}
    rid, outputs = make(args.name, inputs, region)
    return rid, {**inputs, **outputs}


def _kubernetes_minor(version: Any) -> str:
    return str(version or "1.33")


def call(args: pulumi.runtime.MockCallArgs) -> dict:
    token, inputs = args.token, dict(args.args)
    region = _region(inputs)
    if token == "aws:eks/getAddonVersion:getAddonVersion":
        addon, k8s_version = inputs.get("addonName"), _kubernetes_minor(inputs.get("kubernetesVersion"))
        # kube-proxy follows the cluster's minor version; the others have their own release lines.
        version = (f"v{k8s_version}.3-eksbuild.2" if addon == "kube-proxy"
                   else ADDON_VERSIONS.get(str(addon), "v1.0.0-eksbuild.1"))
        return {"addonName": addon, "kubernetesVersion": k8s_version, "mostRecent": bool(inputs.get("mostRecent")),
                "region": region, "version": version, "id": addon}
    if token == "aws:ec2/getVpc:getVpc":
        vpc = str(inputs.get("id") or "vpc-0")
        return {"id": vpc, "arn": _arn("ec2", region, f"vpc/{vpc}"), "cidrBlock": "10.20.0.0/16",
                "state": "available", "ownerId": ACCOUNT, "region": region}
    if token == "aws:ec2/getSubnet:getSubnet":
        subnet = str(inputs.get("id") or "subnet-0")
        # The zone follows the id's last hex digit (0 -> a, 1 -> b, 2 -> c, 3 -> a, ...), so tests can choose.
        digit = int(subnet[-1], 16) if subnet[-1] in "0123456789abcdef" else 0
        return {"id": subnet, "availabilityZone": f"{region}{'abc'[digit % 3]}", "vpcId": "vpc-0",
                "state": "available", "cidrBlock": f"10.20.{digit * 16}.0/20",
                "arn": _arn("ec2", region, f"subnet/{subnet}"), "region": region}
    return {}

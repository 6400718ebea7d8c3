"""Mocked outputs of azure resources and data sources, shaped like real ones.

Resource ids follow ARM's ``/subscriptions/<sub>/resourceGroups/<rg>/providers/...`` form under
a fixed plan subscription and tenant, so code that derives role definition ids or scopes from
ids sees what Azure returns. A managed cluster gets an API server FQDN (private on a private
cluster), an OIDC issuer URL and a kubelet identity; its user credentials (the
``listManagedClusterUserCredentials`` invoke) are a base64 kubeconfig for that FQDN with a CA,
and an exec (kubelogin) user when asked for the ``exec`` format, as AKS returns for Entra ID
clusters.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

import pulumi
import yaml

from infra.plan.mocks import fake_id

SUBSCRIPTION = "5e6f0a3c-2d1b-4c8e-9f7a-0b1c2d3e4f5a"
TENANT = "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d"
# Entra ID's application ids of the AKS server and the Azure CLI client (the same everywhere).
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
AZURE_CLI_APP = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
_CLUSTERS: dict[tuple[str, str], dict] = {}


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _hex(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _group_id(rg: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}"


def _arm(rg: str, provider_path: str) -> str:
    return f"{_group_id(rg)}/providers/{provider_path}"


def _ca_data(seed: str) -> str:
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 8).decode()
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64)) \
        + "\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def _managed_cluster(i: dict) -> tuple[str, dict]:
    rg, name, location = i["resourceGroupName"], i["resourceName"], i.get("location", "eastus")
    rid = _arm(rg, f"Microsoft.ContainerService/managedClusters/{name}")
    prefix = i.get("dnsPrefix", name)
    private = (i.get("apiServerAccessProfile") or {}).get("enablePrivateCluster", False)
    node_rg = i.get("nodeResourceGroup") or f"MC_{rg}_{name}_{location}"
    public_fqdn = f"{prefix}-{_hex(rid)}.hcp.{location}.azmk8s.io"
    private_fqdn = f"{prefix}-{_hex(rid)}.{_guid(rid, 'dns')}.privatelink.{location}.azmk8s.io"
    kubelet = _arm(node_rg, f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool")
    identity = dict(i.get("identity") or {})
    # ARM takes the user-assigned identities as a list of ids and returns them as a map.
    identity["userAssignedIdentities"] = {
        uid: {"clientId": _guid(uid, "client"), "principalId": _guid(uid, "principal")}
        for uid in identity.get("userAssignedIdentities") or []}
    out = {
        **i,
        "identity": identity,
        "name": name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "currentKubernetesVersion": f"{i.get('kubernetesVersion', '1.33')}.5",
        "maxAgentPools": 100,
        "nodeResourceGroup": node_rg,
        "resourceUID": _hex(rid, 24),
        "azurePortalFQDN": f"{prefix}-{_hex(rid)}.portal.hcp.{location}.azmk8s.io",
        "oidcIssuerProfile": {"enabled": True,
                              "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{TENANT}/{_guid(rid, 'oidc')}/"},
        "identityProfile": {"kubeletidentity": {"resourceId": kubelet, "clientId": _guid(kubelet, "client"),
                                                "objectId": _guid(kubelet, "object")}},
    }
    if private:
        out["privateFQDN"] = private_fqdn
    else:
        out["fqdn"] = public_fqdn
    _CLUSTERS[(rg.lower(), name.lower())] = {"server": private_fqdn if private else public_fqdn, "id": rid}
    return rid, out


def _identity(i: dict) -> tuple[str, dict]:
    rid = _arm(i["resourceGroupName"], f"Microsoft.ManagedIdentity/userAssignedIdentities/{i['resourceName']}")
    return rid, {**i, "name": i["resourceName"], "principalId": _guid(rid, "principal"),
                 "clientId": _guid(rid, "client"), "tenantId": TENANT}


def _storage_account(i: dict) -> tuple[str, dict]:
    name = i["accountName"]
    rid = _arm(i["resourceGroupName"], f"Microsoft.Storage/storageAccounts/{name}")
    endpoints = {kind: f"https://{name}.{kind}.core.windows.net/" for kind in ("blob", "dfs", "file", "queue", "table")}
    return rid, {**i, "name": name, "primaryEndpoints": endpoints, "primaryLocation": i.get("location"),
                 "statusOfPrimary": "available", "provisioningState": "Succeeded"}


def _resource_id(t: str, i: dict) -> str:
    """The ARM id of a resource that needs nothing but its id and name computed."""
    rg = i.get("resourceGroupName", "")
    paths = {
        "azure-native:network:VirtualNetwork": lambda: f"Microsoft.Network/virtualNetworks/{i['virtualNetworkName']}",
        "azure-native:network:Subnet":
            lambda: f"Microsoft.Network/virtualNetworks/{i['virtualNetworkName']}/subnets/{i['subnetName']}",
        "azure-native:containerservice:AgentPool":
            lambda: f"Microsoft.ContainerService/managedClusters/{i['resourceName']}/agentPools/{i['agentPoolName']}",
        "azure-native:managedidentity:FederatedIdentityCredential":
            lambda: (f"Microsoft.ManagedIdentity/userAssignedIdentities/{i['resourceName']}"
                     f"/federatedIdentityCredentials/{i['federatedIdentityCredentialResourceName']}"),
        "azure-native:containerregistry:Registry": lambda: f"Microsoft.ContainerRegistry/registries/{i['registryName']}",
        "azure-native:storage:BlobServiceProperties":
            lambda: f"Microsoft.Storage/storageAccounts/{i['accountName']}/blobServices/default",
        "azure-native:storage:BlobContainer":
            lambda: f"Microsoft.Storage/storageAccounts/{i['accountName']}/blobServices/default/containers/{i['containerName']}",
    }
    if t == "azure-native:resources:ResourceGroup":
        return _group_id(i["resourceGroupName"])
    if t == "azure-native:authorization:RoleAssignment":
        return f"{i['scope']}/providers/Microsoft.Authorization/roleAssignments/{i['roleAssignmentName']}"
    return _arm(rg, paths[t]()) if t in paths else ""


def new_resource(args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
    t, i = args.typ, dict(args.inputs)
    if t == "azure-native:containerservice:ManagedCluster":
        return _managed_cluster(i)
    if t == "azure-native:managedidentity:UserAssignedIdentity":
        return _identity(i)
    if t == "azure-native:storage:StorageAccount":
        return _storage_account(i)
    rid = _resource_id(t, i)
    if not rid:
        return fake_id(t.rsplit(":", 1)[-1].lower(), args.name), i
    out = {**i, "name": rid.rsplit("/", 1)[-1], "provisioningState": "Succeeded"}
    if t == "azure-native:containerregistry:Registry":
        out["loginServer"] = f"{i['registryName'].lower()}.azurecr.io"
    if t == "azure-native:containerservice:AgentPool":
        out["nodeImageVersion"] = "AKSUbuntu-2204gen2containerd-202611.10.0"
    return rid, out


def _kubeconfig(rg: str, name: str, exec_format: bool) -> str:
    cluster = _CLUSTERS.get((rg.lower(), name.lower()),
                            {"server": f"{name}-{_hex(name)}.hcp.eastus.azmk8s.io", "id": name})
    user_name = f"clusterUser_{rg}_{name}"
    if exec_format:
        user = {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": ["get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_SERVER_APP,
                     "--client-id", AZURE_CLI_APP, "--tenant-id", TENANT, "--login", "devicecode"],
            "env": None,
            "installHint": "kubelogin is not installed which is required to connect to AAD enabled cluster.",
            "provideClusterInfo": False,
        }}
    else:
        user = {"client-certificate-data": _ca_data(cluster["id"] + "/client"),
                "client-key-data": _ca_data(cluster["id"] + "/key"),
                "token": _hex(cluster["id"] + "/token", 64)}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"certificate-authority-data": _ca_data(cluster["id"]),
                                                "server": f"https://{cluster['server']}:443"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user_name}}],
        "current-context": name,
        "preferences": {},
        "users": [{"name": user_name, "user": user}],
    }
    return base64.b64encode(yaml.safe_dump(doc, sort_keys=False).encode()).decode()


def call(args: pulumi.runtime.MockCallArgs) -> dict:
    a = dict(args.args)
    if args.token == "azure-native:authorization:getClientConfig":
        return {"clientId": AZURE_CLI_APP, "objectId": _guid("plan", "deployer"),
                "subscriptionId": SUBSCRIPTION, "tenantId": TENANT}
    if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
        value = _kubeconfig(a["resourceGroupName"], a["resourceName"], a.get("format") == "exec")
        return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}
    return {}

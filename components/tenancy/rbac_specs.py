"""Pure builders for a tenant's Roles and RoleBindings (namespaced only; nothing cluster-wide).

``tenant-edit`` runs workloads: Deployments, StatefulSets, Jobs, their Services, ConfigMaps,
Secrets, volume claims and autoscalers. What it leaves out, and why:
- quotas, limit ranges, network policies, roles and bindings: the platform's isolation, which
  a tenant must not loosen;
- Endpoints / EndpointSlices writes: hand-made endpoints can point a Service at another
  namespace's pods (CVE-2021-25740);
- Gateway API routes and Ingresses: the namespace may attach routes to the public Gateway,
  so a route of the tenant's own could claim another tenant's hostname; the platform
  creates the app's route;
- DaemonSets (a pod on every node, GPU nodes included) and PodDisruptionBudgets (one with
  no allowed disruptions blocks node drains and cluster upgrades);
- escalate, bind, impersonate and wildcard verbs or resources.
``tenant-view`` reads the same kinds plus the platform's objects, never Secrets.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.tenancy.namespace_specs import object_labels

EDIT_ROLE = "tenant-edit"
VIEW_ROLE = "tenant-view"
RBAC_GROUP = "rbac.authorization.k8s.io"

READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "update", "patch", "delete", "deletecollection"]

# (apiGroup, resources) a tenant runs its workloads with.
WORKLOADS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("pods", "services", "configmaps", "persistentvolumeclaims", "serviceaccounts")),
    ("apps", ("deployments", "deployments/scale", "statefulsets", "statefulsets/scale", "replicasets")),
    ("batch", ("jobs", "cronjobs")),
    ("autoscaling", ("horizontalpodautoscalers",)),
)
# Read-only for both roles: status, logs and the platform-owned objects that shape the namespace.
OBSERVE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("pods/log", "pods/status", "events", "endpoints", "resourcequotas", "limitranges")),
    ("discovery.k8s.io", ("endpointslices",)),
    ("events.k8s.io", ("events",)),
    ("policy", ("poddisruptionbudgets",)),
    ("networking.k8s.io", ("networkpolicies",)),
    ("gateway.networking.k8s.io", ("httproutes",)),
    (RBAC_GROUP, ("roles", "rolebindings")),
)


def _rule(group: str, resources: Sequence[str], verbs: Sequence[str]) -> dict:
    return {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}


def _role(name: str, tenant: str, namespace: str, rules: list[dict]) -> dict:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace, "labels": object_labels(tenant, namespace, name)},
        "rules": rules,
    }


def edit_role(tenant: str, namespace: str) -> dict:
    rules = [_rule(g, r, WRITE) for g, r in WORKLOADS]
    rules.append(_rule("", ["secrets"], WRITE))
    # Debugging running pods; PSA ``restricted`` still bounds what runs in them.
    rules.append(_rule("", ["pods/exec", "pods/portforward"], ["create", "get"]))
    rules += [_rule(g, r, READ) for g, r in OBSERVE]
    return _role(EDIT_ROLE, tenant, namespace, rules)


def view_role(tenant: str, namespace: str) -> dict:
    rules = [_rule(g, r, READ) for g, r in WORKLOADS]
    rules += [_rule(g, r, READ) for g, r in OBSERVE]
    return _role(VIEW_ROLE, tenant, namespace, rules)


def role_binding(role: str, tenant: str, namespace: str, groups: Sequence[str]) -> dict:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "RoleBinding",
        "metadata": {"name": role, "namespace": namespace, "labels": object_labels(tenant, namespace, role)},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": role},
        "subjects": [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": g} for g in groups],
    }


def rbac_objects(tenant: str, namespace: str, edit_groups: Sequence[str], view_groups: Sequence[str]) -> list[dict]:
    """Both Roles, and a RoleBinding for each role that has groups."""
    out = [edit_role(tenant, namespace), view_role(tenant, namespace)]
    for role, groups in ((EDIT_ROLE, edit_groups), (VIEW_ROLE, view_groups)):
        if groups:
            out.append(role_binding(role, tenant, namespace, groups))
    return out

"""Azure role assignments with deterministic names (a helper, not a component).

A role assignment's name is its identity in Azure; a random one would create a duplicate
assignment on every replacement and fail with RoleAssignmentExists. The name is a GUID derived
from scope, principal and role (``aks_specs.role_assignment_name``).
"""

from __future__ import annotations

from typing import Optional

import pulumi
from pulumi_azure_native import authorization

from components.cluster.aks_specs import role_assignment_name, role_definition_id


def assign_role(name: str, scope: pulumi.Input[str], principal_id: pulumi.Input[str], role: str,
                parent: pulumi.Resource, provider: pulumi.ProviderResource,
                depends_on: Optional[list[pulumi.Resource]] = None) -> authorization.RoleAssignment:
    scope_out = pulumi.Output.from_input(scope)
    return authorization.RoleAssignment(
        name,
        role_assignment_name=pulumi.Output.all(scope_out, principal_id).apply(
            lambda v: role_assignment_name(v[0], v[1], role)),
        scope=scope_out,
        principal_id=principal_id,
        # Managed identities are service principals; saying so lets Azure accept the assignment
        # before the new principal has replicated through Entra ID.
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=scope_out.apply(lambda s: role_definition_id(s, role)),
        description=f"{role} for genai-platform ({name})",
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on),
    )

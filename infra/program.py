"""The program: validated config -> cluster -> platform layers -> stack outputs.

Maps the user-facing config sections onto each component's typed arguments; components never
see ``pulumi.Config``.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Optional

import pulumi

from components.cluster.existing import ExistingCluster, ExistingClusterArgs
from components.cluster.info import ClusterInfo, IdentityRequest, ObjectStore, StorageClasses
from components.edge.controllers import EdgeCrds, EdgeCrdsArgs
from components.models.server_specs import scraper_namespace
from components.platform.cert_manager import CertManager, CertManagerArgs
from components.platform.gpu_operator import GpuOperator, GpuOperatorArgs
from components.platform.gpu_operator_values import GpuOperatorSettings
from components.platform.namespace import NamespaceArgs, PlatformNamespace
from components.platform.storage import Storage, StorageArgs
from components.platform.storage_specs import NfsSettings
from infra.config import LoadedConfig
from infra.data_layer import build_data, needs_cert_manager, tenant_requests
from infra.data_layer import identity_requests as data_identity_requests
from infra.edge_layer import build_edge
from infra.models_layer import build_models
from infra.ops_layer import build_backups, build_dashboards_and_alerts, build_load_test, build_observability
from infra.pools import gpu_pool
from infra.schema import PlatformConfig
from infra.tenancy_layer import api_keys_output, build_tenant_namespaces, build_tenants, tenants_output

__all__ = ["gpu_pool", "run"]

NFS_DEFAULT_CLASS = "nfs-rwx"
def identity_requests(cfg: PlatformConfig) -> tuple[IdentityRequest, ...]:
    """Service accounts of later layers that need the platform bucket, bound by the cluster."""
    return (
        IdentityRequest("model-downloads", cfg.namespaces.models, "model-downloader", "read"),
        IdentityRequest("backups", cfg.namespaces.backups, "velero", "read-write", sign_urls=True),
        *data_identity_requests(cfg),
    )


def object_store(loaded: LoadedConfig) -> Optional[ObjectStore]:
    """An existing cluster's S3-compatible store, from ``objectStore`` and its secret keys."""
    store = loaded.platform.object_store
    if store is None:
        return None
    return ObjectStore(kind="s3", bucket=store.bucket, region=store.region, endpoint=store.endpoint.rstrip("/"),
                       access_key_id=loaded.object_store_access_key_id,
                       secret_access_key=loaded.object_store_secret_access_key)


def storage_classes(cfg: PlatformConfig) -> StorageClasses:
    rwx = cfg.storage.rwx
    rwx_class = None if rwx.provider == "none" else (rwx.class_name or NFS_DEFAULT_CLASS)
    return StorageClasses(rwo=cfg.storage.rwo.class_name, rwx=rwx_class)


def build_cluster(loaded: LoadedConfig) -> ClusterInfo:
    cfg = loaded.platform
    target = cfg.cluster.target
    pools = tuple(gpu_pool(p, target) for p in cfg.gpu_pools)
    if target != "existing":
        # Each cloud's SDK is large and slow to import; a stack loads only its own.
        module = importlib.import_module(f"infra.cluster_{target}")
        return module.build(cfg, pools, identity_requests(cfg))
    existing = cfg.cluster.existing
    cluster = ExistingCluster("cluster", ExistingClusterArgs(
        kubernetes_version=cfg.cluster.kubernetes_version,
        gpu_pools=pools,
        storage=storage_classes(cfg),
        kubeconfig=loaded.kubeconfig,
        kubeconfig_path=existing.kubeconfig_path,
        context=existing.context,
        protect=cfg.protect,
        zones=tuple(existing.zones),
        object_store=object_store(loaded),
    ))
    return cluster.info


def build_platform(cfg: PlatformConfig, cluster: ClusterInfo) -> dict:
    PlatformNamespace("system", NamespaceArgs(
        provider=cluster.provider,
        namespace=cfg.namespaces.system,
        component="platform",
        kubernetes_version=cluster.kubernetes_version,
        protect=cluster.protect,
    ))
    if cfg.gpu_operator_enabled:
        op = cfg.gpu_operator
        GpuOperator("gpu-operator", GpuOperatorArgs(
            cluster=cluster,
            namespace=cfg.namespaces.gpu_operator,
            settings=GpuOperatorSettings(
                chart_version=op.chart_version,
                driver=op.driver,
                driver_version=op.driver_version,
                toolkit=op.toolkit,
                dcgm_service_monitor=op.dcgm_service_monitor,
                platform=cluster.gpu_platform,
                kubernetes_version=cluster.kubernetes_version,
            ),
        ))
    rwx = cfg.storage.rwx
    nfs = None
    if rwx.provider == "nfs" and rwx.nfs is not None and cluster.storage.rwx:
        nfs = NfsSettings(server=rwx.nfs.server, share=rwx.nfs.share, class_name=cluster.storage.rwx,
                          sub_dir=rwx.nfs.sub_dir, mount_options=tuple(rwx.nfs.mount_options))
    Storage("storage", StorageArgs(cluster=cluster, nfs=nfs, snapshots=cfg.storage.volume_snapshots))
    return {
        "namespaces": {"system": cfg.namespaces.system,
                       **({"gpuOperator": cfg.namespaces.gpu_operator} if cfg.gpu_operator_enabled else {})},
    }


def build_cert_manager(cfg: PlatformConfig, cluster: ClusterInfo,
                       gateway_crds: Optional[EdgeCrds] = None) -> pulumi.Resource:
    gw = cfg.gateway
    monitored = cfg.databases.service_monitors if gw is None else gw.service_monitors
    labels = cfg.databases.service_monitor_labels if gw is None else gw.service_monitor_labels
    cert_manager = CertManager("cert-manager", CertManagerArgs(
        cluster=cluster,
        service_monitor=monitored,
        service_monitor_labels=dict(labels),
        metrics_namespace=scraper_namespace(cfg.model_serving.prometheus_address) if monitored else None,
        acme_self_checks=gw is not None and gw.tls.issuer == "acme",
        # HTTP-01 answers through the gateway; with Gateway API support on, cert-manager exits
        # at start when the Gateway API CRDs are missing, so it waits for them.
        gateway_api=gw is not None,
        depends_on=gateway_crds.resources if gateway_crds is not None else (),
    ))
    return cert_manager.release


def run(loaded: LoadedConfig) -> None:
    cfg = loaded.platform
    cluster = build_cluster(loaded)
    # Prometheus (and its Operator's CRDs) first: every later monitor waits for it.
    obs = build_observability(loaded, cluster)
    platform = build_platform(cfg, cluster)
    models = build_models(loaded, cluster)
    crds = EdgeCrds("gateway-crds", EdgeCrdsArgs(cluster=cluster)) if cfg.gateway is not None else None
    cert_manager = (build_cert_manager(cfg, cluster, crds)
                    if needs_cert_manager(cfg) or cfg.gateway is not None else None)
    # Tenant namespaces come before the data layer, which may put a tenant's own database in one.
    tenant_namespaces = build_tenant_namespaces(cfg, cluster)
    requests = tuple(replace(r, depends_on=(tenant_namespaces[r.name].resource,)) if r.name in tenant_namespaces
                     else r for r in tenant_requests(cfg))
    data = build_data(cfg, cluster, cert_manager, tenants=requests)
    edge = build_edge(cfg, cluster, models, cert_manager, crds, loaded.acme_dns_api_token)
    tenant_data = {t.name: data.tenant_data(t.name) for t in cfg.tenants} if data is not None else {}
    tenants = build_tenants(cfg, cluster, edge, tenant_namespaces, tenant_data)
    data_namespace = data.namespace if data is not None else None
    if obs is not None:
        build_dashboards_and_alerts(cfg, cluster, obs, data_namespace, cert_manager is not None)
        max_lens = {r.name: p.max_model_len for r, p in zip(models.requests, models.placements, strict=True)} \
            if models is not None else {}
        build_load_test(loaded, cluster, obs, edge, max_lens)
    backups = build_backups(cfg, cluster, data_namespace, tuple(t.namespace for t in tenants.values()),
                            obs.namespace if obs is not None else None,
                            after=tuple(t.resource for t in tenant_namespaces.values()))
    pulumi.export("cluster", {
        "kind": cluster.kind,
        "kubernetesVersion": cluster.kubernetes_version,
        "cpuOnly": cluster.cpu_only,
        "gpuPlatform": cluster.gpu_platform,
        "zones": list(cluster.zones),
    })
    if cluster.kubeconfig is not None:
        pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    if cluster.registry is not None:
        pulumi.export("registry", cluster.registry)
    if cluster.object_store is not None:
        store = cluster.object_store
        pulumi.export("objectStore", {"kind": store.kind, "bucket": store.bucket, "region": store.region,
                                      **({"account": store.account} if store.account is not None else {})})
    if cluster.identities:
        pulumi.export("workloadIdentities", {
            name: {"namespace": i.namespace, "serviceAccount": i.service_account, "principal": i.cloud_principal}
            for name, i in cluster.identities.items()
        })
    pulumi.export("gpuPools", [{
        "name": p.name,
        "gpuModel": p.gpu_model,
        "gpuMemoryGiB": p.gpu_memory_gib,
        "gpusPerNode": p.gpus_per_node,
        "sharing": p.sharing.mode,
        "nodeSelector": dict(p.node_selector),
        "nodeLabels": p.operator_node_labels,
        **({"instanceType": p.instance_type, "minSize": p.min_size, "maxSize": p.max_size, "spot": p.spot}
           if p.instance_type else {}),
    } for p in cluster.gpu_pools])
    pulumi.export("storageClasses", {"rwo": cluster.storage.rwo, "rwx": cluster.storage.rwx})
    namespaces = dict(platform["namespaces"])
    if models is not None:
        namespaces["models"] = cfg.namespaces.models
        pulumi.export("models", models.outputs())
    if data is not None:
        namespaces["data"] = data.namespace
        pulumi.export("databases", data.outputs())
    if edge is not None:
        namespaces.update({"gateway": cfg.gateway.namespace, "gatewayControllers": cfg.gateway.controller_namespace,
                           "aiGatewayController": cfg.gateway.ai_controller_namespace})
        pulumi.export("gateway", edge.outputs())
    if tenants:
        namespaces.update({f"tenant:{name}": t.namespace for name, t in tenants.items()})
        pulumi.export("tenants", tenants_output(tenants))
    if obs is not None:
        namespaces["observability"] = obs.namespace
        pulumi.export("observability", obs.outputs())
        pulumi.export("grafanaAdminPassword", obs.monitoring.grafana_admin_password)
    if backups is not None:
        namespaces["backups"] = cfg.namespaces.backups
        pulumi.export("backups", backups.outputs())
    keys = api_keys_output(edge)
    if keys is not None:
        pulumi.export("tenantApiKeys", keys)
    pulumi.export("namespaces", namespaces)

"""Tenants: isolated namespaces (quotas, RBAC, network policy), their data, chat/RAG app and ingestion."""

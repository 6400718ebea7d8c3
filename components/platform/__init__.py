"""Cluster-wide platform services: namespaces, GPU Operator, storage classes."""

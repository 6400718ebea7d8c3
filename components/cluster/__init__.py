"""Cluster targets; each produces a ClusterInfo that every later layer consumes."""

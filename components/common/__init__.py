"""Helpers shared by every layer: labels, secure defaults, the GPU catalog."""

"""Pulumi components of the platform, one layer per sub-package (see DESIGN.md)."""

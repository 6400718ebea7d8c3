"""The Pulumi program (``__main__``), its typed configuration and the offline plan."""

"""Research studies built on the three stages: ``python -m studies sweep SPEC.yaml`` (see studies.sweep)."""

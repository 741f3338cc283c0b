"""Hardware configurations: schemas and the YAML loader.

A config file in ``hw_configs/`` is YAML with a ``kind`` that selects the
schema (``pim_mesh`` -> :class:`~contracts.hardware.pim_mesh.PimMeshConfig`,
``crossbar_chip`` -> :class:`~contracts.hardware.crossbar_chip.CrossbarChipConfig`).
Loading rejects duplicate keys, applies ``--set a.b=x`` overrides *before*
validation, and names the offending field on error.
"""

from contracts.hardware.loader import HwConfig, hw_digest, list_configs, load_hw, resolve_hw_path

__all__ = ["HwConfig", "hw_digest", "list_configs", "load_hw", "resolve_hw_path"]

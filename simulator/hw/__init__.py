"""Hardware configurations: schemas and the YAML loader.

A config file in ``hw_configs/`` is YAML with a ``kind`` that selects the
schema (``pim_mesh`` -> :class:`~simulator.hw.pim.PimMeshConfig`,
``crossbar_chip`` -> :class:`~simulator.hw.crossbar.CrossbarChipConfig`).
Loading rejects duplicate keys, applies ``--set a.b=x`` overrides *before*
validation, and names the offending field on error.
"""

from simulator.hw.loader import HwConfig, hw_digest, list_configs, load_hw, resolve_hw_path

__all__ = ["HwConfig", "hw_digest", "list_configs", "load_hw", "resolve_hw_path"]

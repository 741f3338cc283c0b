"""Model zoo: importing this package registers every model.

Each module registers its models with ``@register_workload``; timm-backed
models live in ``timm_models``, the project's own faithful torch modules in
one file per family.
"""
import importlib

for _mod in ("timm_models", "lvvit", "pvt_v1", "cswin", "focal", "bert", "vit_tiny_digits"):
    try:
        importlib.import_module(f"workloads.zoo.{_mod}")
    except ModuleNotFoundError as _e:  # a family not written yet
        if _e.name != f"workloads.zoo.{_mod}":
            raise

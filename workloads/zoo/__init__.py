"""Model zoo: importing this package registers every model.

Each module registers its models with ``@register_workload``; timm-backed
models live in ``timm_models``, the project's own faithful torch modules in
one file per family.
"""
# registration order = listing order of `python -m workloads list`
from workloads.zoo import timm_models, lvvit, pvt_v1, cswin, focal, bert, vit_tiny_digits  # noqa: F401,I001

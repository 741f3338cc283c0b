"""vitsim workloads: real torch model definitions traced into WorkloadGraphs.

This is the only package that imports torch/timm, and it does so lazily:
``import workloads`` and ``contracts.workload`` are torch-free so that the
scheduler can read workload files without torch.
"""

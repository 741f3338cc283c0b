"""TReX attention reuse (Section V): patterns, the torch transform, crossbar-noise training.

``patterns`` is torch-free (the tracer's ``--reuse SPEC`` and the CLI parse
specs with it); ``transform``, ``noise``, ``train``, ``cka``, ``data`` and
``demo`` import torch. ``python -m workloads.reuse`` is the command line.
"""

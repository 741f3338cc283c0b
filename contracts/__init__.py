"""vitsim contracts: the files between the stages, and what every stage shares.

Torch-, SimPy- and OR-Tools-free (pydantic and the standard library only):
user errors (:mod:`contracts.errors`), atomic file I/O (:mod:`contracts.atomic`),
the strict pydantic base and the schema versions (:mod:`contracts.base`),
dependency graphs (:mod:`contracts.graph`), the WorkloadGraph
(:mod:`contracts.workload`), the Program IR (:mod:`contracts.program`) and the
hardware schemas (:mod:`contracts.hardware`).
``workloads``, ``scheduler`` and ``simulator`` depend on this package and not on
each other's internals.
"""

"""vitsim simulator: the cycle-level SimPy engine and its input contracts.

Importing this package is cheap and pulls in neither SimPy nor torch: the
contract modules (``contracts.program``, ``contracts.hardware``, ``simulator.costmodel``,
``contracts.errors``) are pydantic/pure-Python so the scheduler can use them.
SimPy is imported only by ``simulator.engine``.
"""

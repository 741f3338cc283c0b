"""vitsim simulator: the cycle-level SimPy engine and its input contracts.

Importing this package is cheap and pulls in neither SimPy nor torch: the
contract modules (``simulator.ir``, ``simulator.hw``, ``simulator.costmodel``,
``simulator.errors``) are pydantic/pure-Python so the scheduler can use them.
SimPy is imported only by ``simulator.engine``.
"""

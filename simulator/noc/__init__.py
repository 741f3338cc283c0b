"""The mesh network-on-chip, in layers: geometry, statistics, three network models, one network front.

* :mod:`.geometry` (pure Python): node numbering, XY routes, the one ``flits_for`` and packet splitting;
* :mod:`.stats` (pure Python): ``NocStats``, the counters and energy every model fills;
* :mod:`.base`: the model interface, a transfer in flight and its completion event;
* :mod:`.worm`, :mod:`.transfer`, :mod:`.flit`: the three models, registered by name in :mod:`.models`;
* :mod:`.network`: ``MeshNetwork``, the front the executor sends through.

This package's ``__init__`` imports nothing, so the closed-form cost model (which the scheduler
imports) can use :mod:`.geometry` without SimPy.
"""

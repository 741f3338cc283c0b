"""``python -m studies noc-synth``: the mesh network under synthetic traffic, the standard NoC check.

Modelled
--------
* A k x k mesh built from ``--k`` with the router and link parameters of the
  hardware config (``--hw``, ``--set noc.buffer_depth_flits=4`` ...), run by
  :class:`simulator.noc.network.MeshNetwork` per packet (``transfer``) or, with
  ``--flit-level``, cycle by cycle (``flit``).
* Traffic patterns (:mod:`.traffic`; destination of a packet from node (r, c),
  as in BookSim): ``uniform`` any other node with equal probability;
  ``transpose`` (c, r); ``bitcomp`` (k-1-r, k-1-c), the complement of each
  coordinate's bits for a power-of-two k; ``neighbor`` ((r+1) mod k,
  (c+1) mod k); ``hotspot`` the centre node (k//2, k//2) with probability
  ``--hotspot-fraction``, otherwise uniform. A node whose destination would be
  itself does not inject (the diagonal under transpose, the centre under
  bitcomp for odd k).
* Open-loop Bernoulli injection: in every cycle each injecting node creates a
  packet of ``--packet-flits`` flits with probability rate/packet_flits, so
  ``--rate`` is the OFFERED LOAD IN FLITS PER NODE PER CYCLE. Source queues
  are unbounded; a packet's latency runs from its creation (source queueing
  included) to its tail flit arriving in the destination network interface.
* Windows (:mod:`.measure`): ``--warmup-cycles`` of warm-up (default a quarter
  of ``--cycles``, at least 1000), then ``--cycles`` of measurement: the
  packets created in it are the measured ones. Injection goes on while they
  drain; a run is SATURATED if its measured packets are not all delivered
  within ``--cycles`` more cycles, if its accepted throughput falls below 95 %
  of the offered load, or if its average latency exceeds 3x the zero-load
  latency (past the knee of the latency-load curve, where source queues grow
  over the window).
* Accepted throughput: flits of packets delivered inside the measurement
  window, per injecting node per cycle (equal to the offered load below
  saturation).
* ``--sweep`` raises the rate by ``--sweep-step`` until a run saturates, then
  bisects the last interval three times; the saturation rate is the lowest
  saturated offered load found. It writes ``noc_sweep-<traffic>-k<k>-<mode>.csv``
  and the latency-load curve ``noc_latency_load-<traffic>-k<k>-<mode>.png``
  (drawn by :mod:`.plot`) into ``--out`` (default ``runs/noc``).

Every random choice comes from one numpy generator seeded with ``--seed``; the
packet list is drawn before simulation, so both network models see the very
same packets and the output is byte-identical between runs.

Measurement (:mod:`.traffic`, :mod:`.measure`) returns plain data; only
:mod:`.plot` imports matplotlib; :mod:`.cli` holds the flags and the output.

Abstracted away: closed-loop (request/reply) traffic, bursty injection, and
per-flit accounting of the accepted throughput (a packet's flits count at its
delivery).
"""

"""TReX Algorithm 1: the smallest N_reuse whose delay meets a target (Section V-B, Step 1).

Delay per Table II row 9: ``D_ViT = sum over encoders of (D_MLP + D_Projection)
+ (N_Encoders - N_reuse) * D_Attn`` (+ ``N_reuse * D_TB`` when the config's
``include_tb_in_totals`` switch is on). The per-encoder terms come from the
closed form of the mapped baseline model (``simulator.costmodel``), so they are
exactly what the simulator reports for the reuse-optimised model.

"Meets" is strict, ``delay < target``: Table IV's TReX-D-6 row uses
N_reuse = 7 although N_reuse = 6 lands on 6.00 ms (10.92 - 6 x 0.82).
Encoder 1 never reuses (nothing earlier to reuse), so N_reuse <= N_Encoders - 1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from scheduler.crossbar.lower import lower
from scheduler.crossbar.mapping import ChipMapping, make_layer
from simulator.families.crossbar_chip.costmodel import block_of, read_cycles
from simulator.families.crossbar_chip.summary import critical_path, uncongested_schedule
from contracts.errors import UserError
from contracts.hardware.crossbar_chip import CrossbarChipConfig


@dataclass(frozen=True)
class DelayModel:
    """Table II row 9 terms of an isotropic model, in cycles."""

    n_encoders: int
    rest_cycles: int  # sum over encoders of D_MLP + D_Projection (and any other non-attention block)
    attn_cycles: int  # D_Attn of one encoder
    tb_cycles: int  # D_TB of one reusing encoder
    clock_hz: float

    def delay_cycles(self, n_reuse: int, include_tb: bool) -> int:
        return self.rest_cycles + (self.n_encoders - n_reuse) * self.attn_cycles + (n_reuse * self.tb_cycles if include_tb else 0)

    def delay_ms(self, n_reuse: int, include_tb: bool) -> float:
        return self.delay_cycles(n_reuse, include_tb) * 1e3 / self.clock_hz


def delay_model(mapping: ChipMapping, hw: CrossbarChipConfig) -> DelayModel:
    """Row 9 terms from the closed form of a mapping without reuse."""
    if mapping.reuse_pattern:
        raise UserError("Algorithm 1 needs the trace of the model without attention reuse (give the plain workload)")
    prog = lower(mapping, hw, workload_digest="-", hw_digest="-", base_macs=mapping.macs)
    per_seg: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in critical_path(uncongested_schedule(prog, hw)):
        per_seg[r.seg][block_of(r.layer)] += r.end - r.start
    attn = sorted({per_seg[s]["attention"] for s in per_seg})
    if len(attn) != 1:
        raise UserError("Algorithm 1 (Table II row 9) needs an isotropic model: its encoders' attention delays differ")
    rest = sum(v for s in per_seg for b, v in per_seg[s].items() if b != "attention")
    enc = mapping.encoders[0]
    proj = next(l for l in enc.layers if l.role == "proj")
    tb = make_layer(hw, "tb", "tb_fc", proj.in_dim, proj.in_dim, 1, proj.vectors, False)
    tb_cycles = read_cycles(hw, "tb_fc", tb.vectors, tb.xbars)  # one d x d FC (the TB's LayerNorm/GELU are digital, not counted)
    return DelayModel(len(mapping.encoders), rest, attn[0], tb_cycles, hw.clock_hz)


def smallest_n_reuse(model: DelayModel, target_ms: float, include_tb: bool) -> int:
    """Algorithm 1: iterate r = 0, 1, ... and return the first with delay < target."""
    for r in range(model.n_encoders):
        if model.delay_ms(r, include_tb) < target_ms:
            return r
    best = min(range(model.n_encoders), key=lambda r: model.delay_cycles(r, include_tb))
    raise UserError(
        f"no N_reuse meets the target delay of {target_ms:g} ms: the smallest reachable delay is "
        f"{model.delay_ms(best, include_tb):.4g} ms (N_reuse = {best} of {model.n_encoders} encoders)"
    )

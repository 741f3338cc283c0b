"""Methods evaluated on the same crossbar platform (TReX Section VII-C, Fig. 13).

``--method`` values (``allspark``, the pipeline's default, means ``trex``):

* ``trex``: the TReX-Sim mapping of the traced model (reuse comes from the
  trace: blocks with ``attention_reused`` carry a TB instead of attention).
* ``retransformer``: ReTransformer's dataflow [11]: the operand of QK^T is
  programmed from the encoder input (X^T) in parallel with the X.W_Q and
  Q.W_K^T products instead of after K is computed. X^T has K^T's shape
  (d x t) and Q.W_K^T costs what the K projection costs, so only the step
  dependencies change: the K^T write no longer waits for stage (1). The extra
  read passes the decomposition needs per head are not modelled.
* ``prune:p=P``: DynamicViT token pruning [9]: before encoders at 1/4, 1/2 and
  3/4 depth a predictor (LayerNorm, FC d->d, GELU, FC d->d/2, FC d/2->d/4,
  FC d/4->2; FCs on crossbars) drops a fraction P of the patch tokens; every
  later encoder, including its K^T and V crossbars, runs on fewer tokens.
* ``ws:k``: weight sharing [14]: each group of k consecutive encoders uses
  the first one's tiles (weights and K^T/V crossbars), so area shrinks k-fold
  while energy and delay are unchanged.
"""

from __future__ import annotations

import math
from dataclasses import replace

from scheduler.crossbar.mapping import (ChipMapping, EncoderPlan, LinearOp, Step, TileAllocator, encoder_layers_and_steps,
                                        encoder_specs, map_model, place_encoder, unmapped_macs)
from contracts.errors import UserError
from contracts.hardware.crossbar_chip import CrossbarChipConfig
from contracts.workload import WorkloadGraph


def parse_method(method: str) -> tuple[str, dict[str, float]]:
    name, _, body = method.partition(":")
    name = {"allspark": "trex"}.get(name.strip().lower(), name.strip().lower())
    if name not in ("trex", "retransformer", "prune", "ws"):
        raise UserError(f"method '{method}' is not a crossbar method (use trex, retransformer, prune:p=0.3 or ws:2)")
    params: dict[str, float] = {}
    for part in filter(None, body.split(",")):
        key, _, val = part.rpartition("=")
        try:
            params[key.strip() or ("p" if name == "prune" else "k")] = float(val)
        except ValueError:
            raise UserError(f"method '{method}': '{part}' is not a number") from None
    if name == "prune" and not 0 <= params.get("p", -1) < 1:
        raise UserError(f"method '{method}' needs a pruning ratio p in [0, 1), e.g. prune:p=0.3")
    if any(not math.isfinite(v) for v in params.values()):
        raise UserError(f"method '{method}': parameters must be finite numbers")
    if name == "ws" and (params.get("k", 0) < 1 or params["k"] != int(params["k"])):
        raise UserError(f"method '{method}' needs an integer sharing factor k >= 1, e.g. ws:2")
    return name, params


def build_mapping(wl: WorkloadGraph, hw: CrossbarChipConfig, method: str) -> ChipMapping:
    name, params = parse_method(method)
    if name == "trex":
        return map_model(wl, hw, "trex")
    if name == "retransformer":
        base = map_model(wl, hw, "retransformer")
        return replace(base, encoders=tuple(_retransformer(e) for e in base.encoders))
    if name == "prune":
        return _token_pruning(wl, hw, params["p"], method)
    return _weight_sharing(wl, hw, int(params["k"]), method)


def _retransformer(plan: EncoderPlan) -> EncoderPlan:
    names = [s.name for s in plan.steps]
    steps = []
    for s in plan.steps:
        if s.kind == "write" and s.layer.role == "attn_qk":
            steps.append(replace(s, deps=()))  # X^T programmed from the encoder input, in parallel with Q, K
        elif s.kind == "write" and s.layer.role == "attn_av":
            kt = next(n for n in names if n.endswith("attn_qk.write"))
            prev = [n for n in names[: names.index(kt)]][-1:]
            steps.append(replace(s, deps=tuple(prev)))
        elif s.kind == "read" and s.layer.role == "attn_qk":
            kt = next(n for n in names if n.endswith("attn_qk.write"))
            steps.append(replace(s, deps=tuple(sorted(set(s.deps) | {kt}))))
        else:
            steps.append(s)
    return replace(plan, steps=tuple(steps))


def _token_pruning(wl: WorkloadGraph, hw: CrossbarChipConfig, p: float, method: str) -> ChipMapping:
    specs = encoder_specs(wl)
    n = len(specs)
    locations = sorted({round(n * q) + 1 for q in (0.25, 0.5, 0.75)} - {1})
    alloc = TileAllocator(hw)
    encoders = []
    t0 = specs[0].tokens_per_branch
    tokens = t0
    for spec in specs:
        extra: tuple[LinearOp, ...] = ()
        if spec.index in locations:
            d = spec.dim
            extra = (LinearOp("pred_fc1", d, d, tokens), LinearOp("pred_fc2", d, d // 2, tokens),
                     LinearOp("pred_fc3", d // 2, d // 4, tokens), LinearOp("pred_fc4", d // 4, 2, tokens))
            k = locations.index(spec.index) + 1
            tokens = 1 + int((t0 - 1) * (1 - p) ** k)  # class token always kept
        layers, steps = encoder_layers_and_steps(hw, spec, f"e{spec.index}", tokens=tokens, extra_linears=extra)
        encoders.append(place_encoder(alloc, spec.index, spec.reused, tokens, spec.heads, layers, steps))
    heads = max(s.heads for s in specs)
    return ChipMapping(wl.model, method, tuple(encoders), alloc.next_tile, heads * hw.softmax.units_per_head,
                       tuple(s.index for s in specs if s.reused), unmapped_macs(wl),
                       {"trex_prune_locations": ",".join(map(str, locations))})


def _weight_sharing(wl: WorkloadGraph, hw: CrossbarChipConfig, k: int, method: str) -> ChipMapping:
    specs = encoder_specs(wl)
    alloc = TileAllocator(hw)
    encoders: list[EncoderPlan] = []
    for spec in specs:
        layers, steps = encoder_layers_and_steps(hw, spec, f"e{spec.index}")
        leader = encoders[(spec.index - 1) // k * k] if (spec.index - 1) % k else None
        encoders.append(place_encoder(alloc, spec.index, spec.reused, spec.tokens, spec.heads, layers, steps, leader))
    heads = max(s.heads for s in specs)
    return ChipMapping(wl.model, method, tuple(encoders), alloc.next_tile, heads * hw.softmax.units_per_head,
                       tuple(s.index for s in specs if s.reused), unmapped_macs(wl))


def baseline_model_macs(mapping: ChipMapping) -> int:
    """MACs of the model without reuse: executed MACs minus TB, plus the attention the reusing encoders skip.

    (TReX Table IV's TOPS/mm^2 column divides these by delay and area.)
    """
    full = [e for e in mapping.encoders if not e.reused]
    if not full:
        return mapping.macs
    attn = sum(l.macs for l in full[0].layers if l.block == "attention")
    tb = sum(l.macs for e in mapping.encoders for l in e.layers if l.block == "tb")
    return mapping.macs - tb + attn * sum(1 for e in mapping.encoders if e.reused)


__all__ = ["build_mapping", "parse_method", "baseline_model_macs", "Step"]

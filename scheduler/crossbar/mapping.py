"""Map a traced transformer onto crossbar tiles (TReX Section VI-A, Eq. 5, Fig. 8).

Modelled
--------
* Every weight layer of every encoder (Q, K, V, Projection, fc1, fc2, and the
  TReX transformation block's FC) gets ``Eq. 5 x weight slices`` crossbars on
  its own whole tiles; a fused ``qkv`` linear is split into the Q, K and V
  layers the paper maps separately (Fig. 8b).
* Matmul QK^T maps K^T and Matmul S(QK^T)V maps V, one crossbar set per head
  and computational branch, written at run time every inference. With a
  head dimension that is a multiple of the crossbar size this is exactly
  Eq. 5 with in_dim = d, out_dim = t (Table II's example).
* The encoder's work is a list of *steps* (a read, a write or a softmax of one
  layer) in the order of Fig. 8b, each depending on the previous one: TReX-Sim
  evaluates layers one after another (Table II row 9 sums their delays).
  Dataflow variants (ReTransformer, baselines.py) change only the step
  dependencies or the layers.
* Tiles are numbered globally in mapping order; crossbars fill a tile PE by
  PE. The digital softmax module has one unit per head (Fig. 9), shared by
  all encoders since encoders run one after another.

Abstracted away
---------------
Patch embedding, class head, LayerNorm, GELU and residual adds: Table II
counts encoder crossbar layers only (they are reported as not mapped).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.families.crossbar_chip.costmodel import BLOCK_OF_ROLE, crossbars_for, tiles_for, weight_slices
from contracts.errors import UserError
from contracts.hardware.crossbar_chip import CrossbarChipConfig
from contracts.workload import Block, WorkloadGraph

WEIGHT_ROLES = ("q", "k", "v", "proj", "fc1", "fc2", "tb_fc")


@dataclass(frozen=True)
class Layer:
    """One operand mapped on crossbars: a weight matrix, or K^T / V written at run time."""

    name: str  # e.g. "e3.q"
    role: str
    block: str
    in_dim: int  # crossbar rows used (per replica)
    out_dim: int  # crossbar columns used (per replica)
    replicas: int  # heads x branches for the attention matmuls, 1 for weights
    vectors: int  # input vectors each crossbar reads (t_L)
    written: bool  # programmed at run time every inference (K^T, V)
    xbars: int
    tiles: tuple[int, ...] = ()
    tile_xbars: tuple[int, ...] = ()
    tile_weights: tuple[int, ...] = ()  # weight elements per tile, counted once over bit slices
    tile_cols: tuple[int, ...] = ()  # partial-sum columns per tile (all crossbars)

    @property
    def macs(self) -> int:
        return self.replicas * self.vectors * self.in_dim * self.out_dim


@dataclass(frozen=True)
class Step:
    name: str  # e.g. "e3.q.read"
    kind: str  # read | write | softmax
    block: str
    layer: Layer | None = None
    deps: tuple[str, ...] = ()
    heads: int = 0  # softmax: heads (one unit each)
    rows: int = 0  # softmax: rows per head (branches x tokens)
    cols: int = 0  # softmax: row length (key tokens)


@dataclass(frozen=True)
class EncoderPlan:
    index: int  # 1-based encoder number
    reused: bool
    tokens: int
    heads: int
    layers: tuple[Layer, ...]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class ChipMapping:
    model: str
    method: str
    encoders: tuple[EncoderPlan, ...]
    n_tiles: int
    softmax_units: int
    reuse_pattern: tuple[int, ...]
    unmapped_macs: int  # stem / head MACs Table II does not count
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return sum(l.macs for e in self.encoders for l in e.layers)


# ---------------------------------------------------------------- workload reading


@dataclass(frozen=True)
class LinearOp:
    role: str
    in_dim: int
    out_dim: int
    vectors: int


@dataclass(frozen=True)
class EncoderSpec:
    """What the mapper needs from one traced block."""

    index: int
    reused: bool
    dim: int
    heads: int
    head_dim: int
    tokens_per_branch: int
    kv_tokens: int
    branches: int
    items: tuple[object, ...]  # LinearOp or the strings "attention" (QK^T, softmax, SV) in issue order

    @property
    def tokens(self) -> int:
        return self.tokens_per_branch * self.branches


def _vectors(shape: list[int]) -> int:
    n = 1
    for s in shape[:-1]:
        n *= s
    return n


def encoder_specs(wl: WorkloadGraph) -> list[EncoderSpec]:
    """Read the traced blocks: weight linears (qkv split into q, k, v) and the attention position."""
    specs = []
    blocks: list[Block] = wl.blocks()
    if not blocks:
        raise UserError(f"workload '{wl.model}' has no transformer blocks to map on crossbars")
    for pos, b in enumerate(blocks, start=1):
        items: list[object] = []
        saw_attention = False
        for op in b.ops:
            if op.kind == "linear":
                in_dim, out_dim, vec = op.input_shapes[0][-1], op.output_shape[-1], _vectors(op.output_shape)
                if op.role in ("qkv", "kv"):
                    parts = ("q", "k", "v") if op.role == "qkv" else ("k", "v")
                    if out_dim % len(parts):
                        raise UserError(f"block {b.name}: fused {op.role} output {out_dim} does not split into {len(parts)}")
                    items += [LinearOp(r, in_dim, out_dim // len(parts), vec) for r in parts]
                elif op.role in WEIGHT_ROLES:
                    items.append(LinearOp(op.role, in_dim, out_dim, vec))
                elif op.role.startswith("tb"):
                    items.append(LinearOp("tb_fc", in_dim, out_dim, vec))
                else:
                    raise UserError(
                        f"block {b.name}: linear '{op.name}' has role '{op.role}', which the crossbar mapper does not place"
                    )
            elif op.role == "attn_qk" and not saw_attention:
                items.append("attention")
                saw_attention = True
        if saw_attention == b.attention_reused:
            what = "has" if saw_attention else "lacks"
            raise UserError(f"block {b.name} {what} attention matmuls but attention_reused={b.attention_reused}")
        specs.append(
            EncoderSpec(pos, b.attention_reused, b.dim, b.heads, b.head_dim, b.tokens_per_branch,
                        b.kv_tokens_per_branch, b.branches, tuple(items))
        )
    return specs


def unmapped_macs(wl: WorkloadGraph) -> int:
    return sum(op.macs for op in list(wl.pre_ops) + list(wl.between_ops) + list(wl.post_ops))


# ---------------------------------------------------------------- placement


class TileAllocator:
    """Hands out whole tiles in order and spreads a layer's crossbars over them."""

    def __init__(self, hw: CrossbarChipConfig):
        self.hw = hw
        self.next_tile = 0

    def place(self, layer: Layer) -> Layer:
        size = self.hw.crossbar.size
        per_tile = self.hw.xbars_per_tile
        n_tiles = tiles_for(layer.xbars, per_tile)
        first = self.next_tile
        self.next_tile += n_tiles
        xb = [0] * n_tiles
        wts = [0] * n_tiles
        cols = [0] * n_tiles
        slices = layer.xbars // (layer.replicas * -(-layer.in_dim // size) * -(-layer.out_dim // size))
        i = 0
        for _ in range(layer.replicas):
            for r0 in range(0, layer.in_dim, size):
                rows = min(size, layer.in_dim - r0)
                for c0 in range(0, layer.out_dim, size):
                    ncols = min(size, layer.out_dim - c0)
                    for s in range(slices):
                        t = i // per_tile
                        xb[t] += 1
                        cols[t] += ncols
                        if s == 0:
                            wts[t] += rows * ncols
                        i += 1
        return Layer(**{**layer.__dict__, "tiles": tuple(range(first, first + n_tiles)), "tile_xbars": tuple(xb),
                        "tile_weights": tuple(wts), "tile_cols": tuple(cols)})


def make_layer(hw: CrossbarChipConfig, name: str, role: str, in_dim: int, out_dim: int, replicas: int,
               vectors: int, written: bool) -> Layer:
    dev = hw.device_for(role)
    slices = weight_slices(hw.crossbar.weight_bits, dev.bits_per_cell)
    xbars = replicas * crossbars_for(in_dim, out_dim, hw.crossbar.size, slices)
    return Layer(name, role, BLOCK_OF_ROLE.get(role, "other"), in_dim, out_dim, replicas, vectors, written, xbars)


def encoder_layers_and_steps(hw: CrossbarChipConfig, spec: EncoderSpec, prefix: str, tokens: int | None = None,
                             extra_linears: tuple[LinearOp, ...] = ()) -> tuple[list[Layer], list[Step]]:
    """Unplaced layers and the Fig. 8b step chain of one encoder.

    ``tokens`` overrides the traced token count (token pruning); ``extra_linears``
    are read before the encoder (the token-pruning predictor).
    """
    t_b = spec.tokens_per_branch if tokens is None else tokens
    kv = spec.kv_tokens if tokens is None else tokens
    layers: list[Layer] = []
    steps: list[Step] = []

    def add_step(name: str, kind: str, block: str, layer: Layer | None = None, **kw) -> None:
        deps = (steps[-1].name,) if steps else ()
        steps.append(Step(name, kind, block, layer, deps, **kw))

    for op in extra_linears:
        lay = make_layer(hw, f"{prefix}.{op.role}", op.role, op.in_dim, op.out_dim, 1, op.vectors, False)
        layers.append(lay)
        add_step(f"{lay.name}.read", "read", lay.block, lay)
    scale_vectors = (t_b * spec.branches) if tokens is not None else None
    for item in spec.items:
        if isinstance(item, LinearOp):
            vec = scale_vectors if scale_vectors is not None else item.vectors
            lay = make_layer(hw, f"{prefix}.{item.role}", item.role, item.in_dim, item.out_dim, 1, vec, False)
            layers.append(lay)
            add_step(f"{lay.name}.read", "read", lay.block, lay)
            continue
        reps = spec.heads * spec.branches
        kt = make_layer(hw, f"{prefix}.attn_qk", "attn_qk", spec.head_dim, kv, reps, t_b, True)
        vv = make_layer(hw, f"{prefix}.attn_av", "attn_av", kv, spec.head_dim, reps, t_b, True)
        layers += [kt, vv]
        add_step(f"{kt.name}.write", "write", "attention", kt)  # Fig. 8b (2): K^T written
        add_step(f"{vv.name}.write", "write", "attention", vv)  # Fig. 8b (2): V written
        add_step(f"{kt.name}.read", "read", "attention", kt)  # (3) QK^T
        add_step(f"{prefix}.softmax", "softmax", "attention", None, heads=spec.heads,
                 rows=spec.branches * t_b, cols=kv)  # (4)
        add_step(f"{vv.name}.read", "read", "attention", vv)  # (5) S(QK^T)V
    return layers, steps


def place_encoder(alloc: TileAllocator, index: int, reused: bool, tokens: int, heads: int,
                  layers: list[Layer], steps: list[Step], shared_from: EncoderPlan | None = None) -> EncoderPlan:
    """Give the layers tiles (fresh ones, or those of ``shared_from`` under weight sharing)."""
    if shared_from is None:
        placed = {l.name: alloc.place(l) for l in layers}
    else:
        donor = {l.role: l for l in shared_from.layers}
        placed = {}
        for l in layers:
            d = donor.get(l.role)
            fits = d is not None and tiles_for(l.xbars, alloc.hw.xbars_per_tile) <= len(d.tiles)
            placed[l.name] = _reuse_tiles(l, d, alloc.hw) if fits else alloc.place(l)
    new_steps = tuple(Step(s.name, s.kind, s.block, placed[s.layer.name] if s.layer else None, s.deps, s.heads, s.rows, s.cols)
                      for s in steps)
    return EncoderPlan(index, reused, tokens, heads, tuple(placed[l.name] for l in layers), new_steps)


def _reuse_tiles(layer: Layer, donor: Layer, hw: CrossbarChipConfig) -> Layer:
    """Map ``layer`` onto the tiles that already hold ``donor`` (weight sharing)."""
    tmp = TileAllocator(hw)
    tmp.next_tile = donor.tiles[0]
    return tmp.place(layer)


def map_model(wl: WorkloadGraph, hw: CrossbarChipConfig, method: str = "trex") -> ChipMapping:
    """The TReX-Sim mapping of every encoder (no baseline transforms; see baselines.py)."""
    specs = encoder_specs(wl)
    alloc = TileAllocator(hw)
    encoders = []
    for spec in specs:
        layers, steps = encoder_layers_and_steps(hw, spec, f"e{spec.index}")
        encoders.append(place_encoder(alloc, spec.index, spec.reused, spec.tokens, spec.heads, layers, steps))
    heads = max(s.heads for s in specs)
    pattern = tuple(s.index for s in specs if s.reused)
    return ChipMapping(wl.model, method, tuple(encoders), alloc.next_tile, heads * _units_per_head(hw), pattern,
                       unmapped_macs(wl))


def _units_per_head(hw: CrossbarChipConfig) -> int:
    if hw.softmax is None:
        raise UserError(f"hardware config '{hw.name}' lacks the 'softmax' section a crossbar chip needs")
    return hw.softmax.units_per_head

"""TReX attention reuse (Section V-A, Fig. 4) applied to a torch model.

What is modelled
----------------
For every encoder that reuses attention, its attention block (Q, K, V, QK^T,
softmax, S.V) is removed; a transformation block TB = LayerNorm -> d x d Linear
-> GELU maps the *source* encoder's concatenated attention output (the input
of the source's projection, t x d) to this encoder's projection input. The
projection, the MLP, the norms and the residuals of the encoder are kept.

The source of a reusing encoder is the last earlier encoder that still computes
attention. In a continuous run (encoders i-1 and i both reuse) both transform
that same source attention output, each with its own TB: the paper's encoders
"share the attention from a prior encoder" (Section V-B, Fig. 5b), and feeding
a TB's output into the next TB would compound transformations the paper does
not describe.

Naming contract with the tracer: a reusing block's ``attn`` becomes a
:class:`ReusedAttention` whose only children are ``tb`` (``norm`` LayerNorm,
``fc`` Linear d x d, ``act`` GELU) and ``proj`` (the original projection, same
weights). The source's projection input is captured by a forward pre-hook on
its ``attn.proj`` writing into an :class:`AttentionTap` that belongs to this
model instance only (deep copies get their own tap; no global state).

What is abstracted
------------------
The reusing block still computes ``norm1`` (its output is unused): a cheap
digital LayerNorm that the paper does not discuss removing.

Supported models: any isotropic model whose encoders sit in ``model.blocks``
and call ``self.attn(self.norm1(x))`` with an attention module that has a
``proj`` nn.Linear applied to the concatenated heads (timm VisionTransformer:
deit-*, vit-*, vit-tiny-digits; vitsim's lv-vit-s and bert-base).

Local-attention (hierarchical) models: Swin, PVT (v1 and v2) and Twins
----------------------------------------------------------------------
Reuse stays inside a stage: a reusing block transforms the attention output
of the last earlier block *of the same stage* that still computes attention
(same token grid, same width); the first block of every stage never reuses.
Blocks are numbered 1..N over the whole model, so a pattern spec names them as
for an isotropic model. The reused tensor is the source's attention output
before its projection, in token order: the TB and the projection are
token-wise, so the reusing block needs no windows, shift, padding or spatial
reduction of its own; it applies TB -> proj to the source's tokens. For the
models whose projection input is already in token order (PVT's spatial-
reduction attention, Twins' LSA and GSA) that is the tensor the hook sees; for
Swin, whose projection runs inside each (shifted) window, the hook's windowed
tensor is put back in token order exactly as Swin's own ``_attn`` does
(window reverse, crop of the padding, reverse cyclic shift), so "the previous
block's attention output" means the same tokens whatever windows either
block uses (the source's windows decided what each token attended to). A
reusing Swin block skips its own shift / window partition (they only serve
the attention it no longer computes).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from contracts.errors import UserError
from contracts.reuse_spec import source_encoders


class AttentionTap:
    """Holds the latest attention output (pre-projection) of one source encoder.

    ``windows``: for a Swin source, its (window_size, shift_size); the stored tensor is then windowed
    and :meth:`read` returns it in token order (B, H, W, C) for the grid ``hw`` of the reader.
    """

    def __init__(self, source: int, windows: tuple[tuple[int, int], tuple[int, int]] | None = None):
        self.source = source  # 1-based encoder index
        self.windows = windows
        self.value: torch.Tensor | None = None

    def read(self, hw: tuple[int, int] | None = None) -> torch.Tensor:
        if self.value is None:
            raise RuntimeError(f"attention of encoder {self.source} was not computed before it was reused")
        if self.windows is None:
            return self.value
        return swin_tokens(self.value, self.windows[0], self.windows[1], hw)


def swin_tokens(z: torch.Tensor, window: tuple[int, int], shift: tuple[int, int], hw: tuple[int, int]) -> torch.Tensor:
    """Windowed (nW*B, wh*ww, C) attention output -> token order (B, H, W, C), as timm Swin's ``_attn``."""
    from timm.models.swin_transformer import window_reverse

    (wh, ww), (h, w) = window, hw
    hp, wp = -(-h // wh) * wh, -(-w // ww) * ww
    x = window_reverse(z.view(-1, wh, ww, z.shape[-1]), (wh, ww), hp, wp)[:, :h, :w, :]
    return torch.roll(x, shifts=tuple(shift), dims=(1, 2)) if any(shift) else x


class _StoreProjectionInput:
    """Forward pre-hook on the source's ``attn.proj``: store its input in the tap.

    A callable object (not a closure) so that ``copy.deepcopy`` of the model
    copies the tap together with the module that reads it.
    """

    def __init__(self, tap: AttentionTap):
        self.tap = tap

    def __call__(self, module: nn.Module, args: tuple) -> None:
        self.tap.value = args[0]


class TransformationBlock(nn.Module):
    """TB of Fig. 4: LayerNorm -> d x d Linear -> GELU."""

    def __init__(self, dim: int, device=None, dtype=None):
        super().__init__()
        self.norm = nn.LayerNorm(dim, device=device, dtype=dtype)
        self.fc = nn.Linear(dim, dim, device=device, dtype=dtype)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(self.norm(x)))


class ReusedAttention(nn.Module):
    """Replaces a reusing encoder's attention: ``proj(TB(source attention output))``."""

    def __init__(self, tb: TransformationBlock, proj: nn.Linear, tap: AttentionTap, proj_drop: float = 0.0,
                 last_reader: bool = True):
        super().__init__()
        self.tb = tb
        self.proj = proj
        self.tap = tap
        self.proj_drop = proj_drop
        self.last_reader = last_reader  # drop the tap's reference after reading (frees activations)

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        source = self.tap.read(tuple(x.shape[1:3]) if x.dim() == 4 else None)
        if self.last_reader:
            self.tap.value = None
        out = self.proj(self.tb(source))
        return F.dropout(out, self.proj_drop, self.training) if self.proj_drop else out

    def extra_repr(self) -> str:
        return f"reuses encoder {self.tap.source}"


def _is_block_list(x) -> bool:
    return isinstance(x, (nn.ModuleList, nn.Sequential)) and len(x) > 0


def stage_blocks(model: nn.Module) -> list[list[nn.Module]]:
    """The blocks of each stage: one stage for an isotropic model (``model.blocks``); Swin
    (``layers[i].blocks``), PVT v2 (``stages[i].blocks``), Twins (``blocks[i]``), PVT v1 (``block1..4``)."""
    blocks = getattr(model, "blocks", None)
    if _is_block_list(blocks) and all(_is_block_list(b) for b in blocks):  # Twins: a list per stage
        stages = [list(b) for b in blocks]
    elif _is_block_list(blocks):
        stages = [list(blocks)]
    elif _is_block_list(getattr(model, "layers", None)) and all(_is_block_list(getattr(l, "blocks", None)) for l in model.layers):
        stages = [list(l.blocks) for l in model.layers]  # Swin
    elif _is_block_list(getattr(model, "stages", None)) and all(_is_block_list(getattr(l, "blocks", None)) for l in model.stages):
        stages = [list(l.blocks) for l in model.stages]  # PVT v2
    elif _is_block_list(getattr(model, "block1", None)):
        stages = [list(getattr(model, f"block{i}")) for i in range(1, 10) if _is_block_list(getattr(model, f"block{i}", None))]
    else:
        raise UserError(f"attention reuse needs a model with its encoders in '.blocks' (or Swin / PVT / Twins "
                        f"stages); {type(model).__name__} has none")
    n = 0
    for stage in stages:
        for block in stage:
            n += 1
            attn = getattr(block, "attn", None)
            if attn is None or not isinstance(getattr(attn, "proj", None), nn.Linear):
                raise UserError(f"encoder {n} of {type(model).__name__} has no 'attn.proj' linear layer, so its "
                                f"attention output cannot be reused")
    return stages


def encoder_blocks(model: nn.Module) -> nn.ModuleList:
    """The encoder list of an isotropic model (``model.blocks``), checked for the reuse layout."""
    stages = stage_blocks(model)
    if len(stages) != 1:
        raise UserError(f"{type(model).__name__} has {len(stages)} stages, not one list of encoders")
    return model.blocks


def stage_sources(reuse: list[int], stage_sizes: list[int]) -> dict[int, int]:
    """Reusing block -> source block (1-based over the model), source in the same stage.

    The first block of every stage cannot reuse (its previous block has another grid and width).
    """
    n = sum(stage_sizes)
    firsts = [1 + sum(stage_sizes[:i]) for i in range(len(stage_sizes))]
    bad = sorted(set(reuse) & set(firsts))
    if bad:
        raise UserError(f"block {bad[0]} is the first block of its stage, so it has no earlier attention in the "
                        f"stage to reuse (stages begin at blocks {', '.join(map(str, firsts))})")
    out: dict[int, int] = {}
    for first, size in zip(firsts, stage_sizes):
        local = [e - first + 1 for e in reuse if first <= e < first + size]
        out.update({e + first - 1: s + first - 1 for e, s in source_encoders(local, size).items()})
    source_encoders(list(reuse), n)  # range and duplicate checks over the whole model
    return out


class _NoWindowAttnMixin:
    """A reusing Swin block: ``_attn`` is TB -> proj of the source's tokens, no shift or windows."""

    def _attn(self, x):
        return self.attn(x)


_NO_WINDOW_CLASSES: dict[type, type] = {}


def _without_windows(block: nn.Module) -> None:
    cls = type(block)
    if cls not in _NO_WINDOW_CLASSES:
        _NO_WINDOW_CLASSES[cls] = type(f"Reusing{cls.__name__}", (_NoWindowAttnMixin, cls), {})
    block.__class__ = _NO_WINDOW_CLASSES[cls]


def _is_swin_block(block: nn.Module) -> bool:
    return hasattr(block, "_attn") and hasattr(block, "window_size") and hasattr(block, "shift_size")


def _init_tb(tb: TransformationBlock, generator: torch.Generator) -> None:
    """timm's ViT init for a new linear (truncated normal, std 0.02; zero bias)."""
    if tb.fc.weight.device.type == "meta":
        return
    with torch.no_grad():
        nn.init.trunc_normal_(tb.fc.weight, std=0.02, generator=generator)
        tb.fc.bias.zero_()


def apply_attention_reuse(model: nn.Module, reuse: list[int], seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose encoders ``reuse`` (1-based) reuse attention through TBs.

    The input model is not modified (it stays usable as the teacher). TB weights
    are drawn from a generator seeded with ``seed``.
    """
    model = copy.deepcopy(model)
    stages = stage_blocks(model)
    blocks = [b for st in stages for b in st]
    sources = stage_sources(list(reuse), [len(st) for st in stages])
    model.reuse_encoders = sorted(sources)
    if not sources:
        return model
    generator = torch.Generator().manual_seed(seed)
    taps: dict[int, AttentionTap] = {}
    last_reader = {src: max(e for e, s in sources.items() if s == src) for src in set(sources.values())}
    for src in sorted(last_reader):
        sb = blocks[src - 1]
        windows = (tuple(sb.window_size), tuple(sb.shift_size)) if _is_swin_block(sb) else None
        taps[src] = AttentionTap(src, windows)
        sb.attn.proj.register_forward_pre_hook(_StoreProjectionInput(taps[src]))
    for enc, src in sorted(sources.items()):
        old = blocks[enc - 1].attn
        proj = old.proj
        tb = TransformationBlock(proj.in_features, device=proj.weight.device, dtype=proj.weight.dtype)
        _init_tb(tb, generator)
        drop = getattr(getattr(old, "proj_drop", None), "p", 0.0)
        blocks[enc - 1].attn = ReusedAttention(tb, proj, taps[src], proj_drop=drop, last_reader=last_reader[src] == enc)
        if _is_swin_block(blocks[enc - 1]):
            _without_windows(blocks[enc - 1])
    return model

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
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from simulator.errors import UserError
from workloads.reuse.patterns import source_encoders


class AttentionTap:
    """Holds the latest attention output (pre-projection) of one source encoder."""

    def __init__(self, source: int):
        self.source = source  # 1-based encoder index
        self.value: torch.Tensor | None = None

    def read(self) -> torch.Tensor:
        if self.value is None:
            raise RuntimeError(f"attention of encoder {self.source} was not computed before it was reused")
        return self.value


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
        source = self.tap.read()
        if self.last_reader:
            self.tap.value = None
        out = self.proj(self.tb(source))
        return F.dropout(out, self.proj_drop, self.training) if self.proj_drop else out

    def extra_repr(self) -> str:
        return f"reuses encoder {self.tap.source}"


def encoder_blocks(model: nn.Module) -> nn.ModuleList:
    """The encoder list of an isotropic model (``model.blocks``), checked for the reuse layout."""
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, (nn.ModuleList, nn.Sequential)) or len(blocks) == 0:
        raise UserError(f"attention reuse needs an isotropic model with its encoders in '.blocks'; "
                        f"{type(model).__name__} has none")
    for i, block in enumerate(blocks):
        attn = getattr(block, "attn", None)
        if attn is None or not isinstance(getattr(attn, "proj", None), nn.Linear):
            raise UserError(f"encoder {i + 1} of {type(model).__name__} has no 'attn.proj' linear layer, so its "
                            f"attention output cannot be reused")
    return blocks


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
    blocks = encoder_blocks(model)
    sources = source_encoders(list(reuse), len(blocks))
    model.reuse_encoders = sorted(sources)
    if not sources:
        return model
    generator = torch.Generator().manual_seed(seed)
    taps: dict[int, AttentionTap] = {}
    last_reader = {src: max(e for e, s in sources.items() if s == src) for src in set(sources.values())}
    for src in sorted(last_reader):
        taps[src] = AttentionTap(src)
        blocks[src - 1].attn.proj.register_forward_pre_hook(_StoreProjectionInput(taps[src]))
    for enc, src in sorted(sources.items()):
        old = blocks[enc - 1].attn
        proj = old.proj
        tb = TransformationBlock(proj.in_features, device=proj.weight.device, dtype=proj.weight.dtype)
        _init_tb(tb, generator)
        drop = getattr(getattr(old, "proj_drop", None), "p", 0.0)
        blocks[enc - 1].attn = ReusedAttention(tb, proj, taps[src], proj_drop=drop, last_reader=last_reader[src] == enc)
    return model

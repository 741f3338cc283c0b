"""The WorkloadGraph: what a traced model hands to the scheduler (file contract).

This module is torch-free on purpose: the scheduler imports it to read
``workload.json`` without pulling torch in.

What is modelled
----------------
A model is a sequence of *stages*; a stage is a sequence of identical-shaped
transformer *blocks*; a block runs its attention on ``branches`` independent
local regions (computational branches, Allspark Section III-A), each of
``tokens_per_branch`` tokens. Every operator the forward pass issued is kept as
an :class:`Op` with its real shapes and MACs, attached to the block (or to the
model's ``pre_ops``/``post_ops`` for the stem and head) that issued it.

Ops are recorded for the whole block (all branches together), exactly as the
torch module computed them; ``per_branch`` says whether the op is replicated
identically over the branches (attention matmuls and softmax of a windowed
block) so a consumer can divide by ``branches``.

What is abstracted
------------------
Data values, dtypes and memory layout are not recorded; view/permute/reshape
ops are recorded only when they move data between branches (``reshuffle``,
e.g. Swin's cyclic shift or window partition), never as compute.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from contracts.base import WORKLOAD_SCHEMA_VERSION, Frozen, validate_as
from contracts.errors import UserError

OpKind = Literal[
    "linear",  # nn.Linear (weights): classified by module, see Op.role
    "conv",  # nn.Conv2d (patch embedding stems, PVT spatial reduction, LV-ViT stem)
    "matmul",  # parameter-free activation x activation products (QK^T, S.V)
    "softmax",
    "layernorm",
    "batchnorm",
    "gelu",
    "act",  # other elementwise activations (ReLU, ...)
    "add",  # residual adds
    "mul",  # elementwise scaling
    "pool",
    "reshuffle",  # data movement between branches (shift, window partition/reverse, shuffle)
    "patch_merge",  # Swin/PVT down-sampling concatenation (the linear that follows is a 'linear')
    "embedding",  # token embedding lookups (BERT)
    "other",
]

Interaction = Literal[
    "none",  # global attention (ViT, DeiT, BERT): one branch per block
    "shifted_window",  # Swin: odd blocks use shifted windows
    "global_subsample",  # Twins-SVT GSA blocks, PVT spatial-reduction attention
    "shuffle",  # Shuffle Transformer spatial shuffle
    "focal",  # Focal Transformer coarse-grained surrounding tokens
    "cross_shaped",  # CSWin horizontal + vertical stripes
]


# Bounds far above any traced model (Swin-B at 960 px: 57,600 tokens, C = 1024,
# 0.5 TMAC) that keep a hand-edited file from sending the scheduler into
# astronomically large loops or past CP-SAT's 64-bit integers (issue 12).
MAX_TOKENS = 1 << 24
MAX_WIDTH = 1 << 20
MAX_DIM = 1 << 31  # one tensor dimension
MAX_MACS = 1 << 52


class Op(Frozen):
    """One operator issued by the forward pass, with its real shapes."""

    name: str = Field(description="Dotted path of the nn.Module that issued the op (unit: none).")
    kind: OpKind = Field(description="Operator class (unit: none).")
    role: str = Field(
        description=(
            "What the op does in the block, classified by module: qkv, q, k, v, kv, attn_qk, attn_av, "
            "proj, fc1, fc2, sr (spatial reduction), patch_embed, patch_merge, head, tb_norm, tb_fc, tb_gelu "
            "(TReX transformation block), attn_scale, attn_bias, attn_softmax, residual, cyclic_shift, pad, "
            "window_partition, window_reverse, pos_conv, norm1, norm2, ... (unit: none)."
        )
    )
    input_shapes: list[list[int]] = Field(description="Shapes of the tensor inputs (unit: elements per dim).")
    output_shape: list[int] = Field(description="Shape of the output (unit: elements per dim).")
    macs: int = Field(ge=0, le=MAX_MACS, description="Multiply-accumulates performed (unit: MAC).")
    elements: int = Field(ge=0, le=MAX_MACS, description="Output elements, the work of an elementwise op (unit: elements).")
    params: int = Field(default=0, ge=0, le=MAX_MACS, description="Parameters owned by the issuing module (unit: count).")
    per_branch: bool = Field(
        default=False,
        description="True when the op is replicated identically over the block's branches (unit: none).",
    )

    @field_validator("input_shapes", "output_shape")
    @classmethod
    def _dims(cls, v):
        for d in (x for shape in v for x in shape) if v and isinstance(v[0], list) else v:
            if not 0 <= d <= MAX_DIM:
                raise ValueError(f"tensor dimension {d} is outside 0..{MAX_DIM}")
        return v


class Block(Frozen):
    """One transformer block (encoder): the unit the Allspark scheduler partitions."""

    index: int = Field(ge=0, description="Block index within the whole model (unit: none).")
    name: str = Field(description="Dotted module path of the block (unit: none).")
    stage: int = Field(ge=1, description="Stage the block belongs to, 1-based as in Allspark (unit: none).")
    dim: int = Field(ge=1, le=MAX_WIDTH, description="Embedding dimension C_s (unit: channels).")
    heads: int = Field(ge=1, le=MAX_WIDTH, description="Attention heads h (unit: count).")
    head_dim: int = Field(ge=1, le=MAX_WIDTH, description="Head dimension d = C_s / h (unit: channels).")
    tokens: int = Field(ge=1, le=MAX_TOKENS, description="Tokens entering the block, all branches together (unit: tokens).")
    tokens_per_branch: int = Field(ge=1, le=MAX_TOKENS, description="Tokens N in one computational branch (unit: tokens).")
    kv_tokens_per_branch: int = Field(
        ge=1, le=MAX_TOKENS, description="Key/value tokens per branch (differs from N under spatial reduction) (unit: tokens)."
    )
    branches: int = Field(ge=1, le=MAX_TOKENS, description="Computational branches (local regions) per block (unit: count).")
    window: list[int] | None = Field(default=None, description="Local region size [R_h, R_w] (unit: tokens).")
    mlp_hidden: int = Field(ge=0, le=MAX_WIDTH, description="Hidden width of the FFN (unit: channels).")
    interaction: Interaction = Field(description="Local-global interaction type of this block (unit: none).")
    attention_reused: bool = Field(
        default=False, description="True when TReX removed this block's attention (unit: none)."
    )
    params: int = Field(ge=0, le=MAX_MACS, description="Parameters of the block (unit: count).")
    macs: int = Field(ge=0, le=MAX_MACS, description="MACs of the block, sum of its ops (unit: MAC).")
    ops: list[Op] = Field(description="Operators of the block in issue order (unit: none).")

    @model_validator(mode="after")
    def _branches_fit(self):
        if self.branches > self.tokens or self.tokens_per_branch > self.tokens:
            raise ValueError(f"block {self.index} has {self.branches} branches of {self.tokens_per_branch} tokens "
                             f"but only {self.tokens} tokens")
        return self


class Stage(Frozen):
    index: int = Field(ge=1, description="Stage index, 1-based (unit: none).")
    resolution: list[Annotated[int, Field(ge=0, le=MAX_TOKENS)]] = Field(description="Token grid [H, W] of the stage (unit: tokens); [T, 1] for sequences.")
    dim: int = Field(ge=1, le=MAX_WIDTH, description="Embedding dimension C_s of the stage (unit: channels).")
    blocks: list[Block] = Field(description="Blocks of the stage in order (unit: none).")


class Source(Frozen):
    definition: str = Field(description="Where the torch definition comes from, e.g. 'timm:swin_base_patch4_window7_224' or 'vitsim:cswin' (unit: none).")
    torch_version: str = Field(description="torch version that produced the trace (unit: none).")
    timm_version: str | None = Field(default=None, description="timm version, when timm built the model (unit: none).")
    reuse_pattern: list[int] | None = Field(
        default=None, description="1-based encoders whose attention is reused (TReX), if any (unit: none)."
    )


class WorkloadGraph(Frozen):
    schema_version: int = Field(default=WORKLOAD_SCHEMA_VERSION, description="Version of this file format (unit: none).")
    model: str = Field(description="Registered model name, e.g. 'swin-b' (unit: none).")
    img_size: int | None = Field(description="Input image side (unit: pixels); None for sequence models.")
    seq_len: int | None = Field(default=None, description="Input sequence length for NLP models (unit: tokens).")
    source: Source
    pre_ops: list[Op] = Field(description="Stem / patch embedding ops before the first block (unit: none).")
    stages: list[Stage] = Field(description="Stages in order (unit: none).")
    post_ops: list[Op] = Field(description="Final norm, pooling and head (unit: none).")
    between_ops: list[Op] = Field(
        default_factory=list,
        description="Ops between stages (patch merging, PVT/Twins stage embeddings, position convs) (unit: none).",
    )
    total_macs: int = Field(ge=0, le=MAX_MACS, description="MACs of every op in the file (unit: MAC).")
    total_params: int = Field(ge=0, le=MAX_MACS, description="Parameters of the model (unit: count).")

    def blocks(self) -> list[Block]:
        return [b for s in self.stages for b in s.blocks]

    def all_ops(self) -> list[Op]:
        ops = list(self.pre_ops)
        for s in self.stages:
            for b in s.blocks:
                ops.extend(b.ops)
        ops.extend(self.between_ops)
        ops.extend(self.post_ops)
        return ops

    def digest(self) -> str:
        """sha256 of the canonical JSON: identifies the workload in a Program's provenance."""
        return hashlib.sha256(canonical_json(self).encode()).hexdigest()


def canonical_json(model: BaseModel) -> str:
    """Deterministic JSON text (sorted keys, no whitespace variance)."""
    return json.dumps(model.model_dump(mode="json"), sort_keys=True, indent=1)


def load_workload(path: str) -> WorkloadGraph:
    """Read and validate a workload.json; raises vitsim errors with one clear sentence."""
    from contracts.atomic import read_json

    data = read_json(path, "workload file")
    if not isinstance(data, dict):
        raise UserError(f"workload file {path!r} must hold a JSON object")
    if data.get("schema_version") != WORKLOAD_SCHEMA_VERSION:
        raise UserError(
            f"workload file {path!r} has schema_version {data.get('schema_version')!r}, expected {WORKLOAD_SCHEMA_VERSION}"
        )
    return validate_as(WorkloadGraph, data, f"workload file {path!r}")

"""Registry of models: ``@register_workload("swin-b", ...)``.

Each entry names a builder that returns a real ``nn.Module`` for a given input
size (timm with ``pretrained=False`` where timm has the model, the project's
own faithful modules in ``workloads/zoo/`` otherwise). The registry itself is
torch-free; importing ``workloads.zoo`` registers everything.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable, Literal

from contracts.errors import UserError


@dataclass(frozen=True)
class BlockInfo:
    """What the tracer cannot read off the op shapes: a block's place in the model.

    Returned by ``ModelSpec.structure(model, img_size, seq_len)`` for every
    transformer block, in execution order. Ops issued by modules under
    ``module`` are grouped into this block.
    """

    module: str  # dotted path of the block module, e.g. "layers.2.blocks.5"
    stage: int  # 1-based
    dim: int  # C_s
    heads: int
    tokens: int  # tokens entering the block, all branches together (padded grid)
    tokens_per_branch: int  # N
    kv_tokens_per_branch: int  # keys/values per branch (spatial reduction, focal, ...)
    branches: int
    window: tuple[int, int] | None
    mlp_hidden: int
    interaction: str  # one of contracts.workload.Interaction
    resolution: tuple[int, int]  # token grid of the stage (padded), [T, 1] for sequences


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: Callable[..., object]  # builder(img_size=..., seq_len=...) -> nn.Module
    family: str  # vit, deit, swin, pvt-v2, pvt, twins-pcpvt, twins-svt, cswin, focal, lv-vit, bert, vit-tiny
    structure: Callable[..., list[BlockInfo]] | None = None  # structure(model, img_size, seq_len) -> blocks
    kind: Literal["vision", "nlp"] = "vision"
    isotropic: bool = False  # all encoders identical: TReX attention reuse applies
    default_img: int | None = 224
    default_seq_len: int | None = None
    in_chans: int = 3
    num_classes: int = 1000
    size_multiple: int = 32  # input side must be a multiple of this
    min_img: int = 32
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Additive fields (issue 2 tracer):
    size_reason: str = "patch size times total down-sampling"  # why size_multiple, for the error sentence
    max_seq_len: int | None = None  # longest sequence an NLP model's position table admits
    definition: str = ""  # Source.definition, e.g. 'timm:swin_base_patch4_window7_224'; default 'vitsim:<family>'
    # example_input(img_size, seq_len) -> tensor (or tuple of tensors) on the meta device. Default: an image
    # batch of one (1, in_chans, img, img) for vision models, int64 token ids (1, seq_len) for NLP models.
    example_input: Callable[..., object] | None = None

    def check_size(self, img_size: int | None) -> None:
        """Raise UserError saying why the model cannot take this input size."""
        if self.kind == "nlp" or img_size is None:
            return
        if img_size < self.min_img:
            raise UserError(f"model '{self.name}' needs an input of at least {self.min_img} pixels, got {img_size}")
        if img_size % self.size_multiple:
            raise UserError(
                f"model '{self.name}' cannot take {img_size}x{img_size}: the side must be a multiple of "
                f"{self.size_multiple} ({self.size_reason})"
            )

    def check_seq_len(self, seq_len: int | None) -> None:
        """Raise UserError saying why an NLP model cannot take this sequence length."""
        if self.kind != "nlp" or seq_len is None:
            return
        if seq_len < 1:
            raise UserError(f"model '{self.name}' needs a sequence length of at least 1 token, got {seq_len}")
        if self.max_seq_len is not None and seq_len > self.max_seq_len:
            raise UserError(
                f"model '{self.name}' cannot take {seq_len} tokens: its position table holds at most "
                f"{self.max_seq_len}"
            )


_REGISTRY: dict[str, ModelSpec] = {}


def register_workload(name: str, builder: Callable[..., object] | None = None, **spec_kwargs):
    """Register a model under ``name`` with ModelSpec fields.

    Two spellings: ``register_workload("x", builder=fn, family=..., structure=...)`` registers at
    once; ``@register_workload("x", family=..., structure=...)`` decorates the builder.
    """

    def deco(fn):
        if name in _REGISTRY:
            raise ValueError(f"model '{name}' registered twice")
        _REGISTRY[name] = ModelSpec(name=name, builder=fn, **spec_kwargs)
        return fn

    if builder is not None:
        return deco(builder)
    return deco


def _ensure_loaded() -> None:
    import workloads.zoo  # noqa: F401  (registers every model)


def names() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def get(name: str) -> ModelSpec:
    _ensure_loaded()
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(name, sorted(_REGISTRY), n=3, cutoff=0.3)
    hint = f"; closest registered names: {', '.join(close)}" if close else ""
    raise UserError(f"unknown model '{name}'{hint} (see 'python -m workloads list')")

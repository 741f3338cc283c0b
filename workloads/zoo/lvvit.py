"""LV-ViT-S ("All Tokens Matter: Token Labeling for Training Better Vision Transformers",
Jiang et al., NeurIPS 2021), written from the paper and its reference implementation
(github.com/zihangJiang/TokenLabeling, ``tlt/models/lvvit.py``, model ``lvvit_s``).

What is modelled
----------------
* The 4-layer convolutional patch embedding (``PatchEmbed4_2``): conv 7x7/2 (3->64) + BN + ReLU,
  two conv 3x3/1 (64->64) + BN + ReLU, then the patch projection conv 8x8/8 (64->384): one token
  per 16x16 pixels.
* A class token and a learned absolute position embedding over the token grid of the requested
  input size (the reference builds it for 224 and would interpolate; we size it for the input).
* 16 identical pre-norm encoders (d=384, 6 heads of 64, MLP ratio 3, qkv without bias, as the
  reference's ``qkv_bias=False`` default), with the residual scaling ``skip_lam=2`` of LV-ViT-S:
  ``x = x + attn(norm1(x)) / 2``; ``x = x + mlp(norm2(x)) / 2``.
* The final LayerNorm, the class head and the token-labelling auxiliary head applied to every
  patch token; the inference output is the reference's ``x_cls + 0.5 * max_tokens(x_aux)``.

What is abstracted
------------------
MixToken augmentation and the training-time dense outputs (identity at inference), dropout and
stochastic depth. The model is isotropic: ``model.blocks`` is a ``ModuleList`` of encoders
with ``.norm1``, ``.attn`` (``.qkv``, ``.proj``), ``.norm2``, ``.mlp`` (``.fc1``, ``.fc2``); the
block calls ``self.attn(self.norm1(x))`` so TReX can swap ``block.attn`` for a reuse module.
"""

from __future__ import annotations

import torch
from torch import nn

from workloads.registry import BlockInfo, register_workload
from workloads.zoo._layers import Mlp, attention_core, merge_heads

PATCH = 16  # pixels per token side: stride-2 stem conv times the 8x8 projection


class Attention(nn.Module):
    """Global multi-head self-attention with a fused ``qkv`` linear and an output ``proj``."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool = False):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return self.proj(merge_heads(attention_core(q, k, v, self.scale)))


class Block(nn.Module):
    """Pre-norm encoder with LV-ViT's residual down-scaling ``skip_lam``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, skip_lam: float):
        super().__init__()
        self.skip_lam = skip_lam
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x)) / self.skip_lam
        return x + self.mlp(self.norm2(x)) / self.skip_lam


class ConvStemPatchEmbed(nn.Module):
    """LV-ViT's ``PatchEmbed4_2``: three conv+BN+ReLU layers at stride 2, then an 8x8 projection."""

    def __init__(self, in_chans: int, embed_dim: int, stem_chans: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, stem_chans, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_chans)
        self.conv2 = nn.Conv2d(stem_chans, stem_chans, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(stem_chans)
        self.conv3 = nn.Conv2d(stem_chans, stem_chans, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(stem_chans)
        self.relu = nn.ReLU()
        self.proj = nn.Conv2d(stem_chans, embed_dim, kernel_size=PATCH // 2, stride=PATCH // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.relu(self.bn3(self.conv3(x)))
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, tokens, C)


class LVViT(nn.Module):
    """LV-ViT with the token-labelling auxiliary head; input (B, 3, img, img), img % 16 == 0."""

    def __init__(self, img_size: int = 224, in_chans: int = 3, num_classes: int = 1000, embed_dim: int = 384,
                 depth: int = 16, heads: int = 6, mlp_ratio: float = 3.0, skip_lam: float = 2.0):
        super().__init__()
        self.img_size = img_size
        self.grid = img_size // PATCH
        self.embed_dim = embed_dim
        self.heads = heads
        self.mlp_hidden = int(embed_dim * mlp_ratio)
        self.patch_embed = ConvStemPatchEmbed(in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid * self.grid + 1, embed_dim))
        self.blocks = nn.ModuleList(Block(embed_dim, heads, mlp_ratio, skip_lam) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)
        self.aux_head = nn.Linear(embed_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        x_cls = self.head(x[:, 0])
        x_aux = self.aux_head(x[:, 1:])  # token labelling: one prediction per patch token
        return x_cls + 0.5 * x_aux.max(dim=1)[0]


def lvvit_structure(model: LVViT, img_size: int, seq_len: int | None = None) -> list[BlockInfo]:
    """One branch of all tokens (patch grid plus the class token) per encoder; global attention."""
    tokens = model.grid * model.grid + 1
    return [
        BlockInfo(module=f"blocks.{i}", stage=1, dim=model.embed_dim, heads=model.heads, tokens=tokens,
                  tokens_per_branch=tokens, kv_tokens_per_branch=tokens, branches=1, window=None,
                  mlp_hidden=model.mlp_hidden, interaction="none", resolution=(model.grid, model.grid))
        for i in range(len(model.blocks))
    ]


@register_workload(
    "lv-vit-s", family="lv-vit", kind="vision", isotropic=True, default_img=224, size_multiple=PATCH,
    structure=lvvit_structure, tags=("trex",),
    description="LV-ViT-S (Jiang et al. 2021): 16 encoders, d=384, 6 heads, MLP ratio 3, 4-conv stem, "
                "token-labelling head; vitsim's own module",
)
def lv_vit_s(img_size: int = 224, seq_len: int | None = None) -> LVViT:
    return LVViT(img_size=img_size)

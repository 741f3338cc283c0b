"""PVT v1 small ("Pyramid Vision Transformer", Wang et al., ICCV 2021), written from the paper
and its reference implementation (github.com/whai362/PVT, ``classification/pvt.py``, ``pvt_small``).

What is modelled
----------------
* Four stages, each opened by a non-overlapping patch-embedding conv (4x4/4 for stage 1, 2x2/2
  after) followed by LayerNorm, plus a learned position embedding. As in the reference, the
  position embeddings are parameters of the 224x224 training grid and are bilinearly
  interpolated to the stage grid of any other input size (so the parameter count does not
  depend on the input, and the interpolation appears in the trace).
* Spatial-reduction attention (SRA): queries from every token (``q``), keys and values (``kv``)
  from a map reduced by a ``sr`` conv (kernel = stride = R_i) and a LayerNorm; R = [8, 4, 2, 1].
  Stage 4 (R = 1) attends over all its tokens, including the class token the reference
  prepends at stage 4.
* Pre-norm blocks: depths [3, 4, 6, 3], dims [64, 128, 320, 512], heads [1, 2, 5, 8], MLP ratios
  [8, 8, 4, 4], qkv bias on, LayerNorm eps 1e-6 in the blocks (reference ``pvt_small``).
* Final LayerNorm on the class token and the linear ``head``.

Module paths follow the reference: ``patch_embed{i}``, ``pos_embed{i}``, ``block{i}.{j}`` with
``.norm1``, ``.attn`` (``.q``, ``.kv``, ``.sr``, ``.norm``, ``.proj``), ``.norm2``, ``.mlp``.

What is abstracted
------------------
Dropout and stochastic depth (identity at inference). Inputs must be multiples of 32 pixels so
every spatial-reduction conv tiles its stage's grid exactly (stage 1 grid img/4 reduced by 8).
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from workloads.registry import BlockInfo, register_workload
from workloads.zoo._layers import Mlp, PatchEmbed, attention_core, merge_heads, split_heads

BlockNorm = partial(nn.LayerNorm, eps=1e-6)


class SpatialReductionAttention(nn.Module):
    """PVT's SRA: full-resolution queries, keys/values from an R x R-reduced map."""

    def __init__(self, dim: int, heads: int, sr_ratio: int, qkv_bias: bool = True):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.sr_ratio = sr_ratio
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        b, n, c = x.shape
        q = split_heads(self.q(x), self.heads)
        if self.sr_ratio > 1:
            x = self.sr(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
            x = self.norm(x)
        k, v = self.kv(x).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(merge_heads(attention_core(q, k, v, self.scale)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, sr_ratio: int):
        super().__init__()
        self.norm1 = BlockNorm(dim)
        self.attn = SpatialReductionAttention(dim, heads, sr_ratio)
        self.norm2 = BlockNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), h, w)
        return x + self.mlp(self.norm2(x))


class PyramidVisionTransformer(nn.Module):
    """PVT v1; input (B, 3, img, img) with img % 32 == 0."""

    def __init__(self, img_size: int = 224, in_chans: int = 3, num_classes: int = 1000,
                 embed_dims=(64, 128, 320, 512), heads=(1, 2, 5, 8), mlp_ratios=(8, 8, 4, 4),
                 depths=(3, 4, 6, 3), sr_ratios=(8, 4, 2, 1), patch_size: int = 4, train_img_size: int = 224):
        super().__init__()
        self.embed_dims, self.heads, self.depths, self.sr_ratios = embed_dims, heads, depths, sr_ratios
        self.mlp_hidden = [int(d * r) for d, r in zip(embed_dims, mlp_ratios)]
        self.num_stages = len(depths)
        self.grids, self.train_grids = [], []
        grid, train_grid = img_size, train_img_size
        for i in range(self.num_stages):
            patch = patch_size if i == 0 else 2
            grid, train_grid = grid // patch, train_grid // patch
            self.grids.append(grid)
            self.train_grids.append(train_grid)
            tokens = train_grid * train_grid + (1 if i == self.num_stages - 1 else 0)  # class token joins at stage 4
            setattr(self, f"patch_embed{i + 1}", PatchEmbed(patch, in_chans if i == 0 else embed_dims[i - 1],
                                                            embed_dims[i]))
            setattr(self, f"pos_embed{i + 1}", nn.Parameter(torch.zeros(1, tokens, embed_dims[i])))
            setattr(self, f"block{i + 1}", nn.ModuleList(
                Block(embed_dims[i], heads[i], mlp_ratios[i], sr_ratios[i]) for _ in range(depths[i])))
        self.norm = BlockNorm(embed_dims[-1])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims[-1]))
        self.head = nn.Linear(embed_dims[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        for i in range(self.num_stages):
            x, h, w = getattr(self, f"patch_embed{i + 1}")(x)
            pos_embed = getattr(self, f"pos_embed{i + 1}")
            if i == self.num_stages - 1:
                x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
                pos_embed = torch.cat((pos_embed[:, :1], self._resize_pos_embed(pos_embed[:, 1:], i, h, w)), dim=1)
            else:
                pos_embed = self._resize_pos_embed(pos_embed, i, h, w)
            x = x + pos_embed
            for block in getattr(self, f"block{i + 1}"):
                x = block(x, h, w)
            if i != self.num_stages - 1:
                x = x.reshape(b, h, w, -1).permute(0, 3, 1, 2)
        return self.head(self.norm(x)[:, 0])

    def _resize_pos_embed(self, pos_embed: torch.Tensor, stage: int, h: int, w: int) -> torch.Tensor:
        """The reference's ``_get_pos_embed``: bilinear resize from the training grid when it differs."""
        train = self.train_grids[stage]
        if (h, w) == (train, train):
            return pos_embed
        grid = pos_embed.reshape(1, train, train, -1).permute(0, 3, 1, 2)
        return F.interpolate(grid, size=(h, w), mode="bilinear").reshape(1, -1, h * w).permute(0, 2, 1)


def pvt_structure(model: PyramidVisionTransformer, img_size: int, seq_len: int | None = None) -> list[BlockInfo]:
    """One branch per block; keys/values come from the (grid / R)^2 reduced map (all tokens at R = 1).

    Blocks with R > 1 are 'global_subsample' (spatial-reduction attention); stage 4 (R = 1) is
    plain global attention ('none') over its grid plus the class token.
    """
    infos = []
    for i in range(model.num_stages):
        grid, sr = model.grids[i], model.sr_ratios[i]
        last = i == model.num_stages - 1
        tokens = grid * grid + (1 if last else 0)
        kv = (grid // sr) ** 2 if sr > 1 else tokens
        for j in range(model.depths[i]):
            infos.append(BlockInfo(
                module=f"block{i + 1}.{j}", stage=i + 1, dim=model.embed_dims[i], heads=model.heads[i],
                tokens=tokens, tokens_per_branch=tokens, kv_tokens_per_branch=kv, branches=1, window=None,
                mlp_hidden=model.mlp_hidden[i], interaction="global_subsample" if sr > 1 else "none",
                resolution=(grid, grid)))
    return infos


@register_workload(
    "pvt-s", family="pvt", kind="vision", isotropic=False, default_img=224, size_multiple=32,
    structure=pvt_structure,
    description="PVT v1 small (Wang et al. 2021): depths [3,4,6,3], dims [64,128,320,512], spatial-reduction "
                "attention R=[8,4,2,1]; vitsim's own module",
)
def pvt_s(img_size: int = 224, seq_len: int | None = None) -> PyramidVisionTransformer:
    return PyramidVisionTransformer(img_size=img_size)

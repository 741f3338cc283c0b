"""CSWin Transformer ("CSWin Transformer: A General Vision Transformer Backbone with Cross-Shaped
Windows", Dong et al., CVPR 2022), written from the paper and its reference implementation
(github.com/microsoft/CSWin-Transformer: ``models/cswin.py`` for the classification models,
``segmentation/backbone/cswin_transformer.py`` for inputs whose grid the stripes do not tile).

What is modelled
----------------
* Convolutional stem: conv 7x7 stride 4 padding 2 (3 -> C) + LayerNorm (``patch_embed``); between
  stages a conv 3x3 stride 2 padding 1 (C -> 2C) + LayerNorm (``merge1``..``merge3``).
* Cross-shaped window self-attention: the block's ``qkv`` output is split channel-wise in two
  halves; the first half (heads/2 heads) attends within vertical stripes of width ``sw``
  (full height), the second half within horizontal stripes of height ``sw`` (full width), both
  in parallel; results are concatenated and projected (``proj``). Split sizes sw = [1, 2, 7, 7].
  The last stage (and any stage whose grid is not larger than sw, the reference's
  ``reso == split_size`` rule) uses one full-attention branch with all heads instead.
* LePE, the locally-enhanced positional encoding: a depthwise 3x3 conv (``attns[i].lepe``; the
  reference calls it ``get_v``) applied to V inside each stripe and added to the attention output.
* Pre-norm blocks with MLP ratio 4, qkv bias on (the classification reference's default), the final
  LayerNorm, token average pooling and the linear ``head``.
* Variants (reference ``CSWin_64_12211_tiny_224``, ``CSWin_64_24322_small_224``,
  ``CSWin_96_24322_base_224``): C = 64/64/96, depths [1,2,21,1]/[2,4,32,2]/[2,4,32,2],
  heads [2,4,8,16]/[2,4,8,16]/[4,8,16,32].

Input sizes (decision): the stripe width stays sw = [1, 2, 7, 7] at every input size (the trained
model) and, when sw does not divide a stage's grid (e.g. stage 3 at 384, 640 and 960), the
stripe direction is zero-padded to a multiple of sw, centred, inside the attention only, and the
padding is cropped after the attention: exactly what the reference segmentation backbone does
for arbitrary input sizes. (The reference's 384 classification variants instead change sw to 12;
that is a different fine-tuned model and is not what Allspark evaluates across 224..960.) The
input side must be a multiple of 32 so the stem and the three stride-2 merges give integral grids.

What is abstracted
------------------
Dropout and stochastic depth (identity at inference).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workloads.registry import BlockInfo, register_workload
from workloads.zoo._layers import Mlp, attention_core, padded

SPLIT_SIZES = (1, 2, 7, 7)
FULL, VERTICAL, HORIZONTAL = -1, 0, 1  # the reference's ``idx`` values


def stripe_shape(orientation: int, split: int, h: int, w: int) -> tuple[int, int]:
    """Height and width of one attention region of the given orientation on an h x w grid."""
    if orientation == FULL:
        return h, w
    if orientation == VERTICAL:
        return h, split
    return split, w


class LePEAttention(nn.Module):
    """Self-attention inside stripes (or over the full map) with LePE on V; input is q, k, v stacked."""

    def __init__(self, dim: int, heads: int, split: int, orientation: int):
        super().__init__()
        self.heads = heads
        self.split = split
        self.orientation = orientation
        self.scale = (dim // heads) ** -0.5
        self.lepe = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, groups=dim)

    def forward(self, qkv: torch.Tensor, h: int, w: int) -> torch.Tensor:
        _, b, n, c = qkv.shape  # (3, B, H*W, C)
        hs, ws = stripe_shape(self.orientation, self.split, h, w)
        hp, wp = padded(h, hs), padded(w, ws)
        top, left = (hp - h) // 2, (wp - w) // 2  # centred padding, as the reference
        grid = qkv.transpose(-2, -1).reshape(3 * b, c, h, w)
        if (hp, wp) != (h, w):
            grid = F.pad(grid, (left, wp - w - left, top, hp - h - top))
        # image -> stripes: (3, B * regions, C, hs, ws); materialised like the reference's img2windows
        stripes = grid.reshape(3 * b, c, hp // hs, hs, wp // ws, ws).permute(0, 2, 4, 1, 3, 5).contiguous()
        stripes = stripes.reshape(3, -1, c, hs, ws)
        q, k, v = (self._heads_first(t) for t in stripes)
        lepe = self._heads_first(self.lepe(stripes[2]))
        x = attention_core(q, k, v, self.scale) + lepe  # (B * regions, heads, hs * ws, d)
        # stripes -> image (the reference's windows2img), then drop the padding
        x = x.transpose(1, 2).reshape(b, hp // hs, wp // ws, hs, ws, c).permute(0, 1, 3, 2, 4, 5).contiguous()
        x = x.reshape(b, hp, wp, c)[:, top:top + h, left:left + w, :]
        return x.reshape(b, h * w, c)

    def _heads_first(self, t: torch.Tensor) -> torch.Tensor:
        """(regions, C, hs, ws) -> (regions, heads, hs * ws, C // heads)."""
        r, c, hs, ws = t.shape
        return t.reshape(r, self.heads, c // self.heads, hs * ws).transpose(-2, -1)


class CSWinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, resolution: tuple[int, int], split: int, mlp_ratio: float,
                 full_attention: bool):
        super().__init__()
        self.resolution = resolution
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        if full_attention:
            self.attns = nn.ModuleList([LePEAttention(dim, heads, split, FULL)])
        else:
            self.attns = nn.ModuleList(
                LePEAttention(dim // 2, heads // 2, split, orientation) for orientation in (VERTICAL, HORIZONTAL))
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        h, w = self.resolution
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, c).permute(2, 0, 1, 3)
        if len(self.attns) == 2:
            out = torch.cat([self.attns[0](qkv[..., : c // 2], h, w), self.attns[1](qkv[..., c // 2:], h, w)], dim=2)
        else:
            out = self.attns[0](qkv, h, w)
        x = x + self.proj(out)
        return x + self.mlp(self.norm2(x))


class ConvEmbed(nn.Module):
    """Overlapping conv embedding + LayerNorm (the stem and the merge blocks)."""

    def __init__(self, in_chans: int, embed_dim: int, kernel: int, stride: int, padding: int):
        super().__init__()
        self.conv = nn.Conv2d(in_chans, embed_dim, kernel, stride, padding)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x).flatten(2).transpose(1, 2))


class ConvPatchMerging(ConvEmbed):
    """The reference's ``Merge_Block`` between stages: conv 3x3 stride 2 (C -> 2C) + LayerNorm."""


class CSWinTransformer(nn.Module):
    """CSWin; input (B, 3, img, img) with img % 32 == 0."""

    def __init__(self, img_size: int = 224, in_chans: int = 3, num_classes: int = 1000, embed_dim: int = 64,
                 depths=(1, 2, 21, 1), heads=(2, 4, 8, 16), split_sizes=SPLIT_SIZES, mlp_ratio: float = 4.0):
        super().__init__()
        self.depths, self.heads, self.split_sizes = depths, heads, split_sizes
        self.dims = [embed_dim * 2 ** i for i in range(len(depths))]
        self.mlp_hidden = [int(d * mlp_ratio) for d in self.dims]
        self.patch_embed = ConvEmbed(in_chans, embed_dim, kernel=7, stride=4, padding=2)
        grid = (img_size + 2 * 2 - 7) // 4 + 1
        self.grids, self.full_attention = [], []
        for i, depth in enumerate(depths):
            if i > 0:
                setattr(self, f"merge{i}", ConvPatchMerging(self.dims[i - 1], self.dims[i], kernel=3, stride=2, padding=1))
                grid = (grid + 2 - 3) // 2 + 1
            full = i == len(depths) - 1 or grid <= split_sizes[i]
            self.grids.append(grid)
            self.full_attention.append(full)
            setattr(self, f"stage{i + 1}", nn.ModuleList(
                CSWinBlock(self.dims[i], heads[i], (grid, grid), split_sizes[i], mlp_ratio, full)
                for _ in range(depth)))
        self.norm = nn.LayerNorm(self.dims[-1])
        self.head = nn.Linear(self.dims[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        for i in range(len(self.depths)):
            if i > 0:
                grid = self.grids[i - 1]
                x = getattr(self, f"merge{i}")(x.transpose(1, 2).reshape(x.shape[0], -1, grid, grid))
            for block in getattr(self, f"stage{i + 1}"):
                x = block(x)
        return self.head(self.norm(x).mean(dim=1))


def cswin_structure(model: CSWinTransformer, img_size: int, seq_len: int | None = None) -> list[BlockInfo]:
    """Per block: branches are the stripes of BOTH directions.

    Convention: a stripe block on a g x g grid with stripe width sw has ceil(g/sw) vertical and
    ceil(g/sw) horizontal stripes, each a branch of N = sw * g tokens (the stripe direction padded
    to a multiple of sw) attended by heads/2 heads over C/2 channels. Every token therefore sits
    in two branches (one per direction, each carrying half its channels), so branches x N =
    2 x sw * g * ceil(g/sw) >= 2 x tokens. ``heads`` is the block's total; ``window`` is the
    horizontal stripe (sw, g), the vertical stripes being its transpose. Full-attention blocks
    (last stage) have one branch of all g*g tokens with all heads, interaction 'none'.
    """
    infos = []
    for i, depth in enumerate(model.depths):
        g, sw = model.grids[i], model.split_sizes[i]
        full = model.full_attention[i]
        n = g * g if full else sw * g
        branches = 1 if full else 2 * (padded(g, sw) // sw)
        for j in range(depth):
            infos.append(BlockInfo(
                module=f"stage{i + 1}.{j}", stage=i + 1, dim=model.dims[i], heads=model.heads[i], tokens=g * g,
                tokens_per_branch=n, kv_tokens_per_branch=n, branches=branches,
                window=None if full else (sw, g), mlp_hidden=model.mlp_hidden[i],
                interaction="none" if full else "cross_shaped", resolution=(g, g)))
    return infos


_VARIANTS = {
    # name: (embed_dim, depths, heads), reference CSWin_{64_12211_tiny, 64_24322_small, 96_24322_base}_224
    "cswin-t": (64, (1, 2, 21, 1), (2, 4, 8, 16)),
    "cswin-s": (64, (2, 4, 32, 2), (2, 4, 8, 16)),
    "cswin-b": (96, (2, 4, 32, 2), (4, 8, 16, 32)),
}


def _register(name: str, embed_dim: int, depths: tuple[int, ...], heads: tuple[int, ...]) -> None:
    @register_workload(
        name, family="cswin", kind="vision", isotropic=False, default_img=224, size_multiple=32,
        structure=cswin_structure,
        description=f"CSWin (Dong et al. 2022) C={embed_dim}, depths {list(depths)}, heads {list(heads)}, "
                    f"cross-shaped stripes sw={list(SPLIT_SIZES)} with LePE; vitsim's own module",
    )
    def build(img_size: int = 224, seq_len: int | None = None) -> CSWinTransformer:
        return CSWinTransformer(img_size=img_size, embed_dim=embed_dim, depths=depths, heads=heads)


for _name, (_dim, _depths, _heads) in _VARIANTS.items():
    _register(_name, _dim, _depths, _heads)

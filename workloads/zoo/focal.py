"""Focal Transformer ("Focal Self-attention for Local-Global Interactions in Vision Transformers",
Yang et al., NeurIPS 2021; not FocalNet), written from the paper and its reference implementation
(github.com/microsoft/Focal-Transformer, ``classification/focal_transformer.py`` with the
``configs/focal_{tiny,small,base}_patch4_window7_224.yaml`` settings).

What is modelled
----------------
* Swin-like hierarchy: a 4x4/4 patch-embedding conv + LayerNorm, four stages of pre-norm blocks,
  and between stages a 2x2/2 conv + LayerNorm (the reference down-samples with its ``PatchEmbed``
  conv, ``layers.{i}.downsample.proj``, not Swin's linear ``reduction``), the final LayerNorm,
  token average pooling and the linear ``head``. MLP ratio 4, qkv bias on, no window shift
  (the reference's ``USE_SHIFT: False``).
* Focal self-attention with two focal levels in every stage:
  - level 0 (fine): the queries of each 7x7 window attend to the window's own 49 tokens plus the
    fine tokens of the surrounding region expanded by ``expand_size = 3`` on each side, gathered
    as in the reference from four cyclic rolls of K/V by (+-3, +-3) with the window's own tokens
    masked out (4*49 - 4*(7-3)^2 = 132 extra keys);
  - level 1 (coarse): every 7x7 window is pooled to one token by a learned linear over its 49
    positions (``pool_layers``, the reference's ``FOCAL_POOL: "fc"``), projected by the same
    ``qkv``, and each query window attends to the fw x fw pooled tokens around it (an unfold with
    zero padding; padded positions get the reference's -100 additive mask), fw = focal window
    = [7, 5, 3, 1] per stage (reference config ``FOCAL_WINDOWS``).
  Learned relative-position biases for all three key groups, as in the reference.
* A stage whose grid is not larger than the window uses one window of the whole grid and no
  fine-level expansion (the reference's ``min(input_resolution) <= window_size`` rule: stage 4
  at 224). Otherwise each block pads its map on the right and bottom to a multiple of 7 (as the
  reference and Swin do) and crops after the attention; the input side must be a multiple of 32.
* Variants: C = 96/96/128, depths [2,2,6,2]/[2,2,18,2]/[2,2,18,2], heads [3,6,12,24]/[3,6,12,24]/
  [4,8,16,32].

Ambiguity resolved by the reference: the coarse level can be read as pooled tokens over the whole
feature map; the reference implements it as the fw x fw pooled windows centred on each window
(fw = 7, 5, 3, 1, zero-padded and masked at the border), which at 224 covers most or all of each
stage's pooled map and at larger inputs a fixed neighbourhood. We follow the reference, so the
keys per window (49 + 132 + fw^2) do not grow with the input.

What is abstracted
------------------
Dropout, stochastic depth, layer scale (off in these configs), and focal levels above 2 (not used
by the registered models). Index tables are computed in Python at construction so the model can
be built and run on the ``meta`` device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workloads.registry import BlockInfo, register_workload
from workloads.zoo._layers import Mlp, PatchEmbed, attention_core, index_buffer, padded, value_buffer

WINDOW = 7
EXPAND = 3
FOCAL_WINDOWS = (7, 5, 3, 1)
MASKED = -100.0  # the reference's additive mask for pooled positions outside the map


def relative_position_index(q_size: int, k_size: int) -> list[list[int]]:
    """The reference's ``get_relative_position_index`` for square q and k windows, in Python."""
    span = q_size + k_size - 1
    q_coords = [(r, c) for r in range(q_size) for c in range(q_size)]
    k_coords = [(r, c) for r in range(k_size) for c in range(k_size)]
    return [[(qr - kr + k_size - 1) * span + (qc - kc + k_size - 1) for kr, kc in k_coords] for qr, qc in q_coords]


def rolled_neighbour_index(window: int, expand: int) -> list[int]:
    """Positions kept from the four rolled windows (tl, tr, bl, br): those outside the window itself."""
    keep = []
    for quadrant in range(4):
        top, left = quadrant < 2, quadrant % 2 == 0
        for r in range(window):
            for c in range(window):
                inside_rows = r < window - expand if top else r >= expand
                inside_cols = c < window - expand if left else c >= expand
                if not (inside_rows and inside_cols):
                    keep.append(quadrant * window * window + r * window + c)
    return keep


def pooled_neighbourhood_mask(n_h: int, n_w: int, kernel: int) -> list[list[float]]:
    """Per window, 0 for pooled neighbours inside the map and -100 for the unfold's zero padding."""
    half = kernel // 2
    return [[0.0 if 0 <= i + a - half < n_h and 0 <= j + b - half < n_w else MASKED
             for a in range(kernel) for b in range(kernel)]
            for i in range(n_h) for j in range(n_w)]


def window_tokens(x: torch.Tensor, window: int, heads: int) -> torch.Tensor:
    """(B, H, W, C) -> (B, windows, heads, window^2, C // heads)."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, -1, window * window, heads, c // heads).permute(0, 1, 3, 2, 4)


class FocalWindowAttention(nn.Module):
    """Window attention whose keys/values add fine surroundings and pooled coarse windows."""

    def __init__(self, dim: int, heads: int, window: int, expand: int, focal_window: int,
                 n_windows: tuple[int, int]):
        super().__init__()
        self.heads = heads
        self.window = window
        self.expand = expand
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)
        area = window * window
        # level 0, inside the window
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", index_buffer(relative_position_index(window, window)),
                             persistent=False)
        # level 0, expanded surroundings
        self.n_rolled = 4 * area - 4 * (window - expand) ** 2 if expand > 0 else 0
        if expand > 0:
            self.relative_position_bias_table_to_neighbors = nn.Parameter(torch.zeros(1, heads, area, self.n_rolled))
            self.register_buffer("valid_ind_rolled", index_buffer(rolled_neighbour_index(window, expand)),
                                 persistent=False)
        # level 1, pooled windows
        kernel = 2 * (focal_window // 2) + 1
        self.n_pooled = kernel * kernel
        self.unfold = nn.Unfold(kernel_size=kernel, stride=1, padding=kernel // 2)
        self.relative_position_bias_table_to_windows = nn.Parameter(
            torch.zeros(heads, (window + focal_window - 1) ** 2))
        self.register_buffer("relative_position_index_to_windows",
                             index_buffer(relative_position_index(window, focal_window)), persistent=False)
        fine_keys = area + self.n_rolled
        mask = [[0.0] * fine_keys + row for row in pooled_neighbourhood_mask(*n_windows, kernel)]
        self.register_buffer("pooled_mask", value_buffer(mask)[:, None, None, :], persistent=False)  # (windows,1,1,keys)

    @property
    def kv_tokens(self) -> int:
        return self.window * self.window + self.n_rolled + self.n_pooled

    def forward(self, x: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """x: padded map (B, Hp, Wp, C); pooled: one token per window (B, Hp/w, Wp/w, C)."""
        b, hp, wp, c = x.shape
        q, k, v = self.qkv(x).reshape(b, hp, wp, 3, c).permute(3, 0, 1, 2, 4)
        q_win = window_tokens(q, self.window, self.heads)  # (B, windows, heads, w^2, d)
        keys, values = [window_tokens(k, self.window, self.heads)], [window_tokens(v, self.window, self.heads)]
        if self.expand > 0:
            keys.append(self._rolled_surroundings(k))
            values.append(self._rolled_surroundings(v))
        _, k_pool, v_pool = self.qkv(pooled).permute(0, 3, 1, 2).reshape(b, 3, c, *pooled.shape[1:3]).unbind(1)
        keys.append(self._pooled_neighbourhood(k_pool))
        values.append(self._pooled_neighbourhood(v_pool))
        out = attention_core(q_win, torch.cat(keys, dim=3), torch.cat(values, dim=3), self.scale,
                             self._position_bias(), self.pooled_mask)
        out = self.proj(out.permute(0, 1, 3, 2, 4).reshape(b, -1, self.window * self.window, c))
        n_h, n_w = hp // self.window, wp // self.window  # windows -> map
        out = out.reshape(b, n_h, n_w, self.window, self.window, c).permute(0, 1, 3, 2, 4, 5)
        return out.reshape(b, hp, wp, c)

    def _rolled_surroundings(self, t: torch.Tensor) -> torch.Tensor:
        """Fine tokens around each window: four (+-e, +-e) rolls, own-window positions dropped."""
        e = self.expand
        rolls = [torch.roll(t, shifts=shift, dims=(1, 2)) for shift in ((-e, -e), (-e, e), (e, -e), (e, e))]
        rolled = torch.cat([window_tokens(r, self.window, self.heads) for r in rolls], dim=3)
        return rolled[:, :, :, self.valid_ind_rolled]

    def _pooled_neighbourhood(self, t: torch.Tensor) -> torch.Tensor:
        """(B, C, nWh, nWw) pooled map -> (B, windows, heads, kernel^2, d) around each window."""
        b, c, n_h, n_w = t.shape
        kernel = self.unfold.kernel_size
        cols = self.unfold(t).reshape(b, c, kernel * kernel, n_h * n_w).permute(0, 3, 2, 1)
        return cols.reshape(b, n_h * n_w, kernel * kernel, self.heads, c // self.heads).permute(0, 1, 3, 2, 4)

    def _position_bias(self) -> torch.Tensor:
        """(heads, w^2, keys): window, surroundings and pooled-window relative-position biases."""
        area = self.window * self.window
        parts = [self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
                 .reshape(area, area, -1).permute(2, 0, 1)]
        if self.expand > 0:
            parts.append(self.relative_position_bias_table_to_neighbors[0])
        parts.append(self.relative_position_bias_table_to_windows[:, self.relative_position_index_to_windows.reshape(-1)]
                     .reshape(self.heads, area, -1))
        return torch.cat(parts, dim=-1)


class FocalTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, resolution: tuple[int, int], focal_window: int,
                 window: int = WINDOW, expand: int = EXPAND, mlp_ratio: float = 4.0):
        super().__init__()
        self.resolution = resolution
        if min(resolution) <= window:  # one window covers the map: no partition, no expansion
            window, expand = min(resolution), 0
        self.window = window
        self.padded_resolution = (padded(resolution[0], window), padded(resolution[1], window))
        n_windows = (self.padded_resolution[0] // window, self.padded_resolution[1] // window)
        self.norm1 = nn.LayerNorm(dim)
        self.pool_layers = nn.ModuleList([nn.Linear(window * window, 1)])  # level 1: window -> one token
        self.attn = FocalWindowAttention(dim, heads, window, expand, focal_window, n_windows)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        (h, w), (hp, wp) = self.resolution, self.padded_resolution
        shortcut = x
        x = self.norm1(x).reshape(b, h, w, c)
        if (hp, wp) != (h, w):
            x = F.pad(x, (0, 0, 0, wp - w, 0, hp - h))
        n_h, n_w, s = hp // self.window, wp // self.window, self.window
        windows = x.reshape(b, n_h, s, n_w, s, c).permute(0, 1, 3, 5, 2, 4).reshape(b, n_h, n_w, c, s * s)
        pooled = self.pool_layers[0](windows).flatten(-2)  # (B, nWh, nWw, C)
        x = self.attn(x, pooled)[:, :h, :w].reshape(b, h * w, c)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class ConvPatchMerging(PatchEmbed):
    """Down-sampling between stages: the reference's ``PatchEmbed`` with patch 2 (2x2/2 conv, C -> 2C)."""


class BasicLayer(nn.Module):
    """One stage: its blocks, then (except the last stage) the 2x2 conv down-sampling."""

    def __init__(self, dim: int, depth: int, heads: int, resolution: tuple[int, int], focal_window: int,
                 downsample: bool):
        super().__init__()
        self.resolution = resolution
        self.blocks = nn.ModuleList(FocalTransformerBlock(dim, heads, resolution, focal_window) for _ in range(depth))
        self.downsample = ConvPatchMerging(2, dim, 2 * dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        if self.downsample is not None:
            x, _, _ = self.downsample(x.transpose(1, 2).reshape(x.shape[0], -1, *self.resolution))
        return x


class FocalTransformer(nn.Module):
    """Focal Transformer; input (B, 3, img, img) with img % 32 == 0."""

    def __init__(self, img_size: int = 224, in_chans: int = 3, num_classes: int = 1000, embed_dim: int = 96,
                 depths=(2, 2, 6, 2), heads=(3, 6, 12, 24), focal_windows=FOCAL_WINDOWS, patch_size: int = 4):
        super().__init__()
        self.depths, self.heads = depths, heads
        self.dims = [embed_dim * 2 ** i for i in range(len(depths))]
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        grid = img_size // patch_size
        self.layers = nn.ModuleList()
        for i, depth in enumerate(depths):
            self.layers.append(BasicLayer(self.dims[i], depth, heads[i], (grid, grid), focal_windows[i],
                                          downsample=i < len(depths) - 1))
            grid //= 2
        self.norm = nn.LayerNorm(self.dims[-1])
        self.head = nn.Linear(self.dims[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _, _ = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x).mean(dim=1))


def focal_structure(model: FocalTransformer, img_size: int, seq_len: int | None = None) -> list[BlockInfo]:
    """Per block: one branch per window of the padded map; keys per branch = window + surroundings + pooled."""
    infos = []
    for i, layer in enumerate(model.layers):
        for j, block in enumerate(layer.blocks):
            hp, wp = block.padded_resolution
            s = block.window
            infos.append(BlockInfo(
                module=f"layers.{i}.blocks.{j}", stage=i + 1, dim=model.dims[i], heads=model.heads[i],
                tokens=hp * wp, tokens_per_branch=s * s, kv_tokens_per_branch=block.attn.kv_tokens,
                branches=(hp // s) * (wp // s), window=(s, s), mlp_hidden=block.mlp.fc1.out_features,
                interaction="focal", resolution=(hp, wp)))
    return infos


_VARIANTS = {
    # name: (embed_dim, depths, heads), reference configs focal_{tiny,small,base}_patch4_window7_224.yaml
    "focal-t": (96, (2, 2, 6, 2), (3, 6, 12, 24)),
    "focal-s": (96, (2, 2, 18, 2), (3, 6, 12, 24)),
    "focal-b": (128, (2, 2, 18, 2), (4, 8, 16, 32)),
}


def _register(name: str, embed_dim: int, depths: tuple[int, ...], heads: tuple[int, ...]) -> None:
    @register_workload(
        name, family="focal", kind="vision", isotropic=False, default_img=224, size_multiple=32,
        structure=focal_structure,
        description=f"Focal Transformer (Yang et al. 2021) C={embed_dim}, depths {list(depths)}, heads "
                    f"{list(heads)}, window 7, 2 focal levels; vitsim's own module",
    )
    def build(img_size: int = 224, seq_len: int | None = None) -> FocalTransformer:
        return FocalTransformer(img_size=img_size, embed_dim=embed_dim, depths=depths, heads=heads)


for _name, (_dim, _depths, _heads) in _VARIANTS.items():
    _register(_name, _dim, _depths, _heads)

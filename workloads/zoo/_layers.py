"""Pieces shared by the project's own model definitions (LV-ViT, PVT v1, CSWin, Focal, BERT).

What is modelled: the feed-forward network every transformer block uses (``fc1`` -> GELU ->
``fc2``, timm's ``Mlp``), the explicit scaled-dot-product attention core (``q @ k^T``, softmax,
``attn @ v`` as separate operators so a tracer sees each matmul; the 1/sqrt(d) scale is applied
to q as in the LV-ViT, CSWin and Focal references, PVT's reference scales the scores instead,
which is the same product), and small helpers the
window-based models need (padding a token grid, building index buffers that also work when the
model is constructed on the ``meta`` device).

What is abstracted: dropout and stochastic depth are left out (inference only, both are the
identity at evaluation time in the reference implementations); weights keep PyTorch's default
initialisation (no truncated-normal init), since the simulator only needs shapes.
"""

from __future__ import annotations

import torch
from torch import nn


class Mlp(nn.Module):
    """Transformer feed-forward network: ``fc1`` -> activation -> ``fc2`` (timm naming)."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int | None = None,
                 act_layer: type[nn.Module] = nn.GELU):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def attention_core(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float,
                   *biases: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T * scale + biases) v with every matmul explicit (no fused SDPA kernel).

    ``q``: (..., N, d), ``k``/``v``: (..., M, d); returns (..., N, d). Each additive term in
    ``biases`` (relative-position bias, attention mask) must broadcast to (..., N, M).
    """
    attn = (q * scale) @ k.transpose(-2, -1)
    for bias in biases:
        attn = attn + bias
    attn = attn.softmax(dim=-1)
    return attn @ v


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, N, C) -> (B, heads, N, C // heads)."""
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).permute(0, 2, 1, 3)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, N, d) -> (B, N, heads * d)."""
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def padded(size: int, multiple: int) -> int:
    """Smallest multiple of ``multiple`` that is >= ``size``."""
    return -(-size // multiple) * multiple


def index_buffer(values: list[int] | list[list[int]]) -> torch.Tensor:
    """An integer index tensor built from Python values.

    Index tables (relative-position indices, gather indices) are computed in plain Python so the
    computation never depends on tensor data; ``torch.tensor`` then follows the default device,
    so a model constructed under ``torch.device("meta")`` gets a meta buffer of the right shape.
    """
    return torch.tensor(values, dtype=torch.long)


def value_buffer(values: list[float] | list[list[float]]) -> torch.Tensor:
    """A float constant tensor (e.g. an additive attention mask) built from Python values."""
    return torch.tensor(values, dtype=torch.float32)


def count_params(model: nn.Module) -> int:
    """Number of parameters of ``model`` (works on the meta device)."""
    return sum(p.numel() for p in model.parameters())


class PatchEmbed(nn.Module):
    """Non-overlapping patch embedding: conv (kernel = stride = patch) and LayerNorm.

    Returns the tokens (B, h*w, C) and the token grid h, w. PVT v1 uses it for every
    stage's embedding, Focal for its stem and (as ``ConvPatchMerging``) between stages.
    """

    def __init__(self, patch: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        h, w = x.shape[-2:]
        return self.norm(x.flatten(2).transpose(1, 2)), h, w

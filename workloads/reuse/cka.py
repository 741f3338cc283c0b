"""Linear CKA between the attention outputs of every pair of encoders (TReX Fig. 17).

What is modelled
----------------
For each encoder, the attention output is the input of its projection
``blocks[i].attn.proj`` (the concatenated heads; for an encoder that reuses
attention, its transformation block's output). On one batch, each encoder's
output is flattened per example (tokens x channels) and compared with linear
centred kernel alignment (Kornblith et al., ICML 2019), in its Gram-matrix form:
``CKA(X, Y) = <K_c, L_c>_F / (||K_c||_F ||L_c||_F)`` with ``K = X X^T``,
``L = Y Y^T`` and ``H K H`` centring; CKA(X, X) = 1. Results: a CSV matrix and a
heat-map PNG, both written atomically.

What is abstracted
------------------
One batch (the paper does not state its sample count); no minibatch (unbiased
HSIC) estimator.
"""

from __future__ import annotations

import io

import torch
from torch import nn

from contracts.atomic import write_bytes, write_text
from workloads.reuse.transform import encoder_blocks


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA of two (examples, features) matrices."""
    x, y = x.double().flatten(1), y.double().flatten(1)
    k, l = x @ x.T, y @ y.T
    n = k.shape[0]
    h = torch.eye(n, dtype=k.dtype) - 1.0 / n
    kc, lc = h @ k @ h, h @ l @ h
    denom = kc.norm() * lc.norm()
    return float((kc * lc).sum() / denom) if denom > 0 else 0.0


@torch.no_grad()
def attention_outputs(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The projection input of every encoder for one batch, in encoder order."""
    blocks = encoder_blocks(model)
    captured: dict[int, torch.Tensor] = {}
    handles = [b.attn.proj.register_forward_pre_hook(lambda m, a, i=i: captured.__setitem__(i, a[0].cpu()))
               for i, b in enumerate(blocks)]
    try:
        model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return [captured[i] for i in range(len(blocks))]


def cka_matrix(model: nn.Module, x: torch.Tensor) -> list[list[float]]:
    outs = attention_outputs(model, x)
    n = len(outs)
    m = [[1.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            m[i][j] = m[j][i] = linear_cka(outs[i], outs[j])
    return m


def write_cka(matrix: list[list[float]], csv_path: str, png_path: str, title: str) -> None:
    n = len(matrix)
    lines = ["encoder," + ",".join(str(j + 1) for j in range(n))]
    lines += [f"{i + 1}," + ",".join(f"{v:.6f}" for v in row) for i, row in enumerate(matrix)]
    write_text(csv_path, "\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * n, 0.8 + 0.45 * n))
    im = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
    ax.set_xticks(range(n), [str(j + 1) for j in range(n)])
    ax.set_yticks(range(n), [str(i + 1) for i in range(n)])
    ax.set_xlabel("encoder")
    ax.set_ylabel("encoder")
    ax.set_title(title, fontsize=9)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{matrix[i][j]:.2f}", ha="center", va="center", fontsize=6,
                    color="black" if matrix[i][j] > 0.6 else "white")
    fig.colorbar(im, ax=ax, label="linear CKA")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    write_bytes(png_path, buf.getvalue())

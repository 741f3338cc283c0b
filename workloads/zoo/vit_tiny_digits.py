"""``vit-tiny-digits``: a small ViT for scikit-learn's 8x8 handwritten digits (TReX demo model).

What is modelled
----------------
timm's ``VisionTransformer`` (``pretrained=False``) sized for 8x8 grey images: patch 2 -> a 4x4
grid of 16 patch tokens plus a class token (17 tokens), d = 64, 4 heads of 16, 8 identical
pre-norm encoders with MLP ratio 2, class-token pooling and a 10-way head. timm's fused
scaled-dot-product attention is switched off so QK^T and S.V are explicit matmuls: the tracer
sees each one and the crossbar noise model (``workloads.reuse.noise``) can replace each one.

What is abstracted
------------------
Nothing beyond timm's ViT itself; the size is chosen so that training, the reuse-pattern search
and variation-aware fine-tuning of ``make trex-demo`` run in minutes on a 2-core CPU.
"""

from __future__ import annotations

from workloads.registry import BlockInfo, register_workload

PATCH = 2
EMBED_DIM = 64
DEPTH = 8
HEADS = 4
MLP_RATIO = 2.0
NUM_CLASSES = 10


def vit_tiny_digits_structure(model, img_size: int, seq_len: int | None = None) -> list[BlockInfo]:
    """One branch of all tokens (patch grid plus the class token) per encoder; global attention."""
    grid = img_size // PATCH
    tokens = grid * grid + model.num_prefix_tokens
    return [
        BlockInfo(module=f"blocks.{i}", stage=1, dim=model.embed_dim, heads=HEADS, tokens=tokens,
                  tokens_per_branch=tokens, kv_tokens_per_branch=tokens, branches=1, window=None,
                  mlp_hidden=int(model.embed_dim * MLP_RATIO), interaction="none", resolution=(grid, grid))
        for i in range(len(model.blocks))
    ]


@register_workload(
    "vit-tiny-digits", family="vit-tiny", kind="vision", isotropic=True, default_img=8, size_multiple=PATCH,
    min_img=8, num_classes=NUM_CLASSES, in_chans=1, structure=vit_tiny_digits_structure, tags=("trex", "demo"),
    description="small ViT for scikit-learn's 8x8 digits: patch 2, d=64, 4 heads, 8 encoders (timm, explicit attention)",
)
def vit_tiny_digits(img_size: int = 8, seq_len: int | None = None):
    from timm.models.vision_transformer import VisionTransformer

    model = VisionTransformer(img_size=img_size, patch_size=PATCH, in_chans=1, num_classes=NUM_CLASSES,
                              embed_dim=EMBED_DIM, depth=DEPTH, num_heads=HEADS, mlp_ratio=MLP_RATIO,
                              qkv_bias=True, class_token=True, global_pool="token")
    for block in model.blocks:
        block.attn.fused_attn = False  # explicit QK^T and S.V
    return model


# ------------------------------------------------------------------ local attention: a small Swin
SWIN_DIM = 32
SWIN_DEPTHS = (4, 2)
SWIN_HEADS = (2, 4)
SWIN_WINDOW = 2


def swin_tiny_digits_structure(model, img_size: int, seq_len: int | None = None) -> list[BlockInfo]:
    from workloads.zoo.timm_models import _swin_structure

    return _swin_structure(model, img_size, seq_len)


@register_workload(
    "swin-tiny-digits", family="swin-tiny", kind="vision", isotropic=False, default_img=8, size_multiple=8,
    min_img=8, num_classes=NUM_CLASSES, in_chans=1, structure=swin_tiny_digits_structure, tags=("trex", "demo"),
    description="small Swin for the 8x8 digits: patch 2, C=32, depths 4-2, 2x2 windows (shift 1), heads 2-4 (timm)",
)
def swin_tiny_digits(img_size: int = 8, seq_len: int | None = None):
    """timm's SwinTransformer (``pretrained=False``) on 2x2 patches of the 8x8 digits: stage 1 has 4 windows
    of 2x2 tokens on the 4x4 grid, shifted by one token in every other block; stage 2 (after patch
    merging, 2x2 grid) one window."""
    from timm.models.swin_transformer import SwinTransformer

    return SwinTransformer(img_size=img_size, patch_size=PATCH, in_chans=1, num_classes=NUM_CLASSES, embed_dim=SWIN_DIM,
                           depths=SWIN_DEPTHS, num_heads=SWIN_HEADS, window_size=SWIN_WINDOW, mlp_ratio=MLP_RATIO)

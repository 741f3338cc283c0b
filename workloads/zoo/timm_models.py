"""timm-backed models of the zoo: ViT, DeiT, Swin, PVT v2 and Twins (PCPVT, SVT).

Every model is timm's own definition built with ``pretrained=False`` and fused
attention switched off (``timm.layers.set_fused_attn(False)`` before creation
and ``fused_attn = False`` on every attention module afterwards), so the
attention products ``Q K^T`` and ``S V`` appear as separate matmuls and the
softmax as its own operator in the trace.

Input sizes
-----------
* ViT/DeiT (patch 16): the side must be a multiple of 16; the position table is
  built for the requested size (``img_size`` passed to timm).
* ViT-H has 14x14 patches: timm pads the image on the right/bottom to the next
  multiple of 14 (``dynamic_img_pad``), e.g. 960 -> 966 = 69 patches a side, so
  any side of at least 14 pixels is admissible. The model is built for the
  padded size so the position table matches the padded grid.
* Swin keeps 7x7 windows at every stage and every input size (timm builds the
  constructor's window when ``img_size`` is passed; it only shrinks the window
  when a stage's grid is smaller than the window, as the Swin paper does) and
  pads each stage's grid to a multiple of the window inside the block, as the
  Allspark paper assumes (Section III-A): at 960 the stages have 240, 120, 60,
  30 tokens a side -> 35^2 = 1225, 18^2 = 324, 9^2 = 81, 5^2 = 25 windows.
* PVT v2 and Twins: multiples of 32 (4x patch embedding, then three 2x
  down-samplings).

Block-structure convention (``BlockInfo``), documented once for all families
---------------------------------------------------------------------------
* ``resolution`` / ``tokens``: the grid the attention actually runs on, i.e.
  padded to whole windows for windowed blocks (Swin, Twins LSA); ``tokens``
  counts all branches together, plus the class token for ViT/DeiT.
* ViT/DeiT: global attention, one branch of all tokens, interaction ``none``.
* Swin: ``branches`` = windows of the padded grid, ``tokens_per_branch`` =
  window area (49), interaction ``shifted_window`` for both blocks of a pair
  (the regular-window block and the shifted-window block that connects it).
* PVT v2 and Twins-PCPVT: global attention whose keys/values are spatially
  reduced by a stride-``sr`` convolution: one branch of all tokens,
  ``kv_tokens_per_branch`` = (H/sr)(W/sr), interaction ``global_subsample``.
* Twins-SVT alternates locally-grouped attention (LSA, even blocks) and global
  sub-sampled attention (GSA, odd blocks). GSA is a PVT-style attention: one
  branch, keys/values sub-sampled. LSA is window attention like Swin:
  ``branches`` = 7x7 groups of the padded grid. Both blocks of the pair are
  labelled ``global_subsample`` (the pair's local-global interaction), just as
  both Swin blocks are labelled ``shifted_window``; a consumer tells LSA from
  GSA by ``window`` (set for LSA, None for GSA).
"""

from __future__ import annotations

import math

from workloads.registry import BlockInfo, register_workload

TIMM_DEFINITIONS = {
    "vit-b": "vit_base_patch16_224",
    "vit-l": "vit_large_patch16_224",
    "vit-h": "vit_huge_patch14_224",
    "deit-t": "deit_tiny_patch16_224",
    "deit-s": "deit_small_patch16_224",
    "deit-b": "deit_base_patch16_224",
    "swin-t": "swin_tiny_patch4_window7_224",
    "swin-s": "swin_small_patch4_window7_224",
    "swin-b": "swin_base_patch4_window7_224",
    "swin-l": "swin_large_patch4_window7_224",
    **{f"pvt-v2-b{i}": f"pvt_v2_b{i}" for i in range(6)},
    "twins-pcpvt-s": "twins_pcpvt_small",
    "twins-pcpvt-b": "twins_pcpvt_base",
    "twins-pcpvt-l": "twins_pcpvt_large",
    "twins-svt-s": "twins_svt_small",
    "twins-svt-b": "twins_svt_base",
    "twins-svt-l": "twins_svt_large",
}


def _create(timm_name: str, **kwargs):
    """Build a timm model with fused attention off (meta device if the caller opened one)."""
    import timm
    import timm.layers

    timm.layers.set_fused_attn(False)
    model = timm.create_model(timm_name, pretrained=False, num_classes=1000, **kwargs)
    for module in model.modules():
        if hasattr(module, "fused_attn"):
            module.fused_attn = False
    return model.eval()


def _conv_out(size: int, conv) -> int:
    """Output side of a Conv2d for an input side (square kernels and strides)."""
    k, s, p, d = conv.kernel_size[0], conv.stride[0], conv.padding[0], conv.dilation[0]
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _padded(size: int, window: int) -> int:
    return math.ceil(size / window) * window


# ---------------------------------------------------------------- ViT / DeiT
def _vit_structure(model, img_size, seq_len) -> list[BlockInfo]:
    gh, gw = model.patch_embed.dynamic_feat_size((img_size, img_size))
    tokens = gh * gw + model.num_prefix_tokens
    infos = []
    for i, blk in enumerate(model.blocks):
        infos.append(
            BlockInfo(
                module=f"blocks.{i}", stage=1, dim=model.embed_dim, heads=blk.attn.num_heads,
                tokens=tokens, tokens_per_branch=tokens, kv_tokens_per_branch=tokens, branches=1,
                window=None, mlp_hidden=blk.mlp.fc1.out_features, interaction="none", resolution=(gh, gw),
            )
        )
    return infos


def _vit_builder(timm_name: str, patch: int, pad_to_patch: bool):
    def build(img_size: int | None = None, seq_len: int | None = None):
        if not pad_to_patch:
            return _create(timm_name, img_size=img_size)
        model = _create(timm_name, img_size=_padded(img_size, patch), dynamic_img_pad=True)
        model.patch_embed.strict_img_size = False  # take the unpadded image; the patch embedding pads it
        return model

    return build


_VIT_DESCRIPTIONS = {
    "vit-b": "ViT-B/16 (Dosovitskiy et al., ICLR 2021): 12 blocks, d=768, 12 heads",
    "vit-l": "ViT-L/16: 24 blocks, d=1024, 16 heads",
    "vit-h": "ViT-H/14: 32 blocks, d=1280, 16 heads; input padded to a multiple of 14",
    "deit-t": "DeiT-Ti (Touvron et al., ICML 2021): 12 blocks, d=192, 3 heads",
    "deit-s": "DeiT-S: 12 blocks, d=384, 6 heads",
    "deit-b": "DeiT-B: 12 blocks, d=768, 12 heads",
}

for _name, _desc in _VIT_DESCRIPTIONS.items():
    _patch = 14 if _name == "vit-h" else 16
    _pad = _name == "vit-h"
    register_workload(
        _name,
        builder=_vit_builder(TIMM_DEFINITIONS[_name], _patch, _pad),
        structure=_vit_structure,
        family=_name.split("-")[0],
        isotropic=True,
        size_multiple=1 if _pad else _patch,
        min_img=_patch,
        size_reason="the patch size" if not _pad else "any side works, it is padded to whole patches",
        definition=f"timm:{TIMM_DEFINITIONS[_name]}",
        description=_desc,
    )


# ---------------------------------------------------------------------- Swin
def _swin_structure(model, img_size, seq_len) -> list[BlockInfo]:
    infos = []
    for s, layer in enumerate(model.layers):
        for j, blk in enumerate(layer.blocks):
            h, w = blk.input_resolution
            wh, ww = blk.window_size
            hp, wp = _padded(h, wh), _padded(w, ww)
            infos.append(
                BlockInfo(
                    module=f"layers.{s}.blocks.{j}", stage=s + 1, dim=blk.norm1.normalized_shape[0],
                    heads=blk.attn.num_heads, tokens=hp * wp, tokens_per_branch=wh * ww,
                    kv_tokens_per_branch=wh * ww, branches=(hp // wh) * (wp // ww), window=(wh, ww),
                    mlp_hidden=blk.mlp.fc1.out_features, interaction="shifted_window", resolution=(hp, wp),
                )
            )
    return infos


def _swin_builder(timm_name: str):
    def build(img_size: int | None = None, seq_len: int | None = None):
        return _create(timm_name, img_size=img_size)

    return build


_SWIN_DESCRIPTIONS = {
    "swin-t": "Swin-T (Liu et al., ICCV 2021): C=96, depths 2-2-6-2, 7x7 windows",
    "swin-s": "Swin-S: C=96, depths 2-2-18-2, 7x7 windows",
    "swin-b": "Swin-B: C=128, depths 2-2-18-2, 7x7 windows",
    "swin-l": "Swin-L: C=192, depths 2-2-18-2, 7x7 windows",
}

for _name, _desc in _SWIN_DESCRIPTIONS.items():
    register_workload(
        _name,
        builder=_swin_builder(TIMM_DEFINITIONS[_name]),
        structure=_swin_structure,
        family="swin",
        definition=f"timm:{TIMM_DEFINITIONS[_name]}",
        description=_desc,
    )


# -------------------------------------------------------------------- PVT v2
def _pvt_v2_structure(model, img_size, seq_len) -> list[BlockInfo]:
    infos = []
    side = _conv_out(img_size, model.patch_embed.proj)
    for s, stage in enumerate(model.stages):
        if stage.downsample is not None:
            side = _conv_out(side, stage.downsample.proj)
        for j, blk in enumerate(stage.blocks):
            attn = blk.attn
            if attn.pool is not None:  # linear SRA (pvt_v2_b2_li): pooled to 7x7
                kv = 7 * 7
            elif attn.sr is not None:
                kv = _conv_out(side, attn.sr) ** 2
            else:
                kv = side * side
            infos.append(
                BlockInfo(
                    module=f"stages.{s}.blocks.{j}", stage=s + 1, dim=blk.norm1.normalized_shape[0],
                    heads=attn.num_heads, tokens=side * side, tokens_per_branch=side * side,
                    kv_tokens_per_branch=kv, branches=1, window=None, mlp_hidden=blk.mlp.fc1.out_features,
                    interaction="global_subsample", resolution=(side, side),
                )
            )
    return infos


def _plain_builder(timm_name: str, pass_img_size: bool):
    def build(img_size: int | None = None, seq_len: int | None = None):
        return _create(timm_name, img_size=img_size) if pass_img_size else _create(timm_name)

    return build


_PVT_V2_DESCRIPTIONS = {
    0: "PVT v2-B0 (Wang et al., CVMJ 2022): depths 2-2-2-2, dims 32-64-160-256",
    1: "PVT v2-B1: depths 2-2-2-2, dims 64-128-320-512",
    2: "PVT v2-B2: depths 3-4-6-3, dims 64-128-320-512",
    3: "PVT v2-B3: depths 3-4-18-3, dims 64-128-320-512",
    4: "PVT v2-B4: depths 3-8-27-3, dims 64-128-320-512",
    5: "PVT v2-B5: depths 3-6-40-3, dims 64-128-320-512",
}

for _i, _desc in _PVT_V2_DESCRIPTIONS.items():
    _name = f"pvt-v2-b{_i}"
    register_workload(
        _name,
        builder=_plain_builder(TIMM_DEFINITIONS[_name], pass_img_size=False),  # fully convolutional stems
        structure=_pvt_v2_structure,
        family="pvt-v2",
        definition=f"timm:{TIMM_DEFINITIONS[_name]}",
        description=_desc,
    )


# --------------------------------------------------------------------- Twins
def _twins_structure(model, img_size, seq_len) -> list[BlockInfo]:
    infos = []
    side = img_size
    for s, blocks in enumerate(model.blocks):
        side //= model.patch_embeds[s].patch_size[0]
        for j, blk in enumerate(blocks):
            attn = blk.attn
            common = dict(
                module=f"blocks.{s}.{j}", stage=s + 1, dim=blk.norm1.normalized_shape[0], heads=attn.num_heads,
                mlp_hidden=blk.mlp.fc1.out_features, interaction="global_subsample",
            )
            ws = getattr(attn, "ws", None)
            if ws is not None:  # LSA: window attention over the padded grid
                sp = _padded(side, ws)
                infos.append(
                    BlockInfo(
                        tokens=sp * sp, tokens_per_branch=ws * ws, kv_tokens_per_branch=ws * ws,
                        branches=(sp // ws) ** 2, window=(ws, ws), resolution=(sp, sp), **common,
                    )
                )
            else:  # GSA: global queries, keys/values sub-sampled by a stride-sr convolution
                kv = _conv_out(side, attn.sr) ** 2 if attn.sr is not None else side * side
                infos.append(
                    BlockInfo(
                        tokens=side * side, tokens_per_branch=side * side, kv_tokens_per_branch=kv,
                        branches=1, window=None, resolution=(side, side), **common,
                    )
                )
    return infos


_TWINS_DESCRIPTIONS = {
    "twins-pcpvt-s": "Twins-PCPVT-S (Chu et al., NeurIPS 2021): depths 3-4-6-3, dims 64-128-320-512",
    "twins-pcpvt-b": "Twins-PCPVT-B: depths 3-4-18-3",
    "twins-pcpvt-l": "Twins-PCPVT-L: depths 3-8-27-3",
    "twins-svt-s": "Twins-SVT-S: depths 2-2-10-4, dims 64-128-256-512, LSA 7x7 / GSA",
    "twins-svt-b": "Twins-SVT-B: depths 2-2-18-2, dims 96-192-384-768",
    "twins-svt-l": "Twins-SVT-L: depths 2-2-18-2, dims 128-256-512-1024",
}

for _name, _desc in _TWINS_DESCRIPTIONS.items():
    register_workload(
        _name,
        builder=_plain_builder(TIMM_DEFINITIONS[_name], pass_img_size=True),
        structure=_twins_structure,
        family="twins-svt" if "svt" in _name else "twins-pcpvt",
        definition=f"timm:{TIMM_DEFINITIONS[_name]}",
        description=_desc,
    )

"""Tests of vitsim's own model definitions (workloads/zoo: lvvit, pvt_v1, cswin, focal, bert).

Published figures below are TARGETS quoted from the papers, compared with what the real modules
count; they never appear in the model code.
"""

from __future__ import annotations

import contextlib

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from contracts.errors import UserError
from workloads import registry
from workloads.zoo import _layers, bert, cswin, focal, lvvit, pvt_v1

VISION = ["lv-vit-s", "pvt-s", "cswin-t", "cswin-s", "cswin-b", "focal-t", "focal-s", "focal-b"]
ALL = VISION + ["bert-base"]
ADMISSIBLE = (224, 384, 640, 960)

# Published parameter counts (millions): the papers' ImageNet-1K comparison tables.
PUBLISHED_PARAMS_M = {
    "lv-vit-s": 26.0,  # Jiang et al., NeurIPS 2021 ("All tokens matter"), LV-ViT-S: 26M, 6.6G FLOPs
    "pvt-s": 24.5,  # Wang et al., ICCV 2021, PVT-Small: 24.5M, 3.8 GFLOPs
    "cswin-t": 23.0,  # Dong et al., CVPR 2022, CSWin-T: 23M, 4.3G FLOPs
    "cswin-s": 35.0,  # CSWin-S: 35M, 6.9G
    "cswin-b": 78.0,  # CSWin-B: 78M, 15.0G
    "focal-t": 29.1,  # Yang et al., NeurIPS 2021, Focal-Tiny: 29.1M, 4.9G FLOPs
    "focal-s": 51.1,  # Focal-Small: 51.1M, 9.1G
    "focal-b": 89.8,  # Focal-Base: 89.8M, 16.0G
    "bert-base": 110.0,  # Devlin et al. 2018, Section 3: BERT-BASE total parameters 110M
}
# Published compute at 224x224 (GFLOPs in those tables are multiply-accumulates), same citations.
PUBLISHED_GMAC_224 = {"lv-vit-s": 6.6, "pvt-s": 3.8, "cswin-t": 4.3, "cswin-s": 6.9, "cswin-b": 15.0,
                      "focal-t": 4.9, "focal-s": 9.1, "focal-b": 16.0}
PARAM_TOL = 0.03  # the papers round to 0.1M or 1M
MAC_TOL = 0.10  # papers count MACs by hand-written formulas (e.g. Focal's flops() skips duplicate keys)


def build_meta(name: str, img: int | None = None, seq_len: int | None = None):
    spec = registry.get(name)
    with torch.device("meta"):
        model = spec.builder(img_size=img, seq_len=seq_len if seq_len is not None else spec.default_seq_len)
    return spec, model.eval()


def meta_input(spec, img: int | None, seq_len: int | None = None) -> torch.Tensor:
    if spec.kind == "nlp":
        return torch.zeros(1, seq_len or spec.default_seq_len, dtype=torch.long, device="meta")
    return torch.empty(1, 3, img, img, device="meta")


def count_macs(model, x) -> int:
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name", ALL)
def test_param_count_matches_published(name):
    spec, model = build_meta(name, spec_default_img(name))
    params = _layers.count_params(model)
    assert params == pytest.approx(PUBLISHED_PARAMS_M[name] * 1e6, rel=PARAM_TOL)


def spec_default_img(name: str) -> int | None:
    return registry.get(name).default_img


@pytest.mark.parametrize("name", ["lv-vit-s", "pvt-s", "cswin-t", "focal-t", "focal-s"])
def test_macs_at_224_match_published(name):
    spec, model = build_meta(name, 224)
    assert count_macs(model, meta_input(spec, 224)) == pytest.approx(PUBLISHED_GMAC_224[name] * 1e9, rel=MAC_TOL)


def test_bert_macs_equal_closed_form():
    """12 encoders of 4 T d^2 (q, k, v, proj) + 2 T d f (FFN) + 2 T^2 d (QK^T, AV), plus pooler and head."""
    t, d, f = 128, 768, 3072
    spec, model = build_meta("bert-base")
    expected = 12 * (4 * t * d * d + 2 * t * d * f + 2 * t * t * d) + d * d + d * 2
    assert count_macs(model, meta_input(spec, None, t)) == expected  # 11.17 GMAC


# One size per model variant in the fast suite; the whole matrix is slow.
FAST_FORWARD = [("lv-vit-s", 960), ("pvt-s", 960), ("cswin-t", 224), ("cswin-t", 960), ("cswin-s", 384),
                ("focal-t", 224), ("focal-t", 960), ("focal-s", 640), ("bert-base", None)]
SLOW_FORWARD = [(n, s) for n in VISION for s in ADMISSIBLE if (n, s) not in FAST_FORWARD]


def _forward_and_structure(name, img):
    spec, model = build_meta(name, img)
    if spec.kind == "vision":
        spec.check_size(img)
    records = []
    with _record_attention(model, spec.structure(model, img, spec.default_seq_len), records) as blocks:
        out = model(meta_input(spec, img))
    assert out.shape == (1, spec.num_classes)
    _check_structure_against_trace(blocks, records, model)


@pytest.mark.parametrize("name,img", FAST_FORWARD)
def test_forward_on_meta_and_structure_matches_attention_shapes(name, img):
    _forward_and_structure(name, img)


@pytest.mark.slow
@pytest.mark.parametrize("name,img", SLOW_FORWARD)
def test_forward_on_meta_every_admissible_size(name, img):
    _forward_and_structure(name, img)


def _leave_block(current):
    def hook(module, args, output):
        current.pop()  # returns None: a forward hook's return value would replace the output

    return hook


@contextlib.contextmanager
def _record_attention(model, blocks, records):
    """Record (block index, q shape, k shape) of every attention_core call, by block module."""
    modules = dict(model.named_modules())
    current = []
    hooks = []
    for i, info in enumerate(blocks):
        assert info.module in modules, f"structure() names a module the model lacks: {info.module}"
        block = modules[info.module]
        hooks.append(block.register_forward_pre_hook(lambda m, a, i=i: current.append(i)))
        hooks.append(block.register_forward_hook(_leave_block(current)))
    original = _layers.attention_core

    def recording(q, k, v, scale, *biases):
        records.append((current[-1] if current else None, tuple(q.shape), tuple(k.shape)))
        return original(q, k, v, scale, *biases)

    patched = [m for m in (lvvit, pvt_v1, cswin, focal, bert) if getattr(m, "attention_core", None) is original]
    for m in patched:
        m.attention_core = recording
    try:
        yield blocks
    finally:
        for m in patched:
            m.attention_core = original
        for h in hooks:
            h.remove()


def _check_structure_against_trace(blocks, records, model):
    assert records and all(r[0] is not None for r in records), "attention ran outside the declared blocks"
    for i, info in enumerate(blocks):
        calls = [(q, k) for b, q, k in records if b == i]
        assert calls, f"block {info.module} ran no attention"
        regions = 0
        heads = 0
        channels = 0
        for q, k in calls:
            *batch, h, n, d = q.shape if isinstance(q, torch.Size) else q
            assert n == info.tokens_per_branch, (info.module, q)
            assert k[-2] == info.kv_tokens_per_branch, (info.module, k)
            regions += _prod(batch)
            heads += h
            channels += h * d
        assert regions == info.branches, (info.module, regions, info.branches)
        assert channels == info.dim and heads == info.heads  # heads * head_dim == C_s, over all branch groups
        if info.interaction == "cross_shaped":
            # every token sits in one horizontal and one vertical stripe (half the channels each)
            g, sw = info.resolution[0], info.window[0]
            assert info.branches * info.tokens_per_branch == 2 * _layers.padded(g, sw) * g >= 2 * info.tokens
        else:
            assert info.branches * info.tokens_per_branch == info.tokens
        grid_tokens = info.resolution[0] * info.resolution[1]
        assert info.tokens in (grid_tokens, grid_tokens + 1)  # + the class token of LV-ViT / PVT stage 4


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def test_structure_figures_at_224():
    """Branch counts that follow from the architectures (window 7 / stripes sw=[1,2,7,7] on 56,28,14,7)."""
    spec, model = build_meta("focal-t", 224)
    per_stage = {b.stage: (b.branches, b.kv_tokens_per_branch) for b in spec.structure(model, 224, None)}
    # 49 own + 132 expanded fine keys + fw^2 pooled (fw = 7, 5, 3), stage 4: one 7x7 window + 1 pooled
    assert per_stage == {1: (64, 230), 2: (16, 206), 3: (4, 190), 4: (1, 50)}
    spec, model = build_meta("cswin-t", 224)
    per_stage = {b.stage: (b.branches, b.tokens_per_branch) for b in spec.structure(model, 224, None)}
    assert per_stage == {1: (112, 56), 2: (28, 56), 3: (4, 98), 4: (1, 49)}
    spec, model = build_meta("pvt-s", 224)
    kv = [b.kv_tokens_per_branch for b in spec.structure(model, 224, None)]
    assert kv[0] == 49 and kv[-1] == 50  # (56/8)^2; stage 4 attends over 7x7 + class token


def test_cswin_pads_stripes_at_960():
    spec, model = build_meta("cswin-t", 960)
    stage3 = [b for b in spec.structure(model, 960, None) if b.stage == 3][0]
    assert stage3.resolution == (60, 60) and stage3.branches == 18 and stage3.tokens_per_branch == 7 * 60


@pytest.mark.parametrize("name", VISION)
def test_admissible_sizes_and_a_clear_error_otherwise(name):
    spec = registry.get(name)
    for img in ADMISSIBLE:
        spec.check_size(img)
    with pytest.raises(UserError, match="multiple of"):
        spec.check_size(230)


def test_bert_rejects_sequences_longer_than_its_position_table():
    spec = registry.get("bert-base")
    assert spec.kind == "nlp" and spec.isotropic and spec.default_img is None and spec.default_seq_len == 128
    with pytest.raises(ValueError):
        spec.builder(img_size=None, seq_len=513)


def test_isotropic_models_expose_swappable_attention():
    for name in ("lv-vit-s", "bert-base"):
        spec, model = build_meta(name, spec_default_img(name))
        assert spec.isotropic
        for block in model.blocks:
            assert hasattr(block, "norm1") and hasattr(block, "norm2") and hasattr(block.attn, "proj")
            assert hasattr(block.mlp, "fc1") and hasattr(block.mlp, "fc2")


# ----------------------------------------------------------------- behaviour on real values (CPU)
def _changed_tokens(block, x, grid, token):
    """Which output tokens of ``block`` change when input ``token`` (row, col) is perturbed.

    The perturbation is random (a constant shift would vanish in the block's LayerNorm).
    """
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        base = block(x)
        x2 = x.clone()
        x2[0, token[0] * grid + token[1]] += 3.0 * torch.randn(x.shape[-1], generator=generator)
        diff = (block(x2) - base).abs().amax(dim=-1)[0].reshape(grid, grid)
    return diff > 1e-5


def test_cswin_block_mixes_only_along_the_cross():
    torch.manual_seed(0)
    block = cswin.CSWinBlock(dim=16, heads=4, resolution=(14, 14), split=7, mlp_ratio=4.0, full_attention=False)
    changed = _changed_tokens(block, torch.randn(1, 196, 16), 14, (2, 3))
    expected = torch.zeros(14, 14, dtype=torch.bool)
    expected[:7, :] = True  # the horizontal stripe (rows 0..6) holding the token
    expected[:, :7] = True  # the vertical stripe (columns 0..6)
    assert torch.equal(changed, expected)


def test_focal_block_reaches_the_expanded_window_and_no_further_with_focal_window_1():
    torch.manual_seed(0)
    block = focal.FocalTransformerBlock(dim=16, heads=2, resolution=(28, 28), focal_window=1)
    changed = _changed_tokens(block, torch.randn(1, 784, 16), 28, (14, 14))
    expected = torch.zeros(28, 28, dtype=torch.bool)
    expected[7:21, 7:21] = True  # windows whose 13x13 expanded region contains (14, 14)
    assert torch.equal(changed, expected)


def test_focal_coarse_level_reaches_neighbouring_windows():
    torch.manual_seed(0)
    block = focal.FocalTransformerBlock(dim=16, heads=2, resolution=(42, 42), focal_window=3)
    changed = _changed_tokens(block, torch.randn(1, 42 * 42, 16), 42, (17, 17))  # window (2, 2) of 6x6
    expected = torch.zeros(42, 42, dtype=torch.bool)
    expected[7:28, 7:28] = True  # windows 1..3 x 1..3 see pooled window (2, 2) in their 3x3 neighbourhood
    assert torch.equal(changed, expected)


def test_focal_index_tables():
    assert len(focal.rolled_neighbour_index(7, 3)) == 4 * 49 - 4 * 16
    index = focal.relative_position_index(7, 7)
    assert len(index) == 49 and max(max(r) for r in index) == 13 * 13 - 1 and index[0][0] == 6 * 13 + 6
    mask = focal.pooled_neighbourhood_mask(8, 8, 7)
    assert sum(v == 0.0 for v in mask[0]) == 16  # corner window: a 4x4 block of the 7x7 neighbourhood


def test_bert_padding_tokens_do_not_change_the_prediction():
    torch.manual_seed(0)
    model = bert.BertForSequenceClassification(dim=32, depth=2, heads=4, ffn=64, vocab=100).eval()
    ids = torch.randint(0, 100, (1, 10))
    mask = torch.ones(1, 10, dtype=torch.long)
    mask[0, 7:] = 0
    with torch.no_grad():
        a = model(ids, attention_mask=mask)
        ids2 = ids.clone()
        ids2[0, 7:] = (ids2[0, 7:] + 1) % 100
        b = model(ids2, attention_mask=mask)
        c = model(ids2)
    assert torch.allclose(a, b, atol=1e-5) and not torch.allclose(a, c, atol=1e-5)


SMALL_CPU_MODELS = {  # the same classes with narrow, shallow settings: real tensors stay cheap
    "lv-vit": lambda: lvvit.LVViT(img_size=96, embed_dim=48, depth=2, heads=3),
    "pvt": lambda: pvt_v1.PyramidVisionTransformer(img_size=96, embed_dims=(16, 32, 48, 64), heads=(1, 2, 3, 4),
                                                   depths=(1, 1, 1, 1)),  # also resizes 224-grid pos embeds
    "cswin": lambda: cswin.CSWinTransformer(img_size=96, embed_dim=16, depths=(1, 1, 1, 1), heads=(2, 2, 4, 8)),
    "focal": lambda: focal.FocalTransformer(img_size=96, embed_dim=16, depths=(1, 1, 1, 1), heads=(2, 2, 4, 8)),
}


@pytest.mark.parametrize("family", sorted(SMALL_CPU_MODELS))
def test_runs_on_cpu_with_real_values(family):
    torch.manual_seed(0)
    model = SMALL_CPU_MODELS[family]().eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 96, 96))
    assert out.shape == (2, 1000) and torch.isfinite(out).all()


def test_pvt_interpolates_position_embeddings_instead_of_growing():
    _, small = build_meta("pvt-s", 224)
    _, large = build_meta("pvt-s", 960)
    assert _layers.count_params(small) == _layers.count_params(large)

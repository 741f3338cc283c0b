"""The TReX attention-reuse transform (Section V-A, Fig. 4) on real registered models."""

import copy

import pytest
import torch
from torch import nn

from contracts.errors import UserError
from workloads import registry
from workloads.reuse.transform import ReusedAttention, apply_attention_reuse

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return registry.get("vit-tiny-digits").builder(img_size=8).eval()


def test_registered_demo_model_fields():
    spec = registry.get("vit-tiny-digits")
    assert (spec.family, spec.kind, spec.isotropic, spec.default_img, spec.size_multiple, spec.min_img,
            spec.num_classes, spec.in_chans) == ("vit-tiny", "vision", True, 8, 2, 8, 10, 1)
    model = spec.builder(img_size=8)
    assert len(model.blocks) == 8 and model.embed_dim == 64
    assert all(not b.attn.fused_attn for b in model.blocks)  # explicit QK^T and S.V
    infos = spec.structure(model, 8, None)
    assert [i.tokens for i in infos] == [17] * 8 and infos[0].heads == 4


def test_reusing_blocks_follow_the_naming_contract(tiny):
    reuse = apply_attention_reuse(tiny, [3, 6])
    for i, block in enumerate(reuse.blocks, start=1):
        if i in (3, 6):
            assert isinstance(block.attn, ReusedAttention)
            assert [n for n, _ in block.attn.named_children()] == ["tb", "proj"]
            tb = dict(block.attn.tb.named_children())
            assert isinstance(tb["norm"], nn.LayerNorm) and isinstance(tb["act"], nn.GELU)
            assert isinstance(tb["fc"], nn.Linear) and tuple(tb["fc"].weight.shape) == (64, 64)
            assert torch.equal(block.attn.proj.weight, tiny.blocks[i - 1].attn.proj.weight)
        else:
            assert type(block.attn) is type(tiny.blocks[i - 1].attn)
    # everything but the removed attention (qkv) is untouched; the TBs are new
    before, after = tiny.state_dict(), reuse.state_dict()
    removed = {k for k in before if k.startswith(("blocks.2.attn.qkv", "blocks.5.attn.qkv"))}
    assert set(before) - set(after) == removed
    assert all(torch.equal(before[k], after[k]) for k in before if k in after)
    assert {k for k in set(after) - set(before)} == {f"blocks.{b}.attn.tb.{p}" for b in (2, 5)
                                                     for p in ("norm.weight", "norm.bias", "fc.weight", "fc.bias")}


def test_input_model_is_not_modified_and_output_changes(tiny):
    x = torch.randn(4, 1, 8, 8)
    ref = tiny(x)
    reuse = apply_attention_reuse(tiny, [4])
    assert torch.equal(tiny(x), ref)
    assert reuse(x).shape == ref.shape and not torch.allclose(reuse(x), ref)


def test_tb_transforms_the_source_pre_projection_output(tiny):
    """Continuous run 3, 4 after 2: both TBs read encoder 2's concatenated attention output."""
    reuse = apply_attention_reuse(tiny, [3, 4])
    seen = {}
    hooks = [reuse.blocks[1].attn.proj.register_forward_pre_hook(lambda m, a: seen.__setitem__("src", a[0])),
             reuse.blocks[2].attn.tb.register_forward_pre_hook(lambda m, a: seen.__setitem__("tb3", a[0])),
             reuse.blocks[3].attn.tb.register_forward_pre_hook(lambda m, a: seen.__setitem__("tb4", a[0]))]
    reuse(torch.randn(2, 1, 8, 8))
    for h in hooks:
        h.remove()
    assert seen["tb3"] is seen["src"] and seen["tb4"] is seen["src"]
    assert reuse.blocks[3].attn.tap is reuse.blocks[2].attn.tap


def test_two_models_in_one_process_do_not_share_state(tiny):
    a = apply_attention_reuse(tiny, [2, 5], seed=1)
    b = copy.deepcopy(a)
    with torch.no_grad():
        b.blocks[0].attn.proj.weight.mul_(-1.0)  # b's source attention differs from a's
    x = torch.randn(3, 1, 8, 8)
    ya = a(x)
    yb = b(x)
    assert not torch.allclose(ya, yb)
    assert torch.equal(a(x), ya)  # a is unaffected by b having run
    assert a.blocks[1].attn.tap is not b.blocks[1].attn.tap


def test_same_seed_same_tb_weights(tiny):
    a, b = apply_attention_reuse(tiny, [3], seed=7), apply_attention_reuse(tiny, [3], seed=7)
    assert torch.equal(a.blocks[2].attn.tb.fc.weight, b.blocks[2].attn.tb.fc.weight)


def test_invalid_pattern_is_a_user_error(tiny):
    with pytest.raises(UserError):
        apply_attention_reuse(tiny, [1, 3])
    with pytest.raises(UserError):
        apply_attention_reuse(tiny, [9])


@pytest.mark.parametrize("name, kwargs, reuse", [("lv-vit-s", {"img_size": 224}, [3, 5]),
                                                 ("deit-s", {"img_size": 224}, [2, 3]),
                                                 ("bert-base", {"seq_len": 16}, [4, 5, 6])])
def test_other_isotropic_models_on_meta_device(name, kwargs, reuse):
    spec = registry.get(name)
    with torch.device("meta"):
        model = spec.builder(**kwargs)
    out = apply_attention_reuse(model, reuse)
    if spec.kind == "nlp":
        x = torch.zeros(1, kwargs["seq_len"], dtype=torch.long, device="meta")
    else:
        x = torch.empty(1, 3, 224, 224, device="meta")
    assert out(x).shape == model(x).shape
    assert sum(isinstance(b.attn, ReusedAttention) for b in out.blocks) == len(reuse)


def test_traced_reuse_deit_s_drops_attention_and_adds_tbs():
    """Tracing a reuse-optimised DeiT-S: N_reuse fewer attention blocks, N_reuse TBs, MACs reduced by
    N_reuse x (QKV + QK^T + S.V - TB) with t = 197 tokens, d = 384, 6 heads."""
    from workloads.tracer import trace

    base = trace("deit-s", img_size=224).graph
    reuse = trace("deit-s", img_size=224, reuse="strided:sl=2,start=3,n=4").graph
    n_reuse = 4

    def count(graph, role):
        return sum(any(op.role == role for op in b.ops) for s in graph.stages for b in s.blocks)

    assert count(base, "attn_qk") - count(reuse, "attn_qk") == n_reuse
    assert count(base, "attn_av") - count(reuse, "attn_av") == n_reuse
    assert count(base, "tb_fc") == 0 and count(reuse, "tb_fc") == n_reuse
    assert [b.attention_reused for b in reuse.stages[0].blocks] == [i in (3, 5, 7, 9) for i in range(1, 13)]
    t, d, h = 197, 384, 6
    removed = t * d * 3 * d + 2 * h * t * t * (d // h)
    added = t * d * d
    assert base.total_macs - reuse.total_macs == n_reuse * (removed - added)

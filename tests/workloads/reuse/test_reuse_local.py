"""Attention reuse inside the stages of local-attention models (Swin, PVT, Twins)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contracts.errors import UserError
from workloads import registry
from workloads.reuse.transform import ReusedAttention, apply_attention_reuse, stage_sources

torch.set_num_threads(1)


def test_sources_stay_inside_a_stage():
    # Swin-T: stages of 2, 2, 6, 2 blocks (1-based starts 1, 3, 5, 11)
    assert stage_sources([2, 4, 6, 7, 9], [2, 2, 6, 2]) == {2: 1, 4: 3, 6: 5, 7: 5, 9: 8}
    with pytest.raises(UserError, match="block 5 is the first block of its stage"):
        stage_sources([5], [2, 2, 6, 2])
    with pytest.raises(UserError):
        stage_sources([13], [2, 2, 6, 2])


@pytest.fixture(scope="module")
def swin_t():
    torch.manual_seed(0)
    return registry.get("swin-t").builder(img_size=224).eval()


def test_swin_reuse_reads_the_source_tokens_in_token_order(swin_t):
    """Block 2 (shifted windows) reuses block 1 (plain windows); block 8 (shifted) reuses block 7, 7 reuses 6
    (shifted): each reusing block's attention output is proj(TB(source attention output in token order))."""
    reuse = apply_attention_reuse(swin_t, [2, 7, 8])
    blocks = [b for layer in reuse.layers for b in layer.blocks]
    orig = [b for layer in swin_t.layers for b in layer.blocks]
    inputs, outputs = {}, {}
    hooks = [blocks[i - 1].register_forward_pre_hook(lambda m, a, i=i: inputs.__setitem__(i, a[0]))
             for i in (1, 6)]
    hooks += [blocks[i - 1].attn.register_forward_hook(lambda m, a, o, i=i: outputs.__setitem__(i, o))
              for i in (2, 7, 8)]
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        y = reuse(x)
        assert y.shape == swin_t(x).shape == (1, 1000)
        for h in hooks:
            h.remove()
        for reader, src in ((2, 1), (7, 6), (8, 6)):
            assert isinstance(blocks[reader - 1].attn, ReusedAttention)
            ob = orig[src - 1]
            proj, ob.attn.proj = ob.attn.proj, nn.Identity()
            try:
                z = ob._attn(ob.norm1(inputs[src]))  # the source's attention output, tokens in grid order
            finally:
                ob.attn.proj = proj
            attn = blocks[reader - 1].attn
            assert bool(orig[src - 1].shift_size[0]) == (src in (6,))
            assert torch.allclose(outputs[reader], attn.proj(attn.tb(z)), atol=1e-5)


def _trace(model, reuse=None):
    from workloads.tracer import trace

    return trace(model, img_size=224, reuse=reuse).graph


@pytest.mark.parametrize("model,spec,reused", [
    ("swin-t", "list:2,4,7,8,12", [2, 4, 7, 8, 12]),
    ("pvt-v2-b0", "list:2,4", [2, 4]),
])
def test_local_reuse_trace_keeps_shapes_and_drops_attention(model, spec, reused):
    base, rw = _trace(model), _trace(model, spec)
    assert rw.source.reuse_pattern == reused
    assert [b.index + 1 for b in rw.blocks() if b.attention_reused] == reused
    removed = tb = 0
    for b0, b1 in zip(base.blocks(), rw.blocks()):
        assert (b0.tokens, b0.dim, b0.branches, b0.stage) == (b1.tokens, b1.dim, b1.branches, b1.stage)
        assert b0.ops[-1].output_shape == b1.ops[-1].output_shape  # the block's output (last residual add)
        roles = {o.role for o in b1.ops}
        if b1.attention_reused:
            assert not roles & {"qkv", "q", "kv", "attn_qk", "attn_av", "attn_softmax", "sr"}
            fc = next(o for o in b1.ops if o.role == "tb_fc")
            assert fc.params == b1.dim * b1.dim + b1.dim and fc.macs == b1.tokens * b1.dim * b1.dim
            removed += b0.macs - b1.macs + fc.macs
            tb += fc.macs
        else:
            assert b0.macs == b1.macs
    assert base.total_macs - rw.total_macs == removed - tb

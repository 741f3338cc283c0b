"""Synthetic WorkloadGraphs for the Allspark tests (no torch): Swin-like models from their published shapes.

The shapes follow timm's Swin (patch 4, window 7, depths 2/2/18/2 for Swin-B,
C = 128, heads 4/8/16/32, MLP ratio 4); token grids are padded to a multiple of
the window, as Swin does, so 640 gives 23x23, 12x12, 6x6 and 3x3 windows.
"""

from __future__ import annotations

from contracts.workload import Block, Op, Source, Stage, WorkloadGraph


def _op(name, kind, role, ins, out, macs=0, params=0, per_branch=False):
    elements = 1
    for d in out:
        elements *= d
    return Op(name=name, kind=kind, role=role, input_shapes=ins, output_shape=out, macs=macs, elements=elements,
              params=params, per_branch=per_branch)


def swin_like(img=224, dim=128, depths=(2, 2, 18, 2), heads=(4, 8, 16, 32), window=7, patch=4, mlp_ratio=4,
              classes=1000, model="swin-b", interaction="shifted_window") -> WorkloadGraph:
    stages, between = [], []
    res = img // patch
    idx = 0
    total = 0
    pre = [_op("patch_embed.proj", "conv", "patch_embed", [[1, 3, img, img]], [1, dim, res, res],
               macs=res * res * dim * 3 * patch * patch, params=3 * patch * patch * dim + dim)]
    total += pre[0].macs
    c = dim
    for s, (depth, h) in enumerate(zip(depths, heads), start=1):
        if s > 1:
            cin = c
            c = 2 * c
            res //= 2
            m = res * res * 4 * cin * c
            between.append(_op(f"layers.{s - 1}.downsample.reduction", "linear", "patch_merge",
                               [[1, res, res, 4 * cin]], [1, res, res, c], macs=m, params=4 * cin * c))
            total += m
        pad = -(-res // window) * window
        g = pad // window
        br, n, d, hid = g * g, window * window, c // h, mlp_ratio * c
        tok = res * res
        blocks = []
        for _ in range(depth):
            ops = [
                _op("norm1", "layernorm", "norm1", [[1, tok, c]], [1, tok, c]),
                _op("attn.qkv", "linear", "qkv", [[br, n, c]], [br, n, 3 * c], macs=br * n * c * 3 * c,
                    params=3 * c * c + 3 * c),
                _op("attn.qk", "matmul", "attn_qk", [[br * h, n, d], [br * h, d, n]], [br * h, n, n],
                    macs=br * h * n * d * n, per_branch=True),
                _op("attn.softmax", "softmax", "attn_softmax", [[br, h, n, n]], [br, h, n, n], per_branch=True),
                _op("attn.av", "matmul", "attn_av", [[br * h, n, n], [br * h, n, d]], [br * h, n, d],
                    macs=br * h * n * n * d, per_branch=True),
                _op("attn.proj", "linear", "proj", [[br, n, c]], [br, n, c], macs=br * n * c * c, params=c * c + c),
                _op("norm2", "layernorm", "norm2", [[1, tok, c]], [1, tok, c]),
                _op("mlp.fc1", "linear", "fc1", [[1, tok, c]], [1, tok, hid], macs=tok * c * hid, params=c * hid + hid),
                _op("mlp.act", "gelu", "act", [[1, tok, hid]], [1, tok, hid]),
                _op("mlp.fc2", "linear", "fc2", [[1, tok, hid]], [1, tok, c], macs=tok * hid * c, params=hid * c + c),
            ]
            macs = sum(o.macs for o in ops)
            total += macs
            blocks.append(Block(index=idx, name=f"layers.{s - 1}.blocks.{len(blocks)}", stage=s, dim=c, heads=h,
                                head_dim=d, tokens=pad * pad, tokens_per_branch=n, kv_tokens_per_branch=n, branches=br,
                                window=[window, window], mlp_hidden=hid, interaction=interaction,
                                params=sum(o.params for o in ops), macs=macs, ops=ops))
            idx += 1
        stages.append(Stage(index=s, resolution=[pad, pad], dim=c, blocks=blocks))
    post = [_op("head.fc", "linear", "head", [[1, c]], [1, classes], macs=c * classes, params=c * classes + classes)]
    total += post[0].macs
    return WorkloadGraph(model=model, img_size=img, source=Source(definition="test:swin_like", torch_version="none"),
                         pre_ops=pre, stages=stages, post_ops=post, between_ops=between, total_macs=total,
                         total_params=0)


def swin_b(img=224) -> WorkloadGraph:
    return swin_like(img=img)


def test_swin_b_640_branch_counts():
    wl = swin_b(640)
    assert [s.blocks[0].branches for s in wl.stages] == [529, 144, 36, 9]
    assert sum(o.macs for o in wl.all_ops()) == wl.total_macs

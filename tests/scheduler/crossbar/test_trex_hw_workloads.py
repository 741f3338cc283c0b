"""Synthetic isotropic WorkloadGraphs for the crossbar tests (torch-free, built like the tracer's output).

Dimensions are the published ones (DeiT-S: d=384, 6 heads, MLP 1536, 12 encoders,
t = 14*14+1 = 197 at 224 px). The traced file is used when the tracer is there
(test_trace_matches_synthetic); these keep the fast tests free of torch.
"""

from __future__ import annotations

from contracts.workload import Block, Op, Source, Stage, WorkloadGraph

DIMS = {  # name: (encoders, d, heads, mlp hidden, tokens)
    "deit-s": (12, 384, 6, 1536, 197),
    "lv-vit-s": (16, 384, 6, 1152, 197),
    "vit-b": (12, 768, 12, 3072, 197),
    "bert-base": (12, 768, 12, 3072, 128),
    "tiny": (4, 64, 2, 128, 17),
}


def _lin(name, role, t, i, o):
    return Op(name=name, kind="linear", role=role, input_shapes=[[1, t, i]], output_shape=[1, t, o],
              macs=t * i * o, elements=t * o, params=i * o + o)


def _block(idx, d, h, mlp, t, reused):
    hd = d // h
    ops = [Op(name=f"blocks.{idx}.norm1", kind="layernorm", role="norm1", input_shapes=[[1, t, d]],
              output_shape=[1, t, d], macs=0, elements=t * d)]
    if reused:
        ops += [Op(name=f"blocks.{idx}.tb.norm", kind="layernorm", role="tb_norm", input_shapes=[[1, t, d]],
                   output_shape=[1, t, d], macs=0, elements=t * d),
                _lin(f"blocks.{idx}.tb.fc", "tb_fc", t, d, d),
                Op(name=f"blocks.{idx}.tb.act", kind="gelu", role="tb_act", input_shapes=[[1, t, d]],
                   output_shape=[1, t, d], macs=0, elements=t * d)]
    else:
        ops += [_lin(f"blocks.{idx}.attn.qkv", "qkv", t, d, 3 * d),
                Op(name=f"blocks.{idx}.attn", kind="matmul", role="attn_qk", input_shapes=[[1, h, t, hd], [1, h, hd, t]],
                   output_shape=[1, h, t, t], macs=h * t * t * hd, elements=h * t * t, per_branch=True),
                Op(name=f"blocks.{idx}.attn", kind="softmax", role="softmax", input_shapes=[[1, h, t, t]],
                   output_shape=[1, h, t, t], macs=0, elements=h * t * t, per_branch=True),
                Op(name=f"blocks.{idx}.attn", kind="matmul", role="attn_av", input_shapes=[[1, h, t, t], [1, h, t, hd]],
                   output_shape=[1, h, t, hd], macs=h * t * t * hd, elements=h * t * hd, per_branch=True)]
    ops += [_lin(f"blocks.{idx}.attn.proj", "proj", t, d, d),
            _lin(f"blocks.{idx}.mlp.fc1", "fc1", t, d, mlp),
            Op(name=f"blocks.{idx}.mlp.act", kind="gelu", role="gelu", input_shapes=[[1, t, mlp]],
               output_shape=[1, t, mlp], macs=0, elements=t * mlp),
            _lin(f"blocks.{idx}.mlp.fc2", "fc2", t, mlp, d)]
    return Block(index=idx, name=f"blocks.{idx}", stage=1, dim=d, heads=h, head_dim=hd, tokens=t, tokens_per_branch=t,
                 kv_tokens_per_branch=t, branches=1, mlp_hidden=mlp, interaction="none", attention_reused=reused,
                 params=0, macs=sum(o.macs for o in ops), ops=ops)


def isotropic_workload(name: str = "deit-s", reuse: list[int] | None = None) -> WorkloadGraph:
    """The model's encoders, with ``reuse`` (1-based encoders) replaced by TB-fed encoders."""
    n, d, h, mlp, t = DIMS[name]
    reuse = sorted(reuse or [])
    blocks = [_block(i, d, h, mlp, t, (i + 1) in reuse) for i in range(n)]
    head = _lin("head", "head", 1, d, 1000)
    return WorkloadGraph(model=name, img_size=224, source=Source(definition="synthetic", torch_version="none",
                                                                  reuse_pattern=reuse or None),
                         pre_ops=[], stages=[Stage(index=1, resolution=[t, 1], dim=d, blocks=blocks)], post_ops=[head],
                         total_macs=sum(b.macs for b in blocks) + head.macs, total_params=0)

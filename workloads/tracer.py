"""Trace a registered model into a WorkloadGraph from one forward pass on the meta device.

What is modelled
----------------
The model is built by its registry builder inside ``torch.device("meta")``: every
parameter and activation has its real shape but no storage, so even ViT-H at 960
costs a fraction of a second. One forward pass runs under two recorders:

* global module forward hooks keep the stack of nn.Modules currently executing
  (their dotted names), so every operator knows the module that issued it and
  the transformer block it belongs to (``ModelSpec.structure`` names the blocks);
* a ``TorchDispatchMode`` sees every ATen operator (after the functional
  layers have been decomposed), which is where MACs are counted: ``mm``,
  ``addmm``, ``bmm``, ``baddbmm`` and ``convolution`` - the same operators and
  formulas ``torch.utils.flop_counter.FlopCounterMode`` uses, so the two agree.

Leaf layers (``nn.Linear``, ``nn.Conv*``, ``nn.LayerNorm``, ``nn.GELU``,
``nn.Softmax``, ...) become one :class:`~contracts.workload.Op` per call, whatever
ATen operators they decompose into, and are classified *by module* (attribute
name and enclosing classes), never by ATen op name; see :func:`_module_role`.
Functional operators outside leaf layers become one Op each: activation x
activation products (``attn_qk`` before a softmax, ``attn_av`` after it),
softmax, layer norm, GELU, residual adds, scalings, pooling, embeddings, and
the data movement that crosses computational branches (``reshuffle``: cyclic
shift ``roll``, padding to whole windows, and the contiguous copy of a rank-6
tensor, which is how window partition/reverse lay a (grid x window) tensor out;
inside a patch-merging module that copy is the ``patch_merge`` concatenation).

Grouping: ops issued under a block's module go to that block; ops outside any
block go to ``pre_ops`` before the first block, ``post_ops`` after the last,
and ``between_ops`` otherwise (patch merging, stage embeddings, position
convolutions). Attention-core ops of a block (``attn_qk``, ``attn_av``,
softmax, and the scalings/bias adds issued by the attention module) carry
``per_branch=True``: they are identical over the block's branches.

What is abstracted
------------------
Views, permutes, reshapes, expands, indexing and dtype casts are not recorded;
neither are dropout (identity at inference) nor the values of the data.
Elementwise ops carry ``macs=0`` and their work in ``elements``.
A module may override its classification with a string attribute
``vitsim_role``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from contracts.errors import UserError
from workloads import registry
from workloads.registry import BlockInfo, ModelSpec
from contracts.workload import Block, Op, Source, Stage, WorkloadGraph, canonical_json

log = logging.getLogger(__name__)

# Attribute names are roles (qkv, q, k, v, kv, proj, fc1, fc2, sr, head, ...); synonyms other code bases use:
_ROLE_SYNONYMS = {
    "query": "q",
    "key": "k",
    "value": "v",
    "out_proj": "proj",
    "o_proj": "proj",
    "reduction": "patch_merge",
    "classifier": "head",
}
# Roles of the TReX transformation block (children of a module named 'tb').
_TB_ROLES = {"linear": "tb_fc", "layernorm": "tb_norm", "gelu": "tb_gelu", "act": "tb_gelu"}
_ATTENTION_CORE_ROLES = {"attn_qk", "attn_av", "attn_softmax", "attn_scale", "attn_bias"}
_WINDOW_COPY_RANK = 6
# hierarchical families whose stages the reuse transform supports (workloads/reuse/transform.py)
LOCAL_REUSE_FAMILIES = ("swin", "swin-tiny", "pvt", "pvt-v2", "twins-pcpvt", "twins-svt")  # (B, grid_h, win_h, grid_w, win_w, C): the layout of a window partition/reverse


@dataclass
class _Frame:
    name: str
    module: object
    leaf_kind: str | None  # OpKind when the module is recorded as one op
    is_attention: bool
    is_patch_merge: bool


@dataclass
class _LeafCall:
    frame: _Frame
    input_shapes: list[list[int]]
    macs: int = 0


@dataclass
class _Recorded:
    op: Op
    block: int | None
    place: str  # 'pre', 'block', 'between', 'post'


@dataclass
class _TraceState:
    """Bookkeeping shared by the module hooks and the dispatch mode (all O(1) per event)."""

    names: dict[int, str]
    block_of_path: dict[str, int]
    n_blocks: int
    stack: list[_Frame] = field(default_factory=list)
    leaf: _LeafCall | None = None
    leaf_depth: int = 0
    block_stack: list[int] = field(default_factory=list)
    blocks_done: int = 0
    blocks_started: int = 0
    after_softmax: bool = False
    ops: list[_Recorded] = field(default_factory=list)

    # ---------------------------------------------------------------- placement
    def _place(self) -> tuple[int | None, str]:
        if self.block_stack:
            return self.block_stack[-1], "block"
        if self.blocks_started == 0:
            return None, "pre"
        if self.blocks_done >= self.n_blocks:
            return None, "post"
        return None, "between"

    def emit(self, *, name: str, kind: str, role: str, input_shapes, output_shape, macs: int,
             elements: int, params: int = 0) -> None:
        block, place = self._place()
        per_branch = place == "block" and role in _ATTENTION_CORE_ROLES
        op = Op(
            name=name, kind=kind, role=role, input_shapes=input_shapes, output_shape=output_shape,
            macs=int(macs), elements=int(elements), params=int(params), per_branch=per_branch,
        )
        self.ops.append(_Recorded(op, block, place))


def _shape(t) -> list[int]:
    return [int(d) for d in t.shape]


def _numel(shape) -> int:
    return math.prod(int(d) for d in shape)


# ------------------------------------------------------------------ classifiers
def _leaf_kind(module, nn) -> str | None:
    """OpKind of a leaf layer recorded as one op, None for containers and no-op layers."""
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return "conv"
    if isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
        return "layernorm"
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
        return "batchnorm"
    if isinstance(module, nn.GELU):
        return "gelu"
    if isinstance(module, (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.Sigmoid, nn.Tanh)):
        return "act"
    if isinstance(module, nn.Softmax):
        return "softmax"
    if isinstance(module, nn.Embedding):
        return "embedding"
    if isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.MaxPool2d)):
        return "pool"
    return None


def _is_attention_module(name: str, module) -> bool:
    cls = type(module).__name__.lower()
    attr = name.rsplit(".", 1)[-1]
    return "attention" in cls or "attn" in cls or attr in ("attn", "attention", "self_attn")


def _is_patch_merge_module(module) -> bool:
    return "patchmerg" in type(module).__name__.lower()


def _name_parts(name: str) -> list[str]:
    return [p for p in name.split(".") if p and not p.isdigit()]


def _module_role(name: str, module, kind: str, enclosing: list[_Frame]) -> str:
    """Role of a leaf layer, from its attribute name and the modules around it."""
    explicit = getattr(module, "vitsim_role", None)
    if isinstance(explicit, str):
        return explicit
    parts = _name_parts(name)
    attr = parts[-1] if parts else name
    if "tb" in parts[:-1]:
        return _TB_ROLES.get(kind, f"tb_{attr}")
    enclosing_classes = [type(f.module).__name__.lower() for f in enclosing]
    if any("patchmerg" in c for c in enclosing_classes):
        return "patch_merge" if kind in ("linear", "conv") else attr
    if kind in ("linear", "conv") and (
        any("patchembed" in c or "stem" in c for c in enclosing_classes)
        or any(p in ("patch_embed", "patch_embeds", "stem") for p in parts)
    ):
        return "patch_embed"
    if kind == "conv" and (any("posconv" in c for c in enclosing_classes) or "pos_block" in parts):
        return "pos_conv"
    if parts and parts[0] in ("head", "classifier") and kind == "linear":
        return "head"
    if kind == "softmax":
        return "attn_softmax"
    attr = _ROLE_SYNONYMS.get(attr, attr)
    return attr


# ------------------------------------------------------------------- MAC counts
def _mm_macs(func_name: str, args) -> int:
    if func_name == "mm":
        a, b = args[0], args[1]
        return a.shape[0] * a.shape[1] * b.shape[1]
    if func_name == "addmm":
        a, b = args[1], args[2]
        return a.shape[0] * a.shape[1] * b.shape[1]
    if func_name == "bmm":
        a, b = args[0], args[1]
        return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
    if func_name == "baddbmm":
        a, b = args[1], args[2]
        return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
    raise AssertionError(func_name)


def _conv_macs(args, out) -> int:
    x, w = args[0], args[1]
    transposed = bool(args[6]) if len(args) > 6 else False
    # Same formula as torch.utils.flop_counter.conv_flop_count (flops = 2 * MACs).
    if transposed:
        return x.shape[0] * _numel(x.shape[2:]) * _numel(w.shape)
    return out.shape[0] * _numel(out.shape[2:]) * _numel(w.shape)


_MM_OPS = {"mm", "addmm", "bmm", "baddbmm"}
_CONV_OPS = {"convolution", "_convolution"}
_SOFTMAX_OPS = {"_softmax", "softmax", "_safe_softmax"}
_ACT_OPS = {"relu", "relu_", "silu", "silu_", "hardswish", "hardswish_", "sigmoid", "tanh", "gelu_"}
_ADD_OPS = {"add", "add_"}
_MUL_OPS = {"mul", "mul_", "div", "div_"}
_POOL_OPS = {"mean", "avg_pool2d", "_adaptive_avg_pool2d", "adaptive_avg_pool2d", "max_pool2d_with_indices"}
_COPY_OPS = {"clone", "_to_copy", "copy_"}
_BN_OPS = {"native_batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit"}
# ATen ops recorded as one Op each when issued outside a leaf layer (MAC ops and copies handled apart).
_FUNCTIONAL_OPS = (
    _SOFTMAX_OPS | _ACT_OPS | _ADD_OPS | _MUL_OPS | _POOL_OPS | _BN_OPS
    | {"native_layer_norm", "gelu", "roll", "constant_pad_nd", "embedding", "cat"}
)


class _Recorder:
    """Builds the dispatch mode and the module hooks around one forward pass."""

    def __init__(self, torch, model, blocks: list[BlockInfo]):
        self.torch = torch
        self.nn = torch.nn
        names = {id(m): n for n, m in model.named_modules()}
        block_of_path = {b.module: i for i, b in enumerate(blocks)}
        missing = [p for p in block_of_path if p not in set(names.values())]
        if missing:
            raise ValueError(f"structure() names block modules the model does not have: {missing[:3]}")
        self.state = _TraceState(names=names, block_of_path=block_of_path, n_blocks=len(blocks))
        self.leaf_kinds: dict[int, str | None] = {}

    # ------------------------------------------------------------- module hooks
    def pre_hook(self, module, args):
        st = self.state
        name = st.names.get(id(module))
        if name is None:  # a module outside the traced model (e.g. created on the fly)
            name = type(module).__name__
        key = id(module)
        if key not in self.leaf_kinds:
            self.leaf_kinds[key] = _leaf_kind(module, self.nn)
        kind = self.leaf_kinds[key]
        frame = _Frame(name, module, kind, _is_attention_module(name, module), _is_patch_merge_module(module))
        st.stack.append(frame)
        if name in st.block_of_path:
            st.block_stack.append(st.block_of_path[name])
            st.blocks_started += 1
            st.after_softmax = False
        if kind is not None:
            if st.leaf_depth == 0:
                shapes = [_shape(a) for a in args if isinstance(a, self.torch.Tensor)]
                st.leaf = _LeafCall(frame, shapes)
            st.leaf_depth += 1

    def post_hook(self, module, args, output):
        st = self.state
        frame = st.stack.pop()
        if frame.leaf_kind is not None:
            st.leaf_depth -= 1
            if st.leaf_depth == 0:
                call, st.leaf = st.leaf, None
                self._emit_leaf(call, output)
        if frame.name in st.block_of_path:
            st.block_stack.pop()
            st.blocks_done += 1

    def _emit_leaf(self, call: _LeafCall, output) -> None:
        st = self.state
        frame = call.frame
        out = output[0] if isinstance(output, (tuple, list)) else output
        out_shape = _shape(out) if isinstance(out, self.torch.Tensor) else []
        role = _module_role(frame.name, frame.module, frame.leaf_kind, st.stack)
        if frame.leaf_kind == "softmax":
            st.after_softmax = True
        st.emit(
            name=frame.name, kind=frame.leaf_kind, role=role, input_shapes=call.input_shapes,
            output_shape=out_shape, macs=call.macs, elements=_numel(out_shape),
            params=sum(p.numel() for p in frame.module.parameters()),
        )

    # ------------------------------------------------------------ dispatch mode
    def context_name(self) -> str:
        return self.state.stack[-1].name if self.state.stack else ""

    def in_attention(self) -> bool:
        st = self.state
        for fr in reversed(st.stack):
            if fr.is_attention:
                return True
            if fr.name in st.block_of_path:
                return False
        return False

    def in_patch_merge(self) -> bool:
        return any(fr.is_patch_merge for fr in self.state.stack)

    def on_aten(self, func, args, out) -> None:
        st = self.state
        op = func.overloadpacket.__name__
        if op in _MM_OPS or op in _CONV_OPS:
            macs = _mm_macs(op, args) if op in _MM_OPS else _conv_macs(args, out)
            if st.leaf is not None:
                st.leaf.macs += macs
                return
            self._emit_functional(op, args, out, macs)
            return
        if op in _COPY_OPS:
            src = args[1] if op == "copy_" else args[0]
            if isinstance(src, self.torch.Tensor) and src.dim() >= _WINDOW_COPY_RANK:
                self._emit_copy(src, out)
            return
        if st.leaf is not None:
            return  # everything else inside a leaf layer is part of that layer's single op
        if op in _FUNCTIONAL_OPS:
            self._emit_functional(op, args, out, 0)

    def _emit_functional(self, op: str, args, out, macs: int) -> None:
        st = self.state
        outs = out if isinstance(out, (tuple, list)) else (out,)
        first = outs[0]
        out_shape = _shape(first) if isinstance(first, self.torch.Tensor) else []
        tensors = args[0] if op == "cat" else args
        input_shapes = [_shape(a) for a in tensors if isinstance(a, self.torch.Tensor)]
        name = self.context_name()
        elements = _numel(out_shape)
        in_block = bool(st.block_stack)
        if op in _MM_OPS:
            kind, role = "matmul", ("attn_av" if st.after_softmax else "attn_qk")
            st.after_softmax = False
        elif op in _CONV_OPS:
            kind, role = "conv", _name_parts(name)[-1] if _name_parts(name) else "conv"
        elif op in _SOFTMAX_OPS:
            kind, role = "softmax", "attn_softmax"
            st.after_softmax = True
        elif op == "native_layer_norm":
            kind, role = "layernorm", "norm"
        elif op == "gelu":
            kind, role = "gelu", "gelu"
        elif op in _ACT_OPS:
            kind, role = "act", op.rstrip("_")
        elif op in _ADD_OPS:
            if not all(isinstance(a, self.torch.Tensor) for a in args[:2]):
                kind, role = "add", "add"
            elif in_block and self.in_attention():
                kind, role = "add", "attn_bias"
            elif in_block and st.stack and st.stack[-1].name in st.block_of_path:
                kind, role = "add", "residual"
            else:
                kind, role = "add", "add"
        elif op in _MUL_OPS:
            kind, role = "mul", ("attn_scale" if in_block and self.in_attention() else "scale")
        elif op in _POOL_OPS:
            kind, role = "pool", "pool"
        elif op in _BN_OPS:
            kind, role = "batchnorm", "norm"
        elif op == "embedding":
            kind, role = "embedding", "embedding"
        elif op == "roll":
            kind, role = "reshuffle", "cyclic_shift"
        elif op == "constant_pad_nd":
            if _numel(out_shape) == _numel(input_shapes[0]):
                return  # zero padding: nothing moves
            kind, role = "reshuffle", "pad"
        elif op == "cat":
            if self.in_patch_merge():
                kind, role = "patch_merge", "patch_merge"
            elif in_block:
                kind, role = "reshuffle", "concat"
            else:
                kind, role = "other", "concat"
        else:  # pragma: no cover - guarded by on_aten
            raise AssertionError(op)
        st.emit(name=name, kind=kind, role=role, input_shapes=input_shapes, output_shape=out_shape,
                macs=macs, elements=elements)

    def _emit_copy(self, src, out) -> None:
        """A contiguous copy of a rank-6 tensor: window partition/reverse, or patch-merge concatenation."""
        st = self.state
        out_t = out[0] if isinstance(out, (tuple, list)) else out
        shape = _shape(out_t) if isinstance(out_t, self.torch.Tensor) else _shape(src)
        if self.in_patch_merge():
            kind, role = "patch_merge", "patch_merge"
        else:
            kind, role = "reshuffle", ("window_reverse" if st.after_softmax or self._block_has_av() else
                                       "window_partition")
        name = st.leaf.frame.name if st.leaf is not None else self.context_name()
        st.emit(name=name, kind=kind, role=role, input_shapes=[_shape(src)], output_shape=shape, macs=0,
                elements=_numel(shape))

    def _block_has_av(self) -> bool:
        st = self.state
        if not st.block_stack:
            return False
        current = st.block_stack[-1]
        for rec in reversed(st.ops):
            if rec.block != current:
                return False
            if rec.op.role == "attn_av":
                return True
        return False


def _make_dispatch_mode(recorder: _Recorder):
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            recorder.on_aten(func, args, out)
            return out

    return _Mode()


# ----------------------------------------------------------------- public API
@dataclass(frozen=True)
class TraceResult:
    graph: WorkloadGraph
    seconds: float


def example_input(spec: ModelSpec, img_size: int | None, seq_len: int | None):
    """The input of one forward pass, on the meta device."""
    import torch

    if spec.example_input is not None:
        return spec.example_input(img_size, seq_len)
    if spec.kind == "nlp":
        return torch.zeros((1, seq_len), dtype=torch.long, device="meta")
    return torch.empty((1, spec.in_chans, img_size, img_size), device="meta")


def build_model(spec: ModelSpec, img_size: int | None, seq_len: int | None):
    """The registry builder's model, on the meta device, in eval mode."""
    import torch

    with torch.device("meta"):
        model = spec.builder(img_size=img_size, seq_len=seq_len)
    return model.eval()


def resolve_sizes(spec: ModelSpec, img_size: int | None, seq_len: int | None) -> tuple[int | None, int | None]:
    """Defaults and admissibility: (img_size, seq_len) the model will be traced at."""
    if spec.kind == "nlp":
        seq_len = seq_len if seq_len is not None else spec.default_seq_len
        if seq_len is None:
            raise UserError(f"model '{spec.name}' is a sequence model: give --seq-len")
        spec.check_seq_len(seq_len)
        return None, seq_len
    img_size = img_size if img_size is not None else spec.default_img
    if img_size is None:
        raise UserError(f"model '{spec.name}' needs an input size: give --img")
    spec.check_size(img_size)
    return img_size, None


def _apply_reuse(spec: ModelSpec, model, reuse_spec: str, n_blocks: int):
    if not spec.isotropic and spec.family not in LOCAL_REUSE_FAMILIES:
        raise UserError(
            f"attention reuse applies to isotropic models and to {', '.join(LOCAL_REUSE_FAMILIES)} stages, "
            f"and '{spec.name}' is {spec.family}"
        )
    from contracts.reuse_spec import parse_spec
    from workloads.reuse.transform import apply_attention_reuse

    reuse = sorted(parse_spec(reuse_spec, n_blocks))
    transformed = apply_attention_reuse(model, reuse)
    return (transformed if transformed is not None else model), reuse


def trace(model_name: str, img_size: int | None = None, seq_len: int | None = None,
          reuse: str | None = None) -> TraceResult:
    """Trace a registered model into a WorkloadGraph (raises UserError for user mistakes)."""
    spec = registry.get(model_name)
    img_size, seq_len = resolve_sizes(spec, img_size, seq_len)
    import torch

    t0 = time.perf_counter()
    torch.manual_seed(0)
    size_text = f"{img_size}x{img_size}" if spec.kind == "vision" else f"{seq_len} tokens"
    try:
        model = build_model(spec, img_size, seq_len)
    except (RuntimeError, AssertionError, ValueError) as e:
        raise UserError(f"model '{spec.name}' cannot be built for {size_text}: {_first_line(e)}") from None
    if spec.structure is None:
        raise UserError(f"model '{spec.name}' has no block-structure adapter registered, so it cannot be traced")
    blocks = spec.structure(model, img_size, seq_len)
    reuse_pattern = None
    if reuse:
        model, reuse_pattern = _apply_reuse(spec, model, reuse, len(blocks))
    recorder = _Recorder(torch, model, blocks)
    x = example_input(spec, img_size, seq_len)
    inputs = x if isinstance(x, tuple) else (x,)
    pre = torch.nn.modules.module.register_module_forward_pre_hook(recorder.pre_hook)
    post = torch.nn.modules.module.register_module_forward_hook(recorder.post_hook)
    try:
        with torch.no_grad(), _make_dispatch_mode(recorder):
            model(*inputs)
    except (RuntimeError, AssertionError, ValueError) as e:
        raise UserError(f"model '{spec.name}' cannot take {size_text}: {_first_line(e)}") from None
    finally:
        pre.remove()
        post.remove()
    graph = _assemble(spec, model, blocks, recorder.state.ops, img_size, seq_len, reuse_pattern)
    seconds = time.perf_counter() - t0
    log.debug("traced %s at %s in %.2f s", spec.name, size_text, seconds)
    return TraceResult(graph, seconds)


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0].rstrip(".") if text else type(e).__name__


def _assemble(spec: ModelSpec, model, blocks: list[BlockInfo], recorded: list[_Recorded],
              img_size, seq_len, reuse_pattern) -> WorkloadGraph:
    import torch

    try:
        import timm

        timm_version = timm.__version__ if spec.definition.startswith("timm:") else None
    except ImportError:  # pragma: no cover - timm is a pinned requirement
        timm_version = None
    modules = dict(model.named_modules())
    pre, between, post = [], [], []
    per_block: list[list[Op]] = [[] for _ in blocks]
    for rec in recorded:
        if rec.place == "block":
            per_block[rec.block].append(rec.op)
        else:
            {"pre": pre, "between": between, "post": post}[rec.place].append(rec.op)
    reused = set(reuse_pattern or [])
    stages: dict[int, list[Block]] = {}
    stage_info: dict[int, BlockInfo] = {}
    for i, (info, ops) in enumerate(zip(blocks, per_block)):
        params = sum(p.numel() for p in modules[info.module].parameters())
        block = Block(
            index=i, name=info.module, stage=info.stage, dim=info.dim, heads=info.heads,
            head_dim=max(1, info.dim // info.heads), tokens=info.tokens, tokens_per_branch=info.tokens_per_branch,
            kv_tokens_per_branch=info.kv_tokens_per_branch, branches=info.branches,
            window=list(info.window) if info.window else None, mlp_hidden=info.mlp_hidden,
            interaction=info.interaction, attention_reused=(i + 1) in reused, params=params,
            macs=sum(o.macs for o in ops), ops=ops,
        )
        stages.setdefault(info.stage, []).append(block)
        stage_info.setdefault(info.stage, info)
    stage_list = [
        Stage(index=s, resolution=list(stage_info[s].resolution), dim=stage_info[s].dim, blocks=stages[s])
        for s in sorted(stages)
    ]
    all_ops = pre + [o for ops in per_block for o in ops] + between + post
    return WorkloadGraph(
        model=spec.name, img_size=img_size, seq_len=seq_len,
        source=Source(
            definition=spec.definition or f"vitsim:{spec.family}", torch_version=torch.__version__.split("+")[0],
            timm_version=timm_version, reuse_pattern=reuse_pattern,
        ),
        pre_ops=pre, stages=stage_list, post_ops=post, between_ops=between,
        total_macs=sum(o.macs for o in all_ops), total_params=sum(p.numel() for p in model.parameters()),
    )


def write_graph(graph: WorkloadGraph, path: str) -> None:
    """Write a WorkloadGraph atomically as canonical JSON (byte-identical for the same inputs)."""
    from contracts.atomic import write_text

    write_text(path, canonical_json(graph) + "\n")

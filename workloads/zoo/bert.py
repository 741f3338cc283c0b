"""BERT-base for sequence classification ("BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding", Devlin et al. 2018), written from the paper and the layout of the
reference implementations (google-research/bert ``modeling.py``; HuggingFace
``BertForSequenceClassification``), with the two-class head TReX fine-tunes on CoLA.

What is modelled
----------------
* Embeddings: word (vocabulary 30522), learned absolute position (512 positions) and token-type
  (2 segments) tables, summed, then LayerNorm (eps 1e-12).
* 12 identical post-LayerNorm encoders, d = 768, 12 heads of 64, FFN 3072 with GELU:
  ``x = norm1(x + attn(x))``; ``x = norm2(x + mlp(x))``. Attribute names follow the timm
  convention used by every other model here (``blocks.{i}.attn.q/.k/.v/.proj``, ``.norm1``,
  ``.mlp.fc1/.fc2``, ``.norm2``) rather than HuggingFace's (``attention.self.query`` ...), so
  TReX can replace ``block.attn`` uniformly; note that in this post-LN layout ``norm1`` is
  applied AFTER the attention residual, not before the attention as in the vision models.
* Pooler (dense + tanh on the first, [CLS], token) and the classifier ``head`` (768 -> 2).

Input: int64 token ids of shape (batch, seq_len) (the tracer feeds zeros of shape (1, seq_len),
its default for ``kind='nlp'``), optionally ``token_type_ids`` and an ``attention_mask`` of 1/0
per token (absent: every token attends to every token, the case of a full-length sequence).
``seq_len`` is a builder parameter only to bound it by the 512-entry position table.

What is abstracted
------------------
Dropout (identity at inference), the pre-training heads (masked-LM, next-sentence), and the
tokenizer. The exact erf GELU of the reference is used.
"""

from __future__ import annotations

import torch
from torch import nn

from workloads.registry import BlockInfo, register_workload
from workloads.zoo._layers import Mlp, attention_core, merge_heads, split_heads

LN_EPS = 1e-12  # BERT's LayerNorm epsilon
MAX_POSITIONS = 512


class BertSelfAttention(nn.Module):
    """Multi-head self-attention with separate ``q``, ``k``, ``v`` projections and an output ``proj``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = (split_heads(layer(x), self.heads) for layer in (self.q, self.k, self.v))
        biases = () if mask_bias is None else (mask_bias,)
        return self.proj(merge_heads(attention_core(q, k, v, self.scale, *biases)))


class BertLayer(nn.Module):
    """Post-LN encoder: ``norm1(x + attn(x))`` then ``norm2(x + mlp(x))``."""

    def __init__(self, dim: int, heads: int, ffn: int):
        super().__init__()
        self.attn = BertSelfAttention(dim, heads)
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, ffn)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor | None = None) -> torch.Tensor:
        attn = self.attn(x) if mask_bias is None else self.attn(x, mask_bias)
        x = self.norm1(x + attn)
        return self.norm2(x + self.mlp(x))


class BertEmbeddings(nn.Module):
    def __init__(self, dim: int, vocab: int, max_positions: int, type_vocab: int):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(max_positions, dim)
        self.token_type_embeddings = nn.Embedding(type_vocab, dim)
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.register_buffer("position_ids", torch.arange(max_positions).unsqueeze(0), persistent=False)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(self.position_ids[:, :seq_len])
             + self.token_type_embeddings(token_type_ids))
        return self.norm(x)


class BertForSequenceClassification(nn.Module):
    def __init__(self, num_classes: int = 2, dim: int = 768, depth: int = 12, heads: int = 12, ffn: int = 3072,
                 vocab: int = 30522, max_positions: int = MAX_POSITIONS, type_vocab: int = 2):
        super().__init__()
        self.dim, self.heads, self.ffn = dim, heads, ffn
        self.embeddings = BertEmbeddings(dim, vocab, max_positions, type_vocab)
        self.blocks = nn.ModuleList(BertLayer(dim, heads, ffn) for _ in range(depth))
        self.pooler = nn.Sequential()
        self.pooler.add_module("dense", nn.Linear(dim, dim))
        self.pooler.add_module("act", nn.Tanh())
        self.head = nn.Linear(dim, num_classes)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embeddings(input_ids, token_type_ids)
        mask_bias = None
        if attention_mask is not None:  # (B, T) of 1/0 -> additive (B, 1, 1, T), as the reference
            mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for block in self.blocks:
            x = block(x, mask_bias)
        return self.head(self.pooler(x[:, 0]))


def bert_structure(model: BertForSequenceClassification, img_size: int | None, seq_len: int) -> list[BlockInfo]:
    """One branch of all seq_len tokens per encoder; global attention; resolution (T, 1)."""
    return [
        BlockInfo(module=f"blocks.{i}", stage=1, dim=model.dim, heads=model.heads, tokens=seq_len,
                  tokens_per_branch=seq_len, kv_tokens_per_branch=seq_len, branches=1, window=None,
                  mlp_hidden=model.ffn, interaction="none", resolution=(seq_len, 1))
        for i in range(len(model.blocks))
    ]


@register_workload(
    "bert-base", family="bert", kind="nlp", isotropic=True, default_img=None, default_seq_len=128,
    max_seq_len=MAX_POSITIONS, num_classes=2, structure=bert_structure, tags=("trex",),
    description="BERT-base (Devlin et al. 2018): 12 post-LN encoders, d=768, 12 heads, FFN 3072, "
                "2-class head (CoLA); input token ids (1, seq_len); vitsim's own module",
)
def bert_base(img_size: int | None = None, seq_len: int | None = 128) -> BertForSequenceClassification:
    if seq_len is not None and not 1 <= seq_len <= MAX_POSITIONS:
        raise ValueError(f"bert-base takes 1..{MAX_POSITIONS} tokens, got {seq_len}")
    return BertForSequenceClassification()

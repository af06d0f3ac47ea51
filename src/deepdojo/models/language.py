"""Language models over token ids: a small causal transformer (GPT) and RNN / GRU / LSTM models.

Every model here maps token ids ``(B, T)`` to next-token logits ``(B, T, V)``
and shares its input embedding with its output layer (weight tying: Press &
Wolf 2017; the decoder's rows are the token vectors).

- :class:`GPT` follows nanoGPT (Karpathy): learned positions, pre-norm blocks
  of causal self-attention and a 4x MLP, GELU, no biases by default. Each
  position sees only itself and earlier positions (a test checks that a
  future token never changes an earlier logit).
- :class:`RecurrentLM` is the curriculum's RNN / GRU / LSTM language model
  trained by truncated back-propagation through time: it carries its hidden
  state from one batch to the next (detached, so gradients stop at the batch
  boundary) when its loader feeds consecutive blocks of B parallel token
  streams (``batch_layout = "streams"``; see :mod:`deepdojo.data.tokens`).
  The carried state is dropped whenever the model switches between training
  and evaluation (``train()`` / ``eval()``: every epoch start and every
  validation pass), so a pass never depends on what ran before it.

:func:`sample` generates from either kind, reproducibly under a
``torch.Generator``.

Example:
    >>> import torch
    >>> m = GPT(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16)
    >>> m(torch.zeros(2, 8, dtype=torch.long)).shape
    torch.Size([2, 8, 11])
    >>> r = RecurrentLM(vocab_size=11, cell="gru", hidden_size=16)
    >>> r(torch.zeros(2, 5, dtype=torch.long)).shape
    torch.Size([2, 5, 11])
    >>> g = torch.Generator().manual_seed(0)
    >>> sample(r, torch.tensor([3, 4]), 6, generator=g).shape
    torch.Size([6])
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.registry import register_model
from deepdojo.models.sequence import CELLS, init_recurrent


# ---------------------------------------------------------------------------------------------- GPT
class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t attends to positions <= t."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool):
        super().__init__()
        if n_embd % n_head:
            raise ConfigError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})", where="model_kwargs",
                              fix="e.g. n_embd=128, n_head=4")
        self.n_head, self.dropout = n_head, dropout
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=bias)  # queries, keys and values in one matmul
        self.proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)  # 3 x (B, T, C)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(b, t, c)  # heads side by side again
        return self.resid_drop(self.proj(y))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd, bias=bias), nn.GELU(),
                                 nn.Linear(4 * n_embd, n_embd, bias=bias), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """A decoder-only transformer language model (nanoGPT's layout).

    Args:
        vocab_size: number of tokens ``V``.
        block_size: the longest context (learned position embeddings).
        n_layer, n_head, n_embd: depth, heads, width (``n_embd % n_head == 0``).
        dropout: on embeddings, attention weights and residual branches.
        bias: biases in linear layers and LayerNorms (nanoGPT: False is a little better and faster).
    """

    batch_layout = "blocks"  # any order of blocks will do: no state crosses a batch
    default_lr = 1e-3  # nanoGPT's peak LR (the CLI's language-model recipe, tasks/lm_recipe.py)
    default_grad_clip = 1.0  # nanoGPT clips the gradient norm at 1 (the Learner clips unless told)

    def __init__(self, vocab_size: int, block_size: int = 64, n_layer: int = 4, n_head: int = 4, n_embd: int = 128,
                 dropout: float = 0.0, bias: bool = False):
        super().__init__()
        self.vocab_size, self.block_size = vocab_size, block_size
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        self.pos_emb = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout, bias) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying: one (V, C) matrix reads and writes tokens
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: residual projections scaled by depth
            if name.endswith(("attn.proj.weight", "mlp.2.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def check_data(self, data) -> None:
        """Refuse data this model cannot read: more tokens than its vocabulary, blocks longer than its context."""
        _check_vocab(self.vocab_size, data)
        bs = getattr(data, "input_shape", None)
        if bs and len(bs) == 1 and bs[0] > self.block_size:
            raise ConfigError(f"the data's blocks have {bs[0]} tokens, the model's context is {self.block_size}",
                              where="block_size", fix=f"build the model with block_size={bs[0]} or more")

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def layer_groups(self) -> list[nn.Module]:
        # the tied token embedding is the head's weight: it lives in the last group (each parameter once)
        return [self.pos_emb, self.blocks, nn.ModuleList([self.ln_f, self.head])]

    def forward(self, idx: torch.Tensor) -> torch.Tensor:  # (B, T) ids -> (B, T, V) logits
        t = idx.shape[1]
        if t > self.block_size:
            raise ConfigError(f"a sequence of {t} tokens is longer than the model's block_size {self.block_size}",
                              where="block_size", fix=f"feed at most {self.block_size} tokens (generation crops for you)")
        pos = torch.arange(t, device=idx.device)  # (T,)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))  # (B, T, V)

    def step(self, idx: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Logits after the last of ``idx`` ``(B, t)`` given the context so far; the state is that context."""
        ctx = idx if state is None else torch.cat([state, idx], 1)
        ctx = ctx[:, -self.block_size:]  # (B, <= block_size): the window the model can see
        return self(ctx)[:, -1], ctx


# ---------------------------------------------------------------------------------------------- RNN / GRU / LSTM
class RecurrentLM(nn.Module):
    """Embedding -> ``num_layers`` x RNN / GRU / LSTM -> linear decoder tied to the embedding.

    Args:
        vocab_size: number of tokens ``V``.
        cell: ``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``.
        hidden_size, num_layers: the recurrent stack.
        embed_dim: token vector size (default ``hidden_size``); when it differs
            from ``hidden_size`` a linear layer maps the state to it before the tied decoder.
        dropout: on embeddings, between recurrent layers and before the decoder.
        tie_weights: share the embedding with the decoder.
        carry_state: carry the hidden state across consecutive batches (truncated BPTT).
    """

    batch_layout = "streams"  # row b of a batch continues row b of the previous batch
    default_lr = 2e-3  # char-rnn's LR (the CLI's language-model recipe, tasks/lm_recipe.py)
    default_grad_clip = 1.0  # exploding gradients are the recurrent failure mode (the Learner clips unless told)

    def __init__(self, vocab_size: int, cell: str = "lstm", hidden_size: int = 256, num_layers: int = 2,
                 embed_dim: int | None = None, dropout: float = 0.1, tie_weights: bool = True,
                 carry_state: bool = True):
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"unknown cell {cell!r}", where="cell", fix=f"use one of {', '.join(CELLS)}")
        embed_dim = embed_dim or hidden_size
        self.cell, self.vocab_size, self.carry_state = cell, vocab_size, carry_state
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.drop = nn.Dropout(dropout)
        self.rnn = CELLS[cell](embed_dim, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        init_recurrent(self.rnn)
        self.bridge = nn.Linear(hidden_size, embed_dim) if embed_dim != hidden_size else nn.Identity()
        self.decoder = nn.Linear(embed_dim, vocab_size)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if tie_weights:
            self.decoder.weight = self.embedding.weight  # (V, E) shared
        else:
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        self.state: Any = None  # the carried hidden state: (layers, B, H), or (h, c) for an LSTM; never saved

    def check_data(self, data) -> None:
        """Refuse data this model cannot read: more tokens than its vocabulary."""
        _check_vocab(self.vocab_size, data)

    def layer_groups(self) -> list[nn.Module]:
        head = nn.ModuleList([self.bridge, self.decoder])  # tied: the decoder's weight is the embedding
        return [self.rnn, head] if self.decoder.weight is self.embedding.weight else [self.embedding, self.rnn, head]

    def train(self, mode: bool = True) -> "RecurrentLM":
        self.reset_state()  # a new epoch or a switch to evaluation starts every stream afresh
        return super().train(mode)

    def reset_state(self) -> None:
        """Forget the carried hidden state (the next batch starts from zeros)."""
        self.state = None

    def step(self, idx: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Logits after the last of ``idx`` ``(B, t)`` and the hidden state after it."""
        logits, state = self.run(idx, state)
        return logits[:, -1], state

    def run(self, idx: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """``(B, T)`` ids and a hidden state (None: zeros) -> logits ``(B, T, V)`` and the state after ``T`` steps."""
        h, state = self.rnn(self.drop(self.embedding(idx)), state)  # (B, T, H)
        return self.decoder(self.drop(self.bridge(h))), state  # (B, T, V)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:  # (B, T) ids -> (B, T, V) logits
        state = self.state if self.carry_state and _fits(self.state, idx) else None
        logits, state = self.run(idx, state)
        if self.carry_state:  # detached: back-propagation is truncated at the batch boundary
            self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return logits


def _check_vocab(vocab_size: int, data) -> None:
    n = getattr(data, "num_classes", None)
    if n is not None and n > vocab_size:
        raise ConfigError(f"the data has {n} tokens but the model's vocabulary only {vocab_size}",
                          where="vocab_size", fix=f"build the model with vocab_size={n}")


def _fits(state: Any, idx: torch.Tensor) -> bool:
    """A carried state continues this batch only if it has one row per batch row on the same device."""
    if state is None:
        return False
    h = state[0] if isinstance(state, tuple) else state  # (layers, B, H)
    return h.shape[1] == idx.shape[0] and h.device == idx.device


# ---------------------------------------------------------------------------------------------- sampling
@torch.no_grad()
def sample(model: nn.Module, prompt: torch.Tensor, length: int, temperature: float = 1.0, top_k: int | None = None,
           generator: torch.Generator | None = None, banned: tuple[int, ...] = ()) -> torch.Tensor:
    """``length`` new token ids ``(length,)`` continuing ``prompt`` ``(T0,)``, one token at a time.

    ``temperature`` divides the logits (0: always the most likely token);
    ``top_k`` keeps only the k most likely tokens; ``banned`` ids (padding,
    unknown) are never drawn. Draws use ``generator`` only (the global RNG is
    left alone), so a seeded generator gives the same text every time.
    """
    if len(prompt) == 0:
        raise ConfigError("the prompt is empty", where="prompt", fix="give at least one token to start from")
    if temperature < 0:
        raise ConfigError(f"temperature must be >= 0, got {temperature}", where="temperature", fix="e.g. 0.8")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}", where="top_k", fix="e.g. 40, or leave it out")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.empty(length, dtype=torch.long)
    try:
        logits, state = model.step(prompt.to(device).unsqueeze(0))  # (1, V)
        for i in range(length):
            z = logits[0].float().cpu()  # (V,): draws happen on the CPU, so the generator decides them on any device
            if banned:
                z[list(banned)] = float("-inf")
            if top_k is not None and top_k < len(z):
                kth = z.topk(top_k).values[-1]
                z = z.masked_fill(z < kth, float("-inf"))
            if temperature == 0:
                nxt = int(z.argmax())
            else:
                nxt = int(torch.multinomial((z / temperature).softmax(-1), 1, generator=generator))
            out[i] = nxt
            logits, state = model.step(torch.tensor([[nxt]], device=device), state)
    finally:
        model.train(was_training)
    return out


# ---------------------------------------------------------------------------------------------- registry
def _vocab(num_classes: int, vocab_size: int | None) -> int:
    """A language model reads and predicts the same tokens: its outputs are its vocabulary."""
    if vocab_size is not None and vocab_size != num_classes:
        raise ConfigError(f"a language model predicts its own tokens: vocab_size {vocab_size} != outputs {num_classes}",
                          where="vocab_size", fix="leave vocab_size out, or make it the number of outputs")
    return num_classes


@register_model("gpt", kind="language_model", example={
    "input_shape": (12,), "kwargs": {"block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 16}})  # vocab = outputs
def gpt(num_classes: int, vocab_size: int | None = None, **kw) -> GPT:
    """A small causal transformer LM (defaults: nanoGPT's CPU recipe, 4 layers x 4 heads x 128, block 64)."""
    return GPT(_vocab(num_classes, vocab_size), **kw)


def _recurrent(cell: str):
    def build(num_classes: int, vocab_size: int | None = None, block_size: int | None = None, **kw) -> RecurrentLM:
        return RecurrentLM(_vocab(num_classes, vocab_size), cell=cell, **kw)  # block_size: the data's BPTT length

    build.__doc__ = f"A {cell.upper()} language model with tied weights, trained by truncated BPTT."
    return build


for _cell in CELLS:
    register_model(f"{_cell}_lm", kind="language_model", example={
        "input_shape": (12,), "kwargs": {"hidden_size": 16, "num_layers": 2}})(_recurrent(_cell))

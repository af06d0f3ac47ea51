"""Encoder-decoder (GRU / LSTM) with Bahdanau or Luong attention, greedy and beam-search decoding.

Source ids ``(B, S)`` (0 = padding) -> target logits ``(B, L, V)``. The
encoder is a bidirectional RNN over the packed source (padding is never
read); its final states start the decoder through a ``tanh`` bridge. At each
target step the decoder looks at the encoder outputs through attention whose
scores at padded positions are ``-inf`` (so appending padding changes no
output):

- ``"bahdanau"`` (Bahdanau et al. 2015): additive scores
  ``v . tanh(W q + U k)`` from the previous decoder state; the context enters
  the RNN input and the output layer.
- ``"luong"`` (Luong et al. 2015): ``general`` scores ``q . W k`` from the
  current decoder state; ``tanh(W_c [h; c])`` feeds the output layer and the
  next step's input (input feeding).
- ``"none"``: the baseline of Cho / Sutskever: the decoder sees only a fixed
  summary of the source (the encoder's last states) at every step.

``forward(src, tgt, teacher_forcing)`` feeds the true previous target token
with probability ``teacher_forcing`` per row and step (the model's own
arg-max otherwise); without ``tgt`` it decodes greedily for ``max_len`` steps.
Target ids: ``<pad>`` 0, ``<unk>`` 1, ``<sos>`` 2, ``<eos>`` 3; targets padded with -100.

Example:
    >>> import torch
    >>> m = Seq2Seq(num_classes=9, vocab_size=12, hidden_size=16, embed_dim=8, max_len=5)
    >>> src = torch.tensor([[4, 5, 6, 0], [7, 8, 0, 0]])
    >>> m(src).shape, m.greedy(src).shape, len(m.beam_search(src, beam_width=3))
    (torch.Size([2, 5, 9]), torch.Size([2, 5]), 2)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from deepdojo.errors import ConfigError
from deepdojo.models.registry import register_model
from deepdojo.models.sequence import CELLS, init_recurrent

PAD, SOS, EOS = 0, 2, 3
ATTENTIONS = ("bahdanau", "luong", "none")


class Attention(nn.Module):
    """Scores of a query ``(B, Q)`` against keys ``(B, S, K)``; masked positions get weight 0."""

    def __init__(self, kind: str, query_dim: int, key_dim: int, attn_dim: int):
        super().__init__()
        self.kind = kind
        if kind == "bahdanau":  # additive
            self.w_q = nn.Linear(query_dim, attn_dim, bias=False)
            self.w_k = nn.Linear(key_dim, attn_dim)
            self.v = nn.Linear(attn_dim, 1, bias=False)
        else:  # luong "general": q . W k
            self.w = nn.Linear(key_dim, query_dim, bias=False)

    def keys(self, enc: torch.Tensor) -> torch.Tensor:
        """The part of the scores that depends on the keys only, computed once per source: ``(B, S, A)``."""
        return self.w_k(enc) if self.kind == "bahdanau" else self.w(enc)

    def forward(self, q: torch.Tensor, enc: torch.Tensor, pre: torch.Tensor, mask: torch.Tensor):
        if self.kind == "bahdanau":
            e = self.v(torch.tanh(self.w_q(q)[:, None] + pre)).squeeze(-1)  # (B, S)
        else:
            e = torch.bmm(pre, q[:, :, None]).squeeze(-1)  # (B, S)
        a = e.masked_fill(~mask, float("-inf")).softmax(-1)  # (B, S): padding gets exactly 0
        return torch.bmm(a[:, None], enc).squeeze(1), a  # context (B, K), weights (B, S)


class Seq2Seq(nn.Module):
    """See the module docstring.

    Args:
        num_classes: target vocabulary size ``V``.
        vocab_size: source vocabulary size.
        cell: ``"gru"`` or ``"lstm"`` (``"rnn"`` works too).
        attention: ``"bahdanau"``, ``"luong"`` or ``"none"``.
        embed_dim, hidden_size, num_layers, dropout: sizes of both RNNs.
        max_len: target steps decoded without a target (the data's target width).
    """

    def __init__(self, num_classes: int, vocab_size: int, cell: str = "gru", attention: str = "bahdanau",
                 embed_dim: int = 64, hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.1,
                 max_len: int = 32):
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"unknown cell {cell!r}", where="cell", fix=f"use one of {', '.join(CELLS)}")
        if attention not in ATTENTIONS:
            raise ConfigError(f"unknown attention {attention!r}", where="attention", fix=f"use one of {', '.join(ATTENTIONS)}")
        h, e = hidden_size, embed_dim
        self.cell, self.attention, self.hidden_size, self.num_layers, self.max_len = cell, attention, h, num_layers, max_len
        self.src_emb = nn.Embedding(vocab_size, e, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(num_classes, e)
        self.drop = nn.Dropout(dropout)
        rnn_dropout = dropout if num_layers > 1 else 0.0
        self.encoder = CELLS[cell](e, h, num_layers, batch_first=True, bidirectional=True, dropout=rnn_dropout)
        self.bridge = nn.ModuleList(nn.Linear(2 * h, h) for _ in range(2 if cell == "lstm" else 1))  # (h[, c])
        feed = h if attention == "luong" else 2 * h  # what joins the embedding at the decoder's input
        self.decoder = CELLS[cell](e + feed, h, num_layers, batch_first=True, dropout=rnn_dropout)
        if attention == "none":
            self.attn = None
        else:
            self.attn = Attention(attention, h, 2 * h, h)
        if attention == "luong":
            self.combine = nn.Linear(3 * h, h)
            self.out = nn.Linear(h, num_classes)
        else:
            self.out = nn.Linear(h + 2 * h + e, num_classes)
        init_recurrent(self.encoder), init_recurrent(self.decoder)

    # ----------------------------------------------------------------------------------- encoder
    def encode(self, src: torch.Tensor):
        """``(B, S)`` ids -> outputs ``(B, S, 2H)``, mask ``(B, S)``, decoder start state, summary ``(B, 2H)``."""
        mask = src != PAD  # (B, S)
        lengths = mask.sum(1).clamp(min=1)
        packed = pack_padded_sequence(self.drop(self.src_emb(src)), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, state = self.encoder(packed)
        enc, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])  # (B, S, 2H), zeros at padding
        states = state if isinstance(state, tuple) else (state,)
        b = src.shape[0]
        both = [s.view(self.num_layers, 2, b, self.hidden_size) for s in states]  # (layers, dir, B, H)
        start = tuple(torch.tanh(lin(torch.cat([s[:, 0], s[:, 1]], -1))) for lin, s in zip(self.bridge, both))
        summary = torch.cat([both[0][-1, 0], both[0][-1, 1]], -1)  # (B, 2H): the top layer's last states
        return enc, mask, start if self.cell == "lstm" else start[0], summary

    # ----------------------------------------------------------------------------------- one decoder step
    def decode_step(self, y_prev, state, enc, pre, mask, summary, feed):
        """Previous tokens ``(B,)`` -> logits ``(B, V)``, new state, new input feed, attention ``(B, S)`` or None."""
        emb = self.drop(self.tgt_emb(y_prev))  # (B, E)
        a = None
        if self.attention == "bahdanau":
            top = (state[0] if isinstance(state, tuple) else state)[-1]  # (B, H): the previous state asks
            ctx, a = self.attn(top, enc, pre, mask)
            out, state = self.decoder(torch.cat([emb, ctx], -1)[:, None], state)
            logits = self.out(self.drop(torch.cat([out[:, 0], ctx, emb], -1)))
        elif self.attention == "luong":
            out, state = self.decoder(torch.cat([emb, feed], -1)[:, None], state)
            ctx, a = self.attn(out[:, 0], enc, pre, mask)  # the current state asks
            feed = torch.tanh(self.combine(torch.cat([out[:, 0], ctx], -1)))  # (B, H)
            logits = self.out(self.drop(feed))
        else:
            out, state = self.decoder(torch.cat([emb, summary], -1)[:, None], state)
            logits = self.out(self.drop(torch.cat([out[:, 0], summary, emb], -1)))
        return logits, state, feed, a

    def _start(self, src: torch.Tensor):
        enc, mask, state, summary = self.encode(src)
        pre = self.attn.keys(enc) if self.attn is not None else None
        feed = enc.new_zeros(src.shape[0], self.hidden_size)
        return enc, mask, state, summary, pre, feed

    # ----------------------------------------------------------------------------------- training / greedy
    def forward(self, src: torch.Tensor, tgt: torch.Tensor | None = None, teacher_forcing: float = 1.0,
                return_attention: bool = False):
        """Logits ``(B, L, V)`` (and attention ``(B, L, S)`` if asked); ``L`` = target width or ``max_len``."""
        enc, mask, state, summary, pre, feed = self._start(src)
        b = src.shape[0]
        steps = tgt.shape[1] if tgt is not None else self.max_len
        y = torch.full((b,), SOS, dtype=torch.long, device=src.device)
        logits, weights = [], []
        for t in range(steps):
            z, state, feed, a = self.decode_step(y, state, enc, pre, mask, summary, feed)
            logits.append(z)
            weights.append(a)
            y = z.argmax(-1)  # the model's own guess ...
            if tgt is not None and teacher_forcing > 0:
                truth = tgt[:, t].clamp(min=0)  # (-100 padding after <eos> -> <pad>: never scored)
                if teacher_forcing >= 1:
                    y = truth
                else:  # ... or, per row, the true token with probability teacher_forcing
                    y = torch.where(torch.rand(b, device=src.device) < teacher_forcing, truth, y)
        out = torch.stack(logits, 1)  # (B, L, V)
        if return_attention:
            return out, (torch.stack(weights, 1) if self.attn is not None else None)  # (B, L, S)
        return out

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
        """Arg-max decoding: token ids ``(B, L)`` (read each row up to its first ``<eos>``)."""
        keep = self.max_len
        self.max_len = max_len or keep
        try:
            return self(src).argmax(-1)
        finally:
            self.max_len = keep

    # ----------------------------------------------------------------------------------- beam search
    @torch.no_grad()
    def beam_search(self, src: torch.Tensor, beam_width: int = 5, max_len: int | None = None,
                    length_penalty: float = 0.0) -> list[list[int]]:
        """The best-scoring sequence per row (ids without ``<eos>``), keeping ``beam_width`` hypotheses per step.

        Scores are summed log-probabilities divided by ``length ** length_penalty``
        (0: none). A row stops when ``beam_width`` hypotheses have ended; width 1 is greedy decoding.
        """
        if beam_width < 1:
            raise ConfigError(f"beam_width must be >= 1, got {beam_width}", where="beam_width", fix="e.g. 5")
        steps = max_len or self.max_len
        return [self._beam_one(src[i:i + 1], beam_width, steps, length_penalty) for i in range(len(src))]

    def _beam_one(self, src: torch.Tensor, k: int, steps: int, alpha: float) -> list[int]:
        enc, mask, state, summary, pre, feed = self._start(src)  # batch of 1; beams index into it
        scores = enc.new_zeros(1)  # (n,) summed log-probabilities of the alive beams
        seqs: list[list[int]] = [[]]
        y = torch.full((1,), SOS, dtype=torch.long, device=src.device)
        finished: list[tuple[float, list[int]]] = []
        for t in range(steps):
            n = len(seqs)
            logp, state, feed, _ = self.decode_step(y, state, enc.expand(n, -1, -1), None if pre is None else
                                                    pre.expand(n, -1, -1), mask.expand(n, -1),
                                                    summary.expand(n, -1), feed)
            cand = (scores[:, None] + logp.float().log_softmax(-1)).view(-1)  # (n * V,)
            top = cand.topk(min(k, cand.numel()))
            v = logp.shape[1]
            parents, tokens = top.indices // v, top.indices % v
            keep = []
            for s, p, tok in zip(top.values.tolist(), parents.tolist(), tokens.tolist()):
                if tok == EOS:
                    finished.append((s / max(len(seqs[p]) + 1, 1) ** alpha, seqs[p]))
                else:
                    keep.append((s, p, tok))
            if len(finished) >= k or not keep:
                break
            idx = torch.tensor([p for _, p, _ in keep], device=src.device)
            seqs = [seqs[p] + [tok] for _, p, tok in keep]
            scores = torch.tensor([s for s, _, _ in keep], device=src.device)
            y = torch.tensor([tok for _, _, tok in keep], device=src.device)
            state = tuple(s[:, idx] for s in state) if isinstance(state, tuple) else state[:, idx]
            feed = feed[idx]
        if not finished:  # nothing ended within max_len: the best unfinished hypothesis
            finished = [(float(s) / max(len(q), 1) ** alpha, q) for s, q in zip(scores.tolist(), seqs)]
        return max(finished, key=lambda f: f[0])[1]


def _build(cell: str):
    def build(num_classes: int, vocab_size: int | None = None, **kw) -> Seq2Seq:
        if vocab_size is None:
            raise ConfigError("a seq2seq model needs the source vocabulary size", where="model_kwargs",
                              fix="pass vocab_size=<number of source tokens>")
        return Seq2Seq(num_classes, vocab_size, cell=cell, **kw)

    build.__doc__ = f"A {cell.upper()} encoder-decoder with attention (attention='bahdanau' | 'luong' | 'none')."
    return build


for _cell in ("gru", "lstm"):
    register_model(f"seq2seq_{_cell}", kind="seq2seq", example={
        "input_shape": (10,), "kwargs": {"vocab_size": 20, "hidden_size": 16, "embed_dim": 8, "max_len": 6}})(
        _build(_cell))

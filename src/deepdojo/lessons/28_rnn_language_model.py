# %% [markdown]
# # Lesson 28: RNN, GRU and LSTM cells; a character language model that writes
#
# **Minutes:** 1
# **Asserts:** a hand-written RNN step and GRU step equal PyTorch's nn.RNN / nn.GRU (max difference < 1e-5); a GRU language model's validation loss beats the best character bigram model counted from the same text (nats/char, lower by >= 0.3) and perplexity = exp(loss); generation is reproducible under a seed; at temperature 0.5 >= 70% of generated words are real words of the corpus, at least 30 points more than at temperature 2
#
# A recurrent network reads a sequence one step at a time and carries a
# hidden state: `h_t = f(x_t, h_{t-1})`. Trained to predict the next
# character, it becomes a language model; sampling from its predictions, one
# character at a time, makes it write.

# %%
import math
from collections import Counter

import numpy as np
import torch
from torch import nn

from deepdojo import Learner
from deepdojo.data import text_file
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model

lesson = begin(28)
torch.manual_seed(0)

# %% [markdown]
# ## 1. The cells, written out
# The plain RNN: `h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`. Its
# gradient through many steps is a product of many Jacobians, so it vanishes
# or explodes. The GRU adds gates: an update gate `z` decides how much of the
# old state to keep (`h_t = (1 - z) * n + z * h_{t-1}`), a reset gate `r`
# how much of it feeds the candidate `n`. Keeping is the default path, so
# information (and gradient) survives many steps. The LSTM does the same with a
# separate cell state and forget/input/output gates.

# %%
x = torch.randn(3, 7, 4)  # (B, T, features)
rnn, gru = nn.RNN(4, 5, batch_first=True), nn.GRU(4, 5, batch_first=True)


def rnn_by_hand(x):
    h = torch.zeros(x.shape[0], 5)
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
    return h


def gru_by_hand(x):
    h = torch.zeros(x.shape[0], 5)
    w_ir, w_iz, w_in = gru.weight_ih_l0.chunk(3)  # PyTorch's gate order: reset, update, new
    w_hr, w_hz, w_hn = gru.weight_hh_l0.chunk(3)
    b_ir, b_iz, b_in = gru.bias_ih_l0.chunk(3)
    b_hr, b_hz, b_hn = gru.bias_hh_l0.chunk(3)
    for t in range(x.shape[1]):
        xt = x[:, t]
        r = torch.sigmoid(xt @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
        z = torch.sigmoid(xt @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
        n = torch.tanh(xt @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
        h = (1 - z) * n + z * h
    return h


with torch.no_grad():
    lesson.check("max |hand RNN - nn.RNN| (last state)", (rnn_by_hand(x) - rnn(x)[1][0]).abs().max(), "<", 1e-5,
                 fmt=".1e")
    lesson.check("max |hand GRU - nn.GRU| (last state)", (gru_by_hand(x) - gru(x)[1][0]).abs().max(), "<", 1e-5,
                 fmt=".1e")

# %% [markdown]
# ## 2. A corpus with structure
# A small generated "language": sentences from a grammar of a few dozen words.
# Which character comes next depends on the word being spelled and on the
# sentence so far, more than on the previous character alone.

# %%
rng = np.random.default_rng(0)
words = {
    "det": ["the", "a", "every", "no"],
    "adj": ["quiet", "green", "clever", "tired", "brave", "small"],
    "noun": ["cat", "river", "teacher", "engine", "garden", "robot", "sailor"],
    "verb": ["watches", "follows", "paints", "remembers", "carries", "answers"],
    "adv": ["slowly", "today", "again", "gladly"],
}


def sentence():
    s = [rng.choice(words["det"])] + ([rng.choice(words["adj"])] if rng.random() < 0.5 else [])
    s += [rng.choice(words["noun"]), rng.choice(words["verb"]), rng.choice(words["det"]), rng.choice(words["noun"])]
    s += [rng.choice(words["adv"])] if rng.random() < 0.3 else []
    return " ".join(s) + "."


corpus = "\n".join(sentence() for _ in range(600)) + "\n"
lesson.out.mkdir(parents=True, exist_ok=True)
path = lesson.out / "grammar.txt"
path.write_text(corpus)
known_words = {w for ws in words.values() for w in ws}
print(f"   {len(corpus):,} characters; e.g. {corpus.splitlines()[0]!r}")

# %% [markdown]
# ## 3. The bar to beat: counting character pairs
# A bigram model predicts the next character from the previous one only:
# `p(b | a) = (count(ab) + 1) / (count(a.) + V)`, counted on the training 90%.
# Its loss on the last 10% is what a model with no longer memory can reach.

# %%
data = text_file(path, level="char", block_size=32, batch_size=16, valid_pct=0.1)
vocab = data.info["vocab"]
cut = len(corpus) - math.ceil(len(corpus) * 0.1)  # the same contiguous split as text_file
train_text, valid_text = corpus[:cut], corpus[cut:]
pairs, firsts, V = Counter(zip(train_text, train_text[1:])), Counter(train_text[:-1]), len(vocab)
bigram = -np.mean([math.log((pairs[a, b] + 1) / (firsts[a] + V)) for a, b in zip(valid_text, valid_text[1:])])
print(f"   bigram model: {bigram:.3f} nats/char ({bigram / math.log(2):.2f} bits)")

# %% [markdown]
# ## 4. A GRU language model
# `gru_lm`: embedding -> GRU -> a linear layer tied to the embedding, trained
# with truncated back-propagation through time (the hidden state carries on
# from one batch of the text to the next). Its loss is in nats per character;
# perplexity is `exp(loss)`: the number of equally likely characters the model
# is, on average, choosing between.

# %%
torch.manual_seed(0)
learn = Learner(create_model("gru_lm", data.num_classes, vocab_size=V, hidden_size=64, num_layers=1, dropout=0.0),
                data, seed=0, progress=False)
learn.fit_one_cycle(4, lr_max=1e-2)
valid = learn.validate()
print(f"   GRU LM: {valid['valid_loss']:.3f} nats/char, perplexity {valid['perplexity']:.2f}")
lesson.check("bigram nats/char - GRU LM nats/char", bigram - valid["valid_loss"], ">=", 0.3, fmt=".3f")
lesson.check("perplexity", valid["perplexity"], "~=", math.exp(valid["valid_loss"]), tol=1e-4, fmt=".4f")

fig, ax = figure()
ax.plot([h["valid_loss"] for h in learn.history], marker="o", label="GRU LM")
ax.axhline(bigram, color="gray", ls="--", label="bigram counts")
ax.set_xlabel("epoch")
ax.set_ylabel("validation nats / char")
ax.legend()
lesson.show(fig, "lm_loss")

# %% [markdown]
# ## 5. Writing
# Sampling draws each next character from the model's softmax, divided by a
# temperature first: below 1 sharpens it (safer, more repetitive), above 1
# flattens it (more surprising, more misspelt). A seed makes it reproducible.

# %%
a = learn.generate("the ", length=200, temperature=0.5, seed=1)
lesson.check("same seed, same text (1 = identical)", float(a == learn.generate("the ", length=200, temperature=0.5,
                                                                                seed=1)), "==", 1.0, fmt=".0f")
real = {}
for temp in (0.5, 2.0):
    text = learn.generate("the ", length=200, temperature=temp, seed=1)
    found = [w.strip(".") for w in text.split()[:-1] if w.strip(".")]  # the last word may be cut off
    real[temp] = sum(w in known_words for w in found) / max(len(found), 1)
    print(f"   temperature {temp}: {real[temp]:.0%} real words: {text[:70]!r}")
lesson.check("share of real words at temperature 0.5", real[0.5], ">=", 0.7)
lesson.check("share at temperature 0.5 - share at temperature 2.0", real[0.5] - real[2.0], ">=", 0.3)

# %%
lesson.end()

# %% [markdown]
# # Lesson 29: Sequence to sequence, with and without attention
#
# **Minutes:** 1
# **Asserts:** on builtin:dates (human-readable date -> ISO) with the same budget, the encoder-decoder with Bahdanau attention gets >= 0.9 of validation dates exactly right, at least 0.4 more than the same model without attention; beam search of width 1 equals greedy decoding; attention weights sum to 1 over the source
#
# An encoder reads the source sentence into states; a decoder writes the
# target one token at a time. Without attention, everything the decoder knows
# about the source is squeezed into the encoder's last state. With attention,
# at every output step the decoder looks back at *all* the encoder states,
# weighting each by how relevant it is now (Bahdanau et al., 2015): to write
# the month it reads the month.

# %%
import torch

from deepdojo import Learner
from deepdojo.data.pairs import load_dates
from deepdojo.lessons import begin, figure
from deepdojo.models import create_model
from deepdojo.tasks import get_task
from deepdojo.metrics.seq2seq import until_eos
from deepdojo.tasks.seq2seq import translate

lesson = begin(29)

# %% [markdown]
# ## 1. The data
# Dates written many ways, and their ISO form: the model must find the day,
# month and year wherever the format puts them, and copy or translate them.

# %%
data = load_dates(n=3000, seed=0, valid_pct=0.1, batch_size=64)
src_vocab, tgt_vocab = data.info["vocab"], data.classes
examples = ["3rd of March 1987", "1987/03/03", "Tuesday, March 3, 1987", "03.03.87"]
print("   e.g. '3rd of March 1987' -> '1987-03-03';", f"{data.info['sizes']['train']} training pairs")

# %% [markdown]
# ## 2. Two models, one budget
# The same GRU encoder-decoder (hidden 48), the same data, epochs and learning
# rate; teacher forcing 0.5 (half the time the decoder is fed its own previous
# output rather than the true one). Only the attention differs.

# %%
task = get_task("seq2seq", teacher_forcing=0.5)
models, scores = {}, {}
for attention in ("bahdanau", "none"):
    torch.manual_seed(0)
    model = create_model("seq2seq_gru", data.num_classes, **task.model_kwargs(data), attention=attention,
                         hidden_size=48, embed_dim=32, dropout=0.0)
    learn = Learner(model, data, task=task, metrics=task.metrics(), progress=False, seed=0)
    learn.fit_one_cycle(4, lr_max=1e-2)
    models[attention], scores[attention] = model, learn.validate()["sequence_accuracy"]
    print(f"   attention={attention}: {scores[attention]:.3f} of validation dates exactly right")
lesson.check("exact-match accuracy with attention", scores["bahdanau"], ">=", 0.9, fmt=".3f")
lesson.check("with attention - without", scores["bahdanau"] - scores["none"], ">=", 0.4, fmt=".3f")

# %% [markdown]
# ## 3. Decoding: greedy and beam search
# Greedy decoding takes the most likely token at each step. Beam search keeps
# the `k` best partial outputs; with `k = 1` it is greedy.

# %%
model = models["bahdanau"].eval()
greedy = translate(model, examples, src_vocab, tgt_vocab)
for s, g in zip(examples, greedy):
    print(f"   {s!r:28s} -> {g!r}")
stoi = {t: i for i, t in enumerate(src_vocab)}
width = max(len(s) for s in examples)
src = torch.tensor([[stoi.get(c, 1) for c in s] + [0] * (width - len(s)) for s in examples])  # (B, T) ids, 0 = pad
with torch.no_grad():
    same = sum(b == until_eos(g) for b, g in zip(model.beam_search(src, beam_width=1), model.greedy(src).tolist()))
lesson.check("beam search (width 1) outputs equal to greedy ones, of 4", same, "==", 4, fmt=".0f")

# %% [markdown]
# ## 4. Where it looks
# Each row of the attention map is one output character; its weights over the
# source characters sum to 1. The year's digits attend to the year, the
# month's to the month name: an alignment the model learned by itself.

# %%
out, _, maps = translate(model, examples[:1], src_vocab, tgt_vocab, return_attention=True)
weights = torch.as_tensor(maps[0])[: len(out[0])]  # (output steps, source steps), up to the end token
lesson.check("largest |row sum - 1| of the attention weights", (weights.sum(-1) - 1).abs().max(), "<", 1e-4,
             fmt=".1e")
fig, ax = figure(figsize=(7, 3.5))
ax.imshow(weights.numpy(), cmap="viridis", aspect="auto")
ax.set_xticks(range(len(examples[0])), list(examples[0]), fontsize=7)
ax.set_yticks(range(len(out[0])), list(out[0]), fontsize=7)
ax.set_xlabel("source")
ax.set_ylabel("output")
lesson.show(fig, "attention")

# %%
lesson.end()

# %% [markdown]
# # Lesson 33: An NLP classifier that transfers: language model first, then the classifier
#
# **Minutes:** 1
# **Asserts:** the classifier reads with the language model's vocabulary (same token list, same ids) and starts from its encoder (embedding and LSTM weights equal); gradual unfreezing keeps the embedding fixed while only the head and then the LSTM train; on reviews whose sentiment words appear only in unlabelled text, the fine-tuned classifier reaches >= 0.8 dev accuracy while the same network trained from scratch stays <= 0.65
#
# fastai's NLP lesson (ULMFiT, Howard & Ruder 2018): labelled examples are
# few, text is plentiful. First train a **language model** — predict the next
# word — on all the text you have, labelled or not. To predict well it must
# learn what words mean from the company they keep. Then build the
# **classifier on its encoder**: the same embedding and LSTM, a new head, the
# same vocabulary, and fine-tune it gently — the head alone first, then one
# more layer group per epoch, lower layers at smaller learning rates.

# %%
import random

import torch

import deepdojo
from deepdojo.lessons import begin, figure
from deepdojo.train.callbacks import Callback

lesson = begin(33)
lesson.out.mkdir(parents=True, exist_ok=True)
SEEN_POS, SEEN_NEG = ["good", "great", "lovely", "superb"], ["bad", "awful", "poor", "dreadful"]
NEW_POS, NEW_NEG = ["tasty", "fresh", "yummy", "fine"], ["stale", "bland", "soggy", "cold"]
FILL = "the food was and service staff place it really very quite we think here today".split()
rng = random.Random(0)


def review(pos_words, neg_words, label, feeling=False):
    """Four filler words and one sentiment word (followed by the writer's feeling in the unlabelled text)."""
    word = rng.choice(pos_words if label else neg_words)
    words = rng.sample(FILL, 4) + [word + ((" loved" if label else " hated") if feeling else "")]
    rng.shuffle(words)
    return " ".join(words)


# %% [markdown]
# ## 1. The data
# Unlabelled text (say, every review ever scraped): each sentiment word is
# followed by what the writer felt — "loved" or "hated". The
# labelled reviews are few, and their training rows use only half of the
# sentiment words; the dev rows use only the **other half**. A model that learns
# from the labels alone has never seen a dev sentiment word.

# %%
corpus_lines = []
for i in range(lesson.pick(3000, 1500)):
    label = i % 2
    corpus_lines.append(review(SEEN_POS + NEW_POS, SEEN_NEG + NEW_NEG, label, feeling=True) + " .")
corpus = lesson.out / "unlabelled.txt"
corpus.write_text("\n".join(corpus_lines) + "\n", encoding="utf-8")
rows = [(review(SEEN_POS, SEEN_NEG, i % 2), i % 2, "train") for i in range(160)]
rows += [(review(NEW_POS, NEW_NEG, i % 2), i % 2, "dev") for i in range(160)]
labelled = lesson.out / "reviews.tsv"
labelled.write_text("text\tlabel\tsplit\n" + "".join(f"{t}\t{y}\t{s}\n" for t, y, s in rows), encoding="utf-8")
print(open(labelled).read().split("\n")[1], "|", open(labelled).read().split("\n")[200])

# %% [markdown]
# ## 2. The language model
# A word-level LSTM trained to predict the next word of the unlabelled text.

# %%
size = {"hidden_size": 64, "num_layers": 1}
lm = deepdojo.learner(str(corpus), task="lm", arch="lstm_lm", level="word", block_size=16, batch_size=32,
                      model_kwargs=size, out=str(lesson.out / "runs"), name="lm", overwrite=True, progress=False,
                      seed=0)
lm.fit_one_cycle(lesson.pick(6, 4), 5e-3)
print(f"   language model: {lm.history[-1]['nats_per_token']:.3f} nats/word on held-out text")

# %% [markdown]
# ## 3. The classifier on the language model's encoder
# `pretrained=` a language model's run folder: a `text_rnn` classifier with
# the LM's cell and sizes, its embedding and LSTM weights, and its
# vocabulary — the reused embedding's row *i* is the LM's word *i*, so the
# reviews must be encoded with the LM's ids, never with a vocabulary of their own.

# %%
clf = deepdojo.learner(str(labelled), pretrained=str(lm.run.path), out=str(lesson.out / "runs"), name="ulmfit",
                       overwrite=True, progress=False, seed=0, batch_size=16)
lesson.check("classifier vocabulary is the language model's", clf.data.info["vocab"] == lm.data.info["vocab"], "==", 1)
same = all(torch.equal(clf.model.state_dict()[k], v) for k, v in lm.model.state_dict().items()
           if k.startswith(("embedding.", "rnn.")))
lesson.check("encoder weights equal the language model's", same, "==", 1)

# %% [markdown]
# ## 4. Gradual unfreezing, discriminative learning rates
# `fine_tune_gradually(epochs, lr)`: epoch 1 trains the head; epoch 2 the
# LSTM too (at lr/2.6); then everything (the embedding at lr/2.6²).

# %%
stages = []


class Snapshot(Callback):
    """Whether the embedding and the LSTM moved during each epoch."""

    def before_epoch(self):
        self.e, self.r = clf.model.embedding.weight.detach().clone(), clf.model.rnn.weight_hh_l0.detach().clone()

    def after_epoch(self):
        model = clf.model
        stages.append((not torch.equal(self.e, model.embedding.weight), not torch.equal(self.r, model.rnn.weight_hh_l0)))


clf.add_callbacks([Snapshot()])
clf.fine_tune_gradually(lesson.pick(4, 3), 1e-2)
lesson.check("epoch 1 (head only): embedding or LSTM changed", stages[0][0] or stages[0][1], "==", 0)
lesson.check("epoch 2 (LSTM + head): embedding changed", stages[1][0], "==", 0)
lesson.check("epoch 2 (LSTM + head): LSTM changed", stages[1][1], "==", 1)
ulmfit = clf.history[-1]["accuracy"]

# %% [markdown]
# ## 5. The same network from scratch
# Trained on the labelled reviews alone, with their own vocabulary: the dev
# sentiment words are `<unk>` to it.

# %%
scratch = deepdojo.learner(str(labelled), arch="text_rnn", model_kwargs={**size, "cell": "lstm"},
                           out=str(lesson.out / "runs"), name="scratch", overwrite=True, progress=False, seed=0,
                           batch_size=16)
scratch.fit_one_cycle(lesson.pick(4, 3) + 2, 1e-2)
alone = scratch.history[-1]["accuracy"]
print(f"   dev accuracy on sentiment words never labelled: from scratch {alone:.3f}, LM encoder {ulmfit:.3f}")
lesson.check("from scratch", alone, "<=", 0.65, fmt=".3f")
lesson.check("language model first (ULMFiT)", ulmfit, ">=", 0.8, fmt=".3f")

fig, ax = figure(figsize=(5, 3))
ax.bar(["from scratch", "LM encoder"], [alone, ulmfit], color=["gray", "tab:green"])
ax.axhline(0.5, ls="--", c="k", lw=1), ax.set_ylabel("dev accuracy"), ax.set_ylim(0, 1)
lesson.show(fig, "transfer")

# %%
lesson.end()

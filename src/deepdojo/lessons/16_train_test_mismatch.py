# %% [markdown]
# # Lesson 16: Train/test mismatch and the train-dev set
#
# **Minutes:** 1
# **Asserts:** with dev and test from a source whose sentiment words training never saw, the train-dev set (training's distribution, never trained on) stays near the training error (<= 0.1) while dev error is >= 0.3, and the diagnosis names data mismatch; with dev drawn from the training sources instead, the dev − train-dev gap is below 0.05; on the real sentiment files (Amazon + Yelp -> IMDB, when present) dev error exceeds train-dev error
#
# Training data often comes from wherever it is plentiful (web reviews of
# phones and restaurants), while the model will be used somewhere else (film
# reviews). Dev and test must come from where the model will be used — and
# then a dev error above the training error has two possible causes:
# **variance** (the model memorised its training examples) or **data
# mismatch** (dev is a different distribution). A *train-dev* set — held out
# from the training distribution, never trained on — tells them apart:
# variance = train-dev − train, data mismatch = dev − train-dev.
#
# In deepdojo a `split` column says which rows are `train`, `train_dev`,
# `dev` (or `valid`) and `test`; `train_dev_pct` carves the train-dev set.

# %%
import csv
import os
import random
from pathlib import Path

import deepdojo
from deepdojo.evaluate import diagnose_run
from deepdojo.lessons import begin, figure

lesson = begin(16)
lesson.out.mkdir(parents=True, exist_ok=True)  # the tables and runs go beside the figures
POS, NEG = ["good", "great", "lovely", "superb"], ["bad", "awful", "poor", "dreadful"]
POS_C, NEG_C = ["tasty", "fresh", "yummy"], ["stale", "bland", "soggy"]  # the third source's words
FILL = "the food was and service staff place it really very quite i think we".split()


def reviews(n, seed, pos=POS, neg=NEG):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.sample(FILL, 5) + [rng.choice(pos if i % 2 else neg) for _ in range(2)]
        rng.shuffle(words)
        out.append((" ".join(words), str(i % 2)))
    return out


def write_table(path, rows):
    """(text, label, split) rows as a TSV with a header (csv quoting: a quote in a review stays text)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["text", "label", "split"])
        w.writerows(rows)
    return path


def train_and_diagnose(path, name, epochs, **kw):
    learn = deepdojo.learner(str(path), train_dev_pct=0.15, out=str(lesson.out / "runs"), name=name,
                             overwrite=True, progress=False, seed=0, **kw)
    learn.fit_one_cycle(epochs, 1e-2)
    return diagnose_run(learn.run.path)


# %% [markdown]
# ## 1. A planted mismatch
# Two training sources praise and pan with one set of words; the third
# source — dev and test — with words training never saw. A word the model
# never saw is `<unk>` to it, so on dev it can only guess.

# %%
a, b = reviews(lesson.pick(300, 160), 1), reviews(lesson.pick(300, 160), 2)
c = reviews(lesson.pick(200, 120), 3, POS_C, NEG_C)
third = [(t, y, "dev" if i % 4 < 2 else "test") for i, (t, y) in enumerate(c)]
mismatched = write_table(lesson.out / "mismatched.tsv", [(t, y, "train") for t, y in a + b] + third)
d = train_and_diagnose(mismatched, "mismatched", lesson.pick(8, 6))
print(d.text())
lesson.check("train-dev error (training's distribution, not trained on)", d.errors["train_dev"], "<=", 0.1)
lesson.check("dev error (the third source)", d.errors["valid"], ">=", 0.3)
lesson.check("diagnosis", d.primary, "==", "data_mismatch")

# %% [markdown]
# ## 2. The same model, dev from the training sources
# Mark some Amazon/Yelp-like rows as dev instead: the dev − train-dev gap
# closes, so a gap in part 1 really is the distributions differing.

# %%
same = [(t, y, "dev" if i % 5 == 0 else "train") for i, (t, y) in enumerate(a + b)]
matched = write_table(lesson.out / "matched.tsv", same)
d_same = train_and_diagnose(matched, "matched", lesson.pick(8, 6))
gap = d_same.errors["valid"] - d_same.errors["train_dev"]
lesson.check("dev from the training sources: dev − train-dev gap", gap, "<", 0.05)

fig, ax = figure(figsize=(6, 3.5))
names = ["train", "train_dev", "valid"]
ax.bar([x - 0.2 for x in range(3)], [d.errors[k] for k in names], 0.4, label="dev from a third source")
ax.bar([x + 0.2 for x in range(3)], [d_same.errors[k] for k in names], 0.4, label="dev from the training sources")
ax.set_xticks(range(3), ["train", "train-dev", "dev"]), ax.set_ylabel("error"), ax.legend()
lesson.show(fig, "errors")

# %% [markdown]
# ## 3. The real thing: Amazon + Yelp reviews, judged on IMDB
# The shared sentiment files (1,000 labelled sentences each), when present.
# Film reviews use other words than phone and restaurant reviews; expect the
# dev error above the train-dev error. With only ~1,700 training sentences
# variance is large too — the diagnosis prints both gaps.

# %%
candidates = [os.environ.get("DEEPDOJO_SENTIMENT", ""), "/work/shared/data/sentiment", "../shared/data/sentiment",
              "../../shared/data/sentiment"]
folder = next((Path(p) for p in candidates if p and (Path(p) / "imdb_labelled.txt").is_file()), None)
if folder is None or lesson.smoke:
    print("   (skipped: " + ("smoke run" if folder else "the sentiment files are not here; set DEEPDOJO_SENTIMENT")
          + ")")
else:
    def labelled(name):
        lines = (folder / name).read_text(encoding="utf-8").split("\n")
        return [tuple(x.strip() for x in ln.rsplit("\t", 1)) for ln in lines if ln.strip()]

    train_rows = [(t, y, "train") for t, y in labelled("amazon_cells_labelled.txt") + labelled("yelp_labelled.txt")]
    imdb = [(t, y, "dev" if i % 2 else "test") for i, (t, y) in enumerate(labelled("imdb_labelled.txt"))]
    real = write_table(lesson.out / "sentiment.tsv", train_rows + imdb)
    d_real = train_and_diagnose(real, "sentiment", 4, skip_bad=True)  # skip_bad: a few duplicate sentences
    print(d_real.text())
    lesson.check("Amazon + Yelp -> IMDB: dev error above train-dev error", d_real.errors["valid"], ">",
                 d_real.errors["train_dev"], fmt=".3f")

# %%
lesson.end()

"""``tabular_csv(encoding="codes")`` feeds the ``tabular`` embedding model in the column order it reads."""

from __future__ import annotations

import torch

from deepdojo import Learner
from deepdojo.data import tabular_csv
from deepdojo.models import create_model


def test_codes_come_first_and_train_the_embedding_model(tmp_path):
    path = tmp_path / "t.csv"
    rows = [f"{i * 0.1:.1f},{('red', 'green', 'blue')[i % 3]},{i % 2}" for i in range(60)]
    path.write_text("size,colour,label\n" + "\n".join(rows) + "\n")
    data = tabular_csv(path, target="label", encoding="codes", seed=0)
    info = data.info["tabular"]
    assert info["columns"] == ["colour", "size"]  # the code first: the model reads x[:, :n_cat]
    assert info["cat_cardinalities"] == [4] and info["n_continuous"] == 1  # blue, green, red + "#na"
    x = torch.cat([xb for xb, _ in data.train])
    assert set(x[:, 0].tolist()) <= {0.0, 1.0, 2.0, 3.0}  # integer codes
    assert x[:, 1].min() < 0 < x[:, 1].max()  # standardized sizes
    model = create_model("tabular", 2, in_features=data.input_shape[0], cardinalities=tuple(info["cat_cardinalities"]))
    learn = Learner(model, data, seed=0, progress=False)  # checks every code against its embedding (no DataError)
    learn.fit(1)
    assert learn.history[-1]["valid_loss"] == learn.history[-1]["valid_loss"]  # finite

"""``learn.generate(...)``: sample text from a language model being trained (see ``tasks/language_model.py``).

Example:
    >>> import tempfile, pathlib
    >>> from deepdojo import Learner
    >>> from deepdojo.data.text import text_file
    >>> from deepdojo.models import create_model
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"; _ = p.write_text("abcabcabd " * 40)
    >>> data = text_file(p, block_size=8, batch_size=4)
    >>> learn = Learner(create_model("gru_lm", data.num_classes, hidden_size=8), data, progress=False, seed=0)
    >>> text = learn.generate("ab", length=10, seed=1)
    >>> len(text), text == learn.generate("ab", length=10, seed=1)
    (12, True)
"""

from __future__ import annotations

from deepdojo.errors import ConfigError


class GenerationMixin:
    """Adds :meth:`generate` to the Learner for data with a vocabulary (``data.info.vocab``)."""

    def generate(self, prompt: str = "", length: int = 500, temperature: float = 1.0, top_k: int | None = None,
                 seed: int | None = 0) -> str:
        """``prompt`` continued by ``length`` sampled tokens.

        ``temperature`` < 1 sharpens, > 1 flattens the distribution (0: always the most likely token);
        ``top_k`` draws only among the k most likely tokens; the same ``seed`` gives the same text
        (``None``: a fresh draw each call). The global random state is not touched.
        """
        from deepdojo.tasks.language_model import generate_text

        vocab = self.data.info.get("vocab")
        if vocab is None or not callable(getattr(self.model, "step", None)):
            raise ConfigError("generate needs a language model trained on text (a vocabulary and a model with step())",
                              where="generate", fix="train a language model, e.g. arch='gpt' or 'lstm_lm' on a .txt file")
        return generate_text(self.model, vocab, self.data.info.get("level") or "char", prompt, length,
                             temperature=temperature, top_k=top_k, seed=seed)

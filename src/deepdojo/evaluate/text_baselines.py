"""The linear baseline for texts: TF-IDF of word (or character) n-grams + logistic regression (scikit-learn).

Logistic regression on raw token ids — what a generic "flatten the inputs"
baseline would do — reads id 17 as a number larger than id 16, which means
nothing; the baseline a text model must beat is the classic bag of n-grams.
The ids are turned back into token strings (padding dropped) and
scikit-learn's ``TfidfVectorizer`` (unigrams and bigrams, sublinear tf) feeds
a ``LogisticRegression``, fit on train and scored on validation.

Example:
    >>> import numpy as np
    >>> vocab = ["<pad>", "<unk>", "good", "bad", "food"]
    >>> x = np.array([[2, 4, 0], [3, 4, 0], [4, 2, 0], [4, 3, 0]] * 5)
    >>> y = np.array([1, 0, 1, 0] * 5)
    >>> tfidf_logistic(x, y, x[:4], y[:4], vocab)["accuracy"]
    1.0
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np


def as_documents(x: np.ndarray, vocab: list[str], pad_index: int = 0) -> list[str]:
    """Token-id rows ``(N, T)`` -> one string of space-separated token indices per row (padding dropped).

    Indices, not the tokens themselves, so a character model's space or a
    punctuation token survives the vectorizer's own tokenization.
    """
    return [" ".join(f"t{i}" for i in row if i != pad_index) for row in x.astype(np.int64)]


def tfidf_logistic(x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray,
                   vocab: list[str], pad_index: int = 0, seed: int = 0) -> dict[str, Any]:
    """Accuracy and error rate on validation of TF-IDF (1-2-grams) + logistic regression fit on train."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    vec = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=False)
    f_tr = vec.fit_transform(as_documents(x_train, vocab, pad_index))  # fit on train only: no leakage
    f_va = vec.transform(as_documents(x_valid, vocab, pad_index))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(max_iter=1000, C=10.0, random_state=seed).fit(f_tr, y_train.astype(np.int64))
    acc = float(np.mean(model.predict(f_va) == y_valid.astype(np.int64)))
    return {"accuracy": acc, "error_rate": 1 - acc, "rows_used": int(len(y_train)),
            "rows_available": int(len(y_train)), "seconds": round(time.perf_counter() - t0, 3),
            "name": "TF-IDF + logistic regression",
            "features": f"TF-IDF of token 1-2-grams ({f_tr.shape[1]:,} features)"}

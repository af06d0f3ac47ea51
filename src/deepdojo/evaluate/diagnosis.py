"""Bias, variance, data mismatch and overfitting to validation: the curriculum's basic recipe.

From human-level (Bayes proxy) error, training error, train-dev error (when a
train-dev split exists), validation error and test error:

- avoidable bias        = training error - human-level error (0 when not given)
- variance              = train-dev error - training error
                          (without train-dev: validation error - training error)
- data mismatch         = validation error - train-dev error
- overfitting to valid  = test error - validation error

The largest gap is the problem to work on first; each comes with the recipe's actions.

Example:
    >>> diagnose(train_error=0.08, valid_error=0.10, human_error=0.01).primary
    'avoidable_bias'
    >>> diagnose(train_error=0.01, valid_error=0.10, train_dev_error=0.01).primary
    'data_mismatch'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deepdojo.errors import ConfigError

ACTIONS = {
    "avoidable_bias": ["train a bigger network (wider or deeper)", "train longer, or with a better optimizer "
                       "(momentum, RMSprop, Adam)", "try another architecture or search hyperparameters"],
    "variance": ["get more training data (or augment it)", "regularize: weight decay (L2), dropout, data augmentation",
                 "try another architecture or search hyperparameters"],
    "data_mismatch": ["do manual error analysis to see how training differs from validation/test",
                      "make training data more like validation/test: collect similar data or synthesize it"],
    "overfitting_to_validation": ["get a bigger validation set", "make fewer choices by looking at validation"],
}
EXPLAIN = {
    "avoidable_bias": "the model does not fit its own training data as well as {ref} does",
    "variance": "the model does much better on data it trained on than on {held} data from the same distribution",
    "data_mismatch": "the model does well on held-out training-distribution data but worse on validation: "
                     "the two come from different distributions",
    "overfitting_to_validation": "test error is higher than validation error: choices were tuned to the validation set",
}


@dataclass
class Diagnosis:
    """The errors given, the gaps between them, and the largest gap with its actions."""

    errors: dict[str, float | None]
    gaps: dict[str, float]
    primary: str
    notes: list[str] = field(default_factory=list)

    @property
    def actions(self) -> list[str]:
        return ACTIONS[self.primary]

    def to_json(self) -> dict[str, Any]:
        return {"errors": self.errors, "gaps": self.gaps, "primary": self.primary, "actions": self.actions,
                "explanation": self.explanation(), "notes": self.notes}

    def explanation(self) -> str:
        ref = "human-level performance" if self.errors.get("human") is not None else "a perfect model (0 error)"
        held = "held-out train-dev" if self.errors.get("train_dev") is not None else "validation"
        return EXPLAIN[self.primary].format(ref=ref, held=held)

    def text(self) -> str:
        """A few plain lines for the terminal."""
        lines = ["errors: " + ", ".join(f"{k} {v:.2%}" for k, v in self.errors.items() if v is not None)]
        lines += [f"  {k.replace('_', ' ')}: {v:+.2%}" for k, v in self.gaps.items()]
        lines.append(f"biggest problem: {self.primary.replace('_', ' ')} — {self.explanation()}")
        lines += [f"  try: {a}" for a in self.actions]
        return "\n".join(lines + self.notes)


def diagnose(train_error: float, valid_error: float, human_error: float | None = None,
             train_dev_error: float | None = None, test_error: float | None = None) -> Diagnosis:
    """Gaps between the errors and the biggest one (see module docstring). Errors are fractions (0.08 = 8%)."""
    for name, v in (("train", train_error), ("valid", valid_error), ("human", human_error),
                    ("train_dev", train_dev_error), ("test", test_error)):
        if v is not None and not 0.0 <= v <= 1.0:
            raise ConfigError(f"{name} error must be a fraction in [0, 1], got {v}", where=f"{name}_error",
                              fix="write 8% as 0.08 (or '8%' on the command line)")
    errors = {"human": human_error, "train": train_error, "train_dev": train_dev_error, "valid": valid_error,
              "test": test_error}
    gaps = {"avoidable_bias": train_error - (human_error or 0.0)}
    if train_dev_error is None:
        gaps["variance"] = valid_error - train_error
    else:
        gaps["variance"] = train_dev_error - train_error
        gaps["data_mismatch"] = valid_error - train_dev_error
    if test_error is not None:
        gaps["overfitting_to_validation"] = test_error - valid_error
    primary = max(gaps, key=lambda k: gaps[k])  # ties: the first (bias before variance), as the recipe orders them
    notes = [] if human_error is not None else ["(no human-level error given: avoidable bias is measured against 0; "
                                                "pass --human-error for a better Bayes proxy)"]
    return Diagnosis(errors={k: v for k, v in errors.items() if v is not None}, gaps=gaps, primary=primary, notes=notes)


def parse_error(text: str) -> float:
    """``"1%"`` -> 0.01, ``"0.01"`` -> 0.01 (a number above 1 without % is refused as ambiguous)."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise ConfigError(f"expected an error rate like 0.01 or 1%, got {text!r}", where="--human-error") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"error rate must be between 0 and 1 (or 0% and 100%), got {text!r}", where="--human-error",
                          fix="write 1% as 0.01 or '1%'")
    return value

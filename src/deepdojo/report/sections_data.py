"""Report sections about the data's trustworthiness, read from files in the run folder.

Example:
    >>> import tempfile
    >>> from deepdojo.train.run_folder import RunFolder
    >>> suspects_section(RunFolder(tempfile.mkdtemp()))  # no label_suspects.csv: no section
    []
"""

from __future__ import annotations

from deepdojo.train.run_folder import RunFolder

SHOWN = 20  # rows in the report; the CSV keeps more


def suspects_section(run: RunFolder) -> list[tuple[str, str]]:
    """"Label-noise suspects": the first rows of ``label_suspects.csv`` with how to read them."""
    from deepdojo.evaluate.suspects import read_suspects
    from deepdojo.report.sections_eval import _rows

    rows = read_suspects(run.path)
    if rows is None:
        return []
    if not rows:
        return [("Label-noise suspects", "<p class='note'>The model agrees with every given label of train and valid.</p>")]
    note = (f"<p>{len(rows)} examples the model assigns to another class, lowest probability of the given label "
            f"first (the first {min(SHOWN, len(rows))} below; all in <code>label_suspects.csv</code>). Look at them: "
            "some are model errors, some are wrong labels. Training rows were seen by the model, so a long run may "
            "hide its noise.</p>")
    table = _rows(["rank", "split", "id", "given", "predicted", "confidence", "p(given)"],
                  [[r["rank"], r["split"], r["id"], r["given"], r["predicted"], float(r["confidence"]),
                    float(r["p_given"])] for r in rows[:SHOWN]])
    return [("Label-noise suspects", note + table)]

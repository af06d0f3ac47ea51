"""An extra search worker process: ``python -m deepdojo.search.worker SETTINGS_JSON``.

Started by ``deepdojo search --workers K`` (K - 1 of them); it rejoins the
study and runs trials until the target count is complete, like the driver.
"""

from __future__ import annotations

import sys

import optuna

from deepdojo.errors import DeepdojoError
from deepdojo.search.driver import SearchSettings, open_study, work


def main(argv: list[str]) -> int:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    settings = SearchSettings.from_json(argv[0])
    try:
        study, storage = open_study(settings)
        work(study, storage, settings)
    except DeepdojoError as exc:
        sys.stderr.write(f"deepdojo search worker: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

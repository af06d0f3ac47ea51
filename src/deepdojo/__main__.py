"""``python -m deepdojo`` is the ``deepdojo`` command."""

import sys

from deepdojo.cli.main import main

sys.exit(main())

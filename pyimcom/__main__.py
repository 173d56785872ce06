"""``python -m pyimcom`` runs the ``pyimcom`` command."""

import sys

from .cli import main

sys.exit(main())

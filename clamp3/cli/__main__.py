"""``python -m clamp3.cli`` (what ``torchrun ... -m clamp3.cli`` runs)."""

import sys

from clamp3.cli import main

sys.exit(main())

"""``python -m bot`` runs the articlebot command."""

import sys

from .cli import main

sys.exit(main())

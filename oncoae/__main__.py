"""``python -m oncoae``: see oncoae.cli."""

import sys

from oncoae.cli import main

sys.exit(main())

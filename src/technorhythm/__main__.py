"""``python -m technorhythm`` runs the command line."""

import sys

from technorhythm.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""`python -m harvester` is the same as the `harvester` command."""
import sys

from .cli import main

sys.exit(main())

"""python -m textbook_core.derivations [LABEL ...]: run the checks, one line each."""
import sys

from textbook_core.derivations import main

sys.exit(main())

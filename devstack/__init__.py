"""Local development stack: setup, emulator launch, demo data, test and benchmark runners.

Nothing here is deployed; `functions/` is the deployable code. The scripts import the
functions package directly (the seed, the replay command, the benchmarks), so it is put on
the import path here once.
"""

import sys
from pathlib import Path

_FUNCTIONS = str(Path(__file__).resolve().parent.parent / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.insert(0, _FUNCTIONS)

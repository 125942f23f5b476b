"""How to run this `modelreg` again, spelled so that the printed hint works as pasted."""

import os
import shlex
import shutil
import sys
from pathlib import Path


def cli_command() -> str:
    """`modelreg` when that name on PATH is this program, else the path it was started by.

    `make run` starts `.venv/bin/modelreg`, which is not on PATH unless the venv
    is activated: a hint naming bare `modelreg` would fail there.
    """
    invoked = sys.argv[0]
    if Path(invoked).name != "modelreg" or os.sep not in invoked:
        return "modelreg"  # found on PATH, or not the console script (python -m, tests)
    on_path = shutil.which("modelreg")
    if on_path is not None and os.path.exists(invoked) and os.path.samefile(on_path, invoked):
        return "modelreg"
    return shlex.quote(invoked)

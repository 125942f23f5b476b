"""The web UI: static assets that `modelreg serve` serves at `/` (see server/dashboard.py).

`index.html` and the ES modules under `assets/` are a client of the public
GraphQL API and nothing else: no build step, no Node.js, no third-party code.
"""

from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).parent
ASSETS: Final = ROOT / "assets"
INDEX: Final = ROOT / "index.html"

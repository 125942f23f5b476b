"""The layering the layout promises: server → schema | mlflow_api → resolvers → storage.

Checked on the source (every `import` statement, local ones included), so a
shortcut across layers fails here instead of in review; and the `modelreg`
command's start-up imports only what the command line needs.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What each layer must not import (besides the layers above it).
FORBIDDEN = {
    "storage": ("resolvers", "schema", "server", "mlflow_api", "strawberry", "fastapi"),
    "resolvers": ("schema", "server", "mlflow_api", "strawberry", "fastapi", "starlette"),
    "schema": ("server", "mlflow_api", "fastapi"),
    "mlflow_api": ("server", "schema", "strawberry"),
}
# strawberry's DataLoader is a plain asyncio batcher (no GraphQL in it): resolvers use it.
ALLOWED = {"strawberry.dataloader"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    crossings = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in sorted(imported_modules(path))
        if name.split(".")[0] in FORBIDDEN[layer] and name not in ALLOWED
    ]
    assert crossings == []


def test_the_command_line_starts_without_the_server_graphql_or_the_database() -> None:
    probe = (
        "import sys, server.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'uvicorn', 'strawberry', 'graphql', 'sqlalchemy', 'fastapi', 'resolvers', 'schema'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"

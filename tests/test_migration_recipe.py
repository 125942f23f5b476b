"""The README's migration recipe writes a revision that passes the project's own ruff."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command

from storage.migrate import MIGRATIONS_DIR, alembic_config

REPOSITORY = MIGRATIONS_DIR.parents[1]


def _generate(tmp_path: Path, drop_from: str | None = None) -> Path:
    """`db upgrade` then `db revision --autogenerate` in a copy of the repository's migrations.

    Dropping the revisions from `drop_from` on from the copy leaves tables.py
    ahead of the database, as after a developer's change, so there is
    something to generate.
    """
    shutil.copy(REPOSITORY / "pyproject.toml", tmp_path)  # ruff's settings, as in the repository
    (tmp_path / "storage").mkdir()
    shutil.copy(REPOSITORY / "storage" / "__init__.py", tmp_path / "storage")
    migrations = tmp_path / "storage" / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    for script in (migrations / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"):
        if drop_from is not None and script.name[:4] >= drop_from:
            script.unlink()
    before = set((migrations / "versions").iterdir())
    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}")
    config.set_main_option("script_location", str(migrations))
    command.upgrade(config, "head")
    command.revision(config, message="what changed", autogenerate=True)
    (generated,) = set((migrations / "versions").iterdir()) - before
    return generated


def _ruff(tmp_path: Path, *arguments: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("drop_from", [None, "0004"], ids=["no-change", "new-tables"])
def test_a_generated_revision_passes_ruff(tmp_path: Path, drop_from: str | None) -> None:
    generated = _generate(tmp_path, drop_from)
    _ruff(tmp_path, "check", str(generated))
    _ruff(tmp_path, "format", "--check", str(generated))
    text = generated.read_text()
    if drop_from:
        assert 'op.create_table(\n        "alias_history",' in text
    else:
        # Nothing changed: the FTS5 tables SQLite keeps beside tables.py are not dropped.
        assert "models_name_search" not in text
        assert text.count("    pass\n") == 2

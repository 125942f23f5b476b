"""The CLI's output when its reader goes away, and the commands its hints print."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from server.invocation import cli_command
from tests.test_serve_process import MODELREG, environment


def _run_into_closed_pipe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `modelreg args` with stdout a pipe whose reader has already gone (`| head -0`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [MODELREG, *args],
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = environment(tmp_path / "cli.db")
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    return env


def test_a_closed_stdout_is_one_line_on_stderr_not_a_traceback(env: dict[str, str]) -> None:
    listed = _run_into_closed_pipe(env, "token", "list")
    assert listed.returncode == 1
    assert listed.stderr == "modelreg: stdout was closed before the output was written\n"


def test_a_token_nobody_could_read_is_named_with_how_to_revoke_it(env: dict[str, str]) -> None:
    created = _run_into_closed_pipe(env, "token", "create", "--name", "lost", "--role", "reader")
    assert created.returncode == 1
    assert "Traceback" not in created.stderr
    assert created.stderr.splitlines() == [
        "modelreg: token 'lost' was created but stdout was closed before it was written; "
        f"revoke it with `{MODELREG} token revoke lost`",
        "modelreg: stdout was closed before the output was written",
    ]
    # The hint works as printed.
    revoked = subprocess.run(
        [MODELREG, "token", "revoke", "lost"], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(revoked.stdout)["revokedAt"] is not None


def test_the_hint_names_modelreg_as_it_can_be_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = tmp_path / "venv" / "bin" / "modelreg"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr("sys.argv", ["venv/bin/modelreg", "serve"])
    assert cli_command() == "venv/bin/modelreg"  # as `make run` starts it: not on PATH
    monkeypatch.setenv("PATH", f"{program.parent}:/usr/bin:/bin")
    assert cli_command() == "modelreg"  # an activated venv, or a container's PATH
    monkeypatch.setattr("sys.argv", ["modelreg", "serve"])
    assert cli_command() == "modelreg"

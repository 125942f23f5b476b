"""Another commit of modelreg as a peer, for before/after figures in one run.

`BENCH_BASELINE=<git ref> make bench` checks the ref out as a detached git
worktree under .bench/, installs it into a virtualenv of its own, and measures
it with the same operations, one server after the other. The machine varies
by ±30% between runs, so a before/after is only worth comparing within one.
"""

import subprocess
import sys
from pathlib import Path

from bench.config import BENCH_DIR, REPO_ROOT


def _git(*args: str, cwd: Path = REPO_ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def commit_of(ref: str) -> str:
    return _git("rev-parse", "--short=12", f"{ref}^{{commit}}")


def install(ref: str) -> Path:
    """The `modelreg` executable of `ref`, checked out and installed once per commit."""
    commit = commit_of(ref)
    checkout = BENCH_DIR / f"baseline-{commit}"
    venv = checkout / ".venv"
    executable = venv / "bin" / "modelreg"
    if executable.exists():
        return executable
    BENCH_DIR.mkdir(exist_ok=True)
    if not checkout.exists():
        _git("worktree", "add", "--detach", str(checkout), commit)
    print(f"installing modelreg {commit} into {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, str(checkout)], check=True)
    return executable

"""The admin token the benchmarks call the registry with (made by `modelreg token create`)."""

import subprocess
from collections.abc import Mapping
from pathlib import Path

from bench.config import REPO_ROOT

MODELREG = REPO_ROOT / ".venv" / "bin" / "modelreg"
# Every benchmark request carries a token, so authentication is part of what is measured.
OPEN_PRODUCTION_GATE = (
    "mutation { setStagePolicy(input: {stage: PRODUCTION, requiredApprovals: 0}) "
    "{ policy { gated } } }"
)


def create_admin_token(
    env: Mapping[str, str], name: str = "bench", modelreg: Path = MODELREG
) -> str:
    done = subprocess.run(
        [modelreg, "token", "create", "--name", name, "--role", "admin"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"modelreg token create failed:\n{done.stderr}")
    return done.stdout.strip()


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

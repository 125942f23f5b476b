"""schemathesis, pinned, in a venv of its own (.fuzz/venv), and the command lines that run it.

It registers a pytest plugin and pins hypothesis: installed into .venv it would
change what `make test` runs, so it never goes there.
"""

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.fuzz.config import FUZZ_DIR

VENV = FUZZ_DIR / "venv"
SCHEMATHESIS = VENV / "bin" / "schemathesis"
REQUIREMENTS = ("schemathesis==4.32.5",)
# Records what the venv was installed with, so a change here reinstalls.
STAMP = VENV / ".fuzz-requirements"


def install() -> None:
    wanted = "\n".join(REQUIREMENTS)
    if SCHEMATHESIS.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    print(f"fuzz: installing {', '.join(REQUIREMENTS)} from PyPI into {VENV}", flush=True)
    FUZZ_DIR.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    log_path = FUZZ_DIR / "pip.log"
    with log_path.open("wb") as log:
        done = subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", *REQUIREMENTS],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not SCHEMATHESIS.exists():
        raise SystemExit(f"pip install {' '.join(REQUIREMENTS)} failed; see {log_path}")
    STAMP.write_text(wanted)


# How often a valid document takes its argument from a dictionary instead of a generated value.
DICTIONARY_PROBABILITY = 0.5


def write_config(path: Path, dictionaries: Mapping[str, Sequence[str | int]]) -> None:
    """A schemathesis.toml that offers `dictionaries` (`Type.field.argument` -> values).

    It also turns schemathesis's checks off: they count every resolver error
    whose code they do not know (NOT_FOUND, INVALID_TRANSITION, ...) as a
    server error, and generation for an operation stops at its first failure,
    so most mutations would get a handful of cases. The verdict is
    bench.fuzz.findings' reading of the HAR file, which has every response.
    """
    lines = ["[checks]", "enabled = false", ""]
    for index, values in enumerate(dictionaries.values()):
        # JSON strings and arrays of them are valid TOML.
        lines += [f"[dictionaries.d{index}]", f"values = {json.dumps(list(values))}", ""]
    lines.append("[parameters]")
    for index, binding in enumerate(dictionaries):
        lines.append(
            f'"{binding}" = {{ dictionary = "d{index}", probability = {DICTIONARY_PROBABILITY} }}'
        )
    path.write_text("\n".join(lines) + "\n")


def run_command(
    config: Path,
    schema: Path,
    url: str,
    token: str,
    seconds: int,
    examples: int,
    har: Path,
    seed: int | None,
    operations: tuple[str, ...] = (),
    excluded: tuple[str, ...] = (),
) -> list[str]:
    """`schemathesis run` on the SDL in `schema`, sending to `url`, every request with `token`.

    `config` is the file `write_config` wrote.
    """
    command = [
        str(SCHEMATHESIS), "--config-file", str(config), "run", str(schema), "--url", url,
        "--header", f"Authorization: Bearer {token}",
        "--max-time", str(seconds), "--max-examples", str(examples),
        "--report", "har", "--report-har-path", str(har),
        "--generation-database", "none", "--no-color",
    ]  # fmt: skip
    if seed is not None:
        command += ["--seed", str(seed)]
    for name in operations:
        command += ["--include-name", name]
    for name in excluded:
        command += ["--exclude-name", name]
    return command

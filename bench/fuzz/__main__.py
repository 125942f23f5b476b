"""`python -m bench.fuzz` (`make fuzz`): see bench/fuzz/__init__.py and the README."""

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx

from bench.fuzz import tool
from bench.fuzz.config import REPORT_DIR, FuzzConfig
from bench.fuzz.findings import Tally, unexpected_errors
from bench.fuzz.isolation import is_isolated, reexec_isolated
from bench.fuzz.seed import dictionaries, seed
from bench.modelreg_target import ModelregTarget
from bench.token import MODELREG, auth_headers
from bench.webhook_setup import receiver, serve
from schema.export import sdl

# The fuzzer may revoke the token it sends (a name it read from `apiTokens`),
# which would turn the rest of its pass into 401s: that mutation gets a pass
# of its own, last, with a token of its own.
REVOKE = "Mutation.revokeApiToken"
REVOKE_SECONDS = 5
# Loading the schema and shrinking a failure come on top of --max-time.
OVERRUN_S = 300


@dataclass(frozen=True)
class Pass:
    name: str
    role: str
    seconds: int
    operations: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


def main() -> None:
    config = FuzzConfig.from_env()
    if not is_isolated():
        tool.install()  # from PyPI, so before the network goes away
        reexec_isolated()
    passes = (
        Pass("admin", "admin", config.seconds, excluded=(REVOKE,)),
        Pass("reader", "reader", config.reader_seconds),
        Pass("revoke", "admin", REVOKE_SECONDS, operations=(REVOKE,)),
    )
    shutil.rmtree(REPORT_DIR, ignore_errors=True)
    REPORT_DIR.mkdir(parents=True)
    schema = REPORT_DIR / "schema.graphql"
    schema.write_text(sdl())  # what this checkout serves, not a possibly stale export
    tally = Tally()
    started = time.monotonic()
    with TemporaryDirectory(prefix="modelreg-fuzz-") as scratch:
        env = _environment(Path(scratch) / "fuzz.db")
        _run(MODELREG, "db", "upgrade", env=env)
        tokens = {p.name: _token(env, f"fuzz-{p.name}", p.role) for p in passes}
        with (
            receiver(1, REPORT_DIR / "receiver.log") as hooks,
            serve(env, REPORT_DIR / "server.log") as base_url,
        ):
            admin = auth_headers(tokens["admin"])
            with httpx.Client(base_url=base_url, headers=admin, timeout=30.0) as client:
                seeded = seed(client, hooks.url(0))
            config_file = REPORT_DIR / "schemathesis.toml"
            others = [f"fuzz-{p.name}" for p in passes if p.name != "revoke"]
            tool.write_config(config_file, dictionaries(seeded, hooks.url(0), others))
            url = f"{base_url}/graphql"
            for fuzz_pass in passes:
                token = tokens[fuzz_pass.name]
                _fuzz(config, fuzz_pass, config_file, schema, url, token, tally)
    unexpected = unexpected_errors((REPORT_DIR / "server.log").read_text(errors="replace"))
    _report(config, tally, unexpected, time.monotonic() - started)
    if tally.internal_errors or unexpected:
        raise SystemExit(1)


def _environment(database: Path) -> dict[str, str]:
    # The server runs on its defaults (MODELREG_AUTH_CACHE_SECONDS and the rest),
    # whatever the caller's shell has set.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}
    env["MODELREG_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    # The seeded webhook goes to a receiver on loopback (see bench/fuzz/isolation.py).
    env["MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"
    return env


def _run(*command: str | Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stderr}")
    return done.stdout.strip()


def _token(env: dict[str, str], name: str, role: str) -> str:
    return _run(MODELREG, "token", "create", "--name", name, "--role", role, env=env)


def _fuzz(
    config: FuzzConfig,
    fuzz_pass: Pass,
    config_file: Path,
    schema: Path,
    url: str,
    token: str,
    tally: Tally,
) -> None:
    har = REPORT_DIR / f"{fuzz_pass.name}.har.json"
    log_path = REPORT_DIR / f"schemathesis-{fuzz_pass.name}.log"
    command = tool.run_command(
        config_file, schema, url, token, fuzz_pass.seconds, config.examples, har, config.seed,
        operations=fuzz_pass.operations, excluded=fuzz_pass.excluded,
    )  # fmt: skip
    print(f"fuzz: {fuzz_pass.name} pass, {fuzz_pass.seconds} s as {fuzz_pass.role}", flush=True)
    with log_path.open("wb") as log:
        subprocess.run(
            command, cwd=REPORT_DIR, stdout=log, stderr=subprocess.STDOUT,
            timeout=fuzz_pass.seconds + OVERRUN_S, check=False,
        )  # fmt: skip
    before = tally.requests
    if har.exists():
        tally.read_har(har)
    if tally.requests == before:
        raise SystemExit(f"fuzz: the {fuzz_pass.name} pass sent nothing; see {log_path}")
    print(f"fuzz: {fuzz_pass.name} pass sent {tally.requests - before} requests", flush=True)


def _report(config: FuzzConfig, tally: Tally, unexpected: list[str], wall_s: float) -> None:
    print()
    print(f"modelreg {ModelregTarget().version()}, {', '.join(tool.REQUIREMENTS)}")
    print(f"requests: {tally.requests} in {wall_s:.0f} s (FUZZ_SECONDS={config.seconds})")
    codes = ", ".join(f"{code} {n}" for code, n in tally.codes.most_common())
    print(f"responses by extensions.code: {codes}")
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses.items()))
    print(f"HTTP statuses: {statuses}")
    print(f"HTTP 5xx: {tally.server_errors}")
    print(f"no response (timed out): {tally.unanswered}")
    print(f"INTERNAL_SERVER_ERROR, 5xx or no response: {tally.internal_errors}")
    print(f"unexpected errors in the server log: {len(unexpected)}")
    for finding in tally.findings.values():
        answer = f"HTTP {finding.status}" if finding.status else "no response"
        print(f"\n{finding.operation}: {finding.count} response(s), e.g. {answer}")
        print(f"  query: {finding.query}")
        if finding.variables:
            print(f"  variables: {finding.variables}")
        print(f"  response: {finding.response}")
    for line in unexpected:
        print(f"\nserver log: {line}")
    print(f"\nreports, HAR files and logs: {REPORT_DIR}")


if __name__ == "__main__":
    main()

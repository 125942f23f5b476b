"""The README's tour, run as written: its shell blocks against a server started as it says.

The blocks of the "Five-minute tour" (with its "From CI" commands) run in one
bash, in a fresh directory where `.venv` is the repository's, against
`make run` serving on `MODELREG_PORT`. Each command must exit 0, and a
`# {...}` comment under a command is what it prints: its fragments between
`...` appear in the output in order (whitespace aside). A block the README
marks with `<!-- readme-test: skip ... -->` is not run. The only edit is the
one a reader makes: the admin token pasted where the README says `mr_...`.
"""

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.test_serve_process import free_port

REPOSITORY = Path(__file__).resolve().parents[1]
README = REPOSITORY / "README.md"
SKIP_MARKER = re.compile(r"<!--\s*readme-test:\s*skip\b.*?-->")
TOKEN_PLACEHOLDER = "mr_..."
MARK = "@@readme-test@@"


@dataclass
class Command:
    text: str
    expected: list[str] = field(default_factory=list)  # `# {...}` lines under it


@dataclass
class Block:
    heading: str
    body: str
    skipped: bool


def blocks(readme: str, section: str) -> list[Block]:
    """The fenced `sh` blocks under the `## section` heading, up to the next `## `."""
    start = readme.index(f"\n## {section}\n")
    end = readme.find("\n## ", start + 1)
    text = readme[start : end if end != -1 else len(readme)]
    found = []
    heading = section
    for match in re.finditer(
        r"^(#{2,4} [^\n]+)$|((?:<!--[^\n]*-->\s*\n)?)```sh\n(.*?)^```$", text, re.M | re.S
    ):
        if match.group(1):
            heading = match.group(1).lstrip("# ")
            continue
        found.append(Block(heading, match.group(3), bool(SKIP_MARKER.search(match.group(2)))))
    return found


def _complete(shell_text: str) -> bool:
    """Whether bash would take `shell_text` as whole commands (no open quote, brace, `\\`)."""
    if shell_text.rstrip("\n").endswith("\\"):
        return False
    check = subprocess.run(["bash", "-n"], input=shell_text, capture_output=True, text=True)
    return check.returncode == 0


def commands(block: str) -> list[Command]:
    """Split a block into commands, each with the expected-output comments under it."""
    found: list[Command] = []
    pending = ""
    for line in block.splitlines(keepends=True):
        stripped = line.strip()
        if not pending and stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
            if found and (comment.startswith(("{", "..."))):
                found[-1].expected.append(comment)
            continue
        if not pending and not stripped:
            continue
        pending += line
        if _complete(pending):
            found.append(Command(pending))
            pending = ""
    assert not pending, f"an unfinished command in the README: {pending!r}"
    return found


def script(all_commands: list[Command]) -> str:
    """One bash script that marks where each command's output starts and how it ended."""
    lines = ["exec 2>&1"]  # what a command says on stderr is part of its output
    for index, command in enumerate(all_commands):
        lines.append(f"printf '\\n{MARK}start {index}\\n'")
        lines.append(command.text.rstrip("\n"))
        lines.append(f"printf '\\n{MARK}end {index} %s\\n' \"$?\"")
    return "\n".join(lines) + "\n"


def outputs(stdout: str) -> dict[int, tuple[int, str]]:
    """Command index -> (exit status, what it printed)."""
    found = {}
    for match in re.finditer(rf"{MARK}start (\d+)\n(.*?)\n{MARK}end \1 (\d+)\n", stdout, re.S):
        found[int(match.group(1))] = (int(match.group(3)), match.group(2))
    return found


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _compact(output: str) -> str:
    """JSON output as the server writes it (no spaces); anything else as printed."""
    try:
        return json.dumps(json.loads(output), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return output


def shows(output: str, expected: str) -> bool:
    """Whether `output` has the fragments of `expected` (split at `...`) in order."""
    text, position = _squeezed(_compact(output.strip())), 0
    for fragment in (_squeezed(f) for f in expected.split("...")):
        if not fragment:
            continue
        found = text.find(fragment, position)
        if found == -1:
            return False
        position = found + len(fragment)
    return True


def _shell_environment(port: int) -> dict[str, str]:
    """This machine's environment less anything that would put `modelreg` on PATH for free."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MODELREG_") and key not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env["PATH"] = os.pathsep.join(
        entry
        for entry in env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if not (Path(entry) / "modelreg").exists()
    )
    env["MODELREG_PORT"] = str(port)
    return env


@dataclass
class Served:
    directory: Path
    port: int
    token: str
    banner: str
    env: dict[str, str]


def _lines_of(process: subprocess.Popen[str]) -> "queue.Queue[str]":
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`make run` as the README shows it, on MODELREG_PORT, in a fresh directory."""
    (tmp_path / ".venv").symlink_to(REPOSITORY / ".venv")
    port = free_port()
    env = _shell_environment(port)
    # The banner (the first admin token) is printed where the log is text, as on a terminal.
    server_env = {**env, "MODELREG_LOG_FORMAT": "text"}
    process = subprocess.Popen(
        # `-o`: the venv is the repository's, already installed; never reinstall it from here.
        [
            "make",
            "--no-print-directory",
            "-f",
            str(REPOSITORY / "Makefile"),
            "-o",
            ".venv/.installed",
            "run",
        ],
        cwd=tmp_path,
        env=server_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = _lines_of(process)
        printed: list[str] = []
        deadline = time.monotonic() + 60
        token = None
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if process.poll() is not None:
                    break
                continue
            printed.append(line)
            if token is None and re.fullmatch(r"\s+mr_\S+\s*", line):
                token = line.strip()
            if token is not None and "Uvicorn running on" in line:
                break
        banner = "".join(printed)
        assert token is not None, f"make run printed no admin token:\n{banner}"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        yield Served(tmp_path, port, token, banner, env)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _run(served: Served, all_commands: list[Command]) -> dict[int, tuple[int, str]]:
    result = subprocess.run(
        ["bash", "-c", script(all_commands)],
        cwd=served.directory,
        env=served.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    ran = outputs(result.stdout)
    assert len(ran) == len(all_commands), result.stdout + result.stderr
    return ran


def _tour(readme: str, token: str) -> list[Command]:
    tour = [b for b in blocks(readme, "Five-minute tour") if not b.skipped]
    assert any(b.heading.startswith("From CI") for b in tour), "the CI commands are part of it"
    all_commands = [c for b in tour for c in commands(b.body)]
    pasted = [c for c in all_commands if TOKEN_PLACEHOLDER in c.text]
    assert len(pasted) == 1, f"one place to paste the admin token, as {TOKEN_PLACEHOLDER}"
    pasted[0].text = pasted[0].text.replace(TOKEN_PLACEHOLDER, token)
    return all_commands


def test_the_tour_runs_as_written(served: Served) -> None:
    readme = README.read_text()
    # The banner's hint works as printed, from where make run was started.
    assert "revoke it with `.venv/bin/modelreg token revoke admin`" in served.banner
    assert f"curl -s http://127.0.0.1:{served.port}/graphql" in served.banner

    all_commands = _tour(readme, served.token)
    ran = _run(served, all_commands)
    checked = 0
    for index, command in enumerate(all_commands):
        status, output = ran[index]
        assert status == 0, f"exit {status}: {command.text}{output}"
        for expected in command.expected:
            assert shows(output, expected), f"{command.text}printed:\n{output}\nREADME: {expected}"
            checked += 1
    assert checked >= 12, "the README shows what the key commands print"


def test_the_webhook_example_is_valid_json(served: Served) -> None:
    """`createWebhook` as the Webhooks section shows it, with the tour's `gql` helper."""
    readme = README.read_text()
    setup = _tour(readme, served.token)[:4]  # activate, ADMIN, MODELREG_PORT, gql
    assert setup[-1].text.startswith("gql()")
    (example,) = [b for b in blocks(readme, "Webhooks") if "createWebhook" in b.body]
    (create,) = commands(example.body)
    ran = _run(served, [*setup, create])
    status, output = ran[len(setup)]
    assert status == 0
    answer = json.loads(output)
    if "errors" in answer:
        # This machine reaches no DNS: the example host cannot resolve. Anything
        # else (a body that is not JSON, a bad input) is the README's fault.
        (error,) = answer["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", output
        assert "cannot resolve deploy.example.com" in error["message"], output
    else:
        assert shows(output, create.expected[0]), output


def test_the_splitting_keeps_multi_line_commands_whole() -> None:
    block = (
        'gql() { curl -s x \\\n  -d "$1"; echo; }\n'
        "gql '{\"a\":\n  1}'\n"
        '# {"data":{"x":1}}\n'
        "# not an expectation\n"
        "echo done   # a trailing comment\n"
    )
    split = commands(block)
    assert [c.text.splitlines()[0] for c in split] == [
        "gql() { curl -s x \\",
        'gql \'{"a":',
        "echo done   # a trailing comment",
    ]
    assert split[1].expected == ['{"data":{"x":1}}']
    assert shows('{"data": {"x": 1, "y": 2}}', '{"data":{"x":1, ...')
    assert not shows('{"data": {"x": 2}}', '{"data":{"x":1 ...')

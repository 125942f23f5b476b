"""Run the fuzzing in a network namespace that has nothing but loopback.

The fuzzer writes webhook URLs of its own invention and then calls
`testWebhook` and `redeliver`; with private networks allowed (so that the
seeded loopback receiver can be reached) the server would send those to
whatever address was generated, and resolve whatever host name. In a new
network namespace every such attempt fails at once, and loopback still works
between the server, the receiver and the fuzzer. `--map-root-user` makes the
namespace available without root where the kernel allows user namespaces.
"""

import os
import shutil
import sys
from typing import NoReturn

ISOLATED_FLAG = "--isolated"
# Brings loopback up (a new namespace starts with it down), then becomes the command.
_UP_AND_EXEC = 'ip link set lo up && exec "$@"'


def is_isolated() -> bool:
    return ISOLATED_FLAG in sys.argv[1:]


def reexec_isolated() -> NoReturn:
    """Replace this process with `python -m bench.fuzz --isolated` in a new network namespace."""
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"fuzz: needs {' and '.join(missing)} (util-linux, iproute2) to keep the server's "
            "webhook requests on loopback"
        )
    command = [
        "unshare", "--net", "--map-root-user", "--", "sh", "-c", _UP_AND_EXEC, "sh",
        sys.executable, "-m", "bench.fuzz", ISOLATED_FLAG,
    ]  # fmt: skip
    os.execvp(command[0], command)  # noqa: S606 (a fixed argv, no shell of the caller's)

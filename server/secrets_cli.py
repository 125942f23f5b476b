"""`modelreg secrets reseal|generate-key`: the key that encrypts webhook secrets at rest.

Rotation: set the new key as MODELREG_SECRET_KEY (or in the key file) and the
old one as MODELREG_SECRET_KEY_PREVIOUS, restart, run `modelreg secrets
reseal`; then the previous key can go. The registry's modules are imported
when a command runs (see server/cli.py).
"""

import argparse
import asyncio
import sys

from server.settings import get_settings


def _reseal(args: argparse.Namespace) -> int:
    from server.secret_keys import secret_keys
    from storage.database import create_database
    from webhooks.resealing import reseal_all
    from webhooks.sealing import SecretBox

    settings = get_settings()
    keys = secret_keys(settings, settings.database_url).keys

    async def run() -> int:
        db = create_database(settings.database_url)
        try:
            return await reseal_all(db, SecretBox(keys))
        finally:
            await db.dispose()

    count = asyncio.run(run())
    print(f"re-sealed the secrets of {count} webhook(s) with the current key", file=sys.stderr)
    return 0


def _generate_key(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def run_secrets_command(args: argparse.Namespace) -> int:
    from server.secret_keys import SecretKeyProblem
    from webhooks.sealing import SecretUnavailable

    try:
        return int(args.secrets_handler(args))
    except (SecretKeyProblem, SecretUnavailable) as problem:
        print(f"modelreg: {problem}", file=sys.stderr)
        return 1


def add_secrets_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    group = commands.add_parser("secrets", help="the key that encrypts webhook secrets at rest")
    secrets_commands = group.add_subparsers(dest="secrets_command", required=True)
    reseal = secrets_commands.add_parser(
        "reseal",
        help="seal every stored webhook secret with the current key, in one transaction "
        "(after a rotation: the previous keys are no longer needed afterwards)",
    )
    reseal.set_defaults(secrets_handler=_reseal)
    generate = secrets_commands.add_parser(
        "generate-key", help="print a new random key (for MODELREG_SECRET_KEY or a key file)"
    )
    generate.set_defaults(secrets_handler=_generate_key)

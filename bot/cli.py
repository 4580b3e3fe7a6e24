"""The `branchbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from telegram.error import InvalidToken, NetworkError

from bot import admin_cli
from bot.config import Config, ConfigError, check_secrets, load_config
from bot.logs import setup_logging
from models import migrate
from models.db import create_engine

EXIT_CONFIG = 2


def _config_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="configuration file (default: $BRANCHBOT_CONFIG, else ./branchbot.toml if present)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="branchbot",
        description="A Telegram bot for party branches whose members move around.",
    )
    _config_option(parser, None)
    # --config may also follow the subcommand; SUPPRESS keeps an earlier one.
    common = argparse.ArgumentParser(add_help=False)
    _config_option(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", parents=[common], help="run the bot (long polling unless --webhook)"
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve the webhook on [webhook] listen:port for a reverse proxy, instead of polling",
    )

    db = commands.add_parser("db", parents=[common], help="database schema (Alembic)")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", parents=[common], help="migrate the schema to this version")
    db_commands.add_parser("current", parents=[common], help="print the schema revision")

    commands.add_parser(
        "check-config", parents=[common], help="validate the configuration and exit"
    )

    sandbox = commands.add_parser(
        "sandbox",
        help="try the bot offline: a Telegram look-alike in the browser, with demo data",
        description="The whole bot against a local Bot API emulator, on a demo database, "
        "with a page in the browser that looks like Telegram. Needs no token and no network.",
    )
    sandbox.add_argument("--port", type=_port, default=8080, help="default 8080; 0: any free")
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default: loopback only)"
    )
    sandbox.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        default=None,
        help="folder for its database and chats (default: ~/.local/share/branchbot/sandbox)",
    )
    sandbox.add_argument("--reset", action="store_true", help="start over from the demo data")
    admin_cli.add_commands(commands, common)
    return parser


async def _run(config: Config, webhook: bool) -> None:
    from bot.app import BotRuntime

    if webhook and not config.webhook.secret_token:
        raise ConfigError("webhook.secret_token: required with --webhook (1-256 of A-Za-z0-9_-)")
    await BotRuntime(config).run_until_signalled(webhook=webhook)


async def _db_upgrade(config: Config) -> None:
    engine = create_engine(config.database.url)
    try:
        await migrate.upgrade(engine)
        print(f"database at revision {await migrate.current_revision(engine)}")
    finally:
        await engine.dispose()


async def _db_current(config: Config) -> None:
    engine = create_engine(config.database.url)
    try:
        revision = await migrate.current_revision(engine)
        head = migrate.head_revision()
        state = "up to date" if revision == head else f"code is at {head}"
        print(f"{revision or 'empty (no schema)'} ({state})")
    finally:
        await engine.dispose()


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return port


def _sandbox(args: argparse.Namespace) -> int:
    from bot import sandbox

    options = sandbox.Options(
        data=args.data or sandbox.default_data_folder(),
        port=args.port,
        host=args.host,
        reset=args.reset,
    )
    try:
        sandbox.run(options)
    except sandbox.SandboxError as exc:
        return _fail(f"sandbox: {exc}", EXIT_CONFIG)
    except KeyboardInterrupt:
        return 130
    return 0


def _fail(message: str, status: int) -> int:
    print(f"branchbot: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":  # needs no configuration: it is its own world
        return _sandbox(args)
    try:
        config = load_config(args.config)
        setup_logging(config.logging.level)
        action: Callable[[], Awaitable[None]]
        if args.command == "check-config":
            check_secrets(config)
            print("configuration is valid")
            return 0
        if args.command == "run":
            check_secrets(config)
            action = lambda: _run(config, args.webhook)  # noqa: E731
        elif args.command in admin_cli.COMMANDS:
            action = lambda: admin_cli.dispatch(args, config)  # noqa: E731
        elif args.db_command == "upgrade":
            action = lambda: _db_upgrade(config)  # noqa: E731
        else:
            action = lambda: _db_current(config)  # noqa: E731
        asyncio.run(action())
    except ConfigError as exc:
        return _fail(f"configuration error: {exc}", EXIT_CONFIG)
    except admin_cli.CommandError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except migrate.SchemaTooNew as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except InvalidToken:
        return _fail("configuration error: telegram.token: rejected by the Bot API", EXIT_CONFIG)
    except NetworkError as exc:
        return _fail(f"cannot reach the Bot API (telegram.api_base_url): {exc.message}", 1)
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        return _fail(f"cannot use the database (database.url): {reason}", 1)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `branchbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from telegram import Bot
from telegram.error import InvalidToken, NetworkError

from bot import admin_cli
from bot.config import (
    Config,
    ConfigError,
    check_secrets,
    check_webhook,
    config_path,
    load_config,
    missing_secrets,
)
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
    parser.add_argument("--version", action="version", version=f"branchbot {version('branchbot')}")
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

    check = commands.add_parser(
        "check-config",
        parents=[common],
        help="validate the configuration and exit",
        description="Check the configuration file and the environment, and say which file "
        "was read. Secrets not set yet are listed; with --webhook or --online they are "
        "required, as `run` requires them.",
    )
    check.add_argument(
        "--webhook", action="store_true", help="also what `run --webhook` needs (a secret token)"
    )
    check.add_argument(
        "--online", action="store_true", help="also ask the Bot API whether the token is known"
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

    if webhook:
        check_webhook(config)
    await BotRuntime(config).run_until_signalled(webhook=webhook)


def _check_config(args: argparse.Namespace, config: Config) -> None:
    if args.webhook or args.online:
        check_secrets(config)
    if args.webhook:
        check_webhook(config)
    print("configuration is valid")
    for line in missing_secrets(config):
        print(f"not set yet, needed to run: {line}")
    if args.online:
        asyncio.run(_ask_the_bot_api(config))


async def _ask_the_bot_api(config: Config) -> None:
    bot = Bot(
        config.telegram.token,
        base_url=config.telegram.bot_base_url,
        base_file_url=config.telegram.file_base_url,
    )
    async with bot:  # getMe
        print(f"the Bot API at {config.telegram.api_base_url} knows the token: @{bot.username}")


async def _db_upgrade(config: Config) -> None:
    engine = create_engine(config.database.url)
    try:
        await migrate.upgrade(engine)
        print(f"database at revision {await migrate.current_revision(engine)}")
    finally:
        await engine.dispose()


async def _db_current(config: Config) -> int:
    """0 when the schema is this code's; 1 when it is behind or absent (SchemaTooNew
    when it is ahead)."""
    engine = create_engine(config.database.url)
    try:
        revision = await migrate.check_schema(engine)
    finally:
        await engine.dispose()
    head = migrate.head_revision()
    if revision == head:
        print(f"{revision} (up to date)")
        return 0
    if revision is None:
        print("no schema yet; run: branchbot db upgrade")
    else:
        print(f"{revision}, behind this branchbot's {head}; run: branchbot db upgrade")
    return 1


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
        if args.command == "check-config":
            path = config_path(args.config)
            print(f"read {path}" if path else "no configuration file: defaults and environment")
        config = load_config(args.config)
        setup_logging(config.logging.level)
        action: Callable[[], Awaitable[int | None]]
        if args.command == "check-config":
            _check_config(args, config)
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
        return asyncio.run(action()) or 0
    except ConfigError as exc:
        return _fail(f"configuration error: {exc}", EXIT_CONFIG)
    except admin_cli.CommandError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except (migrate.SchemaTooNew, migrate.SchemaBehind) as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except InvalidToken:
        return _fail(
            "configuration error: telegram.token: rejected by the Bot API at "
            f"{config.telegram.api_base_url} (is it the token @BotFather gave?)",
            EXIT_CONFIG,
        )
    except NetworkError as exc:
        return _fail(f"cannot reach the Bot API (telegram.api_base_url): {exc.message}", 1)
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        return _fail(f"cannot use the database (database.url): {reason}", 1)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

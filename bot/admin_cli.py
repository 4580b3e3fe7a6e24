"""`branchbot org ...` and `branchbot admin ...`: the tree and the roles, from a shell.

Each command migrates the schema (unless database.auto_migrate is false: then it
refuses an old one, as the bot does), runs in one transaction and prints a short
summary. Problems come out as a `CommandError` with a one-line message.
"""

from __future__ import annotations

import argparse
import tomllib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from models import migrate
from models.db import create_engine, create_session_factory
from models.errors import DomainError, InvalidInput
from models.org import OrgUnit, get_unit, import_org, invite_payload, list_tree, unit_by_code
from models.permissions import Role, all_grants, grant_role, revoke_role

COMMANDS = ("org", "admin")


class CommandError(Exception):
    """A problem with an admin command, worded as one line for the person typing it."""


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common_parent: argparse.ArgumentParser,
) -> None:
    """Add the `org` and `admin` commands to the `branchbot` parser."""
    org = subparsers.add_parser("org", parents=[common_parent], help="the organisation tree")
    org_commands = org.add_subparsers(dest="org_command", required=True, metavar="ACTION")
    org_import = org_commands.add_parser(
        "import",
        parents=[common_parent],
        help="create or update units from a TOML file (see examples/org.example.toml)",
    )
    org_import.add_argument("file", metavar="FILE.toml")
    org_commands.add_parser(
        "list", parents=[common_parent], help="print the tree with codes and invite payloads"
    )

    admin = subparsers.add_parser("admin", parents=[common_parent], help="roles: who may do what")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    for action, text in (("grant", "give a role"), ("revoke", "take a role away")):
        command = admin_commands.add_parser(action, parents=[common_parent], help=text)
        command.add_argument("telegram_id", metavar="TELEGRAM_USER_ID", type=int)
        command.add_argument("--role", required=True, choices=[r.value for r in Role])
        command.add_argument(
            "--org", metavar="UNIT_CODE", help="the unit (secretary, organizer); none for admin"
        )
    admin_commands.add_parser("list", parents=[common_parent], help="print every role granted")


# What each refusal of an org file means, said to the person who wrote the file.
IMPORT_WORDS = {
    "import.not_text": "must be text in quotes",
    "import.too_long": "is too long",
    "import.bad_coordinate": "is not a coordinate",
    "import.not_a_table": "is not a [[unit]] table",
    "import.bad_code": "is not a usable code",
    "import.unknown_key": "is not a field branchbot knows",
    "import.bad_kind": "is not a kind of unit",
    "import.missing": "is missing",
    "import.bad_timezone": "is not a time zone",
    "import.unknown_parent": "names a unit that is neither in the file nor in the database",
    "import.parent_kind": "cannot be the parent of this unit",
    "import.cycle": "is its own ancestor: the parents make a loop",
    "import.no_units": "the file has no units",
    "import.duplicate_code": "is used by two units in the file",
}


def _describe_import(error: InvalidInput) -> str:
    """`unit "a", parent "b": names a unit that …`: where, the value at fault, what is wrong."""
    words = IMPORT_WORDS.get(error.reason, error.reason)
    if error.reason == "import.no_units":
        return words
    place = [f"unit {error.subject}" if error.subject else "", error.field]
    if error.value is not None:
        place[-1] = f"{error.field} {error.value!r}"
    where = ", ".join(part for part in place if part)
    return f"{where}: {words}" + (f" ({error.hint})" if error.hint else "")


def _a(role: str | None) -> str:
    return f"{'an' if (role or 'x')[0] in 'aeiou' else 'a'} {role}"


def _describe_role(error: DomainError, args: argparse.Namespace) -> str:
    """A refused grant or revoke, in the words of the command line that was typed."""
    who, role = getattr(args, "telegram_id", None), getattr(args, "role", None)
    reason = error.reason if isinstance(error, InvalidInput) else error.code
    words = {
        "role.admin_has_no_unit": "an admin covers the whole tree: leave out --org",
        "role.unit_required": f"{_a(role)} works in one unit: add --org UNIT_CODE",
        "role.bad_user_id": f"{who} is not a Telegram user id (a positive number)",
        "role.not_granted": f"{who} is not {role}"
        + (f" of {args.org}" if getattr(args, "org", None) else "")
        + "; see: branchbot admin list",
        "unit.not_found": f"no unit has the code {getattr(args, 'org', None)!r}; "
        "see: branchbot org list",
    }
    return words.get(reason, str(error))


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise CommandError(f"{path}: not found") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to read
        raise CommandError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot be read ({exc.strerror})") from None


async def _org_import(session: AsyncSession, path: str) -> list[str]:
    data = _read_toml(path)
    try:
        result = await import_org(session, data)
    except InvalidInput as exc:
        raise CommandError(f"{path}: {_describe_import(exc)}; nothing was changed") from None
    lines = [
        f"{len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged"
    ]
    for label, codes in (("created", result.created), ("updated", result.updated)):
        lines.extend(f"  {label}: {code}" for code in codes)
    return lines


def _unit_line(depth: int, unit: OrgUnit) -> str:
    return f"{'  ' * depth}{unit.name_zh}  [{unit.kind}] {unit.code}  {invite_payload(unit)}"


async def _org_list(session: AsyncSession) -> list[str]:
    tree = await list_tree(session)
    if not tree:
        return ["no units yet; load some with: branchbot org import FILE.toml"]
    return [_unit_line(depth, unit) for depth, unit in tree]


async def _unit_id(session: AsyncSession, code: str | None) -> int | None:
    return None if code is None else (await unit_by_code(session, code)).id


async def _admin_grant(session: AsyncSession, args: argparse.Namespace) -> list[str]:
    unit_id = await _unit_id(session, args.org)
    await grant_role(session, args.telegram_id, args.role, unit_id, granted_by=None)
    where = f" of {args.org}" if args.org else " (whole tree)"
    return [f"{args.telegram_id} is {args.role}{where}"]


async def _admin_revoke(session: AsyncSession, args: argparse.Namespace) -> list[str]:
    unit_id = await _unit_id(session, args.org)
    await revoke_role(session, args.telegram_id, args.role, unit_id)
    where = f" of {args.org}" if args.org else ""
    return [f"{args.telegram_id} is no longer {args.role}{where}"]


async def _admin_list(session: AsyncSession) -> list[str]:
    grants = await all_grants(session)
    if not grants:
        return ["no roles granted; start with: branchbot admin grant YOUR_TELEGRAM_ID --role admin"]
    lines = []
    for grant in grants:
        if grant.org_unit_id is None:
            lines.append(f"{grant.telegram_id}  {grant.role}  (whole tree)")
        else:
            unit = await get_unit(session, grant.org_unit_id)
            lines.append(f"{grant.telegram_id}  {grant.role}  {unit.code}  {unit.name_zh}")
    return lines


async def _run(session: AsyncSession, args: argparse.Namespace) -> list[str]:
    if args.command == "org":
        if args.org_command == "import":
            return await _org_import(session, args.file)
        return await _org_list(session)
    if args.admin_command == "grant":
        return await _admin_grant(session, args)
    if args.admin_command == "revoke":
        return await _admin_revoke(session, args)
    return await _admin_list(session)


async def dispatch(args: argparse.Namespace, config: Config) -> None:
    """Run one `org` or `admin` command against the configured database."""
    engine = create_engine(config.database.url)
    try:
        await migrate.ensure_current(engine, auto_migrate=config.database.auto_migrate)
        sessions = create_session_factory(engine)
        async with sessions.begin() as session:
            try:
                lines = await _run(session, args)
            except DomainError as exc:
                raise CommandError(_describe_role(exc, args)) from None
    finally:
        await engine.dispose()
    # Printed only after the commit, so a summary never describes a rolled-back change.
    print("\n".join(lines))

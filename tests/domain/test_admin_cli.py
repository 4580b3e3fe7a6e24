"""`branchbot org ...` and `branchbot admin ...` through admin_cli.dispatch."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from bot.admin_cli import CommandError, add_commands, dispatch
from bot.config import Config, DatabaseConfig
from tests.conftest import Database
from tests.domain.conftest import EXAMPLE_ORG


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="branchbot")
    common = argparse.ArgumentParser(add_help=False)
    commands = parser.add_subparsers(dest="command", required=True)
    add_commands(commands, common)
    return parser.parse_args(argv)


async def run(database: Database, *argv: str) -> None:
    await dispatch(parse(*argv), Config(database=DatabaseConfig(url=database.url)))


async def test_import_list_grant_revoke(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    await run(database, "org", "import", str(EXAMPLE_ORG))
    assert capsys.readouterr().out.startswith("10 created, 0 updated, 0 unchanged")
    await run(database, "org", "import", str(EXAMPLE_ORG))
    assert capsys.readouterr().out.startswith("0 created, 0 updated, 10 unchanged")

    await run(database, "org", "list")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10
    assert re.fullmatch(
        r"湛江经开区两新组织党工委  \[committee\] zhanjiang-edz  r_[A-Za-z0-9_-]{10,12}", lines[0]
    )
    assert lines[3].startswith("      湛江万达广场商圈党支部  [branch] wanda-plaza  r_")

    await run(database, "admin", "grant", "123456789", "--role", "secretary", "--org", "huaduhui")
    assert capsys.readouterr().out.strip() == "123456789 is secretary of huaduhui"
    await run(database, "admin", "grant", "42", "--role", "admin")
    capsys.readouterr()
    await run(database, "admin", "list")
    assert capsys.readouterr().out.splitlines() == [
        "42  admin  (whole tree)",
        "123456789  secretary  huaduhui  湛江华都汇商圈党支部",
    ]
    await run(database, "admin", "revoke", "123456789", "--role", "secretary", "--org", "huaduhui")
    assert "no longer secretary" in capsys.readouterr().out
    await run(database, "admin", "list")
    assert capsys.readouterr().out.splitlines() == ["42  admin  (whole tree)"]


async def test_problems_are_one_line_command_errors(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[[unit]]\ncode = "a"\nkind = "branch"\nname_zh = "甲"\nparent = "b"\n')
    with pytest.raises(CommandError) as caught:
        await run(database, "org", "import", str(broken))
    assert str(caught.value) == (
        f"{broken}: unit a, parent 'b': names a unit that is neither in the file nor in the "
        "database; nothing was changed"
    )
    with pytest.raises(CommandError, match="not found"):
        await run(database, "org", "import", str(tmp_path / "missing.toml"))
    for text in ("[[unit]\n", "[[unit]]\nlatitude = " + "9" * 5000 + "\n"):
        broken.write_text(text)
        with pytest.raises(CommandError, match="not valid TOML"):
            await run(database, "org", "import", str(broken))
    refusals = {
        ("admin", "grant", "1", "--role", "secretary", "--org", "nowhere"): (
            "no unit has the code 'nowhere'; see: branchbot org list"
        ),
        ("admin", "grant", "1", "--role", "organizer"): (
            "an organizer works in one unit: add --org UNIT_CODE"
        ),
        ("admin", "grant", "1", "--role", "admin", "--org", "nowhere"): (
            "no unit has the code 'nowhere'; see: branchbot org list"
        ),
        ("admin", "revoke", "1", "--role", "admin"): "1 is not admin; see: branchbot admin list",
        ("admin", "grant", "0", "--role", "admin"): (
            "0 is not a Telegram user id (a positive number)"
        ),
    }
    for argv, words in refusals.items():
        with pytest.raises(CommandError) as caught:
            await run(database, *argv)
        assert str(caught.value) == words, argv
    await run(database, "org", "list")
    assert "no units yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("unit", "words"),
    [
        (
            'code = "A B"\nkind = "branch"\nname_zh = "甲"',
            "unit #1, code 'A B': is not a usable code "
            "(use 1-64 of a-z, 0-9 and -, e.g. wanda-plaza)",
        ),
        (
            'code = "a"\nkind = "shop"\nname_zh = "甲"',
            "unit a, kind 'shop': is not a kind of unit "
            "(one of committee, community, branch, group)",
        ),
        ('code = "a"\nkind = "branch"', "unit a, name_zh: is missing (required)"),
        (
            'code = "a"\nkind = "branch"\nname_zh = "甲"\ntimezone = "Mars/Base"',
            "unit a, timezone 'Mars/Base': is not a time zone (an IANA name such as Asia/Shanghai)",
        ),
        (
            'code = "a"\nkind = "branch"\nname_zh = "甲"\ncolour = "red"',
            "unit a, colour: is not a field branchbot knows (not a unit field)",
        ),
    ],
)
async def test_a_refused_org_file_names_the_unit_the_field_and_the_value(
    database: Database, tmp_path: Path, unit: str, words: str
) -> None:
    broken = tmp_path / "org.toml"
    broken.write_text(f"[[unit]]\n{unit}\n", encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        await run(database, "org", "import", str(broken))
    assert str(caught.value) == f"{broken}: {words}; nothing was changed"

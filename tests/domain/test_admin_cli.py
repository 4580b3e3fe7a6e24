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
    with pytest.raises(CommandError, match=r"import\.unknown_parent \(a\.parent\); nothing"):
        await run(database, "org", "import", str(broken))
    with pytest.raises(CommandError, match="not found"):
        await run(database, "org", "import", str(tmp_path / "missing.toml"))
    for text in ("[[unit]\n", "[[unit]]\nlatitude = " + "9" * 5000 + "\n"):
        broken.write_text(text)
        with pytest.raises(CommandError, match="not valid TOML"):
            await run(database, "org", "import", str(broken))
    with pytest.raises(CommandError, match=r"unit\.not_found"):
        await run(database, "admin", "grant", "1", "--role", "secretary", "--org", "nowhere")
    with pytest.raises(CommandError, match=r"role\.unit_required"):
        await run(database, "admin", "grant", "1", "--role", "organizer")
    with pytest.raises(CommandError, match=r"role\.not_granted"):
        await run(database, "admin", "revoke", "1", "--role", "admin")
    await run(database, "org", "list")
    assert "no units yet" in capsys.readouterr().out

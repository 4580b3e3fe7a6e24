"""Every message exists in every language, with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from views import i18n
from views.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("bot", "handlers", "models", "scheduler", "views")


def keys_used_in_code() -> set[str]:
    """Literal keys passed to t(...), context.t(...) or i18n.t(lang, ...)."""
    found: set[str] = set()
    for directory in CODE_DIRS:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / directory,
            method_map=[("**.py", "python")],
            keywords={"t": (1,), "tr": (2,), "N_": (1,)},
        ):
            if isinstance(message, str) and "." in message and " " not in message:
                found.add(message)
    return found


KEY_SHAPE = re.compile(r"^(?:[a-z_]+\.)+[a-z_]+$")


def key_literals_in_handlers() -> set[str]:
    """String constants shaped like a catalog key in a known namespace, wherever they stand
    (dict values, variables), except the domain error codes that ERROR_MESSAGES maps."""
    from handlers.ui import ERROR_MESSAGES

    namespaces = {key.split(".")[0] for key in i18n.all_keys("en")}
    found: set[str] = set()
    for directory in ("handlers", "scheduler", "views"):
        for path in (ROOT / directory).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                value = getattr(node, "value", None)
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(value, str)
                    and KEY_SHAPE.match(value)
                    and value.split(".")[0] in namespaces
                    and value not in ERROR_MESSAGES
                ):
                    found.add(value)
    return found


def test_every_key_literal_in_handlers_is_in_the_catalog() -> None:
    literals = key_literals_in_handlers()
    assert {"member_type.floating", "register.column.phone"} <= literals  # the scan works
    missing = sorted(literals - i18n.all_keys("en"))
    assert missing == [], f"keys used but not in the catalogs: {missing}"


def test_every_domain_error_code_has_a_message() -> None:
    """Codes the models raise (InvalidState("..."), NotFound("..."), InvalidInput(f, "..."))."""
    from handlers.ui import ERROR_MESSAGES

    raised: set[str] = set()
    for path in (ROOT / "models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            position = {"InvalidState": 0, "NotFound": 0, "InvalidInput": 1, "move_status": 3}.get(
                node.func.id
            )
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                raised.add(argument.value)
    # Import errors and role errors reach people only through the command line.
    people_facing = {c for c in raised if not c.startswith(("import.", "role.", "roster."))}
    assert "report.already_decided" in people_facing  # the scan works
    missing = sorted(people_facing - set(ERROR_MESSAGES))
    assert missing == [], f"domain errors without a message for people: {missing}"
    for code, key in ERROR_MESSAGES.items():
        assert key in i18n.all_keys("en"), (code, key)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_code_uses_keys_found_by_extraction() -> None:
    # Guards the test itself: extraction must see the calls we know exist.
    assert {"start.welcome", "error.apology", "language.set"} <= keys_used_in_code()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_used_in_code_is_translated(language: str) -> None:
    catalog = i18n.read_catalog(language)
    missing = sorted(
        k for k in keys_used_in_code() if not (catalog.get(k) and catalog.get(k).string)
    )
    assert missing == [], f"{language} lacks: {missing}"


def test_languages_have_the_same_keys_and_placeholders() -> None:
    catalogs = {language: i18n.read_catalog(language) for language in LANGUAGES}
    keys = {language: i18n.all_keys(language) for language in LANGUAGES}
    reference = keys[LANGUAGES[0]]
    for language in LANGUAGES[1:]:
        assert keys[language] == reference, keys[language] ^ reference
    for key in reference:
        texts = {lang: catalogs[lang][key].string for lang in LANGUAGES}
        assert all(texts.values()), f"{key} is empty in some language"
        shapes = {lang: placeholders(text) for lang, text in texts.items()}
        assert len({frozenset(s) for s in shapes.values()}) == 1, f"{key}: {shapes}"


def test_no_catalog_entry_is_fuzzy() -> None:
    for language in LANGUAGES:
        fuzzy = [m.id for m in i18n.read_catalog(language) if m.id and m.fuzzy]
        assert fuzzy == [], f"{language}: {fuzzy}"


def test_pick_language() -> None:
    assert i18n.pick_language(None, "en-GB", "zh") == "en"
    assert i18n.pick_language(None, "zh-hans", "en") == "zh"
    assert i18n.pick_language(None, "ru", "zh") == "zh"
    assert i18n.pick_language("en", "zh", "zh") == "en"
    assert i18n.pick_language(None, None, "en") == "en"


def test_translation_fills_placeholders() -> None:
    assert "张三" in i18n.t("zh", "start.welcome", name="张三")
    assert "Alice" in i18n.t("en", "start.welcome", name="Alice")


# One word for one thing: the words chosen, and those they replaced.
RETIRED_WORDS = {
    "zh": ("回复", "不准假", "流动党员档案", "原支部", "保存您组织关系"),
    "en": ("managed by", "managed here", "given up", "Not declared", "Leave:"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_retired_words_do_not_come_back(language: str) -> None:
    for message in i18n.read_catalog(language):
        if message.id:
            for word in RETIRED_WORDS[language]:
                assert word not in message.string, f"{message.id} says {word!r}"


def test_chinese_texts_nest_no_brackets_and_stack_no_colons() -> None:
    """王小明（流动党员（原所在支部：…）） and …（已屏蔽机器人）：3 人：… read badly."""
    for message in i18n.read_catalog("zh"):
        for line in message.string.split("\n") if message.id else ():
            assert not re.search(r"（[^（）]*（", line), f"{message.id}: {line}"
            assert not re.search(r"）：[^：]*：", line), f"{message.id}: {line}"


def test_a_floating_members_type_reads_as_one_bracket() -> None:
    from models.members.tables import Member, MemberType
    from views.notifications import member_type_text

    member = Member(member_type=MemberType.floating, home_branch="长沙市某街道党支部")
    typed = f"王小明（{member_type_text(member, 'zh')}）"
    assert typed == "王小明（流动党员，原所在支部：长沙市某街道党支部）"
    assert member_type_text(member, "en") == "Floating member, home branch: 长沙市某街道党支部"

"""Typed callback data: each kind builds its data and parses it back; anything else is stale."""

from __future__ import annotations

from dataclasses import fields

import pytest

from views import buttons as b

EXAMPLES = [
    b.ApproveReport(42),
    b.BrowseUnits(True, 0),
    b.RosterPage(7, 2, 3),
    b.PeoplePage(5, 3, 12),
    b.PageShown(),
    b.ChooseLanguage("en"),
    b.SkipStep("place"),
    b.Publish(),
    b.ConfirmForget(),
    b.CheckInToggle(0, "check_out", True),
    b.CheckInToggle(2**63 - 1, "walk_ins", False),
    b.CheckInRadius(12, 1000),
    b.SaveCheckIn(5),
]


@pytest.mark.parametrize("button", EXAMPLES, ids=lambda button: type(button).__name__)
def test_a_button_parses_back_into_itself(button: b.Button) -> None:
    assert b.Button.parse(button.pack()) == button


def test_the_data_of_buttons_already_in_chats_keeps_its_meaning() -> None:
    """Messages sent before this version still carry the old data."""
    assert b.ApproveReport(42).pack() == "rep:ok:42"
    assert b.ShowCard(5).pack() == "ev:v:5"
    assert b.RosterPage(7, 2, 3).pack() == "ros:p:7:2:3"
    assert b.Consent(True).pack() == "prof:consent:1"
    assert b.ChooseLanguage("zh").pack() == "lang:zh"
    assert b.ConfirmForget().pack() == "fgt:yes"


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "rep",
        "rep:ok",  # an id missing
        "rep:ok:42:43",  # one too many
        "rep:ok:-1",
        "rep:ok:4.2",
        "rep:ok:99999999999999999999",
        "rep:ok:9223372036854775808",  # 2**63
        "prof:consent:2",
        "lang:zh:en",
        "lang:<b>",
        "nope:v:1",
        "ev:v: 5",
        "ev:v:５",  # a full-width digit
        "ev:v:" + "1" * 60,  # over Telegram's 64 bytes
        "ev:v:1" + " " * 10_000,
        "ev:v:\x00",
        "ev:v:\udcff",  # a lone surrogate: not even encodable
        "\ufeffev:v:1",
        "ev:v:1\u202e",
        b"ev:v:1",
        42,
    ],
)
def test_forged_or_stale_data_is_refused(data: object) -> None:
    with pytest.raises(b.StaleButton):
        b.Button.parse(data)


def test_every_kind_fits_telegrams_limit_with_large_ids() -> None:
    for kind in b.Button._kinds.values():
        values = {"int": 2**40, "bool": True, "str": "x" * 16}  # a trillion rows and more
        button = kind(*(values[str(f.type)] for f in fields(kind)))  # type: ignore[arg-type]
        assert len(button.pack().encode()) <= b.MAX_BYTES, button


def test_a_button_refuses_to_carry_what_it_could_not_parse() -> None:
    with pytest.raises(ValueError):
        b.ApproveReport(-1).pack()
    with pytest.raises(ValueError):
        b.ChooseLanguage("zh:en").pack()


def test_every_kind_has_a_handler() -> None:
    import handlers

    assert set(b.Button._kinds.values()) == set(handlers.PRESSES)

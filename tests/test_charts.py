"""The charts of /stats (views.charts): valid PNGs of the expected size, and every text
drawn in a font that has its glyphs: a chart of empty boxes is a bug."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from PIL import Image

from views import charts

MONTHS = ["1月", "2月", "3月", "4月", "5月", "6月"]
RATES = [0.92, None, 0.5, 1.0, None, 0.75]
KINDS = ["支部党员大会", "支委会", "党小组会", "党课", "主题党日"]
KINDS_EN = ["General meeting", "Committee meeting", "Group meeting", "Party lecture", "Theme day"]
BRANCH = "湛江万达广场商圈党支部"


def drawn(figure: Figure) -> list[Text]:
    """Draw `figure`, failing on any missing glyph; its texts as drawn."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"(?s).*Glyph .* missing from")
        figure.canvas.draw()
    return [t for t in figure.findobj(Text) if t.get_text().strip() and t.get_visible()]


def missing_glyphs(texts: list[Text]) -> list[tuple[str, str, str]]:
    """(text, character, font file) for each character whose font has no glyph for it."""
    missing = []
    for text in texts:
        path = findfont(text.get_fontproperties())
        font = FT2Font(path)
        missing += [
            (text.get_text(), c, path)
            for c in text.get_text()
            if not c.isspace() and font.get_char_index(ord(c)) == 0
        ]
    return missing


def strings(texts: list[Text]) -> list[str]:
    return [t.get_text() for t in texts]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_attendance_by_month_in_chinese() -> None:
    figure = charts._bar_figure(
        f"{BRANCH} 出席率",
        MONTHS,
        RATES,
        y_label="出席率",
        target=0.8,
        empty_text="本期没有数据",
    )
    texts = drawn(figure)
    assert missing_glyphs(texts) == []
    shown = strings(texts)
    assert f"{BRANCH} 出席率" in shown and "出席率" in shown
    assert set(MONTHS) <= set(shown)
    # Each bar labelled; a month without a meeting is a gap marked "—", not 0 %.
    assert [s for s in shown if s in {"92%", "50%", "100%", "75%", "—"}].count("—") == 2
    assert {"92%", "50%", "100%", "75%"} <= set(shown)
    assert "0%" in shown and "120%" not in shown  # ticks stop at the largest value
    assert "80%" in shown  # the target line says what it is


def test_the_png_is_1000_by_600() -> None:
    data = charts.bar_chart("出席率", MONTHS, RATES, target=0.8, empty_text="本期没有数据")
    assert png_size(data) == (1000, 600)
    data = charts.completion_chart(
        "三会一课",
        KINDS,
        [1, 2, 3, 0, 3],
        [1, 3, 3, 1, 3],
        held_label="已召开",
        required_label="应召开",
        empty_text="本期没有数据",
    )
    assert png_size(data) == (1000, 600)


def test_volunteer_hours_with_their_own_format() -> None:
    figure = charts._bar_figure(
        "志愿服务时长（小时）",
        MONTHS,
        [12.5, 30, 0, 44, 18.5, 7],
        value_format="{:g}",
        empty_text="本期没有数据",
    )
    texts = drawn(figure)
    assert missing_glyphs(texts) == []
    assert {"志愿服务时长（小时）", "12.5", "30", "0", "44", "18.5", "7"} <= set(strings(texts))
    assert not any(s.endswith("%") for s in strings(texts))


def test_a_callable_value_format() -> None:
    figure = charts._bar_figure(
        "Hours", ["Jan", "Feb"], [3, 4.5], value_format=lambda v: f"{v:.1f} h", empty_text="-"
    )
    assert {"3.0 h", "4.5 h"} <= set(strings(drawn(figure)))


def test_english_labels() -> None:
    figure = charts._bar_figure(
        "Attendance rate by month",
        ["Jan", "Feb", "Mar"],
        [0.5, None, 0.8],
        y_label="Attendance",
        empty_text="No data",
    )
    texts = drawn(figure)
    assert missing_glyphs(texts) == []
    assert {"Attendance rate by month", "Jan", "Feb", "Mar", "50%", "—", "80%"} <= set(
        strings(texts)
    )


def test_long_branch_names_lie_horizontally_wrapped_by_width() -> None:
    long_name = "霞山区人民大道南社区流动党员第一党支部"  # 19 characters, no spaces
    english = "Zhanjiang Bay Logistics Workers Branch No. 2"
    figure = charts._bar_figure(
        "各支部出席率",
        [BRANCH, long_name, english],
        [0.9, 0.7, None],
        target=0.8,
        empty_text="本期没有数据",
    )
    texts = drawn(figure)
    assert missing_glyphs(texts) == []
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels[0] == BRANCH  # fits one line, the first on top
    assert labels[1].replace("\n", "") == long_name and "\n" in labels[1]  # wrapped, whole
    assert labels[2] == "Zhanjiang Bay Logistics\nWorkers Branch No. 2"  # at a space
    assert figure.axes[0].get_xticklabels()[0].get_text() == "0%"  # values along x


def test_forty_branches_grow_the_picture_and_stay_readable() -> None:
    names = [f"第{i}党支部（湛江万达广场商圈第{i}片区）" for i in range(1, 41)]
    hours = [i * 2.5 for i in range(40)]
    figure = charts._bar_figure(
        "志愿服务时长（小时）", names, hours, value_format="{:g}", empty_text="本期没有数据"
    )
    texts = drawn(figure)
    assert missing_glyphs(texts) == []
    labels = figure.axes[0].get_yticklabels()
    assert [t.get_text().replace("\n", "") for t in labels] == names
    assert min(t.get_fontsize() for t in labels) >= 10
    width, height = figure.canvas.get_width_height()
    assert width == 1000 and 1600 <= height <= 3000
    # No two labels overlap: each sits below the one before.
    boxes = [t.get_window_extent() for t in labels]
    assert all(upper.y0 >= lower.y1 for upper, lower in itertools.pairwise(boxes))
    data = charts.bar_chart("志愿服务时长（小时）", names, hours, empty_text="本期没有数据")
    assert png_size(data) == (1000, height)


def test_a_name_too_long_for_two_lines_is_cut() -> None:
    name = "湛江万达广场商圈" * 5
    figure = charts._bar_figure("出席率", [name], [0.5], empty_text="本期没有数据")
    label = figure.axes[0].get_yticklabels()[0].get_text()
    assert label.count("\n") == 1 and label.endswith("…")
    assert label.replace("\n", "")[:-1] == name[: len(label) - 2]


def test_completion_held_against_required_in_chinese() -> None:
    figure = charts._completion_figure(
        "三会一课完成情况",
        KINDS,
        [1, 2, 3, 0, 3],
        [1, 3, 3, 1, 4],
        held_label="已召开",
        required_label="应召开",
        empty_text="本期没有数据",
    )
    texts = drawn(figure)
    assert missing_glyphs(texts) == []
    shown = strings(texts)
    assert {"三会一课完成情况", "已召开", "应召开", *KINDS} <= set(shown)
    axes = figure.axes[0]
    held_bars, required_bars = (
        [p.get_height() for p in c] for c in sorted(axes.containers, key=lambda c: c.get_label())
    )
    assert (held_bars, required_bars) == ([1, 2, 3, 0, 3], [1, 3, 3, 1, 4])
    # Every bar has its number written on it: ten bars, ten numbers.
    numbers = [t.get_text() for t in axes.texts]
    assert sorted(numbers) == sorted(str(n) for n in [1, 2, 3, 0, 3, 1, 3, 3, 1, 4])


def test_completion_in_english() -> None:
    figure = charts._completion_figure(
        "Meetings held against required",
        KINDS_EN,
        [1, 2, 3, 0, 3],
        [1, 3, 3, 1, 3],
        held_label="Held",
        required_label="Required",
        empty_text="No data",
    )
    texts = drawn(figure)
    assert missing_glyphs(texts) == []
    assert {"Held", "Required", "General meeting", "Theme day"} <= set(strings(texts))


@pytest.mark.parametrize(
    ("labels", "values"),
    [([], []), (MONTHS[:3], [None, None, None])],
    ids=["no labels", "all gaps"],
)
def test_nothing_to_show_is_a_clear_picture(labels: list[str], values: list) -> None:
    empty = "本期没有已结束的组织生活，暂无出席数据"
    figure = charts._bar_figure("出席率", labels, values, empty_text=empty)
    texts = drawn(figure)
    assert missing_glyphs(texts) == []
    assert strings(texts) == ["出席率", empty]
    assert figure.axes == []  # no empty frame of axes
    assert png_size(charts.bar_chart("出席率", labels, values, empty_text=empty)) == (1000, 600)


def test_a_rate_of_nought_is_drawn_not_taken_for_nothing() -> None:
    figure = charts._bar_figure("出席率", MONTHS[:3], [0, 0, None], empty_text="本期没有数据")
    assert figure.axes != []
    assert {"0%", "—"} <= set(strings(drawn(figure)))


def test_no_meeting_required_nor_held_is_a_clear_picture() -> None:
    data = charts.completion_chart(
        "三会一课",
        KINDS,
        [0] * 5,
        [0] * 5,
        held_label="已召开",
        required_label="应召开",
        empty_text="No data for this period",
    )
    assert png_size(data) == (1000, 600)
    figure = charts._completion_figure(
        "三会一课", [], [], [], held_label="a", required_label="b", empty_text="No data"
    )
    assert strings(drawn(figure)) == ["三会一课", "No data"]


def test_labels_and_values_must_match() -> None:
    with pytest.raises(ValueError):
        charts.bar_chart("x", ["a", "b"], [1.0], empty_text="-")
    with pytest.raises(ValueError):
        charts.completion_chart(
            "x", ["a"], [1, 2], [1], held_label="h", required_label="r", empty_text="-"
        )


def test_every_text_uses_the_cjk_font_of_the_mplfonts_wheel() -> None:
    """Fails if the charts fell back to matplotlib's DejaVu Sans (no CJK glyphs), or
    to whatever CJK font the system happens to have."""
    font = Path(charts.font_path())
    assert font.name == "NotoSansCJKsc-Regular.otf" and "mplfonts" in font.parts
    assert FT2Font(str(font)).get_char_index(ord("党")) != 0
    figure = charts._bar_figure(BRANCH, MONTHS, RATES, y_label="出席率", empty_text="-")
    used = {findfont(t.get_fontproperties()) for t in drawn(figure)}
    assert used == {str(font)}


def test_the_glyph_check_catches_a_font_without_chinese() -> None:
    """The checks above can fail: the same texts in DejaVu Sans miss their glyphs."""
    figure = charts._bar_figure(BRANCH, MONTHS, RATES, empty_text="-")
    texts = drawn(figure)
    for text in texts:
        text.set_fontproperties(FontProperties(family="DejaVu Sans"))
    missing = missing_glyphs(texts)
    assert ("1月", "月", findfont("DejaVu Sans")) in missing
    with pytest.raises(UserWarning, match="missing from"):
        drawn(figure)


def test_charts_drawn_in_parallel_threads_are_the_same_pictures() -> None:
    """The bot draws in worker threads (asyncio.to_thread): no shared pyplot state."""
    from concurrent.futures import ThreadPoolExecutor

    def draw(n: int) -> bytes:
        return charts.bar_chart(f"出席率 {n}", MONTHS, RATES, target=0.8, empty_text="-")

    alone = [draw(n) for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(draw, [n for n in range(4) for _ in range(3)]))
    assert together == [alone[n] for n in range(4) for _ in range(3)]
    assert len(set(alone)) == 4


def test_the_bot_starts_without_matplotlib() -> None:
    """matplotlib is about 30 MB of a running bot's memory: only the first chart drawn
    imports it (views.stats), not the start."""
    code = (
        "import sys, bot.cli, bot.app, handlers; print(sorted({'matplotlib'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert result.stdout.strip() == "[]"

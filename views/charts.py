"""Charts for /stats as PNG pictures: bars by month or by branch, and 三会一课 held
against required.

Plain values in (labels already translated by the caller), PNG bytes out. Drawn with
matplotlib's object-oriented API (a Figure and an Agg canvas per picture, never pyplot,
whose global state is not safe in the worker thread the bot draws in). Every text uses
Noto Sans CJK SC from the mplfonts wheel: matplotlib ships no CJK font, and a pip-only
installation cannot count on the system having one. This module imports matplotlib
(about 0.3 s), so only the code that draws charts imports it.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import math
import unicodedata
from collections.abc import Callable, Sequence

from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

FONT_FILE = "NotoSansCJKsc-Regular.otf"

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.8, 125  # 1000 × 600 px
ACCENT = "#c0392b"  # the one colour: the bars that carry the figure
MUTED = "#c8c8c8"  # what they are measured against (required counts), the axes
TARGET = "#7f7f7f"  # the target line, the value axis
TEXT = "#333333"

TITLE_PT, LABEL_PT, VALUE_PT = 15, 11, 10
# Horizontal bars: the height one bar takes, by the lines of its label.
BAR_IN = {1: 0.3, 2: 0.44}
LABEL_LINES = 2
# A label of more columns than this (a CJK character is two) turns the bars horizontal.
SHORT_LABEL_COLUMNS = 10
MAX_UPRIGHT_BARS = 14

ValueFormat = str | Callable[[float], str]


@functools.cache
def font_path() -> str:
    """The CJK font file inside the mplfonts wheel (not its init, which rewrites
    matplotlib's configuration)."""
    return str(importlib.resources.files("mplfonts") / "fonts" / FONT_FILE)


def _font(size: float) -> FontProperties:
    # By file, not by family name: a system with Debian's fonts-noto-cjk has a
    # "Noto Sans CJK SC" too, and the name would pick whichever matplotlib saw first.
    return FontProperties(fname=font_path(), size=size)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    value_format: ValueFormat = "{:.0%}",
    y_label: str = "",
    target: float | None = None,
    empty_text: str,
) -> bytes:
    """One bar per label (a month, a branch), its value written on it; None is a gap
    marked "—" (no meeting that month). Long or many labels lay the bars horizontally,
    and the picture grows in height with their number. `target` draws a grey line."""
    figure = _bar_figure(
        title,
        labels,
        values,
        value_format=value_format,
        y_label=y_label,
        target=target,
        empty_text=empty_text,
    )
    return _png(figure)


def completion_chart(
    title: str,
    labels: Sequence[str],
    held: Sequence[int],
    required: Sequence[int],
    *,
    held_label: str,
    required_label: str,
    empty_text: str,
) -> bytes:
    """三会一课 by kind: the number held beside the number required, each written on its
    bar."""
    figure = _completion_figure(
        title,
        labels,
        held,
        required,
        held_label=held_label,
        required_label=required_label,
        empty_text=empty_text,
    )
    return _png(figure)


def _bar_figure(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    value_format: ValueFormat = "{:.0%}",
    y_label: str = "",
    target: float | None = None,
    empty_text: str,
) -> Figure:
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels for {len(values)} values")
    shown = [None if v is None or not math.isfinite(v) else float(v) for v in values]
    if all(v is None for v in shown):  # 0% at meetings held is a figure, not nothing
        return _empty_figure(title, empty_text)
    fmt = _formatter(value_format)
    texts = [fmt(v) if v is not None else "—" for v in shown]
    heights = [v or 0.0 for v in shown]
    # All 0%: still an axis to stand the bars on.
    top = max([*heights, target or 0.0]) or 1.0

    horizontal = len(labels) > MAX_UPRIGHT_BARS or any(
        _columns(label) > SHORT_LABEL_COLUMNS for label in labels
    )
    if horizontal:
        fitted = [_fit(label, columns=24, lines=LABEL_LINES) for label in labels]
        lines = max(label.count("\n") + 1 for label in fitted)
        height = max(HEIGHT_IN, 1.4 + len(labels) * BAR_IN[lines])
        figure, axes = _figure(title, height)
        positions = range(len(labels))
        bars = axes.barh(positions, heights, color=ACCENT, height=0.6)
        axes.set_yticks(positions, fitted, fontproperties=_font(LABEL_PT))
        axes.set_ylim(len(labels) - 0.5, -0.5)  # the first label on top, as read
        value_axis = axes.xaxis
        axes.set_xlim(0, top * 1.18)
        if y_label:
            axes.set_xlabel(y_label, fontproperties=_font(LABEL_PT), color=TEXT)
        if target is not None:
            axes.axvline(target, color=TARGET, linestyle="--", linewidth=1.2)
            axes.annotate(
                fmt(target),
                (target, 0),
                xycoords=("data", "axes fraction"),
                xytext=(3, 3),
                textcoords="offset points",
                fontproperties=_font(VALUE_PT),
                color=TARGET,
            )
        axes.grid(axis="x", color="#eeeeee")
        axes.spines["bottom"].set_visible(False)
    else:
        columns = _slot_columns(len(labels))
        fitted = [_fit(label, columns=columns, lines=LABEL_LINES) for label in labels]
        figure, axes = _figure(title, HEIGHT_IN)
        positions = range(len(labels))
        bars = axes.bar(positions, heights, color=ACCENT, width=0.65)
        axes.set_xticks(positions, fitted, fontproperties=_font(LABEL_PT))
        value_axis = axes.yaxis
        axes.set_ylim(0, top * 1.15)
        if y_label:
            axes.set_ylabel(y_label, fontproperties=_font(LABEL_PT), color=TEXT)
        if target is not None:
            axes.axhline(target, color=TARGET, linestyle="--", linewidth=1.2)
            axes.annotate(
                fmt(target),
                (1, target),
                xycoords=("axes fraction", "data"),
                xytext=(0, 3),
                textcoords="offset points",
                ha="right",
                fontproperties=_font(VALUE_PT),
                color=TARGET,
            )
        axes.grid(axis="y", color="#eeeeee")
        axes.spines["left"].set_visible(False)
    axes.set_axisbelow(True)
    _value_ticks(axes, value_axis, top, fmt)
    axes.bar_label(bars, texts, padding=3, fontproperties=_font(VALUE_PT), color=TEXT)
    return figure


def _completion_figure(
    title: str,
    labels: Sequence[str],
    held: Sequence[int],
    required: Sequence[int],
    *,
    held_label: str,
    required_label: str,
    empty_text: str,
) -> Figure:
    if not len(labels) == len(held) == len(required):
        raise ValueError(f"{len(labels)} labels, {len(held)} held, {len(required)} required")
    if not any(held) and not any(required):
        return _empty_figure(title, empty_text)
    figure, axes = _figure(title, HEIGHT_IN)
    columns = _slot_columns(len(labels))
    positions = range(len(labels))
    width = 0.38
    required_bars = axes.bar(
        [p - width / 2 for p in positions], required, width, color=MUTED, label=required_label
    )
    held_bars = axes.bar(
        [p + width / 2 for p in positions], held, width, color=ACCENT, label=held_label
    )
    axes.set_xticks(
        positions,
        [_fit(label, columns=columns, lines=3) for label in labels],
        fontproperties=_font(LABEL_PT),
    )
    top = max([*held, *required])
    axes.set_ylim(0, top * 1.2)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    _value_ticks(axes, axes.yaxis, top, lambda v: f"{v:.0f}")
    for bars in (required_bars, held_bars):
        axes.bar_label(bars, padding=3, fontproperties=_font(VALUE_PT), color=TEXT)
    axes.grid(axis="y", color="#eeeeee")
    axes.set_axisbelow(True)
    axes.spines["left"].set_visible(False)
    axes.legend(prop=_font(LABEL_PT), frameon=False, loc="upper right", ncols=2)
    return figure


def _figure(title: str, height: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontproperties=_font(TITLE_PT), color=TEXT)
    axes = figure.add_subplot()
    axes.tick_params(colors=TEXT, length=0)
    axes.spines[["top", "right"]].set_visible(False)
    axes.spines[["left", "bottom"]].set_color(MUTED)
    return figure, axes


def _empty_figure(title: str, empty_text: str) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontproperties=_font(TITLE_PT), color=TEXT)
    figure.text(
        0.5,
        0.5,
        _fit(empty_text, columns=50, lines=3),
        ha="center",
        va="center",
        fontproperties=_font(TITLE_PT),
        color=TARGET,
    )
    return figure


def _value_ticks(axes: Axes, axis: Axis, top: float, fmt: Callable[[float], str]) -> None:
    """Ticks on the value axis in the values' own format, none past the largest value
    (the headroom above it is for the labels, not a 120 % tick)."""
    ticks = [t for t in axis.get_major_locator().tick_values(0, top) if 0 <= t <= top * 1.0001]
    axis.set_ticks(ticks, [fmt(t) for t in ticks], fontproperties=_font(LABEL_PT))
    axes.tick_params(axis="x" if axis is axes.xaxis else "y", labelcolor=TARGET)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _formatter(value_format: ValueFormat) -> Callable[[float], str]:
    if callable(value_format):
        return value_format
    return value_format.format


def _columns(text: str) -> int:
    """Width in columns: a wide (CJK) character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _slot_columns(count: int) -> int:
    """The columns a label below an upright bar may take: its share of the width."""
    return max(6, int(88 / max(count, 1)))


def _fit(text: str, *, columns: int, lines: int) -> str:
    """`text` broken into at most `lines` lines of `columns` columns, cut with "…".

    CJK has no spaces, so lines break where the width runs out; a line of other text
    breaks at its last space when it has one."""
    rows: list[str] = []
    rest = " ".join(text.split())
    while rest and len(rows) < lines:
        if _columns(rest) <= columns:
            rows.append(rest)
            rest = ""
            break
        cut = 0
        while _columns(rest[: cut + 1]) <= columns:
            cut += 1
        space = rest.rfind(" ", 0, cut + 1)
        if space > 0 and not _is_wide(rest[cut]):
            cut = space
        rows.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        last = rows[-1]
        while last and _columns(last) + 1 > columns:
            last = last[:-1]
        rows[-1] = last.rstrip() + "…"
    return "\n".join(rows)


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"

"""Charts drawn on the server as SVG: columns (grouped or stacked), horizontal bars and lines,
each with its title, a legend, labelled axes and a tooltip (`<title>`) on every mark.

No JavaScript and nothing from a CDN: the Content-Security-Policy allows scripts from our own
origin only, and the same markup goes into the printable report, which must look the same on
paper as on screen. The numbers themselves are always in a table beside the chart (the admin
pages and the report render it from the same `Figure`); the chart is for seeing, the table for
reading and for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from config.dashboard.figures import Figure, Series

# Okabe-Ito: told apart by readers with any of the common colour-vision deficiencies, and still
# distinct when printed in greyscale (they differ in lightness).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442")
FONT = (
    "'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC','Source Han Sans SC',"
    "system-ui,sans-serif"
)
INK, MUTED, GRID = "#222", "#555", "#ddd"
# Lines differ in dash and marker as well as colour, so that two series stay apart in greyscale
# print and where they cross.
DASHES = ("", "6 3", "2 3", "8 3 2 3")


def marker(k: int, x: float, y: float, colour: str, tip: str = "") -> str:
    """A circle, a square, a diamond or a triangle, by series."""
    title = f"<title>{escape(tip)}</title>" if tip else ""
    shape = k % 4
    if shape == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">{title}</circle>'
    if shape == 1:
        return (
            f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" '
            f'fill="{colour}">{title}</rect>'
        )
    points = (
        f"{x:.1f},{y - 4.5:.1f} {x + 4.5:.1f},{y:.1f} {x:.1f},{y + 4.5:.1f} {x - 4.5:.1f},{y:.1f}"
        if shape == 2
        else f"{x:.1f},{y - 4.5:.1f} {x + 4.5:.1f},{y + 3.5:.1f} {x - 4.5:.1f},{y + 3.5:.1f}"
    )
    return f'<polygon points="{points}" fill="{colour}">{title}</polygon>'


def text_width(text: str, size: float) -> float:
    """Roughly how wide a label is: CJK characters are square, Latin ones about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def fit(text: str, size: float, room: float) -> str:
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def number(value: float | int | None, percent: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        shown = f"{value:.1f}"
    else:
        shown = f"{int(value):,}"
    return f"{shown}%" if percent else shown


def scale(maximum: float, percent: bool = False, steps: int = 5) -> list[float]:
    """Round tick values from 0 past the maximum: steps of 1, 2 or 5 times a power of ten (whole
    numbers for counts), 0-100 for shares."""
    if percent:
        return [0, 20, 40, 60, 80, 100]
    if maximum <= 0:
        return [0, 1]
    raw = maximum / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1)
    top = math.ceil(maximum / step) * step
    return [i * step for i in range(round(top / step) + 1)]


class _Svg:
    """A small builder: every text and attribute is escaped on the way in."""

    def __init__(self, width: float, height: float, key: str, title: str, desc: str) -> None:
        self.width, self.height, self.key = width, height, key
        self.parts: list[str] = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{escape(key)}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" width="100%" role="img" '
            f'aria-labelledby="{escape(key)}-title {escape(key)}-desc" '
            f'font-family="{escape(FONT)}" font-size="12" fill="{INK}">',
            f'<title id="{escape(key)}-title">{escape(title)}</title>',
            f'<desc id="{escape(key)}-desc">{escape(desc)}</desc>',
        ]

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def text(self, x: float, y: float, content: str, **attrs) -> None:
        extra = "".join(
            f' {name.rstrip("_").replace("_", "-")}="{escape(value)}"'
            for name, value in attrs.items()
        )
        self.add(f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>')

    def rect(self, x: float, y: float, w: float, h: float, fill: str, tip: str) -> None:
        self.add(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{fill}"><title>{escape(tip)}</title></rect>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = GRID) -> None:
        self.add(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{stroke}" stroke-width="1"/>'
        )

    def render(self) -> SafeString:
        return mark_safe("".join([*self.parts, "</svg>"]))  # noqa: S308 -- every part escaped


def _header(svg: _Svg, figure: Figure, series: Sequence[Series], size: float) -> float:
    """The title and the legend; returns where the plot may start."""
    svg.text(0, size + 5, str(figure.title), font_size=f"{size + 3:.0f}", font_weight="bold")
    y, x = size * 2 + 16, 0.0
    lines = figure.chart == "lines"
    for i, s in enumerate(series):
        label = str(s.label)
        swatch = 24 if lines else 12
        item = swatch + 6 + text_width(label, size) + 16
        if x and x + item > svg.width:
            x, y = 0.0, y + size + 8
        colour = PALETTE[i % len(PALETTE)]
        if lines:
            middle = y - size / 2 + 2
            dash = DASHES[i % len(DASHES)]
            svg.add(
                f'<line x1="{x:.1f}" y1="{middle:.1f}" x2="{x + swatch:.1f}" y2="{middle:.1f}" '
                f'stroke="{colour}" stroke-width="2"'
                + (f' stroke-dasharray="{dash}"' if dash else "")
                + "/>"
            )
            svg.add(marker(i, x + swatch / 2, middle, colour))
        else:
            svg.add(
                f'<rect x="{x:.1f}" y="{y - size + 1:.1f}" width="12" height="12" fill="{colour}"/>'
            )
        svg.text(x + swatch + 6, y, label, font_size=f"{size:.0f}")
        x += item
    return y + 16


def _empty(svg: _Svg, x: float, y: float, w: float, h: float) -> None:
    svg.text(
        x + w / 2,
        y + h / 2,
        gettext("Nothing to show"),
        text_anchor="middle",
        fill=MUTED,
    )


def _columns(figure: Figure, width: float, height: float, compact: bool) -> SafeString:
    """Vertical columns per category: stacked, grouped, or points joined by lines."""
    size = 11 if compact else 12
    series = figure.plotted
    svg = _Svg(width, height, figure.key, str(figure.title), str(figure.note))
    top = _header(svg, figure, series, size)
    left, right, bottom = 58, 12, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(figure.categories), 1)
    stacked = figure.chart == "stacked"

    if stacked:
        peak = max((sum(s.values[i] or 0 for s in series) for i in range(n)), default=0)
    else:
        peak = max((v or 0 for s in series for v in s.values), default=0)
    ticks = scale(peak, figure.percent)
    ceiling = ticks[-1] or 1

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / ceiling

    for tick in ticks:
        y = y_of(tick)
        svg.line(left, y, left + plot_w, y)
        svg.text(
            left - 6,
            y + 4,
            number(tick, figure.percent),
            text_anchor="end",
            fill=MUTED,
            font_size=f"{size - 1:.0f}",
        )
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, INK)
    # The axes' names: the value's down the left side, the category's under the labels.
    svg.text(
        12,
        top + plot_h / 2,
        str(figure.y_label),
        transform=f"rotate(-90 12 {top + plot_h / 2:.1f})",
        text_anchor="middle",
        fill=MUTED,
        font_size=f"{size - 1:.0f}",
    )
    svg.text(
        left + plot_w / 2,
        height - 4,
        str(figure.x_label),
        text_anchor="middle",
        fill=MUTED,
        font_size=f"{size - 1:.0f}",
    )

    band = plot_w / n
    every = max(1, math.ceil(n / max(1, plot_w // 46)))
    for i, tick in enumerate(figure.ticks):
        if i % every == 0:
            svg.text(
                left + band * (i + 0.5),
                top + plot_h + 16,
                fit(str(tick), size - 1, band * every - 4),
                text_anchor="middle",
                font_size=f"{size - 1:.0f}",
            )

    if figure.is_empty:
        _empty(svg, left, top, plot_w, plot_h)
        return svg.render()

    if figure.chart == "lines":
        for k, s in enumerate(series):
            colour = PALETTE[k % len(PALETTE)]
            path, pen_down = [], False
            for i, value in enumerate(s.values):
                if value is None:
                    pen_down = False  # nothing was due: a gap, not a fall to zero
                    continue
                x, y = left + band * (i + 0.5), y_of(value)
                path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
                pen_down = True
            dash = DASHES[k % len(DASHES)]
            if path:
                svg.add(
                    f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2" stroke-linejoin="round"'
                    + (f' stroke-dasharray="{dash}"' if dash else "")
                    + "/>"
                )
            for i, value in enumerate(s.values):
                if value is None:
                    continue
                tip = f"{figure.categories[i]} · {s.label}: {number(value, figure.percent)}"
                svg.add(marker(k, left + band * (i + 0.5), y_of(value), colour, tip))
        return svg.render()

    gap = band * 0.2
    for i in range(n):
        x0 = left + band * i + gap / 2
        if stacked:
            base = 0.0
            for k, s in enumerate(series):
                value = s.values[i] or 0
                if value:
                    y = y_of(base + value)
                    tip = f"{figure.categories[i]} · {s.label}: {number(value)}"
                    svg.rect(x0, y, band - gap, y_of(base) - y, PALETTE[k % len(PALETTE)], tip)
                base += value
        else:
            width_each = (band - gap) / max(len(series), 1)
            for k, s in enumerate(series):
                value = s.values[i] or 0
                y = y_of(value)
                tip = f"{figure.categories[i]} · {s.label}: {number(value, figure.percent)}"
                svg.rect(
                    x0 + width_each * k,
                    y,
                    width_each,
                    top + plot_h - y,
                    PALETTE[k % len(PALETTE)],
                    tip,
                )
    return svg.render()


def _bars(figure: Figure, width: float, compact: bool) -> SafeString:
    """Horizontal bars, side by side ("hbars") or end to end ("hstacked"): categories with long
    names (measure kinds, reviewers) read across."""
    size = 11 if compact else 12
    series = figure.plotted
    stacked = figure.chart == "hstacked"
    n = max(len(figure.categories), 1)
    row = (14 if compact else 16) * (1 if stacked else max(len(series), 1)) + 8
    # The height follows the number of categories, so that every name has its line.
    probe = _Svg(width, 0, figure.key, "", "")
    top = _header(probe, figure, series, size)
    bottom = 40
    height = top + row * n + bottom
    svg = _Svg(width, height, figure.key, str(figure.title), str(figure.note))
    _header(svg, figure, series, size)
    label_room = min(width * 0.42, max(text_width(str(c), size) for c in figure.ticks or [""]) + 10)
    left, right = max(label_room, 40), 48
    plot_w = width - left - right
    if stacked:
        peak = max((sum(s.values[i] or 0 for s in series) for i in range(n)), default=0)
    else:
        peak = max((v or 0 for s in series for v in s.values), default=0)
    ticks = scale(peak, figure.percent)
    ceiling = ticks[-1] or 1

    def x_of(value: float) -> float:
        return left + plot_w * value / ceiling

    plot_h = row * n
    for tick in ticks:
        x = x_of(tick)
        svg.line(x, top, x, top + plot_h)
        svg.text(
            x,
            top + plot_h + 14,
            number(tick, figure.percent),
            text_anchor="middle",
            fill=MUTED,
            font_size=f"{size - 1:.0f}",
        )
    svg.line(left, top, left, top + plot_h, INK)
    svg.text(
        left + plot_w / 2,
        height - 4,
        str(figure.x_label),
        text_anchor="middle",
        fill=MUTED,
        font_size=f"{size - 1:.0f}",
    )
    for i, tick in enumerate(figure.ticks):
        svg.text(
            left - 6,
            top + row * i + row / 2 + 4,
            fit(str(tick), size, left - 10),
            text_anchor="end",
            font_size=f"{size:.0f}",
        )
    if figure.is_empty:
        _empty(svg, left, top, plot_w, plot_h)
        return svg.render()
    if stacked:
        for i in range(n):
            base, y = 0.0, top + row * i + 4
            for k, s in enumerate(series):
                value = s.values[i] or 0
                if value:
                    tip = f"{figure.categories[i]} · {s.label}: {number(value)}"
                    svg.rect(
                        x_of(base),
                        y,
                        x_of(base + value) - x_of(base),
                        row - 9,
                        PALETTE[k % len(PALETTE)],
                        tip,
                    )
                base += value
            if base:
                svg.text(
                    x_of(base) + 4,
                    y + row - 12,
                    number(base),
                    font_size=f"{size - 1:.0f}",
                    fill=MUTED,
                )
        return svg.render()
    thickness = (row - 8) / max(len(series), 1)
    for i in range(n):
        for k, s in enumerate(series):
            value = s.values[i] or 0
            y = top + row * i + 4 + thickness * k
            tip = f"{figure.categories[i]} · {s.label}: {number(value, figure.percent)}"
            svg.rect(left, y, x_of(value) - left, thickness - 1, PALETTE[k % len(PALETTE)], tip)
            if value:
                svg.text(
                    x_of(value) + 4,
                    y + thickness - 3,
                    number(value, figure.percent),
                    font_size=f"{size - 1:.0f}",
                    fill=MUTED,
                )
    return svg.render()


def render(
    figure: Figure, *, width: float = 640, height: float = 300, compact: bool = False
) -> SafeString:
    """The figure as inline SVG markup, scaled to its container's width."""
    if figure.chart in ("hbars", "hstacked"):
        return _bars(figure, width, compact)
    return _columns(figure, width, height, compact)


def table(figure: Figure) -> dict:
    """The figure's numbers as the table beside its chart: a header and formatted rows."""
    first = figure.y_label if figure.chart in ("hbars", "hstacked") else figure.x_label
    return {
        "header": [str(first), *(str(s.label) for s in figure.series)],
        "rows": [
            [
                str(category),
                *(
                    number(value, figure.percent and s.plotted)
                    for s, value in zip(figure.series, values, strict=True)
                ),
            ]
            for category, values in figure.rows
        ],
    }

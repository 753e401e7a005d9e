"""What every leaderboard chart shares: a fixed plot size, a categorical colour scheme, readable axes and a
legend below the plot (so a long model name widens no chart), labels placed so they do not overlap, and a
density for a scatter too crowded to draw point by point."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import altair as alt
import numpy as np
import pandas as pd

# The plot area; axes, title and legend add about 100 px, so a chart reads at ~600 px wide.
WIDTH, HEIGHT = 480, 300
SCHEME = "tableau10"
MAX_POINTS = 400  # a scatter of more points than this draws them as a density (density_layer), not one mark each
GRID = (48, 30)  # the density's cells across and up the plot: about 10 pixels each
FONT_PX = 11  # label text size; a character is about 0.6 of it wide
CHAR_PX, LINE_PX = 0.6 * FONT_PX, FONT_PX + 2

Chart = Union[alt.Chart, alt.LayerChart]


def finish(chart: Chart, title: str, subtitle: str | Sequence[str] = "") -> Chart:
    """`chart` at the fixed size with its title, and the shared axis and legend settings."""
    return chart.properties(
        width=WIDTH, height=HEIGHT, autosize=alt.AutoSizeParams(type="pad"),
        title=alt.Title(title, subtitle=subtitle or alt.Undefined, anchor="start", fontSize=14),
    ).configure_axis(
        labelFontSize=FONT_PX, titleFontSize=12, labelLimit=160, grid=True, tickCount=8,
    ).configure_legend(
        orient="bottom", direction="horizontal", columns=3, labelLimit=200, labelFontSize=FONT_PX, titleFontSize=12,
    ).configure_range(category={"scheme": SCHEME},
                      # No aria-label per data mark: it repeats every field of every point (a 2,000-point
                      # chart's SVG grows from about 0.3 to 1.4 MB); the chart as a whole keeps its title.
                      ).configure_mark(aria=False)


def padded(low: float, high: float, share: float = 0.06) -> tuple[float, float]:
    """A domain around [low, high] with `share` of its span (or 1) spare on each side."""
    spare = share * (high - low) if high > low else 1.0
    return low - spare, high + spare


@dataclass(frozen=True)
class Axis:
    """How data on one axis maps to pixels: its domain, its length in pixels, and whether it is logarithmic.
    Pixels grow to the right and downwards, as in SVG."""
    low: float
    high: float
    pixels: float
    title: str  # with its unit
    log: bool = False
    downwards: bool = False  # a y axis: larger values sit higher, at smaller pixel offsets

    def _unit(self, value: float) -> float:
        if self.log:
            return (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        return (value - self.low) / (self.high - self.low)

    def to_pixel(self, value: float) -> float:
        unit = self._unit(value)
        return self.pixels * (1 - unit if self.downwards else unit)

    def to_value(self, pixel: float) -> float:
        unit = 1 - pixel / self.pixels if self.downwards else pixel / self.pixels
        if self.log:
            return 10 ** (math.log10(self.low) + unit * (math.log10(self.high) - math.log10(self.low)))
        return self.low + unit * (self.high - self.low)


# Where a label may go relative to its point (pixels to its left edge and vertical centre): right, left,
# then further above and below, so a crowded cluster still finds room.
_OFFSETS = [(dx, dy) for dy in (-9, 9, -21, 21, -33, 33, -45, 45) for dx in (7, -7)]


def _free(box: tuple[float, float, float, float], taken: np.ndarray) -> bool:
    """Whether `box` (left, top, right, bottom) overlaps none of the `taken` boxes (one per row)."""
    width = np.minimum(box[2], taken[:, 2]) - np.maximum(box[0], taken[:, 0])
    height = np.minimum(box[3], taken[:, 3]) - np.maximum(box[1], taken[:, 1])
    return not np.any((width > 0) & (height > 0))


def place_labels(points: Sequence[tuple[float, float, str]], x: Axis, y: Axis) -> list[dict[str, object]]:
    """Each point's label at the nearest offset where it stays inside the plot and overlaps no placed label
    and no point; a label with no such offset is left out (so labels never overlap). Returns rows
    {x, y, text} in data units for a left-aligned, middle-baseline text mark on the same scales, with a
    leader line (from_x, from_y -> to_x, to_y) for a label pushed past the nearest offsets."""
    marks = [(x.to_pixel(px), y.to_pixel(py)) for px, py, _ in points]
    taken = np.array([(mx - 4, my - 4, mx + 4, my + 4) for mx, my in marks]).reshape(-1, 4)  # points, then labels
    rows = []
    for (mx, my), (_, _, text) in sorted(zip(marks, points), key=lambda item: (item[0][1], item[0][0])):
        width = CHAR_PX * len(text)
        for dx, dy in _OFFSETS:
            left = mx + dx if dx > 0 else mx + dx - width
            box = (left, my + dy - LINE_PX / 2, left + width, my + dy + LINE_PX / 2)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= x.pixels and box[3] <= y.pixels
            if inside and _free(box, taken):
                break
        else:
            continue
        taken = np.vstack([taken, box])
        middle = y.to_value(my + dy)
        leader = {"from_x": x.to_value(mx), "from_y": y.to_value(my),
                  "to_x": x.to_value(box[0] if dx > 0 else box[2]), "to_y": middle} if abs(dy) > 9 else {}
        rows.append({"x": x.to_value(box[0]), "y": middle, "text": text, **leader})
    return rows


def label_layer(rows: list[dict[str, object]], x: Axis, y: Axis) -> alt.LayerChart:
    """Text marks for `place_labels` rows and their leader lines, on the same fixed scales as the points they
    name (and the same axis titles: Vega-Lite joins the differing titles of one shared axis)."""
    frame = pd.DataFrame(rows, columns=["x", "y", "text", "from_x", "from_y", "to_x", "to_y"])
    text = alt.Chart(frame[["x", "y", "text"]]).mark_text(align="left", baseline="middle", fontSize=FONT_PX).encode(
        alt.X("x:Q", scale=scale(x), title=x.title), alt.Y("y:Q", scale=scale(y), title=y.title), text="text:N")
    leaders = alt.Chart(frame.dropna(subset=["from_x"])).mark_rule(color="#888", strokeWidth=0.7).encode(
        alt.X("from_x:Q", scale=scale(x), title=x.title), alt.Y("from_y:Q", scale=scale(y), title=y.title),
        x2="to_x:Q", y2="to_y:Q")
    return alt.layer(text, leaders)


def scale(axis: Axis) -> alt.Scale:
    """The fixed scale an `Axis` describes: no nice rounding, so label positions computed here hold."""
    return alt.Scale(domain=[axis.low, axis.high], nice=False, zero=False, type="log" if axis.log else "linear")


def density_layer(xs: pd.Series, ys: pd.Series, x: Axis, y: Axis, what: str = "variants") -> alt.Chart:
    """Points (`xs`, `ys`) counted in the cells of a fixed grid over the axes and drawn as shaded rectangles: a
    chart of thousands of points stays at most GRID's cells of marks (and its page small)."""
    x_edges, y_edges = np.linspace(x.low, x.high, GRID[0] + 1), np.linspace(y.low, y.high, GRID[1] + 1)
    counts, _, _ = np.histogram2d(xs, ys, bins=[x_edges, y_edges])
    i, j = np.nonzero(counts)
    cells = pd.DataFrame({"x0": x_edges[i], "x1": x_edges[i + 1], "y0": y_edges[j], "y1": y_edges[j + 1],
                          "count": counts[i, j].astype(int)})
    return alt.Chart(cells).mark_rect(opacity=0.8).encode(
        alt.X("x0:Q", title=x.title, scale=scale(x)), alt.X2("x1:Q"),
        alt.Y("y0:Q", title=y.title, scale=scale(y)), alt.Y2("y1:Q"),
        # From a light grey at zero, so a cell of one point still shows beside one of hundreds.
        color=alt.Color("count:Q", title=f"{what} per cell", scale=alt.Scale(range=["#e0e0e0", "#252525"], zero=True)),
        tooltip=[alt.Tooltip("count:Q", title=what)])

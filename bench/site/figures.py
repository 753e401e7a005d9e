"""The one seam between the pages and the charts (bench.site.charts, altair + vl-convert): a page asks for a
chart by its function's name and gets a figure (static SVG, caption, the Vega-Lite spec written beside the page
for download) or None where the chart has no data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from bench.site.tables import write_site_file

from bench.site import charts


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    svg: Markup  # rendered by vl-convert from the chart's data; it escapes every text it draws
    spec_href: str


def figure(out: Path, page: str, name: str, caption: str, function: str, *args: Any, **kwargs: Any) -> Figure | None:
    """`charts.<function>(*args, **kwargs)` rendered, its spec saved as `<page>.<name>.vl.json` in `out`."""
    chart = getattr(charts, function)(*args, **kwargs)
    if chart is None:
        return None
    rendered = charts.render(chart)
    spec_href = f"{page}.{name}.vl.json"
    write_site_file(Path(out) / spec_href, json.dumps(rendered.spec, indent=1))
    return Figure(name, caption, Markup(rendered.svg), spec_href)

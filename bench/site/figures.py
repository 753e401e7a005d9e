"""The one seam between the pages and the charts (bench.site.charts): a page asks for a chart by its function's
name and gets a figure, or None where the chart has no data. A figure is drawn either at build time (static SVG
from vl-convert: the few summary charts) or in the reader's browser by the vendored vega-embed from its spec
inlined in the page (the many per-family charts: vl-convert costs about 0.15 s a chart, the browser nothing at
build time). Either way its Vega-Lite spec is written beside the page for download."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from bench.site import charts
from bench.site.tables import write_site_file


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    spec_href: str
    svg: Markup | None = None  # drawn at build time by vl-convert, which escapes every text it draws
    spec_json: Markup | None = None  # else drawn in the browser from this spec, safe inside a <script> element


def script_json(text: str) -> Markup:
    """JSON `text` made unable to end or open anything inside a <script type="application/json"> element: every
    '<', '>' and '&' (which JSON holds only inside strings) written as a JSON escape; the parsed value is the same."""
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def figure(out: Path, page: str, name: str, caption: str, function: str, *args: Any, in_browser: bool = False,
           **kwargs: Any) -> Figure | None:
    """`charts.<function>(*args, **kwargs)` as a figure (static SVG, or drawn `in_browser`), its spec saved as
    `<page>.<name>.vl.json` in `out`."""
    chart = getattr(charts, function)(*args, **kwargs)
    if chart is None:
        return None
    spec_href = f"{page}.{name}.vl.json"
    if in_browser:
        text = json.dumps(charts.to_spec(chart), allow_nan=False)  # NaN is no JSON: a spec with it draws nothing
        write_site_file(Path(out) / spec_href, text)
        return Figure(name, caption, spec_href, spec_json=script_json(text))
    rendered = charts.render(chart)
    write_site_file(Path(out) / spec_href, json.dumps(rendered.spec, indent=1))
    return Figure(name, caption, spec_href, svg=Markup(rendered.svg))

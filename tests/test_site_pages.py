"""The built site without a browser: its pages, links, downloads, pagination, the charts seam and the copied
result files."""

from __future__ import annotations

import csv
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.site import figures, pareto, tables
from bench.site.build import build
from tests.synthetic import RESULTS_PER_FAMILY, write_family, write_results


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if name in ("href", "src") and value]


def hrefs(page: Path) -> list[str]:
    parser = Links()
    parser.feed(page.read_text())
    return parser.hrefs


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pages")
    for model in ("org/alpha", "org/beta"):
        write_family(root / "subs", model)
    build(root / "subs", root / "site")
    return root / "site"


def test_every_page_links_only_to_files_of_the_site(site):
    pages = sorted(site.glob("*.html"))
    assert {"index.html", "methods.html", "methodology.html", "limit.html", "pareto-cpu-2c.html", "suite-kick.html",
            "task-wiki_ppl.html", "task-capitals_mc.html", "family-org__alpha.html"} <= {p.name for p in pages}
    for page in pages:
        links = hrefs(page)
        assert links, page.name
        for href in links:
            assert not re.match(r"^[a-z]+:|^/", href), f"{page.name}: {href} is not relative"
            assert (site / href.split("#")[0]).exists(), f"{page.name}: {href} leads nowhere"
        assert page.stat().st_size < 1_000_000


def test_result_pages_link_the_copied_result_and_items_files(site):
    family = site / "family-org__alpha.html"
    results = [h for h in hrefs(family) if h.startswith("results/")]
    assert len(results) == 2 * RESULTS_PER_FAMILY  # each result and its items file
    copied = json.loads((site / "results/org__alpha/wanda-sp0.5/cpu-2c/wiki_ppl.json").read_text())
    assert copied["method"]["slug"] == "wanda-sp0.5"
    assert "results/org__alpha/wanda-sp0.5/cpu-2c/wiki_ppl.items.json" in results
    assert any(h.startswith("results/") for h in hrefs(site / "index.html"))


def test_every_table_downloads_as_csv_and_json_with_its_values(site):
    records = json.loads((site / "task-wiki_ppl.results.json").read_text())
    rows = list(csv.DictReader((site / "task-wiki_ppl.results.csv").open()))
    assert len(records) == len(rows) == RESULTS_PER_FAMILY  # two families, wiki_ppl half of each
    wanda = next(r for r in records if r["method"] == "wanda-sp0.5" and r["model"] == "org/alpha")
    assert wanda["retained_pct"] == pytest.approx(100 * 30.0 / wanda["score"])
    index = json.loads((site / "index.variants.json").read_text())
    assert {r["kind"] for r in index} == {"dense", "pruning", "quantization", "joint"}
    html = (site / "index.html").read_text()
    assert 'href="index.variants.csv"' in html and 'href="index.variants.json"' in html


def test_a_formula_in_a_text_cell_is_defused_in_the_csv(tmp_path):
    table = tables.SiteTable("t", "t", [tables.Column("name", "name")], [{"name": "=HYPERLINK(1)"}, {"name": "ok"}])
    tables.write_downloads(table, tmp_path, "page")
    assert (tmp_path / "page.t.csv").read_text().splitlines() == ["name", "'=HYPERLINK(1)", "ok"]
    assert json.loads((tmp_path / "page.t.json").read_text())[0]["name"] == "=HYPERLINK(1)"


def test_table_rows_escape_every_text_and_link():
    hostile = '<img src=x onerror=alert(1)>"'
    columns = [tables.Column("name", "name", link="href"), tables.Column("score", "score", tables.number("%.1f"),
                                                                       numeric=True),
               tables.Column("files", "files", links=True)]
    rows = [{"name": hostile, "href": f'a.html" onclick="{hostile}', "score": 0.25, "files": [(hostile, "b.json")],
             "is_dense": True}, {"name": "plain", "score": None, "files": []}]
    body = str(tables.SiteTable("t", "t", columns, rows).body())
    assert "<img" not in body and 'onclick="' not in body and body.count("&lt;img") == 3
    assert body.splitlines() == [
        '<tr class="dense"><td><a href="a.html&quot; onclick=&quot;&lt;img src=x onerror=alert(1)&gt;&quot;">'
        '&lt;img src=x onerror=alert(1)&gt;&quot;</a></td><td class="num" data-sort="0.25">0.2</td>'
        '<td><a href="b.json">&lt;img src=x onerror=alert(1)&gt;&quot;</a> </td></tr>',
        '<tr><td>plain</td><td class="num"></td><td></td></tr>']


def test_a_long_table_is_split_over_pages_with_its_downloads_whole(site, tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "ROWS_PER_PAGE", 5)
    monkeypatch.setattr(tables.paginate, "__defaults__", (5,))
    build(site.parent / "subs", tmp_path)
    pages = sorted(tmp_path.glob("index*.html"))
    assert [p.name for p in pages] == ["index-2.html", "index-3.html", "index-4.html", "index-5.html", "index.html"]
    assert all(p.read_text().count("<tr") <= 6 for p in pages)  # a header row and five
    assert 'href="index-5.html"' in (tmp_path / "index.html").read_text()
    assert len(json.loads((tmp_path / "index.variants.json").read_text())) == 22


def test_no_page_grows_with_the_number_of_results(tmp_path, monkeypatch):
    """What keeps every page under 1 MB at 10,000 results (benchmarks/bench_site.py measures that), shown at a
    small scale: with 10 rows a page and a density past 15 variants, doubling the families adds pages, not bytes
    to the largest page; a family page holds its own results only, its charts as specs for the browser."""
    monkeypatch.setattr(tables, "ROWS_PER_PAGE", 10)
    monkeypatch.setattr(tables.paginate, "__defaults__", (10,))
    monkeypatch.setattr(pareto, "MAX_POINTS", 15)
    largest, pages = {}, {}
    for families in (2, 4):
        write_results(tmp_path / f"subs{families}", families * RESULTS_PER_FAMILY)
        site = tmp_path / f"site{families}"
        build(tmp_path / f"subs{families}", site)
        sizes = {p.name: p.stat().st_size for p in site.glob("*.html")}
        largest[families], pages[families] = max(sizes.values()), len(sizes)
        bodies = [body for p in site.glob("*.html") for body in re.findall(r"<tbody>.*?</tbody>", p.read_text(), re.S)]
        assert max(body.count("<tr") for body in bodies) == RESULTS_PER_FAMILY // 2  # a family's task: 11 > 10
        family = (site / "family-org0__model-0.html").read_text()
        assert family.count('href="results/org0__model-0/') == 2 * RESULTS_PER_FAMILY
        assert "results/org0__model-1/" not in family
        assert family.count("<svg") == 0 and family.count('<script type="application/json">') == 2
    pareto_page = (tmp_path / "site2" / "pareto-cpu-2c.html").read_text()
    assert "variants off the frontier" in pareto_page  # 2 x 11 variants: drawn as a density
    assert pages[4] > pages[2] and largest[4] < 1.1 * largest[2]


def test_each_chart_gets_its_figure_caption_and_spec_download(site, tmp_path, monkeypatch):
    """The pages call bench.site.charts through one seam; a stand-in module shows where each figure lands."""
    called = []

    def chart(name):
        return lambda *args, **kwargs: called.append(name) or name

    fake = SimpleNamespace(**{n: chart(n) for n in ("kick_chart", "sparsity_chart", "bits_chart", "pareto_chart",
                                                    "limit_chart")},
                           render=lambda c: SimpleNamespace(svg=f'<svg class="marks-{c}"><text>&lt;b&gt;</text></svg>',
                                                            spec={"mark": c}),
                           to_spec=lambda c: {"mark": c, "title": "</script><b>&"})
    monkeypatch.setattr(figures, "charts", fake)
    build(site.parent / "subs", tmp_path)
    assert set(called) == {"kick_chart", "sparsity_chart", "bits_chart", "pareto_chart", "limit_chart"}
    kick = (tmp_path / "suite-kick.html").read_text()
    assert '<svg class="marks-kick_chart"><text>&lt;b&gt;</text></svg>' in kick  # our SVG, not escaped again
    assert 'href="suite-kick.kick.vl.json"' in kick and "<figcaption" in kick
    assert json.loads((tmp_path / "suite-kick.kick.vl.json").read_text()) == {"mark": "kick_chart"}
    assert "vega.min.js" not in kick  # static charts only: no chart scripts to load
    assert "marks-pareto_chart" in (tmp_path / "pareto-cpu-2c.html").read_text()
    assert "marks-limit_chart" in (tmp_path / "limit.html").read_text()
    # The family charts go to the browser: their specs inline, where no text can close the <script> element.
    family = (tmp_path / "family-org__alpha.html").read_text()
    inline = re.findall(r'<script type="application/json">(.*?)</script>', family, re.S)
    assert [json.loads(text)["mark"] for text in inline] == ["sparsity_chart", "bits_chart"]
    assert json.loads(inline[0])["title"] == "</script><b>&" and "<" not in inline[0] and "&" not in inline[0]
    assert json.loads((tmp_path / "family-org__alpha.bits.vl.json").read_text())["mark"] == "bits_chart"
    assert "<svg" not in family and 'src="vendor/vega-embed.min.js"' in family and "<noscript>" in family


def test_the_charts_render_with_marks_on_their_pages(site):
    """The real static charts (altair + vl-convert) are SVGs with drawn marks; the family pages carry real
    Vega-Lite specs with one point per result and its dense parent (their drawing: tests/test_site_browser.py)."""
    found = re.findall(r"<figure.*?</figure>", (site / "pareto-cpu-2c.html").read_text(), re.S)
    assert found and all("<svg" in f and f.count("<path") >= 3 for f in found)
    family = (site / "family-org__alpha.html").read_text()
    specs = [json.loads(t) for t in re.findall(r'<script type="application/json">(.*?)</script>', family, re.S)]
    assert [spec["$schema"].rsplit("/", 1)[-1] for spec in specs] == ["v6.4.1.json"] * 2  # the vendored vega-lite
    table = json.loads((site / "family-org__alpha.task-wiki_ppl.json").read_text())
    assert {p["method"] for p in specs[1]["datasets"]["points"]} == {r["method"] for r in table}


def test_the_methods_page_lists_the_registry_with_papers_and_params(site):
    html = (site / "methods.html").read_text()
    assert 'id="method-wanda"' in html and "Sun et al. 2023" in html and "<code>sparsity</code>" in html
    assert 'id="method-gptq"' in html and "Frantar et al. 2022" in html
    assert "binary" in html and "truncate:N" in html
    methodology = (site / "methodology.html").read_text()
    assert "1000" in methodology and "percentile" in methodology and "cpu-2c" in methodology


def test_the_pareto_page_marks_the_frontier(site):
    rows = json.loads((site / "pareto-cpu-2c.pareto.json").read_text())
    alpha = [r for r in rows if r["model"] == "org/alpha"]
    on = [r for r in alpha if r["frontier"] == "yes"]
    assert on and len(on) < len(alpha)
    for r in alpha:  # a point is off the frontier exactly when another is as small and better
        beaten = any(o["model_bits_per_weight"] <= r["model_bits_per_weight"] and o["retained_pct"] > r["retained_pct"]
                     or o["model_bits_per_weight"] < r["model_bits_per_weight"] and o["retained_pct"] >= r["retained_pct"]
                     for o in alpha)
        assert (r["frontier"] == "yes") == (not beaten), r


def test_a_suite_mean_needs_every_task_its_dense_parent_has(tmp_path):
    from bench.report import load_table
    from bench.site.views import annotate, index_view

    write_family(tmp_path / "subs", "org/alpha")
    table = annotate(load_table(tmp_path / "subs"))

    def smoke_retained(rows):
        view, _ = index_view(rows)
        return view[view["method"] == "wanda-sp0.5"].iloc[0]["smoke:retained_pct"]

    assert smoke_retained(table) > 0
    partial = table[~((table["method"] == "wanda-sp0.5") & (table["task"] == "capitals_mc"))]
    assert math.isnan(smoke_retained(partial))  # one of the two tasks is no suite mean

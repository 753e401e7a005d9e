"""The leaderboard's charts from small hand-made report tables: what each draws (counted in its spec's data
and its SVG's marks), axis titles, None for nothing to draw, the Pareto frontier on hand points, the LIMIT
paper's curve, hostile names escaped, and one real load_table table."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from bench.report import COLUMNS, EXTRA_RETAINED, load_table
from bench.site.chart_style import GRID, MAX_POINTS
from bench.site.charts import (Rendered, bits_chart, kick_chart, limit_chart, limit_paper_fit, pareto_chart,
                               pareto_frontier, render, series_name, sparsity_chart, SPARSITY_PART, BITS_PART)
from tests import submissions

FAMILY = "org/llm"
HOSTILE = '<script>alert(1)</script>"onmouseover=x'


def table(*rows: dict) -> pd.DataFrame:
    """A report table (load_table's columns) from partial rows: profile cpu-2c, no facts unless given."""
    base = dict.fromkeys(COLUMNS + EXTRA_RETAINED + ["model_notes", "calibration"])
    base.update(model=FAMILY, profile="cpu-2c", metric="acc", score=0.5, dense=0.5, limited=False, metrics={})
    return pd.DataFrame([{**base, **row} for row in rows])


def dense(task: str, **facts: object) -> dict:
    return dict(task=task, method="dense", retained_pct=100.0, sparsity=0.0, model_bits_per_weight=16.0, **facts)


def dataset(rendered: Rendered, field: str, value: object, layer: int | None = None) -> list[dict]:
    """The rows whose `field` equals `value` in one layer's data (its own, or the chart's that it shares), or in
    any layer's (each dataset once)."""
    spec = rendered.spec
    names = ([spec["layer"][layer].get("data", spec.get("data"))["name"]] if layer is not None
             else spec["datasets"])
    return [row for name in names for row in rendered.spec["datasets"][name] if row.get(field) == value]


def text_marks(svg: str) -> list[str]:
    """The text of the SVG's text marks (axis labels, titles, legend entries and our labels)."""
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return [line for text in texts for line in re.split(r"<[^>]*>", text) if line]  # a subtitle's lines: tspans


def symbols(svg: str, role: str) -> int:
    """How many marks of one Vega role (`mark-symbol`, `mark-line`, `mark-rule`, `mark-text`) the SVG draws."""
    groups = re.findall(rf'<g class="{role} role-mark[^"]*"[^>]*>(.*?)</g>', svg, flags=re.S)
    return sum(len(re.findall(r"<(?:path|line|text)\b", group)) for group in groups)


KICK = table(
    dense("wiki_ppl"), dense("kick_closed_qa"), dense("kick_open_qa"),
    dict(task="wiki_ppl", method="wanda-sp0.5", retained_pct=90.0),
    dict(task="kick_closed_qa", method="wanda-sp0.5", retained_pct=40.0),
    dict(task="kick_open_qa", method="wanda-sp0.5", retained_pct=85.0),
    dict(task="wiki_ppl", method="rtn-w8", retained_pct=99.0),
    dict(task="kick_closed_qa", method="rtn-w8", retained_pct=97.0),
    dict(task="kick_open_qa", method="rtn-w8", retained_pct=98.0),
)


def test_kick_chart_draws_each_variant_per_knowledge_task_and_names_the_collapsed_one():
    rendered = render(kick_chart(KICK))
    assert len(dataset(rendered, "knowledge_task", "closed-book QA")) == 2
    assert len(dataset(rendered, "knowledge_task", "open-book QA")) == 2
    assert symbols(rendered.svg, "mark-symbol") == 4  # 2 variants x 2 tasks; legend symbols are not marks
    assert symbols(rendered.svg, "mark-line") == 1  # the diagonal
    labels = [row["text"] for row in dataset(rendered, "text", "wanda-sp0.5")]
    assert labels == ["wanda-sp0.5"] and not dataset(rendered, "text", "rtn-w8")  # 50 points lost vs 2
    texts = text_marks(rendered.svg)
    assert "perplexity retained (%, dense ÷ compressed perplexity)" in texts
    assert "knowledge retained (% of dense score)" in texts and "closed-book QA" in texts


def test_a_crowded_kick_chart_draws_a_density_and_names_the_furthest_collapses():
    n = MAX_POINTS // 3 + 50  # variants, each with three knowledge tasks: past MAX_POINTS points
    rng = np.random.default_rng(1)
    ppl, closed, open_book, mc = (rng.uniform(40, 100, n) for _ in range(4))
    crowded = table(dense("wiki_ppl"), dense("kick_closed_qa"), dense("kick_open_qa"), dense("kick_mc"),
                    *[dict(task=task, method=f"m-{i}", retained_pct=values[i])
                      for i in range(n) for task, values in [("wiki_ppl", ppl), ("kick_closed_qa", closed),
                                                              ("kick_open_qa", open_book), ("kick_mc", mc)]])
    rendered = render(kick_chart(crowded))
    cells = [row for rows in rendered.spec["datasets"].values() for row in rows if "count" in row]
    assert sum(row["count"] for row in cells) == 3 * n
    gaps = sorted((p - min(c, o, m), i) for i, (p, c, o, m) in enumerate(zip(ppl, closed, open_book, mc)))
    named = [row["text"] for rows in rendered.spec["datasets"].values() for row in rows if "text" in row]
    assert named and set(named) <= {f"m-{i}" for _, i in gaps[-20:]}  # only among the 20 furthest under
    assert symbols(rendered.svg, "mark-symbol") == 20  # a dot for each of them, none per (variant, task)
    assert len(rendered.svg) < 200_000


def test_charts_are_none_without_data_to_draw():
    empty = table(dense("wiki_ppl")).iloc[:0]
    assert kick_chart(empty) is None and limit_chart(empty) is None
    assert sparsity_chart(empty, FAMILY) is None and bits_chart(empty, FAMILY) is None
    assert pareto_chart(empty, "cpu-2c") is None
    only_ppl = KICK[KICK["task"] == "wiki_ppl"]
    assert kick_chart(only_ppl) is None  # no knowledge task to set against perplexity
    assert sparsity_chart(KICK, "other/model") is None and pareto_chart(KICK, "a100-80g") is None
    quantized = table(dense("wiki_ppl"), dict(task="wiki_ppl", method="rtn-w4", retained_pct=90.0, sparsity=0.0,
                                              model_bits_per_weight=4.5))
    assert sparsity_chart(quantized, FAMILY) is None  # a quantized variant has no sparsity to plot
    assert limit_chart(table(dict(task="limit_free_embedding", method="dense", metrics={"max_d": 4}))) is None


SWEEP = table(
    dense("wiki_ppl"),
    *[dict(task="wiki_ppl", method=f"wanda-sp{s:g}", retained_pct=r, sparsity=s, model_bits_per_weight=b,
           retained_low=r - 3, retained_high=r + 2)
      for s, r, b in [(0.3, 95.0, 14.0), (0.5, 80.0, 10.4), (0.7, 30.0, 7.0)]],
    dict(task="wiki_ppl", method="magnitude-sp0.5", retained_pct=20.0, sparsity=0.5, model_bits_per_weight=10.4,
         retained_std=4.0),
    *[dict(task="wiki_ppl", method=f"rtn-w{b}g128", retained_pct=r, sparsity=0.0, model_bits_per_weight=b + 0.25)
      for b, r in [(8, 99.5), (4, 93.0), (3, 70.0)]],
)


def test_series_name_drops_the_part_that_varies_along_x():
    assert series_name("wanda-sp0.5", SPARSITY_PART) == "wanda"
    assert series_name("wanda-2of4", SPARSITY_PART) == "wanda-2of4"
    assert series_name("sparsegpt-sp0.5-w4g128", SPARSITY_PART) == "sparsegpt-w4g128"
    assert series_name("rtn-w4g128", SPARSITY_PART, BITS_PART) == "rtn-g128"
    assert series_name("rtn-w4+int8", SPARSITY_PART, BITS_PART) == "rtn+int8"


def test_sparsity_chart_draws_one_line_per_method_from_the_dense_parent_with_error_bars():
    rendered = render(sparsity_chart(SWEEP, FAMILY))
    wanda, magnitude = dataset(rendered, "series", "wanda", 0), dataset(rendered, "series", "magnitude", 0)
    assert sorted(row["sparsity"] for row in wanda) == [0.0, 0.3, 0.5, 0.7]  # the dense parent starts the line
    assert sorted(row["sparsity"] for row in magnitude) == [0.0, 0.5]
    assert not dataset(rendered, "series", "rtn-g128")  # quantization only: nothing to say about sparsity
    assert symbols(rendered.svg, "mark-line") == 2 and symbols(rendered.svg, "mark-symbol") == 6
    assert symbols(rendered.svg, "mark-rule") == 4  # three intervals and one seed spread; the dense has none
    assert [(row["error_low"], row["error_high"]) for row in magnitude if row["sparsity"] == 0.5] == [(16.0, 24.0)]
    texts = text_marks(rendered.svg)
    assert "measured sparsity (% of weights zero)" in texts and "retained % of the dense parent (%)" in texts
    assert "50%" in texts and "wanda" in texts  # percent ticks and a legend entry


def test_bits_chart_draws_quantization_and_pruning_lines_down_from_16_bits():
    rendered = render(bits_chart(SWEEP, FAMILY))
    rtn = dataset(rendered, "series", "rtn-g128", 0)
    assert sorted(row["model_bits_per_weight"] for row in rtn) == [3.25, 4.25, 8.25, 16.0]
    assert symbols(rendered.svg, "mark-line") == 3  # rtn-g128, wanda, magnitude
    assert "bits per weight, whole model (bits)" in text_marks(rendered.svg)


@pytest.mark.parametrize(("xs", "ys", "lower_x", "higher_y", "expected"), [
    ([1, 2, 3, 4], [10, 30, 20, 40], True, True, [0, 1, 3]),  # 3 is beaten by the cheaper 1
    ([1, 1, 2], [10, 30, 30], True, True, [1]),  # same x: only the best; same y at more cost: dominated
    ([1, 2, 2], [10, 30, 30], True, True, [0, 1, 2]),  # exact duplicates both sit on the frontier
    ([1, 2, 3], [30, 20, 10], True, False, [0, 1, 2]),  # lower y is better: each dearer point is better
    ([1, 2, 3], [10, 20, 30], True, False, [0]),  # ... and here the cheapest point is also the best
    ([1, 2, 3], [10, 20, 30], False, True, [2]),  # higher x is better (a speedup): 3 dominates
    ([1, 2, 3], [10, 20, 15], False, True, [1, 2]),
    ([1, float("nan"), 3], [10, 50, 20], True, True, [0, 2]),  # a missing coordinate never dominates
    ([], [], True, True, []),
])
def test_pareto_frontier_on_hand_points(xs, ys, lower_x, higher_y, expected):
    assert pareto_frontier(xs, ys, x_lower_is_better=lower_x, y_higher_is_better=higher_y) == expected


def test_pareto_chart_steps_through_the_frontier_and_names_only_its_points():
    rendered = render(pareto_chart(SWEEP, "cpu-2c"))
    labels = sorted(row["text"] for rows in rendered.spec["datasets"].values() for row in rows if "text" in row)
    # Cheapest first: rtn 3, 4 and 8 bit, then dense; every pruned variant costs more for less.
    assert labels == sorted(["rtn-w3g128", "rtn-w4g128", "rtn-w8g128", "dense"])
    assert symbols(rendered.svg, "mark-symbol") == 8 + 4  # every variant, and a ring around each frontier point
    assert symbols(rendered.svg, "mark-text") == 4
    texts = text_marks(rendered.svg)
    assert "bits per weight, whole model (bits)" in texts and "retained % of the dense parent, wiki_ppl" in texts


def test_a_crowded_pareto_chart_draws_the_frontier_over_a_density_of_the_rest():
    """Past MAX_POINTS variants, the ones off the frontier are counted in grid cells, not drawn one by one."""
    rng = np.random.default_rng(0)
    n = MAX_POINTS + 100
    bits, kept = rng.uniform(2, 16, n), rng.uniform(20, 100, n)
    crowded = table(*[dict(task="t", model=f"org/m{i % 40}", method=f"m-{i}", retained_pct=y,
                           model_bits_per_weight=x) for i, (x, y) in enumerate(zip(bits, kept))])
    rendered = render(pareto_chart(crowded, "cpu-2c"))
    on = pareto_frontier(list(bits), list(kept))
    cells = [row for rows in rendered.spec["datasets"].values() for row in rows if "count" in row]
    assert sum(row["count"] for row in cells) == n - len(on) and 0 < len(cells) <= GRID[0] * GRID[1]
    assert symbols(rendered.svg, "mark-symbol") == 2 * len(on)  # each frontier point and its ring
    assert symbols(rendered.svg, "mark-rect") == len(cells)
    assert "org/m1" not in text_marks(rendered.svg)  # 40 models: no legend of models
    assert len(rendered.svg) < 200_000


def test_variants_at_one_frontier_position_are_drawn_and_named_once():
    twins = pd.concat([SWEEP, SWEEP.assign(model="org/twin")], ignore_index=True)  # the same numbers twice
    rendered = render(pareto_chart(twins, "cpu-2c"))
    labels = sorted(row["text"] for rows in rendered.spec["datasets"].values() for row in rows if "text" in row)
    assert labels == sorted(f"{name} and 1 more" for name in ["llm rtn-w3g128", "llm rtn-w4g128", "llm rtn-w8g128",
                                                               "llm dense"])
    assert symbols(rendered.svg, "mark-symbol") == 16 + 4  # every variant of both models; one ring per position


def test_pareto_chart_against_a_measured_memory_column():
    measured = SWEEP.assign(peak_memory_mb=[500.0, 420.0, 300.0, 200.0, 300.0, 260.0, 150.0, 120.0])
    rendered = render(pareto_chart(measured, "cpu-2c", x="peak_memory_mb"))
    labels = sorted(row["text"] for rows in rendered.spec["datasets"].values() for row in rows if "text" in row)
    assert labels == ["dense", "rtn-w3g128", "rtn-w4g128", "rtn-w8g128"]
    assert "peak memory (MB)" in text_marks(rendered.svg)
    assert pareto_chart(SWEEP, "cpu-2c", x="latency_ms") is None  # no such measurement in these results


def test_pareto_labels_do_not_overlap():
    """Eight frontier points within two pixels of each other, and two far ones that set the scales."""
    cluster = [(4.0 + i / 50, 50.0 + i / 2) for i in range(8)]
    crowded = table(*[dict(task="t", method=f"method-{i}", retained_pct=y, model_bits_per_weight=x)
                      for i, (x, y) in enumerate([(2.0, 20.0), *cluster, (16.0, 100.0)])])
    rendered = render(pareto_chart(crowded, "cpu-2c"))
    anchors = [tuple(float(v) for v in re.search(r'transform="translate\(([\d.]+),([\d.]+)\)"', tag).groups())
               for tag in re.findall(r"<text[^>]*>method-\d</text>", rendered.svg)]
    assert len(anchors) == 10
    for i, (x1, y1) in enumerate(anchors):  # labels of one length overlap iff both offsets are under its size
        assert all(abs(x1 - x2) >= 45 or abs(y1 - y2) >= 11 for x2, y2 in anchors[i + 1:])


def test_limit_chart_sets_bench_points_beside_the_papers_fit():
    metrics = {f"critical_n_d{d}": n for d, n in [(4, 8), (8, 22), (16, 70)]}
    metrics |= {"critical_n_d4_binary": 5, "fit_d0": -1.0, "fit_d1": 3.0}
    rendered = render(limit_chart(table(dict(task="limit_free_embedding", method="dense", metrics=metrics))))
    paper = {row["d"]: row["critical_n"] for row in dataset(rendered, "series", "LIMIT paper's fit")}
    for d in (4, 8, 16):
        assert paper[d] == pytest.approx(-10.5322 + 4.0309 * d + 0.0520 * d**2 + 0.0037 * d**3)
        assert limit_paper_fit(d) == pytest.approx(paper[d])
    assert min(paper) == 4 and max(paper) == 16
    assert len(dataset(rendered, "series", "bench: free vectors")) == 3
    assert len(dataset(rendered, "series", "bench: binary")) == 1
    texts = text_marks(rendered.svg)
    assert "critical n (documents, log scale)" in texts and "embedding dimension d" in texts
    assert any("bench's fit: n = -1" in text for text in texts)
    assert rendered.spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"


def test_a_hostile_name_is_escaped_in_every_chart():
    hostile = SWEEP.assign(model=HOSTILE, method=SWEEP["method"].str.replace("wanda", HOSTILE, regex=False))
    hostile_kick = KICK.assign(method=KICK["method"].str.replace("wanda-sp0.5", HOSTILE, regex=False))
    charts = [sparsity_chart(hostile, HOSTILE), bits_chart(hostile, HOSTILE), pareto_chart(hostile, "cpu-2c"),
              kick_chart(hostile_kick)]
    for chart in charts:
        svg = render(chart).svg
        assert "<script" not in svg
        assert not [tag for tag in re.findall(r"<[^>]*>", svg) if '"onmouseover' in tag]  # no attribute breaks out
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg  # drawn as text: in a label, legend or title


def test_charts_from_a_real_load_table(tmp_path):
    submissions.write_pair(tmp_path)
    results = load_table(tmp_path)
    for chart in (sparsity_chart(results, "org/model"), bits_chart(results, "org/model"),
                  pareto_chart(results, "cpu-2c")):
        rendered = render(chart)
        assert rendered.svg.startswith("<svg") and symbols(rendered.svg, "mark-symbol") >= 2


def test_render_time_of_one_chart():
    """The site builds 10,000 results in 10 s: a page's few charts must each render in well under a second."""
    render(pareto_chart(SWEEP, "cpu-2c"))  # the first call starts vl-convert's engine
    start = time.perf_counter()
    render(sparsity_chart(SWEEP, FAMILY))
    assert time.perf_counter() - start < 2.0  # about 0.2 s measured on 2 busy cores

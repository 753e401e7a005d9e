"""Which columns each site table shows, and the links its rows carry (all relative: the site opens from file://)."""

from __future__ import annotations

from typing import Any

from bench.site.tables import Column, missing, number, retained_text

RESULTS = "results"  # the copied result files, under the site's root


def family_page(family: str) -> str:
    return f"family-{family}.html"


def task_page(task: str) -> str:
    return f"task-{task}.html"


def retained(prefix: str = "", label: str = "retained %") -> Column:
    """Retained % with its paired bootstrap interval and its seeds' spread, sorted by the figure itself."""
    def show(row: dict[str, Any]) -> str:
        return retained_text(*(row.get(prefix + k) for k in ("retained_pct", "retained_low", "retained_high",
                                                             "retained_std")))
    return Column(prefix + "retained_pct", label, show=show, numeric=True,
                  note="score as a share of the dense parent's; [95% paired bootstrap interval] ± seeds' spread")


FACTS = [
    Column("sparsity", "sparsity", number("%.3f"), numeric=True, note="zeros / weights in the repeated blocks"),
    Column("model_bits_per_weight", "bits/weight (whole model)", number("%.2f"), numeric=True,
           note="every parameter: compressed layers in their storage format, the rest as fp16"),
    Column("layer_bits_per_weight", "bits/weight (compressed layers)", number("%.2f"), numeric=True),
    Column("model_bytes", "bytes (whole model)", number("%d"), numeric=True),
    Column("bytes_per_vector", "bytes/vector", number("%g"), numeric=True),
    Column("index_bytes", "index bytes", number("%d"), numeric=True),
    Column("query_ms", "query ms (p50)", number("%.3g"), numeric=True, note="one exact-search query, measured"),
    Column("speedup", "eval speed-up", number("%.2f×"), numeric=True,
           note="the dense parent's evaluation seconds over this result's, same task and profile, measured"),
    # measured on the profile's fixed workload, beside the dense parent timed in the same process (bench.measure)
    Column("measured_speedup", "measured speed-up", number("%.2f×"), numeric=True,
           note="decode tokens/s (LLM) or documents/s (encoder) over the dense parent's; kernel: what ran"),
    Column("kernel", "kernel", filter=True, note="the fast kernel timed, or nominal: the weights ran as dense tensors"),
    Column("prefill_tps", "prefill tok/s", number("%.4g"), numeric=True),
    Column("decode_tps", "decode tok/s", number("%.4g"), numeric=True, note="greedy, at the profile's batch size"),
    Column("docs_per_s", "documents/s", number("%.4g"), numeric=True),
    Column("query_ms_p99", "query ms (p99)", number("%.3g"), numeric=True),
    Column("peak_memory_mb", "peak memory MB", number("%.0f"), numeric=True,
           note="during evaluation: process RSS (CPU) or CUDA allocated"),
    Column("forced", "machine", filter=True, note="forced: run on a machine that did not match the profile"),
    Column("busy", "timing", filter=True, note="busy: timed while other work loaded the CPU (load average above "
           "the cores plus one): its speeds are unreliable"),
]
VARIANT = [Column("model", "model (family)", link="family_href", filter=True), Column("method", "method"),
           Column("kind", "kind", filter=True), Column("setting", "sparsity / bits", filter=True),
           Column("profile", "profile", filter=True)]


def present(columns: list[Column], rows: list[dict[str, Any]]) -> list[Column]:
    """The columns at least one row has a value in (a column of blanks says nothing)."""
    return [c for c in columns if c.links or any(not missing(row.get(c.key)) and row.get(c.key) != "" for row in rows)]


def index_columns(suites: list[str], rows: list[dict[str, Any]]) -> list[Column]:
    per_suite = [retained(f"{name}:", f"{name} retained %") for name in suites]
    return present([*VARIANT, *per_suite, *FACTS[:2], FACTS[3], *FACTS[4:]], rows) + [
        Column("sources", "results", links=True)]


def result_columns(rows: list[dict[str, Any]]) -> list[Column]:
    """A table of single results: raw scores beside the dense parent's, retained %, facts and the files."""
    score = Column("score", "score", show=lambda r: _score_text(r["score"], r.get("score_low"), r.get("score_high")),
                   numeric=True, note="main metric [95% bootstrap interval over the items]")
    dense = Column("dense", "dense parent", number("%.4g"), numeric=True)
    items = Column("n_items", "items", number("%d"), numeric=True)
    return present([*VARIANT, Column("task", "task", link="task_href"), Column("metric", "metric"), score, dense,
                    retained(), *FACTS, items], rows) + [Column("sources", "files", links=True)]


def _score_text(value: float, low: Any, high: Any) -> str:
    return f"{value:.4g}" + ("" if missing(low) or missing(high) else f" [{low:.4g}, {high:.4g}]")


def result_links(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The result file and its items file, as copied into the site."""
    folder = row["path"].rsplit("/", 1)[0]
    links = [("result", f"{RESULTS}/{row['path']}")]
    items = row.get("items_file")  # NaN in pandas' string column where a result has none
    return links + ([("items", f"{RESULTS}/{folder}/{items}")] if isinstance(items, str) and items else [])

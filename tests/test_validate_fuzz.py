"""Hypothesis: over a thousand hostile mutations of a sound result (types, values, keys, bytes, paths) are
each rejected, without a traceback or a hang; mutations valid by construction are accepted; and the site
builds from whatever validate accepted."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.report import load_table
from bench.provenance_checks import MACHINE_PATH
from bench.schema import (CompressionFacts, DenseReference, Efficiency, Environment, Hardware, MethodInfo, ModelInfo,
                          RunResult)
from bench.schema import PATH_PART, TaskInfo, path_part
from bench.site.build import build
from submissions import DENSE_PATH, WANDA_PATH, dense_data, time_limit, wanda_data, write, write_items_beside

BASE = wanda_data()
FREE_FORM = (("method", "params"),)  # any JSON scalar fits the type (bench.result_checks judges the values)
Path_ = tuple[str, ...]


def leaves(data: Any, here: Path_ = ()) -> list[tuple[Path_, Any]]:
    if isinstance(data, dict):
        return [leaf for key, value in data.items() for leaf in leaves(value, (*here, key))]
    return [(here, data)]


def objects(data: Any, here: Path_ = ()) -> list[Path_]:
    if not isinstance(data, dict):
        return []
    return [here, *(path for key, value in data.items() for path in objects(value, (*here, key)))]


def typed(path: Path_) -> bool:
    return not any(path[:len(prefix)] == prefix for prefix in FREE_FORM)


TYPED_LEAVES = [(path, value) for path, value in leaves(BASE) if typed(path) and value is not None]
NUMERIC_LEAVES = [path for path, value in leaves(BASE) if isinstance(value, (int, float)) and not isinstance(value, bool)]
# Objects whose keys are fixed by the schema (metrics and packages take any name).
CLOSED_OBJECTS = [path for path in objects(BASE) if typed(path) and path not in (("metrics",), ("environment", "packages"))]
MODELS = {(): RunResult, ("model",): ModelInfo, ("method",): MethodInfo, ("task",): TaskInfo,
          ("efficiency",): Efficiency, ("environment",): Environment, ("compression",): CompressionFacts,
          ("dense_reference",): DenseReference, ("hardware",): Hardware}
REQUIRED = [(*path, name) for path, model in MODELS.items() for name, f in model.model_fields.items() if f.is_required()]

finite = st.floats(allow_nan=False, allow_infinity=False)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), finite, st.text(max_size=8))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                 st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                          max_leaves=6)
containers = st.one_of(st.lists(json_scalar, max_size=2), st.dictionaries(st.text(max_size=3), json_scalar, max_size=2))
WRONG_TYPES = {  # JSON values a strictly typed field of this Python type rejects
    str: st.one_of(st.booleans(), st.integers(), finite, containers),
    bool: st.one_of(st.text(max_size=5), st.integers(), finite, containers),
    int: st.one_of(st.text(max_size=5), st.booleans(), finite, containers),
    float: st.one_of(st.text(max_size=5), st.booleans(), containers),
    list: st.one_of(st.text(max_size=5), st.booleans(), st.integers(), st.dictionaries(st.text(max_size=3), json_scalar)),
}
OUT_OF_RANGE = {
    ("compression", "sparsity"): st.one_of(st.floats(max_value=0, exclude_max=True), st.floats(min_value=1, exclude_min=True)),
    ("compression", "param_sparsity"): st.floats(min_value=1, exclude_min=True),
    ("task", "n_items"): st.integers(max_value=0),
    ("model", "n_params"): st.integers(max_value=-1),
    ("compression", "storage_bytes"): st.integers(max_value=0),
    ("compression", "model_bytes"): st.integers(max_value=0),
    ("compression", "bits_per_weight"): st.one_of(st.floats(max_value=0), st.floats(min_value=32, exclude_min=True)),
    ("compression", "model_bits_per_weight"): st.floats(min_value=32, exclude_min=True),
    ("metrics", "bits_per_byte"): st.floats(max_value=0, exclude_max=True),
    ("metrics", "word_perplexity"): st.floats(max_value=1, exclude_max=True),  # and main_score differs
    ("dense_reference", "main_score"): finite.filter(lambda v: abs(v - 30.0) > 1e-6),
    ("higher_is_better",): st.just(True),
}
NAME = st.text(alphabet="abcXYZ019._-+:\\ \n\x1bé", min_size=1, max_size=12).filter(lambda n: n[0] != ".")


def assign(data: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    _at(data, path[:-1])[path[-1]] = value
    return data


def render_duplicate(value: Any, at: Path_, here: Path_ = ()) -> str:
    """JSON text of `value` in which the object at `at` repeats its first key."""
    if isinstance(value, dict):
        items = [f"{json.dumps(k)}: {render_duplicate(v, at, (*here, k))}" for k, v in value.items()]
        return "{" + ", ".join(items + items[:1] * (here == at)) + "}"
    return json.dumps(value)


@st.composite
def hostile(draw) -> tuple[str, str | bytes]:
    """(where the Wanda file goes, its content): every one must be rejected."""
    kind = draw(st.sampled_from(["type", "nonfinite", "range", "unknown", "missing", "duplicate", "bytes", "path"]))
    text, rel = json.dumps(BASE), WANDA_PATH
    if kind == "type":
        path, value = draw(st.sampled_from(TYPED_LEAVES))
        text = json.dumps(assign(BASE, path, draw(WRONG_TYPES[type(value)])))
    elif kind == "nonfinite":
        constant = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        text = json.dumps(assign(BASE, draw(st.sampled_from(NUMERIC_LEAVES)), "@@")).replace('"@@"', constant)
    elif kind == "range":
        path, values = draw(st.sampled_from(list(OUT_OF_RANGE.items())))
        text = json.dumps(assign(BASE, path, draw(values)))
    elif kind == "unknown":
        path = draw(st.sampled_from(CLOSED_OBJECTS))
        key = draw(st.text(max_size=8).filter(lambda k: k not in _at(BASE, path)))
        text = json.dumps(assign(BASE, (*path, key), draw(json_value)))
    elif kind == "missing":
        path = draw(st.sampled_from(REQUIRED))
        data = json.loads(text)
        del _at(data, path[:-1])[path[-1]]
        text = json.dumps(data)
    elif kind == "duplicate":
        text = render_duplicate(BASE, draw(st.sampled_from([p for p in objects(BASE) if _at(BASE, p)])))
    elif kind == "bytes":
        raw, at = text.encode(), draw(st.integers(0, len(text) - 1))
        bad = draw(st.sampled_from([b"", b"\x00", b"\x01", b"\xff", b"\xc3"]))  # b"": cut the file short
        return rel, raw[:at] + bad + (raw[at:] if bad else b"")
    else:
        parts = draw(st.lists(NAME, min_size=1, max_size=5))
        rel = "/".join(parts) + draw(st.sampled_from([".json", ".JSON", ".Json"]))
        if rel.lower() in (WANDA_PATH, DENSE_PATH.lower()) or not _writable(rel):
            rel = "org__model/other/cpu-2c/wiki_ppl.json"
    return rel, text


def _at(data: Any, path: Path_) -> Any:
    for key in path:
        data = data[key]
    return data


def _writable(rel: str) -> bool:
    parts = rel.split("/")
    return all(p not in ("", ".", "..") and len(p.encode()) < 200 for p in parts)


def free_form_sound() -> st.SearchStrategy[dict[str, Any]]:
    """Changes valid by construction: free text (naming no path of the machine), the hardware seen,
    unconstrained numbers, extra metrics."""
    free_text = st.text(max_size=40).filter(lambda text: not MACHINE_PATH.search(text))
    return st.one_of(
        st.builds(lambda v: assign(BASE, ("model", "notes"), v), free_text),
        st.builds(lambda v: assign(BASE, ("hardware", "cpu"), v), free_text),
        st.builds(lambda v: assign(BASE, ("hardware", "gpu_memory_gb"), v), st.none() | finite),
        st.builds(lambda v: assign(BASE, ("efficiency", "eval_seconds"), v), finite),
        st.builds(lambda v: assign(BASE, ("compression", "storage_format"), v), free_text),
        st.builds(lambda k, v: assign(BASE, ("metrics", f"note_{k}"), v), st.integers(0, 99), finite),
        st.builds(lambda v: assign(BASE, ("compression", "model_bits_per_weight"), v), st.none() | st.floats(1e-300, 32)),
    )


def check(rel: str, content: str | bytes, site: bool) -> tuple[bool, list[str]]:
    """Whether the leaderboard's table (read through validate's checks) took the file at `rel`, beside a
    sound dense parent, and the lines naming what it skipped; with `site`, the site builds from the set."""
    with tempfile.TemporaryDirectory() as tmp, time_limit(20):
        root = Path(tmp) / "subs"
        write(root, DENSE_PATH, dense_data())
        write_items_beside(root / WANDA_PATH, wanda_data())  # the items a sound Wanda file names
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        skipped: list[str] = []
        table = load_table(root, warn=skipped.append)
        assert "dense" in set(table["method"])  # one bad file never costs a sound one
        assert all(line.isprintable() for line in skipped)
        if site:
            build(root, Path(tmp) / "site")
        return len(table) == 2, skipped


@settings(max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile())
def test_hostile_submissions_are_rejected_and_the_site_still_builds(case):
    rel, content = case
    accepted, skipped = check(rel, content, site=False)
    assert not accepted and len(skipped) == 1


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(free_form_sound())
def test_changes_valid_by_construction_are_accepted_and_shown(data):
    accepted, skipped = check(WANDA_PATH, json.dumps(data), site=True)
    assert accepted and not skipped, skipped


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=300))
def test_any_local_model_folder_becomes_a_path_part_validate_accepts(name):
    assert PATH_PART.fullmatch(path_part(name))

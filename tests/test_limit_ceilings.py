"""LIMIT's ceilings beside bench's own search: the paper's protocol, the explicit construction in each storage
precision, and the typed points their result files carry."""

import itertools
import json
import math
import re

import pytest
import torch
from click.testing import CliRunner

from bench import BenchError
from bench.backends import limit_construction as construction
from bench.backends.limit import top_k_sets
from bench.backends.limit_construction import PRECISIONS, angles, ceiling, documents, polynomial, queries, recovers_all
from bench.backends import limit_paper
from bench.backends.limit_paper import PaperSettings, Trial, infonce_gradients, one_thread, paper_search, paper_trial
from bench.backends.limit_protocols import PROTOCOLS
from bench.cli import cli
from bench.runner import RunRequest, run
from bench.schema import load_result, save_result
from bench.validate import check_root

ORDER = ["float64", "float32", "float16", "int8", "binary"]


@pytest.mark.parametrize("k", [2, 3])
def test_the_polynomial_expands_exactly_and_its_query_scores_it(k):
    n, generator = 13, torch.Generator().manual_seed(k)
    subsets = torch.stack([torch.randperm(n, generator=generator)[:k] for _ in range(4)])
    t = torch.rand(7, dtype=torch.float64, generator=generator) * 2 * math.pi
    powers = torch.exp(1j * t[:, None] * torch.arange(-k, k + 1))
    for subset, coefficients in zip(subsets, polynomial(subsets, n)):
        direct = -torch.prod(1 - torch.cos(t[:, None] - angles(n)[subset]), dim=1)
        assert torch.allclose((powers * coefficients).sum(dim=1).real, direct, atol=1e-12)
    # The query's scores are p at the documents, less its constant term, up to one positive scale.
    scores = queries(subsets, n) @ documents(n, k).T
    values = -torch.prod(1 - torch.cos(angles(n)[None, :, None] - angles(n)[subsets][:, None, :]), dim=2)
    shifted = values - polynomial(subsets, n)[:, k:k + 1].real
    ratio = shifted / scores
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-9) and (ratio > 0).all()
    assert torch.allclose(documents(n, k).norm(dim=1), torch.ones(n, dtype=torch.float64))


@pytest.mark.parametrize(("k", "sizes"), [(2, range(3, 26)), (3, range(4, 15))])
def test_float64_recovers_every_k_subset_for_small_n(k, sizes):
    assert all(recovers_all(n, k, PRECISIONS.get("float64"), block_scores=64) for n in sizes)  # several blocks each
    blocks = list(construction.subset_blocks(9, k, rows=5))
    assert torch.cat(blocks).tolist() == [list(s) for s in itertools.combinations(range(9), k)]
    assert max(map(len, blocks)) <= 5


def test_a_tie_or_a_swapped_document_fails_the_check():
    binary = PRECISIONS.get("binary")
    assert not recovers_all(8, 2, binary)  # sign bits of 4 dims: 8 documents cannot all differ in rank
    assert not recovers_all(64, 2, PRECISIONS.get("float16"))


@pytest.mark.parametrize(("k", "max_n"), [(2, 60), (3, 30)])
def test_the_ceiling_falls_with_storage_precision(k, max_n):
    found = {name: ceiling(k, PRECISIONS.get(name), max_n) for name in PRECISIONS}
    n = {name: value for name, (value, _) in found.items()}
    assert [n[name] for name in ORDER] == sorted((n[name] for name in ORDER), reverse=True)
    assert n["float16"] >= n["bfloat16"] >= n["int8"]  # bfloat16: 8 bits of mantissa, like int8's 127 levels
    assert found["float64"] == (max_n, True) and not found["float16"][1]  # the cap binds only the wide formats
    assert n["float16"] < n["float32"] and n["binary"] < n["int8"]
    storage = PRECISIONS.get("float16")
    assert recovers_all(n["float16"], k, storage) and not recovers_all(n["float16"] + 1, k, storage)


def test_storage_formats_keep_what_they_should():
    x = torch.randn(20, 6, dtype=torch.float64)
    int8 = PRECISIONS.get("int8")(x)
    steps = x.abs().amax(dim=1, keepdim=True) / 127
    assert torch.allclose(int8 / steps, (int8 / steps).round()) and ((int8 - x).abs() <= steps / 2 + 1e-12).all()
    assert set(PRECISIONS.get("binary")(x).unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(PRECISIONS.get("bfloat16")(x), x.to(torch.bfloat16).double())


def test_hand_written_infonce_gradients_match_autograd():
    generator = torch.Generator().manual_seed(0)
    sets = top_k_sets(6)
    q, d = (torch.randn(rows, 3, dtype=torch.float64, generator=generator) for rows in (len(sets), 6))
    loss, grad_q, grad_d = infonce_gradients(q, d, sets, temperature=0.1)
    q, d = q.requires_grad_(), d.requires_grad_()
    expected = -torch.log_softmax(q @ d.T / 0.1, dim=1).gather(1, sets).mean()
    expected.backward()
    assert loss == pytest.approx(expected.item()) and torch.allclose(grad_q, q.grad) and torch.allclose(grad_d, d.grad)


def test_paper_search_gallops_bisects_and_sweeps_each_n_once():
    def trial(n):
        calls.append(n)
        return Trial(n, n <= 37, 1, 0.0, False)

    calls = []
    assert paper_search(trial, 11, 2)[0] == 37 and calls[:7] == [11, 12, 14, 18, 26, 42, 34]
    assert set(range(33, 43)) <= set(calls) and len(calls) == len(set(calls))
    calls = []
    assert paper_search(trial, 50, 2)[0] == 37 and calls[:5] == [50, 49, 47, 43, 35]


def test_the_paper_protocol_solves_d4_at_small_n_and_fails_far_above():
    with one_thread():
        solved = paper_trial(6, 4, PaperSettings())
        assert solved.solved and solved.steps <= 1000
        # The paper's fit gives 6.7 at d = 4 and its protocol solves 9 here; at 30 documents the loss plateaus
        # after about 10,000 steps (seconds on an idle core): capped at 1500 to stay fast, far above either.
        failed = paper_trial(30, 4, PaperSettings(max_steps=1500))
        assert not failed.solved and failed.steps == 1500 and failed.hit_max_steps


def test_unknown_protocol_names_the_known_ones():
    with pytest.raises(BenchError, match="did you mean 'paper'"):
        PROTOCOLS.get("papr")


def test_ceiling_tasks_write_results_that_validate_and_tampering_is_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(construction, "max_n_for", lambda k, max_scores: 40)  # seconds, not a minute
    # The optimiser is tested above; here a stand-in that solves up to 7 documents runs the search and the files.
    monkeypatch.setattr(limit_paper, "paper_trial", lambda n, dims, settings, device: Trial(n, n <= 7, 10 * n, 0.1,
                                                                                           n == 12))
    run(RunRequest(method="dense", tasks=["limit_storage_ceiling", "limit_free_embedding_paper"], out=tmp_path,
                   limit=1), log=lambda _line: None)
    folder = tmp_path / "free-embedding/dense/cpu-2c"
    stored = load_result(folder / "limit_storage_ceiling.json")
    by_precision = {p.precision: p for p in stored.ceilings}
    assert list(by_precision) == ["float64", "float32", "float16", "bfloat16", "int8", "binary"]
    assert by_precision["float64"].capped and by_precision["float64"].critical_n == 40
    assert stored.main_score == by_precision["float32"].critical_n and by_precision["binary"].d == 4
    paper = load_result(folder / "limit_free_embedding_paper.json")
    (point,) = paper.ceilings
    assert (point.protocol, point.d, point.k, point.seed, point.critical_n, point.steps) == ("paper", 4, 2, 42, 7, 70)
    assert paper.main_score == 7 and paper.metrics["sweep_max_n_d4"] == 7 and point.capped  # n = 12 hit the cap
    assert check_root(tmp_path).findings == []
    site_shows_both_protocols_and_the_construction(tmp_path)
    printed = CliRunner().invoke(cli, ["report", "--suite", "limit", "--submissions", str(tmp_path)]).output
    assert "LIMIT ceilings by protocol" in printed and re.search(r"construction +bfloat16 +2 +4 ", printed)

    data = json.loads((folder / "limit_storage_ceiling.json").read_text())
    data["ceilings"][1]["critical_n"] += 1
    data["ceilings"].append(data["ceilings"][0])
    (folder / "limit_storage_ceiling.json").write_text(json.dumps(data))
    messages = [f.line() for f in check_root(tmp_path).findings]
    assert any("ceilings.1.critical_n" in m and "is not metrics['critical_n_d4_k2_float32']" in m for m in messages)
    assert any("ceilings.6: repeats the point" in m for m in messages)
    save_result(paper.model_copy(update={"ceilings": [point.model_copy(update={"precision": "int8"})]}),
                folder / "limit_free_embedding_paper.json")
    assert any("optimises float32 vectors" in f.message for f in check_root(tmp_path).findings)
    save_result(paper.model_copy(update={"ceilings": [point.model_copy(update={"protocol": "best_found"})]}),
                folder / "limit_free_embedding_paper.json")
    assert any(f.field == "ceilings.0.protocol" and f.message == "'best_found', but the task runs paper"
               for f in check_root(tmp_path).findings)


def site_shows_both_protocols_and_the_construction(submissions):
    """The LIMIT page: the chart draws the paper protocol's point and a labelled diamond per precision beside
    the paper's fit, and a table per protocol lists the points."""
    from bench.report import ceiling_points, load_table
    from bench.site.build import build
    from bench.site.charts import limit_chart, render

    table = load_table(submissions)
    points = ceiling_points(table)
    assert sorted(points["protocol"].unique()) == ["construction", "paper"] and len(points) == 7
    assert list(points[points["protocol"] == "construction"]["precision"]) == ORDER[:3] + ["bfloat16"] + ORDER[3:]
    rendered = render(limit_chart(table))
    series = {row.get("series") for name in rendered.spec["datasets"] for row in rendered.spec["datasets"][name]}
    assert {"bench: paper's protocol", "LIMIT paper's fit"} <= series
    labels = [row["text"] for name in rendered.spec["datasets"] for row in rendered.spec["datasets"][name]
              if "text" in row]
    assert "float64, k=2 (cap)" in labels and "float32, k=2 (cap)" in labels and "binary, k=2" in labels
    out = submissions.parent / "site"
    build(submissions, out)
    page = (out / "limit.html").read_text()
    assert "The paper&#39;s protocol: critical n by dimension" in page or "The paper's protocol" in page
    assert "The construction: critical n by storage precision" in page and "bfloat16" in page

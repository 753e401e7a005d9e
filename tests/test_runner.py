"""End to end on tiny random models: compress, evaluate through lm-eval and mteb, resume, render."""

import dataclasses
import json

import pytest

from bench import BenchError, backends
from bench.runner import RunRequest, plan, run
from bench.schema import load_result
from bench.validate import check_root
from bench.site.build import build

TINY_CALIB = dict(calib_samples=2, calib_seqlen=32)


@pytest.fixture(scope="module")
def llama_run(tiny_llama_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("submissions")
    request = RunRequest(method="wanda", method_params={"sparsity": 0.5}, model=str(tiny_llama_dir),
                         tasks=["wiki_ppl", "capitals_mc"], out=out, limit=3, seed=0, **TINY_CALIB)
    return request, run(request, log=lambda _line: None)


def test_llm_run_writes_dense_and_compressed_results(llama_run):
    request, pairs = llama_run
    assert [p.compressed.task.name for p in pairs] == ["wiki_ppl", "capitals_mc"]
    for pair in pairs:
        dense, compressed = pair.dense, pair.compressed
        assert dense.method.slug == "dense" and dense.compression is None
        assert compressed.method.slug == "wanda-sp0.5-calib2x32-seed0"
        assert compressed.compression.sparsity == pytest.approx(0.5, abs=1e-3)
        assert compressed.calibration.samples == 2 and len(compressed.calibration.data_hash) == 64
        assert compressed.calibration.unique_tokens == 2 * 32  # two windows that do not overlap
        assert compressed.dense_reference.main_score == dense.main_score
        assert (request.out / compressed.dense_reference.path).exists()
        assert compressed.task.n_items == 3 and compressed.task.limit == 3
        assert set(compressed.metrics) >= {compressed.main_metric}
        assert compressed.environment.packages["lm_eval"]
    files = sorted(p.relative_to(request.out).as_posix() for p in request.out.rglob("*.json"))
    assert files == sorted(f"local__tiny-llama0/{slug}/cpu-2c/{task}{kind}.json"  # each result beside its items
                           for slug in ("dense", "wanda-sp0.5-calib2x32-seed0") for task in ("capitals_mc", "wiki_ppl")
                           for kind in ("", ".items"))


def test_rerun_skips_finished_tasks_and_resumes_an_interrupted_run(llama_run, monkeypatch):
    request, pairs = llama_run
    calls = []
    real_evaluate = backends.evaluate

    def counting(spec, *args):
        calls.append(spec.name)
        return real_evaluate(spec, *args)

    monkeypatch.setattr(backends, "evaluate", counting)
    assert [p.compressed for p in run(request, log=lambda _l: None)] == [p.compressed for p in pairs]
    assert calls == []

    # A run interrupted before its last task: results are written atomically, so that task's file is absent.
    lost = request.out / pairs[1].compressed.dense_reference.path.replace("dense", pairs[1].compressed.method.slug)
    lost.unlink()
    run(request, log=lambda _l: None)
    assert calls == ["capitals_mc"] and load_result(lost).task.name == "capitals_mc"

    # Params a slug rounds alike (sp0.5 for 0.5 and 0.5000001) are not the same result: redo it.
    calls.clear()
    close = dataclasses.replace(request, method_params={**request.method_params, "sparsity": 0.5000001})
    assert plan(close).method.slug() == plan(request).method.slug()
    run(close, log=lambda _l: None)
    assert sorted(calls) == ["capitals_mc", "wiki_ppl"]


def test_encoder_run_through_mteb_with_a_2_of_4_pattern(tiny_encoder_dir, tmp_path):
    request = RunRequest(method="magnitude", method_params={"pattern": "2:4"}, model=str(tiny_encoder_dir),
                         suite="smoke", out=tmp_path, limit=5)
    (pair,) = run(request, log=lambda _line: None)
    assert pair.compressed.task.name == "wiki_retrieval" and pair.compressed.task.backend == "mteb"
    assert pair.compressed.method.slug == "magnitude-2of4"
    assert pair.compressed.compression.sparsity == pytest.approx(0.5)
    assert 0 <= pair.compressed.main_score <= 1 and pair.compressed.task.n_items == 5
    assert pair.compressed.task.engine_version.startswith("mteb ")


def test_site_renders_every_result_and_escapes_what_it_shows(llama_run, tmp_path):
    request, pairs = llama_run
    path = request.out / pairs[0].compressed.dense_reference.path
    data = json.loads(path.read_text())
    data["model"]["notes"] = "<script>alert(1)</script>"
    path.write_text(json.dumps(data))
    index, table = build(request.out, tmp_path / "site")
    html = index.read_text()
    assert len(table) == 4 and "wiki_ppl" in html and "capitals_mc" in html
    assert "wanda-sp0.5-calib2x32-seed0" in html and "%" in html and "suite smoke" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'src="http' not in html and 'href="http' not in html  # opens from file:// with no network


def test_a_precompressed_checkpoint_is_scored_next_to_its_parent(tiny_llama_dir, tmp_path):
    import torch

    from bench.assets import load_model, resolve_model
    from bench.methods.base import make_method

    pruned = load_model(resolve_model(str(tiny_llama_dir)), torch.float32, "cpu")
    make_method("magnitude", {"sparsity": 0.6}).compress(pruned, None)
    checkpoint = tmp_path / "elsewhere-pruned"
    pruned.module.save_pretrained(checkpoint)
    pruned.tokenizer.save_pretrained(checkpoint)

    request = RunRequest(method="none", method_params={"label": "mag60"}, model=str(checkpoint),
                         parent=str(tiny_llama_dir), tasks=["wiki_ppl"], out=tmp_path / "subs", limit=2)
    (pair,) = run(request, log=lambda _line: None)
    assert pair.compressed.method.slug == "none-mag60"
    assert pair.compressed.model.name == pair.dense.model.name == "local/tiny-llama0"
    # named by its folder, never by a path of this machine; its own weights hashed
    assert pair.compressed.model.source == "local/elsewhere-pruned" in pair.compressed.model.notes
    assert str(tmp_path) not in (tmp_path / "subs" / "local__tiny-llama0/none-mag60/cpu-2c/wiki_ppl.json").read_text()
    assert pair.compressed.model.weights_hash != pair.dense.model.weights_hash
    assert pair.compressed.compression.sparsity == pytest.approx(0.6, abs=1e-3)  # measured, not declared
    assert pair.compressed.main_score != pair.dense.main_score


def test_kick_task_types_run_on_a_tiny_model(tiny_llama_dir, tmp_path):
    assert run(RunRequest(method="dense", model=str(tiny_llama_dir), suite="kick", out=tmp_path, limit=2),
               log=lambda _line: None) == []  # a dense-only run pairs nothing
    results = {p.stem: load_result(p) for p in tmp_path.rglob("*.json") if not p.name.endswith(".items.json")}
    assert set(results) == {"kick_closed_qa", "kick_open_qa", "kick_mc", "kick_summarization", "wiki_ppl"}
    assert set(results["kick_summarization"].metrics) == {"rougeL", "rouge1", "rouge2"}
    for name in ("kick_closed_qa", "kick_open_qa"):
        assert set(results[name].metrics) == {"exact_match", "contains"}
        assert all(0 <= v <= 1 for v in results[name].metrics.values())
    assert results["kick_mc"].task.n_items == 2


def test_a_sparsity_sweep_runs_the_dense_parent_once(tiny_llama_dir, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bench.cli import cli

    calls = []
    real_evaluate = backends.evaluate
    monkeypatch.setattr(backends, "evaluate", lambda spec, *a: calls.append(spec.name) or real_evaluate(spec, *a))
    result = CliRunner().invoke(cli, ["run", "--method", "magnitude", "--sparsity", "0.2,0.4", "--pattern", "2:4",
                                      "--model", str(tiny_llama_dir), "--tasks", "wiki_ppl", "--limit", "2",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(calls) == 4  # dense once, then three variants
    assert sorted(p.parent.parent.name for p in tmp_path.rglob("*.json") if not p.name.endswith(".items.json")) == [
        "dense", "magnitude-2of4", "magnitude-sp0.2", "magnitude-sp0.4"]
    assert all(slug in result.stdout for slug in ("magnitude-sp0.2", "magnitude-sp0.4", "magnitude-2of4"))


def test_any_lm_eval_task_name_resolves_to_an_upstream_task():
    from bench.taskspec import resolve_tasks

    (spec,) = resolve_tasks(None, ["arc_easy"])
    assert spec.upstream == "arc_easy" and spec.recipe is None
    assert spec.main_metric == "acc" and spec.higher_is_better and spec.model_kind == "causal-lm"


def test_the_online_kick_suite_maps_to_lm_eval_tasks():
    from bench.taskspec import resolve_tasks

    specs = resolve_tasks("kick-online", None)
    assert [s.upstream for s in specs] == ["triviaqa", "nq_open", "mmlu"]
    assert [s.main_metric for s in specs] == ["exact_match", "exact_match", "acc"]


def test_embedding_variants_encode_once_and_match_mtebs_own_float_search(tiny_encoder_dir, tmp_path, monkeypatch):
    from bench.backends import embed_search

    encoded = []
    real_encode = embed_search.EmbeddingCache.encode

    def counting(self, texts, kind):
        out = real_encode(self, texts, kind)
        encoded.append(self.encoded)
        return out

    monkeypatch.setattr(embed_search.EmbeddingCache, "encode", counting)
    common = dict(method="dense", model=str(tiny_encoder_dir), tasks=["wiki_retrieval"], limit=6)
    plain = run(RunRequest(out=tmp_path / "plain", **common), log=lambda _l: None)
    assert plain == []
    pairs = run(RunRequest(out=tmp_path / "embed", embed="truncate:16,int8,binary+rescore:3,pq:4", **common),
                log=lambda _l: None)
    assert [p.compressed.method.slug for p in pairs] == [
        "dense+truncate16", "dense+int8", "dense+binary-rescore3", "dense+pq4"]
    assert max(encoded) == 92 + 6  # the corpus and the queries, once, for the float run and all variants
    float_via_vectors = load_result(tmp_path / "embed" / pairs[0].compressed.dense_reference.path)
    float_via_mteb = load_result(next((tmp_path / "plain").rglob("wiki_retrieval.json")))
    assert float_via_vectors.main_score == pytest.approx(float_via_mteb.main_score, abs=1e-6)
    facts = {p.compressed.method.slug: p.compressed.vectors for p in pairs}
    assert facts["dense+truncate16"].bytes_per_vector == 64 and facts["dense+int8"].bytes_per_vector == 32
    assert facts["dense+binary-rescore3"].bytes_per_vector == 4 and facts["dense+binary-rescore3"].dims == 32
    assert facts["dense+int8"].index_bytes == 92 * 32 + 2 * 4 * 32
    assert check_root(tmp_path / "embed").findings == []  # what bench writes, bench validate accepts
    assert all(f.query_latency_ms_p50 > 0 for f in facts.values())
    assert all(p.compressed.retained is not None for p in pairs)


def test_sts_through_mteb_on_a_tiny_encoder(tiny_encoder_dir, tmp_path):
    request = RunRequest(method="dense", model=str(tiny_encoder_dir), tasks=["lee_sts"], out=tmp_path, limit=5,
                         embed="binary")  # vector variants apply to retrieval tasks only
    with pytest.raises(BenchError, match="--embed compresses retrieval embeddings"):
        run(request, log=lambda _l: None)
    request.embed = None
    run(request, log=lambda _l: None)
    (result,) = [load_result(p) for p in tmp_path.rglob("lee_sts.json")]
    assert set(result.metrics) == {"cosine_spearman", "cosine_pearson"} and result.task.n_items == 5
    assert -1 <= result.main_score <= 1


def test_any_mteb_task_name_resolves_and_typos_of_engine_tasks_get_suggestions():
    from bench.registry import UnknownNameError
    from bench.taskspec import resolve_tasks

    (spec,) = resolve_tasks(None, ["SciFact"])
    assert (spec.backend, spec.upstream, spec.main_metric, spec.is_retrieval) == ("mteb", "SciFact", "ndcg_at_10", True)
    with pytest.raises(UnknownNameError, match="did you mean 'SciFact'"):
        resolve_tasks(None, ["SciFactt"])


def test_a_vector_variant_that_does_not_fit_a_task_is_skipped_not_fatal(tiny_encoder_dir, tmp_path):
    lines = []
    pairs = run(RunRequest(method="dense", model=str(tiny_encoder_dir), tasks=["wiki_retrieval"], limit=3,
                           out=tmp_path, embed="pca:64,int8"), log=lines.append)  # the tiny encoder has 32 dims
    assert [p.compressed.method.slug for p in pairs] == ["dense+int8"]
    assert any("pca64" in line and "skipped" in line for line in lines)
    assert not list(tmp_path.rglob("dense+pca64"))


def test_a_vector_variant_too_big_for_the_corpus_is_not_planned_so_a_rerun_is_finished(tiny_encoder_dir, tmp_path):
    from bench.runner import task_data
    from bench.sweep import unfinished
    from bench.taskspec import resolve_tasks

    (spec,) = resolve_tasks(None, ["pydoc_retrieval"])
    documents = len(task_data(spec).rows("corpus"))
    assert documents < 64
    lines = []
    request = RunRequest(method="magnitude", method_params={"sparsity": 0.5}, model=str(tiny_encoder_dir),
                         tasks=["pydoc_retrieval"], limit=2, out=tmp_path, embed="pca:64,int8")
    pairs = run(request, log=lines.append)
    assert {p.compressed.method.slug for p in pairs} == {"dense+int8", "magnitude-sp0.5", "magnitude-sp0.5+int8"}
    said = [line for line in lines if f"pca:64 needs at least 64 corpus documents, the task has {documents}" in line]
    assert len(said) == 1, lines  # once, not once per weight variant
    assert unfinished(request, plan(request), {}) == (0, 2)  # the float vectors and int8 exist: nothing to run


def test_force_in_a_sweep_recomputes_the_dense_parent_once(tiny_llama_dir, tmp_path, monkeypatch):
    from bench.backends import TaskOutcome
    from bench.items import ItemRun, Items
    from bench.runner import run_all

    evaluated = []

    def stub(spec, model, *_args):
        evaluated.append(spec.name)
        items = Items(task=spec.name, main_metric=spec.main_metric, aggregation="mean", ids=["0"],
                      runs=[ItemRun(values={"value": [0.5]})])  # a result without items is never reused
        return TaskOutcome(metrics={m: 0.5 for m in spec.metrics}, n_items=1, engine_version="stub", items=items)

    monkeypatch.setattr(backends, "evaluate", stub)
    requests = [RunRequest(method="magnitude", method_params={"sparsity": s}, model=str(tiny_llama_dir),
                           tasks=["capitals_mc"], out=tmp_path, force=True) for s in (0.3, 0.5)]
    run_all(requests, log=lambda _line: None)
    run_all(requests, log=lambda _line: None)
    assert evaluated == ["capitals_mc"] * 6  # each run: dense once, then each variant

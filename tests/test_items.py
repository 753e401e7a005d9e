"""Per-item outputs and their intervals: the aggregations and the bootstrap against hand and scipy math,
validate's checks of an items file, and real lm-eval, mteb and LIMIT runs whose items recompute their scores."""

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import bootstrap, spearmanr

from bench import BenchError
from bench.cli import cli
from bench.intervals import retained_interval, score_interval
from bench.items import MAX_ITEMS_BYTES, ItemRun, Items, read_items, score_of
from bench.runner import RunRequest, run
from bench.schema import paths_for
from bench.validate import check_root
from submissions import WANDA_PATH, wanda_data, write, write_pair


def items(aggregation="mean", ids=None, runs=None, **values) -> Items:
    n = len(next(iter(values.values()))) if values else len(runs[0].values["value"])
    return Items(task="t", main_metric="m", aggregation=aggregation, ids=ids or [str(i) for i in range(n)],
                 runs=runs or [ItemRun(values={k: list(map(float, v)) for k, v in values.items()})])


def test_each_aggregation_is_the_engines_math():
    assert score_of(items(value=[1, 0, 1, 1])) == 0.75
    ll, words = [-10.0, -30.0], [4.0, 6.0]
    assert score_of(items("word_perplexity", loglikelihood=ll, words=words)) == pytest.approx(math.exp(40 / 10))
    predicted, gold = [0.1, 0.5, 0.3, 0.9], [0.0, 0.7, 0.2, 0.6]
    assert score_of(items("spearman", predicted=predicted, gold=gold)) == pytest.approx(spearmanr(gold, predicted)[0])
    # mteb: each split/subset's mean rounded to 5 digits, then the mean over them
    grouped = items(value=[0.123456, 0.5, 1.0]).model_copy(update={"groups": ["a", "a", "b"], "round_digits": 5})
    assert score_of(grouped) == pytest.approx((round((0.123456 + 0.5) / 2, 5) + 1.0) / 2, abs=0)
    seeds = items(runs=[ItemRun(seed=0, values={"value": [1.0, 0.0]}), ItemRun(seed=1, values={"value": [1.0, 1.0]})])
    assert score_of(seeds) == 0.75 and score_of(seeds, run=1) == 1.0


def test_the_score_interval_is_scipys_percentile_bootstrap_of_the_items():
    values = np.random.default_rng(3).random(40)
    interval = score_interval(items(value=values))
    expected = bootstrap((values,), np.mean, method="percentile", n_resamples=1000, confidence_level=0.95,
                         rng=np.random.default_rng(0)).confidence_interval
    assert (interval.low, interval.high) == pytest.approx((expected.low, expected.high), rel=1e-9)
    assert (interval.level, interval.method, interval.n_resamples, interval.seed) == (0.95, "percentile", 1000, 0)
    assert interval.low < values.mean() < interval.high


def test_identical_items_retain_exactly_one_and_a_known_shift_moves_the_interval():
    dense = items(value=np.random.default_rng(4).random(50))
    same = retained_interval(dense, dense, higher_is_better=True)
    assert (same.low, same.high) == (1.0, 1.0)
    # each compressed item 0.1 lower: retained = 1 - 0.1 / dense mean, a monotone map of the dense mean's interval
    shifted = items(value=np.asarray(dense.runs[0].values["value"]) - 0.1)
    dense_mean = score_interval(dense)
    paired = retained_interval(dense, shifted, higher_is_better=True)
    assert (paired.low, paired.high) == pytest.approx((1 - 0.1 / dense_mean.low, 1 - 0.1 / dense_mean.high), rel=2e-3)
    # lower is better (perplexity): retained = dense / compressed. Twice the loss everywhere squares the
    # perplexity, so retained = 1 / dense perplexity = exp(-loss per word): between exp(-3) (only the item
    # losing 3 nats a word drawn) and exp(-2) (only the items losing 2)
    ppl_dense = items("word_perplexity", loglikelihood=[-2.0, -3.0, -4.0], words=[1.0, 1.0, 2.0])
    ppl_worse = items("word_perplexity", loglikelihood=[-4.0, -6.0, -8.0], words=[1.0, 1.0, 2.0])
    worse = retained_interval(ppl_dense, ppl_worse, higher_is_better=False)
    assert math.exp(-3) - 1e-12 <= worse.low < math.exp(-9 / 4) < worse.high <= math.exp(-2) + 1e-12


def test_paired_items_are_matched_by_id_and_different_items_are_an_error():
    dense = items(value=[1, 0.5, 0.25], ids=["a", "b", "c"])
    reordered = items(value=[0.5, 0.25, 1], ids=["b", "c", "a"])
    same = retained_interval(dense, reordered, True)
    assert (same.low, same.high) == (1.0, 1.0)
    with pytest.raises(BenchError, match="other items than its dense parent"):
        retained_interval(dense, items(value=[1, 0, 1], ids=["a", "b", "x"]), True)


def test_an_items_file_is_strict():
    with pytest.raises(ValueError, match="repeat"):
        items(value=[1, 0], ids=["a", "a"])
    with pytest.raises(ValueError, match="one entry per id"):
        Items(task="t", main_metric="m", aggregation="mean", ids=["a", "b"], runs=[ItemRun(values={"value": [1.0]})])
    with pytest.raises(ValueError, match="needs columns"):
        items("word_perplexity", value=[1.0])


# --- bench validate on hand-made files (tests/submissions.py writes the items beside each result) ---

def findings(root) -> list[str]:
    return [f.line() for f in check_root(root).findings]


def items_path(root, rel=WANDA_PATH):
    return root / rel.replace(".json", ".items.json")


def rewrite_items(root, edit, rel=WANDA_PATH, fix_sha=True):
    """Edit the items file's JSON data (and, with fix_sha, record its new sha256 in the result)."""
    path = items_path(root, rel)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    if fix_sha:
        result = json.loads((root / rel).read_text())
        result["items"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        (root / rel).write_text(json.dumps(result))


def test_a_hand_edited_item_value_is_caught(tmp_path):
    write_pair(tmp_path)
    rewrite_items(tmp_path, lambda d: d["runs"][0]["values"]["loglikelihood"].__setitem__(0, -100.0))
    assert any(line.startswith(f"{WANDA_PATH}: main_score: 40.0 is not what its items recompute")
               for line in findings(tmp_path)), findings(tmp_path)


def test_a_hand_edited_score_is_caught(tmp_path):
    data = wanda_data()
    data.update(main_score=35.0, metrics={"word_perplexity": 35.0})
    write_pair(tmp_path, data)
    assert any(line.startswith(f"{WANDA_PATH}: main_score: 35.0 is not what its items recompute (40.0")
               for line in findings(tmp_path)), findings(tmp_path)


@pytest.mark.parametrize("edit, field, message", [
    (lambda d: d["ids"].__setitem__(1, "0"), "wiki_ppl.items.json: ", "ids repeat an item"),
    (lambda d: d["runs"][0]["values"]["words"].pop(), "wiki_ppl.items.json: ", "do not have one entry per id"),
    (lambda d: d["runs"][0]["values"]["words"].__setitem__(0, "100"), "wiki_ppl.items.json#runs.0.values.words.0",
     "valid number"),
    (lambda d: d.update(aggregation="median"), "wiki_ppl.items.json#aggregation", "Input should be"),
    (lambda d: d.update(task="kick_mc"), "wiki_ppl.items.json#task", "is not the result's 'wiki_ppl'"),
    (lambda d: d.update(ids=["0", "1", "2", "3"], runs=[{"values": {"loglikelihood": [-1.0] * 4, "words": [1.0] * 4}}]),
     "items.n_items", "3 but wiki_ppl.items.json holds 4"),
], ids=["duplicate-ids", "ragged-columns", "string-number", "unknown-aggregation", "other-task", "item-count"])
def test_each_malformed_items_file_is_named(tmp_path, edit, field, message):
    write_pair(tmp_path)
    rewrite_items(tmp_path, edit)
    assert any(line.startswith(f"{WANDA_PATH}: {field}") and message in line for line in findings(tmp_path)), \
        findings(tmp_path)


@pytest.mark.parametrize("corrupt, field, message", [
    (lambda p: p.unlink(), "items.file", "cannot stat"),
    (lambda p: p.write_text(p.read_text() + " "), "items.sha256", "edited or swapped"),
    (lambda p: p.write_text(p.read_text().replace('"task"', '"task": "x", "task"', 1)), "items.file", "duplicate key"),
    (lambda p: p.write_text(p.read_text().replace("100.0", "NaN", 1)), "items.file", "NaN is not a JSON number"),
    (lambda p: p.open("a").truncate(MAX_ITEMS_BYTES + 1), "items.file", "cap"),
    (lambda p: (p.unlink(), p.symlink_to("/dev/zero")), "items.file", "symbolic link"),
], ids=["missing", "edited", "duplicate-key", "nan", "oversized", "symlink"])
def test_an_unreadable_or_swapped_items_file_is_named(tmp_path, corrupt, field, message):
    write_pair(tmp_path)
    corrupt(items_path(tmp_path))
    assert any(line.startswith(f"{WANDA_PATH}: {field}") and message in line for line in findings(tmp_path)), \
        findings(tmp_path)


def test_a_result_without_items_and_inconsistent_intervals_are_named(tmp_path):
    data = wanda_data()
    del data["items"]
    write_pair(tmp_path, data)
    assert f"{WANDA_PATH}: items: missing: every result but limit_free_embedding's stores its per-item outputs" \
        in findings(tmp_path)
    interval = {"level": 0.95, "method": "percentile", "n_resamples": 1000, "seed": 0}
    for field, bounds, message in [("score_interval", (41.0, 45.0), "does not contain the score 40.0"),
                                   ("retained_interval", (0.8, 0.7), "low 0.8 is above high 0.7")]:
        data = wanda_data()
        data[field] = {"low": bounds[0], "high": bounds[1], **interval}
        write(tmp_path, WANDA_PATH, data)
        assert any(line.startswith(f"{WANDA_PATH}: {field}: ") and message in line for line in findings(tmp_path))


def test_a_result_scoring_other_items_than_its_dense_parent_is_named(tmp_path):
    write_pair(tmp_path)
    rewrite_items(tmp_path, lambda d: d["ids"].__setitem__(2, "7"))
    assert f"{WANDA_PATH}: items: scored other items than the dense parent (1 not in its items, 1 missing)" \
        in findings(tmp_path)


def test_the_site_skips_a_result_whose_items_are_bad(tmp_path):
    write_pair(tmp_path / "subs")
    rewrite_items(tmp_path / "subs", lambda d: d["runs"][0]["values"]["words"].__setitem__(0, 1e308))
    outcome = CliRunner().invoke(cli, ["site", "build", "--submissions", str(tmp_path / "subs"),
                                       "--out", str(tmp_path / "site")])
    assert outcome.exit_code == 0, outcome.output
    assert f"skipped {(tmp_path / 'subs' / WANDA_PATH).as_posix()}: main_score" in outcome.output
    assert "wanda-sp0.5" not in (tmp_path / "site/index.html").read_text()


# --- real runs on tiny models: every engine's items recompute the score it reported ---

def check_run(out, pairs, retained_tasks):
    """Every result valid, its items intact and recomputing its score inside its interval; a paired interval
    for `retained_tasks` (elsewhere a random tiny model's dense score can be 0 on a resample: no ratio)."""
    checked = check_root(out)
    assert checked.findings == [], [f.line() for f in checked.findings]
    for pair in pairs:
        for result in (pair.dense, pair.compressed):
            stored, sha256 = read_items(out / pair_path(result).parent / result.items.file)
            assert sha256 == result.items.sha256 and len(stored.ids) == result.task.n_items
            assert score_of(stored) == pytest.approx(result.main_score, rel=1e-6)
            assert result.score_interval.low <= result.main_score <= result.score_interval.high
        if pair.compressed.task.name in retained_tasks:
            interval = pair.compressed.retained_interval
            assert interval.low <= interval.high and interval.n_resamples == 1000


def pair_path(result):
    return paths_for(Path(), result)


def test_lm_eval_items_recompute_perplexity_accuracy_and_exact_match(tiny_llama_dir, tmp_path):
    request = RunRequest(method="magnitude", method_params={"sparsity": 0.5}, model=str(tiny_llama_dir),
                         tasks=["wiki_ppl", "capitals_mc", "kick_closed_qa"], out=tmp_path, limit=3)
    pairs = run(request, log=lambda _line: None)
    check_run(tmp_path, pairs, {"wiki_ppl"})
    by_task = {p.compressed.task.name: p.compressed for p in pairs}
    mc, _ = read_items(tmp_path / pair_path(by_task["capitals_mc"]).parent / "capitals_mc.items.json")
    assert all(p in {"0", "1", "2", "3"} for p in mc.runs[0].predictions)  # the chosen option
    qa, _ = read_items(tmp_path / pair_path(by_task["kick_closed_qa"]).parent / "kick_closed_qa.items.json")
    assert len(qa.runs[0].predictions) == 3  # the generated answers


def test_mteb_and_limit_items_recompute_ndcg_spearman_and_recall(tiny_encoder_dir, tmp_path):
    request = RunRequest(method="magnitude", method_params={"sparsity": 0.5}, model=str(tiny_encoder_dir),
                         tasks=["wiki_retrieval", "lee_sts", "limit_small"], out=tmp_path, limit=30, embed="int8")
    pairs = run(request, log=lambda _line: None)
    assert {(p.compressed.task.name, p.compressed.method.slug) for p in pairs} >= {
        ("limit_small", "magnitude-sp0.5"), ("limit_small", "magnitude-sp0.5+int8"), ("lee_sts", "magnitude-sp0.5")}
    check_run(tmp_path, pairs, {"lee_sts"})

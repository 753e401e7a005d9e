"""--seeds on the tiny random Llama: one calibration draw per seed, the aggregate and its spread, resume."""

import statistics
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench import backends, runner
from bench.cli import cli
from bench.items import read_items, score_of
from bench.report import format_table, load_table
from bench.runner import RunRequest, run
from bench.schema import paths_for
from bench.schema import load_result, retained_fraction
from bench.validate import candidates, check_root
from bench.site.build import build

SEEDS_RUN = dict(method="wanda", method_params={"sparsity": 0.5}, calib_samples=2, calib_seqlen=32, limit=2)
PER_SEED_SLUGS = [f"wanda-sp0.5-calib2x32-seed{seed}" for seed in (0, 1, 2)]


@pytest.fixture(scope="module")
def seeds_run(tiny_llama_dir, tmp_path_factory):
    """A run killed while it calibrates seed 2, then run again: what the second run calibrated and evaluated."""
    request = RunRequest(model=str(tiny_llama_dir), tasks=["wiki_ppl", "capitals_mc"], seeds=[2, 0, 1],
                         out=tmp_path_factory.mktemp("submissions"), **SEEDS_RUN)
    real_calibration, real_evaluate = runner.build_calibration, backends.evaluate
    calibrated, evaluated = [], []

    def killed_at_seed_2(model, config, *args, **kwargs):
        if config.seed == 2:
            raise KeyboardInterrupt
        return real_calibration(model, config, *args, **kwargs)

    def counting_calibration(model, config, *args, **kwargs):
        calibrated.append(config.seed)
        return real_calibration(model, config, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "build_calibration", killed_at_seed_2)
        with pytest.raises(KeyboardInterrupt):
            run(request, log=lambda _line: None)
        written_before = [per_seed_file(request, slug, "wiki_ppl").exists() for slug in PER_SEED_SLUGS]
        patch.setattr(runner, "build_calibration", counting_calibration)
        patch.setattr(backends, "evaluate", lambda spec, *a: evaluated.append(spec.name) or real_evaluate(spec, *a))
        pairs = run(request, log=lambda _line: None)
        rerun = run(request, log=lambda _line: None)
    return request, pairs, Resumed(written_before, calibrated, evaluated, rerun)


@dataclass
class Resumed:
    written_before: list[bool]  # the per-seed files on disk when the first run died
    calibrated: list[int]  # the seeds the second and third runs calibrated
    evaluated: list[str]  # the tasks they evaluated
    rerun: list  # the pairs of the third run, which found everything done


def per_seed_file(request, slug, task):
    return request.out / ".seeds" / "local__tiny-llama0" / slug / "cpu-2c" / f"{task}.json"


def test_each_seed_draws_its_own_calibration_and_the_aggregate_stores_their_mean_and_spread(seeds_run):
    request, pairs, _ = seeds_run
    for pair in pairs:
        aggregate = pair.compressed
        assert aggregate.method.slug == "wanda-sp0.5-calib2x32-seeds0-1-2"
        runs = aggregate.seed_runs
        assert [r.seed for r in runs] == [0, 1, 2]
        assert len({r.calibration_hash for r in runs}) == 3
        scores = [r.main_score for r in runs]
        assert aggregate.main_score == pytest.approx(statistics.fmean(scores))
        assert aggregate.spread.std == pytest.approx(statistics.stdev(scores))
        assert (aggregate.spread.min, aggregate.spread.max) == (min(scores), max(scores))
        for run_, slug in zip(runs, PER_SEED_SLUGS):  # each seed's own file, as `--seed N` writes it
            single = load_result(per_seed_file(request, slug, aggregate.task.name))
            assert single.main_score == run_.main_score and single.calibration.data_hash == run_.calibration_hash
            assert single.calibration.seed == run_.seed and single.metrics == run_.metrics
            assert (request.out / single.dense_reference.path).exists()
        assert load_result(request.out / aggregate.dense_reference.path) == pair.dense
    wiki = pairs[0].compressed
    assert wiki.task.name == "wiki_ppl" and wiki.spread.std > 0  # perplexity moves with the calibration draw
    # the leaderboard reads the aggregates only, never a single seed next to them
    assert [Path(rel).parts[1] for rel in candidates(request.out)[0]] == ["dense"] * 2 + [
        wiki.method.slug] * 2


def test_the_first_seed_of_a_process_measures_the_variant_and_later_seeds_reuse_it(seeds_run):
    request, pairs, _ = seeds_run
    seed0, seed1, seed2 = (load_result(per_seed_file(request, slug, "wiki_ppl")).measurements for slug in PER_SEED_SLUGS)
    assert seed1.seconds < seed0.seconds  # seed 1 ran after seed 0 in the same process: files only, no timing
    assert seed1.speeds == seed0.speeds and seed1.model_file_bytes > 0
    aggregate = pairs[0].compressed.measurements
    assert aggregate.speeds == seed0.speeds  # the first seed's; seed 2 timed again, in the second process
    assert aggregate.seconds == max(seed0.seconds, seed2.seconds) > seed1.seconds  # the cost of one timing


def test_report_and_site_show_the_spread_of_retained_pct(seeds_run, tmp_path):
    request, pairs, _ = seeds_run
    wiki = pairs[0].compressed
    dense = wiki.dense_reference.main_score
    retained_std = 100 * statistics.stdev(retained_fraction(r.main_score, dense, False) for r in wiki.seed_runs)
    interval = wiki.retained_interval  # paired over the items, every seed's run drawn with the same items
    shown = f"{100 * wiki.retained:.1f}% [{100 * interval.low:.1f}, {100 * interval.high:.1f}] ± {retained_std:.1f}"

    table = load_table(request.out)
    row = table[(table["task"] == "wiki_ppl") & (table["method"] == wiki.method.slug)].iloc[0]
    assert row["retained_std"] == pytest.approx(retained_std)
    assert shown in format_table(table)
    report = CliRunner().invoke(cli, ["report", "--suite", "smoke", "--submissions", str(request.out)])
    assert f"{100 * wiki.retained:.1f} ± {retained_std:.1f}" in report.output
    build(request.out, tmp_path)
    assert f"{shown}</td>" in (tmp_path / "task-wiki_ppl.html").read_text()  # no bare figure: the spread follows it
    assert f"{100 * wiki.retained:.1f}% ± {retained_std:.1f}</td>" in (tmp_path / "suite-smoke.html").read_text()


def test_an_interrupted_run_does_not_redo_finished_seeds(seeds_run):
    _, pairs, resumed = seeds_run
    assert resumed.written_before == [True, True, False]  # killed while calibrating seed 2
    assert resumed.calibrated == [2]  # then only seed 2 ran, on both tasks; the dense parent was done too
    assert resumed.evaluated == ["wiki_ppl", "capitals_mc"]
    assert [p.compressed for p in resumed.rerun] == [p.compressed for p in pairs]  # a third run finds all done


def test_random_pruning_draws_one_mask_per_seed(tiny_llama_dir, tmp_path):
    request = RunRequest(method="random", method_params={"sparsity": 0.5}, model=str(tiny_llama_dir),
                         tasks=["wiki_ppl"], seeds=[0, 1], out=tmp_path, limit=2)
    (pair,) = run(request, log=lambda _line: None)
    assert pair.compressed.method.slug == "random-sp0.5-seeds0-1"
    assert [r.calibration_hash for r in pair.compressed.seed_runs] == [None, None]
    first, second = (r.main_score for r in pair.compressed.seed_runs)
    assert first != second
    assert load_result(tmp_path / ".seeds/local__tiny-llama0/random-sp0.5/cpu-2c/wiki_ppl.json").main_score == first


@pytest.mark.parametrize("method,given,seeds,slug", [
    ("wanda", {}, [0, 1, 2], "wanda-sp0.5"),  # a calibrated method: the profile's seeds by default
    ("gptq", {}, [0, 1, 2], "gptq-w4g128-act"),
    ("wanda", {"seed": 0}, [], "wanda-sp0.5-calib16x512-seed0"),  # one seed on purpose: named as such
    ("wanda", {"seeds": [1, 0, 2]}, [0, 1, 2], "wanda-sp0.5"),
    ("random", {}, [], "random-sp0.5"),  # data-free: one seed, 0, unless asked
    ("magnitude", {}, [], "magnitude-sp0.5"),
])
def test_calibrated_methods_run_the_profiles_seeds_unless_one_seed_is_given(method, given, seeds, slug):
    p = runner.plan(RunRequest(method=method, tasks=["wiki_ppl"], **given))
    assert (p.seeds, p.method.slug()) == (seeds, slug)
def test_the_aggregates_items_hold_every_seeds_run_and_recompute_each_score(seeds_run):
    request, pairs, _ = seeds_run
    for aggregate_result in (pair.compressed for pair in pairs):
        stored, _ = read_items(paths_for(request.out, aggregate_result).parent / aggregate_result.items.file)
        assert [run.seed for run in stored.runs] == [0, 1, 2]
        assert [score_of(stored, run=i) for i in range(3)] == pytest.approx(
            [run.main_score for run in aggregate_result.seed_runs], rel=1e-6)
        assert score_of(stored) == pytest.approx(aggregate_result.main_score, rel=1e-6)
    assert [f.line() for f in check_root(request.out).findings] == []

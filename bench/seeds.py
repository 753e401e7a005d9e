"""Seed variance (--seeds): one run per seed, summed up as one aggregate result per task.

Each seed runs as the single-seed run `--seed N` would, but writes into the hidden `.seeds/` folder under
the output folder, so an interrupted multi-seed run keeps its finished seeds and the leaderboard lists
only the aggregates. The aggregate's slug ends in `seedsA-B-C` and never names a single-seed result.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from bench import BenchError
from bench.methods.base import Method, make_method
from bench.methods.calib_sources import check_source
from bench.methods.calibration import CalibrationConfig, calibration_suffix
from bench.profiles import Profile
from bench.run_config import RunConfig, config_hash
from bench.schema import Efficiency, RunResult, SeedRun, seed_spread

if TYPE_CHECKING:
    from bench.planning import RunRequest

SEED_RUNS_DIR = ".seeds"


def submissions_root(out: Path) -> Path:
    """The folder the dense parents are in: one seed's run writes into the hidden seed folder under it."""
    return out.parent if out.name == SEED_RUNS_DIR else out


def seeds_label(seeds: list[int]) -> str:
    """The slug's name for a set of seeds: `seeds0-1-2` (in order, so 2,0,1 names the same result)."""
    return "seeds" + "-".join(str(seed) for seed in sorted(seeds))


def default_seeds(method: Method, profile: Profile) -> list[int]:
    """The seeds a run uses when given neither --seed nor --seeds: a calibrated method runs once per seed of
    the profile, so its result carries the spread calibration noise makes; any other method once, seed 0."""
    return sorted(profile.calib_seeds) if method.needs_calibration else [0]


def seeded_method(request: RunRequest, profile: Profile, seed: int,
                  seeds: list[int] | None = None) -> tuple[Method, CalibrationConfig]:
    """The method (the profile's defaults for it under the params given) and its calibration for `seed`;
    `seeds` is the set of seeds the result aggregates (None: `seed` alone). A calibration or seed set other
    than the profile's default gets its own slug, so results never mix."""
    given = {key: value for key, value in request.method_params.items() if value is not None}
    method = make_method(request.method, {**profile.method_defaults.get(request.method, {}), **given}, seed)
    samples, seqlen = request.calib_samples, request.calib_seqlen  # 0 is a value to refuse, not "not given"
    default_size = profile.calib_size(request.method)
    calibration = CalibrationConfig(samples=default_size[0] if samples is None else samples,
                                    seqlen=default_size[1] if seqlen is None else seqlen, seed=seed,
                                    source=request.calib_source or profile.calib_source)
    if calibration.samples < 1 or calibration.seqlen < 8:
        raise BenchError("--calib-samples must be >= 1 and --calib-seqlen >= 8")
    check_source(calibration.source, will_load=method.needs_calibration)
    chosen = seeds or [seed]
    label = seeds_label(chosen) if len(chosen) > 1 else f"seed{seed}"
    other_seeds = chosen != default_seeds(method, profile)
    if method.needs_calibration:
        sized = (calibration.samples, calibration.seqlen) != default_size
        method.slug_suffix = calibration_suffix(calibration, profile.calib_source, sized or other_seeds, label)
    elif method.seeded and other_seeds:  # random: its mask is drawn from the seed
        method.slug_suffix = f"-{label}"
    return method, calibration


def planned_seeds(request: RunRequest, profile: Profile) -> tuple[Method, CalibrationConfig, list[int]]:
    """The method, its calibration and the seeds the result aggregates (empty: a single-seed run): --seeds
    as given, one --seed, or else the method's default seeds (bench.seeds.default_seeds)."""
    probe, _ = seeded_method(request, profile, request.seed or 0)
    if request.seeds is not None:
        seeds = check_seeds(request.seeds, request.seed, probe)
    elif request.seed is not None:
        seeds = []
    else:
        defaults = default_seeds(probe, profile)
        seeds = defaults if len(defaults) > 1 else []
    method, calibration = seeded_method(request, profile, seeds[0] if seeds else request.seed or 0, seeds or None)
    return method, calibration, seeds


def check_seeds(seeds: list[int], seed: int | None, method: Method) -> list[int]:
    """The seeds, sorted; one-line errors for a set that is not a spread or a method the seed does not change."""
    if seed is not None:
        raise BenchError("give --seed or --seeds, not both")
    if len(set(seeds)) != len(seeds):
        raise BenchError(f"--seeds lists a seed twice: {','.join(map(str, seeds))}")
    if len(seeds) < 2:
        raise BenchError("--seeds takes two or more seeds, e.g. 0,1,2 (for one seed: --seed)")
    if not method.seeded:
        raise BenchError(f"--seeds repeats a seeded method (a calibrated one, or random); {method.name} does not "
                         "depend on the seed and would score the same each time: run it without --seeds")
    return sorted(seeds)


def aggregate(runs: dict[int, RunResult], slug: str, config: RunConfig) -> RunResult:
    """One result for every seed's run of a task: main score and metrics are the means over the seeds, and it
    keeps each seed's scores and calibration hash and the spread. What the seeds share (model, task, dense
    reference) and the first seed's calibration, compression facts and environment come from the first seed;
    `config` is the aggregate's own (its seeds listed), not a seed's."""
    first = runs[min(runs)]
    shared_metrics = sorted(set.intersection(*(set(run.metrics) for run in runs.values())))
    compress_seconds = [run.efficiency.compress_seconds for run in runs.values()]
    return RunResult.model_validate({
        **dict(first),
        "method": first.method.model_copy(update={"slug": slug}),
        "main_score": statistics.fmean(run.main_score for run in runs.values()),
        "metrics": {name: statistics.fmean(run.metrics[name] for run in runs.values()) for name in shared_metrics},
        "efficiency": Efficiency(  # one seed's cost, as a single-seed result states it
            compress_seconds=None if None in compress_seconds else statistics.fmean(compress_seconds),
            eval_seconds=statistics.fmean(run.efficiency.eval_seconds for run in runs.values())),
        "seed_runs": [SeedRun(seed=seed, main_score=run.main_score, metrics=run.metrics,
                              calibration_hash=run.calibration.data_hash if run.calibration else None)
                      for seed, run in sorted(runs.items())],
        "spread": seed_spread([run.main_score for _, run in sorted(runs.items())]),
        # the seeds share one timing (bench.runner): the cost it states is that of the seed that timed
        "measurements": first.measurements and first.measurements.model_copy(update={
            "seconds": max(run.measurements.seconds for run in runs.values() if run.measurements)}),
        # the seeds' items, merged, and their intervals are the runner's to add (bench.item_results)
        "items": None, "score_interval": None, "retained_interval": None,
        "date": datetime.now(timezone.utc),
        "config": config, "config_hash": config_hash(config),
    })

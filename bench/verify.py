"""`bench verify`: re-create a submitted result from its file alone (model, method and params, calibration,
profile), compare the weights hash, score a seeded sample of its items again and compare them item by
item with the stored ones, and the main score over the sample."""

from __future__ import annotations

import json
import math
import os
import random
import warnings
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from torch import nn

from bench import BenchError
from bench.assets import MODELS, LoadedModel, ModelRef, hub_model, load_model, resolve_model
from bench.hashing import weights_hash
from bench.item_results import items_of
from bench.items import AGGREGATION_COLUMNS, Items, score_of
from bench.methods.base import make_method
from bench.methods.calibration import CalibrationConfig, build_calibration
from bench.methods.embed import CODECS, VectorVariant, parse_embed
from bench.profiles import PROFILES, Profile, activate
from bench.console import redirect_output
from bench.files import make_dirs
from bench.schema import ModelInfo, RunResult, path_part
from bench.validate import Checked, check_path, check_root, printable
from bench.verify_eval import Unverifiable, rescore

# Relative tolerance on numbers (loglikelihoods, word counts, similarities, per-query scores) by the profile's
# dtype: batches hold other items than in the run, so padding moves the last bits. A 0/1 score is compared
# with the same rule, which for it means exactly. Predictions (chosen option, generated text, top documents)
# must be identical.
REL_TOLERANCE = {"float32": 1e-5, "float16": 1e-2, "bfloat16": 1e-2}
ABS_TOLERANCE = 1e-6
MAX_LINES_PER_FILE = 20


@dataclass
class Rebuilt:
    """A model as the result's run compressed it."""

    model: LoadedModel
    weights_hash: str | None
    calibration_hash: str | None


@dataclass
class Verifier:
    sample: int  # items scored again per file
    seed: int  # draws them, and the seed checked of a multi-seed result
    model_dirs: tuple[Path, ...] = ()
    capture: Callable[[], AbstractContextManager] = nullcontext  # where the engines' output goes meanwhile
    _cached: tuple[str, Rebuilt] | None = None  # the last model built: the files of one run share it

    def verify(self, path: Path, result: RunResult) -> list[str]:
        """The lines for one valid result file: differences, then `OK path: ...` or `FAIL path: ...`."""
        shown = printable(path.as_posix())
        if result.items is None:
            return [f"SKIP {shown}: no per-item outputs to score again ({result.task.name})"]
        items = items_of(path, result)
        if items is None:
            raise BenchError(f"{path}: its items file changed since it was validated")
        profile = _profile(result)
        rng = random.Random(self.seed)
        seeds = [run.seed for run in result.seed_runs]
        seed = rng.choice(seeds) if seeds else (result.config.seeds or [result.environment.seed])[0]
        run = seeds.index(seed) if seeds else 0
        ids = [items.ids[i] for i in sorted(rng.sample(range(len(items.ids)), min(self.sample, len(items.ids))))]
        try:
            with self.capture():
                rebuilt = self._rebuild(result, seed, profile)
                differences = self._provenance(result, rebuilt, run)
                fresh, note = _rescore(result, rebuilt.model, profile, ids)
        except Unverifiable as err:
            return [f"{shown}: {printable(str(err))}", f"FAIL {shown}: cannot be scored again"]
        found, agree, max_diff = compare(items, run, fresh, ids, REL_TOLERANCE[profile.dtype])
        differences += found
        weights = _weights_word(result, rebuilt, run)
        what = f"{agree}/{len(ids)} items agree (max |diff| {max_diff:.2g})" + (f", seed {seed}" if seeds else "")
        summary = f"{shown}: {what}, {weights}" + (f"; {note}" if note else "")
        lines = [f"{shown}: {printable(line)}" for line in differences[:MAX_LINES_PER_FILE]]
        if len(differences) > MAX_LINES_PER_FILE:
            lines.append(f"{shown}: and {len(differences) - MAX_LINES_PER_FILE} more differences")
        return lines + [("FAIL " if differences else "OK ") + summary]

    def _rebuild(self, result: RunResult, seed: int, profile: Profile) -> Rebuilt:
        key = json.dumps([result.model.model_dump(mode="json", include={"source", "revision", "kind"}),
                          result.method.name, result.method.params, seed,
                          result.config.calibration and result.config.calibration.model_dump(mode="json"),
                          result.config.profile.model_dump(mode="json")], sort_keys=True)
        if self._cached is None or self._cached[0] != key:
            self._cached = None  # the previous model's memory is freed before the next one loads
            self._cached = key, rebuild(result, seed, profile, self.model_dirs)
        return self._cached[1]

    def _provenance(self, result: RunResult, rebuilt: Rebuilt, run: int) -> list[str]:
        """What the file records of the model and calibration that the rebuilt ones do not match."""
        found = []
        if rebuilt.model.info.revision != result.model.revision:
            found.append(f"model.revision: stored {result.model.revision!r}, got {rebuilt.model.info.revision!r}")
        stored = result.seed_runs[run].calibration_hash if result.seed_runs else \
            (result.calibration.data_hash if result.calibration else None)
        if stored != rebuilt.calibration_hash:
            found.append(f"calibration.data_hash: stored {stored}, got {rebuilt.calibration_hash}")
        if _weights_word(result, rebuilt, run) == "weights differ":
            found.append(f"model.weights_hash: stored {result.model.weights_hash}, got {rebuilt.weights_hash}")
        return found


@contextmanager
def engine_log(path: Path | None) -> Iterator[None]:
    """The engines' output (warnings, progress bars, C code's prints) into the file `path` while entered
    (None: left where it goes)."""
    if path is None:
        yield
        return
    make_dirs(path.parent)
    with open(path, "a", encoding="utf-8", errors="replace") as log, redirect_output(log):
        yield


def _weights_word(result: RunResult, rebuilt: Rebuilt, run: int) -> str:
    if result.seed_runs and run != 0:  # an aggregate records its first seed's weights only
        seeds = result.seed_runs
        return f"weights of seed {seeds[run].seed} not recorded (the file has seed {seeds[0].seed}'s)"
    if result.model.weights_hash is None and rebuilt.weights_hash is None:
        return "no weights"
    return "weights identical" if result.model.weights_hash == rebuilt.weights_hash else "weights differ"


def _profile(result: RunResult) -> Profile:
    """The profile named in the file, with the settings the file records (a GPU one needs a GPU here)."""
    settings = result.config.profile
    profile = PROFILES.get(result.profile).model_copy(update={
        "device": settings.device, "dtype": settings.dtype, "batch_size": settings.batch_size,
        "embed_batch_size": settings.embed_batch_size})
    activate(profile)
    return profile


def model_ref(info: ModelInfo, model_dirs: tuple[Path, ...]) -> ModelRef:
    """What the file's model record names: a packaged default, a hub model at the recorded commit, or a local
    folder (a `local/<folder>` model or a --method none checkpoint) given with --model-dir."""
    if info.source.startswith("local/"):
        given = {f"local/{path_part(Path(d).resolve().name)}": d for d in model_dirs}
        if info.source not in given:
            raise BenchError(f"model {info.source} is a folder of the machine that ran it: give a copy with "
                             f"--model-dir FOLDER (a folder named {info.source.removeprefix('local/')})")
        ref = resolve_model(str(given[info.source]))
    elif info.source.startswith("hub:"):
        ref = hub_model(info.source.removeprefix("hub:"), info.kind, info.revision)
    else:
        ref = next((ref for _, ref in MODELS.items() if ref.source == info.source), None)
        if ref is None:
            raise BenchError(f"model source {info.source!r} is none of bench's defaults ({', '.join(MODELS)}), "
                             "nor hub:org/name or local/<folder>")
    if ref.kind != info.kind:
        raise BenchError(f"model {info.source} is of kind {ref.kind!r}, the file says {info.kind!r}")
    return ref


def rebuild(result: RunResult, seed: int, profile: Profile, model_dirs: tuple[Path, ...]) -> Rebuilt:
    """Load the model and compress it with the file's method, params and calibration (drawn with `seed`)."""
    ref = model_ref(result.model, model_dirs)
    method = make_method(result.method.name, dict(result.method.params), seed)
    try:
        model = load_model(ref, profile.torch_dtype, profile.device)
    except OSError as err:  # a hub model offline, a folder without weights
        raise BenchError(f"cannot load model {ref.name}: {(str(err).splitlines() or [''])[0]}") from None
    calib = None
    if method.needs_calibration:
        settings = result.config.calibration
        if settings is None:
            raise Unverifiable(f"config.calibration: missing, and {method.name} calibrates")
        config = CalibrationConfig(samples=settings.samples, seqlen=settings.seqlen, seed=seed, source=settings.source)
        calib = build_calibration(model, config, profile.batch_size, profile.device)
    method.compress(model, calib)
    hashed = weights_hash(model.module) if isinstance(model.module, nn.Module) else None
    return Rebuilt(model, hashed, calib.record.data_hash if calib else None)


def _rescore(result: RunResult, model: LoadedModel, profile: Profile, ids: list[str]) -> tuple[Items, str]:
    from bench.planning import task_data
    from bench.taskspec import resolve_tasks

    spec = resolve_tasks(None, [result.task.name])[0]
    data = task_data(spec)
    if data.data_hash != result.task.data_hash:
        raise Unverifiable(f"task.data_hash: stored {result.task.data_hash}, the task's data is now {data.data_hash}")
    return rescore(spec, model, data, profile, result.task.limit, ids, _variant(result.config.embed))


def _variant(slug: str | None) -> VectorVariant | None:
    """The --embed variant a slug names (`truncate64`, `int8`, `binary-rescore40`)."""
    if slug is None:
        return None
    base, _, rescore_k = slug.partition("-rescore")
    name = next((n for n, _ in CODECS.items() if base == n or (base.startswith(n) and base[len(n):].isdigit())), "")
    dims = base[len(name):]
    try:
        variant = parse_embed(name + (f":{dims}" if dims else "") + (f"+rescore:{rescore_k}" if rescore_k else ""))[0]
    except BenchError:
        variant = None
    if variant is None or variant.slug != slug:
        raise Unverifiable(f"config.embed: {slug!r} is no --embed variant")
    return variant


def _close(stored: float, fresh: float, rel_tol: float) -> bool:
    if math.isnan(stored) or math.isnan(fresh):
        return math.isnan(stored) and math.isnan(fresh)
    return math.isclose(stored, fresh, rel_tol=rel_tol, abs_tol=ABS_TOLERANCE)


def compare(stored: Items, run: int, fresh: Items, ids: list[str], rel_tol: float) -> tuple[list[str], int, float]:
    """Differences (`items[<id>].<column>: stored X, got Y`, and the main score over the sample), the number
    of items that agree, and the largest absolute difference of a number."""
    if fresh.aggregation != stored.aggregation:
        return [f"items.aggregation: stored {stored.aggregation!r}, got {fresh.aggregation!r}"], 0, math.nan
    at = {item: i for i, item in enumerate(stored.ids)}
    fresh_at = {item: i for i, item in enumerate(fresh.ids)}
    found, agree, max_diff = [], 0, 0.0
    for item in ids:
        if item not in fresh_at:
            found.append(f"items[{item}]: not scored again")
            continue
        i, j = at[item], fresh_at[item]
        differs = []
        for name in AGGREGATION_COLUMNS[stored.aggregation]:
            old, new = stored.runs[run].values[name][i], fresh.runs[0].values[name][j]
            max_diff = max(max_diff, abs(old - new)) if math.isfinite(old - new) else max_diff
            if not _close(old, new, rel_tol):
                differs.append(f"items[{item}].{name}: stored {old!r}, got {new!r}")
        old_p, new_p = stored.runs[run].predictions, fresh.runs[0].predictions
        if old_p is not None and new_p is not None and old_p[i] != new_p[j]:
            differs.append(f"items[{item}].prediction: stored {old_p[i]!r}, got {new_p[j]!r}")
        found += differs
        agree += not differs
    scored = [item for item in ids if item in fresh_at]
    if scored:
        with warnings.catch_warnings():  # a constant similarity column: Spearman warns, both sides are NaN
            warnings.simplefilter("ignore")
            old = score_of(stored, np.array([at[item] for item in scored]), run=run)
            new = score_of(fresh, np.array([fresh_at[item] for item in scored]), run=0)
        if not _close(old, new, rel_tol):
            found.append(f"main_score over the {len(scored)} sampled items: stored {old!r}, got {new!r}")
    return found, agree, max_diff


def valid_results(paths: list[Path], submissions: Path | None) -> tuple[dict[Path, RunResult], list[str]]:
    """The results among `paths` that pass `bench validate` (judged in `submissions`, or four folders up),
    and the finding lines of those that do not, each ending in `INVALID path: not verified`."""
    results, lines = {}, []
    root_checked = check_root(submissions) if submissions is not None else None
    for path in paths:
        checked = _checked_within(path, submissions, root_checked) if root_checked else check_path(path)
        lines += [finding.line(checked.root) for finding in checked.findings]
        results |= {checked.root / rel: result for rel, result in checked.results.items()}
        lines += [f"INVALID {printable((checked.root / rel).as_posix())}: not verified (bench validate rejects it)"
                  for rel in checked.invalid]
    return results, lines


def _checked_within(path: Path, root: Path, checked: Checked) -> Checked:
    if not os.path.lexists(path):
        raise BenchError(f"{path} does not exist")
    rel = Path(os.path.relpath(path, root)).as_posix()
    if rel.startswith("../"):
        raise BenchError(f"{path} is not inside --submissions {root}")
    inside = [name for name in checked.files if rel in (".", name) or name.startswith(rel.rstrip("/") + "/")]
    if not inside and not os.path.isdir(path):
        raise BenchError(f"{path} is not a result file (.json) of --submissions {root}")
    return Checked(checked.root, inside, {k: v for k, v in checked.results.items() if k in inside},
                   [f for f in checked.findings if f.path in inside])

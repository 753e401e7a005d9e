"""Bootstrap confidence intervals over a result's items (scipy.stats.bootstrap, percentile, 95%, fixed seed):
of the main score, and of retained quality paired with the dense parent on the same items."""

from __future__ import annotations

import math
import warnings
from typing import Callable

import numpy as np
from scipy.stats import bootstrap

from bench import BenchError
from bench.items import Items, score_of
from bench.schema import Interval, retained_fraction

LEVEL = 0.95
N_RESAMPLES = 1000  # percentile bounds settle to about a tenth of a point of retained % at this count
SEED = 0
METHOD = "percentile"  # the interval of the score contains the score itself (BCa need not); validate checks it


def item_bootstrap(n_items: int, statistic: Callable[[np.ndarray], float], *, level: float = LEVEL,
                   n_resamples: int = N_RESAMPLES, seed: int = SEED) -> Interval | None:
    """The interval of `statistic(indices)` over item indices resampled with replacement; None with fewer
    than two items, or where a resample has no finite statistic (e.g. a constant similarity column)."""
    if n_items < 2:
        return None
    with warnings.catch_warnings():  # a degenerate resample warns; its NaN is handled below
        warnings.simplefilter("ignore")
        found = bootstrap((np.arange(n_items),), lambda idx: statistic(np.asarray(idx, dtype=np.intp)),
                          vectorized=False, n_resamples=n_resamples, confidence_level=level, method=METHOD,
                          rng=np.random.default_rng(seed))
    low, high = float(found.confidence_interval.low), float(found.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return Interval(low=low, high=high, level=level, method=METHOD, n_resamples=n_resamples, seed=seed)


def score_interval(items: Items) -> Interval | None:
    """The main score's interval over items (a multi-seed aggregate: the items drawn jointly for every seed)."""
    return item_bootstrap(len(items.ids), lambda idx: score_of(items, idx))


def aligned(dense: Items, compressed: Items) -> Items:
    """`dense` reordered to `compressed`'s ids; different item sets are an error, never silently dropped."""
    if set(dense.ids) != set(compressed.ids) or len(dense.ids) != len(compressed.ids):
        missing, extra = set(dense.ids) - set(compressed.ids), set(compressed.ids) - set(dense.ids)
        raise BenchError(f"{compressed.task}: the compressed result scored other items than its dense parent "
                         f"({len(missing)} only in the dense, {len(extra)} only in the compressed)")
    if dense.ids == compressed.ids:
        return dense
    where = {item: i for i, item in enumerate(dense.ids)}
    order = [where[item] for item in compressed.ids]
    runs = [run.model_copy(update={
        "values": {name: [column[i] for i in order] for name, column in run.values.items()},
        "predictions": None if run.predictions is None else [run.predictions[i] for i in order]})
        for run in dense.runs]
    groups = None if dense.groups is None else [dense.groups[i] for i in order]
    return dense.model_copy(update={"ids": list(compressed.ids), "groups": groups, "runs": runs})


def retained_interval(dense: Items, compressed: Items, higher_is_better: bool) -> Interval | None:
    """Paired interval of retained quality (a fraction, as bench.schema.retained_fraction, inverted for
    lower-is-better): each resample draws the same items for the dense and the compressed score."""
    dense = aligned(dense, compressed)

    def retained(idx: np.ndarray) -> float:
        fraction = retained_fraction(score_of(compressed, idx), score_of(dense, idx), higher_is_better)
        return math.nan if fraction is None else fraction

    return item_bootstrap(len(compressed.ids), retained)

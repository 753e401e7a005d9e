"""Benchmark (`make bench`): eight embedding variants on the cached vectors vs one dense evaluation.

Prints wall times side by side in one run: mteb's own dense evaluation (the encoder encodes corpus
and queries), the float vectors plus eight `--embed` variants sharing one encoding (what `bench run
--embed` does), and the same eight variants each encoding afresh. Target: the shared run costs at
most 1.3x the dense evaluation.
"""

from __future__ import annotations

import time

import click
import torch

from bench.assets import MODELS, cache_dir, load_model
from bench.backends import evaluate
from bench.backends.embed_search import evaluate_variants
from bench.methods.embed import parse_embed
from bench.profiles import PROFILES, activate
from bench.recipes import build
from bench.taskspec import TASKS

VARIANTS = "truncate:64,truncate:128,int8,binary,binary+rescore:40,pca:64,pq:16,rp:64"


@click.command()
@click.option("--task", default="wiki_retrieval", show_default=True)
@click.option("--embed", default=VARIANTS, show_default=True)
def main(task: str, embed: str) -> None:
    profile = PROFILES.get("cpu-2c")
    activate(profile)
    spec = TASKS.get(task)
    data = build(spec.name, spec.recipe, spec.recipe_args, cache_dir())
    model = load_model(MODELS.get("minilm-l6"), torch.float32, "cpu")
    variants = parse_embed(embed)

    def timed(work) -> float:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started

    dense = timed(lambda: evaluate(spec, model, data, profile, None))
    shared = timed(lambda: evaluate_variants(spec, model.module, data, profile, None, [None, *variants]))
    afresh = sum(timed(lambda v=v: evaluate_variants(spec, model.module, data, profile, None, [v])) for v in variants)
    click.echo(f"{task}, minilm-l6, {len(variants)} variants: {embed}")
    for label, seconds in (("mteb dense evaluation (encodes itself)", dense),
                           (f"float + {len(variants)} variants, one encoding", shared),
                           (f"{len(variants)} variants, each encoding afresh", afresh)):
        click.echo(f"{label:44} {seconds:7.1f} s  {seconds / dense:5.2f}x dense")


if __name__ == "__main__":
    main()

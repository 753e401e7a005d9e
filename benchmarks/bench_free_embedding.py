"""Benchmark (`make bench`): one optimisation step of LIMIT's free-embedding search, autograd vs the
hand-written, blocked gradient of `bench.backends.limit.loss_and_gradients`.

At d = 16 the search reaches n near 400 documents, C(n, 2) near 80,000 queries: every step scores
all of them against all documents. This prints, side by side in one run (interleaved repeats), the
time of a step (loss, gradients, and the solved check the search makes) taken by autograd over the
full score matrix and by the hand-written gradient over cache-sized blocks of queries, on the same
random vectors, and the largest difference between the two gradients.
"""

from __future__ import annotations

import time

import click
import torch

from bench.backends.limit import CONSTRAINTS, loss_and_gradients, solved_queries, top_k_sets


def autograd_step(queries: torch.Tensor, docs: torch.Tensor, sets: torch.Tensor,
                  temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    queries, docs = queries.clone().requires_grad_(), docs.clone().requires_grad_()
    unit = torch.nn.functional.normalize
    scores = unit(queries, dim=1) @ unit(docs, dim=1).T
    loss = -torch.log_softmax(scores / temperature, dim=1).gather(1, sets).mean()
    loss.backward()
    solved_queries(scores.detach(), sets)
    return queries.grad, docs.grad


@click.command()
@click.option("--docs", default=420, show_default=True, type=click.IntRange(min=3),
              help="n; the queries are all C(n, 2) pairs")
@click.option("--dims", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--repeats", default=5, show_default=True, type=click.IntRange(min=1))
def main(docs: int, dims: int, repeats: int) -> None:
    generator = torch.Generator().manual_seed(0)
    sets = top_k_sets(docs)
    queries, vectors = torch.randn(len(sets), dims, generator=generator), torch.randn(docs, dims, generator=generator)
    steps = {
        "autograd, full matrix": lambda: autograd_step(queries, vectors, sets, 0.05),
        "hand-written, blocked": lambda: loss_and_gradients(queries, vectors, sets, CONSTRAINTS.get("float"), 0.05,
                                                            check=True)[1:3],
    }
    grads = {label: step() for label, step in steps.items()}  # also warms up
    seconds: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(repeats):  # interleaved, so a busy moment on the machine hits both alike
        for label, step in steps.items():
            started = time.perf_counter()
            step()
            seconds[label].append(time.perf_counter() - started)
    reference = min(seconds["autograd, full matrix"])
    difference = max((a - b).abs().max().item() for a, b in zip(*grads.values()))
    click.echo(f"{len(sets)} queries x {docs} documents, {dims} dims; best of {repeats}, interleaved; "
               f"largest gradient difference {difference:.1e}")
    for label, times in seconds.items():
        click.echo(f"{label:24} {min(times):6.3f} s/step  {min(times) / reference:.2f}x")


if __name__ == "__main__":
    main()

"""Thin Click CLI over the library: run, ls, validate, submit, report, site build."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from bench import BenchError
from bench.cli_sweep import include_path_option, load_includes, sweep
from bench.interrupts import term_as_interrupt
from bench.profile_cli import profile
from bench.site.cli import site


class BenchGroup(click.Group):
    """Bad input (unknown names, bad params) exits 2 with one line, never a traceback; Ctrl-C or SIGTERM
    (bench.interrupts) exits 130."""

    def invoke(self, ctx: click.Context):
        restore_term = term_as_interrupt()
        try:
            return super().invoke(ctx)
        except BenchError as err:
            click.echo(f"Error: {err}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("Interrupted (finished results are kept: run the same command again to resume)", err=True)
            ctx.exit(130)
        finally:
            restore_term()


@click.group(cls=BenchGroup)
@click.version_option(package_name="bench")
def cli() -> None:
    """Benchmark compressed LLMs and embedding models against their dense parents."""


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@cli.command()
@click.option("--method", default="wanda", show_default=True,
              help="Compression method (`bench ls methods`); a comma-separated list runs each.")
@click.option("--sparsity", help="Fraction of weights to prune, in [0, 1) (default 0.5); a comma-separated "
                                  "list (0.1,0.2,...) runs a sweep with the dense parent once.")
@click.option("--pattern", help="N:M semi-structured sparsity, e.g. 2:4 or 4:8; a list adds each to the sweep.")
@click.option("--schedule", help="Per-block sparsity ramp FIRST:LAST, e.g. 0.3:0.7 (instead of --sparsity).")
@click.option("--bits", type=int, help="Weight bits, 2..8 (rtn, gptq: default 4; sparsegpt: quantize after pruning).")
@click.option("--group-size", type=int, help="Inputs per quantization scale (default 128; 0: one per row).")
@click.option("--symmetric", is_flag=True, default=None, help="Symmetric quantization grid (default asymmetric).")
@click.option("--damp", type=float, help="gptq, sparsegpt: dampening, the fraction of the mean Hessian diagonal "
                                         "added to its diagonal, in (0, 1] (default 0.01).")
@click.option("--act-order/--no-act-order", default=None,
              help="gptq: process columns in order of decreasing Hessian diagonal (default: the profile's; "
                   "on for cpu-2c).")
@click.option("--static-groups", is_flag=True, default=None,
              help="gptq with --act-order: group grids fitted up front on each group's own columns.")
@click.option("--keep", type=float, help="lowrank: the most the factors may store, as a fraction of each dense "
                                         "weight's numbers, in (0, 1] (default 0.5); the rank follows from it.")
@click.option("--rank-ratio", type=float, help="lowrank, instead of --keep: kept rank as a fraction of min(rows, cols).")
@click.option("--model", help="A default (`bench ls models`), a local checkpoint dir or a hub id. "
                              "Default: the default model of each kind the tasks need.")
@click.option("--parent", help="With --method none: the dense model the --model checkpoint was compressed from.")
@click.option("--label", help="With --method none: the name the checkpoint's results are listed under.")
@click.option("--embed", help="Embedding variants for retrieval tasks, comma-separated: truncate:D, int8, binary, "
                             "binary+rescore:K, pca:D, pq:M, rp:D (each text is encoded once).")
@click.option("--suite", help="Suite of tasks (`bench ls suites`); default smoke.")
@click.option("--tasks", help="Comma-separated task names instead of a suite.")
@click.option("--profile", default="cpu-2c", show_default=True, help="Hardware profile (`bench ls profiles`).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("submissions"), show_default=True)
@click.option("--force", is_flag=True, help="Recompute results that already exist.")
@click.option("--force-hardware", is_flag=True, help="Run even where this machine does not match the profile "
                                                     "(`bench profile detect`); the results are marked as forced.")
@click.option("--limit", type=click.IntRange(min=1), help="Score only the first N items per task (quick checks).")
@click.option("--calib-samples", type=int, help="Calibration sequences (default: the profile's).")
@click.option("--calib-seqlen", type=int, help="Tokens per calibration sequence (default: the profile's).")
@click.option("--calib-source", help="Calibration text: news, wiki, pydoc or mix (offline), c4, wikitext2 or a "
                                      "hub dataset org/name[:config] (online). Default: the profile's.")
@click.option("--seed", type=int, help="One run with this seed (calibration windows; random's mask). Default: "
                                      "a calibrated method runs the profile's seeds (0,1,2), anything else seed 0.")
@click.option("--seeds", help="Comma-separated seeds, e.g. 0,1,2: a calibrated method (or random) runs once per "
                              "seed; the result stores each seed's score, their mean and their spread.")
@click.option("--trust-remote-code", is_flag=True, help="Allow a hub model's own code to run (off by default).")
@click.option("--log", "log_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the engines' output goes (default: $BENCH_CACHE/logs/run-<time>.log).")
@click.option("-v", "--verbose", is_flag=True, help="Show the engines' output (warnings, progress bars) live instead.")
@include_path_option
def run(method: str, sparsity: str | None, pattern: str | None, schedule: str | None, bits: int | None,
        group_size: int | None, symmetric: bool | None, damp: float | None, act_order: bool | None,
        static_groups: bool | None, keep: float | None, rank_ratio: float | None, model: str | None,
        parent: str | None, label: str | None, embed: str | None, suite: str | None,
        tasks: str | None, profile: str, out: Path, force: bool, force_hardware: bool, limit: int | None,
        calib_samples: int | None, calib_seqlen: int | None, calib_source: str | None, seed: int | None,
        seeds: str | None, trust_remote_code: bool, log_file: Path | None, verbose: bool,
        include_paths: tuple[str, ...]) -> None:
    """Compress a model, evaluate it and its dense parent, write result files, print a table."""
    from bench.assets import cache_dir
    from bench.console import RunConsole, default_log_path
    from bench.report import format_pairs
    from bench.runner import RunRequest, run_all

    load_includes(include_paths)
    try:
        sweep = [{"sparsity": float(s)} for s in _split(sparsity) or []]
    except ValueError:
        raise BenchError(f"--sparsity takes numbers, comma-separated for a sweep, got {sparsity!r}") from None
    sweep += [{"pattern": p} for p in _split(pattern) or []]
    try:
        seed_list = [int(s) for s in _split(seeds) or []] or None
    except ValueError:
        raise BenchError(f"--seeds takes integers, comma-separated (e.g. 0,1,2), got {seeds!r}") from None
    shared = {"schedule": schedule, "bits": bits, "group_size": group_size, "symmetric": symmetric,
              "keep": keep, "rank_ratio": rank_ratio, "label": label,
              "damp": damp, "act_order": act_order, "static_groups": static_groups}
    requests = [RunRequest(method=name, method_params={**shared, **variant}, model=model, parent=parent,
                           suite=suite, tasks=_split(tasks), profile=profile, out=out, force=force,
                           force_hardware=force_hardware, limit=limit,
                           calib_samples=calib_samples, calib_seqlen=calib_seqlen, calib_source=calib_source,
                           seed=seed, seeds=seed_list, trust_remote_code=trust_remote_code, embed=embed)
                for name in _split(method) or ["wanda"] for variant in sweep or [{}]]
    console = RunConsole(None if verbose else log_file or default_log_path(cache_dir()))
    try:
        pairs = run_all(requests, log=console, capture=console)
    except Exception as err:  # bad input is found before anything runs (not captured): one line as it is
        if not console.captured:
            raise
        if isinstance(err, BenchError):
            raise BenchError(f"{err} (engine output: {console.log_path})") from err
        first_line = (str(err).splitlines() or [""])[0]
        raise click.ClickException(f"{type(err).__name__}: {first_line} "
                                   f"(traceback and engine output: {console.log_path})") from err
    if pairs:
        click.echo(format_pairs(pairs))
    click.echo(f"results: {out.resolve()}  (`bench site build --submissions {out}` renders the leaderboard)")
    if console.captured:
        click.echo(f"engine output: {console.log_path}  (-v shows it live)")


@cli.command("ls")
@click.argument("what", type=click.Choice(["methods", "tasks", "suites", "profiles", "models"]))
@include_path_option
def list_entries(what: str, include_paths: tuple[str, ...]) -> None:
    """List registered methods (weight, then vector), tasks, suites, profiles or default models, with where
    each came from (built-in, a plugin package, an --include-path folder)."""
    from bench.assets import MODELS
    from bench.methods import METHODS
    from bench.methods.embed import CODECS
    from bench.profiles import PROFILES
    from bench.taskspec import SUITES, TASKS

    load_includes(include_paths)
    describe = {
        "methods": lambda: [*((n, (c.__doc__ or "").strip().splitlines()[0], METHODS) for n, c in METHODS.items()),
                            *((n, f"vector method (--embed {n})", CODECS) for n, _ in CODECS.items())],
        "tasks": lambda: ((n, f"[{t.backend}, {t.model_kind}] {t.description}", TASKS) for n, t in TASKS.items()),
        "suites": lambda: ((n, f"{', '.join(s.tasks)}: {s.description}", SUITES) for n, s in SUITES.items()),
        "profiles": lambda: ((n, p.description, PROFILES) for n, p in PROFILES.items()),
        "models": lambda: ((n, f"[{m.kind}] {m.name}", MODELS) for n, m in MODELS.items()),
    }[what]
    for name, text, registry in describe():
        click.echo(f"{name:16} ({registry.origin(name)}) {text}")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check submissions folders (default: submissions/) or single result files as a reviewer would:
    one `file: field: message` line per problem, then `N valid, M invalid`; exit 1 if any is invalid."""
    from bench.validate import check_path

    valid = invalid = 0
    for path in paths or (Path("submissions"),):
        checked = check_path(path)
        for finding in checked.findings:
            click.echo(finding.line(checked.root))
        valid, invalid = valid + len(checked.files) - len(checked.invalid), invalid + len(checked.invalid)
    click.echo(f"{valid} valid, {invalid} invalid")
    if invalid:
        raise SystemExit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--sample", type=click.IntRange(min=1), default=8, show_default=True,
              help="Items scored again per file (all of them when it has fewer).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Draws the items (and, for a multi-seed result, the one seed whose run is checked).")
@click.option("--submissions", type=click.Path(file_okay=False, path_type=Path),
              help="The submissions folder the files are validated in (default: four folders above each file).")
@click.option("--model-dir", "model_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A copy of a local/<folder> model or a --method none checkpoint, matched by folder name "
                   "(repeatable).")
@click.option("--log", "log_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the engines' output goes (default: $BENCH_CACHE/logs/verify-<time>.log).")
@click.option("-v", "--verbose", is_flag=True, help="Show the engines' output live instead.")
def verify(paths: tuple[Path, ...], sample: int, seed: int, submissions: Path | None, model_dirs: tuple[Path, ...],
           log_file: Path | None, verbose: bool) -> None:
    """Re-create each result file (or each result in a folder) from the file alone and score a seeded
    sample of its items again: the model, the method with its params and calibration (a multi-seed result:
    one of its seeds), on the profile the file names. It re-compresses the whole model; only the
    evaluation is sampled. A file `bench validate` rejects is reported, not verified.

    Compared: the weights hash; each sampled item's numbers within a relative tolerance of 1e-5 (float32
    profiles; 1e-2 for float16/bfloat16) or 1e-6 absolute, so a 0/1 score must match exactly; its
    prediction (chosen option, generated text, top documents) exactly; and the main score over the sample.
    One `OK path: ...` line per file that agrees; else `path: what: stored X, got Y` lines and `FAIL path:
    ...`. Exit 1 if anything differs or a file is invalid, 2 for bad input (a missing --model-dir, a GPU
    profile on a machine without one)."""
    from bench.assets import cache_dir
    from bench.verify import Verifier, engine_log, valid_results

    results, lines = valid_results(list(paths), submissions)
    for line in lines:
        click.echo(line)
    log_path = None if verbose else log_file or cache_dir() / "logs" / f"verify-{datetime.now():%Y%m%d-%H%M%S}.log"
    verifier = Verifier(sample=sample, seed=seed, model_dirs=model_dirs, capture=lambda: engine_log(log_path))
    outcomes = {"OK": 0, "FAIL": 0, "SKIP": 0, "INVALID": sum(line.startswith("INVALID ") for line in lines)}
    for path, result in results.items():
        found = verifier.verify(path, result)
        for line in found:
            click.echo(line)
        outcomes[found[-1].split(" ", 1)[0]] += 1
    click.echo(f"{outcomes['OK']} agree, {outcomes['FAIL']} differ, {outcomes['INVALID']} invalid, "
               f"{outcomes['SKIP']} without items" + (f"  (engine output: {log_path})" if log_path else ""))
    if outcomes["FAIL"] or outcomes["INVALID"]:
        raise SystemExit(1)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--submissions", type=click.Path(path_type=Path), default=Path("submissions"), show_default=True)
@click.option("--force", is_flag=True, help="Replace a different file already there for the same result.")
def submit(run_dir: Path, submissions: Path, force: bool) -> None:
    """Copy the results of a run (`bench run --out RUN_DIR`) into a submissions folder, if every one passes
    `bench validate`, then print the pull-request checklist; exit 1 if any file is invalid."""
    from bench.submit import submit as submit_run

    raise SystemExit(submit_run(run_dir, submissions, force, click.echo))


@cli.command()
@click.option("--suite", default="smoke", show_default=True, help="Suite whose tasks form the columns.")
@click.option("--submissions", type=click.Path(path_type=Path), default=Path("submissions"), show_default=True)
def report(suite: str, submissions: Path) -> None:
    """Retained % of every compressed variant on a suite's tasks (kick: with the open - closed gap;
    limit: with the free-embedding critical-n table and the ceilings by protocol)."""
    from bench.report import (FREE_EMBEDDING, ceiling_points, ceiling_view, fitted_curve, format_view, load_table,
                              suite_view)
    from bench.taskspec import SUITES

    tasks = SUITES.get(suite).tasks
    table = load_table(submissions) if submissions.exists() else None
    view = suite_view(table, tasks) if table is not None else None
    click.echo(format_view(view) if view is not None and not view.empty else f"no compressed results for suite {suite!r}")
    ceiling = ceiling_view(table) if table is not None and FREE_EMBEDDING in tasks else None
    if ceiling is not None and not ceiling.empty:
        click.echo(f"\nfree-embedding critical n by dimension d ({fitted_curve(table)}):")
        click.echo(ceiling.to_string(index=False, float_format=lambda v: f"{v:.0f}"))
    points = ceiling_points(table) if table is not None and FREE_EMBEDDING in tasks else None
    if points is not None and not points.empty:  # the paper's protocol and the construction per storage precision
        click.echo("\nLIMIT ceilings by protocol (capped: a cost cap stopped the search, a lower bound):")
        click.echo(points.drop(columns="task").to_string(index=False, float_format=lambda v: f"{v:.1f}"))


cli.add_command(sweep)
cli.add_command(profile)
cli.add_command(site)

"""Calibration sources: offline ones deterministic and disjoint from every task's evaluation text, a mix
drawing from each, hub datasets refused offline, the source named in the slug and the result."""

import hashlib
import os
import random
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from bench import BenchError, backends
from bench.assets import load_model, resolve_model
from bench.backends import TaskOutcome
from bench.cli import cli
from bench.methods import calib_sources
from bench.methods.calibration import CalibrationConfig, build_calibration, calibration_tokens
from bench.recipes import RECIPES
from bench.runner import RunRequest, plan, run
from bench.profiles import PROFILES
from bench.schema import load_result
from bench.seeds import planned_seeds
from bench.taskspec import TASKS

OFFLINE = ("news", "wiki", "pydoc")


@pytest.fixture(scope="module")
def tiny_llama(tiny_llama_dir):
    return load_model(resolve_model(str(tiny_llama_dir)), torch.float32, "cpu")


@pytest.fixture
def online(monkeypatch):
    """The hub switched back on (the test session runs offline); nothing here reaches it."""
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def documents(name: str) -> tuple[str, ...]:
    (part,) = calib_sources.SOURCES.get(name).parts(0, 0)
    return part.documents


def digest(name: str) -> str:
    return hashlib.sha256("\0".join(documents(name)).encode()).hexdigest()


def test_offline_sources_are_the_same_in_a_fresh_process():
    """Another process with another hash seed (set order) selects the same documents."""
    code = ("import hashlib; from bench.methods import calib_sources as c\n"
            f"for n in {OFFLINE!r}:\n"
            "    (p,) = c.SOURCES.get(n).parts(0, 0)\n"
            "    print(hashlib.sha256('\\0'.join(p.documents).encode()).hexdigest())")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"}).stdout.split()
    assert fresh == [digest(name) for name in OFFLINE]


def task_rows(name: str) -> dict[str, list[dict]]:
    spec = TASKS.get(name)
    return RECIPES.get(spec.recipe)(**spec.recipe_args)


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, dict)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from strings(item)


def shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = text.split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_no_offline_source_holds_text_a_task_evaluates_on():
    """No run of 8 words of any task's data (passages, queries, corpora, references, questions) is in
    any calibration document: checked on the words, independently of how the sources pick documents."""
    calibration_runs = {name: set().union(*map(shingles, documents(name))) for name in OFFLINE}
    leaks = [(task, source, text[:80]) for task, spec in TASKS.items() if spec.recipe
             for text in strings(task_rows(task)) for source, runs in calibration_runs.items()
             if not runs.isdisjoint(shingles(text))]
    assert leaks == []


def test_the_wiki_and_pydoc_sources_leave_out_every_article_and_topic_a_task_names():
    """The Wikipedia tasks name their articles (passages and summaries by title, retrieval documents by
    id), pydoc_retrieval its topics: none of those is in the sources, and some remain."""
    from bench import corpora

    named = ({row["title"] for task in ("wiki_ppl", "kick_summarization") for row in task_rows(task)["test"]}
             | {row["id"] for row in task_rows("wiki_retrieval")["corpus"]})
    articles = {title: "\n\n".join(paragraphs) for title, paragraphs in corpora.wiki_articles()}
    assert len(named) > 90 and named <= set(articles)
    kept = set(documents("wiki"))
    assert kept and not kept & {articles[title] for title in named}
    topics = {row["id"] for row in task_rows("pydoc_retrieval")["corpus"]}
    kept_titles = {text.partition("\n")[0].strip() for text in documents("pydoc")}
    assert kept_titles and not kept_titles & topics


@pytest.mark.parametrize("source", [*OFFLINE, "mix"])
def test_each_offline_source_fills_the_cpu_default_without_repeating(tiny_llama, source):
    warned = []
    config = CalibrationConfig(samples=16, seqlen=512, seed=0, source=source)
    calib = build_calibration(tiny_llama, config, 4, "cpu", warn=warned.append)
    assert warned == [] and calib.record.unique_tokens == 16 * 512
    assert calib.record.source.startswith(f"bench:{source} (")
    again = build_calibration(tiny_llama, config, 4, "cpu")
    assert again.record.data_hash == calib.record.data_hash


def window_sources(windows: torch.Tensor, streams: dict[str, torch.Tensor]) -> list[str]:
    """The one source each window is a contiguous run of."""
    found = []
    for window in windows:
        (source,) = [name for name, ids in streams.items()
                     if (ids.unfold(0, len(window), 1) == window).all(dim=1).any()]
        found.append(source)
    return found


def test_mix_draws_an_equal_share_from_every_source_by_seed(tiny_llama):
    streams = {name: calibration_tokens(tiny_llama.tokenizer, documents(name)) for name in OFFLINE}
    drawn = {}
    for seed in (0, 1):
        calib = build_calibration(tiny_llama, CalibrationConfig(7, 64, seed, source="mix"), 4, "cpu")
        drawn[seed] = window_sources(torch.cat(calib.batches), streams)
        assert sorted(drawn[seed].count(name) for name in OFFLINE) == [2, 2, 3]
        assert calib.record.unique_tokens == 7 * 64
    assert drawn[0] != drawn[1]  # the seed orders the windows and picks who takes the seventh
    same = build_calibration(tiny_llama, CalibrationConfig(7, 64, 1, source="mix"), 4, "cpu")
    assert window_sources(torch.cat(same.batches), streams) == drawn[1]


class FakeHub:
    """datasets.load_dataset for a hub dataset of numbered rows, recording what it was asked."""

    def __init__(self, columns=("text",)):
        self.calls = []
        self.columns = columns

    def __call__(self, path, name=None, data_files=None, split=None):
        import datasets

        self.calls.append((path, name, data_files, split))
        rows = [f"Row {i} says something about calibration text. " * 3 for i in range(50)]
        return datasets.Dataset.from_dict({column: rows for column in self.columns})


def test_a_hub_source_reads_a_seeded_run_of_rows(monkeypatch, online):
    import datasets

    fake = FakeHub()
    monkeypatch.setattr(datasets, "load_dataset", fake)
    c4 = calib_sources.check_source("c4")
    (part,) = c4.parts(need_chars=1000, seed=3)
    assert fake.calls == [("allenai/c4", None, {"train": "en/c4-train.00000-of-01024.json.gz"}, "train")]
    numbers = [int(doc.split()[1]) for doc in part.documents]
    assert numbers[0] == random.Random(3).randrange(50)
    assert all((b - a) % 50 == 1 for a, b in zip(numbers, numbers[1:]))  # consecutive, wrapping round
    assert sum(map(len, part.documents[:-1])) < 1000 <= sum(map(len, part.documents))
    assert c4.parts(1000, 5)[0].documents != part.documents  # another start (seeds 3 and 4 share one)

    generic = calib_sources.check_source("someone/corpus:plain")
    generic.parts(100, 0)
    assert fake.calls[-1] == ("someone/corpus", "plain", None, "train")
    assert generic.describe().startswith("hub:someone/corpus (plain, train split")


def test_a_hub_dataset_that_fails_to_load_or_has_no_text_fails_in_one_line(monkeypatch, online):
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", FakeHub(columns=("content",)))
    with pytest.raises(BenchError, match="has no 'text' column or no rows \\(columns: content; 50 rows\\)"):
        calib_sources.check_source("someone/corpus").parts(100, 0)

    def unreachable(*_args, **_kwargs):
        raise ConnectionError("no route to host\nretried 5 times")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(BenchError) as failure:
        calib_sources.check_source("someone/corpus").parts(100, 0)
    assert str(failure.value) == "cannot load calibration dataset 'someone/corpus': ConnectionError: no route to host"


@pytest.mark.parametrize("args,expected", [
    (["--calib-source", "c4"], "calibration source 'c4' is a hub dataset and needs the network"),
    (["--calib-source", "allenai/c4"], "calibration source 'allenai/c4' is a hub dataset and needs the network"),
    (["--profile", "a100-80g"], "calibration source 'c4' is a hub dataset"),  # the GPU profiles' default
    (["--calib-source", "wkii"], "unknown calibration source 'wkii' (did you mean 'wiki'"),
    (["--calib-source", "wikitext"], "(did you mean 'wikitext2'"),
    (["--calib-source", "a/b/c"], "neither a known source nor a hub dataset id"),
])
def test_bad_or_unreachable_sources_exit_2_with_one_line(args, expected):
    result = CliRunner().invoke(cli, ["run", "--method", "wanda", *args])
    assert result.exit_code == 2 and expected in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.mark.parametrize("request_args,slug", [
    ({}, "wanda-sp0.5"),  # the profile's default: unchanged
    ({"calib_source": "news"}, "wanda-sp0.5"),
    ({"calib_source": "wiki"}, "wanda-sp0.5-calib-wiki"),
    ({"calib_samples": 16, "calib_seqlen": 512}, "wanda-sp0.5"),  # the profile's size, asked for: the same result
    ({"calib_samples": 32, "calib_seqlen": 512}, "wanda-sp0.5-calib32x512-seeds0-1-2"),
    ({"seed": 0}, "wanda-sp0.5-calib16x512-seed0"),  # one seed: not the profile's three
    ({"seeds": [2, 1, 0]}, "wanda-sp0.5"),  # the profile's seeds, asked for: the same result
    ({"calib_source": "mix", "calib_samples": 16, "calib_seqlen": 512}, "wanda-sp0.5-calib-mix"),
    ({"calib_source": "mix", "calib_samples": 16, "calib_seqlen": 256}, "wanda-sp0.5-calib-mix-16x256-seeds0-1-2"),
    ({"calib_source": "allenai/c4"}, "wanda-sp0.5-calib-allenai-c4"),
    ({"profile": "a100-80g"}, "wanda-sp0.5"),  # c4 is its default
    ({"profile": "a100-80g", "calib_source": "news"}, "wanda-sp0.5-calib-news"),
    ({"method": "magnitude", "calib_source": "wiki"}, "magnitude-sp0.5"),  # no calibration to name
    ({"method": "sparsegpt"}, "sparsegpt-sp0.5"),  # cpu-2c gives SparseGPT 128 windows
    ({"method": "sparsegpt", "calib_samples": 128, "calib_seqlen": 512}, "sparsegpt-sp0.5"),
    ({"method": "sparsegpt", "calib_samples": 16}, "sparsegpt-sp0.5-calib16x512-seeds0-1-2"),
    ({"method": "sparsegpt", "seed": 1}, "sparsegpt-sp0.5-calib128x512-seed1"),
])
def test_the_slug_names_a_source_that_is_not_the_profiles_default(online, request_args, slug):
    assert plan(RunRequest(**{"method": "wanda", **request_args})).method.slug() == slug


def test_a_profile_gives_a_method_its_own_calibration_size(online):
    _method, calibration, _seeds = planned_seeds(RunRequest(method="sparsegpt"), PROFILES.get("cpu-2c"))
    assert (calibration.samples, calibration.seqlen) == (128, 512)
    _method, calibration, _seeds = planned_seeds(RunRequest(method="wanda"), PROFILES.get("cpu-2c"))
    assert (calibration.samples, calibration.seqlen) == (16, 512)


def test_the_result_records_the_source(tiny_llama_dir, tmp_path, monkeypatch):
    """End to end through the runner (the engine stubbed: only the records matter here)."""
    monkeypatch.setattr(backends, "evaluate", lambda spec, *_args: TaskOutcome(
        metrics={m: 0.5 for m in spec.metrics}, n_items=1, engine_version="stub"))
    request = RunRequest(method="wanda", model=str(tiny_llama_dir), tasks=["capitals_mc"], out=tmp_path,
                         calib_source="pydoc", calib_samples=2, calib_seqlen=32, seed=1)
    (pair,) = run(request, log=lambda _line: None)
    assert pair.compressed.method.slug == "wanda-sp0.5-calib-pydoc-2x32-seed1"
    (path,) = tmp_path.glob("*/wanda-sp0.5-calib-pydoc-2x32-seed1/cpu-2c/capitals_mc.json")
    record = load_result(path).calibration
    assert record.source == calib_sources.SOURCES.get("pydoc").describe()
    assert record.source.startswith("bench:pydoc (Python's pydoc_data help topics, ")
    assert (record.samples, record.seqlen, record.seed, record.unique_tokens) == (2, 32, 1, 64)

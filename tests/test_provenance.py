"""Schema v2 provenance: the config hash (resume and validate), v1 files, stale files, the data hash of what an
engine evaluates, the weights hash, the resolved hub revision, typed params and hardware, no machine paths."""

from __future__ import annotations

import dataclasses
import json
import re
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from pydantic import ValidationError
from torch import nn

from bench.cli import cli
from bench.hashing import documents_hash, weights_hash
from bench.methods import calib_sources
from bench.resume import finished, run_config
from bench.run_config import config_hash
from bench.runner import RunRequest, plan, task_data
from bench.schema import RunResult, save_result
from bench.taskspec import TASKS, TaskSpec
from submissions import DENSE_PATH, WANDA_PATH, dense_data, sync_config, wanda_data, write, write_items_beside, write_pair


def validate(*paths) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli, ["validate", *map(str, paths)])
    return outcome.exit_code, outcome.output


# --- resume: the config hash decides ---------------------------------------------------------------

@pytest.fixture
def wanda_request(tiny_llama_dir, tmp_path):
    return RunRequest(method="wanda", method_params={"sparsity": 0.5}, model=str(tiny_llama_dir), tasks=["wiki_ppl"],
                      out=tmp_path, limit=2, calib_samples=2, calib_seqlen=32, seed=0)


def config_of(request: RunRequest, spec: TaskSpec | None = None):
    p = plan(request)
    ref, (planned,) = p.groups[0]
    spec = spec or planned
    return run_config(spec, task_data(spec).data_hash, request.limit, ref, p.method, p.calibration, [], None, p.profile)


def written(request: RunRequest, config) -> RunResult:
    """A result file as the run would write it with `config`, at the path the run would look at."""
    result = RunResult.model_validate({**wanda_data(), "config": config.model_dump(mode="json"),
                                       "config_hash": config_hash(config)})
    path = request.out / "local__tiny-llama0" / plan(request).method.slug() / "cpu-2c" / "wiki_ppl.json"
    save_result(result, path)
    write_items_beside(path, result.model_dump(mode="json"))
    return path


def test_resume_reuses_a_result_only_while_its_config_hash_is_unchanged(wanda_request, monkeypatch):
    config = config_of(wanda_request)
    path = written(wanda_request, config)
    assert finished(path, config_of(wanda_request)) is not None  # unchanged: skipped

    close = dataclasses.replace(wanda_request, method_params={"sparsity": 0.5000001})  # the slug rounds it alike
    assert finished(path, config_of(close)) is None

    spec = TASKS.get("wiki_ppl")
    reprompted = spec.model_copy(update={"engine": {**spec.engine, "doc_to_target": "{{text}} "}})
    assert finished(path, config_of(wanda_request, reprompted)) is None

    # The same source name, other text (what the old field-by-field comparison missed).
    other_text = calib_sources.OfflineSource("news", "edited", "documents", lambda: ("another text " * 200,))
    calib_sources.text_hash.cache_clear()
    monkeypatch.setattr(calib_sources, "check_source", lambda name, will_load=True: other_text)
    try:
        assert finished(path, config_of(wanda_request)) is None
    finally:
        calib_sources.text_hash.cache_clear()


def test_a_v1_file_is_named_by_validate_skipped_by_the_site_and_rerun_by_resume(wanda_request, tmp_path):
    write_pair(tmp_path / "subs")
    old = {**wanda_data(), "schema_version": 1}
    write(tmp_path / "subs", WANDA_PATH, old)
    code, output = validate(tmp_path / "subs")
    assert code == 1 and re.search(rf"{re.escape(WANDA_PATH)}: schema v1 result \(bench before .*\): re-run it with "
                                   r"`bench run --model org/model --method wanda --tasks wiki_ppl --profile cpu-2c "
                                   r"--force`", output), output
    site = CliRunner().invoke(cli, ["site", "build", "--submissions", str(tmp_path / "subs"),
                                    "--out", str(tmp_path / "site")])
    assert site.exit_code == 0 and re.search(rf"^skipped .*{re.escape(WANDA_PATH)}: schema v1", site.output, re.M)

    config = config_of(wanda_request)
    path = written(wanda_request, config)
    path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 1}))
    assert finished(path, config) is None


# --- validate: the record, staleness, paths -----------------------------------------------------------

def test_validate_recomputes_the_config_hash_and_checks_the_record_describes_the_file(tmp_path):
    data = wanda_data()
    data["config"]["calibration"]["samples"] = 128  # the record edited, its hash left
    write_pair(tmp_path, data)
    assert re.search(r"wiki_ppl.json: config_hash: is not the sha256 of the stored config", validate(tmp_path)[1])

    data = wanda_data()
    data["method"]["params"]["sparsity"] = 0.7
    data["method"]["slug"] = "wanda-sp0.7"
    write(tmp_path, "org__model/wanda-sp0.7/cpu-2c/wiki_ppl.json", data)  # hash intact, record of another run
    assert "wanda-sp0.7/cpu-2c/wiki_ppl.json: config.method.params: are not the result's" in validate(tmp_path)[1]


def test_validate_tells_a_result_of_an_older_task_version_or_data_with_the_command_to_rerun(tmp_path):
    data = wanda_data()
    data["task"]["data_hash"] = "ef" * 32
    write_pair(tmp_path, sync_config(data))
    code, output = validate(tmp_path)
    assert code == 1 and f"{WANDA_PATH}: task.data_hash: stale: scored on data efefefefefef" in output
    assert "re-run it with `bench run --model org/model --method wanda --tasks wiki_ppl --profile cpu-2c" in output
    data = dense_data()
    data["task"]["version"] -= 1
    write(tmp_path, DENSE_PATH, sync_config(data))
    assert f"{DENSE_PATH}: task.version: stale: scored on version " in validate(tmp_path)[1]


@pytest.mark.parametrize(("field", "value"), [
    (("model", "source"), "/home/me/checkpoints/m"),
    (("model", "notes"), "pre-compressed checkpoint C:\\models\\m"),
    (("calibration", "source"), "bench:news (~/corpus.txt)"),
    (("dense_reference", "path"), "org__model/../model/dense/cpu-2c/wiki_ppl.json"),
])
def test_validate_rejects_a_machine_path_in_any_field(tmp_path, field, value):
    data = wanda_data()
    data[field[0]][field[1]] = value
    write_pair(tmp_path, sync_config(data))
    code, output = validate(tmp_path)
    assert code == 1 and f"{WANDA_PATH}: {'.'.join(field)}: holds an absolute path or a '..'" in output, output


def test_params_are_json_scalars_and_hardware_is_typed():
    with pytest.raises(ValidationError, match="method.params.sparsity"):
        RunResult.model_validate_json(json.dumps({**wanda_data(), "method": {
            "name": "wanda", "params": {"sparsity": {"value": 0.5}}, "slug": "wanda-sp0.5"}}), strict=True)
    data = wanda_data()
    data["hardware"]["gpu_count"] = 1
    with pytest.raises(ValidationError, match="hardware.gpu_count"):
        RunResult.model_validate_json(json.dumps(data), strict=True)


# --- what the hashes cover ---------------------------------------------------------------------------

class Tied(nn.Module):
    def __init__(self, tie: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(4, 3)
        if tie:
            self.head = self.embed  # the same tensor under a second name


def test_the_weights_hash_counts_a_tied_weight_once_and_sees_one_changed_number():
    assert weights_hash(Tied(tie=True)) == weights_hash(Tied(tie=False))
    changed = Tied(tie=False)
    with torch.no_grad():
        changed.embed.weight[0, 0] += 1e-3
    assert weights_hash(changed) != weights_hash(Tied(tie=False))
    assert weights_hash(Tied(tie=False).half()) != weights_hash(Tied(tie=False))  # hashed as evaluated


def test_upstream_data_hash_is_the_hash_of_the_documents_the_engine_loads(tmp_path):
    """Offline no engine task loads, so bench's own tasks stand in: lm-eval builds one from a config dict,
    mteb loads one as a task object, the same way they load their own."""
    from bench.backends.lm_eval import documents_hash as lm_eval_hash, task_config
    from bench.backends.mteb import evaluated_documents, retrieval_task
    from bench.recipes import TaskData

    spec = TASKS.get("capitals_mc")
    data = task_data(spec)
    rows = data.rows("test")
    expected = documents_hash({f"bench_{spec.name}": rows})
    assert lm_eval_hash(task_config(spec, data)) == expected
    moved = tmp_path / "test.jsonl"  # the same documents elsewhere: the same hash; one changed: another
    moved.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert lm_eval_hash(task_config(spec, TaskData({"test": moved}, "x"))) == expected
    moved.write_text("".join(json.dumps({**row, "country": row["country"] + "?"} if i == 3 else row) + "\n"
                             for i, row in enumerate(rows)))
    assert lm_eval_hash(task_config(spec, TaskData({"test": moved}, "x"))) != expected

    spec = TASKS.get("wiki_retrieval")
    data = task_data(spec)
    documents = evaluated_documents(retrieval_task(spec, data, None)[0])
    assert set(documents) == {"default/test/queries", "default/test/corpus", "default/test/relevant_docs"}
    edited = {**documents, "default/test/corpus": [{**doc, "text": doc["text"] + "!"} if i == 0 else doc
                                                   for i, doc in enumerate(documents["default/test/corpus"])]}
    assert documents_hash(documents) != documents_hash(edited)


def test_a_hub_model_is_pinned_to_the_commit_the_hub_resolves_and_a_local_one_names_no_path(monkeypatch,
                                                                                           tiny_llama_dir):
    import huggingface_hub

    from bench.assets import resolve_model

    sha = "0123456789abcdef" * 2 + "01234567"
    monkeypatch.setattr(huggingface_hub, "model_info", lambda repo_id: SimpleNamespace(
        sha=sha, siblings=[SimpleNamespace(rfilename="config.json"), SimpleNamespace(rfilename="modules.json")]))
    ref = resolve_model("org/encoder")
    assert (ref.kind, ref.revision, ref.source) == ("encoder", sha, "hub:org/encoder")
    local = resolve_model(str(tiny_llama_dir))
    assert local.source == local.name == "local/tiny-llama0" and local.revision is None
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct-Q4_1").name == resolve_model("smollm2-135m").name

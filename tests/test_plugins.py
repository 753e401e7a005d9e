"""Methods and tasks from outside the package: the README's plugin, installed as a .dist-info on the path (what
pip writes, and what importlib.metadata reads), run end to end; origins in `bench ls`; clashes; --include-path."""

import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bench import plugins, taskspec
from bench.methods import METHODS
from bench.methods.embed import CODECS
from bench.schema import load_result
from bench.taskspec import SUITES, TASKS
from tests.test_sweep import invoke

README = (Path(__file__).parent.parent / "README.md").read_text()
TASK_YAML = """
name: theirs_capitals
description: Capitals, 3 choices.
backend: lm_eval
model_kind: causal-lm
version: 1
recipe: capitals_choice
recipe_args: {n_choices: 3, seed: 7}
max_length: 512
main_metric: acc
higher_is_better: true
metrics: [acc]
engine:
  output_type: multiple_choice
  doc_to_text: "The capital of {{country}} is"
  doc_to_choice: choices
  doc_to_target: label
  target_delimiter: " "
  metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]
"""


def readme_block(language: str, after: str) -> str:
    section = README[README.index(after):]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


def install(site: Path, package: str, code: str, entry_points: dict[str, dict[str, str]]) -> None:
    """A package and its .dist-info (METADATA, entry_points.txt) in `site`, as pip would install it."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(code)
    info = site / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items()) + "\n"
        for group, entries in entry_points.items()))


@pytest.fixture
def fresh_plugins(tmp_path, monkeypatch):
    """Registries as before any plugin loaded (restored after), and a site folder on the path."""
    saved = [(r, dict(r._entries), dict(r._origins), r.loader) for r in (METHODS, CODECS, TASKS, SUITES)]
    METHODS.loader = CODECS.loader = plugins.load_method_plugins
    TASKS.loader = SUITES.loader = plugins.load_task_plugins
    monkeypatch.setattr(plugins, "_loaded", set())
    monkeypatch.setattr(taskspec, "_included", set())
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    yield site
    for registry, entries, origins, loader in saved:
        registry._entries, registry._origins, registry.loader = entries, origins, loader
    for name in ("theirs", "clashing"):
        sys.modules.pop(name, None)


def test_the_readme_plugin_runs_end_to_end(fresh_plugins, tiny_llama_dir, tmp_path):
    code = readme_block("python", "## Add your own method")
    assert len([line for line in code.splitlines() if line.strip()]) < 30
    entry_points = tomllib.loads(readme_block("toml", "## Add your own method"))["project"]["entry-points"]
    install(fresh_plugins, "theirs", code, entry_points)
    (fresh_plugins / "theirs" / "tasks").mkdir()
    (fresh_plugins / "theirs" / "tasks" / "theirs_capitals.yaml").write_text(TASK_YAML)
    assert "theirs" not in sys.modules  # nothing of theirs is imported until a name is looked up

    listed = invoke("ls", "methods").output
    assert re.search(r"^row-magnitude +\(plugin theirs\) Magnitude pruning within each output row", listed, re.M)
    assert re.search(r"^wanda +\(built-in\)", listed, re.M)
    assert re.search(r"^theirs_capitals +\(plugin theirs\)", invoke("ls", "tasks").output, re.M)

    out = tmp_path / "out"
    result = invoke("run", "--method", "row-magnitude", "--sparsity", "0.5", "--model", tiny_llama_dir,
                    "--tasks", "theirs_capitals", "--limit", "3", "--out", out)
    assert result.exit_code == 0, result.output
    compressed = load_result(out / "local__tiny-llama0/row-magnitude-sp0.5/cpu-2c/theirs_capitals.json")
    assert compressed.method.name == "row-magnitude" and compressed.task.n_items == 3
    assert compressed.compression.sparsity == pytest.approx(0.5, abs=1e-3)
    assert compressed.dense_reference is not None


def test_a_plugin_name_clash_names_both_origins(fresh_plugins):
    install(fresh_plugins, "clashing", "from bench.methods.base import Method\n\n"
            "class Wanda(Method):\n    name = 'wanda'\n", {"bench.methods": {"wanda": "clashing:Wanda"}})
    result = invoke("ls", "methods")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "method 'wanda' from plugin clashing is already registered (from built-in)" in result.output


def test_a_plugin_that_fails_to_import_is_one_line(fresh_plugins):
    install(fresh_plugins, "clashing", "import nowhere_to_be_found\n", {"bench.methods": {"x": "clashing:X"}})
    result = invoke("ls", "methods")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "bench.methods entry point 'x' (plugin clashing, clashing:X) failed to load: ModuleNotFoundError" \
        in result.output


def test_include_path_adds_tasks_for_ls_run_and_sweep(fresh_plugins, tmp_path):
    def folder_with(name: str, task: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{task}.yaml").write_text(TASK_YAML.replace("theirs_capitals", task))
        return folder

    listed = invoke("ls", "tasks", "--include-path", folder_with("for_ls", "ls_task")).output
    assert re.search(rf"^ls_task +\(include path {re.escape(str(tmp_path / 'for_ls'))}\)", listed, re.M)
    assert invoke("run", "--include-path", folder_with("for_run", "run_task"), "--method", "nope").exit_code == 2
    assert TASKS.origin("run_task") == f"include path {tmp_path / 'for_run'}"  # loaded before the method failed
    grid = tmp_path / "grid.yaml"
    grid.write_text("matrix: {method: magnitude, tasks: sweep_task}\n")
    dry = invoke("sweep", grid, "--dry-run", "--include-path", folder_with("for_sweep", "sweep_task"),
                 "--out", tmp_path / "out")
    assert dry.exit_code == 0 and "--tasks sweep_task" in dry.output

    clash = invoke("ls", "tasks", "--include-path", folder_with("clashing", "wiki_ppl"))
    assert clash.exit_code == 2 and f"task 'wiki_ppl' from include path {tmp_path / 'clashing'} is already " \
                                    "registered (from built-in)" in clash.output


def test_a_vector_method_from_a_plugin(fresh_plugins):
    install(fresh_plugins, "theirs", "from dataclasses import dataclass\n\nimport numpy as np\n\n"
            "from bench.methods.embed.codecs import Codec\n\n\n@dataclass\nclass Half(Codec):\n    dims: int = 0\n\n"
            "    def transform(self, x):\n        return x[:, :self.dims].astype(np.float16)\n",
            {"bench.methods": {"half": "theirs:Half"}})
    from bench.methods.embed import parse_embed

    (variant,) = parse_embed("half:8")
    codec = variant.build()
    assert variant.slug == "half8" and codec.name == "half" and codec.dims == 8
    assert codec.transform(np.ones((2, 16), dtype=np.float32)).shape == (2, 8)
    assert re.search(r"^half +\(plugin theirs\) vector method \(--embed half\)", invoke("ls", "methods").output, re.M)

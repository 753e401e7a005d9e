"""The repository's layout: data folders at the top level, still found from a built wheel; the tests'
own cache."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from bench.assets import cache_dir

ROOT = Path(__file__).resolve().parent.parent


def test_the_suite_writes_into_its_own_temporary_cache():
    assert cache_dir() == Path(os.environ["BENCH_CACHE"])
    assert not cache_dir().is_relative_to(Path.home())


def test_a_plain_install_finds_the_task_specs_profiles_and_site_templates(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(tmp_path / "wheel"), str(ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("bench-*.whl")
    installed = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(installed)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"bench/_data/tasks/suites.yaml", "bench/_data/profiles/cpu-2c.yaml",
            "bench/_data/site/templates/index.html.j2",
            "bench/_data/site/static/table.js", "bench/_data/site/static/site.css", "bench/_data/site/static/charts.js",
            *(f"bench/_data/site/static/vendor/{name}" for name in ("vega.min.js", "vega-lite.min.js",
                                                                    "vega-embed.min.js", "LICENSE-vega", "README.md"))
            } <= names
    assert not any(name.startswith(("tasks/", "profiles/", "site/", "benchmarks/", "tests/")) for name in names)
    probe = ("import bench.taskspec as t, bench.site.build as b; from bench.resources import resource_dir; "
             "print(t.TASKS_DIR); print(resource_dir('site')); print(len(list(t.TASKS))); "
             "import bench.profiles as p; print(p.PROFILES_DIR); print(len(list(p.PROFILES)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(installed)}).stdout.split()
    assert out[0] == str(installed / "bench" / "_data" / "tasks")
    assert out[1] == str(installed / "bench" / "_data" / "site")
    assert int(out[2]) == len(list((ROOT / "tasks").glob("[!_]*.yaml"))) - 1  # suites.yaml holds suites
    assert out[3] == str(installed / "bench" / "_data" / "profiles")
    assert int(out[4]) == len(list((ROOT / "profiles").glob("*.yaml")))

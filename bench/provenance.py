"""Where a result came from: package versions and the git commit of the code that produced it."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path

from bench.schema import Environment

PACKAGES = ["bench", "torch", "transformers", "sentence-transformers", "lm_eval", "mteb", "datasets"]


def environment(seed: int) -> Environment:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return Environment(python=platform.python_version(), packages=versions, git_hash=_git_hash(), seed=seed)


def _git_hash() -> str | None:
    repo = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")

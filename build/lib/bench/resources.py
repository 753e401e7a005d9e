"""Where the data folders beside the package are: `tasks/` (task specs) and `site/` (templates, assets).

In a source checkout (and an editable install) they sit at the repository's top level; a built wheel
carries them inside the package as `bench/_data/<name>` (see pyproject.toml's package-dir).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    installed = _PACKAGE / "_data" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name

"""Files bench writes: atomically (temp file + rename, so a reader never sees half a file) and readable by
others (0644 files, 0755 folders, whatever the umask), like any build output."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FILE_MODE, DIR_MODE = 0o644, 0o755  # readable by others, like any build output (a web server, a colleague)


def make_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents as 0755, whatever the umask."""
    missing = [p for p in [Path(folder), *Path(folder).parents] if not p.exists()]
    Path(folder).mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, DIR_MODE)


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temp file in the same directory, then rename: readers never see half a file. The
    file is 0644 (mkstemp makes 0600, which a deployed site or a shared results folder cannot serve)."""
    path = Path(path)
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), FILE_MODE)
        os.replace(tmp, path)
    except BaseException:  # an interrupt may land after the rename, when there is no temp file left
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")

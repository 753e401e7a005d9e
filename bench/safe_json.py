"""Read a submitted JSON file as hostile input: a regular file only (no symlink, FIFO, device or folder,
checked with lstat and opened without following links or blocking), a size cap checked before reading,
UTF-8, no duplicate keys and no NaN or Infinity. Every problem is an UnsafeFile, never a hang."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_RESULT_BYTES = 1024 * 1024  # a result file is a few KiB; 1 MiB leaves room and bounds the work


class UnsafeFile(ValueError):
    """A file that cannot be read as a JSON object: the message says why, in one line."""


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    kinds = [(stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), None if stat.S_ISREG(mode) else "not a regular file")


def read_capped_text(path: Path | str, max_bytes: int = MAX_RESULT_BYTES) -> str:
    """The file's text, if it is a regular file of at most `max_bytes` bytes of UTF-8."""
    try:
        info = os.lstat(path)
    except OSError as err:
        raise UnsafeFile(f"cannot stat: {err.strerror}") from None
    kind = _kind(info.st_mode)
    if kind:
        raise UnsafeFile(f"is {kind}, not a regular file")
    if info.st_size > max_bytes:
        raise UnsafeFile(f"is {info.st_size} bytes, over the {max_bytes}-byte cap for a result file")
    try:  # the file may have been swapped since lstat: never follow a link, never block on a FIFO
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        reason = "is a symbolic link" if err.errno == errno.ELOOP else f"cannot open: {err.strerror}"
        raise UnsafeFile(reason) from None
    try:  # os.read on the descriptor: a Python file object around it costs four times the read
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeFile("is not a regular file")
        data = _read_to_end(fd, max_bytes + 1, info.st_size + 1)  # a file grown since lstat: still capped
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise UnsafeFile(f"is over the {max_bytes}-byte cap for a result file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UnsafeFile(f"is not UTF-8 (byte {err.start})") from None


def _read_to_end(fd: int, limit: int, expected: int) -> bytes:
    """At most `limit` bytes, up to the end of the file; read in pieces of the size lstat gave (plus one,
    to see the end), not of the limit, which would allocate the whole cap for every small file."""
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, min(limit - size, max(expected, 1 << 16)))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) < len(pairs):
        seen: set[str] = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise UnsafeFile(f"duplicate key {repeated!r} (JSON readers disagree on which value wins)")
    return data


def _no_constant(name: str) -> None:
    raise UnsafeFile(f"{name} is not a JSON number")


def check_json(text: str) -> dict[str, Any]:
    """The JSON object in `text`; duplicate keys, NaN/Infinity and anything but an object are rejected."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except UnsafeFile:
        raise
    except RecursionError:
        raise UnsafeFile("is nested too deeply") from None
    except ValueError as err:  # JSONDecodeError, or an integer too long to convert
        raise UnsafeFile(f"is not valid JSON: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UnsafeFile(f"holds a JSON {type(data).__name__}, not an object")
    return data

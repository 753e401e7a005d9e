"""A sweep's grid file: YAML whose `matrix` (bench.matrix) expands into cells, each one `bench run` request."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bench import BenchError
from bench.matrix import expand
from bench.planning import RunRequest
from bench.strict import Scalar

# The method params `bench run` has options for; a plugin method's own go under `params`.
METHOD_PARAMS = ("sparsity", "pattern", "schedule", "bits", "group_size", "symmetric", "damp", "act_order",
                 "static_groups", "keep", "rank_ratio", "label")


class Cell(BaseModel):
    """One `bench run`, its options named as on the command line (underscores for dashes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "wanda"
    sparsity: float | None = None
    pattern: str | None = None
    schedule: str | None = None
    bits: int | None = None
    group_size: int | None = None
    symmetric: bool | None = None
    damp: float | None = None
    act_order: bool | None = None
    static_groups: bool | None = None
    keep: float | None = None
    rank_ratio: float | None = None
    label: str | None = None
    params: dict[str, Scalar] = Field(default_factory=dict)  # a plugin method's own params
    model: str | None = None
    parent: str | None = None
    embed: str | None = None  # comma-separated, as --embed
    suite: str | None = None
    tasks: str | None = None  # comma-separated, as --tasks
    profile: str = "cpu-2c"
    limit: int | None = Field(default=None, ge=1)
    calib_samples: int | None = None
    calib_seqlen: int | None = None
    calib_source: str | None = None
    seed: int | None = None
    seeds: str | None = None  # comma-separated, as --seeds

    @field_validator("pattern", "schedule", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 2:4 as 124 (base 60)
            raise ValueError("quote it, e.g. '2:4': YAML reads an unquoted 2:4 as a base-60 number")
        return value

    def request(self, out: Path, force: bool = False, trust_remote_code: bool = False) -> RunRequest:
        method_params = {**{name: getattr(self, name) for name in METHOD_PARAMS}, **self.params}
        try:
            seeds = [int(s) for s in _split(self.seeds)] or None
        except ValueError:
            raise BenchError(f"seeds takes integers, comma-separated (e.g. 0,1,2), got {self.seeds!r}") from None
        return RunRequest(method=self.method, method_params=method_params, model=self.model, parent=self.parent,
                          suite=self.suite, tasks=_split(self.tasks) or None, profile=self.profile, out=out,
                          force=force, limit=self.limit, calib_samples=self.calib_samples,
                          calib_seqlen=self.calib_seqlen, calib_source=self.calib_source, seed=self.seed,
                          seeds=seeds, trust_remote_code=trust_remote_code, embed=self.embed)


class GridFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    matrix: dict[str, Any]


def load_grid(path: Path) -> list[Cell]:
    """The cells of a grid file, in order, each once; one-line errors for a file that is not a valid grid."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise BenchError(f"cannot read the grid {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise BenchError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise BenchError(f"{path}: a grid is a mapping with a `matrix`")
    try:
        grid = GridFile(**data)
    except ValidationError as err:
        raise BenchError(f"{path}: {_first_error(err, GridFile)}") from None
    cells = []
    for number, row in enumerate(expand(grid.matrix), 1):
        try:
            cells.append(Cell(**row))
        except ValidationError as err:
            raise BenchError(f"{path}: cell {number} ({_row_text(row)}): {_first_error(err, Cell)}") from None
    if not cells:
        raise BenchError(f"{path}: the matrix has no cells")
    return list({cell.model_dump_json(): cell for cell in cells}.values())  # a cell listed twice runs once


def _first_error(err: ValidationError, model: type[BaseModel]) -> str:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {key!r}{hint}; known: {', '.join(model.model_fields)}"
    if first["type"] == "missing":
        return f"{key!r} is required"
    return f"{key}: {first['msg'].removeprefix('Value error, ')}"


def _row_text(row: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in row.items())


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in str(value).split(",") if v.strip()] if value is not None else []

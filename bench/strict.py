"""The base of every model a result file holds: unknown fields rejected, every float finite."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# A method parameter's value: a JSON scalar (bench.methods.params has no nested parameter).
Scalar = int | float | bool | str | None


class Strict(BaseModel):
    # allow_inf_nan=False: every float field is finite (a NaN or infinite score has no retained %)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

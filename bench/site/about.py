"""What the methods and methodology pages say, from bench's own registries and constants, so they cannot
drift from the code: each method's summary (its class docstring), paper (the citation in its module's
docstring) and params."""

from __future__ import annotations

import re
import sys
from typing import Any

from bench import intervals
from bench.methods import METHODS
from bench.methods.embed import CODECS
from bench.profiles import PROFILES


# A module docstring's citation, like "Wanda (Sun et al. 2023): ...": the parenthesis ending in a year.
CITATION = re.compile(r"\(([^()]*?\b(?:19|20)\d\d)\)")


def _paper(module_doc: str | None) -> str:
    return "; ".join(CITATION.findall(_first_line(module_doc)))


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n\n")[0].replace("\n", " ")


def methods_context() -> dict[str, Any]:
    methods = []
    for name, cls in sorted(METHODS.items()):
        params = [(field, getattr(info.annotation, "__name__", str(info.annotation)).replace("typing.", ""),
                   repr(info.default)) for field, info in cls.Params.model_fields.items()]
        methods.append({"name": name, "summary": _first_line(cls.__doc__),
                        "paper": _paper(sys.modules[cls.__module__].__doc__), "params": params,
                        "calibrated": cls.statistic is not None})
    vectors = []
    for name, (make, needs_arg) in sorted(CODECS.items()):
        vectors.append({"name": name + (":N" if needs_arg else ""), "summary": _first_line(type(make(8)).__doc__)})
    return {"methods": methods, "vectors": vectors}


def methodology_context() -> dict[str, Any]:
    return {"level": intervals.LEVEL, "n_resamples": intervals.N_RESAMPLES, "interval_method": intervals.METHOD,
            "seed": intervals.SEED, "profiles": [(name, p.description) for name, p in sorted(PROFILES.items())]}

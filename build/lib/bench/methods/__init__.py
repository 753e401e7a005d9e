"""Compression methods; importing this package registers them all."""

from bench.methods.base import METHODS, Method  # noqa: F401
from bench.methods import precompressed  # noqa: F401
from bench.methods.llm import magnitude, obs_methods, rtn, wanda  # noqa: F401

"""Compression methods; importing this package registers them all."""

from bench.methods.base import METHODS, Method  # noqa: F401
from bench.methods import precompressed  # noqa: F401
from bench.methods.llm import gptq, lowrank, magnitude, random_pruning, rtn, sparsegpt, wanda  # noqa: F401
from bench.methods.embed import CODECS
from bench.plugins import load_method_plugins

METHODS.loader = CODECS.loader = load_method_plugins  # other packages' methods, when a name is first looked up

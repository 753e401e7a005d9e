"""Embedding-vector compression (`--embed`): parse variant lists into codecs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench import BenchError
from bench.methods.embed.codecs import (PCA, Binary, Codec, Int8, ProductQuantization, RandomProjection,
                                         Truncate)
from bench.registry import Registry

# name -> (builds a codec from its integer argument, whether the argument is required)
CODECS: Registry[tuple[Callable[[int | None], Codec], bool]] = Registry("vector method")
CODECS.add("float", (lambda _arg: Codec(), False))
CODECS.add("truncate", (lambda dims: Truncate(name="truncate", dims=dims), True))
CODECS.add("int8", (lambda _arg: Int8(name="int8"), False))
CODECS.add("binary", (lambda _arg: Binary(name="binary"), False))
CODECS.add("pca", (lambda dims: PCA(name="pca", dims=dims), True))
CODECS.add("pq", (lambda subvectors: ProductQuantization(name="pq", subvectors=subvectors), True))
CODECS.add("rp", (lambda dims: RandomProjection(name="rp", dims=dims), True))


@dataclass(frozen=True)
class VectorVariant:
    """One `--embed` entry, e.g. `truncate:64` or `binary+rescore:40`."""

    spec: str
    slug: str
    build: Callable[[], Codec]

    def unfit(self, corpus: Path | None) -> str:
        """Why the codec cannot be fitted on the corpus file (one document a line; "" if it can), known before
        anything is encoded: such a result can never exist, so a run plans none and a rerun does not try again.
        (An engine's own task, with no file here, or too few embedding dimensions, is found when fitted.)"""
        needed = self.build().min_documents()
        if needed <= 1 or corpus is None:
            return ""
        with open(corpus, "rb") as f:
            documents = sum(1 for _ in f)
        if documents >= needed:
            return ""
        return f"{self.spec} needs at least {needed} corpus documents, the task has {documents}"


def parse_embed(value: str) -> list[VectorVariant]:
    return [_parse_one(item.strip()) for item in value.split(",") if item.strip()]


def _parse_one(item: str) -> VectorVariant:
    base, _, extra = item.partition("+")
    name, _, arg = base.partition(":")
    if name == "rescore":
        raise BenchError(f"--embed {item!r}: rescoring re-ranks a binary search, write binary+{item}")
    make, needs_arg = CODECS.get(name)
    dims = _positive(arg, item) if arg else None
    if needs_arg and dims is None:
        raise BenchError(f"--embed {item!r}: {name} needs a size, e.g. {name}:64")
    slug = f"{name}{dims or ''}"
    rescore = 0
    if extra:
        key, _, k = extra.partition(":")
        if name != "binary" or key != "rescore" or not k:
            raise BenchError(f"--embed {item!r}: only binary takes +rescore:K")
        rescore = _positive(k, item)
        slug += f"-rescore{rescore}"

    def build() -> Codec:
        codec = make(dims)
        if rescore:
            codec.rescore = rescore
        return codec

    return VectorVariant(spec=item, slug=slug, build=build)


def _positive(text: str, item: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise BenchError(f"--embed {item!r}: {text!r} is not a positive whole number")
    return int(text)

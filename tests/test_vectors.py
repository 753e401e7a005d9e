"""Embedding-vector codecs against the math on small arrays."""

import numpy as np
import pytest

from bench.methods.embed import parse_embed
from bench.methods.embed.vectors import (PCA, Binary, Int8, ProductQuantization, RandomProjection, Truncate,
                                         hamming, normalize, pack_signs)


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    corpus = normalize(rng.normal(size=(300, 32)).astype(np.float32))
    queries = normalize(corpus[:20] + 0.3 * rng.normal(size=(20, 32)).astype(np.float32))
    return corpus, queries


def fitted(codec, corpus):
    codec.fit(corpus)
    codec.encode_corpus(corpus)
    return codec


def test_int8_ranges_come_from_the_corpus_and_are_shared_with_queries(vectors):
    corpus, queries = vectors
    codec = fitted(Int8(), corpus)
    assert np.array_equal(codec.low, corpus.min(axis=0))
    assert codec.stored.dtype == np.uint8 and codec.bytes_per_vector() == 32
    far = queries * 10  # far outside the corpus range: clipped to it, never re-calibrated
    assert np.array_equal(codec.codes(far), np.clip(np.round((far - codec.low) / codec.step), 0, 255))
    assert np.abs(codec.decode(codec.stored) - corpus).max() <= codec.step.max() / 2 + 1e-6


def test_binary_packs_signs_and_ranks_by_hamming_like_brute_force(vectors):
    corpus, queries = vectors
    codec = fitted(Binary(), corpus)
    assert codec.stored.shape == (300, 4) and codec.bytes_per_vector() == 4
    brute = ((queries[:, None, :] > 0) != (corpus[None, :, :] > 0)).sum(axis=2)
    assert np.array_equal(hamming(pack_signs(queries), codec.stored), brute)
    assert np.array_equal(np.argsort(-codec.scores(queries), axis=1, kind="stable"),
                          np.argsort(brute, axis=1, kind="stable"))


def test_rescoring_reorders_only_the_top_k_by_the_int8_vectors(vectors):
    corpus, queries = vectors
    plain, rescored = fitted(Binary(), corpus), fitted(Binary(rescore=10), corpus)
    plain_scores, new_scores = plain.scores(queries), rescored.scores(queries)
    for q in range(len(queries)):
        top = np.flatnonzero(new_scores[q] > 0)  # rescored documents sit above every Hamming score
        tenth_best = np.sort(-plain_scores[q])[9]
        assert len(top) == 10 and (-plain_scores[q, top] <= tenth_best).all()  # a top 10 by Hamming
        rest = np.setdiff1d(np.arange(300), top)
        assert np.array_equal(new_scores[q, rest], plain_scores[q, rest])
        order = sorted(top, key=lambda d: -new_scores[q, d])
        exact = queries[q] @ rescored.int8.decode(rescored.int8.stored[order]).T
        assert np.all(np.diff(exact) <= 1e-6)  # the top 10 are in int8-similarity order


def test_truncate_pca_and_random_projection_shapes(vectors):
    corpus, queries = vectors
    for codec, dims in ((Truncate(dims=8), 8), (PCA(dims=8), 8), (RandomProjection(dims=8), 8)):
        fitted(codec, corpus)
        assert codec.stored.shape == (300, dims) and codec.scores(queries).shape == (20, 300)
        assert np.allclose(np.linalg.norm(codec.stored, axis=1), 1, atol=1e-5)
    pca = fitted(PCA(dims=32), corpus)  # all components: cosine of centred vectors, nothing lost
    centred = normalize(corpus - corpus.mean(axis=0))
    assert np.allclose(pca.stored @ pca.stored.T, centred @ centred.T, atol=1e-4)


def test_product_quantization_codes_and_reconstruction(vectors):
    corpus, queries = vectors
    pq = fitted(ProductQuantization(subvectors=8), corpus)
    assert pq.bits == 8 and pq.stored.shape == (300, 8) and pq.bytes_per_vector() == 8
    assert pq.scores(queries).shape == (20, 300)
    small = fitted(ProductQuantization(subvectors=8), corpus[:100])
    assert small.bits == 6  # too few vectors to train 256 centroids


def test_variant_lists_parse_to_slugs():
    slugs = [v.slug for v in parse_embed("truncate:64,int8,binary,binary+rescore:40,pca:64,pq:16,rp:64")]
    assert slugs == ["truncate64", "int8", "binary", "binary-rescore40", "pca64", "pq16", "rp64"]

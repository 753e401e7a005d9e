"""Embedding-vector codecs against the math on small arrays."""

import numpy as np
import pytest

from bench.methods.embed import parse_embed
from bench.methods.embed.codecs import (PCA, Binary, Codec, Int8, ProductQuantization, RandomProjection,
                                         Truncate, nearest, normalize)


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


def test_binary_packs_signs_and_scores_minus_the_hamming_distance(vectors):
    corpus, queries = vectors
    codec = fitted(Binary(), corpus[:, :30])  # 30 bits: two bits of padding in the last byte
    assert codec.stored.shape == (300, 4) and codec.bytes_per_vector() == 4
    brute = ((queries[:, None, :30] > 0) != (corpus[None, :, :30] > 0)).sum(axis=2)
    assert np.array_equal(codec.scores(queries[:, :30]), -brute)  # popcount: a small block
    many = codec.block(codec.prepare(np.repeat(queries[:, :30], 3000, axis=0)), 0, 300)  # BLAS: a large one
    assert np.array_equal(many[::3000], -brute)


@pytest.mark.parametrize("make", [Codec, Int8, Binary])
def test_chunked_search_returns_the_full_search_top_k(vectors, make):
    corpus, queries = vectors
    codec = fitted(make(), corpus)
    whole_top, whole_scores = nearest(codec, queries, k=7)
    top, scores = nearest(codec, queries, k=7, max_block=20 * 16)  # 16 documents per chunk
    # Equal up to float rounding: BLAS sums a chunk's products in another order.
    assert np.allclose(scores, whole_scores, atol=1e-6) and (np.diff(scores, axis=1) <= 0).all()
    full = codec.scores(queries)
    assert np.allclose(scores, -np.sort(-full, axis=1)[:, :7], atol=1e-6)  # the 7 best scores...
    assert np.allclose(np.take_along_axis(full, top, 1), scores, atol=1e-6)  # ...of these documents


def test_rescoring_reorders_only_the_top_k_by_the_int8_vectors(vectors):
    corpus, queries = vectors
    plain, rescored = fitted(Binary(), corpus), fitted(Binary(rescore=10), corpus)
    hamming_scores = plain.scores(queries)
    top, scores = nearest(rescored, queries, k=15)
    for q in range(len(queries)):
        tenth_best = np.sort(-hamming_scores[q])[9]
        assert (-hamming_scores[q, top[q, :10]] <= tenth_best).all()  # the first 10 are a Hamming top 10
        assert (scores[q, :10] > 0).all() and (scores[q, 10:] <= 0).all()  # ...ranked above the rest
        assert np.array_equal(scores[q, 10:], hamming_scores[q, top[q, 10:]])
        exact = queries[q] @ rescored.int8.decode(rescored.int8.stored[top[q, :10]]).T
        assert np.all(np.diff(exact) <= 1e-6)  # in int8-similarity order


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

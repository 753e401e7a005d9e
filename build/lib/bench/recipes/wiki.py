"""Task data from text: gensim's English Wikipedia excerpt and Lee corpus, Python's own help topics."""

from __future__ import annotations

import random

from bench import corpora
from bench.recipes import RECIPES, Rows


@RECIPES.register("wiki_passages")
def wiki_passages(n_docs: int, min_chars: int, max_chars: int) -> dict[str, Rows]:
    """One passage per Wikipedia article: whole sentences from its start, min..max characters."""
    rows = []
    for title, paragraphs in corpora.wiki_articles():
        text = ""
        for sentence in (s for p in paragraphs for s in corpora.sentences(p)):
            if len(text) + len(sentence) + 1 > max_chars:
                break
            text = f"{text} {sentence}".strip()
        if len(text) >= min_chars:
            rows.append({"title": title, "text": text})
        if len(rows) == n_docs:
            break
    return {"test": rows}


def sentence_retrieval(articles, lead_chars: int, queries_per_article: int, seed: int) -> dict[str, Rows]:
    """Find the article a sentence comes from: the corpus holds each article's lead, the queries
    are sentences from the rest of the article (never from the lead itself)."""
    rng = random.Random(seed)
    corpus, queries, qrels = [], [], []
    for title, paragraphs in articles:
        lead, rest = [], []
        for paragraph in paragraphs:
            (lead if sum(map(len, lead)) < lead_chars else rest).append(paragraph)
        candidates = [s for p in rest for s in corpora.sentences(p) if 60 <= len(s) <= 300]
        if len(candidates) < queries_per_article:
            continue
        corpus.append({"id": title, "title": "", "text": " ".join(lead)[: lead_chars * 2]})
        for i, sentence in enumerate(rng.sample(candidates, queries_per_article)):
            queries.append({"id": f"{title}#{i}", "text": sentence})
            qrels.append({"query_id": f"{title}#{i}", "doc_id": title, "score": 1})
    return {"corpus": corpus, "queries": queries, "qrels": qrels}


@RECIPES.register("wiki_sentence_retrieval")
def wiki_sentence_retrieval(lead_chars: int, queries_per_article: int, seed: int) -> dict[str, Rows]:
    return sentence_retrieval(corpora.wiki_articles(), lead_chars, queries_per_article, seed)


@RECIPES.register("pydoc_sentence_retrieval")
def pydoc_sentence_retrieval(lead_chars: int, queries_per_article: int, seed: int) -> dict[str, Rows]:
    return sentence_retrieval(corpora.python_doc_topics(), lead_chars, queries_per_article, seed)


@RECIPES.register("lee_pairs")
def lee_pairs() -> dict[str, Rows]:
    """Every pair of Lee's 50 documents with its human similarity rating."""
    docs, pairs = corpora.lee_similarity()
    return {"test": [{"sentence1": docs[i], "sentence2": docs[j], "score": score} for i, j, score in pairs]}


@RECIPES.register("wiki_summaries")
def wiki_summaries(n_docs: int, source_chars: int, seed: int) -> dict[str, Rows]:
    """Summarize an article's body; the reference is its lead's first two sentences (a Wikipedia
    lead is written as the article's summary). The source never contains the lead."""
    rows = []
    for title, paragraphs in corpora.wiki_articles():
        lead, body = corpora.sentences(paragraphs[0]), [s for p in paragraphs[1:] for s in corpora.sentences(p)]
        source = ""
        for sentence in body:
            if len(source) + len(sentence) + 1 > source_chars:
                break
            source = f"{source} {sentence}".strip()
        if len(lead) >= 2 and len(source) >= source_chars // 2:
            rows.append({"title": title, "source": source, "summary": " ".join(lead[:2])})
    random.Random(seed).shuffle(rows)
    return {"test": rows[:n_docs]}

"""Offline text, facts and word lists shipped inside installed packages (gensim's test data, Faker,
wonderwords).

Read at run time, never copied into the repository.
"""

from __future__ import annotations

import bz2
import re
from functools import lru_cache

from gensim.corpora.wikicorpus import extract_pages, filter_wiki
from gensim.test.utils import datapath

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"  # the tasks' excerpt
WIKI_TABLES_FILE = "enwiki-table-markup.xml.bz2"  # five more articles (gensim's table-markup test)
_MARKUP = re.compile(r"'{2,}|\[\[|\]\]|\{\{|\}\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


@lru_cache(maxsize=1)
def lee_background() -> tuple[str, ...]:
    """300 short news articles (gensim's Lee background corpus), one per line."""
    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        return tuple(line.strip() for line in f if line.strip())


def wiki_articles(file: str = WIKI_FILE) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(title, paragraphs) for each non-redirect article of one of gensim's English Wikipedia excerpts.

    Paragraphs are plain text with wiki markup removed; short fragments (captions, list items,
    headings) are dropped so what remains reads as prose.
    """
    return _wiki_articles(file)  # cached by file, however the caller names it


@lru_cache(maxsize=None)
def _wiki_articles(file: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    articles = []
    with bz2.open(datapath(file)) as f:
        for title, markup, _pageid in extract_pages(f):
            if markup.lstrip().upper().startswith("#REDIRECT"):
                continue
            text = _MARKUP.sub("", filter_wiki(markup))
            paragraphs = tuple(
                " ".join(p.split()) for p in re.split(r"\n\s*\n", text) if _is_prose(p)
            )
            if paragraphs:
                articles.append((title, paragraphs))
    return tuple(articles)


@lru_cache(maxsize=1)
def python_doc_topics() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(title, prose paragraphs) of each topic of Python's own help (`pydoc_data.topics`); grammar
    and code blocks (indented) are dropped."""
    from pydoc_data.topics import topics

    articles = []
    for key in sorted(topics):
        title, _, body = topics[key].partition("\n")
        paragraphs = tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", body)
                           if not p.startswith(" ") and _is_prose(p))
        if paragraphs:
            articles.append((title.strip(), paragraphs))
    return tuple(articles)


@lru_cache(maxsize=1)
def python_help_texts() -> tuple[tuple[str, str], ...]:
    """(title, whole text with its code and grammar blocks) of each topic of Python's own help."""
    from pydoc_data.topics import topics

    return tuple((text.partition("\n")[0].strip(), text) for _key, text in sorted(topics.items()))


@lru_cache(maxsize=1)
def lee_similarity() -> tuple[tuple[str, ...], tuple[tuple[int, int, float], ...]]:
    """Lee et al.'s 50 news documents and their averaged human similarity ratings (0..1) for
    every pair i < j, from gensim's test data."""
    with open(datapath("lee.cor"), encoding="utf-8", errors="replace") as f:
        docs = tuple(line.strip() for line in f if line.strip())
    with open(datapath("similarities0-1.txt"), encoding="utf-8") as f:
        matrix = [[float(v) for v in line.split()] for line in f if line.strip()]
    pairs = tuple((i, j, matrix[i][j]) for i in range(len(docs)) for j in range(i + 1, len(docs)))
    return docs, pairs


def _is_prose(paragraph: str) -> bool:
    words = paragraph.split()
    return len(words) >= 25 and paragraph.strip()[-1:] in ".!?\"')"


def sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


@lru_cache(maxsize=1)
def country_capitals() -> tuple[tuple[str, str], ...]:
    """(country, capital) pairs from the capital sections of word2vec's analogy file."""
    pairs: dict[str, str] = {}
    section = ""
    with open(datapath("questions-words.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith(":"):
                section = line[1:].strip()
            elif section.startswith("capital-"):
                capital_a, country_a, capital_b, country_b = line.split()
                pairs.setdefault(country_a, capital_a)
                pairs.setdefault(country_b, capital_b)
    return tuple(sorted(pairs.items()))


@lru_cache(maxsize=1)
def countries() -> tuple[dict[str, object], ...]:
    """Countries with a capital, a currency and a population (countryinfo + pycountry), by name."""
    import countryinfo
    import pycountry

    rows = []
    for country in countryinfo.all_countries():
        info = country.info()
        codes = [pycountry.currencies.get(alpha_3=code) for code in info.get("currencies") or []]
        currencies = [c.name for c in codes if c is not None]
        capital = info.get("capital")
        capital = capital[0] if isinstance(capital, list) and capital else capital
        if info.get("name") and capital and currencies and info.get("population"):
            rows.append({"name": info["name"], "capital": capital, "currency": currencies[0],
                         "currency_code": info["currencies"][0], "region": info.get("subregion") or info.get("region"),
                         "population": int(info["population"]), "demonym": info.get("demonym") or ""})
    return tuple(sorted(rows, key=lambda row: row["name"]))


@lru_cache(maxsize=1)
def elements() -> tuple[dict[str, object], ...]:
    """The 118 chemical elements: name, symbol, atomic number, standard atomic weight."""
    import periodictable

    return tuple({"name": e.name.capitalize(), "symbol": e.symbol, "number": e.number, "mass": round(e.mass, 3)}
                 for e in periodictable.elements if e.number > 0)


@lru_cache(maxsize=1)
def person_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(first names, last names): Faker's US English lists."""
    from faker.providers.person.en_US import Provider

    return tuple(dict.fromkeys(Provider.first_names)), tuple(dict.fromkeys(Provider.last_names))


@lru_cache(maxsize=1)
def nouns() -> tuple[str, ...]:
    """Lower-case English nouns (wonderwords' list, its profanity list removed), sorted, unique."""
    from importlib.resources import files

    assets = files("wonderwords") / "assets"
    profane = set(assets.joinpath("profanitylist.txt").read_text(encoding="utf-8").lower().split())
    words = assets.joinpath("nounlist.txt").read_text(encoding="utf-8").split()
    return tuple(sorted({w for w in words if w.isalpha() and w.islower() and w not in profane}))

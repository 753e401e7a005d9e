"""Knowledge task data from facts shipped in installed packages."""

from __future__ import annotations

import random

from bench import corpora
from bench.recipes import RECIPES, Rows


@RECIPES.register("capitals_choice")
def capitals_choice(n_choices: int, seed: int) -> dict[str, Rows]:
    """Country -> capital, with distractors drawn from the other countries' capitals."""
    rng = random.Random(seed)
    pairs = corpora.country_capitals()
    capitals = sorted({capital for _, capital in pairs})
    rows = []
    for country, capital in pairs:
        choices = rng.sample([c for c in capitals if c != capital], n_choices - 1) + [capital]
        rng.shuffle(choices)
        rows.append({"country": country, "choices": choices, "label": choices.index(capital)})
    return {"test": rows}


def fact_items() -> dict[str, Rows]:
    """Question/answer items per relation, each with an evidence passage that states the answer
    among other facts about the same subject (for open-book prompting)."""
    by_relation: dict[str, Rows] = {"capital": [], "currency": [], "symbol": [], "element": []}
    for c in corpora.countries():
        evidence = (f"{c['name']} is a country in {c['region']} with about {c['population']:,} inhabitants. "
                    f"Its capital is {c['capital']} and its currency is the {c['currency']} ({c['currency_code']}).")
        by_relation["capital"].append({"question": f"What is the capital of {c['name']}?", "answer": c["capital"],
                                       "aliases": [], "evidence": evidence})
        by_relation["currency"].append({"question": f"What is the currency of {c['name']}?", "answer": c["currency"],
                                        "aliases": [c["currency_code"]], "evidence": evidence})
    for e in corpora.elements():
        evidence = (f"{e['name']} is the chemical element with the symbol {e['symbol']} and atomic number "
                    f"{e['number']}; its standard atomic weight is {e['mass']}.")
        by_relation["symbol"].append({"question": f"What is the chemical symbol of {e['name'].lower()}?",
                                      "answer": e["symbol"], "aliases": [], "evidence": evidence})
        by_relation["element"].append({"question": f"Which chemical element has the atomic number {e['number']}?",
                                       "answer": e["name"], "aliases": [], "evidence": evidence})
    return by_relation


def _split_items(per_relation: int, n_shots: int, seed: int) -> tuple[Rows, Rows]:
    """`per_relation` test items from each relation, and one few-shot exemplar from each of the first
    `n_shots` relations, never among the test items. Ids are stable: relation and draw order."""
    rng = random.Random(seed)
    test, shots = [], []
    for index, (relation, items) in enumerate(fact_items().items()):
        picked = [{"id": f"{relation}-{i}", "relation": relation, **item}
                  for i, item in enumerate(rng.sample(items, min(len(items), per_relation + 1)))]
        if index < n_shots:
            shots.append(picked[0])
        test.extend(picked[1:])
    return test, shots


@RECIPES.register("fact_qa")
def fact_qa(per_relation: int, n_shots: int, seed: int) -> dict[str, Rows]:
    """Short-answer questions (capitals, currencies, element symbols and names) with evidence."""
    test, shots = _split_items(per_relation, n_shots, seed)
    return {"test": test, "train": shots}


@RECIPES.register("fact_choice")
def fact_choice(per_relation: int, n_choices: int, seed: int) -> dict[str, Rows]:
    """The same facts as four-way multiple choice, distractors drawn from answers of the same relation."""
    rng = random.Random(seed)
    answers = {relation: sorted({item["answer"] for item in items}) for relation, items in fact_items().items()}
    test, _ = _split_items(per_relation, 0, seed)
    rows = []
    for item in test:
        choices = rng.sample([a for a in answers[item["relation"]] if a != item["answer"]], n_choices - 1)
        choices.insert(rng.randrange(n_choices), item["answer"])
        rows.append({"id": item["id"], "question": item["question"], "choices": choices,
                     "label": choices.index(item["answer"])})
    return {"test": rows}

"""A search development set built from the deterministic demo catalogue, with labels known by construction.

``build_devset(count, seed)`` generates ``count`` demo products (``demo.products``), works out
each one's *kind* (the catalogue's "Yoga Mat", "Kettlebell"…), and writes queries whose relevant products
follow from the kinds and attributes the generator chose:

``head``         a kind's noun ("yoga mat"): products of that kind are relevant (gain 1);
``attribute``    "<material> <noun>" or "<colour> <noun>": gain 2 for the kind with that attribute,
                 1 for the kind;
``paraphrase``   hand-written descriptions sharing no content word with any relevant product's title or
                 category path ("stretchy loops for strength training" → Resistance Bands), checked in code;
``misspelling``  a deterministic one-edit typo of a noun ("yoga mta", "kettlebel"), labelled as the noun;
``intent``       a need ("keep tea hot on a hike"), relevant kinds chosen by hand.

A noun's relevant products include its hyponyms in the catalogue: "duvet" also finds All-Seasons Duvets,
"cushion" Meditation and Outdoor Cushions (a kind whose noun ends with another kind's noun is one of those).

``write_devset`` writes the ``evaluate_search`` layout (products.csv, queries.csv with an extra ``kind``
column, labels.csv); ``titles_only=True`` keeps only product_id and title, like public product-search data
sets.
``evaluate_by_kind`` scores the methods per query kind (``ai.search.evaluation``, in a scratch database).
"""

from __future__ import annotations

import csv
import json
import random
import re
import string
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ai.search import evaluation
from demo.products import ProductDraft, generate_products
from demo.vocabulary import DATA, GENERIC_TITLES, Kind, Leaf, leaves, read_json

QUERY_KINDS = ("head", "attribute", "paraphrase", "misspelling", "intent")
PRODUCT_COLUMNS = ("product_id", "title", "description", "category", "attributes")
TITLE_COLUMNS = ("product_id", "title")
QUERY_COLUMNS = ("query_id", "query", "kind")
LABEL_COLUMNS = ("query_id", "product_id", "gain")

# How many queries of each generated kind (paraphrases and intents are all used, where they have products).
HEAD_QUERIES = 100
MATERIAL_QUERIES = 60
COLOUR_QUERIES = 60
MISSPELLING_QUERIES = 60

_QUERIES = read_json(DATA / "search_devset.json")
# Paraphrases by noun: no content word of one may appear in the title or category path of a relevant product
# (``check_paraphrase``); ones that do are dropped at build time and reported.
PARAPHRASES: dict[str, tuple[str, ...]] = {noun: tuple(texts) for noun, texts in _QUERIES["paraphrases"].items()}
# Needs, and the kinds (nouns) that answer them. No word restriction: shoppers mix product words and needs.
INTENTS: dict[str, tuple[str, ...]] = {need: tuple(nouns) for need, nouns in _QUERIES["intents"].items()}

STOPWORDS = frozenset("""
a an and any are as at be by can do for from get has have i in into is it its me my of off on one or our over
so some something that the their them this to too up use very what when where which while who will with you
your yours all about after before between each just like make more most much no not only other out own same
than then there these they those through under until we were get gets got all
""".split())

_WORD = re.compile(r"[a-z0-9]+")


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """Lower-cased words, stopwords removed, plurals stripped: "Knives & Forks" → {"knive", "fork"}."""
    return {_singular(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


# --- the kind of a generated product --------------------------------------------------------------


@cache
def leaf_index() -> dict[str, tuple[str, Leaf]]:
    """Leaf name → (department name, leaf)."""
    return {leaf.name: (department.name, leaf) for department, leaf in leaves()}


@cache
def kinds_by_noun() -> dict[str, tuple[str, Leaf, Kind]]:
    return {kind.noun: (department, leaf, kind)
            for department, leaf in leaf_index().values() for kind in leaf.kinds}


_FORMATTER = string.Formatter()


@cache
def _title_patterns(leaf_name: str) -> tuple[tuple[Kind, tuple[re.Pattern, ...]], ...]:
    """Each kind of a leaf with its title templates as regular expressions ({noun} and {material} literal)."""
    _, leaf = leaf_index()[leaf_name]
    out = []
    for kind in leaf.kinds:
        patterns = []
        for template in kind.titles or leaf.titles or GENERIC_TITLES:
            regex = ""
            for literal, name, _, _ in _FORMATTER.parse(template):
                regex += re.escape(literal)
                if name == "noun":
                    regex += re.escape(kind.noun)
                elif name == "material":
                    regex += "(?:" + "|".join(map(re.escape, kind.materials)) + ")"
                elif name:
                    regex += ".+"
            patterns.append(re.compile(regex, re.IGNORECASE))
        out.append((kind, tuple(patterns)))
    return tuple(out)


def _names(title: str, noun: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(noun.lower()) + r"(?![\w-])", title.lower()) is not None


def product_kind(draft: ProductDraft) -> str | None:
    """The noun of the kind the generator chose for ``draft``, read back from its title.

    The kinds whose title templates (with the noun and material filled in) match the whole title; if several
    do ("Classic Beeswax Pillar Candle" also fits Scented Candle's "{scent} {material} Candle" with a free
    scent), the longest noun the title names; with no template match (a title outside the templates), the
    longest noun of the leaf the title names; else None. Exact on every product of seeds 1, 7 and 42 checked
    against the generator's own choice (45,000 products).
    """
    candidates = [kind for kind, patterns in _title_patterns(draft.category)
                  if any(p.fullmatch(draft.title) for p in patterns)]
    if len(candidates) == 1:
        return candidates[0].noun
    _, leaf = leaf_index()[draft.category]
    named = [kind for kind in (candidates or leaf.kinds) if _names(draft.title, kind.noun)]
    if named:
        return max(named, key=lambda kind: len(kind.noun)).noun
    return candidates[0].noun if candidates else None


@cache
def hyponyms() -> dict[str, tuple[str, ...]]:
    """Noun → itself and the nouns that end with it ("Duvet" → "Duvet", "All-Seasons Duvet")."""
    nouns = list(kinds_by_noun())
    return {noun: (noun,) + tuple(other for other in nouns if other != noun
                                  and re.search(r"[\s-]" + re.escape(noun.lower()) + "$", other.lower()))
            for noun in nouns}


# --- the set --------------------------------------------------------------------------------------


@dataclass
class Query:
    query_id: str
    text: str
    kind: str
    gains: dict[str, int]  # product id → gain ≥ 1


@dataclass
class DevSet:
    products: list[dict]  # product_id, title, description, category, attributes (JSON)
    queries: list[Query]
    dropped: list[tuple[str, str, set[str]]] = field(default_factory=list)  # (noun, paraphrase, shared words)

    def counts(self) -> dict[str, int]:
        found = Counter(q.kind for q in self.queries)
        return {kind: found.get(kind, 0) for kind in QUERY_KINDS}


def product_id(draft: ProductDraft) -> str:
    return f"d{draft.seq:06d}"


def category_path(draft: ProductDraft) -> str:
    return f"{draft.department} > {draft.category}"


def check_paraphrase(paraphrase: str, drafts: list[ProductDraft]) -> set[str]:
    """The content words ``paraphrase`` shares with ``drafts``' titles and category paths (empty: fine)."""
    words = content_words(paraphrase)
    shared = set()
    for draft in drafts:
        shared |= words & content_words(f"{draft.title} {category_path(draft)}")
    return shared


def typo(word: str, rng: random.Random) -> str:
    """One edit of ``word`` a shopper might make: swap two neighbouring letters, drop, double or replace one
    (never the first letter, as people seldom get that wrong)."""
    letters = [i for i in range(1, len(word)) if word[i].isalpha()]
    edit = rng.choice(("swap", "drop", "double", "replace"))
    i = rng.choice(letters)
    if edit == "swap" and i + 1 < len(word) and word[i + 1].isalpha() and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if edit == "drop":
        return word[:i] + word[i + 1:]
    if edit == "double":
        return word[:i] + word[i] + word[i:]
    replacement = rng.choice([c for c in "aeiourstnl" if c != word[i]])
    return word[:i] + replacement + word[i + 1:]


def build_devset(count: int = 5000, seed: int = 42) -> DevSet:
    """Products from ``generate_products(count, seed)`` and labelled queries over them; deterministic."""
    drafts = list(generate_products(count, seed))
    rng = random.Random(f"devset-{seed}")
    by_noun: dict[str, list[ProductDraft]] = defaultdict(list)
    for draft in drafts:
        noun = product_kind(draft)
        if noun is not None:
            by_noun[noun].append(draft)
    products = [{"product_id": product_id(d), "title": d.title, "description": d.description,
                 "category": category_path(d), "attributes": json.dumps(d.attributes, ensure_ascii=False)}
                for d in drafts]

    def relevant(noun: str) -> list[ProductDraft]:
        return [d for n in hyponyms()[noun] for d in by_noun.get(n, [])]

    nouns = [noun for noun in kinds_by_noun() if by_noun.get(noun)]  # catalogue order, present only
    queries: list[Query] = []

    def add(kind: str, text: str, gains: dict[str, int]) -> None:
        if gains:
            queries.append(Query(f"{kind}-{sum(q.kind == kind for q in queries) + 1:03d}", text, kind, gains))

    for noun in sorted(rng.sample(nouns, min(HEAD_QUERIES, len(nouns))), key=nouns.index):
        add("head", noun.lower(), {product_id(d): 1 for d in relevant(noun)})

    for key, wanted in (("material", MATERIAL_QUERIES), ("colour", COLOUR_QUERIES)):
        options = []
        for noun in nouns:
            values = Counter(d.attributes.get(key) for d in relevant(noun))
            values.pop(None, None)
            either = Counter(v for d in relevant(noun)
                             for v in {d.attributes.get("material"), d.attributes.get("colour")})
            # A value all of the kind's products have would make gain 2 and gain 1 the same set: skip it.
            options += [(noun, value) for value in sorted(values) if either[value] < len(relevant(noun))]
        for noun, value in sorted(rng.sample(options, min(wanted, len(options))),
                                  key=lambda o: (nouns.index(o[0]), o[1])):
            # "terracotta" is a material and a colour: either attribute makes a terracotta plant pot
            add("attribute", f"{value} {noun.lower()}",
                {product_id(d): 2 if value in (d.attributes.get("material"), d.attributes.get("colour"))
                 else 1 for d in relevant(noun)})

    dropped = []
    for noun, paraphrases in PARAPHRASES.items():
        drafts_of_kind = relevant(noun)
        for paraphrase in paraphrases:
            if shared := check_paraphrase(paraphrase, drafts_of_kind):
                dropped.append((noun, paraphrase, shared))
                continue
            add("paraphrase", paraphrase, {product_id(d): 1 for d in drafts_of_kind})

    vocabulary = set().union(*(content_words(d.title) for d in drafts)) if drafts else set()
    typeable = [noun for noun in nouns if any(w.isalpha() and len(w) >= 4 for w in noun.split())]
    for noun in sorted(rng.sample(typeable, min(MISSPELLING_QUERIES, len(typeable))), key=nouns.index):
        words = noun.lower().split()  # the typo goes in the longest word (of letters only, if one is)
        target = max(range(len(words)), key=lambda i: (words[i].isalpha(), len(words[i]), i))
        for _ in range(20):  # a typo that is itself a catalogue word ("mug" → "mud") is no typo: retry
            misspelt = typo(words[target], rng)
            if misspelt != words[target] and _singular(misspelt) not in vocabulary:
                break
        else:
            continue
        add("misspelling", " ".join(words[:target] + [misspelt] + words[target + 1:]),
            {product_id(d): 1 for d in relevant(noun)})

    for need, answers in INTENTS.items():
        add("intent", need, {product_id(d): 1 for noun in answers for d in relevant(noun)})

    return DevSet(products, queries, dropped)


def write_devset(directory: Path, devset: DevSet, *, titles_only: bool = False) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    columns = TITLE_COLUMNS if titles_only else PRODUCT_COLUMNS
    _write(directory / "products.csv", columns, ([p[c] for c in columns] for p in devset.products))
    _write(directory / "queries.csv", QUERY_COLUMNS, ([q.query_id, q.text, q.kind] for q in devset.queries))
    _write(directory / "labels.csv", LABEL_COLUMNS,
           ([q.query_id, pid, gain] for q in devset.queries for pid, gain in sorted(q.gains.items())))


def _write(path: Path, header, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


# --- figures per query kind -----------------------------------------------------------------------


def evaluate_by_kind(directory: Path, methods: list[str], progress=None) -> dict[str, dict[str, dict]]:
    """``evaluation.evaluate`` on the set in ``directory``, its figures also split by the ``kind`` column of
    queries.csv: {method: {"all" | query kind: {metric: value, "queries": n}}}."""
    dataset = evaluation.load_dataset(directory)
    with open(directory / "queries.csv", newline="", encoding="utf-8") as handle:
        kind_of = {row["query_id"]: row["kind"] for row in csv.DictReader(handle) if row.get("kind")}
    report = evaluation.evaluate(dataset, methods, progress=progress, group_of=kind_of)
    return {method: by_kind(figures) for method, figures in report.items()}


def by_kind(figures: dict) -> dict[str, dict]:
    """One method's ``evaluate`` figures with groups as {"all" | query kind: …}, the kinds in QUERY_KINDS order
    (others after them, sorted); nothing without judged queries."""
    if not figures["queries"]:
        return {}
    groups = figures["groups"]
    order = [*QUERY_KINDS, *sorted(set(groups) - {"all", *QUERY_KINDS})]
    overall = {name: figures[name] for name in ("ndcg@10", "mrr@50", "recall@50", "queries")}
    return {"all": overall, **{kind: groups[kind] for kind in order if kind in groups}}

"""Merchandisers' synonyms on the keyword side (read side): ``retrieval.query_terms`` adds the terms a
query's synonyms stand for, so BM25 scores them like typed ones. A two-way group (sofa, couch, settee)
makes each member bring in the others; a one-way rule (tee → t-shirt) brings its targets in for its terms
only. Terms are stemmed as products are indexed (a phrase matches when all its words are in the query), and
expansion is one step: added terms never trigger further rules.

The enabled rules are compiled into one table cached in Redis, dropped on every change (``receivers``),
so a saved synonym changes the next search."""

from django.db import connection

from ai.search.caching import CachedTable
from ai.search.models import Synonym, split_terms

Rule = tuple[tuple[str, ...], tuple[str, ...]]  # (lexemes a query must all have, lexemes then searched too)


def compile_rules() -> list[Rule]:
    """One rule per term of every enabled synonym: a group member brings in the other members, a one-way
    term its targets. Each term's lexemes come from the stemmer the index uses (one query for them all)."""
    enabled = Synonym.objects.filter(enabled=True).values_list("kind", "terms", "targets")
    synonyms = [(kind, split_terms(terms), split_terms(targets) if targets else []) for kind, terms, targets in enabled]
    lexemes = stems(sorted({word for _, terms, targets in synonyms for word in terms + targets}))
    rules = []
    for kind, terms, targets in synonyms:
        for term in terms:
            brought = [other for other in terms if other != term] if kind == Synonym.Kind.TWO_WAY else targets
            added = tuple(dict.fromkeys(lexeme for word in brought for lexeme in lexemes.get(word, ())
                                        if lexeme not in lexemes.get(term, ())))
            if lexemes.get(term) and added:  # a term of stopwords only ("the") matches nothing
                rules.append((lexemes[term], added))
    return rules


table = CachedTable("synonyms", Synonym, compile_rules)  # the enabled synonyms as rules


def stems(words: list[str]) -> dict[str, tuple[str, ...]]:
    """Each word or phrase's lexemes (sorted) from the stemmer the index uses, in one query; a word of
    stopwords only has none."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT w, array(SELECT lexeme FROM unnest(to_tsvector('english', w)) ORDER BY lexeme) "
                       "FROM unnest(%s::text[]) AS w", [words])
        return {word: tuple(found) for word, found in cursor.fetchall()}


def expand(terms: list[str]) -> tuple[list[str], set[str]]:
    """The query's stemmed terms followed by those its synonyms add, and every term a synonym matched or
    added (a merchandiser's word, never a typo to correct)."""
    present, expanded, synonymous = set(terms), list(terms), set()
    for source, added in table():
        if present.issuperset(source):
            synonymous.update(source, added)
            expanded += [term for term in added if term not in expanded]
    return expanded, synonymous

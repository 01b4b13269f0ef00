"""Offline relevance evaluation: NDCG@10, MRR@50 and recall@50 of each retrieval method on a labelled set.

A data set is a directory with products.csv (product_id,title[,description,category,attributes]),
queries.csv (query_id,query) and labels.csv (query_id,product_id,gain). Products are loaded into a
scratch database on the same server and indexed by the real pipeline, so the figures are the shop's.
"""

import csv
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ai.common import scratch_database
from ai.search import indexing, retrieval, serving
from commerce.catalogue.models import Category, Product

K_NDCG, K_DEEP = 10, 50
METHODS: dict[str, Callable[[str], list[int]]] = {
    "keyword": lambda q: [pid for pid, _ in retrieval.keyword_search(q, limit=K_DEEP)[0]],
    "semantic": lambda q: [pid for pid, _ in retrieval.semantic_search(q, limit=K_DEEP)],
    # Exactly what search() serves an anonymous shopper (it adds caching and logging, not ranking).
    "hybrid": lambda q: [pid for pid, _ in serving.hybrid_rank(retrieval.normalize_query(q), limit=K_DEEP)[0]],
}


@dataclass
class Dataset:
    products: list[dict]
    queries: dict[str, str]
    labels: dict[str, dict[str, float]]  # query id → product id → gain


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_dataset(directory: Path) -> Dataset:
    for name in ("products.csv", "queries.csv", "labels.csv"):
        if not (directory / name).exists():
            raise FileNotFoundError(f"{directory / name} is missing")
    labels: dict[str, dict[str, float]] = defaultdict(dict)
    for row in _read_csv(directory / "labels.csv"):
        gain = float(row["gain"])
        if gain < 0:
            raise ValueError(f"labels.csv: negative gain for query {row['query_id']}")
        labels[row["query_id"]][row["product_id"]] = gain
    queries = {row["query_id"]: row["query"] for row in _read_csv(directory / "queries.csv")}
    return Dataset(_read_csv(directory / "products.csv"), queries, dict(labels))


def ndcg_at(ranked: list[str], gains: dict[str, float], k: int = K_NDCG) -> float:
    dcg = sum(gains.get(pid, 0.0) / math.log2(i + 2) for i, pid in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at(ranked: list[str], gains: dict[str, float], k: int = K_DEEP) -> float:
    for i, pid in enumerate(ranked[:k]):
        if gains.get(pid, 0.0) >= 1:
            return 1.0 / (i + 1)
    return 0.0


def recall_at(ranked: list[str], gains: dict[str, float], k: int = K_DEEP) -> float:
    relevant = {pid for pid, gain in gains.items() if gain >= 1}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def _parse_attributes(raw: str | None) -> dict:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
        return value if isinstance(value, dict) else {"details": str(value)}
    except ValueError:
        return {"details": raw}


def load_products(rows: list[dict], progress=None, batch_size: int = 512) -> dict[int, str]:
    """Create the data set's products in the (scratch) catalogue and index them; returns pk → product_id."""
    categories: dict[str, Category] = {}
    default = Category.objects.create(name="Uncategorised")

    def category_for(path: str | None) -> Category:
        if not path:
            return default
        if path not in categories:
            parent = None
            for depth, name in enumerate(part.strip() for part in path.replace("/", ">").split(">")):
                key = ">".join(p.strip() for p in path.replace("/", ">").split(">")[: depth + 1])
                if key not in categories:
                    categories[key] = Category.objects.create(name=name[:120] or "—", parent=parent,
                                                              slug=f"c{len(categories) + 1}")
                parent = categories[key]
        return categories[path] if path in categories else parent

    products = [
        Product(title=(row.get("title") or "")[:200], slug=f"p{i}", description=row.get("description") or "",
                category=category_for(row.get("category")), attributes=_parse_attributes(row.get("attributes")),
                base_price=Decimal("0"), price=Decimal("0"), stock=1)
        for i, row in enumerate(rows)
    ]
    created = Product.objects.bulk_create(products, batch_size=2000)
    mapping = {product.pk: row["product_id"] for product, row in zip(created, rows, strict=True)}
    ids = list(mapping)
    paths = indexing.category_paths()
    for start in range(0, len(ids), batch_size):
        indexing.index_products(ids[start:start + batch_size], force=True, paths=paths)
        if progress:
            progress(min(batch_size, len(ids) - start))
    indexing.refresh_term_statistics()
    return mapping


def evaluate(dataset: Dataset, methods: list[str], progress=None,
             group_of: dict[str, str] | None = None) -> dict[str, dict]:
    """Index the data set's products in a scratch database and score each method on its labelled queries.

    With ``group_of`` (query id → group), each method's figures also hold "groups": {group: the same metrics
    over that group's queries, and their number}; queries without a group count in the totals only.
    """
    judged = [qid for qid, gains in dataset.labels.items()
              if qid in dataset.queries and any(g > 0 for g in gains.values())]

    def means(rows: list[tuple[float, float, float]]) -> dict[str, float]:
        count = max(len(rows), 1)
        return {name: round(sum(row[i] for row in rows) / count, 4)
                for i, name in enumerate(("ndcg@10", "mrr@50", "recall@50"))}

    report = {}
    with scratch_database():
        mapping = load_products(dataset.products, progress=progress)
        for method in methods:
            rank = METHODS[method]
            scores = {}
            started = time.perf_counter()
            for qid in judged:
                ranked = [mapping[pid] for pid in rank(dataset.queries[qid]) if pid in mapping]
                gains = dataset.labels[qid]
                scores[qid] = (ndcg_at(ranked, gains), mrr_at(ranked, gains), recall_at(ranked, gains))
            elapsed = time.perf_counter() - started
            report[method] = means(list(scores.values()))
            report[method]["queries/s"] = round(len(judged) / elapsed, 1) if elapsed else 0.0
            report[method]["queries"] = len(judged)
            if group_of is not None:
                groups = defaultdict(list)
                for qid, row in scores.items():
                    if qid in group_of:
                        groups[group_of[qid]].append(row)
                report[method]["groups"] = {group: {**means(rows), "queries": len(rows)}
                                            for group, rows in groups.items()}
    return report

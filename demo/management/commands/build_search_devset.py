import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai.search.evaluation import METHODS
from demo.devset import QUERY_KINDS, build_devset, evaluate_by_kind, write_devset


class Command(BaseCommand):
    help = ("Write a search development set built from the demo catalogue to DIR (products.csv, queries.csv "
            "with a query 'kind' column, labels.csv: the evaluate_search layout), with labels known by "
            "construction. --evaluate then scores the methods per query kind.")

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--products", type=int, default=5000,
                            help="demo products to generate (default 5000)")
        parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
        parser.add_argument("--titles-only", action="store_true",
                            help="products.csv gets product_id and title only (no description, category, "
                                 "attributes), like public product-search data sets")
        parser.add_argument("--evaluate", action="store_true",
                            help="then index DIR in a scratch database and print the figures per query kind")
        parser.add_argument("--methods", default="keyword,semantic,hybrid",
                            help="with --evaluate, comma-separated, from: " + ", ".join(METHODS))
        parser.add_argument("--json", dest="json_out", type=Path,
                            help="with --evaluate, also write the figures to this file")

    def handle(self, directory, products, seed, titles_only, evaluate, methods, json_out, **options):
        if products < 1:
            raise CommandError("--products must be at least 1")
        chosen = [m.strip() for m in methods.split(",") if m.strip()]
        if unknown := [m for m in chosen if m not in METHODS]:
            raise CommandError(f"Unknown method(s): {', '.join(unknown)}. Choose from {', '.join(METHODS)}.")
        devset = build_devset(products, seed)
        write_devset(directory, devset, titles_only=titles_only)
        counts = devset.counts()
        labels = sum(len(q.gains) for q in devset.queries)
        per_kind = ", ".join(f"{kind} {counts[kind]}" for kind in QUERY_KINDS)
        only = " (titles only)" if titles_only else ""
        self.stdout.write(f"wrote {directory}: {len(devset.products)} products{only}, "
                          f"{len(devset.queries)} queries ({per_kind}), {labels} labels")
        for noun, paraphrase, shared in devset.dropped:
            self.stdout.write(self.style.WARNING(f"dropped paraphrase {paraphrase!r} for {noun}: shares "
                                                 f"{', '.join(sorted(shared))} with its products"))
        if not evaluate:
            return
        with tqdm(total=len(devset.products), desc="indexing", unit="product",
                  disable=not self.stdout.isatty()) as bar:
            report = evaluate_by_kind(directory, chosen, progress=bar.update)
        self.stdout.write(f"{'method':<10} {'queries':<12} {'n':>4} {'ndcg@10':>8} {'mrr@50':>8} "
                          f"{'recall@50':>10}")
        for method, groups in report.items():
            for group, f in groups.items():
                self.stdout.write(f"{method:<10} {group:<12} {f['queries']:>4} {f['ndcg@10']:>8.4f} "
                                  f"{f['mrr@50']:>8.4f} {f['recall@50']:>10.4f}")
        if json_out:
            json_out.write_text(json.dumps(report, indent=2))
            self.stdout.write(f"wrote {json_out}")

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai.search.evaluation import METHODS, evaluate, load_dataset


class Command(BaseCommand):
    help = ("Score keyword, semantic and hybrid search on a labelled data set (products.csv, queries.csv, "
            "labels.csv in DIR), indexed in a scratch database: NDCG@10, MRR@50, recall@50, queries/s.")

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--methods", default="keyword,semantic,hybrid",
                            help="comma-separated, from: " + ", ".join(METHODS))
        parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures to this file")

    def handle(self, directory, methods, json_out, **options):
        chosen = [m.strip() for m in methods.split(",") if m.strip()]
        if unknown := [m for m in chosen if m not in METHODS]:
            raise CommandError(f"Unknown method(s): {', '.join(unknown)}. Choose from {', '.join(METHODS)}.")
        try:
            dataset = load_dataset(directory)
        except (FileNotFoundError, KeyError, ValueError) as error:
            raise CommandError(f"Cannot read the data set: {error}") from error
        self.stdout.write(f"{len(dataset.products)} products, {len(dataset.queries)} queries, "
                          f"{sum(len(g) for g in dataset.labels.values())} labels")
        with tqdm(total=len(dataset.products), desc="indexing", unit="product",
                  disable=not self.stdout.isatty()) as bar:
            report = evaluate(dataset, chosen, progress=bar.update)
        self.stdout.write(f"{'method':<10} {'ndcg@10':>8} {'mrr@50':>8} {'recall@50':>10} {'queries/s':>10}")
        for method, figures in report.items():
            self.stdout.write(f"{method:<10} {figures['ndcg@10']:>8.4f} {figures['mrr@50']:>8.4f} "
                              f"{figures['recall@50']:>10.4f} {figures['queries/s']:>10.1f}")
        if json_out:
            json_out.write_text(json.dumps(report, indent=2))
            self.stdout.write(f"wrote {json_out}")

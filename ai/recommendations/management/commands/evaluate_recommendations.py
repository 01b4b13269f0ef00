import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai.recommendations.evaluation import METHODS, evaluate


class Command(BaseCommand):
    help = ("Evaluate recommendations on an interaction log (CSV: user_id,item_id,timestamp[,event_type,...]): "
            "the last 20% of each user's interactions held out; precision@20, recall@20, NDCG@20 and catalogue "
            "coverage for the served model (selection on the train part, then its winner), plain ALS, item-item, "
            "popularity and random.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated, from: " + ", ".join(METHODS))
        parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures to this file")

    def handle(self, file, methods, json_out, **options):
        chosen = tuple(m.strip() for m in methods.split(",") if m.strip())
        if unknown := [m for m in chosen if m not in METHODS]:
            raise CommandError(f"Unknown method(s): {', '.join(unknown)}. Choose from {', '.join(METHODS)}.")
        if not file.is_file():
            raise CommandError(f"{file} does not exist.")
        with tqdm(total=len(chosen), desc="methods", unit="method", disable=not self.stdout.isatty()) as bar:
            try:
                report, summary = evaluate(file, methods=chosen, progress=lambda _: bar.update())
            except (ValueError, KeyError) as error:
                raise CommandError(f"Cannot read {file}: {error}") from error
        self.stdout.write(f"{summary['evaluated_users']} of {summary['users']} users evaluated, "
                          f"{summary['items']} items, {summary['train_cells']} training cells")
        if winner := summary["selection"].get("winner"):
            self.stdout.write(f"selected:{winner} (inner validation NDCG@20 "
                              f"{summary['selection']['candidates'][winner]['ndcg@20']:.4f})")
        self.stdout.write(f"{'method':<11} {'precision@20':>12} {'recall@20':>10} {'ndcg@20':>8} {'coverage':>9} "
                          f"{'seconds':>8}")
        for method, figures in report.items():
            self.stdout.write(f"{method:<11} {figures['precision@20']:>12.4f} {figures['recall@20']:>10.4f} "
                              f"{figures['ndcg@20']:>8.4f} {figures['coverage']:>9.4f} "
                              f"{summary['seconds'][method]:>8.1f}")
        if json_out:
            json_out.write_text(json.dumps({**report, "selection": summary["selection"]}, indent=2))
            self.stdout.write(f"wrote {json_out}")

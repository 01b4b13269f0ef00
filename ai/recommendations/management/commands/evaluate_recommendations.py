import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai.recommendations import surface_evaluation
from ai.recommendations.evaluation import METHODS, evaluate

SURFACES = ("personal", *surface_evaluation.SURFACES)
SURFACE_TITLES = {
    "similar": "similar: the list of each user's last train item against their held-out items",
    "bought_together": "bought together: each item of a test-period basket against the rest of the basket",
}


class Command(BaseCommand):
    help = ("Evaluate recommendations on an interaction log (CSV: user_id,item_id,timestamp[,event_type,...]) per "
            "surface. personal: the last 20% of each user's interactions held out; precision@20, recall@20, NDCG@20 "
            "and catalogue coverage for the served model (selection on the train part, then its winner), plain "
            "ALS, item-item, popularity and random. similar: each user's last train item's list against their "
            "held-out items. bought_together: leave one out in the baskets of the log's last 20% of time. "
            "See ai/recommendations/surface_evaluation.py.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--surfaces", default=",".join(SURFACES),
                            help="comma-separated, from: " + ", ".join(SURFACES))
        parser.add_argument("--methods", default=",".join(METHODS),
                            help="personal surface's methods, comma-separated, from: " + ", ".join(METHODS))
        parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures to this file")

    def handle(self, file, surfaces, methods, json_out, **options):
        surfaces = _choices(surfaces, SURFACES, "surface")
        chosen = _choices(methods, METHODS, "method")
        if not file.is_file():
            raise CommandError(f"{file} does not exist.")
        figures = {}
        try:
            if "personal" in surfaces:
                figures["personal"] = self._personal(file, chosen)
            for surface, (report, summary) in surface_evaluation.evaluate(file, surfaces).items():
                self._surface(surface, report, summary)
                figures[surface] = {**report, "summary": summary}
        except (ValueError, KeyError) as error:
            raise CommandError(f"Cannot evaluate {file}: {error}") from error
        if json_out:
            json_out.write_text(json.dumps(figures, indent=2))
            self.stdout.write(f"wrote {json_out}")

    def _personal(self, file: Path, chosen: tuple[str, ...]) -> dict:
        with tqdm(total=len(chosen), desc="methods", unit="method", disable=not self.stdout.isatty()) as bar:
            report, summary = evaluate(file, methods=chosen, progress=lambda _: bar.update())
        self.stdout.write(f"personal: {summary['evaluated_users']} of {summary['users']} users evaluated, "
                          f"{summary['items']} items, {summary['train_cells']} training cells")
        if winner := summary["selection"].get("winner"):
            self.stdout.write(f"selected:{winner} (inner validation NDCG@20 "
                              f"{summary['selection']['candidates'][winner]['ndcg@20']:.4f})")
        self.stdout.write(f"{'method':<13} {'precision@20':>12} {'recall@20':>10} {'ndcg@20':>8} {'coverage':>9} "
                          f"{'seconds':>8}")
        for method, figures in report.items():
            self.stdout.write(f"{method:<13} {figures['precision@20']:>12.4f} {figures['recall@20']:>10.4f} "
                              f"{figures['ndcg@20']:>8.4f} {figures['coverage']:>9.4f} "
                              f"{summary['seconds'][method]:>8.1f}")
        return {**report, "selection": summary["selection"]}

    def _surface(self, surface: str, report: dict, summary: dict) -> None:
        self.stdout.write("")
        self.stdout.write(f"{SURFACE_TITLES[surface]}; "
                          + ", ".join(f"{key} {value}" for key, value in summary.items() if key != "selection"))
        if winner := summary.get("selection", {}).get("winner"):
            self.stdout.write(f"selected:{winner}")
        width = max(map(len, report))
        self.stdout.write(f"{'method':<{width}} {'precision@20':>12} {'recall@20':>10} {'ndcg@20':>8} {'hit rate':>9} "
                          f"{'coverage':>9}")
        for method, figures in report.items():
            self.stdout.write(f"{method:<{width}} {figures['precision@20']:>12.4f} {figures['recall@20']:>10.4f} "
                              f"{figures['ndcg@20']:>8.4f} {figures['hit_rate']:>9.4f} {figures['coverage']:>9.4f}")


def _choices(given: str, known: tuple[str, ...], kind: str) -> tuple[str, ...]:
    chosen = tuple(name.strip() for name in given.split(",") if name.strip())
    if unknown := [name for name in chosen if name not in known]:
        raise CommandError(f"Unknown {kind}(s): {', '.join(unknown)}. Choose from {', '.join(known)}.")
    if not chosen:
        raise CommandError(f"Choose at least one {kind} from {', '.join(known)}.")
    return chosen

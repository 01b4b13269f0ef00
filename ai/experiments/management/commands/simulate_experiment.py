"""Planted-effect simulation of the results page's decision (``ai.experiments.simulation``): with the
effect planted and as an A/A test, how often a winner is declared, and CUPED's variance reduction.

    manage.py simulate_experiment --effect 0.10 --runs 200
"""

from dataclasses import replace

from django.core.management.base import BaseCommand

from ai.experiments.simulation import Scenario, simulate


class Command(BaseCommand):
    help = "How often the results page declares a winner with a planted effect and with none (A/A)."

    def add_arguments(self, parser):
        defaults = Scenario()
        parser.add_argument("--effect", type=float, default=defaults.effect, help="relative lift of the treatment")
        parser.add_argument("--baseline", type=float, default=defaults.baseline, help="conversion of the control")
        parser.add_argument("--shoppers", type=int, default=defaults.shoppers, help="per variant, whole run")
        parser.add_argument("--minimum", type=int, default=defaults.minimum_sample, help="minimum sample per variant")
        parser.add_argument("--days", type=int, default=defaults.days)
        parser.add_argument("--runs", type=int, default=200)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **options):
        planted = Scenario(baseline=options["baseline"], effect=options["effect"], shoppers=options["shoppers"],
                           minimum_sample=options["minimum"], days=options["days"])
        self.stdout.write(f"{options['runs']} runs each: {planted.shoppers} shoppers per variant over {planted.days} "
                          f"days, minimum sample {planted.minimum_sample}, control conversion {planted.baseline:.0%}, "
                          f"α = {planted.alpha:g}")
        self.stdout.write("| scenario | page's decision (always valid + CUPED) | always valid, no CUPED "
                          "| fixed horizon, read once at the end | fixed horizon, read daily "
                          "| CUPED variance reduction |")
        self.stdout.write("|---|---|---|---|---|---|")
        for name, scenario in ((f"+{planted.effect:.0%} planted", planted),
                               ("A/A (no effect)", replace(planted, effect=0.0))):
            found = simulate(scenario, options["runs"], seed=options["seed"])
            self.stdout.write(f"| {name} | {found.sequential:.1%} | {found.sequential_without_cuped:.1%} "
                              f"| {found.fixed_horizon_at_the_end:.1%} | {found.fixed_horizon_peeking:.1%} "
                              f"| {found.variance_reduction:.1%} |")

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai.pricing.analysis import DAY_PRICES, analyse, load_purchases, sql_signal_check


class Command(BaseCommand):
    help = ("Check the demand signals and the demand model on a retailer's purchase history (CSV with "
            "user_id,item_id,timestamp,event_type,quantity,price,description): what the model learns about "
            "price sensitivity and how both strategies would have moved prices. The file is only read.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--train-share", type=float, default=0.75,
                            help="share of trading days to train on; the rest is held out (default 0.75)")
        parser.add_argument("--day-price", choices=sorted(DAY_PRICES), default="highest",
                            help="a day's price from its lines: highest (the list price; lower ones are quantity "
                                 "tiers) or median (default: highest)")
        parser.add_argument("--sql-signals", type=int, default=0, metavar="N",
                            help="also load the purchases into a scratch database and compare the engine's SQL "
                                 "signals with the file's at N dates (default 0: skip; takes about a minute)")
        parser.add_argument("--json", dest="json_out", type=Path, help="also write the report to this file")

    def handle(self, file, train_share, day_price, sql_signals, json_out, **options):
        if not file.exists():
            raise CommandError(f"No such file: {file}")
        if not 0.3 <= train_share <= 0.95:
            raise CommandError("--train-share must be between 0.3 and 0.95.")
        quiet = not self.stdout.isatty()
        with tqdm(desc="reading", unit="line", disable=quiet) as bar:
            data = load_purchases(file, day_price=day_price, progress=bar.update)
        if not data.purchases:
            raise CommandError("The file holds no purchases with a positive quantity and price.")
        held_out = len(data.trading_days) - int(len(data.trading_days) * train_share)
        with tqdm(total=2 * held_out, desc="replaying proposals", unit="day", disable=quiet) as bar:
            report = analyse(data, train_share=train_share, progress=bar.update)
        report["file"]["day_price"] = day_price
        if sql_signals:
            step = max(1, len(data.trading_days) // (sql_signals + 1))
            days: list[dt.date] = data.trading_days[step::step][:sql_signals]
            with tqdm(total=len(data.purchases), desc="loading events", unit="event", disable=quiet) as bar:
                report["sql_signal_check"] = sql_signal_check(data, days, progress=bar.update)
        self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        if json_out:
            json_out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
            self.stdout.write(f"wrote {json_out}")

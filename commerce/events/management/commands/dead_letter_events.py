"""``manage.py dead_letter_events list|replay|purge``: the queued events the drain could not store."""

import re

from django.core.management.base import BaseCommand, CommandError

from commerce.events import services

# Control characters are shown escaped: a dead letter is untrusted input and must not drive the terminal.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(raw: bytes) -> str:
    text = raw.decode("utf-8", "backslashreplace")
    return CONTROL_CHARACTER.sub(lambda match: f"\\x{ord(match[0]):02x}", text)


class Command(BaseCommand):
    help = (
        "Inspect, replay or purge the dead-letter list: queued events the drain could not store "
        "(not JSON, a value PostgreSQL cannot hold, or rejected by PostgreSQL), each kept with its reason. "
        "'list' shows them oldest first; 'replay' queues them again (after fixing the cause, or as they "
        "are; --repair drops the characters PostgreSQL cannot store and cuts over-long strings first), and "
        "the drain stores them or dead-letters them again; 'purge' deletes them."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,replay,purge}")
        listing = actions.add_parser("list", help="Show each dead-lettered event with its reason.")
        listing.add_argument("--limit", type=int, default=None, help="Show only the oldest N.")
        replay = actions.add_parser("replay", help="Queue the dead-lettered events again.")
        replay.add_argument("--repair", action="store_true",
                            help="Drop NUL characters and lone surrogates and cut strings to their column first.")
        purge = actions.add_parser("purge", help="Delete the dead-lettered events.")
        purge.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                           help="Do not ask for confirmation.")

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_list(self, *, limit, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        total = services.queue_depth()["dead"]
        if not total:
            self.stdout.write("No dead-lettered events.")
            return
        letters = services.dead_letters(limit)
        shown = f", the oldest {len(letters):,} shown" if len(letters) < total else ", oldest first"
        self.stdout.write(f"{total:,} dead-lettered events{shown}:")
        for number, letter in enumerate(letters, 1):
            self.stdout.write(f"{number}. {letter.failed_at or 'time unknown'}  {letter.reason}")
            self.stdout.write(f"   {printable(letter.raw)}")

    def handle_replay(self, *, repair, **options):
        count = services.replay_dead_letters(repair=repair)
        if not count:
            self.stdout.write("No dead-lettered events to replay.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Queued {count:,} dead-lettered events again{' (repaired)' if repair else ''}. The next drain "
            "stores them; any it still cannot store return to the dead-letter list with their reason."))

    def handle_purge(self, *, interactive, **options):
        total = services.queue_depth()["dead"]
        if not total:
            self.stdout.write("No dead-lettered events.")
            return
        if interactive and input(f"Delete {total:,} dead-lettered events for good? [y/N] ").strip().lower() != "y":
            self.stdout.write("Nothing deleted.")
            return
        self.stdout.write(self.style.SUCCESS(f"Purged {services.purge_dead_letters():,} dead-lettered events."))

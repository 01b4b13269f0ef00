"""``manage.py demo_credentials``: the demo's logins (staff accounts and demo shoppers).

    manage.py demo_credentials           # who can log in, and the passwords that can still be shown
    manage.py demo_credentials --reset   # set the demo passwords again (creating missing staff) and print them

Staff passwords are stored hashed: ``seed_demo`` prints them once, when it creates the accounts. Without
``--reset`` a staff password is shown only when its environment variable (``VITRINE_ADMIN_PASSWORD``,
``VITRINE_MERCHANDISER_PASSWORD``) is set and still logs in; ``--reset`` gives each staff account that
variable's password, or a newly generated one, and every demo shopper the shared demo password.
"""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse

from demo import accounts


class Command(BaseCommand):
    help = "Print the demo's logins; with --reset, set their demo passwords again (creating missing staff)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="Give the staff accounts new passwords (from VITRINE_ADMIN_PASSWORD and "
                                 "VITRINE_MERCHANDISER_PASSWORD, else generated), create missing ones, and "
                                 f"set every demo shopper's password back to \"{accounts.DEMO_PASSWORD}\".")

    def handle(self, *args, **options):
        base_url = settings.WAGTAILADMIN_BASE_URL.rstrip("/")
        if options["reset"]:
            with transaction.atomic():
                staff = {account.username: account for account in accounts.ensure_staff(reset=True)}
                accounts.reset_shopper_passwords()
            created = [account.username for account in staff.values() if account.created]
            self.stdout.write(self.style.SUCCESS(
                "Demo passwords reset" + (f" (created: {', '.join(created)})." if created else ".")))
        else:
            staff = {}
            self.stdout.write(self.style.SUCCESS("Demo logins"))

        self.stdout.write("")
        self.stdout.write(f"Wagtail admin: {base_url}/admin/")
        for username, variable, _ in accounts.STAFF_ACCOUNTS:
            self.stdout.write(f"  {username:<13} " + self.staff_password(username, variable, staff.get(username)))

        self.stdout.write("")
        self.stdout.write(f"Shop login: {base_url}{reverse('account:login')}")
        shoppers = accounts.demo_shoppers()
        example = shoppers.order_by("username").first()
        if example is None:
            self.stdout.write(f"  No demo shoppers yet: `manage.py seed_demo` creates them "
                              f"(password \"{accounts.DEMO_PASSWORD}\").")
        elif options["reset"] or check_password(accounts.DEMO_PASSWORD, example.password):
            self.stdout.write(f"  {example.username} password: {accounts.DEMO_PASSWORD}")
            if (others := shoppers.count() - 1) > 0:
                self.stdout.write(f"  (and {others:,} more demo shoppers @{accounts.DEMO_EMAIL_DOMAIN}, "
                                  "same password)")
        else:
            self.stdout.write(f"  {example.username}: password changed since seeding; "
                              f"`manage.py demo_credentials --reset` sets \"{accounts.DEMO_PASSWORD}\" again.")

        if not options["reset"]:
            self.stdout.write("")
            self.stdout.write("`manage.py demo_credentials --reset` sets the demo passwords again and prints them.")

    @staticmethod
    def staff_password(username: str, variable: str, account: accounts.StaffAccount | None) -> str:
        if account is not None:  # just reset or created
            return f"password: {account.password}"
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            return "not created yet (`--reset` or `manage.py seed_demo` creates it)."
        chosen = os.environ.get(variable)  # hashers.check_password: reading never rehashes and saves
        if chosen and user.is_active and check_password(chosen, user.password):
            return f"password: {chosen}"
        return "password not shown: stored hashed (seed_demo printed it when it created the account)."

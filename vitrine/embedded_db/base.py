"""Django's PostgreSQL backend for the embedded server (``vitrine.embedded``).

Two differences, both for a server that runs beside the shop rather than as a managed service:
- a connection that finds the server gone starts it again (under the same file lock every process
  uses) and connects, so requests recover from a crash within seconds, without anyone typing a command;
- an error that breaks the connection carries the server log's own words for why (a backend killed by
  SIGILL, a shutdown), which psycopg can only report as "server closed the connection unexpectedly".
"""

import time
from pathlib import Path

from django.db.backends.postgresql import base
from django.db.utils import DatabaseErrorWrapper, OperationalError
from django.utils.functional import cached_property

from vitrine import embedded


class DatabaseWrapper(base.DatabaseWrapper):
    log_offset = 0  # the server log's size when this connection was made: what it logged after is ours

    @property
    def embedded_root(self) -> Path:
        return Path(self.settings_dict["EMBEDDED_ROOT"])

    def get_new_connection(self, conn_params):
        self.log_offset = embedded.postgres_log_size(self.embedded_root)
        try:
            return super().get_new_connection(conn_params)
        except base.Database.OperationalError:
            if embedded.postgres_is_running(self.embedded_root):
                raise
        embedded.ensure_postgres(self.embedded_root)
        self.log_offset = embedded.postgres_log_size(self.embedded_root)
        return super().get_new_connection(conn_params)

    def server_failure(self, *, wait: float = 1.0) -> str:
        """What the server logged about a failure since this connection was made. The client can see
        the connection drop before the postmaster has logged why, so this waits up to ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while not (cause := embedded.postgres_failure(self.embedded_root, after=self.log_offset)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return cause

    @cached_property
    def wrap_database_errors(self):
        return ErrorsNamingTheServersCause(self)


class ErrorsNamingTheServersCause(DatabaseErrorWrapper):
    def __exit__(self, exc_type, exc_value, traceback):
        try:
            return super().__exit__(exc_type, exc_value, traceback)
        except OperationalError as error:
            connection = self.wrapper.connection
            if connection is not None and (connection.broken or connection.closed):
                cause = self.wrapper.server_failure()
                if cause:
                    error.add_note(f"PostgreSQL's log ({self.wrapper.embedded_root / 'postgres' / 'log'}): {cause}")
            raise

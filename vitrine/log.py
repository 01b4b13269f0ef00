"""Logging for operators: failures that repeat on every call during an outage are logged once per
interval, as one line, with a count of what was held back."""

import logging
import threading
import time

from celery.app import trace


class FirstPerInterval(logging.Filter):
    """Lets the first record of every ``seconds`` through, without its traceback (the same one each
    time) but with the exception's type and message, and notes how many records it held back since.

    For django-redis with ``IGNORE_EXCEPTIONS``: while Redis is down every cache call fails and would log
    a full traceback (≈ 40 per page, a third of the page's time); one line every 10 s says the same.
    Records below ``level`` pass untouched (celery.beat: its routine INFO lines are not an outage)."""

    def __init__(self, seconds: float = 10.0, level: str = "NOTSET"):
        super().__init__()
        self.seconds = seconds
        self.level = logging.getLevelName(level)
        self._lock = threading.Lock()
        self._open_at = 0.0
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        now = time.monotonic()
        with self._lock:
            if now < self._open_at:
                self._held += 1
                return False
            held, self._held, self._open_at = self._held, 0, now + self.seconds
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            cause = error.__cause__ or error
            message = f"{message}: {type(cause).__name__}: {cause}"
            record.exc_info = record.exc_text = None
        if held:
            message += f" ({held} more like it in the last {self.seconds:g} s not logged)"
        record.msg, record.args = message, ()
        return True


class QuietPollingTasks(logging.Filter):
    """Drops Celery's INFO lines about frequently polled tasks on runs that did nothing.

    The event drain runs every 2 s; each run would log beat's "Sending due task", the worker's "received"
    and "succeeded in …s: 0". This filter, on the ``celery.beat``, ``celery.worker.strategy`` and
    ``celery.app.trace`` loggers, drops the first two for the listed ``tasks``, and their "succeeded" line
    when the task returned nothing (0, None or an empty collection: for the drain, no event moved). A run
    that returned something keeps its "succeeded" line (for the drain: how many events it moved). Every
    other task's lines, retries, and anything at WARNING or above (failures) always pass."""

    NOTHING = frozenset({"0", "None", "[]", "{}", "()", "''", "set()"})
    BEAT_SENDING = "Scheduler: Sending due task %s (%s)"

    def __init__(self, tasks: list[str] | tuple[str, ...] = ()):
        super().__init__()
        self.tasks = frozenset(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if record.msg == self.BEAT_SENDING:  # args: (schedule entry, task name)
            return not (isinstance(record.args, tuple) and len(record.args) == 2 and record.args[1] in self.tasks)
        context = record.args if isinstance(record.args, dict) else getattr(record, "data", None)
        if not isinstance(context, dict) or context.get("name") not in self.tasks:
            return True
        if record.msg == trace.LOG_RECEIVED:
            return False
        if record.msg == trace.LOG_SUCCESS:
            return str(context.get("return_value")) not in self.NOTHING
        return True

"""Logging for operators: failures that repeat on every call during an outage are logged once per
interval, as one line, with a count of what was held back."""

import logging
import threading
import time


class FirstPerInterval(logging.Filter):
    """Lets the first record of every ``seconds`` through, without its traceback (the same one each
    time) but with the exception's type and message, and notes how many records it held back since.

    For django-redis with ``IGNORE_EXCEPTIONS``: while Redis is down every cache call fails and would log
    a full traceback (≈ 40 per page, a third of the page's time); one line every 10 s says the same."""

    def __init__(self, seconds: float = 10.0):
        super().__init__()
        self.seconds = seconds
        self._lock = threading.Lock()
        self._open_at = 0.0
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
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

"""Log hygiene: every record from the HTTP stack is scrubbed of secrets.

httpx logs each request's full URL at INFO ("HTTP Request: GET ...?app_key=
...&sign=..."), and TikTok carries credentials in the query string. A
filter on the loggers that can see URLs or headers rewrites each record
through `scrub` before any handler formats it.
"""

from __future__ import annotations

import logging

from reconciler.http.errors import scrub

SCRUBBED_LOGGERS = ("httpx", "httpcore", "reconciler.http")


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_FILTER = ScrubFilter()


def install() -> None:
    """Attach the filter once per logger (idempotent)."""
    for name in SCRUBBED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def service_logger(service: str) -> logging.Logger:
    """The one logger of a service's client; filtered like the rest."""
    logger = _SERVICE_LOGGERS.get(service)
    if logger is None:
        logger = logging.getLogger(f"reconciler.http.{service}")
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        _SERVICE_LOGGERS[service] = logger
    return logger


_SERVICE_LOGGERS: dict[str, logging.Logger] = {}  # every client of a service shares its logger

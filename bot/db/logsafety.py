"""Keeps personal data out of logged tracebacks.

A database error's text carries the failing row: SQLAlchemy's parameters (hidden by
`hide_parameters`) and the server's own DETAIL ("Failing row contains (...)", PostgreSQL),
which may hold a resident's words or LINE id. Every log record is made through one factory, so
wrapping it is the one place that covers our `log.exception` calls and uvicorn's alike.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from sqlalchemy.exc import DBAPIError


class WithheldDatabaseError(Exception):
    """Stands in for a database error in logs: its class and where it happened, not its text."""


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_info = _withheld(*record.exc_info)
        return record

    logging.setLogRecordFactory(factory)


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _withheld(kind: type[BaseException] | None, error: BaseException | None,
              trace: TracebackType | None) -> Any:
    seen = error
    while seen is not None and not isinstance(seen, DBAPIError):
        seen = seen.__cause__ or seen.__context__
    if seen is None or error is None:
        return (kind, error, trace)
    inner = type(seen.orig).__name__ if seen.orig is not None else "unknown"
    stand_in = WithheldDatabaseError(
        f"{type(seen).__name__} ({inner}); details withheld: they may hold personal data")
    return (WithheldDatabaseError, stand_in.with_traceback(trace), trace)

"""structlog configuration: JSON in production, readable in development, never patient data.

Log calls pass structured fields, never resource bodies. As a second line of defence a
processor masks anything that looks like a Swedish personnummer or samordningsnummer in
every string value of every event.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

from gateway.settings import LogFormat

# YYYYMMDDNNNC or YYMMDD-NNNC shapes with a plausible month and day (samordningsnummer: day
# + 60), so organisation numbers and HSA-ids stay readable in the logs.
_PERSON_NUMBER = re.compile(
    r"(?<!\d)(?:\d{2})?\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01]|[6-8]\d|9[01])[-+]?\d{4}(?!\d)"
)
MASK = "[personnummer]"


def mask_person_numbers(text: str) -> str:
    return _PERSON_NUMBER.sub(MASK, text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_person_numbers(value)
    if isinstance(value, Mapping):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def redact_person_numbers(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask personnummer-shaped strings anywhere in the event."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _mask(value)
    return event_dict


def raised_at(error: BaseException) -> str:
    """Where ``error`` was raised, as ``module:function:line``: a place, never data."""
    frame, line = None, 0
    traceback = error.__traceback__
    while traceback is not None:
        frame, line = traceback.tb_frame, traceback.tb_lineno
        traceback = traceback.tb_next
    if frame is None:
        return "unknown"
    return f"{frame.f_globals.get('__name__', '?')}:{frame.f_code.co_name}:{line}"


class ExceptionTypeOnly(logging.Filter):
    """For the server's own stdlib records (uvicorn's "Exception in ASGI application"
    above all): the exception's type and where it was raised stay, its message and
    traceback go, since they may quote request data (a database error quotes its
    statement's parameters); what is left is masked as structlog events are."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            text = f"{text} ({type(error).__name__} at {raised_at(error)}; details withheld)"
        record.msg, record.args = mask_person_numbers(text), ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # Resolved per logger, not at configuration time, so a replaced sys.stderr is honoured.
    return structlog.PrintLogger(sys.stderr)


def _renderer(log_format: LogFormat) -> structlog.typing.Processor:
    if log_format is LogFormat.JSON:
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(
        colors=sys.stderr.isatty(),
        # Never rich tracebacks with local variables: they would print patient data.
        exception_formatter=structlog.dev.plain_traceback,
    )


def configure_logging(log_format: LogFormat, level: str = "INFO") -> None:
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_person_numbers,
            _renderer(log_format),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        if not any(isinstance(f, ExceptionTypeOnly) for f in server_logger.filters):
            server_logger.addFilter(ExceptionTypeOnly())


# ----- the server's own (stdlib) loggers ------------------------------------------------


def server_formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    """A stdlib formatter that renders a record as the gateway's structlog events are
    rendered: one JSON object a line in JSON mode, with the level, the logger's name
    and the time, personnummer masked."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.processors.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_person_numbers,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _renderer(LogFormat(log_format)),
        ],
    )


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to sys.stderr as it is when the record comes, like the structlog loggers."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def server_log_config(log_format: LogFormat) -> dict[str, Any]:
    """uvicorn's ``log_config``: its loggers (uvicorn, uvicorn.error, uvicorn.access) on
    stderr through :func:`server_formatter`, instead of uvicorn's own plain-text lines.

    uvicorn applies it in the serving process and in each worker process it spawns,
    before anything is logged; every record loses its exception details first."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "gateway": {"()": f"{__name__}.server_formatter", "log_format": log_format.value}
        },
        "filters": {"exception_type_only": {"()": f"{__name__}.ExceptionTypeOnly"}},
        "handlers": {
            "stderr": {
                "()": f"{__name__}.StderrHandler",
                "formatter": "gateway",
                "filters": ["exception_type_only"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            # Off in `serve` (the gateway writes its own access log); rendered alike if on.
            "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger

"""Logging that reaches the host's pino log: `ctx.log` for the engine's own lines, and a
handler on the root `logging` logger for libraries (their print()s go to stdout/stderr,
which the host captures line by line)."""

from __future__ import annotations

import logging
from typing import Any, Callable

Send = Callable[[dict[str, Any]], None]

_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error"}


def _jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in extra.items():
        out[key] = value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else repr(value)
    return out


class EngineLogger:
    def __init__(self, send: Send, name: str = "engine") -> None:
        self._send = send
        self._name = name

    def _log(self, level: str, msg: str, extra: dict[str, Any]) -> None:
        message: dict[str, Any] = {"type": "log", "level": level, "msg": str(msg)}
        if extra:
            message["extra"] = _jsonable(extra)
        self._send(message)

    def debug(self, msg: str, **extra: Any) -> None:
        self._log("debug", msg, extra)

    def info(self, msg: str, **extra: Any) -> None:
        self._log("info", msg, extra)

    def warn(self, msg: str, **extra: Any) -> None:
        self._log("warn", msg, extra)

    warning = warn

    def error(self, msg: str, **extra: Any) -> None:
        self._log("error", msg, extra)


class HostLogHandler(logging.Handler):
    """Forwards `logging` records (the engine's and its libraries') to the host."""

    def __init__(self, send: Send) -> None:
        super().__init__(logging.INFO)
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = "error" if record.levelno >= logging.ERROR else _LEVELS.get(record.levelno, "warn" if record.levelno > logging.INFO else "debug")
            extra: dict[str, Any] = {"logger": record.name}
            if record.exc_info:
                extra["exc"] = logging.Formatter().formatException(record.exc_info)
            self._send({"type": "log", "level": level, "msg": record.getMessage(), "extra": extra})
        except Exception:  # noqa: BLE001 - logging must never break the engine
            self.handleError(record)

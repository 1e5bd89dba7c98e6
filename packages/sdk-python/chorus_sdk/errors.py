"""Typed errors an engine raises to tell the host something it can act on.

They cross the process boundary by name (protocol v1 `error` message), so the host sees the
same class on its side: OutOfMemoryError makes the scheduler re-place the engine down its
fallback chain, BadOptionError becomes a 400 naming the option.
"""

from __future__ import annotations

import re
import traceback
from typing import Any


class EngineError(Exception):
    """Anything the engine wants the host to report as an engine failure."""

    name = "EngineError"
    code = "ENGINE_FAILED"


class OutOfMemoryError(EngineError):
    """The device ran out of memory. `needed_mb`: the allocation that failed, when known."""

    name = "OutOfMemoryError"
    code = "ENGINE_OUT_OF_MEMORY"

    def __init__(self, message: str = "out of memory", needed_mb: float | None = None) -> None:
        super().__init__(message)
        self.needed_mb = needed_mb


class BadOptionError(EngineError):
    """A request option the engine cannot honour; `option` is the option's key."""

    name = "BadOptionError"
    code = "ENGINE_BAD_OPTION"

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


class VoiceNotFoundError(EngineError):
    """The request's voice is not one of the engine's."""

    name = "VoiceNotFoundError"
    code = "ENGINE_VOICE_NOT_FOUND"

    def __init__(self, voice: str) -> None:
        super().__init__(f"unknown voice '{voice}'")
        self.voice = voice


class AbortError(EngineError):
    """The host cancelled the request (raised for you between chunks)."""

    name = "AbortError"
    code = "ENGINE_ABORTED"

    def __init__(self, message: str = "synthesis aborted") -> None:
        super().__init__(message)


_SIZE = re.compile(r"Tried to allocate ([0-9.]+) ?([KMGT]i?B)", re.IGNORECASE)
_UNIT_MB = {"k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0 * 1024.0}


def _is_foreign_oom(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (and its alias torch.OutOfMemoryError), without importing torch."""
    if isinstance(exc, MemoryError):
        return True
    for cls in type(exc).__mro__:
        if cls.__name__ == "OutOfMemoryError" and cls.__module__.split(".")[0] == "torch":
            return True
    return isinstance(exc, RuntimeError) and "CUDA out of memory" in str(exc)


def needed_mb_from_message(message: str) -> float | None:
    """The size in torch's 'Tried to allocate 2.00 GiB' message, in MB."""
    match = _SIZE.search(message)
    if not match:
        return None
    return round(float(match.group(1)) * _UNIT_MB[match.group(2)[0].lower()], 1)


def serialize_error(exc: BaseException) -> dict[str, Any]:
    """The wire form of an exception: {name, message, code, neededMb?, option?, stack}."""
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, EngineError):
        out: dict[str, Any] = {"name": exc.name, "code": exc.code, "message": str(exc) or exc.name}
        if isinstance(exc, OutOfMemoryError) and exc.needed_mb is not None:
            out["neededMb"] = exc.needed_mb
        if isinstance(exc, BadOptionError):
            out["option"] = exc.option
        if isinstance(exc, VoiceNotFoundError):
            out["voice"] = exc.voice
    elif _is_foreign_oom(exc):
        message = str(exc) or "out of memory"
        out = {"name": "OutOfMemoryError", "code": "ENGINE_OUT_OF_MEMORY", "message": message}
        needed = needed_mb_from_message(message)
        if needed is not None:
            out["neededMb"] = needed
    else:
        out = {"name": "EngineError", "code": "ENGINE_FAILED", "message": f"{type(exc).__name__}: {exc}"}
    out["stack"] = stack[-8000:]
    return out

"""STAND-IN for torch.cuda: one simulated CUDA device (tests only)."""

from __future__ import annotations

import json
import os
from typing import Any

#: MB held on the simulated device (the stand-in model adds itself when moved there).
_reserved_mb: dict[int, float] = {}


class OutOfMemoryError(RuntimeError):
    pass


OutOfMemoryError.__module__ = "torch.cuda"


def record(event: dict[str, Any]) -> None:
    path = os.environ.get("XTTS_STANDIN_LOG")
    if path:
        with open(path, "a", encoding="utf8") as out:
            out.write(json.dumps({"pid": os.getpid(), **event}) + "\n")


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def get_device_name(device: Any = None) -> str:
    return "Stand-in GPU"


def _index(device: Any) -> int:
    if device is None:
        return 0
    if isinstance(device, int):
        return device
    text = str(device)
    return int(text.split(":")[1]) if ":" in text else 0


def memory_reserved(device: Any = None) -> int:
    return int(_reserved_mb.get(_index(device), 0.0) * 2**20)


def max_memory_reserved(device: Any = None) -> int:
    return memory_reserved(device)


def set_device(device: Any) -> None:
    record({"call": "set_device", "device": _index(device)})


def empty_cache() -> None:
    record({"call": "empty_cache"})


def _hold(index: int, mb: float) -> None:
    _reserved_mb[index] = max(0.0, _reserved_mb.get(index, 0.0) + mb)

"""STAND-IN for torch (tests only; see tests/xtts/standin/README.md)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from . import cuda, version  # noqa: F401

__version__ = "2.8.0+standin"
OutOfMemoryError = cuda.OutOfMemoryError


class Tensor:
    def __init__(self, data: list[float], device: str = "cpu") -> None:
        self.data = [float(x) for x in data]
        self.device = device

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.data),)

    def cpu(self) -> Tensor:
        return Tensor(self.data, "cpu")

    def detach(self) -> Tensor:
        return self

    def to(self, device: Any) -> Tensor:
        return Tensor(self.data, str(device))

    def numpy(self) -> list[float]:
        if self.device != "cpu":
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu()")
        return list(self.data)

    def __len__(self) -> int:
        return len(self.data)


def _flat(data: Any) -> list[float]:
    return [x for item in data for x in _flat(item)] if isinstance(data, (list, tuple)) else [data]


def tensor(data: Any, device: str = "cpu") -> Tensor:
    """Nested lists as torch.tensor takes them (the stand-in keeps the values flat)."""
    return Tensor(_flat(data), device)


def _encode(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return {"__tensor__": obj.data}
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return Tensor(obj["__tensor__"])
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def save(obj: Any, f: str) -> None:
    with open(f, "w", encoding="utf8") as out:
        json.dump(_encode(obj), out)


def load(f: str, map_location: Any = None, weights_only: bool = True) -> Any:
    with open(f, encoding="utf8") as src:
        return _decode(json.load(src))


@contextlib.contextmanager
def inference_mode(mode: bool = True):  # type: ignore[no-untyped-def]
    yield


no_grad = inference_mode

"""The engine contract for Python plugins (the same calls as the TypeScript SDK's Engine).

A plugin's entry module defines `create(context) -> Engine`; the runner calls it once per
engine process, then drives the engine: load(ctx), list_voices(), synthesize(request,
cancelled) (a generator of chunks), unload(). Calls come from worker threads: synthesize may
run several times at once up to the profile's maxParallel (with parallelism "replicas" the
host runs several engine processes instead, each getting one synthesize at a time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

from .audio import AudioChunk
from .log import EngineLogger


@dataclass(frozen=True)
class Device:
    """Where the scheduler placed this load. `simulated`: a CUDA profile on a simulated card
    (run the CPU path). `index`: the CUDA device to use (`cuda:{index}`)."""

    kind: str = "cpu"
    index: int = 0
    simulated: bool = False

    @property
    def torch_device(self) -> str:
        return "cpu" if self.kind != "cuda" or self.simulated else f"cuda:{self.index}"


@dataclass
class LoadContext:
    profile: dict[str, Any]
    device: Device
    settings: dict[str, Any]
    data_dir: str
    plugin_dir: str
    log: EngineLogger
    raw: dict[str, Any] = field(default_factory=dict)
    report_memory: Callable[..., None] = field(default=lambda **_: None)
    """report_memory(vram_mb=None, ram_mb=None, device=None): the engine's own measurement
    (e.g. torch.cuda.memory_reserved() / 2**20), so the scheduler learns the real footprint."""

    @property
    def profile_name(self) -> str:
        return str(self.profile.get("name", ""))


@dataclass(frozen=True)
class SynthesisRequest:
    text: str
    voice: str
    speed: float = 1.0
    pitch: float = 1.0
    language: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    continues: bool = False
    """More of the same client request follows right after this call (the next part of a
    narrated text): an engine that moves its model per request (low-VRAM) may keep it in place."""

    @staticmethod
    def from_wire(data: dict[str, Any]) -> SynthesisRequest:
        return SynthesisRequest(
            text=str(data.get("text", "")),
            voice=str(data.get("voice", "")),
            speed=float(data.get("speed", 1.0)),
            pitch=float(data.get("pitch", 1.0)),
            language=data.get("language"),
            options=dict(data.get("options") or {}),
            continues=bool(data.get("continues", False)),
        )


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: list[str]
    gender: str | None = None
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "languages": list(self.languages)}
        if self.gender:
            out["gender"] = self.gender
        if self.description:
            out["description"] = self.description
        return out


class Cancelled:
    """Set when the host aborts the request. Truthy once set; `raise_if_set()` raises
    AbortError. The runner also stops the generator between chunks by itself."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleeps up to `timeout` s, waking early on cancellation; True when cancelled."""
        return self._event.wait(timeout)

    def raise_if_set(self) -> None:
        if self._event.is_set():
            from .errors import AbortError

            raise AbortError()


class Engine:
    """Base class: override load, list_voices and synthesize (unload and health optional)."""

    def load(self, ctx: LoadContext) -> None:
        """Load models and warm up. Raise OutOfMemoryError when the device lacks memory."""

    def unload(self) -> None:
        """Release what load took. The process ends after it anyway."""

    def list_voices(self) -> list[Voice]:
        raise NotImplementedError("list_voices")

    def synthesize(self, request: SynthesisRequest, cancelled: Cancelled) -> Iterator[AudioChunk]:
        """Yield AudioChunk (or (sample_rate, pcm_bytes | float samples)) as audio is made."""
        raise NotImplementedError("synthesize")

    def health(self) -> dict[str, Any]:
        return {"ok": True}


@dataclass(frozen=True)
class PluginContext:
    manifest: dict[str, Any]

"""The trainer worker's side of the line protocol (docs/finetune.md, "The trainer protocol").

One JSON object per line. Worker to host on file descriptor 3 (stdout stays free for the
libraries' own prints); host to worker on stdin: {"type": "stop" | "pause" | "resume"}.
This module imports nothing beyond the standard library, so it is tested without torch.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import IO, Any

PROTOCOL = 1

_MIB = {"b": 1 / 1048576, "kib": 1 / 1024, "mib": 1.0, "gib": 1024.0, "tib": 1048576.0}
_ALLOC = re.compile(r"tried to allocate\s+([\d.]+)\s*(b|kib|mib|gib|tib)", re.IGNORECASE)
_TOTAL = re.compile(r"([\d.]+)\s*(b|kib|mib|gib|tib)\s+total capacity|total capacity of\s+([\d.]+)\s*(b|kib|mib|gib|tib)", re.IGNORECASE)


def _mb(value: str, unit: str) -> float:
    return round(float(value) * _MIB[unit.lower()], 1)


def failed_allocation_mb(message: str) -> float | None:
    """The allocation a CUDA out-of-memory message says failed ("Tried to allocate 20.00 MiB")."""
    m = _ALLOC.search(message)
    return _mb(m.group(1), m.group(2)) if m else None


def total_capacity_mb(message: str) -> float | None:
    """The card's capacity as the message states it ("11.99 GiB total capacity")."""
    m = _TOTAL.search(message)
    if not m:
        return None
    return _mb(m.group(1), m.group(2)) if m.group(1) else _mb(m.group(3), m.group(4))


def is_out_of_memory(error: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (or a RuntimeError saying the same), without importing torch."""
    name = type(error).__name__
    return name == "OutOfMemoryError" or "out of memory" in str(error).lower()


class Channel:
    """Writes protocol messages to the host (fd 3 by default), one line each, flushed."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else os.fdopen(3, "w", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def send(self, type_: str, **fields: Any) -> None:
        line = json.dumps({"type": type_, **fields}, separators=(",", ":"), allow_nan=False, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def start(self, **fields: Any) -> None:
        self.send("start", protocol=PROTOCOL, **fields)

    def progress(self, *, epoch: int, step: int, global_step: int, steps_per_epoch: int, loss: float, learning_rate: float,
                 samples_per_second: float, step_seconds: float, max_allocated_mb: float, max_reserved_mb: float,
                 longest_clip_seconds: float, reserved_mb: float | None = None, total_mb: float | None = None) -> None:
        extra: dict[str, float] = {}
        if reserved_mb is not None:
            extra["reservedMb"] = round(reserved_mb, 1)
        if total_mb is not None:
            extra["totalMb"] = round(total_mb, 1)
        self.send("progress", epoch=epoch, step=step, globalStep=global_step, stepsPerEpoch=steps_per_epoch, loss=float(loss),
                  learningRate=float(learning_rate), samplesPerSecond=round(samples_per_second, 3), stepSeconds=round(step_seconds, 4),
                  maxAllocatedMb=round(max_allocated_mb, 1), maxReservedMb=round(max_reserved_mb, 1),
                  longestClipSeconds=round(longest_clip_seconds, 3), **extra)

    def checkpoint(self, path: str, epoch: int, global_step: int, reason: str) -> None:
        self.send("checkpoint", path=path, epoch=epoch, globalStep=global_step, reason=reason)

    def eval(self, epoch: int, global_step: int, loss: float) -> None:
        self.send("eval", epoch=epoch, globalStep=global_step, loss=float(loss))

    def oom(self, error: BaseException, *, peak_allocated_mb: float, peak_reserved_mb: float, total_mb: float | None,
            batch_size: int, longest_clip_seconds: float, global_step: int, phase: str = "forward") -> None:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        self.send("oom", message=message[:500], failedAllocationMb=failed_allocation_mb(str(error)),
                  peakAllocatedMb=round(peak_allocated_mb, 1), peakReservedMb=round(peak_reserved_mb, 1),
                  totalMb=total_mb if total_mb is not None else total_capacity_mb(str(error)), batchSize=batch_size,
                  longestClipSeconds=round(longest_clip_seconds, 3), globalStep=global_step, phase=phase)

    def finished(self, model_path: str, checkpoint: str | None, epochs: int, global_step: int) -> None:
        self.send("finished", modelPath=model_path, checkpoint=checkpoint, epochs=epochs, globalStep=global_step)

    def failed(self, reason: str, detail: str | None = None) -> None:
        self.send("failed", reason=reason, **({"detail": detail[-4000:]} if detail else {}))

    def log(self, level: str, message: str) -> None:
        self.send("log", level=level, message=message)


@dataclass
class Control:
    """The host's commands, read from stdin on a thread; the training loop polls `check()`."""

    stop_requested: bool = False
    paused: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def apply(self, line: str) -> str | None:
        try:
            command = json.loads(line)
        except ValueError:
            return None
        kind = command.get("type") if isinstance(command, dict) else None
        with self._cond:
            if kind == "stop":
                self.stop_requested = True
            elif kind == "pause":
                self.paused = True
            elif kind == "resume":
                self.paused = False
            else:
                return None
            self._cond.notify_all()
        return str(kind)

    def listen(self, stream: IO[str] | None = None) -> threading.Thread:
        source = stream if stream is not None else sys.stdin

        def run() -> None:
            for line in source:
                self.apply(line)
            with self._cond:  # stdin closed: the host is gone, stop at the next step
                self.stop_requested = True
                self._cond.notify_all()

        thread = threading.Thread(target=run, name="chorus-control", daemon=True)
        thread.start()
        return thread

    def wait_while_paused(self, on_pause: Any = None, on_resume: Any = None, hold: bool = False) -> None:
        """Blocks while paused (or, with `hold`, until any command arrives); returns at once on stop."""
        with self._cond:
            if hold and not self.paused and not self.stop_requested:
                self.paused = True
            if not self.paused or self.stop_requested:
                return
            if on_pause is not None:
                on_pause()
            while self.paused and not self.stop_requested:
                self._cond.wait()
        if on_resume is not None and not self.stop_requested:
            on_resume()


def ignore_interrupts() -> None:
    """Ctrl-C in the terminal reaches the whole process group: the host turns it into a stop
    command (checkpoint first), so the worker itself must not die of the SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def read_job(path: str) -> dict[str, Any]:
    """The job file the host wrote (core/finetune/runner/protocol.ts WorkerJob)."""
    with open(path, encoding="utf-8") as f:
        job: dict[str, Any] = json.load(f)
    if job.get("protocol") != PROTOCOL:
        raise ValueError(f"job file protocol {job.get('protocol')!r}, this worker speaks {PROTOCOL}")
    for key in ("mode", "baseModelDir", "dataset", "outDir", "checkpointDir", "trainerConfig", "epochs"):
        if key not in job:
            raise ValueError(f"job file lacks '{key}'")
    return job


def setting(job: dict[str, Any], section: str, name: str, default: Any = None) -> Any:
    """A field of the plan's trainerConfig (GPTArgs / GPTTrainerConfig / TrainerArgs)."""
    return job["trainerConfig"].get(section, {}).get(name, default)

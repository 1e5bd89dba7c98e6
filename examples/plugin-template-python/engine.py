"""A complete Python engine to copy: one chime per word, streamed as it is made.

The host runs this module in its own process with the plugin's environment
(`chorus plugin setup ID`) and calls `create(context)` once; every call below comes from
the protocol loop of `chorus_sdk` (docs/plugins.md, "Python plugins")."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from chorus_sdk import AudioChunk, BadOptionError, Cancelled, Engine, LoadContext, SynthesisRequest, Voice, VoiceNotFoundError

RATE = 16000
VOICES = {"low": 330.0, "high": 660.0}


class ChimeEngine(Engine):
    def load(self, ctx: LoadContext) -> None:
        # Load models here: ctx.device says where (ctx.device.torch_device: "cpu" or "cuda:N"),
        # ctx.settings has engines.settings.<id>, ctx.data_dir is writable. Raise
        # OutOfMemoryError(needed_mb=...) when the device lacks memory, and report what the
        # model really holds: ctx.report_memory(vram_mb=torch.cuda.memory_reserved() / 2**20).
        ctx.log.info("chime engine loaded", profile=ctx.profile_name)

    def list_voices(self) -> list[Voice]:
        return [Voice(id=v, name=v.capitalize(), languages=["en"]) for v in VOICES]

    def synthesize(self, request: SynthesisRequest, cancelled: Cancelled) -> Iterator[AudioChunk]:
        if request.voice not in VOICES:
            raise VoiceNotFoundError(request.voice)
        volume = float(request.options.get("volume", 0.5))
        if volume > 0.95:
            raise BadOptionError("volume", "volume above 0.95 clips")
        freq = VOICES[request.voice] * request.pitch
        seconds = 0.25 / max(0.25, request.speed)
        for _word in request.text.split():
            if cancelled:  # the runner also stops the generator between chunks
                return
            n = int(RATE * seconds)
            samples = [volume * math.sin(2 * math.pi * freq * i / RATE) * (1 - i / n) for i in range(n)]
            yield AudioChunk.from_float(RATE, samples)


def create(_context: Any) -> Engine:
    return ChimeEngine()

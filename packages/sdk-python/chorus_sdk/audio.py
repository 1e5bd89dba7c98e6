"""Audio chunks as the protocol carries them: mono signed 16-bit little-endian PCM."""

from __future__ import annotations

import array
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class AudioChunk:
    """`pcm`: mono int16 little-endian bytes at `sample_rate` Hz."""

    sample_rate: int
    pcm: bytes

    @staticmethod
    def from_float(sample_rate: int, samples: Any) -> AudioChunk:
        """Float samples in [-1, 1] (a list, an array.array, or a numpy-like array), clipped."""
        return AudioChunk(sample_rate, float_to_pcm16(samples))

    @staticmethod
    def from_int16(sample_rate: int, samples: Iterable[int]) -> AudioChunk:
        data = array.array("h", samples)
        if sys.byteorder == "big":
            data.byteswap()
        return AudioChunk(sample_rate, data.tobytes())


def float_to_pcm16(samples: Any) -> bytes:
    """Clip to [-1, 1], scale by 32767, truncate toward zero (as the TypeScript SDK does)."""
    if hasattr(samples, "detach") and hasattr(samples, "cpu"):  # a torch tensor
        samples = samples.detach().cpu().numpy()
    if hasattr(samples, "astype") and hasattr(samples, "clip"):  # numpy, without importing it
        scaled = samples.reshape(-1).clip(-1.0, 1.0) * 32767.0
        return bytes(scaled.astype("<i2").tobytes())
    out = array.array("h", (int(max(-1.0, min(1.0, float(s))) * 32767.0) for s in samples))
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


ChunkLike = Union[AudioChunk, "tuple[int, Any]"]


def to_chunk(value: Any) -> AudioChunk:
    """What a generator may yield: an AudioChunk, or (sample_rate, bytes | float samples)."""
    if isinstance(value, AudioChunk):
        chunk = value
    elif isinstance(value, tuple) and len(value) == 2:
        rate, data = value
        chunk = AudioChunk(int(rate), bytes(data)) if isinstance(data, (bytes, bytearray, memoryview)) else AudioChunk.from_float(int(rate), data)
    else:
        raise TypeError(f"synthesize() must yield AudioChunk or (sample_rate, samples), got {type(value).__name__}")
    if not isinstance(chunk.sample_rate, int) or not 1000 <= chunk.sample_rate <= 384000:
        raise ValueError(f"implausible sample rate {chunk.sample_rate!r}")
    if len(chunk.pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    return chunk


def split(chunk: AudioChunk, max_bytes: int) -> Iterator[AudioChunk]:
    """Pieces of at most `max_bytes` (even), so the host's read-ahead bound holds."""
    step = max(2, max_bytes - max_bytes % 2)
    if len(chunk.pcm) <= step:
        yield chunk
        return
    for start in range(0, len(chunk.pcm), step):
        yield AudioChunk(chunk.sample_rate, chunk.pcm[start : start + step])

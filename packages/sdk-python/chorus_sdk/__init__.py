"""Chorus engine SDK for Python plugins (standard library only). Versioned with the
TypeScript SDK (core/sdk): the same major speaks the same protocol (docs/protocol.md)."""

__version__ = "1.0.0"

from .audio import AudioChunk, float_to_pcm16  # noqa: E402
from .engine import Cancelled, Device, Engine, LoadContext, PluginContext, SynthesisRequest, Voice  # noqa: E402
from .errors import AbortError, BadOptionError, EngineError, OutOfMemoryError, VoiceNotFoundError  # noqa: E402
from .log import EngineLogger  # noqa: E402

__all__ = [
    "__version__",
    "AudioChunk",
    "float_to_pcm16",
    "Cancelled",
    "Device",
    "Engine",
    "LoadContext",
    "PluginContext",
    "SynthesisRequest",
    "Voice",
    "AbortError",
    "BadOptionError",
    "EngineError",
    "OutOfMemoryError",
    "VoiceNotFoundError",
    "EngineLogger",
]

"""XTTS voices: reference clips in the voices folder (NAME.wav, voice id `NAME.wav` as in AllTalk), voice sets (a folder of
clips, `voiceset:NAME`), AllTalk's `latent:NAME` (a saved latents file, NAME.pth in the
voices folder's `latents/`), and the built-in speakers of the model's speakers_xtts.pth.
Clips are validated on discovery: decodable 16-bit PCM WAV, 3-30 s; clipping and a
near-silent clip give warnings."""

from __future__ import annotations

import array
import hashlib
import os
import sys
import wave
from collections.abc import Callable
from dataclasses import dataclass, field

MIN_SECONDS = 3.0
MAX_SECONDS = 30.0


@dataclass
class ClipInfo:
    path: str
    seconds: float = 0.0
    error: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class VoiceEntry:
    id: str
    name: str
    kind: str  # "clip" | "set" | "latent" | "builtin"
    clips: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def inspect_clip(path: str) -> ClipInfo:
    info = ClipInfo(path)
    try:
        with wave.open(path, "rb") as w:
            frames, rate, width, channels = w.getnframes(), w.getframerate(), w.getsampwidth(), w.getnchannels()
            data = w.readframes(min(frames, rate * int(MAX_SECONDS + 1)))
    except (OSError, EOFError, wave.Error) as exc:
        info.error = f"not a decodable WAV: {exc}"
        return info
    info.seconds = frames / float(rate or 1)
    if info.seconds < MIN_SECONDS or info.seconds > MAX_SECONDS:
        info.error = f"{info.seconds:.1f} s long; XTTS needs {MIN_SECONDS:.0f}-{MAX_SECONDS:.0f} s of speech"
        return info
    if width != 2:
        info.warnings.append(f"{8 * width}-bit samples: 16-bit is expected")
        return info
    samples = array.array("h", data)
    if sys.byteorder == "big":
        samples.byteswap()
    if channels > 1:
        samples = samples[::channels]
    peak = max((abs(s) for s in samples), default=0)
    clipped = sum(1 for s in samples if abs(s) >= 32700)
    if clipped > len(samples) / 1000:
        info.warnings.append(f"clipping: {clipped} samples at full scale")
    rms = (sum(s * s for s in samples[::8]) / max(1, len(samples[::8]))) ** 0.5
    if peak < 1000 or rms < 150:
        info.warnings.append("very quiet or silent: cloning needs clear speech")
    return info


def content_hash(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()[:24]


def scan_voices(voices_dir: str, builtin: list[str], warn: Callable[[str], None]) -> dict[str, VoiceEntry]:
    out: dict[str, VoiceEntry] = {}
    try:
        names = sorted(os.listdir(voices_dir))
    except OSError:
        names = []
    for name in names:
        path = os.path.join(voices_dir, name)
        if name.lower().endswith(".wav") and os.path.isfile(path):
            clip = inspect_clip(path)
            if clip.error:
                warn(f"voice {name} skipped: {clip.error}")
                continue
            for w in clip.warnings:
                warn(f"voice {name}: {w}")
            # The id is the file name, as AllTalk lists and clients send it ("female_01.wav").
            out[name] = VoiceEntry(name, name[:-4], "clip", [path], clip.warnings)
        elif os.path.isdir(path) and name != "latents" and not name.startswith("."):
            clips = []
            for clip_name in sorted(os.listdir(path)):
                if clip_name.lower().endswith(".wav"):
                    clip = inspect_clip(os.path.join(path, clip_name))
                    if clip.error:
                        warn(f"voice set {name}: {clip_name} skipped: {clip.error}")
                    else:
                        clips.append(clip.path)
            if clips:
                out[f"voiceset:{name}"] = VoiceEntry(f"voiceset:{name}", name, "set", clips)
    latents = os.path.join(voices_dir, "latents")
    if os.path.isdir(latents):
        for name in sorted(os.listdir(latents)):
            if name.endswith(".pth"):
                out[f"latent:{name[:-4]}"] = VoiceEntry(f"latent:{name[:-4]}", name[:-4], "latent", [os.path.join(latents, name)])
    for speaker in builtin:
        out.setdefault(speaker, VoiceEntry(speaker, speaker, "builtin"))
    return out


def lookup(voices: dict[str, VoiceEntry], wanted: str) -> VoiceEntry | None:
    """By id; a clip also by its name without `.wav`."""
    return voices.get(wanted) or voices.get(f"{wanted}.wav")

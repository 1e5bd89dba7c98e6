"""XTTS voices: reference clips in the voices folder (NAME.wav, voice id `NAME.wav` as in AllTalk), voice sets (a folder of
clips, `voiceset:NAME`), AllTalk's `latent:NAME` (saved latents in the voices folder's `latents/`: NAME.pth as
torch.save wrote it, or NAME.json as AllTalk keeps them), and the built-in speakers of the model's speakers_xtts.pth.
Clips are validated on discovery: a decodable WAV (PCM 8-32 bit or 32-bit float, mono or
stereo, any rate: coqui downmixes and resamples), 3-30 s; clipping and a
near-silent clip give warnings."""

from __future__ import annotations

import array
import hashlib
import os
import struct
import sys
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


#: What coqui's loader (torchaudio) reads but this engine does not list: named in a warning.
OTHER_AUDIO = (".mp3", ".flac", ".ogg", ".opus", ".m4a", ".aac", ".webm")
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


def _read_wav(path: str, max_seconds: float) -> tuple[int, int, int, int, int, bytes]:
    """(format, channels, rate, bits, frames, the first max_seconds of data) of a RIFF WAVE file:
    PCM 8-32 bit and 32-bit float, plain or WAVE_FORMAT_EXTENSIBLE (Python 3.11's `wave` reads
    only plain integer PCM, yet 24-bit and float clips are common and coqui reads them)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError("no RIFF/WAVE header")
        fmt: tuple[int, int, int, int] | None = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise ValueError("no data chunk")
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = f.read(size + (size & 1))
                if len(body) < 16:
                    raise ValueError("short fmt chunk")
                tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
                if tag == _EXTENSIBLE and len(body) >= 26:
                    tag = struct.unpack("<H", body[24:26])[0]  # the sub-format GUID's first two bytes
                fmt = (tag, channels, rate, bits)
            elif cid == b"data":
                if fmt is None:
                    raise ValueError("data before fmt")
                tag, channels, rate, bits = fmt
                if tag not in (_PCM, _FLOAT) or (tag == _FLOAT and bits != 32) or not 8 <= bits <= 32 or not channels or not rate:
                    raise ValueError(f"unsupported encoding (format {tag}, {bits}-bit)")
                block = channels * (bits // 8)
                here = f.tell()
                available = os.fstat(f.fileno()).st_size - here  # a streamed WAV's header may say 0 or 0xFFFFFFFF
                frames = (size if 0 < size <= available else available) // block
                data = f.read(min(frames, int(rate * max_seconds)) * block)  # by frames: a streamed header's size says nothing
                return tag, channels, rate, bits, frames, data
            else:
                f.seek(size + (size & 1), os.SEEK_CUR)


def _mono_16bit(tag: int, bits: int, channels: int, data: bytes) -> array.array[int]:
    """The first channel as 16-bit samples (enough for the loudness checks), by slicing."""
    width = bits // 8
    step = width * channels
    data = data[: len(data) - len(data) % step]
    if tag == _FLOAT:
        floats = array.array("f", data)
        if sys.byteorder == "big":
            floats.byteswap()
        return array.array("h", (int(max(-1.0, min(1.0, v)) * 32767) for v in floats[::channels]))
    if width == 1:  # unsigned 8-bit
        return array.array("h", ((v - 128) << 8 for v in data[::step]))
    top = bytearray(2 * (len(data) // step))
    top[0::2] = data[width - 2 :: step]  # the two most significant bytes of each first-channel sample
    top[1::2] = data[width - 1 :: step]
    samples = array.array("h", bytes(top))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def inspect_clip(path: str) -> ClipInfo:
    info = ClipInfo(path)
    try:
        tag, channels, rate, bits, frames, data = _read_wav(path, MAX_SECONDS + 1)
    except (OSError, ValueError, struct.error) as exc:
        info.error = f"not a decodable WAV: {exc}"
        return info
    info.seconds = frames / float(rate)
    if info.seconds < MIN_SECONDS or info.seconds > MAX_SECONDS:
        info.error = f"{info.seconds:.1f} s long; XTTS needs {MIN_SECONDS:.0f}-{MAX_SECONDS:.0f} s of speech"
        return info
    samples = _mono_16bit(tag, bits, channels, data)
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
        elif name.lower().endswith(OTHER_AUDIO) and os.path.isfile(path):
            stem = os.path.splitext(name)[0]
            warn(f"voice {name} skipped: only WAV clips are read; convert it: ffmpeg -i '{name}' -ac 1 -ar 22050 '{stem}.wav'")
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
            stem, ext = os.path.splitext(name)
            if ext in (".pth", ".json"):  # .json: AllTalk's latents files (voices/xtts_latents/*.json)
                out.setdefault(f"latent:{stem}", VoiceEntry(f"latent:{stem}", stem, "latent", [os.path.join(latents, name)]))
    for speaker in builtin:
        out.setdefault(speaker, VoiceEntry(speaker, speaker, "builtin"))
    return out


def lookup(voices: dict[str, VoiceEntry], wanted: str) -> VoiceEntry | None:
    """By id; a clip also by its name without `.wav`, saved latents also as AllTalk names them (`latent:NAME.json`)."""
    if wanted.startswith("latent:") and wanted.endswith((".json", ".pth")):
        wanted = os.path.splitext(wanted)[0]
    return voices.get(wanted) or voices.get(f"{wanted}.wav")

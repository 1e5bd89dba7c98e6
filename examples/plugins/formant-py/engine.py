"""A small formant synthesiser: letters become vowel, voiced, fricative or plosive sounds; a
glottal source (harmonics of f0) is shaped by the formant resonances of each sound, noise by
a band filter. Crude but intelligibly speech-like, and fast: every sound is built with a few
vectorised numpy operations. One chunk per word, so the audio streams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from chorus_sdk import AudioChunk, Cancelled, Engine, LoadContext, SynthesisRequest, Voice, VoiceNotFoundError

RATE = 16000

# (F1, F2, F3) in Hz and relative amplitude; after Peterson & Barney's vowel averages.
VOWELS = {"a": (730, 1090, 2440), "e": (530, 1840, 2480), "i": (270, 2290, 3010), "o": (570, 840, 2410), "u": (300, 870, 2240), "y": (270, 2290, 3010)}
VOICED = {"m": (250, 1200, 2200), "n": (250, 1600, 2500), "l": (360, 1300, 2700), "r": (420, 1300, 1600), "w": (300, 700, 2200), "j": (280, 2200, 3000), "v": (300, 1400, 2400)}
FRICATIVES = {"s": (4500, 7500, 0.35), "z": (4500, 7500, 0.25), "f": (1500, 7000, 0.15), "h": (500, 4000, 0.12), "x": (2500, 6000, 0.3), "c": (4500, 7500, 0.35), "q": (1500, 3500, 0.3)}
PLOSIVES = {"p": (500, 2000), "b": (300, 1500), "t": (3000, 6000), "d": (2500, 5000), "k": (1500, 3500), "g": (1200, 3000)}
BANDWIDTHS = (90.0, 110.0, 170.0)
VOICES = {"anna": (205.0, "female"), "bert": (112.0, "male")}


def _envelope(n: int, ramp: int) -> np.ndarray:
    env = np.ones(n)
    ramp = min(ramp, n // 2)
    if ramp:
        edge = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
        env[:ramp] = edge
        env[n - ramp :] = edge[::-1]
    return env


def _voiced(formants: tuple[int, int, int], f0: float, seconds: float, breath: float, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    n = max(1, int(seconds * RATE))
    t = np.arange(n) / RATE
    f0_track = f0 * (1.0 + 0.03 * np.sin(2 * np.pi * 5.0 * t))  # a little vibrato
    phase = 2 * np.pi * np.cumsum(f0_track) / RATE
    harmonics = np.arange(1, int(3800 // f0) + 1)
    freqs = harmonics * f0
    amp = np.zeros(len(harmonics))
    for formant, bw in zip(formants, BANDWIDTHS):
        amp += 1.0 / np.sqrt(1.0 + ((freqs - formant) / (bw / 2)) ** 2)
    amp /= harmonics ** 0.6  # glottal source tilt
    wave = (amp[:, None] * np.sin(harmonics[:, None] * phase[None, :])).sum(axis=0)
    wave /= max(1e-9, np.abs(wave).max())
    if breath:
        wave = (1 - breath) * wave + breath * rng.standard_normal(n) * 0.5
    return wave * _envelope(n, int(0.012 * RATE)) * gain


def _noise(low: float, high: float, seconds: float, gain: float, rng: np.random.Generator) -> np.ndarray:
    n = max(2, int(seconds * RATE))
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    wave = np.fft.irfft(spectrum, n)
    wave /= max(1e-9, np.abs(wave).max())
    return wave * _envelope(n, int(0.008 * RATE)) * gain


class FormantEngine(Engine):
    def __init__(self) -> None:
        self.loaded = False

    def load(self, ctx: LoadContext) -> None:
        self.loaded = True
        ctx.log.info("formant synthesiser ready", rate=RATE, numpy=np.__version__)

    def unload(self) -> None:
        self.loaded = False

    def list_voices(self) -> list[Voice]:
        return [Voice(id=v, name=v.capitalize(), languages=["en"], gender=g) for v, (_, g) in VOICES.items()]

    def synthesize(self, request: SynthesisRequest, cancelled: Cancelled) -> Iterator[AudioChunk]:
        if request.voice not in VOICES:
            raise VoiceNotFoundError(request.voice)
        breath = float(request.options.get("breathiness", 0.05))
        base = VOICES[request.voice][0] * request.pitch
        unit = 1.0 / max(0.25, request.speed)
        rng = np.random.default_rng(len(request.text))
        words = [w for w in "".join(c if c.isalnum() or c in ",.;:!?" else " " for c in request.text.lower()).split()]
        for index, word in enumerate(words):
            if cancelled:
                return
            # Pitch falls across the sentence and rises on a question's last word.
            f0 = base * (1.0 - 0.15 * index / max(1, len(words)))
            if word.endswith("?"):
                f0 *= 1.2
            parts: list[np.ndarray] = []
            for ch in word:
                if ch in VOWELS:
                    parts.append(_voiced(VOWELS[ch], f0, 0.11 * unit, breath, rng))
                elif ch in VOICED:
                    parts.append(_voiced(VOICED[ch], f0, 0.07 * unit, breath, rng, 0.6))
                elif ch in FRICATIVES:
                    low, high, gain = FRICATIVES[ch]
                    parts.append(_noise(low, high, 0.09 * unit, gain, rng))
                elif ch in PLOSIVES:
                    low, high = PLOSIVES[ch]
                    parts.append(np.zeros(int(0.035 * unit * RATE)))
                    parts.append(_noise(low, high, 0.02 * unit, 0.5, rng))
                elif ch.isdigit():
                    parts.append(_voiced(VOWELS["a"], f0, 0.15 * unit, breath, rng))
                elif ch in ",;:":
                    parts.append(np.zeros(int(0.18 * unit * RATE)))
                elif ch in ".!?":
                    parts.append(np.zeros(int(0.3 * unit * RATE)))
            parts.append(np.zeros(int(0.06 * unit * RATE)))  # the gap between words
            yield AudioChunk.from_float(RATE, np.concatenate(parts) * 0.8)


def create(_context: Any) -> Engine:
    return FormantEngine()

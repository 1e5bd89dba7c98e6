"""STAND-IN for TTS.tts.models.xtts (tests only; see tests/xtts/standin/README.md).
Signatures as coqui-tts 0.27: Xtts.init_from_config, load_checkpoint, get_conditioning_latents,
inference_stream, speaker_manager.speakers, tokenizer.encode."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import torch
from torch import cuda

MODEL_MB = 2300.0
GPT_MAX_TEXT_TOKENS = 402


class _Tokenizer:
    def encode(self, txt: str, lang: str) -> list[int]:
        return [ord(c) % 256 for c in txt]  # one token per character


class _SpeakerManager:
    def __init__(self, speakers: dict[str, Any]) -> None:
        self.speakers = speakers

    @property
    def name_to_id(self) -> dict[str, Any]:
        return self.speakers


class Xtts:
    def __init__(self, config: Any) -> None:
        self.config = config
        self.device = "cpu"
        self.tokenizer: _Tokenizer | None = None
        self.speaker_manager: _SpeakerManager | None = None
        self.loaded = False

    @staticmethod
    def init_from_config(config: Any, **kwargs: Any) -> Xtts:
        return Xtts(config)

    def load_checkpoint(self, config: Any, checkpoint_dir: str | None = None, checkpoint_path: str | None = None, vocab_path: str | None = None, eval: bool = True, strict: bool = True, use_deepspeed: bool = False, speaker_file_path: str | None = None) -> None:  # noqa: E501
        if checkpoint_dir and os.path.isfile(checkpoint_dir):
            raise ValueError("checkpoint_dir must be a directory")
        checkpoint_path = checkpoint_path or os.path.join(checkpoint_dir or "", "model.pth")
        vocab_path = vocab_path or os.path.join(checkpoint_dir or "", "vocab.json")
        speaker_file_path = speaker_file_path or os.path.join(checkpoint_dir or "", "speakers_xtts.pth")
        if not os.path.isfile(vocab_path):
            raise FileNotFoundError(f"vocab file not found: {vocab_path}")
        if not os.path.isfile(checkpoint_path):
            raise FileNotFoundError(checkpoint_path)
        if (getattr(config, "standin", None) or {}).get("corrupt"):
            # As torch.load raises for a truncated or damaged model.pth (not a zip archive).
            cuda.record({"call": "checkpoint_error", "checkpoint_path": checkpoint_path})
            raise RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central directory")
        if use_deepspeed:
            import deepspeed  # noqa: F401  (ImportError as the real one raises)
        self.tokenizer = _Tokenizer()
        self.speaker_manager = _SpeakerManager(torch.load(speaker_file_path) if os.path.isfile(speaker_file_path) else {})
        self.loaded = True
        cuda.record({"call": "load_checkpoint", "checkpoint_dir": checkpoint_dir, "use_deepspeed": use_deepspeed, "eval": eval})

    def _oom(self, phase: str) -> None:
        if (getattr(self.config, "standin", None) or {}).get("oom") == phase and self.device.startswith("cuda"):
            cuda.record({"call": "oom", "phase": phase})
            raise cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 8.00 GiB of which 1.10 GiB is free.")

    def to(self, device: Any) -> Xtts:
        target = str(device)
        if target == "cuda":
            target = "cuda:0"
        index = int(target.split(":")[1]) if target.startswith("cuda") else None
        # What the device held before this move (another model still there shows here).
        cuda.record({"call": "to", "device": target, "reserved_mb": None if index is None else cuda.memory_reserved(index) / 2**20})
        if self.device.startswith("cuda"):
            cuda._hold(int(self.device.split(":")[1]), -MODEL_MB)
        self.device = target
        if target.startswith("cuda"):
            cuda._hold(int(target.split(":")[1]), MODEL_MB)
            self._oom("load")
        return self

    def __del__(self) -> None:
        # As torch: a model's CUDA memory is freed when the last reference to it goes.
        if getattr(self, "device", "cpu").startswith("cuda") and cuda is not None:
            cuda._hold(int(self.device.split(":")[1]), -MODEL_MB)
            self.device = "cpu"

    def cuda(self) -> Xtts:
        return self.to("cuda:0")

    def cpu(self) -> Xtts:
        return self.to("cpu")

    def eval(self) -> Xtts:
        return self

    def get_conditioning_latents(self, audio_path: Any, max_ref_length: int = 30, gpt_cond_len: int = 6, gpt_cond_chunk_len: int = 6, librosa_trim_db: Any = None, sound_norm_refs: bool = False, load_sr: int = 22050) -> tuple[Any, Any]:
        paths = [audio_path] if isinstance(audio_path, str) else list(audio_path)
        digest = hashlib.sha256()
        for path in paths:
            with open(path, "rb") as f:  # torchaudio.load would fail on a missing file too
                digest.update(f.read())
        level = 0.1 + 0.5 * digest.digest()[0] / 255.0
        cuda.record({"call": "get_conditioning_latents", "paths": paths, "gpt_cond_len": gpt_cond_len, "max_ref_length": max_ref_length, "device": self.device})
        self._oom("latents")
        return torch.Tensor([level] * 32, self.device), torch.Tensor([level], self.device)

    def inference_stream(self, text: str, language: str, gpt_cond_latent: Any, speaker_embedding: Any, stream_chunk_size: int = 20, overlap_wav_len: int = 1024, temperature: float = 0.75, length_penalty: float = 1.0, repetition_penalty: float = 10.0, top_k: int = 50, top_p: float = 0.85, do_sample: bool = True, speed: float = 1.0, enable_text_splitting: bool = False, **hf_generate_kwargs: Any) -> Iterator[Any]:  # noqa: E501
        assert self.tokenizer is not None
        tokens = self.tokenizer.encode(text, language.split("-")[0])
        assert len(tokens) < GPT_MAX_TEXT_TOKENS, " ❗ XTTS can only generate text with a maximum of 400 tokens."
        cuda.record({"call": "inference_stream", "text": text, "language": language, "device": self.device, "stream_chunk_size": stream_chunk_size, "temperature": temperature, "repetition_penalty": repetition_penalty, "length_penalty": length_penalty, "top_k": top_k, "top_p": top_p, "speed": speed, "enable_text_splitting": enable_text_splitting})  # noqa: E501
        self._oom("synthesis")
        gate = os.environ.get("XTTS_STANDIN_GATE")
        if gate and os.path.exists(gate):
            # Test hook: while the gate file exists, the stream waits before its first chunk.
            cuda.record({"call": "gated", "text": text})
            while os.path.exists(gate):
                time.sleep(0.01)
        level = speaker_embedding.data[0]
        chunks = max(1, -(-len(tokens) // stream_chunk_size))
        crash = (getattr(self.config, "standin", None) or {}).get("kill_once")
        for index in range(chunks):
            if index == 1 and crash and os.path.exists(crash):
                # Test hook: the process is killed mid-stream once (the marker file goes first).
                os.remove(crash)
                cuda.record({"call": "killed", "text": text})
                os.kill(os.getpid(), signal.SIGKILL)
            samples = [level] * 480
            samples[0] = index / 1000.0
            yield torch.Tensor(samples, self.device)

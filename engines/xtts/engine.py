"""XTTS v2 on coqui-tts (the maintained idiap fork), as a Chorus Python engine.

Placements (the scheduler chooses; ctx.device is the CUDA device it booked): `gpu` keeps the
whole model in VRAM (fp32); `lowvram` parks it in system RAM and moves it to the GPU for each
request (AllTalk's low-VRAM mode); `gpu-deepspeed` wraps the GPT in DeepSpeed; `cpu`. One
request at a time per instance (maxParallel 1, and a lock), so chunks never mix. Text is split
under XTTS's per-language limits; conditioning latents are computed once per (clips, content,
model). torch's CUDA out-of-memory becomes the SDK's OutOfMemoryError with the size."""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

from chorus_sdk import AudioChunk, BadOptionError, Cancelled, Engine, EngineError, LoadContext, OutOfMemoryError, SynthesisRequest, Voice, VoiceNotFoundError
from chorus_sdk.errors import needed_mb_from_message

from xtts_latents import LatentCache
from xtts_models import ModelFolder, resolve_model, scan_models
from xtts_text import LANGUAGES, guess_language, normalise_language, split_text
from xtts_voices import VoiceEntry, content_hash, lookup, scan_voices

RATE = 24000
#: Low-VRAM: how long the model stays on the GPU after a part that says more parts follow
#: (`request.continues`, e.g. a narrated text) before it is parked anyway (the rest never came).
HOLD_SECONDS = 5.0
DEFAULTS = {"temperature": 0.75, "repetition_penalty": 10.0, "length_penalty": 1.0, "top_k": 50, "top_p": 0.85, "stream_chunk_size": 20}


def _coqui() -> tuple[Any, Any, Any]:
    try:
        import torch
        from TTS.tts.configs.xtts_config import XttsConfig
        from TTS.tts.models.xtts import Xtts
    except ImportError as exc:
        raise EngineError(f"coqui-tts is not installed in this environment ({exc}); run: chorus plugin setup xtts") from exc
    return torch, XttsConfig, Xtts


def _settings(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "modelsDir": os.path.abspath(str(raw.get("modelsDir", "models/xtts"))),
        "voicesDir": os.path.abspath(str(raw.get("voicesDir", "voices/xtts"))),
        "model": str(raw.get("model", "")),
        "language": str(raw.get("language", "en")),
    }


class XttsEngine(Engine):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: Any = None
        self.folder: ModelFolder | None = None
        self.voices: dict[str, VoiceEntry] = {}
        self.on_gpu = False  # low-VRAM: the model is on the GPU now (between the parts of one request)
        self.hold: threading.Timer | None = None

    # -- loading -----------------------------------------------------------------------
    def load(self, ctx: LoadContext) -> None:
        self.torch, self.XttsConfig, self.Xtts = _coqui()
        self.ctx = ctx
        self.settings = _settings(ctx.settings)
        self.profile = ctx.profile_name
        self.device = ctx.device.torch_device  # "cuda:N" (the device the scheduler booked) or "cpu"
        self.lowvram = self.profile == "lowvram" and self.device != "cpu"
        self.deepspeed = self.profile == "gpu-deepspeed"
        if self.deepspeed and importlib.util.find_spec("deepspeed") is None:
            raise EngineError("profile gpu-deepspeed needs DeepSpeed, which is not installed in the xtts environment (see docs/xtts.md)")
        if self.device.startswith("cuda"):
            # The booked card becomes the current one before anything touches CUDA: DeepSpeed's
            # init_inference (inside load_checkpoint) places the GPT on the *current* device, and
            # cuBLAS/cuDNN handles are made there too; otherwise they land on cuda:0.
            self.torch.cuda.set_device(int(self.device.split(":")[1]))
        self._load_model(self.settings["model"])
        self.latents = LatentCache(self.torch, os.path.join(ctx.data_dir, "latents"))

    def _load_model(self, wanted: str) -> None:
        folder = resolve_model(self.settings["modelsDir"], wanted)
        # The model in use goes first: two XTTS models at once need twice the memory booked for one.
        self.unload()
        config = self.XttsConfig()
        config.load_json(folder.file("config.json"))
        model = self.Xtts.init_from_config(config)
        self.ctx.log.info("loading XTTS model", model=folder.name, device=self.device, profile=self.profile)
        try:
            model.load_checkpoint(config, checkpoint_dir=folder.path, vocab_path=folder.file("vocab.json"), eval=True, use_deepspeed=self.deepspeed)
            model.to("cpu" if self.lowvram else self.device)
        except self.torch.cuda.OutOfMemoryError as exc:
            del model
            self._release()
            raise OutOfMemoryError(f"CUDA out of memory loading XTTS model {folder.name}: {exc}", needed_mb=needed_mb_from_message(str(exc))) from exc
        except Exception:
            # Any other failure (a corrupt or truncated model.pth, a CUDA error torch raises as a
            # RuntimeError) gives back what the attempt took too, and is the caller's to report.
            del model
            self._release()
            raise
        self.model, self.config, self.folder = model, config, folder
        self.weights_id = folder.weights_id()  # as loaded: the latents' cache key
        self._report_memory()

    def _release(self) -> None:
        if self.device != "cpu":
            self.torch.cuda.empty_cache()

    def _report_memory(self) -> None:
        if self.device.startswith("cuda"):
            index = int(self.device.split(":")[1])
            self.ctx.report_memory(vram_mb=round(self.torch.cuda.memory_reserved(index) / 2**20), device=self.device)

    def unload(self) -> None:
        self._cancel_hold()
        self.on_gpu = False
        self.folder = None
        if self.model is not None:
            self.model = None
            gc.collect()  # what only the cycle collector frees goes before the cache is emptied
            self._release()
            # No memory report here: after a switch that failed the engine loads its default model
            # again at the next request, so the host keeps its booking (a report of 0 would shrink
            # it to half the declared size, and another engine placed meanwhile could run out).

    # -- voices ------------------------------------------------------------------------
    def _scan(self) -> dict[str, VoiceEntry]:
        builtin = sorted((self.model.speaker_manager.speakers or {}).keys()) if self.model is not None and self.model.speaker_manager else []
        self.voices = scan_voices(self.settings["voicesDir"], builtin, lambda msg: self.ctx.log.warn(msg))
        return self.voices

    def list_voices(self) -> list[Voice]:
        kinds = {"clip": "cloned from a reference clip", "set": "cloned from a set of clips", "latent": "saved conditioning latents", "builtin": "built-in speaker"}
        return [Voice(v.id, v.name, list(LANGUAGES), description=kinds[v.kind]) for v in self._scan().values()]

    def _latents(self, voice: VoiceEntry) -> tuple[Any, Any]:
        if voice.kind == "builtin":
            speaker = self.model.speaker_manager.speakers[voice.id]
            return speaker["gpt_cond_latent"], speaker["speaker_embedding"]
        if voice.kind == "latent":
            return self._saved_latents(voice.clips[0])
        assert self.folder is not None
        key = f"{self.folder.name}-{self.weights_id}-{content_hash(voice.clips)}"
        config = self.config
        return self.latents.get(key, lambda: self.model.get_conditioning_latents(
            audio_path=voice.clips, gpt_cond_len=config.gpt_cond_len, gpt_cond_chunk_len=config.gpt_cond_chunk_len, max_ref_length=config.max_ref_len, sound_norm_refs=config.sound_norm_refs))

    def _saved_latents(self, path: str) -> tuple[Any, Any]:
        """A latents file: torch.save'd (ours, or coqui 0.27's cached voice, whose key is
        `gpt_conditioning_latents`) or AllTalk's JSON of nested lists."""
        try:
            if path.endswith(".json"):
                with open(path, encoding="utf8") as f:
                    saved = json.load(f)
            else:
                saved = self.torch.load(path, map_location="cpu")
        except Exception as exc:  # noqa: BLE001  (any unreadable file: say which)
            raise EngineError(f"cannot read the latents file {path}: {exc}") from exc
        gpt = saved.get("gpt_cond_latent", saved.get("gpt_conditioning_latents")) if isinstance(saved, dict) else None
        embedding = saved.get("speaker_embedding") if isinstance(saved, dict) else None
        if gpt is None or embedding is None:
            raise EngineError(f"the latents file {path} lacks gpt_cond_latent and speaker_embedding")
        if path.endswith(".json"):
            gpt, embedding = self.torch.tensor(gpt), self.torch.tensor(embedding)
        return gpt, embedding

    # -- synthesis ---------------------------------------------------------------------
    def _options(self, request: SynthesisRequest) -> dict[str, Any]:
        o = request.options
        out = {key: o.get(key, default) for key, default in DEFAULTS.items()}
        out["top_k"] = int(out["top_k"])
        out["stream_chunk_size"] = int(out["stream_chunk_size"])
        return out

    def synthesize(self, request: SynthesisRequest, cancelled: Cancelled) -> Iterator[AudioChunk]:
        raw_language = request.language or request.options.get("language") or self.settings["language"]
        if str(raw_language).strip().lower() == "auto":  # AllTalk's clients send it
            raw_language = guess_language(request.text, normalise_language(self.settings["language"]) or "en")
        language = normalise_language(str(raw_language))
        if language is None:
            raise BadOptionError("language", f"XTTS does not speak '{raw_language}'; it speaks {', '.join(LANGUAGES)}")
        options = self._options(request)
        with self.lock:  # one request at a time per model: chunks of two requests never mix
            wanted = str(request.options.get("model") or "")
            if self.model is None or (wanted and (self.folder is None or wanted.split(" - ")[-1].strip() != self.folder.name)):
                self._load_model(wanted or self.settings["model"])  # none loaded: a previous switch failed
            voice = lookup(self.voices, request.voice) or lookup(self._scan(), request.voice)
            if voice is None:
                raise VoiceNotFoundError(request.voice)
            model = self.model
            sentences = split_text(request.text, language, tokens=lambda t: len(model.tokenizer.encode(t, language.split("-")[0])))
            self._cancel_hold()
            finished = False
            try:
                if self.lowvram and not self.on_gpu:
                    self.on_gpu = True  # before the move: a move that fails half-way is undone by _park
                    model.to(self.device)
                # On the GPU too: cloning a voice can run out of memory like synthesis does.
                gpt_cond_latent, speaker_embedding = self._latents(voice)
                for sentence in sentences:
                    for chunk in model.inference_stream(
                        sentence, language, gpt_cond_latent, speaker_embedding,
                        stream_chunk_size=options["stream_chunk_size"], temperature=options["temperature"],
                        length_penalty=options["length_penalty"], repetition_penalty=options["repetition_penalty"],
                        top_k=options["top_k"], top_p=options["top_p"], speed=request.speed, enable_text_splitting=False,
                    ):
                        if cancelled:
                            return
                        if isinstance(chunk, list):
                            chunk = chunk[0] if len(chunk) == 1 else self.torch.cat(chunk)
                        yield AudioChunk.from_float(RATE, chunk.detach().cpu().numpy())
                finished = True
            except self.torch.cuda.OutOfMemoryError as exc:
                self._release()
                raise OutOfMemoryError(f"CUDA out of memory during XTTS synthesis: {exc}", needed_mb=needed_mb_from_message(str(exc))) from exc
            finally:
                if self.lowvram and self.model is model:
                    # The next part of the same request follows at once: the model stays on the GPU.
                    if finished and request.continues and not cancelled:
                        self._hold_on_gpu(model)
                    else:
                        self._park(model)

    # -- low-VRAM moves --------------------------------------------------------------------
    def _park(self, model: Any) -> None:
        if self.on_gpu:
            model.to("cpu")
            self.on_gpu = False
            self._release()

    def _hold_on_gpu(self, model: Any) -> None:
        def expire() -> None:
            with self.lock:
                if self.hold is timer and self.model is model:
                    self.hold = None
                    self.ctx.log.info("low-VRAM: no further part arrived; parking the model in RAM", seconds=HOLD_SECONDS)
                    self._park(model)

        timer = threading.Timer(HOLD_SECONDS, expire)
        timer.daemon = True
        self.hold = timer
        timer.start()

    def _cancel_hold(self) -> None:
        if self.hold is not None:
            self.hold.cancel()
            self.hold = None

    def health(self) -> dict[str, Any]:
        return {"ok": self.model is not None, "detail": f"model {self.folder.name if self.folder else '-'} on {self.device}"}


def create(_context: Any) -> Engine:
    return XttsEngine()


def _coqui_check() -> dict[str, Any]:
    """Whether coqui-tts is installed (by its metadata, without importing it: that takes seconds)."""
    import importlib.metadata

    try:
        return {"ok": True, "what": "coqui-tts", "detail": importlib.metadata.version("coqui-tts")}
    except importlib.metadata.PackageNotFoundError:
        if importlib.util.find_spec("TTS") is not None:
            return {"ok": True, "what": "coqui-tts", "detail": "the TTS package imports (no coqui-tts metadata)"}
    return {"ok": False, "what": "coqui-tts", "detail": "not installed in the xtts environment", "fix": "chorus plugin setup xtts --force"}


def doctor(context: dict[str, Any]) -> list[dict[str, Any]]:
    """`chorus doctor`'s checks: coqui-tts installed, model folders present and complete, and
    the voices, naming each clip that is not used and why (a request for it only says the
    voice is unknown)."""
    settings = _settings(context.get("settings") or {})
    out = [_coqui_check()]
    models = scan_models(settings["modelsDir"])
    if not models:
        out.append({"ok": False, "what": "XTTS models", "detail": f"none in {settings['modelsDir']}", "fix": "chorus xtts download --accept-license (or copy a model folder there)"})
    else:
        out.append({"ok": True, "what": "XTTS models", "detail": ", ".join(m.name for m in models)})
    skipped: list[str] = []
    voices = scan_voices(settings["voicesDir"], [], skipped.append)
    detail = f"{len(voices)} in {settings['voicesDir']} (and the model's built-in speakers)"
    check: dict[str, Any] = {"ok": True, "what": "XTTS voices", "detail": detail + (f"; {'; '.join(skipped)}" if skipped else "")}
    if skipped:
        check["fix"] = "replace or convert the clips named (WAV, 3-30 s of clear speech)"
    out.append(check)
    return out

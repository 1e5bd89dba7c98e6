"""The XTTS engine's Python (engines/xtts), in process, against the STAND-INS for coqui-tts and
torch (tests/xtts/standin: coqui-tts 0.27's module paths, classes and signatures; see its
README). Stdlib unittest, run by tests/xtts/python.test.ts. The audio is synthetic and no GPU
is used: the stand-in's torch.cuda simulates the card and records every call."""

from __future__ import annotations

import json
import math
import os
import struct
import sys
import tempfile
import unittest
from typing import Any
from unittest import mock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for folder in ("packages/sdk-python", "engines/xtts", "tests/xtts/standin"):
    sys.path.insert(0, os.path.join(ROOT, folder))

from torch import cuda as standin_cuda  # noqa: E402

from chorus_sdk import Cancelled, Device, EngineError, LoadContext, OutOfMemoryError, SynthesisRequest  # noqa: E402

from engine import XttsEngine, doctor  # noqa: E402
from xtts_text import split_text  # noqa: E402
from xtts_voices import inspect_clip, scan_voices  # noqa: E402


def write_wav(path: str, rate: int, channels: int, bits: int, fmt: int = 1, seconds: float = 4.0, level: float = 0.3, extensible: bool = False) -> None:
    """A sine WAV written by hand: PCM 8/16/24/32-bit or 32-bit float, plain or WAVE_FORMAT_EXTENSIBLE."""
    frames = bytearray()
    for i in range(int(rate * seconds)):
        v = level * math.sin(i * 0.06)
        for _ in range(channels):
            if fmt == 3:
                frames += struct.pack("<f", v)
            elif bits == 8:
                frames.append(int(128 + v * 127))
            else:
                frames += int(v * (2 ** (bits - 1) - 1)).to_bytes(bits // 8, "little", signed=True)
    block = channels * bits // 8
    if extensible:
        guid = struct.pack("<H", fmt) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt_chunk = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0) + guid
    else:
        fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"data" + struct.pack("<I", len(frames)) + bytes(frames)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def write_model(folder: str, standin: dict[str, Any] | None = None, weights: str = "stand-in checkpoint") -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"gpt_cond_len": 30, "gpt_cond_chunk_len": 4, "max_ref_len": 30, "standin": standin or {}}, f)
    with open(os.path.join(folder, "model.pth"), "w") as f:
        f.write(weights)
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        f.write("{}")
    with open(os.path.join(folder, "speakers_xtts.pth"), "w") as f:
        json.dump({"Ana Florence": {"gpt_cond_latent": {"__tensor__": [0.3]}, "speaker_embedding": {"__tensor__": [0.3]}}}, f)


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def _add(self, msg: str, **_: Any) -> None:
        self.lines.append(msg)

    debug = info = warn = warning = error = _add


class EngineCase(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.events = os.path.join(self.dir, "events.jsonl")
        os.environ["XTTS_STANDIN_LOG"] = self.events
        self.models = os.path.join(self.dir, "models")
        self.voices = os.path.join(self.dir, "voices")
        os.makedirs(self.voices)
        write_wav(os.path.join(self.voices, "alice.wav"), 22050, 1, 16)
        write_model(os.path.join(self.models, "base"))
        write_model(os.path.join(self.models, "other"))
        write_model(os.path.join(self.models, "oomload"), {"oom": "load"})
        self.reports: list[dict[str, Any]] = []  # what the engine told the host it holds (ctx.report_memory)

    def tearDown(self) -> None:
        os.environ.pop("XTTS_STANDIN_LOG", None)
        self.tmp.cleanup()

    def engine(self, profile: str = "gpu") -> XttsEngine:
        engine = XttsEngine()
        ctx = LoadContext(
            profile={"name": profile},
            device=Device("cuda", 1) if profile != "cpu" else Device(),
            settings={"modelsDir": self.models, "voicesDir": self.voices, "model": "base", "language": "en"},
            data_dir=os.path.join(self.dir, "data"),
            plugin_dir=os.path.join(ROOT, "engines/xtts"),
            log=Log(),  # type: ignore[arg-type]
            report_memory=lambda **report: self.reports.append(report),
        )
        engine.load(ctx)
        self.addCleanup(engine.unload)
        return engine

    def speak(self, engine: XttsEngine, text: str = "Hello there.", voice: str = "alice", **kw: Any) -> int:
        return len(list(engine.synthesize(SynthesisRequest(text=text, voice=voice, **kw), Cancelled())))

    def calls(self, name: str) -> list[dict[str, Any]]:
        if not os.path.exists(self.events):
            return []
        with open(self.events) as f:
            return [e for e in map(json.loads, f) if e["call"] == name]


class ClipFormats(unittest.TestCase):
    def test_float_24_bit_extensible_and_8_bit_wavs_are_read(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            cases = {
                "float32.wav": dict(rate=22050, channels=1, bits=32, fmt=3),
                "pcm24-stereo-48k-extensible.wav": dict(rate=48000, channels=2, bits=24, extensible=True),
                "float32-extensible.wav": dict(rate=44100, channels=1, bits=32, fmt=3, extensible=True),
                "pcm8.wav": dict(rate=16000, channels=1, bits=8),
                "pcm16-stereo.wav": dict(rate=44100, channels=2, bits=16),
            }
            for name, spec in cases.items():
                write_wav(os.path.join(d, name), **spec)  # type: ignore[arg-type]
                info = inspect_clip(os.path.join(d, name))
                self.assertEqual(info.error, "", name)
                self.assertAlmostEqual(info.seconds, 4.0, places=2, msg=name)
                self.assertEqual(info.warnings, [], name)

    def test_a_streamed_wav_whose_header_gives_no_data_size_is_read_whole(self) -> None:
        # A WAV written while streaming (ffmpeg to a pipe, some recorders) leaves the data chunk's size 0 or 0xFFFFFFFF.
        with tempfile.TemporaryDirectory() as d:
            for name, size in (("zero.wav", 0), ("max.wav", 0xFFFFFFFF)):
                path = os.path.join(d, name)
                write_wav(path, 22050, 1, 16)
                with open(path, "r+b") as f:
                    head = f.read(64)
                    f.seek(head.index(b"data") + 4)
                    f.write(struct.pack("<I", size))
                info = inspect_clip(path)
                self.assertEqual(info.error, "", name)
                self.assertAlmostEqual(info.seconds, 4.0, places=2, msg=name)
                self.assertEqual(info.warnings, [], name)  # not "very quiet or silent": the samples were read

    def test_loudness_checks_hold_for_float_and_24_bit(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            write_wav(os.path.join(d, "quiet.wav"), 22050, 1, 32, fmt=3, level=0.001)
            write_wav(os.path.join(d, "loud.wav"), 48000, 2, 24, level=1.0, extensible=True)
            self.assertIn("very quiet or silent: cloning needs clear speech", inspect_clip(os.path.join(d, "quiet.wav")).warnings)
            self.assertTrue(any(w.startswith("clipping") for w in inspect_clip(os.path.join(d, "loud.wav")).warnings))

    def test_other_audio_files_are_named_in_a_warning_and_a_short_clip_is_still_refused(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "carol.mp3"), "wb") as f:
                f.write(b"ID3 not decoded here")
            write_wav(os.path.join(d, "short.wav"), 22050, 1, 32, fmt=3, seconds=1.0)
            write_wav(os.path.join(d, "dave.wav"), 48000, 1, 24, extensible=True)
            warnings: list[str] = []
            voices = scan_voices(d, [], warnings.append)
            self.assertEqual(sorted(voices), ["dave.wav"])
            self.assertTrue(any("carol.mp3 skipped: only WAV clips are read" in w and "ffmpeg -i 'carol.mp3'" in w for w in warnings), warnings)
            self.assertTrue(any("short.wav skipped: 1.0 s long" in w for w in warnings), warnings)


class ModelSwitch(EngineCase):
    def test_switching_models_frees_the_old_one_before_loading_the_next(self) -> None:
        engine = self.engine()
        self.assertEqual(self.speak(engine, options={"model": "other"}) > 0, True)
        moves = [e for e in self.calls("to") if e["device"] == "cuda:1"]
        self.assertEqual(len(moves), 2)
        # The second model reached the card when the first had left it (the booking is for one model).
        self.assertEqual(moves[1]["reserved_mb"], 0)
        self.assertTrue(str(self.calls("load_checkpoint")[-1]["checkpoint_dir"]).endswith("other"))

    def test_a_failed_switch_keeps_the_hosts_booking(self) -> None:
        engine = self.engine()
        self.assertEqual(self.reports, [{"vram_mb": 2300, "device": "cuda:1"}])
        with self.assertRaises(OutOfMemoryError):
            self.speak(engine, options={"model": "oomload"})
        # The next request loads the default model again into the booking the host keeps: no
        # report of 0 shrinks it in between (the scheduler would book half the declared size).
        self.assertNotIn({"vram_mb": 0, "device": "cuda:1"}, self.reports)

    def test_a_corrupt_checkpoint_gives_back_memory_and_its_error_reaches_the_caller(self) -> None:
        write_model(os.path.join(self.models, "corrupt"), {"corrupt": True})
        engine = self.engine()
        with self.assertRaises(RuntimeError) as caught:
            self.speak(engine, options={"model": "corrupt"})
        self.assertIn("PytorchStreamReader failed reading zip archive", str(caught.exception))
        with open(self.events) as f:
            order = [e["call"] for e in map(json.loads, f)]
        self.assertIn("empty_cache", order[order.index("checkpoint_error") + 1 :], order)
        self.assertGreater(self.speak(engine), 0)  # the next request loads the default model again

    def test_unload_collects_garbage_before_emptying_the_cache(self) -> None:
        engine = self.engine()
        # gc.collect recorded among the stand-in's calls: freed cycles first, then the cache emptied.
        with mock.patch("gc.collect", side_effect=lambda: standin_cuda.record({"call": "gc_collect"})):
            engine.unload()
        with open(self.events) as f:
            order = [e["call"] for e in map(json.loads, f)]
        self.assertEqual(order[-2:], ["gc_collect", "empty_cache"])

    def test_a_failed_switch_leaves_an_engine_that_speaks_with_its_default_model_next(self) -> None:
        engine = self.engine()
        with self.assertRaises(OutOfMemoryError):
            self.speak(engine, options={"model": "oomload"})
        self.assertGreater(self.speak(engine), 0)
        self.assertTrue(str(self.calls("load_checkpoint")[-1]["checkpoint_dir"]).endswith("base"))
        self.assertEqual(self.calls("inference_stream")[-1]["device"], "cuda:1")


class LazySplitting(unittest.TestCase):
    def test_the_first_sentence_is_ready_before_the_rest_of_a_long_text_is_tokenized(self) -> None:
        counted: list[str] = []

        def tokens(piece: str) -> int:
            counted.append(piece)
            return len(piece)

        text = " ".join(f"Sentence number {i} of a long chapter." for i in range(500))
        pieces = split_text(text, "en", tokens=tokens)
        self.assertEqual(next(pieces), "Sentence number 0 of a long chapter.")
        self.assertEqual(counted, ["Sentence number 0 of a long chapter."])
        rest = list(pieces)
        self.assertEqual(len(rest), 499)
        self.assertEqual(len(counted), 500)


class Doctor(EngineCase):
    def test_doctor_names_clips_it_skips_and_whether_coqui_tts_is_installed(self) -> None:
        write_wav(os.path.join(self.voices, "short.wav"), 22050, 1, 16, seconds=1.0)
        with open(os.path.join(self.voices, "carol.mp3"), "wb") as f:
            f.write(b"ID3")
        checks = {c["what"]: c for c in doctor({"settings": {"modelsDir": self.models, "voicesDir": self.voices}})}
        self.assertEqual(checks["XTTS models"]["detail"], "base, oomload, other")
        voices = checks["XTTS voices"]
        self.assertTrue(voices["ok"])
        self.assertIn("1 in ", voices["detail"])
        self.assertIn("voice short.wav skipped: 1.0 s long; XTTS needs 3-30 s of speech", voices["detail"])
        self.assertIn("voice carol.mp3 skipped: only WAV clips are read", voices["detail"])
        self.assertIn("fix", voices)
        # The stand-in's TTS package imports here; it carries no coqui-tts metadata.
        self.assertEqual(checks["coqui-tts"], {"ok": True, "what": "coqui-tts", "detail": "the TTS package imports (no coqui-tts metadata)"})


class CurrentDevice(EngineCase):
    def test_the_booked_card_is_made_current_before_the_checkpoint_loads(self) -> None:
        self.engine("gpu-deepspeed")  # the stand-in deepspeed package imports
        with open(self.events) as f:
            order = [e["call"] for e in map(json.loads, f) if e["call"] in ("set_device", "load_checkpoint")]
        self.assertEqual(order, ["set_device", "load_checkpoint"])
        self.assertEqual(self.calls("set_device")[0]["device"], 1)
        self.assertTrue(self.calls("load_checkpoint")[0]["use_deepspeed"])


class LatentsOutOfMemory(EngineCase):
    def test_running_out_of_memory_while_cloning_is_an_out_of_memory_error(self) -> None:
        write_model(os.path.join(self.models, "oomlatents"), {"oom": "latents"})
        engine = self.engine()
        with self.assertRaises(OutOfMemoryError) as caught:
            self.speak(engine, options={"model": "oomlatents"})
        self.assertIn("Tried to allocate 2.00 GiB", str(caught.exception))
        self.assertEqual(caught.exception.needed_mb, 2048)
        self.assertGreaterEqual(len(self.calls("empty_cache")), 1)

    def test_low_vram_clones_on_the_gpu_inside_the_request_and_parks_after(self) -> None:
        engine = self.engine("lowvram")
        self.speak(engine)
        self.assertEqual(self.calls("get_conditioning_latents")[-1]["device"], "cuda:1")
        self.assertEqual([e["device"] for e in self.calls("to")], ["cpu", "cuda:1", "cpu"])


class LatentsPerWeights(EngineCase):
    def test_latents_are_recomputed_when_model_pth_is_replaced(self) -> None:
        first = self.engine()
        self.speak(first)
        self.assertEqual(first.latents.computed, 1)
        again = self.engine()  # same data folder: the latents come from disk
        self.speak(again)
        self.assertEqual(again.latents.computed, 0)
        write_model(os.path.join(self.models, "base"), weights="another fine-tune, same folder name")
        replaced = self.engine()
        self.speak(replaced)
        self.assertEqual(replaced.latents.computed, 1)


class SavedLatents(EngineCase):
    def levels(self, engine: XttsEngine, voice: str) -> set[int]:
        chunks = list(engine.synthesize(SynthesisRequest(text="Saved latents.", voice=voice), Cancelled()))
        return {struct.unpack("<h", c.pcm[2:4])[0] for c in chunks}  # the stand-in's samples carry the embedding's value

    def test_alltalk_json_and_coqui_voice_files_are_voices_and_a_bad_one_says_why(self) -> None:
        latents = os.path.join(self.voices, "latents")
        os.makedirs(latents)
        with open(os.path.join(latents, "ally.json"), "w") as f:  # AllTalk's voices/xtts_latents/*.json: nested lists
            json.dump({"gpt_cond_latent": [[[0.2, 0.2], [0.2, 0.2]]], "speaker_embedding": [[[0.45]]]}, f)
        with open(os.path.join(latents, "cached.pth"), "w") as f:  # coqui 0.27's cached voice (stand-in torch.save format)
            json.dump({"gpt_conditioning_latents": {"__tensor__": [0.25]}, "speaker_embedding": {"__tensor__": [0.25]}, "metadata": {"model": "xtts"}}, f)
        with open(os.path.join(latents, "broken.json"), "w") as f:
            json.dump({"latents": []}, f)
        engine = self.engine()
        ids = {v.id for v in engine.list_voices()}
        self.assertTrue({"latent:ally", "latent:cached", "latent:broken"} <= ids, ids)
        self.assertEqual(self.levels(engine, "latent:ally.json"), {int(0.45 * 32767)})  # as AllTalk's clients name it
        self.assertEqual(self.levels(engine, "latent:cached"), {int(0.25 * 32767)})
        with self.assertRaises(EngineError) as caught:
            self.levels(engine, "latent:broken")
        self.assertIn("broken.json lacks gpt_cond_latent and speaker_embedding", str(caught.exception))
        self.assertEqual(self.calls("get_conditioning_latents"), [])


class AutoLanguage(EngineCase):
    def test_language_auto_is_taken_from_the_script_else_the_engine_setting(self) -> None:
        engine = self.engine()
        self.speak(engine, text="こんにちは。", language="auto")
        self.assertEqual(self.calls("inference_stream")[-1]["language"], "ja")
        self.speak(engine, text="Привет, как дела?", options={"language": "auto"})
        self.assertEqual(self.calls("inference_stream")[-1]["language"], "ru")
        self.speak(engine, text="Hello there.", language="auto")
        self.assertEqual(self.calls("inference_stream")[-1]["language"], "en")


if __name__ == "__main__":
    unittest.main()

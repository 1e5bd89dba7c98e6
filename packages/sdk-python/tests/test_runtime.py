"""The Python side of protocol v1, against a fake host on a socket pair (no Node)."""

from __future__ import annotations

import os
import socket
import sys
import threading
import unittest
from collections.abc import Iterator
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from chorus_sdk import AudioChunk, BadOptionError, Cancelled, Engine, OutOfMemoryError, SynthesisRequest, Voice  # noqa: E402
from chorus_sdk.errors import needed_mb_from_message, serialize_error  # noqa: E402
from chorus_sdk.framing import MAX_HEADER_BYTES, FrameReader, FrameWriter  # noqa: E402
from chorus_sdk.runtime import Runtime  # noqa: E402


class FakeEngine(Engine):
    def __init__(self) -> None:
        self.closed = threading.Event()
        self.release = threading.Event()
        self.loaded: Any | None = None
        self.texts: list[str] = []

    def load(self, ctx: Any) -> None:
        self.loaded = ctx
        ctx.report_memory(ram_mb=12.5)
        if ctx.settings.get("oom"):
            raise OutOfMemoryError("no room", needed_mb=2048)

    def list_voices(self) -> list[Voice]:
        return [Voice("a", "A", ["en"])]

    def synthesize(self, request: SynthesisRequest, cancelled: Cancelled) -> Iterator[Any]:
        self.texts.append(request.text + (" (continues)" if request.continues else ""))
        if request.options.get("bad"):
            raise BadOptionError("bad", "bad must be false")
        try:
            for i in range(int(request.options.get("chunks", 3))):
                if request.options.get("block") and i == 1:
                    self.release.wait(5)
                yield AudioChunk(16000, bytes([i, 0]) * 100)
            if request.options.get("float"):
                yield (8000, [0.0, 1.0, -1.0, 2.0, 0.5])
        finally:
            self.closed.set()


class Host:
    """The test's end of the socket pair: writes requests, reads frames."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        ours, theirs = socket.socketpair()
        self.sock = ours
        self.theirs = theirs
        self.reader = FrameReader(ours.fileno())
        self.writer = FrameWriter(ours.fileno())
        self.runtime = Runtime(lambda _ctx: engine, {"id": "fake"}, FrameReader(theirs.fileno()), FrameWriter(theirs.fileno()))
        self.exit_code: int | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.exit_code = self.runtime.serve()

    def send(self, header: dict[str, Any], payload: bytes | None = None) -> None:
        self.writer.write(header, payload)

    def next(self, skip: tuple[str, ...] = ("log", "memory")) -> tuple[dict[str, Any], bytes | None]:
        while True:
            frame = self.reader.read()
            assert frame is not None, "stream ended"
            if frame[0]["type"] not in skip:
                return frame

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)
        self.theirs.close()


class RuntimeTest(unittest.TestCase):
    def setUp(self) -> None:
        self.engine = FakeEngine()
        self.host = Host(self.engine)
        ready, _ = self.host.next()
        self.assertEqual(ready["type"], "ready")
        self.assertEqual((ready["sdk"], ready["protocol"]), ("1.0.0", "1.1.0"))
        self.assertTrue(ready["runtime"].startswith("python 3."))

    def tearDown(self) -> None:
        self.engine.release.set()
        self.host.close()

    def test_load_passes_the_context_and_reports_memory(self) -> None:
        self.host.runtime._manifest = {"resources": {"profiles": [{"name": "cpu", "device": "cpu", "ramMb": 64}]}}
        self.host.send({"type": "load", "id": 1, "context": {"profile": "cpu", "device": {"kind": "cuda", "index": 2, "simulated": True}, "settings": {"x": 1}, "dataDir": "/d", "pluginDir": "/p", "maxChunkBytes": 64}})
        memory, _ = self.host.next(skip=("log",))
        self.assertEqual(memory, {"type": "memory", "ramMb": 12.5})
        result, _ = self.host.next()
        self.assertEqual(result, {"type": "result", "id": 1})
        ctx = self.engine.loaded
        self.assertEqual((ctx.device.kind, ctx.device.index, ctx.device.simulated, ctx.device.torch_device), ("cuda", 2, True, "cpu"))
        self.assertEqual((ctx.settings, ctx.data_dir, ctx.plugin_dir, ctx.profile_name, ctx.profile["ramMb"]), ({"x": 1}, "/d", "/p", "cpu", 64))
        self.assertEqual(self.host.runtime.max_chunk_bytes, 64)

    def test_out_of_memory_on_load_carries_the_size(self) -> None:
        self.host.send({"type": "load", "id": 1, "context": {"settings": {"oom": True}}})
        error, _ = self.host.next()
        self.assertEqual(error["type"], "error")
        self.assertEqual((error["error"]["name"], error["error"]["neededMb"]), ("OutOfMemoryError", 2048))

    def test_voices(self) -> None:
        self.host.send({"type": "voices", "id": 7})
        self.assertEqual(self.host.next()[0], {"type": "result", "id": 7, "value": [{"id": "a", "name": "A", "languages": ["en"]}]})

    def test_chunks_wait_for_credits(self) -> None:
        self.host.send({"type": "synthesize", "id": 3, "request": {"text": "x", "voice": "a", "options": {"chunks": 3}}, "credits": 1})
        first, payload = self.host.next()
        self.assertEqual((first["type"], first["sampleRate"], first["payloadLength"]), ("chunk", 16000, 200))
        self.assertEqual(payload, bytes([0, 0]) * 100)
        # Without credit nothing more comes: a ping is answered next, not a chunk.
        self.host.send({"type": "ping", "id": 99})
        self.assertEqual(self.host.next()[0], {"type": "pong", "id": 99})
        self.host.send({"type": "credit", "id": 3, "n": 5})
        self.assertEqual(self.host.next()[1], bytes([1, 0]) * 100)
        self.assertEqual(self.host.next()[1], bytes([2, 0]) * 100)
        self.assertEqual(self.host.next()[0], {"type": "result", "id": 3})

    def test_more_texts_follow_under_one_id_and_the_same_credits(self) -> None:
        # protocol 1.1: request.text, then each of `more`, one engine call each, one result
        self.host.send({"type": "synthesize", "id": 6, "request": {"text": "a", "voice": "a", "options": {"chunks": 1}}, "more": ["b", "c"], "credits": 2})
        self.assertEqual([self.host.next()[0]["type"] for _ in range(2)], ["chunk", "chunk"])
        self.host.send({"type": "ping", "id": 98})  # out of credit: the third text's chunk waits
        self.assertEqual(self.host.next()[0], {"type": "pong", "id": 98})
        self.host.send({"type": "credit", "id": 6, "n": 1})
        self.assertEqual(self.host.next()[0]["type"], "chunk")
        self.assertEqual(self.host.next()[0], {"type": "result", "id": 6})
        self.assertEqual(self.engine.texts, ["a (continues)", "b (continues)", "c"])  # each but the last: more follows

    def test_large_chunks_are_split_to_the_limit(self) -> None:
        self.host.runtime.max_chunk_bytes = 64
        self.host.send({"type": "synthesize", "id": 4, "request": {"text": "x", "voice": "a", "options": {"chunks": 1}}, "credits": 100})
        sizes = []
        while True:
            frame, payload = self.host.next()
            if frame["type"] != "chunk":
                break
            sizes.append(len(payload or b""))
        self.assertEqual(sizes, [64, 64, 64, 8])
        self.assertEqual(frame, {"type": "result", "id": 4})

    def test_abort_reaches_the_generator_between_chunks(self) -> None:
        self.host.send({"type": "synthesize", "id": 5, "request": {"text": "x", "voice": "a", "options": {"chunks": 100}}, "credits": 1})
        self.assertEqual(self.host.next()[0]["type"], "chunk")
        self.host.send({"type": "abort", "id": 5})
        error, _ = self.host.next()
        self.assertEqual((error["type"], error["id"], error["error"]["name"]), ("error", 5, "AbortError"))
        self.assertTrue(self.engine.closed.wait(2), "the generator's finally block ran")

    def test_ping_is_answered_while_the_engine_is_busy(self) -> None:
        self.host.send({"type": "synthesize", "id": 6, "request": {"text": "x", "voice": "a", "options": {"block": True}}, "credits": 10})
        self.assertEqual(self.host.next()[0]["type"], "chunk")
        self.host.send({"type": "ping", "id": 1})
        self.assertEqual(self.host.next()[0], {"type": "pong", "id": 1})
        self.engine.release.set()

    def test_bad_option_and_float_chunks(self) -> None:
        self.host.send({"type": "synthesize", "id": 8, "request": {"text": "x", "voice": "a", "options": {"bad": True}}, "credits": 1})
        error = self.host.next()[0]["error"]
        self.assertEqual((error["name"], error["option"], error["code"]), ("BadOptionError", "bad", "ENGINE_BAD_OPTION"))
        self.host.send({"type": "synthesize", "id": 9, "request": {"text": "x", "voice": "a", "options": {"chunks": 0, "float": True}}, "credits": 1})
        frame, payload = self.host.next()
        self.assertEqual(frame["sampleRate"], 8000)
        self.assertEqual(payload, b"".join(v.to_bytes(2, "little", signed=True) for v in (0, 32767, -32767, 32767, 16383)))

    def test_an_oversized_header_is_a_protocol_error(self) -> None:
        self.host.sock.sendall(b"{" + b" " * (MAX_HEADER_BYTES + 10))
        self.host.thread.join(5)
        self.assertEqual(self.host.exit_code, 70)

    def test_end_of_stream_ends_the_loop(self) -> None:
        self.host.send({"type": "shutdown"})
        self.host.thread.join(5)
        self.assertEqual(self.host.exit_code, 0)


class BootTest(unittest.TestCase):
    def test_a_failing_create_is_boot_failed(self) -> None:
        ours, theirs = socket.socketpair()

        def create(_ctx: Any) -> Engine:
            raise ImportError("no module named coqui")

        code = Runtime(create, {}, FrameReader(theirs.fileno()), FrameWriter(theirs.fileno())).serve()
        frame = FrameReader(ours.fileno()).read()
        assert frame is not None
        self.assertEqual((code, frame[0]["type"]), (1, "boot-failed"))
        self.assertIn("no module named coqui", frame[0]["error"]["message"])
        ours.close()
        theirs.close()


class ErrorsTest(unittest.TestCase):
    def test_torch_style_oom_is_recognised_by_class_and_size(self) -> None:
        torch_oom = type("OutOfMemoryError", (RuntimeError,), {"__module__": "torch.cuda"})
        wire = serialize_error(torch_oom("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"))
        self.assertEqual((wire["name"], wire["neededMb"]), ("OutOfMemoryError", 2048.0))
        self.assertEqual(needed_mb_from_message("Tried to allocate 512.00 MiB"), 512.0)
        self.assertEqual(serialize_error(ValueError("x"))["name"], "EngineError")


if __name__ == "__main__":
    unittest.main()

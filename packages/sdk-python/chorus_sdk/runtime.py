"""The engine side of protocol v1 (docs/protocol.md): serves the host's requests on one
framed stream. The loop thread reads frames and answers `ping` itself; every call runs in its
own thread, so a long load or synthesis never delays a ping, a credit or an abort.
Flow control: a synthesize request may send as many chunks as it holds credits; the
generator waits (abortably) for more. Cancellation reaches the generator between chunks
(`cancelled` is set and the generator is closed: its finally blocks run)."""

from __future__ import annotations

import logging
import platform
import sys
import threading
from typing import Any, Callable

from . import __version__
from .audio import split, to_chunk
from .engine import Cancelled, Device, Engine, LoadContext, PluginContext, SynthesisRequest, Voice
from .errors import AbortError, serialize_error
from .framing import FrameReader, FrameWriter, ProtocolError
from .log import EngineLogger, HostLogHandler

#: The protocol this runtime speaks (docs/protocol.md).
PROTOCOL_VERSION = "1.1.0"  # 1.1: synthesize.more (docs/protocol.md)
#: Exit status when the host sent a bad frame (the reason goes to stderr).
EXIT_PROTOCOL_ERROR = 70
#: Largest chunk payload (MAX_CHUNK_BYTES) unless the load context says otherwise (`maxChunkBytes`).
DEFAULT_MAX_CHUNK_BYTES = 256 * 1024


class _Synthesis:
    def __init__(self, credits: int) -> None:
        self.credits = credits
        self.cancelled = Cancelled()
        self.cond = threading.Condition()

    def grant(self, n: int) -> None:
        with self.cond:
            self.credits += n
            self.cond.notify_all()

    def abort(self) -> None:
        with self.cond:
            self.cancelled.set()
            self.cond.notify_all()

    def take(self) -> None:
        """Waits for one credit; raises AbortError when the request is cancelled first."""
        with self.cond:
            while self.credits <= 0 and not self.cancelled:
                self.cond.wait()
            if self.cancelled:
                raise AbortError()
            self.credits -= 1


class Runtime:
    def __init__(self, create: Callable[[PluginContext], Engine], manifest: dict[str, Any], reader: FrameReader, writer: FrameWriter) -> None:
        self._create = create
        self._manifest = manifest
        self._reader = reader
        self._writer = writer
        self._engine: Engine | None = None
        self._running: dict[int, _Synthesis] = {}
        self._lock = threading.Lock()
        self.max_chunk_bytes = DEFAULT_MAX_CHUNK_BYTES
        self.log = EngineLogger(self.send)

    def send(self, header: dict[str, Any], payload: bytes | None = None) -> None:
        try:
            self._writer.write(header, payload)
        except OSError:
            self._stop_all()  # the host is gone: the loop sees the end of the stream and exits

    def _stop_all(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for state in running:
            state.abort()

    def serve(self) -> int:
        """Runs until the stream ends or `shutdown`; returns the exit status."""
        try:
            return self._serve()
        finally:
            self._stop_all()
            self._writer.close()

    def _serve(self) -> int:
        handler = HostLogHandler(self.send)
        root = logging.getLogger()
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        try:
            self._engine = self._create(PluginContext(manifest=self._manifest))
        except BaseException as exc:  # noqa: BLE001 - any failure of the plugin's code
            self.send({"type": "boot-failed", "error": serialize_error(exc)})
            return 1
        self.send({"type": "ready", "sdk": __version__, "runtime": f"python {platform.python_version()}", "protocol": PROTOCOL_VERSION})
        while True:
            try:
                frame = self._reader.read()
            except ProtocolError as exc:
                print(f"chorus_sdk: protocol error from the host: {exc}", file=sys.stderr, flush=True)
                return EXIT_PROTOCOL_ERROR
            if frame is None:
                return 0
            header, _ = frame
            if header["type"] == "shutdown":
                return 0
            self._dispatch(header)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        rid = message.get("id")
        if kind == "ping":
            self.send({"type": "pong", "id": rid})
        elif kind == "credit":
            with self._lock:
                state = self._running.get(rid)  # type: ignore[arg-type]
            if state:
                state.grant(int(message.get("n", 0)))
        elif kind == "abort":
            with self._lock:
                state = self._running.get(rid)  # type: ignore[arg-type]
            if state:
                state.abort()
        elif kind == "synthesize":
            state = _Synthesis(int(message.get("credits", 0)))
            with self._lock:
                self._running[rid] = state  # type: ignore[index]
            more = [str(t) for t in message.get("more") or []]
            self._spawn(lambda: self._synthesize(rid, message.get("request") or {}, state, more))  # type: ignore[arg-type]
        elif kind in ("load", "unload", "voices", "health"):
            self._spawn(lambda: self._call(kind, rid, message))  # type: ignore[arg-type]
        else:
            self.log.warn(f"unknown message type '{kind}' ignored")

    def _spawn(self, work: Callable[[], None]) -> None:
        threading.Thread(target=work, daemon=True).start()

    def _answer(self, rid: int, work: Callable[[], Any]) -> None:
        try:
            value = work()
        except BaseException as exc:  # noqa: BLE001
            self.send({"type": "error", "id": rid, "error": serialize_error(exc)})
            return
        message: dict[str, Any] = {"type": "result", "id": rid}
        if value is not None:
            message["value"] = value
        self.send(message)

    def _call(self, kind: str, rid: int, message: dict[str, Any]) -> None:
        engine = self._engine
        assert engine is not None
        if kind == "load":
            self._answer(rid, lambda: engine.load(self._load_context(message.get("context") or {})))
        elif kind == "unload":
            self._answer(rid, engine.unload)
        elif kind == "voices":
            self._answer(rid, lambda: [v.to_wire() if isinstance(v, Voice) else dict(v) for v in engine.list_voices()])
        else:
            self._answer(rid, engine.health)

    def _load_context(self, raw: dict[str, Any]) -> LoadContext:
        limit = raw.get("maxChunkBytes")
        if isinstance(limit, int) and limit >= 2:
            self.max_chunk_bytes = limit
        profile = raw.get("profile") or {}
        if isinstance(profile, str):  # v1 sends the profile's name; the manifest has its spec
            profiles = (self._manifest.get("resources") or {}).get("profiles") or []
            profile = next((p for p in profiles if p.get("name") == profile), {"name": profile})
        device = raw.get("device") or {}
        simulated = bool(device.get("simulated", raw.get("simulated", False)))
        kind = str(device.get("kind", profile.get("device", "cpu")))

        def report_memory(vram_mb: float | None = None, ram_mb: float | None = None, device: str | None = None) -> None:
            message: dict[str, Any] = {"type": "memory"}
            for key, value in (("vramMb", vram_mb), ("ramMb", ram_mb), ("device", device)):
                if value is not None:
                    message[key] = value
            self.send(message)

        return LoadContext(
            profile=profile,
            device=Device(kind=kind, index=int(device.get("index", 0)), simulated=simulated),
            settings=dict(raw.get("settings") or {}),
            data_dir=str(raw.get("dataDir", "")),
            plugin_dir=str(raw.get("pluginDir", "")),
            log=self.log,
            raw=raw,
            report_memory=report_memory,
        )

    def _synthesize(self, rid: int, raw: dict[str, Any], state: _Synthesis, more: list[str]) -> None:
        engine = self._engine
        assert engine is not None

        def speak(wire: dict[str, Any]) -> None:
            generator = engine.synthesize(SynthesisRequest.from_wire(wire), state.cancelled)
            try:
                for value in generator:
                    if state.cancelled:
                        raise AbortError()
                    chunk = to_chunk(value)
                    if not chunk.pcm:
                        continue  # an empty chunk is not sent
                    for piece in split(chunk, self.max_chunk_bytes):
                        state.take()
                        self.send({"type": "chunk", "id": rid, "sampleRate": piece.sample_rate}, piece.pcm)
                if state.cancelled:
                    raise AbortError()
            finally:
                close = getattr(generator, "close", None)
                if close:
                    close()  # runs the generator's finally blocks when it stopped early

        def run() -> None:
            # The request's text, then each of `more` (protocol 1.1) with the same parameters.
            # every text but the last is followed by more of the turn: the `continues` hint
            texts = [str(raw.get("text", "")), *more]
            for index, text in enumerate(texts):
                followed = index < len(texts) - 1
                speak({**raw, "text": text, **({"continues": True} if followed else {})})

        try:
            self._answer(rid, run)
        finally:
            with self._lock:
                self._running.pop(rid, None)

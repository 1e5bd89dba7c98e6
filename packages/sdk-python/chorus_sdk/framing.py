"""Protocol v1 framing on a byte stream (fd 3): a header line of UTF-8 JSON ended by "\\n";
when the header has "payloadLength": n (n > 0), exactly n raw bytes follow the newline.
Limits: header <= 1 MiB, payload <= 16 MiB; a violation is a ProtocolError."""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Optional

MAX_HEADER_BYTES = 1024 * 1024
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


class ProtocolError(Exception):
    pass


Frame = tuple[dict[str, Any], Optional[bytes]]


class FrameReader:
    def __init__(self, fd: int) -> None:
        self._file = open(fd, "rb", buffering=256 * 1024, closefd=False)

    def read(self) -> Frame | None:
        """The next frame; None at end of stream (the host went away)."""
        line = self._file.readline(MAX_HEADER_BYTES + 1)
        if not line:
            return None
        if not line.endswith(b"\n"):
            if len(line) > MAX_HEADER_BYTES:
                raise ProtocolError(f"header line longer than {MAX_HEADER_BYTES} bytes")
            raise ProtocolError("stream ended inside a header line")
        try:
            header = json.loads(line)
        except ValueError as exc:
            raise ProtocolError(f"header is not JSON: {exc}") from None
        if not isinstance(header, dict) or not isinstance(header.get("type"), str):
            raise ProtocolError("header must be a JSON object with a string 'type'")
        length = header.get("payloadLength", 0) or 0
        if not isinstance(length, int) or length < 0 or length > MAX_PAYLOAD_BYTES:
            raise ProtocolError(f"bad payloadLength {length!r} (0..{MAX_PAYLOAD_BYTES})")
        payload = None
        if length:
            payload = self._file.read(length)
            if payload is None or len(payload) != length:
                raise ProtocolError("stream ended inside a payload")
        return header, payload


class FrameWriter:
    """Thread-safe: one frame is written whole before the next starts."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """No frame is written after this returns (the fd may be reused by then)."""
        with self._lock:
            self._closed = True

    def write(self, header: dict[str, Any], payload: bytes | None = None) -> None:
        if payload:
            if len(payload) > MAX_PAYLOAD_BYTES:
                raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
            header = {**header, "payloadLength": len(payload)}
        # ensure_ascii keeps the line free of raw newlines and encoding questions.
        line = json.dumps(header, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"
        if len(line) > MAX_HEADER_BYTES:
            raise ProtocolError(f"header of {len(line)} bytes exceeds {MAX_HEADER_BYTES}")
        data = memoryview(line + payload) if payload else memoryview(line)
        with self._lock:
            if self._closed:
                return
            while data:
                written = os.write(self._fd, data)
                data = data[written:]

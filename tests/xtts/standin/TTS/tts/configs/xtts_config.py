"""STAND-IN for TTS.tts.configs.xtts_config (tests only)."""

from __future__ import annotations

import json
from typing import Any


class XttsConfig:
    def __init__(self) -> None:
        self.languages = ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi"]
        self.temperature = 0.85
        self.length_penalty = 1.0
        self.repetition_penalty = 2.0
        self.top_k = 50
        self.top_p = 0.85
        self.gpt_cond_len = 12
        self.gpt_cond_chunk_len = 4
        self.max_ref_len = 10
        self.sound_norm_refs = False
        self.standin: dict[str, Any] = {}

    def load_json(self, file_name: str) -> None:
        with open(file_name, encoding="utf8") as f:
            data = json.load(f)
        for key, value in data.items():
            setattr(self, key, value)

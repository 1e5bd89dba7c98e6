"""Conditioning latents, computed once per (clips, their content, model folder and its
model.pth) and kept in memory and on disk (`<dataDir>/latents/<key>.pth`): AllTalk recomputes
them on every request. A changed clip has a new content hash, a replaced model.pth a new
weights id, so either is recomputed."""

from __future__ import annotations

import os
from typing import Any, Callable

Latents = tuple[Any, Any]  # (gpt_cond_latent, speaker_embedding)


class LatentCache:
    def __init__(self, torch: Any, directory: str) -> None:
        self.torch = torch
        self.directory = directory
        self.memory: dict[str, Latents] = {}
        self.computed = 0

    def get(self, key: str, compute: Callable[[], Latents]) -> Latents:
        if key in self.memory:
            return self.memory[key]
        path = os.path.join(self.directory, f"{key}.pth")
        if os.path.isfile(path):
            saved = self.torch.load(path, map_location="cpu")
            latents = (saved["gpt_cond_latent"], saved["speaker_embedding"])
        else:
            latents = compute()
            self.computed += 1
            os.makedirs(self.directory, exist_ok=True)
            tmp = f"{path}.tmp"
            self.torch.save({"gpt_cond_latent": latents[0], "speaker_embedding": latents[1]}, tmp)
            os.replace(tmp, path)
        self.memory[key] = latents
        return latents

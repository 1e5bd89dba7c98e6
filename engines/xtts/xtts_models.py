"""XTTS model folders under the models directory: a folder counts when it has config.json,
model.pth, vocab.json and speakers_xtts.pth (dvae.pth and mel_stats.pth only matter for
fine-tuning). Read on every call, so fine-tuned models appear without a restart."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

REQUIRED = ("config.json", "model.pth", "vocab.json", "speakers_xtts.pth")
FINETUNE_ONLY = ("dvae.pth", "mel_stats.pth")


@dataclass(frozen=True)
class ModelFolder:
    name: str
    path: str
    finetunable: bool

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def weights_id(self) -> str:
        """Changes when model.pth is replaced (a re-download or another fine-tune copied over
        the folder): latents computed with the old weights must not be reused."""
        st = os.stat(self.file("model.pth"))
        return hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:10]


def missing_files(path: str) -> list[str]:
    return [f for f in REQUIRED if not os.path.isfile(os.path.join(path, f))]


def scan_models(models_dir: str) -> list[ModelFolder]:
    try:
        names = sorted(os.listdir(models_dir))
    except OSError:
        return []
    out = []
    for name in names:
        path = os.path.join(models_dir, name)
        if name.startswith(".") or not os.path.isdir(path) or missing_files(path):
            continue
        out.append(ModelFolder(name, path, all(os.path.isfile(os.path.join(path, f)) for f in FINETUNE_ONLY)))
    return out


def resolve_model(models_dir: str, wanted: str) -> ModelFolder:
    """`wanted`: a folder name, AllTalk's 'xtts - NAME' form, or '' for the first found."""
    name = wanted.split(" - ", 1)[1].strip() if " - " in wanted else wanted.strip()
    models = scan_models(models_dir)
    if not models:
        raise FileNotFoundError(f"no XTTS model in {models_dir} (each needs {', '.join(REQUIRED)}); download one with: chorus xtts download --accept-license")
    if not name:
        return models[0]
    for model in models:
        if model.name == name:
            return model
    path = os.path.join(models_dir, name)
    if os.path.isdir(path):
        raise FileNotFoundError(f"XTTS model '{name}' lacks {', '.join(missing_files(path))}")
    raise FileNotFoundError(f"no XTTS model '{name}' in {models_dir} (have: {', '.join(m.name for m in models)})")

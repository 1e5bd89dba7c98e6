"""STAND-IN for deepspeed (tests only; see tests/xtts/standin/README.md): importable, nothing else.
The stand-in coqui-tts imports it when load_checkpoint(use_deepspeed=True), as the real one does."""

__version__ = "0.16.0+standin"

"""`python -m chorus_sdk --entry FILE --plugin-dir DIR --manifest JSON`: the engine process.

The host spawns this with the plugin's environment; the protocol runs on the fd named by
CHORUS_PROTOCOL_FD (3). stdout and stderr are left to the engine and its libraries: the host
captures them into its log, so print() never breaks the protocol."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from typing import Any, Callable

from .engine import Engine, PluginContext
from .errors import EngineError
from .framing import FrameReader, FrameWriter
from .runtime import Runtime


def load_entry(entry: str, plugin_dir: str) -> Callable[[PluginContext], Engine]:
    """Imports the entry module from its file (the plugin folder first on sys.path, so it
    can import its own modules) and returns its `create`."""
    if plugin_dir not in sys.path:
        sys.path.insert(0, plugin_dir)
    name = os.path.splitext(os.path.basename(entry))[0]
    spec = importlib.util.spec_from_file_location(name, entry)
    if spec is None or spec.loader is None:
        raise EngineError(f"cannot import entry {entry}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    create = getattr(module, "create", None)
    if not callable(create):
        raise EngineError(f"entry {os.path.basename(entry)} defines no create(context) function returning an Engine")
    return create  # type: ignore[no-any-return]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="chorus_sdk")
    parser.add_argument("--entry", required=True)
    parser.add_argument("--plugin-dir", required=True)
    parser.add_argument("--manifest", default="{}")
    args = parser.parse_args(argv)
    fd = int(os.environ.get("CHORUS_PROTOCOL_FD", "3"))
    manifest: dict[str, Any] = json.loads(args.manifest)
    holder: dict[str, Callable[[PluginContext], Engine]] = {}

    def create(context: PluginContext) -> Engine:
        # Importing the entry counts as booting: its errors become boot-failed.
        holder["create"] = load_entry(os.path.abspath(args.entry), os.path.abspath(args.plugin_dir))
        return holder["create"](context)

    runtime = Runtime(create, manifest, FrameReader(fd), FrameWriter(fd))
    return runtime.serve()


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # engine threads may still run; the process must end now

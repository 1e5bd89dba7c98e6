"""`python -m chorus_sdk.doctor [--entry FILE --plugin-dir DIR --settings JSON --data-dir DIR]`:
what `chorus doctor` needs to know from inside an environment, as one JSON line on stdout:
torch (version, CUDA build, cuda.is_available(), the GPUs it sees), DeepSpeed, and the
engine's own checks (an optional `doctor(context) -> [{"ok", "what", "detail", "fix"}]` in the
entry module, e.g. model files present)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
from typing import Any


def _torch() -> dict[str, Any] | None:
    try:
        import torch  # type: ignore[import-not-found]
    except ImportError:
        return None
    except Exception as exc:  # noqa: BLE001 - a broken install is what the doctor reports
        return {"error": f"{type(exc).__name__}: {exc}"}
    info: dict[str, Any] = {"version": str(torch.__version__), "cuda": torch.version.cuda}
    try:
        info["available"] = bool(torch.cuda.is_available())
        info["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if info["available"] else []
    except Exception as exc:  # noqa: BLE001
        info["available"] = False
        info["devices"] = []
        info["error"] = f"{type(exc).__name__}: {exc}"
    return info


def _deepspeed() -> dict[str, Any] | None:
    try:
        import deepspeed  # type: ignore[import-not-found]
    except ImportError:
        return None
    except Exception as exc:  # noqa: BLE001
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"version": str(getattr(deepspeed, "__version__", "?"))}


def _engine_checks(args: argparse.Namespace) -> list[dict[str, Any]]:
    if not args.entry:
        return []
    from .__main__ import load_entry  # noqa: PLC0415

    try:
        load_entry(args.entry, args.plugin_dir)
    except Exception as exc:  # noqa: BLE001
        return [{"ok": False, "what": "engine code imports", "detail": f"{type(exc).__name__}: {exc}", "fix": "run chorus plugin setup again; see the error"}]
    module = sys.modules.get(args.entry.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    check = getattr(module, "doctor", None)
    results: list[dict[str, Any]] = [{"ok": True, "what": "engine code imports"}]
    if callable(check):
        try:
            context = {"settings": json.loads(args.settings), "pluginDir": args.plugin_dir, "dataDir": args.data_dir}
            results.extend(dict(r) for r in check(context))
        except Exception as exc:  # noqa: BLE001
            results.append({"ok": False, "what": "engine checks", "detail": f"{type(exc).__name__}: {exc}"})
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="chorus_sdk.doctor")
    parser.add_argument("--entry", default="")
    parser.add_argument("--plugin-dir", default="")
    parser.add_argument("--settings", default="{}")
    parser.add_argument("--data-dir", default="")
    args = parser.parse_args(argv)
    noise = io.StringIO()
    with contextlib.redirect_stdout(noise):  # libraries print; only our JSON goes to stdout
        report = {"python": platform.python_version(), "torch": _torch(), "deepspeed": _deepspeed(), "checks": _engine_checks(args)}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

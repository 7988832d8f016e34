"""``python bench/run.py [--smoke] [--duration S] ...``: the benchmark harness (see bench/README.md).

This file only makes sure the interpreter has the project installed (re-running itself with the
repository's ``.venv`` Python when the current one lacks it), then hands over to ``harness.main``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEEDED = ("mockserver", "uvicorn", "starlette", "orjson")


def _has_dependencies() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in NEEDED)


def main() -> int:
    """Re-exec under the project venv if needed, then run the harness."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    if not _has_dependencies():
        if venv_python.exists() and not os.environ.get("MUSICAPI_BENCH_REEXEC"):
            os.environ["MUSICAPI_BENCH_REEXEC"] = "1"
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        print("bench/run.py needs the project installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from harness import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())

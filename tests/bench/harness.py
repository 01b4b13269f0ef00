"""Running a benchmark as ``make bench`` does (``python -m bench NAME``), at the size its environment
knobs give it, and reading back the report it prints."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_benchmark(name: str, env: dict[str, str], timeout: float = 300) -> dict:
    """``python -m bench NAME`` with ``env`` added to this process's environment; its JSON report.
    The settings are the suite's (``tests.settings``: its Redis database) unless ``env`` says otherwise."""
    completed = subprocess.run([sys.executable, "-m", "bench", name], cwd=ROOT,
                               env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **env},
                               capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    return json.loads(completed.stdout[completed.stdout.index("\n{") + 1:completed.stdout.rindex("}") + 1])

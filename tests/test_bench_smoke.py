"""The benchmark harnesses in smoke mode, so they cannot rot (figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_core_benchmark_smoke() -> None:
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_core.py"), "--smoke"],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert "decide, realistic repeat hosts" in cp.stdout and "compile:" in cp.stdout


def test_proxy_benchmark_smoke() -> None:
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--smoke"],
                        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert cp.returncode == 0, cp.stderr
    for case in ("keepalive", "newconn", "tunnel"):
        assert any(line.startswith(case) and "." in line for line in cp.stdout.splitlines()), cp.stdout

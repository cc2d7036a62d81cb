"""The benchmark harnesses in smoke mode, so they cannot rot (figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import netns

ROOT = Path(__file__).resolve().parent.parent


def test_whole_benchmark_table_smoke() -> None:
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--smoke"],
                        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert cp.returncode == 0, cp.stderr
    lines = cp.stdout.splitlines()
    for case in ("keepalive", "newconn", "tunnel"):
        assert any(line.startswith(case) and "." in line for line in lines), cp.stdout
    # the micro-benchmarks are part of the same table
    assert "decide, realistic repeat hosts" in cp.stdout and "compile:" in cp.stdout
    assert "audit writer:" in cp.stdout and "audit enqueue:" in cp.stdout


def test_audit_query_benchmark_smoke() -> None:
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_audit.py"), "--smoke"],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert "violations, 7 days" in cp.stdout and "lost 0" in cp.stdout
    assert "audit verify (every seal and record)" in cp.stdout and "intact" in cp.stdout
    assert "console: violations page" in cp.stdout and "(HTTP 200)" in cp.stdout


def test_the_chains_cost_benchmark_smoke() -> None:
    """`--compare-chain`: the writer with its seals off and on, the helper's CPU counted."""
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_audit.py"), "--smoke",
                         "--compare-chain", "1"], capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert "turn 1 chain off:" in cp.stdout and "turn 1 chain on :" in cp.stdout
    assert "audit writer, chain on / off:" in cp.stdout and "in the leaves helper" in cp.stdout


def test_audit_benchmark_smoke_on_postgresql(postgres) -> None:  # noqa: ANN001 - installed
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_audit.py"), "--smoke",
                         "--backend", "postgresql", "--writers", "1", "2"],
                        capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, cp.stderr
    assert "audit writer x2:" in cp.stdout and "into PostgreSQL" in cp.stdout
    assert "report --by category, 1 day" in cp.stdout and "console: audit page" in cp.stdout


def test_workers_benchmark_smoke() -> None:
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_workers.py"), "--smoke"],
                        capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, cp.stderr
    assert "x2: bare" in cp.stdout and "CPU-s/1k" in cp.stdout


@pytest.mark.skipif(not netns.available(), reason="needs root and iproute2 (a network namespace)")
def test_soak_benchmark_smoke() -> None:
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_soak.py"), "--smoke"],
                        capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, cp.stderr
    assert "guarita - bare at the end:" in cp.stdout and "spread after warm-up" in cp.stdout


def test_forwarding_benchmark_smoke() -> None:
    cp = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_forward.py"), "--smoke"],
                        capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, cp.stderr
    assert "forwarding in the proxy:" in cp.stdout and "guarita forward run" in cp.stdout

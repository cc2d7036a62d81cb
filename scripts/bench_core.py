"""Micro-benchmarks of the pure core: index compile/load/memory at 5M domains, decision latency.

    .venv/bin/python scripts/bench_core.py [--domains 5000000] [--smoke]

Reads the UT1 lists from ../shared/data when present and pads them with generated
names up to --domains. Prints one line per figure with its target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from addon.lists.compiler import compile_index  # noqa: E402
from addon.policy.categories import CategoryIndex  # noqa: E402
from addon.policy.decide import decide  # noqa: E402
from addon.policy.model import Identity  # noqa: E402
from addon.settings.load import load_policy  # noqa: E402

UT1 = ROOT.parent / "shared" / "data" / "ut1-blacklists-2026-08-17.tar.gz"


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_lists(folder: Path, total: int) -> tuple[int, list[str]]:
    """UT1 lists (if present) plus generated names: returns (lines written, sample hosts)."""
    written = 0
    sample: list[str] = []
    if UT1.exists():
        with tarfile.open(UT1) as tar:
            for m in tar:
                parts = m.name.split("/")
                if m.isfile() and parts[-1] == "domains" and written < total:
                    data = tar.extractfile(m).read()  # type: ignore[union-attr]
                    (folder / parts[-2]).mkdir(exist_ok=True)
                    (folder / parts[-2] / "domains").write_bytes(data)
                    lines = data.count(b"\n")
                    written += lines
                    if len(sample) < 50000:
                        sample += [x.decode() for x in data.split(b"\n")[:2000] if x and b"#" not in x]
    rng = random.Random(7)
    cats = [f"gen{i:02d}" for i in range(20)]
    per = max(0, total - written) // len(cats) + 1
    for c in cats:
        (folder / c).mkdir(exist_ok=True)
        with open(folder / c / "domains", "w") as fh:
            for i in range(per):
                name = f"h{rng.getrandbits(40):x}-{i}.example{rng.randrange(100)}.com"
                fh.write(name + "\n")
                if i < 1000:
                    sample.append(name)
        written += per
    return written, sample


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domains", type=int, default=5_000_000)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    args = ap.parse_args()
    total = 20_000 if args.smoke else args.domains
    with tempfile.TemporaryDirectory() as tmp:
        lists = Path(tmp) / "lists"
        lists.mkdir()
        lines, sample = build_lists(lists, total) if not args.smoke else build_small(lists, total)
        t0 = time.perf_counter()
        n = compile_index([lists], Path(tmp) / "idx")
        compile_s = time.perf_counter() - t0
        size_mb = os.path.getsize(Path(tmp) / "idx") / 2**20
        base = rss_mb()
        t0 = time.perf_counter()
        idx = CategoryIndex(Path(tmp) / "idx")
        load_s = time.perf_counter() - t0
        rng = random.Random(1)
        probe = [rng.choice(sample) for _ in range(100_000)] + [
            f"nao-listado-{i}.com.br" for i in range(50_000)]
        for h in probe:
            idx.lookup(h)
        mem = rss_mb() - base
        for part in ("config", "categories"):  # the shipped policy keeps its state beside it
            shutil.copytree(ROOT / part, Path(tmp) / part)
        policy = load_policy(Path(tmp) / "config" / "policy.yaml", workdir=Path(tmp))
        ident = Identity("ana", frozenset({"servidores"}), 2, source="directory")
        now = dt.datetime(2026, 11, 24, 14, tzinfo=dt.UTC).timestamp()

        def timed(hosts: list[str]) -> list[float]:
            out = []
            pc = time.perf_counter_ns
            for h in hosts:
                t = pc()
                decide(policy, h, idx.lookup(h), ident, now)
                out.append((pc() - t) / 1000)
            return out

        idx.lookup.cache_clear()
        cold_hosts = [f"w{i}.{rng.choice(sample)}" for i in range(50_000 if not args.smoke else 2000)]
        cold = timed(cold_hosts)
        warm_pool = [rng.choice(sample) for _ in range(2000)]
        warm = timed([rng.choice(warm_pool) for _ in range(200_000 if not args.smoke else 5000)])
    print(f"entries: {n} from {lines} lines")
    print(f"compile: {compile_s:.1f} s (target < 15 s)   index file: {size_mb:.0f} MB")
    print(f"load: {load_s * 1000:.2f} ms (target < 500 ms)   "
          f"memory after 150k lookups: {mem:.0f} MB (target < 100 MB)")
    print(f"decide, uncached host (index walk): p50 {statistics.median(cold):.2f} us  "
          f"p99 {percentile(cold, 0.99):.2f} us")
    print(f"decide, realistic repeat hosts:     p50 {statistics.median(warm):.2f} us  "
          f"p99 {percentile(warm, 0.99):.2f} us  (target p50 < 3 us, p99 < 15 us)")


def build_small(folder: Path, total: int) -> tuple[int, list[str]]:
    (folder / "gen").mkdir()
    names = [f"h{i}.example.com" for i in range(total)]
    (folder / "gen" / "domains").write_text("\n".join(names) + "\n")
    return total, names[:1000]


if __name__ == "__main__":
    main()

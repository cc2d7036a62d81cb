"""`guarita categories`: inspect and edit the category lists (Art. 9 §8)."""

from __future__ import annotations

import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from addon.cli.common import (
    config_option,
    emit,
    format_option,
    operator_option,
    policy_of,
    progress,
    ready_of,
)
from addon.errors import CategoryError
from addon.lists import compiler, edits, shared
from addon.policy import categories as cat
from addon.policy.hosts import host_of_url, normalize_host
from addon.policy.model import Policy


@click.group()
def categories() -> None:
    """Inspect and edit category lists; a running proxy picks changes up within seconds."""


def _known(policy: Policy, name: str) -> None:
    edits.known(policy, name)


def _count(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip() and not line.lstrip().startswith(b"#"))


@categories.command("list")
@format_option
@config_option
def list_(config: Path, fmt: str) -> None:
    """Every category: its label, its role in the policy and how many entries it lists."""
    policy = policy_of(config)
    dirs = cat.category_dirs(policy.paths.sources)
    rows = []
    for name in sorted(set(dirs) | set(policy.category_labels)):
        role = ("malicious" if name in policy.malicious else
                "blocked" if name in policy.blocked else
                "platform" if policy.platform_of_category(name) else
                "homologated" if name in policy.homologated else
                "level-1" if name in (policy.levels[1].allow_only or ()) else
                "off-hours" if name in policy.levels[2].outside_business_hours_only else "")
        rows.append({"category": name, "label": policy.label(name), "role": role,
                     "entries": sum(_count(f) for f in dirs.get(name, []))})
    emit(rows, ["category", "label", "role", "entries"], fmt)


@categories.command()
@click.argument("host", metavar="HOST_OR_URL")
@config_option
def lookup(host: str, config: Path) -> None:
    """Every list that classifies HOST, and which one decides.

    The most specific listed entry decides; for that entry the institution's lists
    (curated, IT's edits) outrank imported ones.
    """
    policy = policy_of(config)
    canonical = host_of_url(host)[1] if "/" in host else normalize_host(host)  # URL or host
    matches = compiler.policy_index(policy.paths).matches(canonical)
    if not matches:
        click.echo(f"{canonical}: unclassified")
        raise SystemExit(1)
    dirs = cat.category_dirs(policy.paths.sources)
    for i, m in enumerate(matches):
        for name in (*m.categories, *m.overridden):
            files = [str(f) for f in dirs.get(name, []) if m.entry in set(cat.read_list(f))]
            verdict = ("decides" if i == 0 and name in m.categories else
                       "outranked by the institution's list" if name in m.overridden else
                       "a less specific entry")
            click.echo(f"{canonical}: {name} ({policy.label(name)}) via entry {m.entry!r} "
                       f"in {', '.join(files) or '?'}: {verdict}")


def _compiling() -> None:
    if sys.stderr.isatty():
        click.echo("compiling the category index...", err=True)


def _recompile(policy: Policy) -> int:
    _compiling()
    return compiler.compile_policy(policy.paths)


@categories.command()
@click.argument("category")
@click.argument("hosts", nargs=-1, required=True)
@config_option
@operator_option
def add(category: str, hosts: tuple[str, ...], config: Path, operator: str) -> None:
    """Add HOSTS to CATEGORY's curated list (a subdomain may differ from its parent)."""
    new, already = edits.add_hosts(ready_of(config), category, hosts, operator, _compiling)
    click.echo(f"{category}: added {len(new)}, already listed {already}")


@categories.command()
@click.argument("category")
@click.argument("hosts", nargs=-1, required=True)
@config_option
@operator_option
def remove(category: str, hosts: tuple[str, ...], config: Path, operator: str) -> None:
    """Remove HOSTS from every list of CATEGORY.

    From the institution's lists they are deleted; from imported lists they are excepted
    (kept under the state folder's `exceptions/`), so a re-import never brings them back.
    """
    removed, missing = edits.remove_hosts(ready_of(config), category, hosts, operator,
                                          _compiling)
    click.echo(f"{category}: removed {len(removed)}")
    if missing:
        raise CategoryError(f"not listed in {category}: {', '.join(sorted(missing))}")


def _members(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """(category, domains file) pairs of a UT1/SquidGuard folder or .tar.gz.

    Only regular `<category>/domains` files are read; symbolic-link categories
    (aliases) and anything else in the archive are ignored, and nothing is
    extracted to disk under an archive-chosen path.
    """
    if path.is_dir():
        for name, files in cat.category_dirs([path / "blacklists", path]).items():
            for f in files:
                with open(f, "rb") as fh:
                    yield name, fh
        return
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below; its position drives the bar
        tar = tarfile.open(fileobj=raw, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise CategoryError(f"{path}: not a folder or a readable .tar.gz: {exc}") from exc
    with raw, tar, progress(f"reading {path.name}", path.stat().st_size) as bar:
        done = 0
        for member in tar:
            bar.update(raw.tell() - done)
            done = raw.tell()
            parts = member.name.strip("/").split("/")
            if member.isfile() and len(parts) >= 2 and parts[-1] == "domains":
                member_file = tar.extractfile(member)
                if member_file is not None:
                    yield parts[-2], member_file


@categories.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@config_option
@operator_option
def import_(path: Path, config: Path, operator: str) -> None:
    """Import a SquidGuard/UT1 folder or .tar.gz into the imported lists and recompile."""
    policy = ready_of(config)
    started = time.perf_counter()
    dest = policy.paths.imported_dir
    dest.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".import-"))
    try:
        for name, fh in _members(path):
            if not cat._CATEGORY_NAME.match(name):
                continue
            (staging / name).mkdir(exist_ok=True)
            with open(staging / name / "domains", "ab") as out:
                shutil.copyfileobj(fh, out)
        for sub in staging.iterdir():
            counts[sub.name] = _count(sub / "domains")
            final = dest / sub.name
            if final.exists():
                shutil.rmtree(final)
            sub.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not counts:
        raise CategoryError(f"{path}: no <category>/domains lists found")
    n = _recompile(policy)
    shared.publish(policy.paths, [dest / name / "domains" for name in counts])  # once, for all
    edits.record(policy, operator, "categories.import", str(path), counts)
    click.echo(f"imported {len(counts)} categories, {sum(counts.values())} lines from {path}; "
               f"index has {n} entries ({time.perf_counter() - started:.1f} s)")

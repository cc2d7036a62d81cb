"""`guarita audit verify | export | verify-export | access`: the log as evidence (issue 26)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from addon.audit import access, evidence, query, signing, verify, witness
from addon.cli.common import (
    audit_of,
    config_option,
    emit,
    fmt_time,
    format_option,
    operator_option,
    parse_time,
    policy_of,
    state_of,
)
from addon.errors import GuaritaError
from addon.policy.hosts import canonical_ip
from addon.service import reads
from addon.state import history


@click.command("verify")
@click.option("--since", help="ISO-8601: check the records of seals from this time on.")
@click.option("--until", help="ISO-8601: … and before this time.")
@click.option("--witness", "extra", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              multiple=True, help="Another witness: lines kept elsewhere (the committee's "
              "e-mails with audit.email_checkpoints), besides audit.witness.")
@config_option
def verify_(config: Path, since: str | None, until: str | None, extra: tuple[Path, ...]) -> None:
    """Exit 0 when the log is what its writers sealed and signed; 1 naming the first record
    modified, inserted, deleted or reordered, a checkpoint replaced or a tail cut (against
    the witness, `audit.witness`); 2 for bad input. The access log's chain is checked too."""
    policy = policy_of(config)
    tz = policy.calendar.tz
    lo = parse_time(since, tz, "--since") if since else None
    hi = parse_time(until, tz, "--until") if until else None
    files = [*([policy.audit_witness] if policy.audit_witness else []), *extra]
    witnessed = list({witness.line(e): e for f in files for e in witness.read(f)}.values())
    report = verify.verify(audit_of(policy), witnessed, lo, hi)
    reads = access.verify_chain(state_of(policy))
    problems = report.problems + reads
    if problems:
        click.echo(f"TAMPERED: {problems[0]}")
        for p in problems[1:]:
            click.echo(f"  also: {p}")
        sys.exit(1)
    keys = ", ".join(sorted(signing.fingerprint(k) for k in report.keys)) or "none"
    click.echo(f"intact: {report.records} records in {report.seals} seals of {report.chains} "
               f"chains; {report.checkpoints} signed checkpoints "
               f"({report.witnessed} in the witness); keys {keys}")
    notes = []
    if report.pruned:
        notes.append(f"{report.pruned} records pruned by the retention (signed)")
    if report.legacy:
        notes.append(f"{report.legacy} records written before seals existed (not provable)")
    if report.unsigned:
        notes.append(f"{report.unsigned} records sealed after their chain's last checkpoint "
                     "(signed within a minute while the proxy runs)")
    if not files:
        notes.append("no audit.witness in the policy: a cut tail cannot be told")
    for n in notes:
        click.echo(f"  {n}")


@click.command("export")
@click.option("--case", "case_ref", required=True, help="The case (processo) this is for.")
@click.option("--user")
@click.option("--ip")
@click.option("--since", help="ISO-8601 start (inclusive).")
@click.option("--until", help="ISO-8601 end (exclusive).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="A new folder for the records, their proofs and a README.")
@click.option("--purpose", help="Why (kept in the access log).")
@config_option
@operator_option
def export_(config: Path, case_ref: str, user: str | None, ip: str | None, since: str | None,
            until: str | None, out: Path, purpose: str | None, operator: str) -> None:
    """Evidence for a case: the records with the proofs that tie each to a signed
    checkpoint, checkable without the database (`guarita audit verify-export DIR`).
    Recorded in the access log and the admin history."""
    policy = policy_of(config)
    tz = policy.calendar.tz
    f = query.Filters(user=user, ip=canonical_ip(ip) if ip else None,
                      since=parse_time(since, tz, "--since") if since else None,
                      until=parse_time(until, tz, "--until") if until else None)
    if not case_ref.strip():
        raise GuaritaError("--case: give the case reference")
    key = signing.load_key(policy.paths.state_dir, create=False)
    conn = audit_of(policy)
    state = state_of(policy)
    reads.admit(policy, state, reads.read_of(operator, "cli", "export", f, purpose, case_ref,
                                             out=str(out)))
    rows = list(reversed(list(query.records(conn, f, limit=10_000_000))))
    filters = {k: v for k, v in {"user": user, "ip": ip, "since": since, "until": until}.items()
               if v}
    outcome = evidence.export(conn, rows, out, key, case_ref, operator, filters)
    with state:
        history.record(state, operator, "audit.export", case_ref, None,
                       {**filters, "records": outcome.records, "out": str(out)})
    click.echo(f"exported {outcome.records} records for case {case_ref} to {out}"
               + (f" ({outcome.unsigned} not yet under a signed checkpoint)"
                  if outcome.unsigned else ""))


@click.command("verify-export")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
def verify_export(folder: Path) -> None:
    """Check an export without the database: exit 0 intact, 1 tampered (naming what)."""
    outcome = evidence.verify_export(folder)
    if outcome.problems:
        click.echo(f"TAMPERED: {outcome.problems[0]}")
        for p in outcome.problems[1:20]:
            click.echo(f"  also: {p}")
        sys.exit(1)
    keys = ", ".join(sorted(signing.fingerprint(k) for k in outcome.keys))
    click.echo(f"intact: {outcome.records} records, each the one its seal holds; signed by "
               f"keys {keys}" + (f"; {outcome.unsigned} not yet under a checkpoint"
                                 if outcome.unsigned else ""))


@click.command("access")
@click.option("--user", help="Reads that named this person (and those about everyone).")
@click.option("--reader", help="Reads by this login.")
@click.option("--since", help="ISO-8601 start (inclusive).")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True)
@format_option
@config_option
def access_(config: Path, user: str | None, reader: str | None, since: str | None, limit: int,
            fmt: str) -> None:
    """Who read whose audit records: every query, report, violations list and export, from
    the CLI, the console and the API, with the filter and the purpose given."""
    policy = policy_of(config)
    tz = policy.calendar.tz
    rows = access.entries(state_of(policy), user, reader,
                          parse_time(since, tz, "--since") if since else None, limit)
    emit(({**r, "at": fmt_time(r["at"], tz)} for r in rows),
         ["id", "at", "reader", "door", "action", "subject_user", "subject_ip", "case_ref",
          "purpose", "filters"], fmt)


COMMANDS = (verify_, export_, verify_export, access_)

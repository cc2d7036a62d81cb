"""Evidence for a case: the records a case needs, with the proofs that tie each one to a
signed checkpoint, in a folder that checks itself without the database
(`guarita audit export` / `guarita audit verify-export`).

The folder holds the records (CSV and JSON), for each record its seal's leaves (the hashes
and times of the batch it was written in: other people's records appear only as hashes),
the seals from it to the next checkpoint of its chain (roots only), those checkpoints as
signed, the public keys, a README in Portuguese and a manifest of every file's SHA-256
signed with the node's key: a changed byte anywhere is caught.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from addon.audit import seal, signing, verify
from addon.audit.schema import COLUMNS
from addon.errors import GuaritaError

RECORDS_CSV, RECORDS_JSON, PROOFS, KEYS, README, MANIFEST = (
    "registros.csv", "registros.json", "provas.json", "chaves.json", "LEIA-ME.txt",
    "MANIFESTO.json")
FILES = (RECORDS_CSV, RECORDS_JSON, PROOFS, KEYS, README)

README_TEXT = """\
Exportação de registros de auditoria do guarita — processo {case}

Gerada em {when} por {operator}, com os filtros: {filters}.
Registros: {count}. Sob ponto de verificação assinado: {signed}; ainda sem assinatura: {unsigned}.

O que há nesta pasta
- registros.csv e registros.json: os registros, como estão no banco de auditoria.
- provas.json: para cada registro, o lote (selo) em que foi gravado, com as folhas do lote
  (hora e SHA-256 de cada registro do lote; dos registros de outras pessoas só aparecem esses
  resumos, nunca o conteúdo), os selos seguintes até o próximo ponto de verificação e os pontos
  de verificação assinados.
- chaves.json: as chaves públicas Ed25519 que assinaram (com a impressão digital de cada uma).
- MANIFESTO.json: o SHA-256 de cada arquivo, assinado com a chave do nó.

Como conferir
  guarita audit verify-export PASTA
confere, sem o banco de dados: o manifesto e sua assinatura; que o SHA-256 de cada registro
(os 21 campos na ordem das colunas, em JSON compacto) é a folha do seu selo; que a raiz de cada
selo é o SHA-256 das suas folhas; que cada selo se encadeia aos seguintes até um ponto de
verificação; e que cada ponto de verificação está assinado. Compare a impressão digital das
chaves com a que a instituição publicou ou com a testemunha (audit.witness) do nó.

O que a prova mostra e o que não mostra
- Mostra que cada registro existia, tal como está, quando o ponto de verificação foi assinado.
- Não mostra que um acesso que nunca foi registrado não aconteceu, nem diz nada de registros
  gravados depois do último ponto de verificação (contados acima como "ainda sem assinatura").
"""


@dataclass
class Outcome:
    problems: list[str] = field(default_factory=list)
    records: int = 0
    unsigned: int = 0
    keys: set[str] = field(default_factory=set)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(conn: Any, rows: list[dict[str, Any]], out: Path, key: Ed25519PrivateKey, case: str,
           operator: str, filters: dict[str, Any]) -> Outcome:
    """Write the folder for `rows` (records with their id, as stored)."""
    if out.exists() and any(out.iterdir()):
        raise GuaritaError(f"{out}: not empty (an export goes into a new folder)")
    chains = verify._seals(conn)
    checkpoints = [e for e in _checkpoints(conn) if verify._entry_problem(e) is None]
    ordered = sorted((s for group in chains.values() for s in group),
                     key=lambda s: s.first_id)
    starts = [s.first_id for s in ordered]
    used: dict[tuple[str, int], verify.StoredSeal] = {}
    proofs, outcome = [], Outcome()
    for r in rows:
        i = bisect.bisect_right(starts, int(r["id"])) - 1
        s = ordered[i] if i >= 0 and ordered[i].last_id >= int(r["id"]) else None
        if s is None or s.leaves is None:
            raise GuaritaError(f"record {r['id']}: no seal holds it (written before seals existed)")
        used[(s.chain, s.seq)] = s
        proofs.append({"id": r["id"], "chain": s.chain, "seq": s.seq,
                       "index": int(r["id"]) - s.first_id})
    seals_out, links, signed_by = [], {}, {}
    for (chain, seq), s in sorted(used.items()):
        by_seq = {x.seq: x for x in chains[chain]}
        cps = sorted((e for e in checkpoints if e["kind"] == "checkpoint"
                      and e["chain"] == chain and int(e["seq"]) >= seq), key=lambda e: int(e["seq"]))
        prev = by_seq[seq - 1].digest if seq - 1 in by_seq else seal.GENESIS.hex()
        seals_out.append({"chain": chain, "seq": seq, "first_id": s.first_id,
                          "last_id": s.last_id, "leaves": (s.leaves or b"").hex(),
                          "root": s.root, "prev": prev})
        if not cps:
            outcome.unsigned += sum(1 for p in proofs if (p["chain"], p["seq"]) == (chain, seq))
            continue
        cp = cps[0]
        signed_by[(chain, int(cp["seq"]))] = cp
        for later in (by_seq[n] for n in range(seq + 1, int(cp["seq"]) + 1) if n in by_seq):
            links[(chain, later.seq)] = {"chain": chain, "seq": later.seq,
                                         "first_id": later.first_id, "last_id": later.last_id,
                                         "root": later.root}
    out.mkdir(parents=True, exist_ok=True)
    columns = ["id", *COLUMNS]
    with (out / RECORDS_CSV).open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    (out / RECORDS_JSON).write_text(json.dumps(
        [{c: r.get(c) for c in columns} for r in rows], ensure_ascii=False, indent=1),
        encoding="utf-8")
    (out / PROOFS).write_text(json.dumps(
        {"records": proofs, "seals": seals_out, "links": [links[k] for k in sorted(links)],
         "checkpoints": [signed_by[k] for k in sorted(signed_by)]}, indent=1), encoding="utf-8")
    keys = sorted({str(e["public_key"]) for e in signed_by.values()} | {signing.public_hex(key)})
    (out / KEYS).write_text(json.dumps([{"public_key": k, "fingerprint": signing.fingerprint(k)}
                                        for k in keys], indent=1), encoding="utf-8")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    (out / README).write_text(README_TEXT.format(
        case=case, when=when, operator=operator, count=len(rows),
        filters=json.dumps(filters, ensure_ascii=False, default=str) or "nenhum",
        signed=len(rows) - outcome.unsigned, unsigned=outcome.unsigned), encoding="utf-8")
    manifest = json.dumps({f: _sha(out / f) for f in FILES}, sort_keys=True)
    (out / MANIFEST).write_text(json.dumps(
        {"files": manifest, "public_key": signing.public_hex(key),
         "signature": signing.sign(key, manifest.encode())}, indent=1), encoding="utf-8")
    outcome.records = len(rows)
    return outcome


def _checkpoints(conn: Any) -> list[dict[str, Any]]:
    return [{"kind": r[1], "chain": r[2], "seq": r[3], "ts": r[4], "body": r[5],
             "public_key": r[6], "signature": r[7]} for r in conn.execute(verify.CHECKPOINTS)]


def verify_export(folder: Path) -> Outcome:
    """Check an export with nothing but its files."""
    outcome = Outcome()
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = json.loads(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GuaritaError(f"{folder}: not an export ({MANIFEST}: {exc})") from exc
    if not signing.valid(str(manifest.get("public_key")), str(manifest["files"]).encode(),
                         str(manifest.get("signature"))):
        outcome.problems.append(f"{MANIFEST}: its signature is not valid")
    outcome.keys.add(str(manifest.get("public_key")))
    for name in FILES:
        path = folder / name
        if not path.exists():
            outcome.problems.append(f"{name}: missing")
        elif _sha(path) != files.get(name):
            outcome.problems.append(f"{name}: changed after the export (its SHA-256 differs)")
    if outcome.problems:
        return outcome
    records = json.loads((folder / RECORDS_JSON).read_text(encoding="utf-8"))
    proofs = json.loads((folder / PROOFS).read_text(encoding="utf-8"))
    seals = {(s["chain"], s["seq"]): s for s in proofs["seals"]}
    links = {(s["chain"], s["seq"]): s for s in proofs["links"]}
    cps = {(c["chain"], int(c["seq"])): c for c in proofs["checkpoints"]}
    where = {p["id"]: p for p in proofs["records"]}
    for r in records:
        outcome.records += 1
        p = where.get(r["id"])
        s = seals.get((p["chain"], p["seq"])) if p else None
        if p is None or s is None:
            outcome.problems.append(f"record {r['id']}: no proof for it")
            continue
        leaves = seal.unpack(bytes.fromhex(s["leaves"]))
        fields = seal.stored_fields(tuple(r[c] for c in COLUMNS))
        if hashlib.sha256(seal.canonical(fields)).digest() != leaves[p["index"]][1]:
            outcome.problems.append(f"record {r['id']}: not the record that was sealed")
    for (chain, seq), s in sorted(seals.items()):
        leaves_raw = bytes.fromhex(s["leaves"])
        if seal.root_of(leaves_raw).hex() != s["root"]:
            outcome.problems.append(f"seal {seq} of {chain}: its leaves are not its root")
            continue
        digest = seal.link(bytes.fromhex(s["prev"]), chain, seq, s["first_id"], s["last_id"],
                           bytes.fromhex(s["root"]))
        n = seq
        while (chain, n) not in cps:
            n += 1
            step = links.get((chain, n))
            if step is None:
                break
            digest = seal.link(digest, chain, n, step["first_id"], step["last_id"],
                               bytes.fromhex(step["root"]))
        cp = cps.get((chain, n))
        if cp is None:
            outcome.unsigned += sum(1 for p in proofs["records"] if (p["chain"], p["seq"]) ==
                                    (chain, seq))
            continue
        why = verify._entry_problem(cp)
        outcome.keys.add(str(cp["public_key"]))
        if why:
            outcome.problems.append(f"checkpoint of {chain} seal {n}: {why}")
        elif json.loads(cp["body"]).get("digest") != digest.hex():
            outcome.problems.append(f"seal {seq} of {chain}: does not lead to its checkpoint")
    return outcome

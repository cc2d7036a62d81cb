"""Read a policy file: YAML -> declared models -> the frozen Policy the core reads.

The file holds the rules (`addon.policy.document`) and this node's deployment sections
(`addon.settings.deployment`); each is validated against its own models, and every mistake
in either is reported at once, one line each: `file: key.path: problem`. The environment
is read here, never in the core: GUARITA_DATABASE_URL wins over `storage.database`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from addon.errors import PolicyError
from addon.policy import crosscheck
from addon.policy.build import build_policy
from addon.policy.document import PolicyDocument
from addon.policy.holiday_table import HolidayTable, NoCalendar, compute
from addon.policy.model import Policy
from addon.settings import problems
from addon.settings.deployment import SECTIONS, NodeSettings
from addon.settings.forward import beside
from addon.settings.yamltext import parse_yaml

DEFAULT_POLICY = Path("config/policy.yaml")
MAX_LINES = 20
# (country, subdivision, years) -> the table: `compute` here, `table_apart` in a daemon
HolidaySource = Callable[[str, str | None, Iterable[int]], HolidayTable]
# per parent path in the file, the deployment keys validated apart (for near misses)
APART: dict[tuple[str, ...], list[str]] = {}
for _where in SECTIONS.values():
    APART.setdefault(_where[:-1], []).append(_where[-1])


def split(tree: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The file's tree -> (the policy's sections, the deployment sections by field)."""
    rules = copy.deepcopy(tree)
    node: dict[str, Any] = {}
    for name, where in SECTIONS.items():
        parent: Any = rules
        for key in where[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and where[-1] in parent:
            value = parent.pop(where[-1])
            if value is not None:
                node[name] = value
    return rules, node


def holiday_years(today: dt.date) -> range:
    """The years a policy's table holds: last year's dates for the auditors' questions, the
    next years' for event requests and a proxy that runs long without a reload."""
    return range(today.year - 1, today.year + 5)


def _validate(tree: dict[str, Any], env: dict[str, str], holidays: HolidaySource
              ) -> tuple[PolicyDocument | None, NodeSettings | None, HolidayTable | None,
                         list[problems.Problem]]:
    rules, node_tree = split(tree)
    found: list[problems.Problem] = []
    doc = node = table = None
    try:
        doc = PolicyDocument.model_validate(rules)
    except ValidationError as exc:
        found += problems.lines(exc, PolicyDocument, extra_keys=APART)
    override = env.get("GUARITA_DATABASE_URL")
    if override is not None:
        node_tree["storage"] = {**(node_tree.get("storage") or {}), "database": override}
    for name, value in node_tree.items():  # one by one, so each error has its file path
        try:
            NodeSettings.model_validate({name: value})
        except ValidationError as exc:
            found += problems.lines(exc, NodeSettings, prefix=SECTIONS[name][:-1])
    if not found:
        node = NodeSettings.model_validate(node_tree)
    if doc is not None:
        hol = doc.holidays
        try:
            table = holidays(hol.country, hol.subdivision, holiday_years(dt.date.today()))
        except NoCalendar:
            table = None  # said by the cross-check, with the key
        found += [problems.Problem(loc, problems.path_of(PolicyDocument, loc), problem)
                  for loc, problem in crosscheck.problems(doc, table)]
        if doc.directory.kind == "ldap" and "ldap" not in node_tree:
            found.append(problems.Problem(("directory", "ldap"), "directory.ldap",
                                          "missing (directory.kind is ldap)"))
    found.sort(key=lambda p: problems.position(tree, p.loc))  # in the order of the file
    return doc, node, table, found


def load_policy(path: Path | str = DEFAULT_POLICY, workdir: Path | None = None,
                env: dict[str, str] | None = None, holidays: HolidaySource = compute) -> Policy:
    """Read and validate a policy file. Relative paths it names resolve against the
    file's folder (lists travel with the policy; a policy in /etc/guarita finds its state
    from any folder). Without `paths.state`, state lives in `./var` of the working folder
    (the embedded default, run from a checkout); `paths.imported` defaults to `<state>/lists`.
    `holidays` computes the calendar's table (in a child process, for the daemons).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        hint = (" (give --config FILE or set GUARITA_CONFIG)"
                if isinstance(exc, FileNotFoundError) else "")
        raise PolicyError(f"{path}: cannot read policy file: {exc.strerror or exc}{hint}") from exc
    tree = parse_yaml(path, text)
    doc, node, table, found = _validate(tree, dict(os.environ) if env is None else env,
                                        holidays)
    if found or doc is None or node is None:
        shown = [f"{path}: {p.key}: {p.problem}" for p in found[:MAX_LINES]]
        if len(found) > MAX_LINES:
            shown.append(f"{path}: … and {len(found) - MAX_LINES} more mistakes")
        raise PolicyError("\n".join(shown))
    if node.negotiate is not None:  # the keytab travels with the policy
        keytab = (path.resolve().parent / node.negotiate.keytab).resolve()
        node = node.model_copy(update={"negotiate": node.negotiate.model_copy(
            update={"keytab": keytab})})
    if node.forward:  # so do the SIEMs' certificates and keys
        folder = path.resolve().parent
        node = node.model_copy(update={"forward": tuple(beside(t, folder) for t in node.forward)})
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return build_policy(doc, node, path, digest, workdir or Path.cwd(), table)

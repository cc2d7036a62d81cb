"""The console in-process (Flask's test client): sign-in, roles, CSRF, the request loop, the
API under the same roles, auditors' search and CSV, and the admin history's operator."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from addon.cli.main import FLAGS
from addon.console.app import create_app
from addon.settings.load import load_policy
from addon.store import seam
from tests.conftest import Workspace
from tests.support.store import made
from tests.test_notify import attempts


@pytest.fixture
def app(any_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The console over either storage backend (SQLite files, or a real PostgreSQL)."""
    ws = any_ws
    monkeypatch.chdir(ws.root)
    a = create_app(ws.config)
    a.testing = True
    return a


def enter(c: Any, **form: str) -> Any:
    """POST /entrar as a browser does: with the token of the sign-in page it was shown."""
    page = c.get("/entrar").get_data(as_text=True)
    token = re.search(r'id="login-csrf" value="([^"]+)"', page).group(1)
    return c.post("/entrar", data={**form, "csrf": token})


def signed_in(app: Any, login: str) -> Any:
    c = app.test_client()
    r = enter(c, login=login, senha=login)
    assert r.status_code == 302, r.get_data(as_text=True)
    return c


def csrf(c: Any, path: str = "/meus-pedidos") -> str:
    page = c.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_sign_in_with_the_directory_password_and_no_other(app: Any) -> None:
    c = app.test_client()
    bad = enter(c, login="servidor", senha="errada")
    assert bad.status_code == 401 and "Usuário ou senha incorretos" in bad.get_data(as_text=True)
    assert c.get("/meus-pedidos").status_code == 302  # to the sign-in page
    ok = enter(c, login="servidor", senha="servidor", proximo="//evil")
    assert ok.headers["Location"] == "/"  # never off-site
    # browsers drop tabs and newlines and read a backslash as a slash: all other sites
    for away in ("/\\evil.example", "https://evil.example/", "/\t/evil.example",
                 "/\n/evil.example", "/\r\n/evil.example", "/%09/evil.example".replace("%09", "\t"),
                 " //evil.example", "/\x00/evil", "\\/evil.example", "http:/evil.example"):
        r = enter(c, login="servidor", senha="servidor", proximo=away)
        assert r.status_code == 302 and r.headers["Location"] == "/", away
    here = enter(c, login="servidor", senha="servidor", proximo="/meus-pedidos?ref=abc")
    assert here.headers["Location"] == "/meus-pedidos?ref=abc"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    for _ in range(6):
        enter(c, login="membro", senha="x")
    slowed = enter(c, login="membro", senha="x")
    assert "tente de novo em" in slowed.get_data(as_text=True)


def test_signing_in_needs_the_sign_in_pages_token(app: Any) -> None:
    """Login CSRF: a foreign page posting a login and password signs nobody in."""
    c = app.test_client()
    forged = c.post("/entrar", data={"login": "servidor", "senha": "servidor"})
    assert forged.status_code == 403 and "expirou" in forged.get_data(as_text=True)
    wrong = c.post("/entrar", data={"login": "servidor", "senha": "servidor", "csrf": "x" * 43})
    assert wrong.status_code == 403 and c.get("/meus-pedidos").status_code == 302
    assert enter(c, login="servidor", senha="servidor").status_code == 302
    assert c.get("/meus-pedidos").status_code == 200


def test_a_next_with_a_newline_is_not_a_500(app: Any) -> None:
    r = app.test_client().get("/entrar?next=/%0a/evil.example")
    assert r.status_code == 200 and 'value="/"' in r.get_data(as_text=True)


def test_the_request_loop_end_user_committee_appeal(app: Any, ws: Workspace) -> None:
    user = signed_in(app, "servidor")
    token = csrf(user)
    assert user.post("/meus-pedidos", data={"host": "www.youtube.com", "justificativa": "x",
                                            "dias": "2"}).status_code == 403  # no CSRF token
    for host in ("www.youtube.com", "www.twitch.tv"):
        r = user.post("/meus-pedidos", data={"csrf": token, "host": host, "dias": "2",
                                             "justificativa": "curso de capacitação"})
        assert r.status_code == 302
    comite = signed_in(app, "comite")
    page = comite.get("/pedidos").get_data(as_text=True)
    assert "www.youtube.com" in page and "curso de capacitação" in page
    t = csrf(comite, "/pedidos")
    assert comite.post("/pedidos/1/aprovar", data={"csrf": t, "comite": "CGAI-7/2026"}
                       ).status_code == 302
    assert comite.post("/pedidos/2/negar", data={"csrf": t, "motivo": "Sem relação com o serviço"}
                       ).status_code == 302
    mine = user.get("/meus-pedidos").get_data(as_text=True)
    assert "liberado" in mine and "Sem relação com o serviço" in mine and "Recorrer" in mine
    assert user.post("/meus-pedidos/2/recurso", data={"csrf": token, "motivo": "é do curso"}
                     ).status_code == 302
    mine = user.get("/meus-pedidos").get_data(as_text=True)
    assert "em recurso" in mine
    assert "negado: Sem relação com o serviço" in mine and "recurso: é do curso" in mine
    page = comite.get("/pedidos").get_data(as_text=True)
    assert "negado por comite: Sem relação com o serviço" in page
    assert "recurso por servidor: é do curso" in page
    conn = made(load_policy(ws.config).paths)
    who = dict(conn.execute("SELECT action, operator FROM admin_log WHERE action IN "
                            "('release.approve', 'release.deny', 'release.appeal')").fetchall())
    assert who == {"release.approve": "comite", "release.deny": "comite",
                   "release.appeal": "servidor"}
    assert conn.execute("SELECT committee_ref FROM releases WHERE id = 1").fetchone()[0] == (
        "CGAI-7/2026")


def test_an_end_user_reaches_neither_committee_pages_nor_other_peoples_requests(app: Any) -> None:
    other = signed_in(app, "membro")
    other.post("/meus-pedidos", data={"csrf": csrf(other), "host": "www.twitch.tv",
                                      "justificativa": "x"})
    user = signed_in(app, "servidor")
    t = csrf(user)
    assert user.get("/pedidos").status_code == 403
    assert user.get("/auditoria").status_code == 403
    assert user.get("/explicar?url=x.com").status_code == 403
    assert user.post("/pedidos/1/aprovar", data={"csrf": t}).status_code == 403
    assert user.post("/meus-pedidos/1/recurso", data={"csrf": t, "motivo": "x"}).status_code == 404
    assert "www.twitch.tv" not in user.get("/meus-pedidos").get_data(as_text=True)


def test_the_api_under_the_same_roles(app: Any) -> None:
    api = app.test_client()
    auth = {"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="}  # servidor:servidor
    assert api.get("/api/pedidos").status_code == 401
    made = api.post("/api/pedidos", json={"site": "www.youtube.com", "justificativa": "curso",
                                          "dias": 3}, headers=auth)
    assert made.status_code == 201 and made.get_json()["situacao"] == "requested"
    rid = made.get_json()["id"]
    assert api.post(f"/api/pedidos/{rid}/aprovar", json={}, headers=auth).status_code == 403
    comite = {"Authorization": "Basic Y29taXRlOmNvbWl0ZQ=="}  # comite:comite
    done = api.post(f"/api/pedidos/{rid}/aprovar", json={}, headers=comite)
    assert done.status_code == 200 and done.get_json()["situacao"] == "active"
    assert [p["id"] for p in api.get("/api/pedidos", headers=auth).get_json()] == [rid]
    membro = {"Authorization": "Basic bWVtYnJvOm1lbWJybw=="}  # membro:membro
    assert api.get("/api/pedidos", headers=membro).get_json() == []  # not theirs


def test_a_block_page_reference_opens_the_request_form_for_its_own_user(app: Any,
                                                                         ws: Workspace) -> None:
    policy = load_policy(ws.config, ws.root)
    attempts(policy, "servidor", "www.twitch.tv", 1, 1_790_000_000.0)
    ref = "rservidor0"
    page = signed_in(app, "servidor").get(f"/meus-pedidos?ref={ref}").get_data(as_text=True)
    assert "Pedir liberação de www.twitch.tv" in page and ref in page
    other = signed_in(app, "membro").get(f"/meus-pedidos?ref={ref}").get_data(as_text=True)
    assert "Pedir liberação" not in other  # another person's block is not theirs to ask


def test_auditors_search_and_export_csv(app: Any, ws: Workspace) -> None:
    policy = load_policy(ws.config, ws.root)
    attempts(policy, "servidor", "www.pornhub.com", 3, 1_790_000_000.0)
    attempts(policy, "membro", "www.xvideos.com", 2, 1_790_000_000.0)
    auditor = signed_in(app, "auditor")
    page = auditor.get("/auditoria?usuario=servidor").get_data(as_text=True)
    assert page.count("<td>www.pornhub.com/</td>") == 3 and "xvideos" not in page
    csv_text = auditor.get("/auditoria.csv?decisao=block").get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("ts,ref,user") and len(lines) == 6
    assert auditor.get("/pedidos").status_code == 403


def test_the_explainer_gives_the_check_answer(app: Any) -> None:
    ti = signed_in(app, "ti")
    page = ti.get("/explicar?url=https://www.pornhub.com/&usuario=servidor").get_data(as_text=True)
    assert "BLOQUEADO" in page and "category.blocked" in page
    assert "LIBERADO" in ti.get("/explicar?url=www.gov.br&usuario=servidor").get_data(as_text=True)


def test_pages_carry_a_csp_and_no_cache(app: Any) -> None:
    r = app.test_client().get("/entrar")
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"


def test_a_chief_sees_their_own_staff_only(app: Any, ws: Workspace) -> None:
    policy = load_policy(ws.config, ws.root)
    attempts(policy, "servidor", "www.pornhub.com", 4, 1_790_000_000.0 + 10 ** 7)
    attempts(policy, "membro", "www.xvideos.com", 5, 1_790_000_000.0 + 10 ** 7)
    chief = signed_in(app, "coordenador")  # servidor's and estagiario's chief
    page = chief.get("/auditoria?decisao=block").get_data(as_text=True)
    assert "www.pornhub.com" in page and "xvideos" not in page
    assert "estagiario, servidor" in page  # says whose records these are
    assert "<td>membro</td>" not in chief.get("/auditoria?usuario=membro").get_data(as_text=True)
    csv_text = chief.get("/auditoria.csv?usuario=membro").get_data(as_text=True)
    assert len(csv_text.strip().splitlines()) == 1  # the header only
    assert chief.get("/pedidos").status_code == 403


def test_violations_per_person_and_charts_without_a_cdn(app: Any, ws: Workspace) -> None:
    import time

    policy = load_policy(ws.config, ws.root)
    attempts(policy, "servidor", "www.pornhub.com", 4, time.time() - 86400)
    attempts(policy, "membro", "www.facebook.com", 3, time.time() - 86400,
             rule="time.business_hours", categories=("social_networks",))
    auditor = signed_in(app, "auditor")
    attempts(policy, "estagiario", "www.xvideos.com", 2, time.time() - 86400)
    team = auditor.get("/equipe").get_data(as_text=True)
    assert "últimos 7 dias" in team and 'href="/equipe?dias=30"' in team
    assert "<td>servidor</td><td>4</td>" in auditor.get("/equipe?dias=30").get_data(as_text=True)
    assert "<td>servidor</td><td>4</td>" in team and "membro" not in team  # a rule of use
    # per unit: both have the chief coordenador in the directory
    assert "<td>coordenador</td><td>2</td><td>6</td><td>servidor, estagiario</td>" in team
    cli = json.loads(ws.run("audit", "violations", "--by-unit", "--format", "json",
                            check=True).stdout)
    assert cli == [{"unit": "coordenador", "people": 2, "attempts": 6,
                    "users": "servidor,estagiario"}]
    page = auditor.get("/auditoria?decisao=block").get_data(as_text=True)
    assert "<svg" in page and "Acessos e bloqueios por dia" in page
    assert "últimas 24 horas" in page  # everyone's traffic: the last day only
    assert "últimos 7 dias" in auditor.get("/auditoria?site=www.pornhub.com").get_data(as_text=True)
    assert "últimos 30 dias" in auditor.get("/auditoria?usuario=servidor").get_data(as_text=True)
    assert "<script" not in page and "http" not in page.split("<main>")[1].split("Exportar")[0]


def test_a_long_host_name_keeps_its_end_in_the_charts(app: Any, ws: Workspace) -> None:
    """A label on its own line; past 44 characters the middle goes, never the domain."""
    import time

    policy = load_policy(ws.config, ws.root)
    host = "arquivos-publicos.portal-de-servicos.receita.fazenda.gov.br"
    attempts(policy, "servidor", host, 2, time.time() - 3600)
    page = signed_in(app, "auditor").get("/auditoria?usuario=servidor").get_data(as_text=True)
    charts = page.split('aria-label="Sites mais acessados">')[1].split("</svg>")[0]
    assert f"<title>{host}: 2 (2 bloq.)</title>" in charts
    assert f">{host[:16]}…{host[-27:]}</text>" in charts and "fazenda.gov.br</text>" in charts


def test_it_looks_up_and_edits_categories_with_the_history(app: Any, ws: Workspace) -> None:
    ti = signed_in(app, "ti")
    page = ti.get("/categorias?host=https://www.pornhub.com/x").get_data(as_text=True)
    assert "adult" in page and "decide" in page
    t = csrf(ti, "/categorias")
    done = ti.post("/categorias", data={"csrf": t, "host": "intranet-jogos.example.org",
                                        "categoria": "games", "acao": "incluir"})
    assert "incluído em games" in done.get_data(as_text=True)
    again = ti.get("/categorias?host=intranet-jogos.example.org").get_data(as_text=True)
    assert "games (" in again
    gone = ti.post("/categorias", data={"csrf": t, "host": "intranet-jogos.example.org",
                                        "categoria": "games", "acao": "remover"})
    assert "retirado de games" in gone.get_data(as_text=True)
    conn = made(load_policy(ws.config).paths)
    assert [tuple(r) for r in conn.execute(
        "SELECT action, operator FROM admin_log WHERE action LIKE 'categories.%'")] == [
        ("categories.add", "ti"), ("categories.remove", "ti")]
    assert signed_in(app, "comite").get("/categorias").status_code == 403


def test_level4_and_blocks_with_who_authorised(app: Any, ws: Workspace) -> None:
    ws.run("release", "level", "--to", "user:coordenador", "--until", "2030-01-01T00:00",
           "--committee-ref", "CGAI-12/2026", "--reason", "pesquisa", check=True)
    ws.run("block", "user", "estagiario", "--reason", "Art. 19", check=True)
    ws.run("unblock", "user", "estagiario", "--authorized-by", "Diretor-Geral", check=True)
    page = signed_in(app, "comite").get("/liberacoes").get_data(as_text=True)
    assert "coordenador" in page and "CGAI-12/2026" in page and "01/01/2030" in page
    assert "Diretor-Geral" in page and "conta estagiario" in page
    assert signed_in(app, "servidor").get("/liberacoes").status_code == 403


def test_the_api_answers_bad_input_with_a_400(app: Any) -> None:
    api = app.test_client()
    auth = {"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="}  # servidor:servidor
    for body in ({"site": "exa mple", "justificativa": "x"}, {"site": "a.org", "dias": {"x": 1},
                                                              "justificativa": "x"},
                 {"site": "a.org", "justificativa": " "}):
        r = api.post("/api/pedidos", json=body, headers=auth)
        assert r.status_code == 400 and r.get_json()["erro"]


def test_the_api_answers_malformed_input_with_400_naming_the_field(app: Any) -> None:
    api = app.test_client()
    auth = {"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="}  # servidor:servidor
    for body, field in (([1], "corpo"), ("x", "corpo"), (3, "corpo"),
                        ({"site": "www.youtube.com", "justificativa": "c", "dias": "NaN"}, "dias"),
                        ({"site": "www.youtube.com", "justificativa": "c", "ref": {}}, "ref"),
                        ({"site": "", "justificativa": "c"}, "site"), ({"justificativa": "c"}, "site")):
        r = api.post("/api/pedidos", json=body, headers=auth)
        assert r.status_code == 400 and r.get_json()["campo"] == field, (body, r.get_data())
    made = api.post("/api/pedidos", json={"site": "www.youtube.com", "justificativa": "curso"},
                    headers=auth)
    rid = made.get_json()["id"]
    comite = {"Authorization": "Basic Y29taXRlOmNvbWl0ZQ=="}  # comite:comite
    assert api.post(f"/api/pedidos/{rid}/negar", json="x", headers=comite).status_code == 400
    assert api.post(f"/api/pedidos/{rid}/negar", json={"motivo": "não"}, headers=comite) \
        .status_code == 200
    bad = api.post(f"/api/pedidos/{rid}/recurso", json=[1], headers=auth)
    assert bad.status_code == 400 and bad.get_json()["campo"] == "corpo"
    assert api.get("/api/pedidos", headers=auth).get_json()[0]["situacao"] == "denied"


def test_the_audit_csv_neutralises_formulas(app: Any, ws: Workspace) -> None:
    from addon.audit.record import record
    from addon.audit.writer import AuditWriter
    from addon.policy.model import Decision, Identity
    from addon.settings.load import load_policy

    paths = load_policy(ws.config, ws.root).paths
    writer = AuditWriter(paths.audit_target, flush_interval=0.01)
    for i, method in enumerate(("=1+2", "+SUM(1+1)", "-2+3", "@SUM(1)")):
        writer.submit(record(1_800_000_000.0 + i, f"r{i}", Identity("servidor"),
                             Decision("block", 2, (), "x", "category.blocked"), method, "http",
                             "www.gov.br", 80, "/", 403, 0, 0, 1.0, "10.0.0.5"))
    assert writer.close() == 0
    c = signed_in(app, "auditor")
    text = c.get("/auditoria.csv?desde=2020-01-01").get_data(as_text=True)
    methods = [row["method"] for row in csv_rows(text)]
    assert sorted(methods) == ["'+SUM(1+1)", "'-2+3", "'=1+2", "'@SUM(1)"], text[:300]


def csv_rows(text: str) -> list[dict[str, str]]:
    import csv as csv_module
    import io as io_module

    return list(csv_module.DictReader(io_module.StringIO(text)))


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(app: Any) -> None:
    c = signed_in(app, "comite")
    stolen = app.test_client()
    cookie = c.get_cookie("guarita_console")
    stolen.set_cookie("guarita_console", cookie.value)
    assert stolen.get("/pedidos").status_code == 200  # a copy works while the session lives
    assert c.post("/sair", data={"csrf": csrf(c, "/pedidos")}).status_code == 302
    assert c.get("/pedidos").status_code == 302 and stolen.get("/pedidos").status_code == 302


def test_a_role_taken_away_ends_the_session(app: Any, ws: Workspace,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from addon.state import console_sessions

    c = signed_in(app, "comite")
    assert c.get("/pedidos").status_code == 200
    import yaml

    tree = yaml.safe_load(ws.config.read_text())
    tree["console"]["roles"]["comite"] = ["outro-grupo"]
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    monkeypatch.setattr(console_sessions, "CHECK_SECONDS", 0)
    assert c.get("/pedidos").status_code == 302  # signed out: sign in again, with what is left
    again = signed_in(app, "comite")
    assert again.get("/pedidos").status_code == 403


def test_a_changed_password_ends_the_session(app: Any, ws: Workspace,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy's new hash for a person (the static directory's password change): their
    open console session ends at the next check; the new password signs in."""
    import yaml

    from addon.identity.passwords import hash_password
    from addon.state import console_sessions

    c = signed_in(app, "comite")
    other = signed_in(app, "ti")
    monkeypatch.setattr(console_sessions, "CHECK_SECONDS", 0)
    assert c.get("/pedidos").status_code == 200  # checked again, nothing changed
    tree = yaml.safe_load(ws.config.read_text())
    tree["directory"]["users"]["comite"]["password"] = hash_password("nova-senha-longa")
    ws.config.write_text(yaml.safe_dump(tree, allow_unicode=True))
    assert c.get("/pedidos").status_code == 302  # signed out
    assert other.get("/").status_code == 200  # nobody else
    assert enter(app.test_client(), login="comite", senha="nova-senha-longa").status_code == 302


def test_errors_are_portuguese_pages_or_json(app: Any) -> None:
    c = app.test_client()
    for r in (c.get("/nao-existe"), c.get("/proxy.pac"), c.get("/sair")):
        text = r.get_data(as_text=True)
        assert r.status_code in (404, 405) and "Not Found" not in text and "Method Not" not in text
        assert "não" in text  # the console's own page, in Portuguese
    api = c.get("/api/nao-existe", headers={"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="})
    assert api.status_code == 404 and "erro" in api.get_json()


def test_it_blocks_unblocks_and_assigns_level4_in_the_console(app: Any, ws: Workspace) -> None:
    """IT's actions through the same service as the command line (issue 24): a block with
    its reason, lifting it with who authorised, level 4 with its end; the committee sees
    them and cannot take them; a mistake is a Portuguese page, not a flag."""
    ti = signed_in(app, "ti")
    token = csrf(ti, "/liberacoes")
    r = ti.post("/bloqueios", data={"csrf": token, "tipo": "user", "alvo": "estagiario",
                                    "motivo": "Art. 19, incidente 7"})
    assert r.status_code == 302 and "Bloqueio" in r.headers["Location"]
    page = ti.get("/liberacoes").get_data(as_text=True)
    assert "conta estagiario" in page and "Art. 19, incidente 7" in page and "em vigor" in page
    cli = ws.run("block", "list", "--format", "json", check=True).stdout
    assert json.loads(cli)[0]["operator"] == "ti"  # the same block, seen from the CLI
    again = ti.post("/bloqueios", data={"csrf": token, "tipo": "user", "alvo": "estagiario",
                                        "motivo": "de novo"})
    assert again.status_code == 400 and "já está bloqueada" in again.get_data(as_text=True)
    unknown = ti.post("/bloqueios", data={"csrf": token, "tipo": "user", "alvo": "servidr",
                                          "motivo": "x"})
    text = unknown.get_data(as_text=True)
    assert unknown.status_code == 400 and "não conhece este usuário" in text
    # no command-line flag on a page (the CSRF token, URL-safe base64, may hold "--" itself)
    assert not any(flag in text for flag in FLAGS.values() if flag.startswith("--"))
    r = ti.post("/bloqueios/desbloquear", data={"csrf": token, "tipo": "user",
                                                "alvo": "estagiario", "autorizado_por": " "})
    assert r.status_code == 400 and "Autorizado por" in r.get_data(as_text=True)
    r = ti.post("/bloqueios/desbloquear", data={"csrf": token, "tipo": "user",
                                                "alvo": "estagiario", "autorizado_por": "SubPGJ"})
    assert r.status_code == 302
    r = ti.post("/nivel4", data={"csrf": token, "usuario": "coordenador", "ate": "2030-01-01",
                                 "comite": "CGAI-12/2026", "motivo": "pesquisa"})
    assert r.status_code == 302 and "01/01/2030" in r.headers["Location"].replace("%2F", "/")
    page = signed_in(app, "comite").get("/liberacoes").get_data(as_text=True)
    assert "CGAI-12/2026" in page and "SubPGJ" in page and 'action="/bloqueios"' not in page
    comite = signed_in(app, "comite")
    assert comite.post("/bloqueios", data={"csrf": csrf(comite, "/liberacoes"), "tipo": "user",
                                           "alvo": "servidor", "motivo": "x"}).status_code == 403
    assert ti.post("/bloqueios", data={"tipo": "user", "alvo": "servidor",
                                       "motivo": "sem token"}).status_code in (400, 403)
    assert "servidor" not in ws.run("block", "list").stdout


def test_the_api_takes_its_actions_under_its_roles(app: Any) -> None:
    api = app.test_client()
    ti = {"Authorization": "Basic dGk6dGk="}  # ti:ti
    servidor = {"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="}
    body = {"tipo": "machine", "alvo": "10.0.0.9", "motivo": "malware"}
    assert api.post("/api/bloqueios", json=body, headers=servidor).status_code == 403
    r = api.post("/api/bloqueios", json=body, headers=ti)
    assert r.status_code == 201 and r.get_json()["bloqueio"] > 0
    bad = api.post("/api/bloqueios", json={**body, "tipo": "máquina"}, headers=ti)
    assert bad.status_code == 400 and bad.get_json()["campo"] == "tipo"
    r = api.post("/api/bloqueios/desbloquear", json={"tipo": "machine", "alvo": "10.0.0.9",
                                                     "autorizado_por": "SubPGJ"}, headers=ti)
    assert r.status_code == 200
    r = api.post("/api/nivel4", json={"usuario": "membro", "ate": "2030-01-01T12:00",
                                      "comite": "CGAI-3", "motivo": "pesquisa"}, headers=ti)
    assert r.status_code == 201 and r.get_json()["login_conferido"] is True
    assert api.post("/api/nivel4", json={"usuario": "membro"}, headers=ti).get_json()["campo"] \
        == "ate"


def test_the_audit_search_speaks_portuguese_and_takes_a_day_range(app: Any, ws: Workspace) -> None:
    from addon.audit.record import record
    from addon.audit.writer import AuditWriter
    from addon.policy.model import Decision, Identity

    policy = load_policy(ws.config, ws.root)
    w = AuditWriter(policy.paths.audit_target, flush_interval=0.01)
    ident = Identity("servidor", frozenset(), 2, source="basic")
    for day, ref in ((10, "dia10"), (12, "dia12")):
        ts = dt.datetime(2026, 11, day, 15, 0, tzinfo=policy.calendar.tz).timestamp()
        w.submit(record(ts, ref, ident, Decision("block", 2, ("adult",), "x", "category.blocked"),
                        "GET", "http", "www.pornhub.com", 80, "/", 403, 0, 0, 1.0, "10.0.0.5"))
    assert w.close() == 0
    auditor = signed_in(app, "auditor")
    page = auditor.get("/auditoria?usuario=servidor&desde=2026-11-11&ate=2026-11-12") \
        .get_data(as_text=True)
    assert "dia12" in page and "dia10" not in page  # `ate` is included, `desde` bounds
    assert "<td>bloqueado</td><td>categoria bloqueada</td>" in page
    for field in ("f-usuario", "f-ip", "f-site", "f-categoria", "f-decisao", "f-desde", "f-ate",
                  "f-ref"):
        assert f'<label for="{field}">' in page  # every input has its label
    bad = auditor.get("/auditoria?desde=11/11/2026").get_data(as_text=True)
    assert "De: use uma data AAAA-MM-DD" in bad
    assert auditor.get("/auditoria.csv?ate=ontem").status_code == 400
    csv_text = auditor.get("/equipe.csv?dias=30").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "usuario,site,motivo,primeiro,ultimo,registros,referencias"


def test_the_committee_exports_requests_and_reads_the_api_help(app: Any, ws: Workspace) -> None:
    api = app.test_client()
    auth = {"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="}  # servidor:servidor
    assert api.post("/api/pedidos", json={"site": "www.youtube.com", "justificativa": "=curso"},
                    headers=auth).status_code == 201
    comite = signed_in(app, "comite")
    text = comite.get("/pedidos.csv").get_data(as_text=True)
    lines = text.splitlines()
    assert lines[0].startswith("numero,tipo,alvo,objeto,situacao")
    assert "www.youtube.com" in lines[1] and "'=curso" in lines[1]  # a formula, neutralised
    assert signed_in(app, "servidor").get("/pedidos.csv").status_code == 403
    help_page = comite.get("/ajuda/api").get_data(as_text=True)
    assert "POST /api/nivel4" in help_page and "autorizado_por" in help_page


def test_each_role_has_a_first_page(app: Any, ws: Workspace) -> None:
    api = app.test_client()
    auth = {"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="}  # servidor:servidor
    api.post("/api/pedidos", json={"site": "www.youtube.com", "justificativa": "curso"},
             headers=auth)
    comite = signed_in(app, "comite").get("/").get_data(as_text=True)
    assert "Pedidos para decidir" in comite and "<strong>1</strong> pedido aguardando" in comite
    assert "Últimas 24 horas" not in comite
    auditor = signed_in(app, "auditor").get("/").get_data(as_text=True)
    assert "Últimas 24 horas" in auditor and "Pedidos para decidir" not in auditor
    mine = signed_in(app, "servidor").get("/").get_data(as_text=True)
    assert "1 aguardando análise" in mine and "Pedidos para decidir" not in mine
    assert app.test_client().get("/").status_code == 302  # signed out: to the sign-in page


def test_the_committee_sees_the_duration_asked_and_searches_every_request(app: Any) -> None:
    api = app.test_client()
    auth = {"Authorization": "Basic c2Vydmlkb3I6c2Vydmlkb3I="}  # servidor:servidor
    for i in range(52):
        r = api.post("/api/pedidos", json={"site": f"www.site{i:02d}.com.br", "dias": 3,
                                           "justificativa": "curso"}, headers=auth)
        assert r.status_code == 201
    comite = signed_in(app, "comite")
    page = comite.get("/pedidos").get_data(as_text=True)
    assert "<th>Duração pedida</th>" in page and "<td>3 dias</td>" in page
    assert "Página 1 de 2" in page and "www.site51.com.br" in page.split("Todos os pedidos")[1]
    second = comite.get("/pedidos?pagina=2").get_data(as_text=True).split("Todos os pedidos")[1]
    assert "www.site00.com.br" in second and "www.site51.com.br" not in second
    found = comite.get("/pedidos?q=SITE07").get_data(as_text=True).split("Todos os pedidos")[1]
    assert "www.site07.com.br" in found and "www.site08.com.br" not in found
    assert "Página 1 de 1" in found
    assert comite.get("/pedidos?pagina=x").status_code == 200  # a bad page number: the first


def test_the_privacy_notice_is_open_to_anyone_and_linked_from_every_page(app: Any) -> None:
    page = app.test_client().get("/privacidade").get_data(as_text=True)
    assert "Aviso de privacidade" in page and "183 dias" in page
    assert 'href="/privacidade"' in signed_in(app, "servidor").get("/").get_data(as_text=True)


WHY = "vídeo do treinamento obrigatório do SEI"


def test_art10_par1_a_person_justifies_from_the_console_and_sees_it_in_meus_dados(
        app: Any) -> None:
    c = signed_in(app, "servidor")
    token = csrf(c, "/meus-dados")
    r = c.post("/meus-dados/justificar", data={"csrf": token, "site": "www.youtube.com",
                                               "justificativa": WHY})
    assert r.status_code == 302 and "youtube.com" in r.headers["Location"]
    page = c.get("/meus-dados").get_data(as_text=True)
    assert WHY in page and "Aberta" in page and "1 de 5 usadas hoje" in page
    short = c.post("/meus-dados/justificar", data={"csrf": token, "site": "vimeo.com",
                                                   "justificativa": "curso"})
    assert short.status_code == 400 and "pelo menos 20 caracteres" in short.get_data(as_text=True)
    adult = c.post("/meus-dados/justificar", data={"csrf": token, "site": "www.pornhub.com",
                                                   "justificativa": WHY})
    assert adult.status_code == 400 and "não pode ser aberto" in adult.get_data(as_text=True)
    assert c.post("/meus-dados/justificar", data={"site": "vimeo.com",  # no CSRF token
                                                  "justificativa": WHY}).status_code == 403


def test_a_chief_sees_and_revokes_their_staffs_justified_accesses_only(
        app: Any, ws: Workspace) -> None:
    servidor = signed_in(app, "servidor")
    servidor.post("/meus-dados/justificar", data={"csrf": csrf(servidor, "/meus-dados"),
                                                  "site": "www.youtube.com",
                                                  "justificativa": WHY})
    membro = signed_in(app, "membro")  # nobody's staff of coordenador's
    membro.post("/meus-dados/justificar", data={"csrf": csrf(membro, "/meus-dados"),
                                                "site": "store.steampowered.com",
                                                "justificativa": WHY})
    [mine, theirs] = json.loads(ws.run("justify", "list", "--format", "json", check=True).stdout)
    assert (mine["user"], theirs["user"]) == ("membro", "servidor")
    chief = signed_in(app, "coordenador")
    page = chief.get("/justificados").get_data(as_text=True)
    assert "youtube.com" in page and "steampowered" not in page and WHY in page
    token = csrf(chief, "/justificados")
    assert chief.post(f"/justificados/{mine['id']}/revogar",
                      data={"csrf": token, "motivo": "x"}).status_code == 404  # not staff
    no_reason = chief.post(f"/justificados/{theirs['id']}/revogar",
                           data={"csrf": token, "violacao": "sim"})
    assert no_reason.status_code == 400 and "diga o motivo" in no_reason.get_data(as_text=True)
    r = chief.post(f"/justificados/{theirs['id']}/revogar",
                   data={"csrf": token, "motivo": "não era de serviço", "violacao": "sim"})
    assert r.status_code == 302
    assert "contada como violação" in chief.get("/justificados").get_data(as_text=True)
    assert "contada como violação" in servidor.get("/meus-dados").get_data(as_text=True)
    assert servidor.get("/justificados").status_code == 403  # an end user: not a chief


def test_meus_dados_shows_only_the_readers_own_and_who_read_them(app: Any, ws: Workspace) -> None:
    policy = load_policy(ws.config, ws.root)
    import time as _time

    attempts(policy, "servidor", "www.pornhub.com", 2, _time.time() - 3600)
    attempts(policy, "membro", "www.xvideos.com", 2, _time.time() - 3600)
    ws.run("audit", "query", "--user", "servidor", "--purpose", "apuração", check=True)
    c = signed_in(app, "servidor")
    page = c.get("/meus-dados?usuario=membro").get_data(as_text=True)  # the address names nobody
    assert "www.pornhub.com" in page and "xvideos" not in page
    assert "apuração" in page and "cli" in page  # who read, by which door, for what
    assert "<td>servidor</td><td>console</td><td>own</td>" not in page  # not their own reads
    assert signed_in(app, "membro").get("/meus-dados").status_code == 200


@pytest.mark.parametrize("login", ["estagiario", "servidor", "coordenador", "ti", "comite",
                                   "auditor"])
def test_meus_dados_is_each_roles_own_whatever_the_address_asks(app: Any, ws: Workspace,
                                                                 login: str) -> None:
    policy = load_policy(ws.config, ws.root)
    import time as _time

    for who in ("estagiario", "servidor", "coordenador", "ti", "comite", "auditor"):
        attempts(policy, who, f"www.{who}-proibido.com", 1, _time.time() - 600)
    c = signed_in(app, login)
    for path in ("/meus-dados", "/meus-dados?usuario=servidor", "/meus-dados?login=ti",
                 "/meus-dados?user=auditor&usuario=comite"):
        page = c.get(path, follow_redirects=True).get_data(as_text=True)
        shown = set(re.findall(r"www\.([a-z]+)-proibido\.com", page))
        assert shown == {login}, (path, shown)
    assert c.get("/meus-dados/justificar").status_code == 405  # a form's target, not a page


def test_a_person_explains_a_violation_in_meus_dados_and_the_chief_reads_it_beside_it(
        app: Any, ws: Workspace) -> None:
    import time as _time

    policy = load_policy(ws.config, ws.root)
    attempts(policy, "servidor", "www.pornhub.com", 3, _time.time() - 3 * 3600)
    attempts(policy, "membro", "www.xvideos.com", 1, _time.time() - 3600)
    c = signed_in(app, "servidor")
    page = c.get("/meus-dados").get_data(as_text=True)
    assert page.count('action="/meus-dados/explicar"') == 3 and "xvideos" not in page
    token = csrf(c, "/meus-dados")
    r = c.post("/meus-dados/explicar", data={"csrf": token, "ref": "rservidor0",
                                             "texto": "um link num e-mail de phishing"})
    assert r.status_code == 302
    assert "um link num e-mail de phishing" in c.get("/meus-dados").get_data(as_text=True)
    theirs = c.post("/meus-dados/explicar", data={"csrf": token, "ref": "rmembro0",
                                                  "texto": "não fui eu"})
    assert theirs.status_code == 400 and "Não há essa violação" in theirs.get_data(as_text=True)
    empty = c.post("/meus-dados/explicar", data={"csrf": token, "ref": "rservidor1",
                                                 "texto": "  "})
    assert empty.status_code == 400
    team = signed_in(app, "coordenador").get("/equipe").get_data(as_text=True)
    assert "Explicação de servidor" in team and "um link num e-mail de phishing" in team
    conn = made(policy.paths)
    try:
        with pytest.raises(seam.DatabaseError, match="append-only"):  # both engines
            conn.execute("UPDATE explanations SET text = 'outra'")
    finally:
        conn.close()

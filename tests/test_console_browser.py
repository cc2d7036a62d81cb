"""The console in a real headless Chromium, served by a real `guarita console` (waitress),
beside a real `guarita run`: the request loop from a block page to an open site."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from addon.settings.load import load_policy
from tests.conftest import Proxy, Workspace, free_port, guarita_cmd, start_proxy, wait_until
from tests.support import browser as web
from tests.test_notify import attempts

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    not web.available(), reason="needs Debian chromium, chromium-driver, libnss3-tools; selenium")]


@pytest.fixture
def console(ws: Workspace) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([*guarita_cmd(), "console", "--port", str(port), "--config",
                             str(ws.config)], cwd=ws.root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return urllib.request.urlopen(f"{url}/entrar", timeout=1).status == 200
        except OSError:
            return False

    wait_until(up, timeout=30, what="guarita console")
    yield url
    proc.terminate()
    proc.wait(10)


def curl(proxy: Proxy, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-s", "-x", proxy.url, "-w", "\n%{http_code}", *args, url],
                          capture_output=True, text=True, timeout=60)


def shot(b: web.Browser, name: str, tmp_path: Path) -> None:
    import os

    given = os.environ.get("GUARITA_SCREENSHOTS")  # docs/screenshots: the console's go beside
    folder = Path(given).parent / "console" if given else tmp_path
    b.screenshot(folder / name)


def sign_in(b: web.Browser, console: str, login: str) -> None:
    from selenium.webdriver.common.by import By

    b.open(f"{console}/entrar")
    b.driver.find_element(By.NAME, "login").send_keys(login)
    b.driver.find_element(By.NAME, "senha").send_keys(login)
    click(b, "button[type=submit]", "Sair")  # signed in: the header offers to sign out


def click(b: web.Browser, selector: str, then: str) -> None:
    """Submit a form and wait for the page that answers it (a click does not wait)."""
    from selenium.webdriver.common.by import By

    b.driver.find_element(By.CSS_SELECTOR, selector).click()
    wait_until(lambda: then in b.driver.page_source, what=then)


def test_from_a_block_page_to_an_open_site(ws: Workspace, console: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    proxy = start_proxy(ws)
    try:
        ws.run("session", "login", "servidor", "127.0.0.1", check=True)
        wait_until(lambda: curl(proxy, "http://www.gov.br/").stdout.endswith("200"),
                   what="the session")
        blocked = curl(proxy, "http://www.twitch.tv/", "-H", "Accept: text/html")
        assert blocked.stdout.endswith("403")
        ref = re.search(r"Referência</dt><dd><strong>([^<]+)<", blocked.stdout).group(1)
        wait_until(lambda: ref in ws.run("audit", "query", "--ref", ref).stdout, what="the record")

        user = web.Browser(tmp_path / "user", None, [])  # the console is reached directly
        try:
            sign_in(user, console, "servidor")
            page = user.open(f"{console}/meus-pedidos?ref={ref}")
            assert "Pedir liberação de www.twitch.tv" in page
            shot(user, "pedir-liberacao.png", tmp_path)
            user.driver.find_element(By.NAME, "justificativa").send_keys("treinamento em vídeo")
            click(user, "form[action='/meus-pedidos'] button", "Pedido nº 1 registrado")
            # a second request, to be denied
            user.open(f"{console}/meus-pedidos?ref={ref}")
            user.driver.find_element(By.NAME, "justificativa").send_keys("de novo")
            click(user, "form[action='/meus-pedidos'] button", "Pedido nº 2 registrado")
            assert "Sem permissão" in user.open(f"{console}/pedidos")  # not the committee's

            comite = web.Browser(tmp_path / "comite", None, [])
            try:
                sign_in(comite, console, "comite")  # the committee's first page: what waits
                assert "<strong>2</strong> pedidos aguardando" in comite.driver.page_source
                shot(comite, "inicio.png", tmp_path)
                assert "treinamento em vídeo" in comite.open(f"{console}/pedidos")
                shot(comite, "pedidos.png", tmp_path)
                click(comite, "form[action='/pedidos/1/aprovar'] button", "Pedido nº 1 aprovado")
                comite.driver.find_element(
                    By.CSS_SELECTOR, "form[action='/pedidos/2/negar'] input[name=motivo]"
                ).send_keys("Um pedido basta")
                click(comite, "form[action='/pedidos/2/negar'] button", "Pedido nº 2 negado")
            finally:
                comite.quit()
            # the proxy follows the approval within seconds: the site opens
            wait_until(lambda: curl(proxy, "http://www.twitch.tv/").stdout.endswith("200"),
                       what="the approved release")
            mine = user.open(f"{console}/meus-pedidos")
            assert "liberado" in mine and "Um pedido basta" in mine
            user.driver.find_element(By.NAME, "motivo").send_keys("o treinamento é obrigatório")
            click(user, "form[action='/meus-pedidos/2/recurso'] button", "em recurso")
            shot(user, "meus-pedidos.png", tmp_path)
        finally:
            user.quit()

        auditor = web.Browser(tmp_path / "auditor", None, [])
        try:
            sign_in(auditor, console, "auditor")
            page = auditor.open(f"{console}/auditoria?site=www.twitch.tv")
            assert ref in page and "Exportar CSV" in page
            shot(auditor, "auditoria.png", tmp_path)
            cookie = auditor.driver.get_cookie("guarita_console")["value"]
            req = urllib.request.Request(f"{console}/auditoria.csv?site=www.twitch.tv",
                                         headers={"Cookie": f"guarita_console={cookie}"})
            text = urllib.request.urlopen(req, timeout=10).read().decode()
            assert text.startswith("ts,ref,user") and ref in text
        finally:
            auditor.quit()
    finally:
        proxy.stop()
        proxy.net.stop()
    assert time.time()  # the whole loop ran against real processes


def test_every_page_renders_in_portuguese(ws: Workspace, console: str, tmp_path: Path) -> None:
    policy = load_policy(ws.config, ws.root)  # refusals that count, for the Violações page
    attempts(policy, "servidor", "www.pornhub.com", 4, time.time() - 3600)
    attempts(policy, "estagiario", "www.xvideos.com", 2, time.time() - 7200)
    b = web.Browser(tmp_path / "ti", None, [])
    try:
        b.open(f"{console}/entrar")
        shot(b, "entrar.png", tmp_path)
        sign_in(b, console, "ti")
        pages = {
            "/": "Olá, ti",
            "/pedidos": "Pedidos aguardando decisão",
            "/liberacoes": "Nível 4 (acesso irrestrito)",
            "/explicar?url=https://www.pornhub.com/&usuario=servidor": "BLOQUEADO",
            "/categorias?host=www.pornhub.com": "Conteúdo adulto",
            "/auditoria?decisao=block": "Registro de auditoria",
            "/equipe": "Por unidade",
            "/meus-pedidos": "Meus pedidos de liberação",
            "/justificados": "Acessos justificados (últimos 30 dias)",
            "/meus-dados": "Preciso de um site para o serviço",
        }
        for path, text in pages.items():
            page = b.open(f"{console}{path}")
            assert text in page, path
            assert "<script" not in page  # the CSP allows none, and the pages need none
            name = path.strip("/").split("?")[0]
            if name not in ("", "pedidos", "auditoria", "meus-pedidos"):  # shown with data above
                shot(b, f"{name}.png", tmp_path)
    finally:
        b.quit()


def test_meus_dados_justify_explain_and_the_chief_revokes_in_the_browser(
        ws: Workspace, console: str, tmp_path: Path) -> None:
    """Issue 27 in Chromium: servidor justifies a site from Meus dados (no proxy CA needed)
    and explains a counted violation; the chief sees both and revokes the justification."""
    from selenium.webdriver.common.by import By

    policy = load_policy(ws.config, ws.root)
    attempts(policy, "servidor", "www.pornhub.com", 3, time.time() - 3 * 3600)
    b = web.Browser(tmp_path / "servidor", None, [])
    try:
        sign_in(b, console, "servidor")
        b.open(f"{console}/meus-dados")
        b.driver.find_element(By.NAME, "site").send_keys("www.youtube.com")
        b.driver.find_element(By.NAME, "justificativa").send_keys("aula gravada do curso do SEI")
        click(b, "form[action='/meus-dados/justificar'] button", "aberto para você")
        b.driver.find_element(By.NAME, "texto").send_keys("um link num e-mail de phishing")
        click(b, "form[action='/meus-dados/explicar'] button", "Explicação registrada")
        shot(b, "meus-dados.png", tmp_path)
    finally:
        b.quit()
    chief = web.Browser(tmp_path / "coordenador", None, [])
    try:
        sign_in(chief, console, "coordenador")
        assert "um link num e-mail de phishing" in chief.open(f"{console}/equipe")
        page = chief.open(f"{console}/justificados")
        assert "aula gravada do curso do SEI" in page and "Aberta" in page
        chief.driver.find_element(By.NAME, "motivo").send_keys("não era de serviço")
        chief.driver.find_element(By.NAME, "violacao").click()
        click(chief, "form[action$='/revogar'] button", "contada como violação")
        shot(chief, "justificados.png", tmp_path)
    finally:
        chief.quit()


def test_each_roles_first_page_and_signing_out(ws: Workspace, console: str,
                                               tmp_path: Path) -> None:
    """Every role signs in, sees what it comes for, signs out; afterwards the same browser
    opens nothing of the console without signing in again."""
    policy = load_policy(ws.config, ws.root)
    attempts(policy, "servidor", "www.pornhub.com", 3, time.time() - 3600)
    first = {
        "servidor": ("Meus pedidos", "Pedidos para decidir"),
        "comite": ("Pedidos para decidir", "Últimas 24 horas"),
        "ti": ("Pedidos para decidir", "Sua equipe"),
        "auditor": ("bloqueado", "Pedidos para decidir"),
        "coordenador": ("Violações da sua equipe", "Últimas 24 horas"),
    }
    b = web.Browser(tmp_path / "roles", None, [])
    try:
        for login, (shown, not_shown) in first.items():
            sign_in(b, console, login)
            page = b.driver.page_source
            assert f"Olá, {login}" in page and shown in page and not_shown not in page, login
            assert "<script" not in page
            click(b, "form[action='/sair'] button", 'id="login-csrf"')  # the sign-in page
            assert 'id="login-csrf"' in b.open(f"{console}/")  # signed out: sign in again
            assert "Olá" not in b.open(f"{console}/meus-pedidos")
    finally:
        b.quit()

"""A real headless Chromium (Debian `chromium` + `chromium-driver`, driven by selenium), with its
own profile and its own trust store, and a local HTTPS site with a certificate of its own.

Chromium on Linux trusts the CAs in the user's NSS database (`$HOME/.pki/nssdb`): each
browser here gets a throw-away HOME, so trusting guarita's CA is per browser, as on a
managed machine, and a browser without it is a machine outside the rollout.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import os
import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SITE_CA_NAME = "upstream test CA"


def available() -> bool:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return False
    return all(os.path.exists(p) for p in (CHROMIUM, DRIVER)) and bool(shutil.which("certutil"))


class Browser:
    """One Chromium profile behind a proxy; `trust` adds a CA to its own store."""

    def __init__(self, home: Path, proxy_port: int | None, trust: list[Path],
                 pac_url: str | None = None) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        nssdb = home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True,
                       capture_output=True)
        for i, ca in enumerate(trust):
            subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", f"ca{i}",
                            "-i", str(ca)], check=True, capture_output=True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        # HttpsUpgrades: Chromium (since 115) tries https:// first for an http:// address and
        # falls back; the tests ask for each scheme on purpose
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--disable-features=HttpsUpgrades",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={home / 'profile'}", "--window-size=1000,860"]
        if proxy_port is not None:  # even localhost goes through the proxy
            args += [f"--proxy-server=http://127.0.0.1:{proxy_port}",
                     "--proxy-bypass-list=<-loopback>"]
        elif pac_url is not None:  # the proxies a PAC file names, as a managed machine has
            args += [f"--proxy-pac-url={pac_url}"]
        for arg in args:
            opts.add_argument(arg)
        service = Service(DRIVER, env={**os.environ, "HOME": str(home)})
        self.driver: Any = webdriver.Chrome(service=service, options=opts)
        self.driver.set_page_load_timeout(30)
        self.driver.execute_cdp_cmd("Network.enable", {})

    def open(self, url: str) -> str:
        """Load `url`; returns the page's HTML (Chromium's own error page included)."""
        from selenium.common.exceptions import WebDriverException

        for _ in range(3):  # on a loaded machine a first navigation can end blank or failed
            try:
                self.driver.get(url)
            except WebDriverException:
                pass  # a TLS or network error page is still a page
            page = str(self.driver.page_source)
            if page.strip() and "<body></body>" not in page and 'id="main-frame-error"' not in page:
                break
        return page

    def certificate_issuer(self, origin: str) -> str:
        """The issuer CN of the certificate this browser was shown for `origin`."""
        chain = self.driver.execute_cdp_cmd("Network.getCertificate", {"origin": origin})
        cert = x509.load_der_x509_certificate(base64.b64decode(chain["tableNames"][0]))
        return str(cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))

    def quit(self) -> None:
        self.driver.quit()


class TlsSite:
    """https://localhost:<port>/ with a certificate from its own CA (`ca_file` to trust it)."""

    def __init__(self, folder: Path, body: bytes = b"<h1>upstream ok</h1>") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SITE_CA_NAME)])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                             critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca_file = folder / "site-ca.pem"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        cert_file, key_file = folder / "site.pem", folder / "site-key.pem"
        cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        content = body

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file, key_file)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

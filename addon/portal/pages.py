"""The proxy's own pages rendered from the console's template folder, so the block page,
the answers of its forms and the console are one set of Jinja templates, autoescaped.

Its own Environment rather than a Flask app's: the block page is rendered for any refused
request, outside any web app's request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent / "console" / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context: Any) -> str:
    return _ENV.get_template(f"portal/{name}").render(**context)


def notice(title: str, paragraphs: tuple[str, ...],
           link: tuple[str, str] | None = None) -> str:
    """A page of the proxy's own: a title, its paragraphs, a link (its address, its words)."""
    return render("aviso.html", titulo=title, paragrafos=paragraphs, link=link)

"""addon/portal/pages.py: the proxy's pages from the console's templates, everything
echoed escaped (a host name, a user, a reason come from outside)."""

from __future__ import annotations

from addon.portal import pages


def test_a_notice_escapes_its_words_and_its_link() -> None:
    html = pages.notice("<b>t</b>", ("a <script>x</script>", 'b "c"'),
                        ('javascript:"><script>', "ir <agora>"))
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<h1>&lt;b&gt;t&lt;/b&gt;</h1>" in html and "b &#34;c&#34;" in html
    assert 'href="javascript:&#34;&gt;&lt;script&gt;"' in html and "ir &lt;agora&gt;" in html


def test_the_block_page_escapes_whatever_reaches_it() -> None:
    html = pages.render("bloqueio.html", titulo="Acesso bloqueado", motivo="<i>m</i>",
                        site='x"><script>alert(1)</script>', categorias="c", usuario="<u>",
                        nivel="2", quando="agora", ref="r<1>", ajuda="a", negado=(3, "<n>"),
                        token='t"', pedir={"acao": "/pedido", "malicioso": False,
                                           "evento": False},
                        justificar=None, console=None, autoteste=None, privacidade=None)
    assert "<script>" not in html and "<i>" not in html and "<u>" not in html
    assert 'value="x&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'name="token" value="t&#34;"' in html and "negado</strong>: &lt;n&gt;" in html
    assert 'name="days"' in html and 'name="date"' not in html  # not a platform: days

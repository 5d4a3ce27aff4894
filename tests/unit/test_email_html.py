"""The branded HTML part: the text's paragraphs and footer, escaped, in the brand's design."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tools.delivery.channels.html import EmailDesign, branded_html

TEXT = (
    "Hi <b>Ana</b> & co,\n\nSee https://northwind.example/p/1?a=1&b=2.\nBye\n\n"
    "--\nUnsubscribe: https://northwind.example/u/tok\nNorthwind, 1 Harbor Way"
)


def test_paragraphs_links_and_footer_are_escaped_in_the_design() -> None:
    design = EmailDesign(logo_url="https://northwind.example/logo.png", primary_color="#123456")
    html = branded_html(TEXT, design, brand="Northwind", title="Hi & welcome")
    assert "<b>Ana</b>" not in html and "Hi &lt;b&gt;Ana&lt;/b&gt; &amp; co" in html
    assert '<a href="https://northwind.example/p/1?a=1&amp;b=2">' in html
    assert "</a>.<br>" in html  # trailing punctuation stays outside the link
    assert 'Unsubscribe: <a href="https://northwind.example/u/tok">' in html
    assert "<title>Hi &amp; welcome</title>" in html
    assert 'src="https://northwind.example/logo.png"' in html and "#123456" in html
    body, footer = html.split("border-top", 1)
    assert "Harbor Way" in footer and "Harbor Way" not in body
    assert "--" not in footer.split("<p", 1)[1]


def test_without_a_logo_the_brand_name_shows_and_bad_design_values_are_refused() -> None:
    html = branded_html("Hello", EmailDesign(), brand="North & wind", title="t")
    assert "North &amp; wind</span>" in html and "<img" not in html
    with pytest.raises(ValidationError):
        EmailDesign(primary_color="red; background:url(x)")
    with pytest.raises(ValidationError):
        EmailDesign(logo_url="javascript:alert(1)")

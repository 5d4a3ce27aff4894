"""The e-mail a person receives: the checked text part kept, an HTML part in the brand's
design, both carrying the unsubscribe link and the postal address, sent over real SMTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from agents.activation import PersonRenderer, choose_arm
from agents.content import write_variants
from brand_guardrails.checker import check_message
from core.customers import get_customers
from core.db import CustomerRow, MessageRow
from core.models import Channel, Goal, JourneyStep, Objective, Offer, Plan, Severity
from core.settings import Settings
from graphs.runtime import Deps
from tests.integration.conftest import NOW, seeded
from tests.support.servers import SMTPSink
from tools.delivery.channels.smtp import SMTPAdapter
from tools.delivery.dispatch import Dispatcher
from tools.delivery.tokens import unsubscribe_url


@pytest.fixture
def shop(settings: Settings) -> Iterator[Deps]:
    deps = seeded(settings, customers=300, with_rules=False)
    yield deps
    deps.db.dispose()


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def _parts(msg: EmailMessage) -> dict[str, str]:
    assert msg.get_content_type() == "multipart/alternative"
    out: dict[str, str] = {}
    for part in msg.iter_parts():
        assert isinstance(part, EmailMessage)
        out[part.get_content_type()] = str(part.get_content())
    return out


def test_a_person_gets_text_and_branded_html_with_unsubscribe_and_address_in_both(
    shop: Deps, smtp_sink: SMTPSink
) -> None:
    kit = shop.kit
    step = JourneyStep(id="s1", channel=Channel.EMAIL, content_brief="Come back")
    objective = Objective(
        name="t", goal=Goal.WINBACK, offer=Offer(kind="percent_off", percent=10, code="BACK10")
    )
    plan = Plan(objective=objective, audiences=[], journey=[step])
    variants = write_variants(
        shop.llm, kit, objective=objective, step=step, rules=[], campaign_id="cmp_1", journey=[step]
    )
    with shop.db.session() as s:
        ids = list(s.scalars(select(CustomerRow.id)))
    customers = get_customers(shop.db, ids)
    consented = [
        c
        for c in customers.values()
        if c.email and any(k.channel == Channel.EMAIL and k.granted for k in c.consent)
    ]
    german = next(c for c in consented if c.locale.startswith("de"))
    american = next(
        c for c in consented if c.locale == "en-US" and (c.timezone or "").startswith("America/")
    )
    people = [german, american]
    renderer = PersonRenderer(shop.db, shop.settings, kit, plan, as_of=NOW)
    renderer.load(shop.db, [c.id for c in people])
    sent_text: dict[str, str] = {}
    with shop.db.session() as s:
        for c in people:
            variant, _ = choose_arm("cmp_1", c.id, variants)
            copy, _ = renderer.render("cmp_1", variant, c, NOW)
            assert [f for f in check_message(kit, copy) if f.severity == Severity.BLOCK] == []
            sent_text[c.email or ""] = copy.body
            s.add(
                MessageRow(
                    id=f"m_{c.id}",
                    idempotency_key=f"k:{c.id}",
                    campaign_id="cmp_1",
                    step_id="s1",
                    customer_id=c.id,
                    variant_id=variant.id,
                    arm=variant.arm,
                    channel="email",
                    to_address=c.email,
                    subject=copy.subject,
                    body=copy.body,
                    scheduled_at=NOW - timedelta(minutes=1),
                    status="scheduled",
                )
            )
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    try:
        stats = Dispatcher(
            shop.db, {Channel.EMAIL: adapter}, shop.dispatch_policy(), shop.settings
        ).run_once(as_of=NOW + timedelta(hours=6))  # daytime in Berlin and the Americas
    finally:
        adapter.close()
    assert stats.sent == 2, stats
    design = kit.email_design
    for msg in smtp_sink.messages:
        to = str(msg["To"])
        customer = next(c for c in people if c.email == to)
        parts = _parts(msg)
        text, html = (parts[t].replace("\r\n", "\n") for t in ("text/plain", "text/html"))
        unsub = unsubscribe_url(
            shop.settings, customer_id=customer.id, channel=Channel.EMAIL, campaign_id="cmp_1"
        )
        assert str(msg["List-Unsubscribe"]).strip() == f"<{unsub}>"
        for part in (text, html):
            assert unsub in part
            assert kit.postal_address in part
        # the text part is the checked text (links through the click redirect)
        assert text.split("\n--\n")[1].strip() == sent_text[to].split("\n--\n")[1].strip()
        assert f'<a href="{unsub}">' in html
        assert f'src="{design.logo_url}"' in html
        assert design.primary_color in html and 'name="viewport"' in html
        assert "max-width:600px" in html
        label = "Abmelden" if customer is german else "Unsubscribe"
        assert f"{label}: {unsub}" in text
        assert f"{label}: <a href" in html
        # copy paragraphs are in the HTML, escaped
        first_line = text.split("\n", 1)[0].strip()
        assert first_line.replace("'", "&#39;") in html or first_line in html

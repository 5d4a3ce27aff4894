"""The response simulator: how synthetic people respond to messages (demo, evals, tests, bench).

It stands in for the real world when autocmo runs on the sample store. Each person's hidden
preferences (`tools.sandbox.sample_world.latent_for`, same seed as the world) decide what happens:

- everyone in a campaign, treated or holdout, may buy on their own within the horizon (organic
  baseline, ~3 % on average; such conversions have `message_id` None);
- a sent message is delivered (or bounces), then may be opened, clicked, converted or lead to an
  unsubscribe, with probabilities that rise with the person's affinity for the channel, the
  angle and the message's category, with discounts for price-sensitive people, and with a send
  time close to the person's best hour; each further message to the same person works less
  (fatigue);
- a person converts at most once per campaign; a message-driven conversion takes precedence
  over an organic one. Revenue is the product price, less the offer.

Nothing here is used by the production path; agents never see a `Latent`.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from core.models import Channel, Outcome, OutcomeKind, Product
from tools.sandbox.sample_world import CATEGORIES, Latent, latent_for

_OPEN = {Channel.EMAIL: 0.30, Channel.SMS: 0.85, Channel.PUSH: 0.15, Channel.WEBHOOK: 0.30}
"""Base chance a delivered message is opened (read, for SMS)."""
_CLICK = {Channel.EMAIL: 0.22, Channel.SMS: 0.09, Channel.PUSH: 0.25, Channel.WEBHOOK: 0.15}
"""Base chance an opened message is clicked."""
_BOUNCE = {Channel.EMAIL: 0.01, Channel.SMS: 0.02, Channel.PUSH: 0.03, Channel.WEBHOOK: 0.0}
"""Chance a message bounces."""
_UNSUB = {Channel.EMAIL: 0.003, Channel.SMS: 0.012, Channel.PUSH: 0.005, Channel.WEBHOOK: 0.0}
"""Base chance an opened message leads to an unsubscribe."""
_CONVERT = 0.35
"""Base chance a click converts."""
_ORGANIC = 0.15
"""Organic conversion chance within the horizon at base_propensity 1 (scaled by churn risk)."""
_FATIGUE = 0.35
"""Drop in the log-odds-like score for each earlier message to the same person."""
_DEFAULT_ORDER_VALUE = 60.0
"""Order value when the catalog is empty."""


class SimMessage(BaseModel):
    """A message as the simulator needs to see it."""

    message_id: str
    """Outbox message id (outcomes are attributed to it)."""
    customer_id: str
    """Recipient."""
    channel: Channel
    """Channel it went out on."""
    angle: str
    """Creative angle (one of tools.sandbox.sample_world.ANGLES; others count as neutral)."""
    offer_percent: float
    """Discount in percent (0 for none)."""
    product_id: str | None
    """Featured product, if any."""
    category: str | None
    """Featured category, if any (taken from the product when absent)."""
    local_hour: int
    """Hour of day in the recipient's timezone when it was sent."""
    sent_at: datetime
    """When it was sent (UTC)."""


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _hour_distance(a: int, b: int) -> int:
    d = abs(a - b) % 24
    return min(d, 24 - d)


class ResponseSimulator:
    """Simulated responses of the sample world's people (use the world's seed)."""

    def __init__(self, *, seed: int, products: Mapping[str, Product]) -> None:
        self.seed = seed
        self.products = dict(products)
        self._by_category: dict[str, list[Product]] = {}
        for p in sorted(self.products.values(), key=lambda p: p.id):
            self._by_category.setdefault(p.category, []).append(p)
        self._latents: dict[str, Latent] = {}

    def _latent(self, customer_id: str) -> Latent:
        latent = self._latents.get(customer_id)
        if latent is None:
            latent = self._latents[customer_id] = latent_for(customer_id, self.seed)
        return latent

    def _organic_p(self, latent: Latent) -> float:
        return _ORGANIC * latent.base_propensity * (1.0 - 0.6 * latent.churn_risk)

    def _score(self, latent: Latent, msg: SimMessage, category: str | None, earlier: int) -> float:
        """How well a message fits the person: 0 is average, each +1 roughly e-fold better."""
        score = 0.6 * latent.channel_affinity.get(msg.channel.value, 0.0)
        score += 0.9 * latent.angle_affinity.get(msg.angle, 0.0)
        if category in latent.category_affinity:
            score += 2.5 * (latent.category_affinity[category] - 1.0 / len(CATEGORIES))
        score += 3.0 * latent.price_sensitivity * min(max(msg.offer_percent, 0.0), 80.0) / 100.0
        score += 0.5 * (1.0 - _hour_distance(msg.local_hour, latent.best_hour) / 6.0)
        return score - _FATIGUE * earlier

    def _value(
        self, r: random.Random, latent: Latent, product_id: str | None, category: str | None
    ) -> float:
        product = self.products.get(product_id) if product_id else None
        if product is None:
            cats = [c for c in CATEGORIES if self._by_category.get(c)]
            if category in self._by_category:
                cat: str | None = category
            elif cats:
                cat = r.choices(cats, [latent.category_affinity[c] for c in cats])[0]
            else:
                cat = next(iter(self._by_category), None)
            if cat is None:
                return _DEFAULT_ORDER_VALUE
            product = r.choice(self._by_category[cat])
        return product.price

    def simulate(
        self,
        campaign_id: str,
        *,
        assigned: Sequence[tuple[str, str]],
        sent: Sequence[SimMessage],
        as_of: datetime,
        horizon_days: int = 14,
    ) -> list[Outcome]:
        """Outcomes of a campaign: `assigned` is (customer_id, "treated" | "holdout") for
        everyone in it, `sent` the messages that went out. Deterministic for the same inputs."""
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        groups: dict[str, str] = {}
        for cid, group in assigned:
            if group not in ("treated", "holdout"):
                raise ValueError(f"group of {cid!r} is {group!r}; use 'treated' or 'holdout'")
            groups[cid] = group
        by_person: dict[str, list[SimMessage]] = {}
        for msg in sent:
            if msg.sent_at.tzinfo is None:
                raise ValueError(f"message {msg.message_id}: sent_at must be timezone-aware")
            if groups.get(msg.customer_id) == "holdout":
                raise ValueError(
                    f"message {msg.message_id} went to {msg.customer_id}, who is in the holdout; "
                    "holdout members must get nothing"
                )
            by_person.setdefault(msg.customer_id, []).append(msg)
        horizon = timedelta(days=horizon_days)
        out: list[Outcome] = []
        for cid in sorted(set(groups) | set(by_person)):
            latent = self._latent(cid)
            msgs = sorted(by_person.get(cid, []), key=lambda m: (m.sent_at, m.message_id))
            out.extend(self._person(campaign_id, cid, latent, msgs, as_of, horizon))
        return out

    def _person(
        self,
        campaign_id: str,
        cid: str,
        latent: Latent,
        msgs: list[SimMessage],
        as_of: datetime,
        horizon: timedelta,
    ) -> list[Outcome]:
        out: list[Outcome] = []

        def emit(
            kind: OutcomeKind, at: datetime, message_id: str | None, value: float = 0.0
        ) -> None:
            out.append(
                Outcome(
                    campaign_id=campaign_id,
                    customer_id=cid,
                    message_id=message_id,
                    kind=kind,
                    value=round(value, 2),
                    at=at,
                )
            )

        converted = False
        unsubscribed: set[Channel] = set()
        for earlier, msg in enumerate(msgs):
            r = _rng("sim", self.seed, campaign_id, cid, msg.message_id)
            end = msg.sent_at + horizon

            def later(
                start: datetime, mean_hours: float, r: random.Random = r, end: datetime = end
            ) -> datetime:
                at = start + timedelta(hours=r.expovariate(1.0 / mean_hours))
                return min(at, end)

            if r.random() < _BOUNCE[msg.channel]:
                emit(OutcomeKind.BOUNCED, msg.sent_at + timedelta(seconds=5), msg.message_id)
                continue
            delivered = msg.sent_at + timedelta(seconds=2 + r.random() * 60)
            emit(OutcomeKind.DELIVERED, delivered, msg.message_id)
            if msg.channel in unsubscribed:
                continue
            product = self.products.get(msg.product_id) if msg.product_id else None
            category = msg.category or (product.category if product else None)
            score = self._score(latent, msg, category, earlier)
            if r.random() >= min(_OPEN[msg.channel] * math.exp(0.4 * score), 0.95):
                continue
            opened = later(delivered, 4.0)
            emit(OutcomeKind.OPENED, opened, msg.message_id)
            p_unsub = (
                _UNSUB[msg.channel]
                * math.exp(-latent.channel_affinity.get(msg.channel.value, 0.0))
                * (1 + earlier)
            )
            if r.random() < p_unsub:
                emit(OutcomeKind.UNSUBSCRIBED, later(opened, 0.2), msg.message_id)
                unsubscribed.add(msg.channel)
                continue
            if r.random() >= min(_CLICK[msg.channel] * math.exp(0.6 * score), 0.9):
                continue
            clicked = later(opened, 0.3)
            emit(OutcomeKind.CLICKED, clicked, msg.message_id)
            p_convert = _CONVERT * (0.4 + 1.2 * latent.base_propensity) * math.exp(0.3 * score)
            if not converted and r.random() < min(p_convert, 0.9):
                value = self._value(r, latent, msg.product_id, category)
                value *= 1.0 - min(max(msg.offer_percent, 0.0), 100.0) / 100.0
                emit(OutcomeKind.CONVERTED, later(clicked, 2.0), msg.message_id, value)
                converted = True

        r = _rng("organic", self.seed, campaign_id, cid)
        organic = r.random() < self._organic_p(latent)
        if organic and not converted:
            at = as_of + timedelta(seconds=r.random() * horizon.total_seconds())
            emit(OutcomeKind.CONVERTED, at, None, self._value(r, latent, None, None))
        return out

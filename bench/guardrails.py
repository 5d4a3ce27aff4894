"""Benchmark: deterministic guardrail checks on rendered copy-bank messages, one core.

    .venv/bin/python bench/guardrails.py --messages 100000

Prints figures; the last line is `messages_per_s=…`.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brand_guardrails.checker import CopyToCheck, check_message, verdict
from brand_guardrails.copybank import render_copy
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import load_brand_kit
from core.models import Offer
from core.settings import sample_brand_kit

_FIRST = ["Alex", "María", "Jordan", "Priya", "Sam", "Chen", "Olu", "Zoë", "", "Anne-Marie"]
_PRODUCTS = [
    ("Ridge 2 Down Jacket", "outdoor"),
    ("Harbor Flannel Shirt", "apparel"),
    ("Switchback Trail Runner", "footwear"),
    ("Camp Enamel Mug Set", "home"),
    ("Alpine Wool Beanie", "accessories"),
]


def build_messages(kit_path: Path, n: int, seed: int = 7) -> list[CopyToCheck]:
    """`n` messages rendered from the copy bank with varied people, products and offers."""
    kit = load_brand_kit(kit_path)
    rng = random.Random(seed)
    offers: list[tuple[Offer | None, str]] = [
        (Offer(kind="percent_off", percent=10, code="TRAIL10", expires="Sunday"), "10% off"),
        (Offer(kind="free_shipping"), "free shipping"),
        (None, ""),
    ]
    pool: list[CopyToCheck] = []
    for t, name, (product, category), (offer, text) in itertools.product(
        kit.copy_bank, _FIRST, _PRODUCTS, offers
    ):
        slug = product.lower().replace(" ", "-")
        subject, body = render_copy(
            t,
            {
                "first_name": name,
                "brand_name": kit.name,
                "product_name": product,
                "product_url": f"{kit.site_url}/p/{slug}",
                "category": category,
                "offer_text": text,
                "code": (offer.code or "") if offer else "",
                "expires": (offer.expires or "") if offer else "",
                "shop_url": kit.site_url,
            },
        )
        unsubscribe = f"{kit.site_url}/u/{rng.getrandbits(64):016x}"
        final = apply_footer(kit, t.channel, body, unsubscribe, offer=offer)
        pool.append(
            CopyToCheck(
                channel=t.channel,
                subject=subject,
                body=final,
                offer=offer,
                system_links=(unsubscribe,),
            )
        )
    rng.shuffle(pool)
    # Every message gets its own unsubscribe link, as in production, so caches keyed by the
    # whole text do not flatter the figure.
    out: list[CopyToCheck] = []
    for i in range(n):
        m = pool[i % len(pool)]
        link = m.system_links[0]
        mine = link.replace("/u/", f"/u/{i:x}", 1)
        out.append(
            m.model_copy(update={"body": m.body.replace(link, mine), "system_links": (mine,)})
        )
    return out


def main() -> None:
    """Run the benchmark and print figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--kit", type=Path, default=sample_brand_kit())
    args = ap.parse_args()
    kit = load_brand_kit(args.kit)
    msgs = build_messages(args.kit, args.messages)
    check_message(kit, msgs[0])  # compile patterns outside the timed loop
    counts = {"pass": 0, "warn": 0, "block": 0}
    start, cpu_start = time.perf_counter(), time.process_time()
    for m in msgs:
        counts[verdict(check_message(kit, m))] += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"messages={len(msgs)} elapsed_s={elapsed:.2f} cpu_s={cpu:.2f}")
    print(f"cpu_messages_per_s={len(msgs) / cpu:.0f} (CPU time of this process only)")
    print(f"verdicts pass={counts['pass']} warn={counts['warn']} block={counts['block']}")
    print(f"messages_per_s={len(msgs) / elapsed:.0f}")


if __name__ == "__main__":
    main()

"""Benchmark: deterministic guardrail checks on one core, templated and unique copy.

    .venv/bin/python bench/guardrails.py --messages 20000 --spam-words ../shared/data/spam_words

Two workloads, each without and with the spam-word list (when `--spam-words` names one):
- templated: messages rendered from the copy bank for varied people, products and offers
  (lines repeat between messages, as in a campaign) → `messages_per_s=`;
- unique: the same messages with every line of the writer's copy made new (what per-person
  LLM copy is) → `unique_messages_per_s=`.
Each figure is the median of `--repeats` runs, computed from this process's CPU time (the
machine is shared; wall-clock figures and the load average are printed beside them).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brand_guardrails.checker import CopyToCheck, check_message, verdict
from brand_guardrails.checks._cache import clear_caches
from brand_guardrails.checks.creep_model import shipped_model
from brand_guardrails.copybank import render_copy
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import BrandKit, load_brand_kit
from brand_guardrails.store import embed
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


_WORDS = (  # noqa: SIM905
    "trail morning jacket boots rain ridge layer warm wool pack camp coffee harbor "
    "river weekend repair stitch seam zipper hood pocket fleece socks laces mile "
    "summit valley forest cedar pine frost snow drizzle wind cabin porch lantern "
    "kettle mug map compass hike walk run climb paddle fish sleep read cook bake "
    "share pick pack fold wash dry blue green grey rust amber olive navy cream heavy "
    "light soft sturdy quiet easy new old small big long short early late north south "
    "coast lake meadow creek hill path"
).split()


def make_unique(msgs: list[CopyToCheck], seed: int = 11) -> list[CopyToCheck]:
    """The same messages with a few random words and the message's number (in words) put
    after the first word of every line of the subject and of the copy above the footer, so
    no line repeats between messages."""
    rng = random.Random(seed)

    def vary(line: str, i: int, most: int = 7) -> str:
        head, _, tail = line.partition(" ")
        if not tail:
            return line
        tag = []  # the message number written in words, so no line repeats
        while True:
            i, digit = divmod(i, len(_WORDS))
            tag.append(_WORDS[digit])
            if not i:
                break
        words = " ".join(rng.choices(_WORDS, k=rng.randint(2, most)) + tag)
        return f"{head} {words}, {tail}"

    out: list[CopyToCheck] = []
    for i, m in enumerate(msgs):
        copy, sep, footer = m.body.partition("\n--\n")
        if not sep and "\n" in m.body:  # push: the footer is the last line
            copy, sep, footer = m.body.rpartition("\n")
        body = "\n".join(vary(line, i) for line in copy.split("\n")) + sep + footer
        subject = vary(m.subject, i, 2) if m.subject else m.subject
        out.append(m.model_copy(update={"body": body, "subject": subject}))
    return out


def _run(kit: BrandKit, msgs: list[CopyToCheck]) -> tuple[float, float, dict[str, int]]:
    """(CPU seconds, wall seconds, verdict counts) of checking every message once, with every
    kit's compiled checks and line memos cleared (the module-level LRU caches of text folding
    and injection scoring stay warm from earlier runs: a little optimistic for templated copy)
    and the objects that exist before the run left out of cyclic garbage collection
    (`gc.freeze`, as activation runs the checks): else earlier runs' memos and the embedding
    model make each full collection walk millions of objects and the later figures drop."""
    clear_caches()
    gc.collect()
    check_message(kit, msgs[0])  # compile patterns outside the timed loop
    counts = {"pass": 0, "warn": 0, "block": 0}
    gc.freeze()
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        for m in msgs:
            counts[verdict(check_message(kit, m))] += 1
        return time.process_time() - cpu_start, time.perf_counter() - start, counts
    finally:
        gc.unfreeze()


def main() -> None:
    """Run the benchmark and print figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    ap.add_argument("--kit", type=Path, default=sample_brand_kit())
    ap.add_argument(
        "--spam-words",
        type=Path,
        default=None,
        help="spam word list (folder or TSV), e.g. ../shared/data/spam_words",
    )
    args = ap.parse_args()
    base = load_brand_kit(args.kit)
    kits: list[tuple[str, BrandKit]] = [("off", base)]
    if args.spam_words is not None:
        spam = base.spam.model_copy(update={"words_path": args.spam_words})
        kits.append(("on", base.model_copy(update={"spam": spam})))
    if shipped_model() is not None:
        embed(["warm-up"])  # the creep classifier's model loads once per process, not per run
    templated = build_messages(args.kit, args.messages)
    unique = make_unique(templated)
    for spam_state, kit in kits:
        for label, msgs in (("messages_per_s", templated), ("unique_messages_per_s", unique)):
            runs = []
            for _ in range(args.repeats):
                runs.append(_run(kit, msgs))
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            counts = runs[0][2]
            print(
                f"spam_words={spam_state} messages={len(msgs)} cpu_s={cpu:.2f} wall_s={wall:.2f} "
                f"load_1m={os.getloadavg()[0]:.1f} "
                f"verdicts pass={counts['pass']} warn={counts['warn']} block={counts['block']} "
                f"wall_per_s={len(msgs) / wall:.0f} {label}={len(msgs) / cpu:.0f}"
            )


if __name__ == "__main__":
    main()

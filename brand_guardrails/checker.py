"""Run every deterministic check family on a message and reduce findings to a verdict.

Checks run on the final text, footer included, exactly as the person will see it. The
message type lives in `brand_guardrails.message`; it is re-exported here for callers.
"""

from __future__ import annotations

from typing import Literal

from brand_guardrails.checks._engine import engine
from brand_guardrails.kit import BrandKit
from brand_guardrails.locale import kit_for
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity

__all__ = ["CopyToCheck", "check_message", "verdict"]


def check_message(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """All findings of all check families on one message (in family order), in the kit's
    text for the message's language (`msg.locale`)."""
    return engine(kit_for(kit, msg.locale)).check(msg)


def verdict(findings: list[Finding]) -> Literal["pass", "warn", "block"]:
    """`block` if any finding blocks, `warn` if any warns, else `pass`."""
    if any(f.severity == Severity.BLOCK for f in findings):
        return "block"
    if findings:
        return "warn"
    return "pass"

"""SMS encoding: GSM-7 vs UCS-2, segment counts, and transliteration to GSM-7.

The logic lives in `tools.sms_encoding` (the SMS adapter needs it and tools cannot import
brand_guardrails); this module re-exports it for the guardrail checks.
"""

from __future__ import annotations

from tools.sms_encoding import GSM7_BASIC, GSM7_EXTENSION, is_gsm7, segments, to_gsm7

__all__ = ["GSM7_BASIC", "GSM7_EXTENSION", "is_gsm7", "segments", "to_gsm7"]

"""Money in copy and briefs: amounts written with their currency (`$10`, `10 €`), and fixed
amounts off read back from text (`$10 off`, `10 € Rabatt`, `save £5`)."""

from __future__ import annotations

import re
from typing import NamedTuple

CURRENCY_SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "CHF"}
"""Signs of the currencies the system writes with a sign (others are written as their code)."""

_CODES = {
    **{sign: code for code, sign in CURRENCY_SYMBOLS.items() if len(sign) == 1},
    **dict.fromkeys(("eur", "euro", "euros"), "EUR"),
    **dict.fromkeys(("usd", "dollar", "dollars"), "USD"),
    **dict.fromkeys(("gbp", "pound", "pounds"), "GBP"),
}
MONEY = (
    r"(?:([$€£])\s?(\d{1,5}(?:[.,]\d{1,2})?)"
    r"|(\d{1,5}(?:[.,]\d{1,2})?)\s*([$€£]|eur(?:o|os)?\b|usd\b|dollars?\b|gbp\b|pounds?\b))"
)
"""An amount with its currency, before (`$10`) or after (`10 €`, `10 dollars`); 4 groups."""
_AMOUNT_OFF = re.compile(
    rf"\bsave\s+{MONEY}|{MONEY}\s*(?:off\b|discount\b|rabatt\b|nachlass\b|de (?:reduction|"
    r"desconto)\b|オフ)"
)
_CURRENCY = re.compile(r"[$€£]|eur|usd|dollar|gbp|pound")
"""What every `MONEY` match holds (a cheap test before `_AMOUNT_OFF`)."""


class AmountOff(NamedTuple):
    """A fixed amount off named in a text."""

    amount: float
    """The money off."""
    currency: str
    """ISO 4217 code (`USD`)."""
    span: str
    """The words as written (`$10 off`)."""
    end: int
    """Where they end in the text."""


def money_text(amount: float, currency: str, pattern: str = "{symbol}{amount}") -> str:
    """An amount as a language writes it (`pattern`, e.g. a kit locale's `money`): `$10`,
    `10 €`, `$12.50`; without a sign when `currency` is empty."""
    number = f"{amount:g}" if float(amount).is_integer() else f"{amount:.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())
    return pattern.format(symbol=symbol, amount=number).strip()


def money_at(m: re.Match[str], group: int) -> tuple[float, str]:
    """Amount and ISO currency of a `MONEY` match whose first group is number `group`."""
    sign, number = (
        m.group(group, group + 1) if m.group(group + 1) else m.group(group + 3, group + 2)
    )
    return float(number.replace(",", ".")), _CODES[sign.lower()]


def amounts_off(low: str) -> list[AmountOff]:
    """Every fixed amount off in lower-cased (or folded) text, in order."""
    out: list[AmountOff] = []
    if not _CURRENCY.search(low):
        return out
    for m in _AMOUNT_OFF.finditer(low):
        amount, currency = money_at(m, 1 if m.group(2) or m.group(3) else 5)
        out.append(AmountOff(amount, currency, m.group(0).strip(), m.end()))
    return out

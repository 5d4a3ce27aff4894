"""Render copy-bank templates in a Jinja2 sandbox (used by evals, benchmarks and previews)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from brand_guardrails.kit import CopyTemplate


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)


@lru_cache(maxsize=1024)
def _compile(source: str) -> Template:
    return _env().from_string(source)


def render_copy(template: CopyTemplate, variables: Mapping[str, str]) -> tuple[str | None, str]:
    """(subject, body) of a template rendered with `variables`; the footer is not added."""
    subject = _compile(template.subject).render(**variables).strip() if template.subject else None
    body = _compile(template.body).render(**variables).strip()
    return subject, body

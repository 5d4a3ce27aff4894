"""The one Jinja2 sandbox that copy templates are compiled in.

The content agent renders every person's message with `compile_template`; `render_copy`
renders one copy-bank template with given variables (the guardrail benchmark and tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from brand_guardrails.kit import CopyTemplate


@lru_cache(maxsize=1)
def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    """A template compiled in the sandbox (strict variables, no autoescape); cached by source.

    Raises jinja2's TemplateError when the source does not compile.
    """
    return _env().from_string(source)


def render_copy(template: CopyTemplate, variables: Mapping[str, str]) -> tuple[str | None, str]:
    """(subject, body) of a template rendered with `variables`; the footer is not added."""
    subject = (
        compile_template(template.subject).render(**variables).strip() if template.subject else None
    )
    body = compile_template(template.body).render(**variables).strip()
    return subject, body

"""Deterministic guardrail checks, one module per family."""

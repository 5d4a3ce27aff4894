"""Everything that keeps copy on brand and legal: the brand kit (YAML → pydantic, `kit.py`),
the brand rules in Chroma (`store.py`, `rules.py`), the deterministic checks (`checks/`, one
module per family), the compliance footer, the prompt-injection detector, the LLM judge and the
approval policy (thresholds a human owns)."""

"""Brand kit, rule store, deterministic checks, LLM judge and approval policy."""

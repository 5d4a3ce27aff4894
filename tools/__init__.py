"""What the agents use: the LLM client (`llm.py`), audience features, matching and the
randomized holdout (`audience.py`), statistics (`statistics.py`), the importer (`importer.py`)
and SMS encoding. Two sub-packages: `delivery/` (dispatcher, channel adapters, scheduling,
tokens) and `sandbox/` (the sample world and the response simulator used by the demo, the
benchmarks and the tests). Customers and the catalog are core repositories."""

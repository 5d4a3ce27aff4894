"""What agents use: the LLM client, audience queries, catalog, channels, scheduling, statistics and the response simulator."""

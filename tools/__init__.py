"""What agents use: LLM client, audiences, catalog, channels, scheduling, statistics,
the sample world and the response simulator."""

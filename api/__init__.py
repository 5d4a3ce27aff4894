"""The FastAPI app and the `autocmo` CLI."""

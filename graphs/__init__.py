"""LangGraph state, the campaign graph, the optimization graph, the checkpointer, and the
operations that run them (`operations.py`) for the CLI, the API and the worker."""

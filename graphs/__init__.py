"""LangGraph state, the campaign graph, the optimization graph, the checkpointer, and the
operations that run them (`operations.py`) for the CLI, the API and the worker. Nodes are
module-level functions that receive `graphs.runtime.Deps` as LangGraph runtime context."""

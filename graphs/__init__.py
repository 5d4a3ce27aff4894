"""LangGraph state, the campaign graph, the optimization graph and the checkpointer."""

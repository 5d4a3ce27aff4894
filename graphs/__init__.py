"""LangGraph state, the campaign graph, the optimization graph and the checkpointer. Nodes are
module-level functions that receive `graphs.runtime.Deps` as LangGraph runtime context."""

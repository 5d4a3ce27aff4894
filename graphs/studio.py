"""Graph factories for LangGraph's CLI and Studio (see langgraph.json).

The graphs take their dependencies (database, brand kit, LLM client) as LangGraph runtime
context, which `autocmo` passes on every invoke. The platform cannot: its context is JSON
from the request. So each factory wraps the graph in a one-node graph that invokes it with the
dependencies built from the environment; the inner graph stays visible to Studio as a subgraph,
and `interrupt()` inside it pauses and resumes the wrapper. The platform brings its own
checkpointer, so these compile without one; `autocmo` itself uses the SQLite checkpointer in
the data directory.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from core.settings import Settings, set_process_environment
from graphs.campaign import build_campaign_graph
from graphs.optimization import build_optimization_graph
from graphs.runtime import Deps, build_deps


def with_deps(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    deps: Deps,
    *,
    name: str,
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """A graph called `name`, with `graph`'s state, that runs `graph` with `deps` as its
    runtime context."""

    def run(state: Any) -> dict[str, Any]:
        return dict(graph.invoke(state, context=deps))

    outer = StateGraph(graph.builder.state_schema)
    outer.add_node(name, run)
    outer.add_edge(START, name)
    outer.add_edge(name, END)
    return outer.compile(checkpointer=checkpointer, name=name)


def campaign() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The campaign graph, with dependencies from the environment."""
    set_process_environment()
    return with_deps(build_campaign_graph(), build_deps(Settings()), name="campaign")


def optimization() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The optimization graph, with dependencies from the environment."""
    set_process_environment()
    return with_deps(build_optimization_graph(), build_deps(Settings()), name="optimization")

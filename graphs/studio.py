"""Graph factories for LangGraph's CLI and Studio (see langgraph.json).

The platform brings its own checkpointer, so these compile without one; `autocmo` itself uses
the SQLite checkpointer in the data directory.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph

from core.settings import Settings
from graphs.campaign import build_campaign_graph
from graphs.optimization import build_optimization_graph
from graphs.runtime import build_deps


def campaign() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The campaign graph, with dependencies from the environment."""
    return build_campaign_graph(build_deps(Settings()))


def optimization() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The optimization graph, with dependencies from the environment."""
    return build_optimization_graph(build_deps(Settings()))

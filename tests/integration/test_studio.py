"""The graphs as LangGraph's CLI and Studio load them (langgraph.json): dependencies bound by
the factory, the inner graph visible as a subgraph, interrupt and resume through the wrapper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from core import campaigns as repo
from core.settings import Settings
from graphs import studio
from graphs.campaign import build_campaign_graph, launch_approval_id
from graphs.runtime import Deps
from tests.integration.conftest import NOW, WINBACK_BRIEF

ROOT = Path(__file__).resolve().parents[2]


def test_langgraph_json_names_the_studio_factories() -> None:
    graphs = json.loads((ROOT / "langgraph.json").read_text())["graphs"]
    for name, ref in graphs.items():
        path, attr = ref.split(":")
        assert (ROOT / path).is_file()
        assert attr == name and callable(getattr(studio, attr))


def test_factories_build_from_the_environment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOCMO_DATA_DIR", str(settings.data_dir))
    campaign = studio.campaign()
    nodes = set(campaign.get_graph(xray=True).nodes)
    assert {"campaign:plan", "campaign:gate", "campaign:activate"} <= nodes
    assert "optimization:decide" in set(studio.optimization().get_graph(xray=True).nodes)


def test_the_wrapped_campaign_graph_pauses_and_resumes(world: Deps) -> None:
    graph = studio.with_deps(
        build_campaign_graph(), world, name="campaign", checkpointer=InMemorySaver()
    )
    camp = repo.create_campaign(
        world.db, brand_id=world.kit.id, brief=WINBACK_BRIEF, engine=world.llm.engine
    )
    config = {"configurable": {"thread_id": camp.thread_id}}
    graph.invoke({"campaign_id": camp.id, "brief": WINBACK_BRIEF, "now": NOW.isoformat()}, config)
    snap = graph.get_state(config)
    assert [i.value["approval_id"] for i in snap.interrupts] == [launch_approval_id(camp.id)]
    assert repo.get_campaign(world.db, camp.id).status == "awaiting_approval"

    out = graph.invoke(Command(resume={"approved": True, "by": "qa"}), config)
    assert out["status"] == "active"
    assert out["activation"]["scheduled"] > 0
    assert repo.get_campaign(world.db, camp.id).status == "active"

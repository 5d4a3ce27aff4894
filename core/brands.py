"""Brand repository: each brand and the version of its kit in force."""

from __future__ import annotations

from typing import Any

from core.db import BrandRow, Database, utcnow


def store_brand(
    db: Database, brand_id: str, *, name: str, kit: dict[str, Any], kit_version: str
) -> None:
    """Record a brand's kit; a row already at this version is left as it is."""
    with db.session() as s:
        row = s.get(BrandRow, brand_id)
        if row is None:
            s.add(
                BrandRow(
                    id=brand_id, name=name, kit=kit, kit_version=kit_version, updated_at=utcnow()
                )
            )
        elif row.kit_version != kit_version:
            row.name, row.kit, row.kit_version, row.updated_at = name, kit, kit_version, utcnow()

"""outcomes.event_id: each Order Completed counts once by its messageId, repeat purchases too

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OLD_KEY = ["campaign_id", "customer_id", "message_id", "kind"]


def upgrade() -> None:
    # a database adopted at the baseline may have been made by a build that had the column
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("outcomes")}
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        if "event_id" not in have:
            batch_op.add_column(
                sa.Column("event_id", sa.String(length=128), server_default="", nullable=False)
            )
        batch_op.drop_constraint("uq_outcome", type_="unique")
        batch_op.create_unique_constraint("uq_outcome", [*_OLD_KEY, "event_id"])


def downgrade() -> None:
    # the old key allows one conversion per message: keep the first of each person's repeats
    op.execute(
        "DELETE FROM outcomes WHERE message_id IS NOT NULL AND id NOT IN "
        "(SELECT MIN(id) FROM outcomes GROUP BY campaign_id, customer_id, message_id, kind)"
    )
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outcome", type_="unique")
        batch_op.create_unique_constraint("uq_outcome", _OLD_KEY)
        batch_op.drop_column("event_id")

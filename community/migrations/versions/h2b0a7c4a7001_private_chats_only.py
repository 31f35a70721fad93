"""A person's chat is only the private chat with them: forget group chat ids stored before that rule.

Notifications and task cards go to `persons.chat_id`; a group's id there sent a person's tickets to the
group. On Telegram a private chat has the user's own id, so a chat id that differs from the person's
Telegram id is a group's (community/people/service.py `private_chat`). The relay falls back to the
Telegram id, which is the private chat.

Revision ID: h2b0a7c4a7001
Revises: bbdafe22db87
Create Date: 2026-12-05 17:30:00
"""

from __future__ import annotations

from alembic import op

revision = "h2b0a7c4a7001"
down_revision = "bbdafe22db87"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE persons SET chat_id = NULL WHERE telegram_id IS NOT NULL AND chat_id IS NOT NULL "
        "AND chat_id <> CAST(telegram_id AS VARCHAR(40))"
    )


def downgrade() -> None:
    # The forgotten group ids are not worth restoring: nothing may send a person's messages there.
    pass

"""Users and tokens: Argon2id password hashes, tokens stored only as hashes, revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import ApiTokenRow, Database, UserRow
from core.users import (
    Role,
    UserError,
    authenticate,
    create_token,
    create_user,
    revoke_tokens,
    user_for_token,
)


def test_passwords_are_argon2id_and_checked(db: Database) -> None:
    user = create_user(db, "ana@northwind.example", "approver", "a long password")
    assert user.role is Role.APPROVER and user.may("decide") and not user.may("admin")
    with db.session() as s:
        stored = s.scalars(select(UserRow.password_hash)).one()
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    assert authenticate(db, "ana@northwind.example", "a long password") == user
    assert authenticate(db, "ana@northwind.example", "a long passworD") is None
    assert authenticate(db, "nobody", "a long password") is None


def test_bad_users_are_refused_with_a_reason(db: Database) -> None:
    create_user(db, "mia", "marketer", "a long password")
    with pytest.raises(UserError, match="exists already"):
        create_user(db, "mia", "viewer", "a long password")
    with pytest.raises(UserError, match="Unknown role 'boss'"):
        create_user(db, "bob", "boss", "a long password")
    with pytest.raises(UserError, match="at least 10 characters"):
        create_user(db, "bob", "viewer", "short")
    with pytest.raises(UserError, match="not a valid user name"):
        create_user(db, "bob smith", "viewer", "a long password")


def test_tokens_are_stored_hashed_and_can_be_revoked(db: Database) -> None:
    create_user(db, "vic", "viewer", "a long password")
    token = create_token(db, "vic", "laptop")
    with db.session() as s:
        row = s.scalars(select(ApiTokenRow)).one()
    assert token.startswith("acmo_") and token not in row.token_hash
    user = user_for_token(db, token)
    assert user is not None and user.name == "vic"
    assert user_for_token(db, token + "x") is None and user_for_token(db, "Bearer x") is None
    assert revoke_tokens(db, "vic") == 1
    assert user_for_token(db, token) is None
    with pytest.raises(UserError, match="autocmo users add ghost"):
        create_token(db, "ghost")


def test_deactivate_revoke_one_token_and_the_audit_trail(db: Database) -> None:
    from core.audit import latest_decisions_without_campaign
    from core.users import (
        ACCOUNT_ACTIONS,
        deactivate_user,
        get_user,
        list_tokens,
        revoke_token,
    )

    create_user(db, "root", "admin", "a long password", by="setup")
    create_user(db, "vic", "viewer", "a long password", by="root")
    keep = create_token(db, "vic", "laptop", by="root")
    drop = create_token(db, "vic", "ci", by="root")
    tokens = {t.label: t for t in list_tokens(db)}
    assert set(tokens) == {"laptop", "ci"} and all(t.user == "vic" for t in tokens.values())
    assert revoke_token(db, tokens["ci"].id, by="root").revoked_at is not None
    assert revoke_token(db, tokens["ci"].id, by="root").revoked_at is not None  # idempotent
    assert user_for_token(db, drop) is None and user_for_token(db, keep) is not None
    with pytest.raises(UserError, match="No token"):
        revoke_token(db, "tok_nope")

    with pytest.raises(UserError, match="last active admin"):
        deactivate_user(db, "root", by="root")
    deactivate_user(db, "vic", by="root")
    assert get_user(db, "vic") is None and authenticate(db, "vic", "a long password") is None
    assert user_for_token(db, keep) is None  # a deactivated user's tokens stop at once
    assert list_tokens(db) == []  # listings show active users' tokens
    with pytest.raises(UserError, match="No active user"):
        deactivate_user(db, "vic")

    trail = latest_decisions_without_campaign(db, ACCOUNT_ACTIONS)
    assert [d.action for d in trail] == [
        "user_deactivated",
        "token_revoked",  # once: the second revoke changed nothing
        "token_created",
        "token_created",
        "user_added",
        "user_added",
    ]
    assert trail[0].evidence == {"by": "root", "user": "vic", "role": "viewer"}
    assert trail[-1].evidence["by"] == "setup" and "password" not in str(trail)

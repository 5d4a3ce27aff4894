"""Users, roles and API tokens: who may do what.

Passwords are hashed with Argon2id (pwdlib); API tokens are 256-bit random strings shown once
and stored as their SHA-256, which is enough for a secret that cannot be guessed (a slow hash
would only slow every API call down).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from enum import StrEnum

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import BaseModel
from sqlalchemy import func, select, update

from core.audit import decision_row
from core.db import ApiTokenRow, Database, DecisionRow, UserRow, new_id, rowcount, utcnow

_HASHER = PasswordHash((Argon2Hasher(),))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$")
TOKEN_PREFIX = "acmo_"
"""Every API token starts with this, so a leaked one is easy to recognize and scan for."""
MIN_PASSWORD_LENGTH = 10
"""Shortest password accepted."""


class Role(StrEnum):
    """What a user may do. Each role may do what the roles before it may, except that only
    approvers and admins decide approvals."""

    VIEWER = "viewer"
    """Read campaigns, reports and the approval queue."""
    MARKETER = "marketer"
    """Also write briefs, revise drafts, pause campaigns."""
    APPROVER = "approver"
    """Also approve or reject (never a campaign they submitted: four-eyes)."""
    ADMIN = "admin"
    """Everything, including users and tokens."""


_PERMISSIONS: dict[str, frozenset[Role]] = {
    "read": frozenset(Role),
    "write": frozenset({Role.MARKETER, Role.APPROVER, Role.ADMIN}),
    "decide": frozenset({Role.APPROVER, Role.ADMIN}),
    "admin": frozenset({Role.ADMIN}),
}


ACCOUNT_ACTIONS = ("user_added", "user_deactivated", "token_created", "token_revoked")
"""Audit actions of user and token changes (campaign-less rows of the audit trail)."""


class UserError(ValueError):
    """A user or token operation was refused; the message says why and what to do."""


class User(BaseModel):
    """A user as the rest of the system sees it (never the password hash)."""

    id: str
    """User id."""
    name: str
    """Login name, shown in the audit trail as the decider."""
    role: Role
    """What they may do."""

    def may(self, permission: str) -> bool:
        """True when the role grants `permission` (read, write, decide, admin)."""
        return self.role in _PERMISSIONS[permission]


class TokenInfo(BaseModel):
    """An API token as listings show it (never the token or its hash)."""

    id: str
    """Token id (what `revoke_token` takes)."""
    user: str
    """Whose token it is."""
    label: str
    """What it is for."""
    created_at: datetime
    """When it was created (UTC)."""
    last_used_at: datetime | None
    """When it last authenticated a request (UTC), if ever."""
    revoked_at: datetime | None
    """When it was revoked (UTC), if it was."""


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _HASHER.hash(password)


def create_user(
    db: Database, name: str, role: Role | str, password: str, *, by: str = "cli"
) -> User:
    """Add a user; refuses a taken or malformed name and a short password. Audited as `by`."""
    if not _NAME.match(name):
        raise UserError(
            f"{name!r} is not a valid user name: letters, digits and . _ @ + - (1-200 characters)."
        )
    try:
        role = Role(role)
    except ValueError as exc:
        raise UserError(f"Unknown role {role!r}: use {', '.join(r.value for r in Role)}.") from exc
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters."
        )
    hashed = hash_password(password)
    with db.session() as s:
        if s.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
            raise UserError(f"A user named {name!r} exists already.")
        row = UserRow(id=new_id("usr"), name=name, role=role.value, password_hash=hashed)
        s.add(row)
        s.add(_audit("user_added", by, f"{by} added {name} as {role.value}.", name, role.value))
        return _user(row)


def get_user(db: Database, name: str) -> User | None:
    """An active user by name, or None."""
    with db.session() as s:
        row = s.scalars(select(UserRow).where(UserRow.name == name, UserRow.active)).first()
        return _user(row) if row else None


def get_user_by_id(db: Database, user_id: str) -> User | None:
    """An active user by id, or None."""
    with db.session() as s:
        row = s.get(UserRow, user_id)
        return _user(row) if row is not None and row.active else None


def list_users(db: Database) -> list[User]:
    """Every active user, by name."""
    with db.session() as s:
        return [
            _user(r)
            for r in s.scalars(select(UserRow).where(UserRow.active).order_by(UserRow.name))
        ]


def authenticate(db: Database, name: str, password: str) -> User | None:
    """The user when the password matches, else None (the same time either way)."""
    with db.session() as s:
        row = s.scalars(select(UserRow).where(UserRow.name == name, UserRow.active)).first()
        if row is None:
            _HASHER.verify_and_update(password, _DUMMY_HASH)  # same cost as a real check
            return None
        ok, new_hash = _HASHER.verify_and_update(password, row.password_hash)
        if not ok:
            return None
        if new_hash:  # parameters were raised since the hash was made
            row.password_hash = new_hash
        return _user(row)


def create_token(db: Database, user_name: str, label: str = "", *, by: str = "cli") -> str:
    """A new API token for a user; returns the token, which is not stored and never shown again.
    Audited as `by`."""
    user = get_user(db, user_name)
    if user is None:
        raise UserError(
            f"No user {user_name!r}. Add one with `autocmo users add {user_name} --role ROLE`."
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tid = new_id("tok")
    with db.session() as s:
        s.add(ApiTokenRow(id=tid, user_id=user.id, token_hash=_digest(token), label=label[:200]))
        why = f"{by} created token {tid} for {user.name}" + (f" ({label[:200]})." if label else ".")
        s.add(_audit("token_created", by, why, user.name, user.role.value, token_id=tid))
    return token


def user_for_token(db: Database, token: str) -> User | None:
    """The user of a valid, unrevoked API token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with db.session() as s:
        row = s.execute(
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(
                ApiTokenRow.token_hash == _digest(token),
                ApiTokenRow.revoked_at.is_(None),
                UserRow.active,
            )
        ).first()
        if row is None:
            return None
        tok, user = row
        tok.last_used_at = utcnow()
        return _user(user)


def revoke_tokens(db: Database, user_name: str, *, by: str = "cli") -> int:
    """Revoke every token of a user; returns how many. Audited as `by`."""
    user = get_user(db, user_name)
    if user is None:
        raise UserError(f"No user {user_name!r}.")
    with db.session() as s:
        res = s.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.user_id == user.id, ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        n = rowcount(res)
        why = f"{by} revoked {n} token(s) of {user.name}."
        s.add(_audit("token_revoked", by, why, user.name, user.role.value))
        return n


def revoke_token(db: Database, token_id: str, *, by: str = "cli") -> TokenInfo:
    """Revoke one token by id (idempotent); returns it. Audited as `by` when it was live."""
    with db.session() as s:
        row = s.execute(
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(ApiTokenRow.id == token_id)
            .with_for_update()
        ).first()
        if row is None:
            raise UserError(f"No token {token_id!r}: it may have been deleted with its user.")
        tok, owner = row
        if tok.revoked_at is None:
            tok.revoked_at = utcnow()
            why = f"{by} revoked token {tok.id} of {owner.name}."
            s.add(_audit("token_revoked", by, why, owner.name, owner.role, token_id=tok.id))
        return _token(tok, owner)


def list_tokens(db: Database) -> list[TokenInfo]:
    """Every token of every active user, newest first (revoked ones too, marked)."""
    with db.session() as s:
        rows = s.execute(
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(UserRow.active)
            .order_by(ApiTokenRow.created_at.desc(), ApiTokenRow.id)
        ).all()
        return [_token(t, u) for t, u in rows]


def deactivate_user(db: Database, name: str, *, by: str = "cli") -> User:
    """Deactivate a user: their sessions and tokens stop working at once; their name stays in
    the audit trail (and stays taken). Refuses to remove the last active admin."""
    with db.session() as s:
        row = s.scalars(
            select(UserRow).where(UserRow.name == name, UserRow.active).with_for_update()
        ).first()
        if row is None:
            raise UserError(f"No active user {name!r}.")
        if row.role == Role.ADMIN.value:
            admins = s.scalar(
                select(func.count())
                .select_from(UserRow)
                .where(UserRow.role == Role.ADMIN.value, UserRow.active)
            )
            if (admins or 0) <= 1:
                raise UserError(
                    f"{name} is the last active admin: add another admin first, or nobody "
                    "could manage users any more."
                )
        row.active = False
        s.add(_audit("user_deactivated", by, f"{by} deactivated {name}.", name, row.role))
        return _user(row)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(row: UserRow) -> User:
    return User(id=row.id, name=row.name, role=Role(row.role))


def _token(tok: ApiTokenRow, owner: UserRow) -> TokenInfo:
    return TokenInfo(
        id=tok.id,
        user=owner.name,
        label=tok.label,
        created_at=tok.created_at,
        last_used_at=tok.last_used_at,
        revoked_at=tok.revoked_at,
    )


def _audit(action: str, by: str, reason: str, user: str, role: str, **extra: str) -> DecisionRow:
    """The audit row of a user or token change (no campaign; `ACCOUNT_ACTIONS`)."""
    return decision_row(
        campaign_id=None,
        agent="human",
        action=action,
        reason=reason,
        evidence={"by": by, "user": user, "role": role, **extra},
    )


_DUMMY_HASH = hash_password(secrets.token_hex(16))

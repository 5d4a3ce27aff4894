"""Alembic migrations of autocmo's schema (`Database.migrate()` runs them to head).

Add one with `alembic -c core/migrations/alembic.ini revision --autogenerate -m "what"` against a
database at head, then read and edit the generated file: a revision must work on SQLite (batch
mode) and PostgreSQL. `tests/integration/test_migrations.py` fails while the models and the
migrations disagree.
"""

"""Settings, domain models, the database and its repositories: the base every layer builds on.

`db.py` holds the tables and the engine; each domain noun has one repository module
(`campaigns`, `customers`, `catalog`, `messages` (the outbox), `outcomes`, `revisions`,
`audit`, `brands`, `llm_usage`). One calling convention: every repository function takes the
`Database` as its first argument and is one transaction; what must be written together (a
consent change and its audit record, a revision and the optimizer's decision) is one function.
Repositories compose inside a transaction through row builders such as `audit.decision_row`.
`loading.py` is the one bulk writer the importer and the sample world share; it works on a
connection inside the caller's all-or-nothing transaction.
Agents, graphs and the API never import SQLAlchemy (import-linter enforces it).
"""

"""The outside surfaces: the FastAPI app (`app.py`, one router per resource in `routes/`,
dependencies in `deps.py`), the `autocmo` CLI (`cli.py`), the scheduled worker (`worker.py`),
the copy check shared by both (`check.py`) and the demo (`demo.py`). No SQLAlchemy here: the
API and CLI reach the database through core's repositories and graphs' operations."""

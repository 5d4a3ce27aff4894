"""Schemathesis against the OpenAPI schema: generated requests (valid and invalid) to every
operation, authenticated as an admin, never get a 5xx. Bounded: a few examples per operation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from api.app import create_app
from core.settings import Settings
from tests.integration.conftest import bearer, seeded

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, dict[str, str]]]:
    """One small seeded world and an admin's token for all operations."""
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "var"
    settings = Settings(data_dir=data_dir, database_url=None, openai_api_key=None, _env_file=None)  # type: ignore[call-arg]
    deps = seeded(settings, customers=300, with_rules=False)
    app = create_app(deps=deps)
    app.state.deps = deps
    yield app, bearer(deps.db, "root")
    deps.db.dispose()


def test_no_server_errors(fuzz_world: tuple[object, dict[str, str]]) -> None:
    app, headers = fuzz_world
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    errors: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=12,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")

        call()
    assert operations >= 10
    assert not errors, errors
    # the calls were authenticated and reached the handlers (not only 401s)
    assert (
        statuses[200] + statuses[201] > 10
        and statuses[422] > 0
        and statuses[401] < sum(statuses.values())
    ), statuses

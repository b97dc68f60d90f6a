"""Fixtures shared by the sidecar tests: a fake clock, a migrated ledger, a signed test client."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from refunder import signing
from refunder.app import create_app
from refunder.config import Settings
from refunder.ledger.database import Database, migrate

SECRET = "test-secret-0123456789-abcdefghijklmnop"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say when Vipps requests went unchecked because the official specs are not beside the checkout."""
    specs = sys.modules.get("tests.providers.specs")
    if specs is not None and specs.unchecked:
        terminalreporter.section("Vipps specs", sep="-", yellow=True, bold=True)
        terminalreporter.write_line(f"{len(specs.unchecked)} Vipps requests were not validated: {specs.MISSING}",
                                    yellow=True, bold=True)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("REFUNDER_TEST_POSTGRES_URL") else [])


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """URL of a new, empty database: a SQLite file, or a database on the test PostgreSQL server."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'ledger.db'}"
        return
    server = make_url(os.environ["REFUNDER_TEST_POSTGRES_URL"])
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test that uses the ledger runs on SQLite and, where the test server is up, PostgreSQL."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(shared_secret=SECRET, database_url=database_url, providers=("manual", "simulator"),
                    sections={"simulator": {"path": str(tmp_path / "simulator.db")}})


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_url(settings.database_url)
    migrate(database.engine)
    yield database
    database.engine.dispose()


def signed(secret: str, method: str, target: str, data: bytes, now: datetime,
           headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a request signed like the plugin signs it, its Content-Type and Idempotency-Key covered."""
    extra = dict(headers or {})
    content_type, key = extra.pop("Content-Type", "application/json"), extra.pop("Idempotency-Key", None)
    return {**extra, **signing.signed_headers(secret, method, target, data, int(now.timestamp()),
                                              content_type=content_type, idempotency_key=key)}


class SignedClient:
    """Flask test client that signs every request the way the WordPress plugin does."""

    def __init__(self, client: Any, clock: FakeClock, secret: str = SECRET) -> None:
        self.client, self.clock, self.secret = client, clock, secret

    def request(self, method: str, target: str, body: Any = None, *, headers: dict[str, str] | None = None,
                raw: bytes | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return self.client.open(target, method=method, data=data,
                                headers=signed(self.secret, method, target, data, self.clock(), headers))

    def get(self, target: str, **kw: Any) -> Any:
        return self.request("GET", target, **kw)

    def post(self, target: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", target, body, **kw)


@pytest.fixture
def app(settings: Settings, db: Database, clock: FakeClock) -> Any:
    return create_app(settings, clock=clock)


@pytest.fixture
def api(app: Any, clock: FakeClock) -> SignedClient:
    return SignedClient(app.test_client(), clock)


@pytest.fixture
def simulator(app: Any) -> Any:
    """The app's simulated provider, to add payments to and watch."""
    return app.extensions["refunder"].providers["simulator"]

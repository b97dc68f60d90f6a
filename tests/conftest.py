"""Fixtures shared by the sidecar tests: a fake clock, a migrated ledger, a signed test client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from refunder import signing
from refunder.app import create_app
from refunder.config import Settings
from refunder.ledger.database import Database, migrate

SECRET = "test-secret-0123456789-abcdefghijklmnop"


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(shared_secret=SECRET, database_url=database_url, providers=("manual", "simulator"),
                    simulator_path=str(tmp_path / "simulator.db"))


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_url(settings.database_url)
    migrate(database.engine)
    yield database
    database.engine.dispose()


class SignedClient:
    """Flask test client that signs every request the way the WordPress plugin does."""

    def __init__(self, client: Any, clock: FakeClock, secret: str = SECRET) -> None:
        self.client, self.clock, self.secret = client, clock, secret

    def request(self, method: str, target: str, body: Any = None, *, headers: dict[str, str] | None = None,
                raw: bytes | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        signed = signing.signed_headers(self.secret, method, target, data, int(self.clock().timestamp()))
        all_headers = {**signed, "Content-Type": "application/json", **(headers or {})}
        return self.client.open(target, method=method, data=data, headers=all_headers)

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

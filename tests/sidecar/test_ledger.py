"""Ledger schema and settings: migrations match the models, unmigrated databases are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from refunder.app import create_app
from refunder.config import Settings
from refunder.errors import ConfigurationError
from refunder.ledger.database import Database, migrate
from refunder.ledger.models import Base
from tests.conftest import SECRET


def test_migrations_build_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert {"payments", "refunds", "idempotency_keys", "audit_events", "request_nonces"} <= set(
        inspect(db.engine).get_table_names())


def test_migrating_twice_is_harmless(db: Database) -> None:
    migrate(db.engine)


def test_refunds_of_bank_transfer_payments_become_bank_transfers(tmp_path: Path) -> None:
    """0015: refunds recorded before it know how they were paid back; payments have no mode yet."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from refunder.ledger.database import MIGRATIONS

    engine = Database.from_url(f"sqlite:///{tmp_path / 'old.db'}").engine
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0005")
        for pid, provider in (("pay_m", "manual"), ("pay_s", "stripe")):
            connection.execute(text("INSERT INTO payments VALUES (:id, :p, :id, '1', 'NOK', 100, '2026-01-01', '{}', "
                                    "'2026-01-01', '2026-01-01')"), {"id": pid, "p": provider})
            connection.execute(text("INSERT INTO refunds (id, payment_id, amount_minor, currency, status, kind, "
                                    "reason, actor_id, actor_name, lines, created_at, updated_at) VALUES (:r, :id, 1, "
                                    "'NOK', 'refunded', 'requested', 'x', '1', 'x', '[]', '2026-01-01', '2026-01-01')"),
                               {"r": "rf_" + pid, "id": pid})
    migrate(engine)
    with engine.connect() as connection:
        assert dict(connection.execute(text("SELECT id, via FROM refunds")).all()) == {
            "rf_pay_m": "bank_transfer", "rf_pay_s": "provider"}
        assert set(connection.execute(text("SELECT mode FROM payments")).scalars()) == {"unknown"}


def test_app_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(shared_secret=SECRET, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(ConfigurationError, match="refunder migrate"):
        create_app(settings)


def test_settings_from_environment_and_file(tmp_path: Path) -> None:
    config = tmp_path / "refunder.toml"
    config.write_text('database_url = "sqlite:///from-file.db"\nproviders = ["manual"]\nworkers = 4\n')
    settings = Settings.load({"REFUNDER_CONFIG": str(config), "REFUNDER_SHARED_SECRET": SECRET,
                              "REFUNDER_PROVIDERS": "manual, simulator", "REFUNDER_WORKERS": "3"})
    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.providers == ("manual", "simulator") and settings.workers == 3


@pytest.mark.parametrize("env,message", [
    ({}, "REFUNDER_SHARED_SECRET is not set"),
    ({"REFUNDER_SHARED_SECRET": "short"}, "at least 32"),
])
def test_bad_settings_are_explained(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.load(env)


def test_unknown_settings_and_providers_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "refunder.toml"
    config.write_text('databse_url = "typo"\n')
    with pytest.raises(ConfigurationError, match="databse_url"):
        Settings.load({"REFUNDER_CONFIG": str(config), "REFUNDER_SHARED_SECRET": SECRET})
    settings = Settings(shared_secret=SECRET, database_url=f"sqlite:///{tmp_path / 'l.db'}", providers=("paypal",))
    migrate(Database.from_url(settings.database_url).engine)
    with pytest.raises(ConfigurationError, match="paypal"):
        create_app(settings)


def test_secret_is_not_in_the_settings_repr() -> None:
    assert SECRET not in repr(Settings(shared_secret=SECRET))


def test_times_are_stored_as_utc(api: Any, db: Database) -> None:
    from tests.sidecar.helpers import register

    payment = register(api, "manual", "bank-tz", 100, paid_at="2026-11-20T10:00:00+01:00")
    assert payment["paid_at"] == "2026-11-20T09:00:00+00:00"

"""The deployment files: compose wires what the README says, and the image's install step really works.

No Docker engine runs here, so the Dockerfile's pip install is replayed in a fresh virtualenv instead.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_the_four_services_with_secrets_from_the_environment() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"wordpress", "mariadb", "postgres", "sidecar", "reconcile", "worker"} <= set(services)
    assert services["worker"]["command"] == ["refunder", "worker"]
    sidecar = services["sidecar"]
    assert sidecar["environment"]["REFUNDER_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "${REFUNDER_SHARED_SECRET" in sidecar["environment"]["REFUNDER_SHARED_SECRET"]
    assert services["reconcile"]["command"] == ["refunder", "reconcile", "--every", "300"]
    plugin_mount = [v for v in services["wordpress"]["volumes"] if "wp-plugin/refunder" in v]
    assert plugin_mount == ["../wp-plugin/refunder:/var/www/html/wp-content/plugins/refunder:ro"]
    extra = services["wordpress"]["environment"]["WORDPRESS_CONFIG_EXTRA"]
    assert "REFUNDER_SIDECAR_URL', 'http://sidecar:8765'" in extra
    for service in services.values():  # nothing listens beyond this machine by default
        assert all(port.startswith("127.0.0.1:") for port in service.get("ports", []))


def test_dockerfile_runs_gunicorn_as_a_user_with_a_health_check() -> None:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(r"^USER refunder$", text, re.M)
    assert "HEALTHCHECK" in text and "/health" in text
    assert 'CMD ["refunder", "serve"]' in text
    assert "pip install -c constraints.txt '.[postgres]'" in text


@pytest.mark.slow
def test_the_images_install_step_works(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-c", "constraints.txt", ".[postgres]"],
                   check=True, cwd=ROOT, timeout=600, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    env = {**os.environ, "REFUNDER_SHARED_SECRET": "x" * 40,
           "REFUNDER_DATABASE_URL": f"sqlite:///{tmp_path / 'image.db'}"}
    subprocess.run([str(venv / "bin" / "refunder"), "migrate"], check=True, env=env, cwd=tmp_path, timeout=60)
    with sqlite3.connect(tmp_path / "image.db") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"payments", "refunds", "alembic_version"} <= tables

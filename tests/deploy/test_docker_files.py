"""The deployment files: compose wires what the README says, and the image's install step really works.

No Docker engine runs here, so the Dockerfile's pip install is replayed in a fresh virtualenv instead.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from refunder.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_the_four_services_with_secrets_from_the_environment() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"wordpress", "mariadb", "postgres", "sidecar", "nginx", "reconcile", "worker"} <= set(services)
    assert services["worker"]["command"] == ["refunder", "worker"]
    sidecar = services["sidecar"]
    assert sidecar["environment"]["REFUNDER_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "${REFUNDER_SHARED_SECRET" in sidecar["environment"]["REFUNDER_SHARED_SECRET"]
    assert services["reconcile"]["command"] == ["refunder", "reconcile", "--every", "300"]
    plugin_mount = [v for v in services["wordpress"]["volumes"] if "wp-plugin/refunder" in v]
    assert plugin_mount == ["../wp-plugin/refunder:/var/www/html/wp-content/plugins/refunder:ro"]
    extra = services["wordpress"]["environment"]["WORDPRESS_CONFIG_EXTRA"]
    assert "REFUNDER_SIDECAR_URL', 'http://nginx:8080'" in extra
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
    venv, context = tmp_path / "venv", tmp_path / "context"
    context.mkdir()
    for name in ("pyproject.toml", "constraints.txt", "README.md"):  # what the Dockerfile copies; nothing built here
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(ROOT / "sidecar", context / "sidecar", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-c", "constraints.txt", ".[postgres]"],
                   check=True, cwd=context, timeout=600, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    env = {**os.environ, "REFUNDER_SHARED_SECRET": "x" * 40,
           "REFUNDER_DATABASE_URL": f"sqlite:///{tmp_path / 'image.db'}"}
    subprocess.run([str(venv / "bin" / "refunder"), "migrate"], check=True, env=env, cwd=tmp_path, timeout=60)
    with sqlite3.connect(tmp_path / "image.db") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"payments", "refunds", "alembic_version"} <= tables


def test_only_nginx_reaches_gunicorn_and_reads_each_request_whole_first() -> None:
    """Slow clients wait in nginx, not in gunicorn's threads (tests/deploy/test_nginx.py runs the file)."""
    services = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]
    sidecar, nginx = services["sidecar"], services["nginx"]
    assert "ports" not in sidecar and sidecar["expose"] == ["8765"]
    assert sidecar["environment"]["REFUNDER_TRUSTED_PROXIES"] == "1"  # webhook hosts as the provider called them
    assert nginx["image"].startswith("nginx:")
    assert nginx["volumes"] == ["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"]
    assert nginx["depends_on"] == {"sidecar": {"condition": "service_healthy"}}
    assert services["wordpress"]["depends_on"]["nginx"] == {"condition": "service_healthy"}
    config = (ROOT / "docker" / "nginx.conf").read_text()
    assert "server sidecar:8765;" in config and "listen 8080;" in config
    assert "REFUNDER_BIND=0.0.0.0:8765" in (ROOT / "docker" / "Dockerfile").read_text()
    for directive in ("client_header_timeout 10s;", "client_body_timeout 10s;", "proxy_request_buffering on;",
                      "proxy_read_timeout 60s;", "proxy_pass http://refunder_sidecar;"):
        assert directive in config
    limit = re.search(r"client_max_body_size (\d+)k;", config)
    assert limit and int(limit.group(1)) * 1024 == Settings(shared_secret="x" * 32).max_request_bytes

"""The plugin's PHPUnit suite on real WordPress + MariaDB, against the real sidecar."""

from __future__ import annotations

import os
import subprocess

from tests.wp.conftest import ROOT, SECRET, WordPress


def test_phpunit_suite(wordpress: WordPress) -> None:
    env = {**os.environ, "REFUNDER_WP_DIR": str(wordpress.directory),
           "REFUNDER_TEST_SIDECAR_URL": wordpress.sidecar_url, "REFUNDER_TEST_SIDECAR_SECRET": SECRET}
    # --stderr keeps stdout empty, so WordPress can still "send" the HTTP status of an admin-ajax answer.
    result = subprocess.run(["phpunit", "--stderr", "-c", str(ROOT / "tests" / "wp" / "phpunit.xml")], env=env,
                            capture_output=True, text=True, timeout=600)
    print(result.stderr[-8000:])
    assert result.returncode == 0, result.stderr[-8000:] + result.stdout[-2000:]
    assert "OK (" in result.stderr
    assert wordpress.php_problems() == []

"""The plugin's PHPUnit suite on real WordPress + MariaDB, against the real sidecar, in each order storage."""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from collections import defaultdict
from pathlib import Path

from tests.wp.conftest import ROOT, SECRET, WordPress


def skipped(teamcity_log: Path) -> dict[str, list[str]]:
    """PHPUnit's skipped tests by reason, from its TeamCity log (the one that keeps the reasons)."""
    reasons: dict[str, list[str]] = defaultdict(list)
    for name, message in re.findall(r"##teamcity\[testIgnored name='((?:[^'|]|\|.)*)' message='((?:[^'|]|\|.)*)'",
                                    teamcity_log.read_text()):
        reasons[re.sub(r"\|(.)", r"\1", message)].append(name)
    return reasons


def test_phpunit_suite(wordpress: WordPress, tmp_path: Path) -> None:
    env = {**os.environ, "REFUNDER_WP_DIR": str(wordpress.directory),
           "REFUNDER_TEST_SIDECAR_URL": wordpress.sidecar_url, "REFUNDER_TEST_SIDECAR_SECRET": SECRET}
    log = tmp_path / "phpunit.teamcity"
    # --stderr keeps stdout empty, so WordPress can still "send" the HTTP status of an admin-ajax answer.
    result = subprocess.run(["phpunit", "--stderr", "--log-teamcity", str(log), "-c",
                             str(ROOT / "tests" / "wp" / "phpunit.xml")], env=env,
                            capture_output=True, text=True, timeout=600)
    print(result.stderr[-8000:])
    assert result.returncode == 0, result.stderr[-8000:] + result.stdout[-2000:]
    assert re.search(r"^OK[ ,]", result.stderr, re.MULTILINE)
    for reason, tests in skipped(log).items():  # e.g. the gateway plugins, which only ../shared/wordpress has
        warnings.warn(f"PHPUnit skipped {len(tests)} ({', '.join(tests)}): {reason}", stacklevel=1)
    assert wordpress.php_problems() == []

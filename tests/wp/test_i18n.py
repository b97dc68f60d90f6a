"""The Norwegian catalogue covers every string in the code, and the shipped .mo is compiled from it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.any_storage
LANGUAGES = Path(__file__).resolve().parents[2] / "wp-plugin" / "refunder" / "languages"


def test_every_string_is_translated(wordpress: object) -> None:  # wordpress: gettext comes with its packages
    subprocess.run(["msgcmp", str(LANGUAGES / "refunder-nb_NO.po"), str(LANGUAGES / "refunder.pot")], check=True)
    stats = subprocess.run(["msgfmt", "--statistics", "-o", "/dev/null", str(LANGUAGES / "refunder-nb_NO.po")],
                           capture_output=True, text=True, check=True).stderr
    assert "fuzzy" not in stats and "untranslated" not in stats


def test_mo_is_compiled_from_the_po(wordpress: object, tmp_path: Path) -> None:
    compiled = tmp_path / "nb.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(LANGUAGES / "refunder-nb_NO.po")], check=True)
    assert compiled.read_bytes() == (LANGUAGES / "refunder-nb_NO.mo").read_bytes()


@pytest.mark.parametrize("needle", ["Refunder", "Gi begrunnelsen for refusjonen."])
def test_catalogue_has_the_button(needle: str) -> None:
    assert needle in (LANGUAGES / "refunder-nb_NO.po").read_text(encoding="utf-8")

"""The plugin's own PHP checks (scripts/plugin-checks.php) find what they are for, and the plugin passes them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("php") is None,
                                reason="php is not installed (scripts/lint.sh installs it)")

BAD = """<?php
class Bad_Thing {
	public static function register() {
		add_action( 'wp_ajax_bad_thing', array( __CLASS__, 'handle' ) );
		add_action( 'admin_post_half_thing', array( __CLASS__, 'half' ) );
		add_action( 'wp_ajax_nopriv_open_thing', array( __CLASS__, 'handle' ) );
		add_filter( "handle_bulk_actions-edit-shop_order", array( __CLASS__, 'bulk' ), 10, 3 );
	}
	public static function handle() {
		echo $_GET['x'];
		_e( 'Hello', 'refunder' );
		echo esc_html__( 'Hi', 'other' );
		echo esc_html( __( 'No domain' ) );
		printf( '<b>%s</b>', $name );
		wp_die( $message );
		?><p><?= $raw ?></p><?php
	}
	public static function half() {
		self::guard();
		echo esc_html( __( 'Fine', 'refunder' ) );
	}
	public static function bulk( $to, $action, $ids ) {
		return $to;
	}
	private static function guard() {
		if ( ! current_user_can( 'edit_shop_orders' ) ) {
			wp_die( esc_html__( 'No.', 'refunder' ), 403 );
		}
	}
}
"""

GOOD = """<?php
class Good_Thing {
	public static function register() {
		add_action( 'wp_ajax_good_thing', array( __CLASS__, 'handle' ) );
	}
	public static function handle() {
		self::guard();
		echo '<p>' . esc_html( $name ) . '</p>';
		echo $ready ? '1' : '0';
		echo (int) $count . esc_attr( $x ) . REFUNDER_VERSION;
		printf( '<a href="%1$s">%2$s</a>', esc_url( $url ), esc_html__( 'Open', 'refunder' ) );
		echo $html; // phpcs:ignore WordPress.Security.EscapeOutput -- built from escaped parts above.
		echo Refunder_Money::format( 100, 'NOK', 2 );
		esc_html_e( 'Done', 'refunder' );
		wp_die( esc_html( $why ), 403 );
	}
	private static function guard() {
		if ( ! current_user_can( 'x' ) || ! check_ajax_referer( 'y', 'nonce', false ) ) {
			wp_die( esc_html__( 'No.', 'refunder' ), 403 );
		}
	}
}
"""


def findings(tmp_path: Path, source: str) -> list[str]:
    (tmp_path / "thing.php").write_text(source)
    result = subprocess.run(["php", str(ROOT / "scripts" / "plugin-checks.php"), str(tmp_path)],
                            capture_output=True, text=True, check=False)
    found = [line.split(": ", 1)[1] for line in result.stderr.splitlines()]
    assert result.returncode == (1 if found else 0), result.stdout + result.stderr
    return found


def test_what_the_checks_find(tmp_path: Path) -> None:
    assert sorted(findings(tmp_path, BAD)) == sorted([
        "wp_ajax_nopriv_open_thing is open to visitors who are not logged in",
        "echo prints something unescaped",
        "_e() prints a translation unescaped: use esc_html_e() or esc_attr_e()",
        "esc_html__() without the text domain 'refunder'",
        "__() without the text domain 'refunder'",
        "printf() argument 2 is printed unescaped",
        "wp_die() prints its message unescaped",
        "<?= prints something unescaped",
        "wp_ajax_bad_thing (Bad_Thing::handle) checks no capability",
        "wp_ajax_bad_thing (Bad_Thing::handle) checks no nonce",
        "admin_post_half_thing (Bad_Thing::half) checks no nonce",
        "handle_bulk_actions-edit-shop_order (Bad_Thing::bulk) checks no capability",
    ])


def test_safe_code_passes(tmp_path: Path) -> None:
    assert findings(tmp_path, GOOD) == []


def test_the_plugin_passes() -> None:
    result = subprocess.run(["php", str(ROOT / "scripts" / "plugin-checks.php"), str(ROOT / "wp-plugin" / "refunder")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "14 admin actions, 0 findings" in result.stdout

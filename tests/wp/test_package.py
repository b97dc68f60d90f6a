"""The installable zip: reproducible, only the plugin's files; it installs, activates, deactivates, uninstalls."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.fakes.sidecar import free_port
from tests.wp.conftest import ROOT, SOURCES, WordPress


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = subprocess.run([str(ROOT / "scripts" / "build-plugin.sh")], check=True, capture_output=True, text=True,
                           cwd=ROOT).stdout.strip()
    return ROOT / built


def test_zip_is_reproducible_and_holds_only_the_plugin(package: Path) -> None:
    first = package.read_bytes()
    subprocess.run([str(ROOT / "scripts" / "build-plugin.sh")], check=True, capture_output=True, cwd=ROOT)
    assert package.read_bytes() == first
    names = zipfile.ZipFile(package).namelist()
    assert all(name.startswith("refunder/") for name in names)
    for needed in ("refunder/refunder.php", "refunder/readme.txt", "refunder/uninstall.php",
                   "refunder/languages/refunder-nb_NO.mo", "refunder/assets/refunder-admin.js"):
        assert needed in names
    assert not [n for n in names if "test" in n.lower() or n.endswith((".pyc", ".orig"))]


def test_zip_installs_activates_deactivates_and_uninstalls(package: Path,
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("wordpress-zip")
    env = {**os.environ, **SOURCES.site_env("hpos"), "W": str(directory), "PORT": str(free_port()),
           "DBPORT": str(free_port()), "PLUGIN_ZIP": str(package)}
    subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "up"], check=True, env=env, timeout=900,
                   capture_output=True)
    try:
        wp = WordPress("", directory, "")
        assert not (directory / "docroot/wp-content/plugins/refunder").is_symlink()
        assert wp.eval("echo REFUNDER_VERSION, ' ', is_plugin_active('refunder/refunder.php') ? 'active' : '-';") \
            == "0.1.0 active"
        wp.eval("update_option('refunder_settings', array('url' => 'x', 'secret' => 'y'));")
        count = ("global $wpdb; $n = 0; foreach (array($wpdb->postmeta, $wpdb->prefix . 'wc_orders_meta') as $t)"
                 " { if ($wpdb->get_var(\"SHOW TABLES LIKE '$t'\")) { $n += (int) $wpdb->get_var(\"SELECT COUNT(*)"
                 " FROM $t WHERE meta_key LIKE '{}'\"); } } echo $n;")
        reviews, held = count.replace("{}", "_refunder_review_%"), count.replace("{}", "_refunder_held_rest")

        def on_orders(key: str) -> None:  # legacy meta; HPOS meta as well with WooCommerce
            wp.eval(f"global $wpdb; add_post_meta(wp_insert_post(array('post_title' => 'o')), '{key}', 'x');"
                    " $t = $wpdb->prefix . 'wc_orders_meta'; if ($wpdb->get_var(\"SHOW TABLES LIKE '$t'\")) {"
                    f" $wpdb->insert($t, array('order_id' => 1, 'meta_key' => '{key}', 'meta_value' => 'x')); }}")

        on_orders("_refunder_review_t1")
        on_orders("_refunder_held_rest")
        assert wp.eval(reviews) in ("1", "2") and wp.eval(held) == wp.eval(reviews)
        wp.eval("deactivate_plugins('refunder/refunder.php');")
        assert wp.eval(reviews) == "0"  # their expiry actions are gone with the deactivation
        assert wp.eval(held) in ("1", "2")  # booked when Refunder is active again
        on_orders("_refunder_review_t2")  # as after a silent deactivation
        assert wp.eval("echo delete_plugins(array('refunder/refunder.php')) === true ? 'deleted' : 'kept';") \
            == "deleted"
        assert wp.eval("var_export(get_option('refunder_settings', 'gone')); echo ' ';"
                       " var_export(get_role('administrator')->has_cap('refunder_refund_orders'));") == "'gone' false"
        assert (wp.eval(reviews), wp.eval(held)) == ("0", "0")
        assert not (directory / "docroot/wp-content/plugins/refunder").exists()
        assert wp.php_problems() == []
    finally:
        subprocess.run([str(ROOT / "scripts" / "wp-env.sh"), "down"], env=env, timeout=60)

#!/usr/bin/env bash
# A real WordPress + MariaDB under `php -S` for the plugin's tests (Debian's packages installed if missing).
#   scripts/wp-env.sh up     W=/tmp/refunder-wp PORT=8089 DBPORT=3399 [WP_TREE=/path/to/wordpress]
#                            [WC_SRC=/path/to/woocommerce STORAGE=hpos|legacy] [GATEWAYS="/path/woo-vipps-6.0.5 ..."]
#                            [PLUGIN_ZIP=dist/refunder-0.1.0.zip] [WORKERS=12]
#   scripts/wp-env.sh down
# Installs WordPress (WP_TREE, default Debian's), admin / admin-Pass-123, activates WooCommerce (a copy of the real
# tree in WC_SRC with its tables and order storage set as STORAGE says, HPOS sync off; otherwise the project's
# double in tests/wp/woocommerce-double) and the Refunder plugin from wp-plugin/refunder; copies each GATEWAYS
# plugin tree to wp-content/plugins/<its name without version> without activating it; adds a shop manager
# (kari / kari-Pass-123) and an editor (ola / ola-Pass-123). tests/wp/sources.py finds ../shared/wordpress.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${W:-/tmp/refunder-wp}; PORT=${PORT:-8089}; DBPORT=${DBPORT:-3399}; WP_TREE=${WP_TREE:-/usr/share/wordpress}
URL="http://127.0.0.1:$PORT"

down() {
  for f in php-server mariadbd; do
    [ -f "$W/run/$f.pid" ] && kill -- -"$(cat "$W/run/$f.pid")" 2>/dev/null || true
  done
  for _ in $(seq 1 50); do [ -S "$W/run/mysqld.sock" ] || break; sleep 0.1; done
}

if [ "${1:-up}" = down ]; then down; exit 0; fi

if ! command -v php >/dev/null || ! command -v mariadbd >/dev/null || [ ! -f "$WP_TREE/wp-settings.php" ] \
   || ! command -v phpunit >/dev/null; then
  echo "wp-env: installing php, mariadb, wordpress and phpunit from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends php-cli php-mysql php-curl php-xml php-mbstring php-intl php-zip \
    mariadb-server mariadb-client wordpress phpunit gettext >/dev/null
fi

down
rm -rf "$W"; mkdir -p "$W/db" "$W/run" "$W/bin"
# An `up` that fails half-way stops what it started (a MariaDB server, PHP's), which nobody would stop otherwise.
trap 'rc=$?; if [ "$rc" -ne 0 ]; then echo "wp-env: up failed ($rc), stopping what it started" >&2; down; fi' EXIT
mariadb-install-db --no-defaults --datadir="$W/db" --user=root --auth-root-authentication-method=normal \
  --skip-test-db >/dev/null
setsid mariadbd --no-defaults --datadir="$W/db" --user=root --socket="$W/run/mysqld.sock" --port="$DBPORT" \
  --bind-address=127.0.0.1 --pid-file="$W/run/mysqld.pid" --log-error="$W/run/mysqld.err" --skip-log-bin \
  --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 </dev/null >/dev/null 2>&1 &
echo $! > "$W/run/mariadbd.pid"
for _ in $(seq 1 100); do mariadb-admin --no-defaults -S "$W/run/mysqld.sock" -uroot ping >/dev/null 2>&1 && break; sleep 0.1; done
mariadb --no-defaults -S "$W/run/mysqld.sock" -uroot -e \
  "CREATE DATABASE wp; CREATE USER 'wp'@'127.0.0.1' IDENTIFIED BY 'wppass'; GRANT ALL ON wp.* TO 'wp'@'127.0.0.1';"

cp -rL "$WP_TREE" "$W/docroot"; rm -f "$W/docroot/wp-config.php" "$W/docroot/.htaccess"
mkdir -p "$W/docroot/wp-content/mu-plugins" "$W/docroot/wp-content/uploads" "$W/docroot/wp-content/plugins"
cat > "$W/docroot/wp-config.php" <<PHP
<?php
define('DB_NAME','wp'); define('DB_USER','wp'); define('DB_PASSWORD','wppass'); define('DB_HOST','127.0.0.1:$DBPORT');
define('DB_CHARSET','utf8mb4'); define('DB_COLLATE','');
foreach (array('AUTH_KEY','SECURE_AUTH_KEY','LOGGED_IN_KEY','NONCE_KEY','AUTH_SALT','SECURE_AUTH_SALT','LOGGED_IN_SALT','NONCE_SALT') as \$k) define(\$k, 'test-'.\$k);
\$table_prefix = 'wp_';
define('WP_HOME','$URL'); define('WP_SITEURL','$URL');
define('WP_DEBUG', true); define('WP_DEBUG_LOG', '$W/debug.log'); define('WP_DEBUG_DISPLAY', false);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true); define('WP_AUTO_UPDATE_CORE', false);
define('DISABLE_WP_CRON', true); define('FS_METHOD', 'direct');
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
PHP
cat > "$W/docroot/wp-content/mu-plugins/test-mail-capture.php" <<PHP
<?php
add_filter('pre_wp_mail', function (\$null, \$atts) {
  file_put_contents('$W/mail.jsonl', json_encode(\$atts) . "\n", FILE_APPEND); return true; }, 10, 2);
PHP
cat > "$W/docroot/wp-content/mu-plugins/test-offline.php" <<'PHP'
<?php
// No network here: answer WordPress' update checks locally instead of warning about WordPress.org.
foreach (array('update_core', 'update_plugins', 'update_themes') as $t) {
  add_filter("pre_site_transient_$t", function () { return (object) array('last_checked' => time(), 'version_checked' => get_bloginfo('version'), 'updates' => array(), 'response' => array(), 'translations' => array()); });
}
PHP
cat > "$W/router.php" <<'PHP'
<?php
$root = $_SERVER['DOCUMENT_ROOT'];
$path = urldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
if ($path !== '/' && file_exists($root . $path) && !is_dir($root . $path)) return false;
if (is_dir($root . $path) && file_exists($root . rtrim($path, '/') . '/index.php')) {
  $_SERVER['SCRIPT_NAME'] = rtrim($path, '/') . '/index.php'; $_SERVER['SCRIPT_FILENAME'] = $root . $_SERVER['SCRIPT_NAME'];
  chdir(dirname($_SERVER['SCRIPT_FILENAME'])); require $_SERVER['SCRIPT_FILENAME']; return true;
}
$_SERVER['SCRIPT_NAME'] = '/index.php'; $_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
require $root . '/index.php';
PHP
cat > "$W/bin/wp-eval.php" <<PHP
<?php
\$_SERVER += array('HTTP_HOST'=>'127.0.0.1:$PORT','SERVER_NAME'=>'127.0.0.1','REQUEST_URI'=>'/','REQUEST_METHOD'=>'GET','SERVER_PROTOCOL'=>'HTTP/1.1','REMOTE_ADDR'=>'127.0.0.1');
if (getenv('WP_INSTALLING_CLI')) { define('WP_INSTALLING', true); }
require '$W/docroot/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
if (!wp_installing()) wp_set_current_user(1);
\$GLOBALS['wp_eval_args'] = array_slice(\$argv, 2);
require \$argv[1];
PHP
cat > "$W/bin/install.php" <<'PHP'
<?php
wp_install('Refunder test shop', 'admin', 'admin@example.com', false, '', 'admin-Pass-123');
update_option('permalink_structure', '/%postname%/');
PHP
WP_INSTALLING_CLI=1 php "$W/bin/wp-eval.php" "$W/bin/install.php"

if [ -n "${WC_SRC:-}" ]; then
  cp -r "$WC_SRC" "$W/docroot/wp-content/plugins/woocommerce"
  for tree in ${GATEWAYS:-}; do
    cp -r "$tree" "$W/docroot/wp-content/plugins/$(basename "$tree" | sed -E 's/-[0-9][0-9.]*$//')"
  done
else
  ln -s "$ROOT/tests/wp/woocommerce-double" "$W/docroot/wp-content/plugins/woocommerce"
fi
if [ -n "${PLUGIN_ZIP:-}" ]; then  # the built, installable plugin instead of the source tree
  python3 -m zipfile -e "$PLUGIN_ZIP" "$W/docroot/wp-content/plugins/"
else
  ln -s "$ROOT/wp-plugin/refunder" "$W/docroot/wp-content/plugins/refunder"
fi
cat > "$W/bin/setup.php" <<'PHP'
<?php
foreach (array('woocommerce/woocommerce.php', 'refunder/refunder.php') as $plugin) {
  $r = activate_plugin($plugin);
  if (is_wp_error($r)) { fwrite(STDERR, "$plugin: " . $r->get_error_message() . "\n"); exit(1); }
}
update_option('woocommerce_onboarding_profile', array('skipped' => true));
// A Norwegian shop: prices as "1 250,00 kr".
foreach (array('woocommerce_currency' => 'NOK', 'woocommerce_price_decimal_sep' => ',', 'woocommerce_price_thousand_sep' => ' ',
  'woocommerce_currency_pos' => 'right_space', 'woocommerce_price_num_decimals' => '2', 'woocommerce_default_country' => 'NO') as $k => $v) {
  update_option($k, $v);
}
delete_transient('_wc_activation_redirect');
if (!get_role('shop_manager')) { add_role('shop_manager', 'Shop manager', get_role('editor')->capabilities); }
wp_insert_user(array('user_login' => 'kari', 'user_pass' => 'kari-Pass-123', 'display_name' => 'Kari Nordmann', 'role' => 'shop_manager', 'user_email' => 'kari@example.com'));
wp_insert_user(array('user_login' => 'ola', 'user_pass' => 'ola-Pass-123', 'display_name' => 'Ola', 'role' => 'editor', 'user_email' => 'ola@example.com'));
$storage = getenv('STORAGE');
if ($storage) {  // a real WooCommerce: its tables, and the order storage asked for (HPOS tables exist in both)
  $sync = wc_get_container()->get(Automattic\WooCommerce\Internal\DataStores\Orders\DataSynchronizer::class);
  if (WC_Install::verify_base_tables(false)) { WC_Install::install(); }
  update_option($sync::ORDERS_DATA_SYNC_ENABLED_OPTION, 'no');
  if (!$sync->check_orders_table_exists() && !$sync->create_database_tables()) { fwrite(STDERR, "HPOS tables missing\n"); exit(1); }
  update_option(Automattic\WooCommerce\Internal\DataStores\Orders\CustomOrdersTableController::CUSTOM_ORDERS_TABLE_USAGE_ENABLED_OPTION, 'hpos' === $storage ? 'yes' : 'no');
  $missing = WC_Install::verify_base_tables(false);
  if ($missing || Automattic\WooCommerce\Utilities\OrderUtil::custom_orders_table_usage_is_enabled() !== ('hpos' === $storage)) {
    fwrite(STDERR, "WooCommerce set-up failed: storage $storage, missing tables " . implode(', ', $missing) . "\n"); exit(1);
  }
}
echo 'WooCommerce ' . WC()->version . ($storage ? " ($storage order storage)" : '') . ", Refunder " . REFUNDER_VERSION . " active\n";
PHP
php "$W/bin/wp-eval.php" "$W/bin/setup.php"
# Action Scheduler's move into its own tables, which WP-Cron runs in a shop's first minutes: until it has, the
# store is ActionScheduler_HybridStore, whose "unique" actions behave unlike a live shop's ActionScheduler_DBStore.
cat > "$W/bin/scheduler.php" <<'PHP'
<?php
if (class_exists('ActionScheduler_DataController') && !ActionScheduler_DataController::is_migration_complete()) {
  (new Action_Scheduler\Migration\Scheduler())->run_migration();
  if (!ActionScheduler_DataController::is_migration_complete()) { fwrite(STDERR, "Action Scheduler's migration did not complete\n"); exit(1); }
}
PHP
php "$W/bin/wp-eval.php" "$W/bin/scheduler.php"

PHP_CLI_SERVER_WORKERS=${WORKERS:-12} setsid php -S "127.0.0.1:$PORT" -t "$W/docroot" "$W/router.php" </dev/null >"$W/php-server.log" 2>&1 &
echo $! > "$W/run/php-server.pid"
for _ in $(seq 1 50); do curl -fs -o /dev/null "$URL/wp-login.php" && break; sleep 0.1; done
echo "wp-env: $URL (admin / admin-Pass-123) in $W"

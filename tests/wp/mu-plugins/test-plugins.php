<?php
/**
 * Test site only: switch an installed plugin (e.g. a gateway plugin copied from ../shared/wordpress) on or off
 * by its folder name. A plugin activated here loads fully from the next request or process on (PHPUnit:
 * activate in setUpBeforeClass, run the tests with @runInSeparateProcess).
 */

/** The plugin's main file relative to wp-content/plugins, or null when it is not installed. */
function refunder_test_plugin_file( $slug ) {
	require_once ABSPATH . 'wp-admin/includes/plugin.php';
	$found = array_keys( get_plugins( '/' . $slug ) );
	return $found ? $slug . '/' . $found[0] : null;
}

/** @return true|WP_Error Activated (running its activation hook), or why not. */
function refunder_test_activate_plugin( $slug ) {
	$file = refunder_test_plugin_file( $slug );
	if ( ! $file ) {
		return new WP_Error( 'refunder_test_no_plugin', "$slug is not installed on this site" );
	}
	return is_plugin_active( $file ) ? true : ( activate_plugin( $file ) ?? true );
}

/**
 * Deactivating any plugin sends Action Scheduler back to its hybrid store until WP-Cron runs its migration
 * again; a live shop is there again within minutes, the test site at once (scripts/wp-env.sh does it too).
 */
function refunder_test_deactivate_plugin( $slug ) {
	$file = refunder_test_plugin_file( $slug );
	if ( $file ) {
		deactivate_plugins( $file );
		if ( class_exists( 'Action_Scheduler\Migration\Scheduler' ) ) {
			( new Action_Scheduler\Migration\Scheduler() )->run_migration();
		}
	}
}

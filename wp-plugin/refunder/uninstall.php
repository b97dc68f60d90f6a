<?php
/**
 * Removes Refunder's settings, capability and scheduled actions. Refund records stay (the refunds table, and the
 * keys on WooCommerce's refunds): they document refunds.
 *
 * @package Refunder
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'refunder_settings' );
foreach ( array( 'refunder_pending_orders', 'refunder_db_version', 'refunder_changes_since', 'refunder_sync_scheduled' ) as $option ) {
	delete_option( $option );
}
foreach ( array( 'refunder_legal_name', 'refunder_organisation_number', 'refunder_vat_registered', 'refunder_foretaksregisteret' ) as $option ) {
	delete_option( $option ); // the seller's details on credit notes (the notes themselves stay in the Refunder service).
}
foreach ( wp_roles()->role_objects as $role ) {
	$role->remove_cap( 'refunder_refund_orders' );
}
wp_clear_scheduled_hook( 'refunder_refresh_pending' );
if ( function_exists( 'as_unschedule_all_actions' ) ) {
	as_unschedule_all_actions( '', array(), 'refunder' );
}

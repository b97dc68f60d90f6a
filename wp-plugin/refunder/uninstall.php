<?php
/**
 * Removes Refunder's settings, capability, scheduled actions, the reviews still waiting for their confirm and a
 * rest held back on an order for Refunder to book. Refund records stay (the refunds table, and the keys on
 * WooCommerce's refunds): they document refunds.
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

// Reviews waiting for their confirm (also removed at deactivation, which may have been silent), and a rest held back
// for Refunder to book (Refunder_Held_Rest), which nobody books now.
require_once __DIR__ . '/includes/class-refunder-store.php';
require_once __DIR__ . '/includes/class-refunder-reviews.php';
require_once __DIR__ . '/includes/class-refunder-held-rest.php';
Refunder_Reviews::forget_all();
Refunder_Store::delete_order_meta( $GLOBALS['wpdb']->esc_like( Refunder_Held_Rest::META ) );

<?php
/**
 * Removes Refunder's settings, capability, scheduled actions and the reviews still waiting for their confirm. Refund
 * records stay (the refunds table, and the keys on WooCommerce's refunds): they document refunds.
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

// Reviews waiting for their confirm (Refunder_Reviews: 30 minutes at most) hold what their refund would have sent.
global $wpdb;
$refunder_reviews = $wpdb->esc_like( '_refunder_review_' ) . '%';
$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->postmeta} WHERE meta_key LIKE %s", $refunder_reviews ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
if ( $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->prefix . 'wc_orders_meta' ) ) ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery
	$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->prefix}wc_orders_meta WHERE meta_key LIKE %s", $refunder_reviews ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
}

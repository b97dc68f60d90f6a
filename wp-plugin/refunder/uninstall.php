<?php
/**
 * Removes Refunder's settings, capability and schedule. Refund records on orders stay: they document refunds.
 *
 * @package Refunder
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'refunder_settings' );
delete_option( 'refunder_pending_orders' );
foreach ( array( 'refunder_legal_name', 'refunder_organisation_number', 'refunder_vat_registered', 'refunder_foretaksregisteret' ) as $option ) {
	delete_option( $option ); // the seller's details on credit notes (the notes themselves stay in the Refunder service).
}
foreach ( wp_roles()->role_objects as $role ) {
	$role->remove_cap( 'refunder_refund_orders' );
}
wp_clear_scheduled_hook( 'refunder_refresh_pending' );

<?php
/**
 * Wiring: hooks, activation (grants the refund capability to administrators, creates the refunds table),
 * upgrades (the table brought up to date once), text domain.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Plugin {

	public static function boot() {
		self::load_textdomain();
		Refunder_Store::maybe_install();
		Refunder_Settings::register();
		Refunder_Payment_Mode::register();
		Refunder_Registration::register();
		Refunder_Order_Panel::register();
		Refunder_Reviews::register();
		Refunder_Ajax::register();
		Refunder_Books::register();
		Refunder_Follow_Up::register();
		Refunder_Status_Guard::register();
		Refunder_Stripe::register();
		Refunder_WooCommerce_Refunds::register();
		Refunder_Notices::register();
		Refunder_Bulk::register();
		Refunder_Event_Orders::register();
		Refunder_Credit_Notes::register();
		Refunder_Journal::register();
	}

	/**
	 * The catalogue for the current user's language (Norwegian: languages/refunder-nb_NO.mo), loaded when first
	 * used. Unloaded as reloadable: unloaded for good, a later language change (switching users, or locales)
	 * would leave the plugin in English.
	 */
	public static function load_textdomain() {
		unload_textdomain( 'refunder', true );
		load_plugin_textdomain( 'refunder', false, dirname( plugin_basename( REFUNDER_FILE ) ) . '/languages' );
	}

	public static function activate() {
		$admin = get_role( 'administrator' );
		if ( $admin ) {
			$admin->add_cap( REFUNDER_CAPABILITY );
		}
		Refunder_Store::install();
	}

	public static function deactivate() {
		if ( function_exists( 'as_unschedule_all_actions' ) ) {
			as_unschedule_all_actions( '', array(), Refunder_Follow_Up::GROUP );
		}
		delete_option( Refunder_Follow_Up::SYNC_SEEN );
		Refunder_Reviews::forget_all(); // their expiry actions are gone
	}
}

<?php
/**
 * Wiring: hooks, activation (grants the refund capability to administrators), text domain.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Plugin {

	public static function boot() {
		self::load_textdomain();
		Refunder_Settings::register();
		Refunder_Payment_Mode::register();
		Refunder_Order_Panel::register();
		Refunder_Ajax::register();
		Refunder_Cron::register();
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
		Refunder_Cron::schedule();
	}

	public static function deactivate() {
		Refunder_Cron::unschedule();
	}
}

<?php
/**
 * WP-Cron: every five minutes, ask the service about refunds that are not final yet.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Cron {

	const HOOK = 'refunder_refresh_pending';

	public static function register() {
		add_filter( 'cron_schedules', array( __CLASS__, 'schedules' ) ); // phpcs:ignore WordPress.WP.CronInterval -- five minutes on purpose.
		add_action( self::HOOK, array( __CLASS__, 'run' ) );
	}

	public static function schedules( $schedules ) {
		$schedules['refunder_five_minutes'] = array( 'interval' => 300, 'display' => __( 'Every five minutes (Refunder)', 'refunder' ) );
		return $schedules;
	}

	public static function schedule() {
		if ( ! wp_next_scheduled( self::HOOK ) ) {
			add_filter( 'cron_schedules', array( __CLASS__, 'schedules' ) );
			wp_schedule_event( time() + 300, 'refunder_five_minutes', self::HOOK );
		}
	}

	public static function unschedule() {
		wp_clear_scheduled_hook( self::HOOK );
	}

	/** @return int orders checked */
	public static function run() {
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			wc_get_logger()->warning( 'Refunder: refunds in flight not followed up: ' . $client->get_error_message(), array( 'source' => 'refunder' ) );
			return 0;
		}
		$ids = Refunder_Ledger::pending_orders();
		foreach ( $ids as $id ) {
			$order = wc_get_order( $id );
			if ( $order ) {
				Refunder_Ledger::refresh_pending( $order, $client );
			}
		}
		return count( $ids );
	}
}

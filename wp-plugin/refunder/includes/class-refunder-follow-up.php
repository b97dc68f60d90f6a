<?php
/**
 * Background work through WooCommerce's bundled Action Scheduler (group "refunder", visible under
 * WooCommerce → Status → Scheduled Actions):
 *
 * - refunder_follow_up: every minute while any refund is in flight or not yet in WooCommerce's books, none
 *   while nothing is: asks the service what changed since the last time (one call) and brings the books in
 *   line, so a refund the service settles is final in WordPress within two minutes with no one on the page;
 * - refunder_sync: the same once an hour, always (a refund that fails days after it was refunded, or one
 *   whose answer never reached WordPress);
 * - refunder_record: a WooCommerce record that failed, tried again with backoff (1, 2, 4 … 60 minutes);
 * - refunder_report: a WooCommerce refund not made by Refunder, reported to the service again while it is away.
 *
 * Action Scheduler runs due actions from WP-Cron: on a site with DISABLE_WP_CRON, have the system's cron
 * call wp-cron.php every minute.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Follow_Up {

	const GROUP     = 'refunder';
	const FOLLOW_UP = 'refunder_follow_up';
	const SYNC      = 'refunder_sync';
	const RECORD    = 'refunder_record';
	const REPORT    = 'refunder_report';
	const EVERY     = 60;
	const CURSOR    = 'refunder_changes_since'; // option: the service's time of the newest change seen
	const OVERLAP   = 120; // seconds asked again each time: a change committed late is still seen
	const SYNC_SEEN = 'refunder_sync_scheduled'; // option: when the hourly sync was last seen scheduled

	public static function register() {
		add_action( self::FOLLOW_UP, array( __CLASS__, 'run' ) );
		add_action( self::SYNC, array( __CLASS__, 'run' ) );
		add_action( self::RECORD, array( __CLASS__, 'record' ) );
		add_action( 'init', array( __CLASS__, 'schedule_sync' ) );
	}

	/**
	 * The hourly sync, kept scheduled. Looked at no more than once an hour (an autoloaded option holds when),
	 * so page loads do not query Action Scheduler; a sync that stopped (cancelled under Scheduled Actions, or
	 * a run that died: Action Scheduler then schedules no next one) is scheduled again within the hour.
	 */
	public static function schedule_sync() {
		if ( ! function_exists( 'as_has_scheduled_action' ) || time() - (int) get_option( self::SYNC_SEEN, 0 ) < HOUR_IN_SECONDS ) {
			return;
		}
		if ( ! as_has_scheduled_action( self::SYNC, null, self::GROUP ) ) {
			as_schedule_recurring_action( time() + HOUR_IN_SECONDS, HOUR_IN_SECONDS, self::SYNC, array(), self::GROUP, true );
		}
		update_option( self::SYNC_SEEN, time(), true );
	}

	/** Follow up in a minute (unless a follow-up is waiting already). */
	public static function watch() {
		if ( ! self::waiting( self::FOLLOW_UP ) ) {
			as_schedule_single_action( time() + self::EVERY, self::FOLLOW_UP, array(), self::GROUP );
		}
	}

	private static function waiting( $hook, $args = null ) {
		$query = array( 'hook' => $hook, 'group' => self::GROUP, 'status' => ActionScheduler_Store::STATUS_PENDING, 'per_page' => 1 );
		return (bool) as_get_scheduled_actions( null === $args ? $query : $query + array( 'args' => $args ), 'ids' );
	}

	/**
	 * A failed WooCommerce record, tried again after $delay seconds (its earlier retry replaced). Not "unique":
	 * Action Scheduler's store takes that as one waiting action per hook, whatever its args, so one refund's
	 * retry would keep every other refund's out.
	 */
	public static function retry_record( $refund_id, $delay ) {
		as_unschedule_all_actions( self::RECORD, array( $refund_id ), self::GROUP );
		as_schedule_single_action( time() + $delay, self::RECORD, array( $refund_id ), self::GROUP );
	}

	/**
	 * A failed record's retry. Its time was set on the database's clock and the action's on PHP's, whose seconds
	 * need not turn together: run a moment early, it is put off to its time instead of waiting for the hourly sync.
	 */
	public static function record( $refund_id ) {
		$entry = Refunder_Store::get( $refund_id );
		if ( ! $entry ) {
			return;
		}
		$early = Refunder_Store::seconds_until_retry( $refund_id );
		if ( $early > 0 ) {
			self::retry_record( $refund_id, $early + 1 );
			return;
		}
		Refunder_Books::settle( $entry );
	}

	/**
	 * A WooCommerce refund (created or deleted) whose report to the service failed, reported again with backoff:
	 * one action per refund and event (not "unique", see retry_record).
	 */
	public static function retry_report( $wc_refund_id, $event, $attempt, $payment_id = '' ) {
		$delay = min( HOUR_IN_SECONDS, self::EVERY * 2 ** max( 0, $attempt - 1 ) );
		$args  = array( (int) $wc_refund_id, $event, $attempt + 1, $payment_id );
		if ( ! self::waiting( self::REPORT, $args ) ) {
			as_schedule_single_action( time() + $delay, self::REPORT, $args, self::GROUP );
		}
	}

	/**
	 * What changed at the service since the last time, into the books; then every refund still not in
	 * WooCommerce's books as it should be. Follows up again in a minute while anything is unsettled.
	 *
	 * @return int Refunds looked at.
	 */
	public static function run() {
		$client = Refunder_Client::configured();
		$seen   = 0;
		if ( ! is_wp_error( $client ) ) {
			$seen += self::changes( $client );
		}
		foreach ( Refunder_Store::unsettled() as $entry ) {
			Refunder_Books::settle( $entry );
			++$seen;
		}
		if ( Refunder_Store::anything_unsettled() ) {
			self::watch();
		}
		return $seen;
	}

	private static function changes( Refunder_Client $client ) {
		$since   = (int) get_option( self::CURSOR, 0 );
		$changes = $client->call( 'GET', '/v1/refund-changes?since=' . rawurlencode( gmdate( 'Y-m-d\TH:i:s\Z', max( 0, $since - self::OVERLAP ) ) ) );
		if ( is_wp_error( $changes ) ) {
			Refunder_Log::warning( 'follow-up could not ask the service: ' . $changes->get_error_message() );
			return 0;
		}
		foreach ( $changes['refunds'] as $refund ) {
			$known = Refunder_Store::get( $refund['id'] );
			if ( $known || ( 'requested' === $refund['kind'] && wc_get_order( (int) $refund['order_id'] ) ) ) {
				Refunder_Books::remember( $known ? $known['order_id'] : (int) $refund['order_id'], $refund );
			}
		}
		update_option( self::CURSOR, max( $since, strtotime( $changes['until'] ) ), false );
		return count( $changes['refunds'] );
	}
}

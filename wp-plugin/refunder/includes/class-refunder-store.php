<?php
/**
 * The plugin's table of Refunder refunds ({prefix}refunder_refunds): one row per refund at the Refunder
 * service, with what the panel shows and the state of its WooCommerce record. Every write is one SQL
 * statement, so concurrent PHP processes never lose each other's changes:
 *
 * - the service's answer is stored only if it is not older than the one stored (its updated_at);
 * - the WooCommerce record is claimed with a compare-and-set on the row (none, or failed and due, or a
 *   claim gone stale → claimed), so exactly one process creates the WooCommerce refund.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Store {

	const DB_VERSION = '4';
	const FINAL      = array( 'refunded', 'failed' );
	const STALE      = 600; // seconds after which a claim whose process died is taken over

	/** Record states: no WooCommerce refund yet; being created; created (or adopted); failed, retried; removed. */
	const NONE     = 'none';
	const CLAIMED  = 'claimed';
	const RECORDED = 'recorded';
	const FAILED   = 'failed';
	const REVERSED = 'reversed';

	public static function table() {
		global $wpdb;
		return $wpdb->prefix . 'refunder_refunds';
	}

	/** Creates or updates the table (dbDelta), on activation and when the stored version is older. */
	public static function install() {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table = self::table();
		dbDelta(
			"CREATE TABLE $table (
				refund_id varchar(40) NOT NULL,
				order_id bigint(20) unsigned NOT NULL,
				payment_id varchar(40) NOT NULL DEFAULT '',
				provider_label varchar(200) NOT NULL DEFAULT '',
				status varchar(16) NOT NULL,
				kind varchar(16) NOT NULL DEFAULT 'requested',
				via varchar(16) NOT NULL DEFAULT 'provider',
				amount_minor bigint(20) NOT NULL,
				currency char(3) NOT NULL,
				exponent tinyint(3) unsigned NULL,
				reason text NOT NULL,
				reason_internal tinyint(1) NOT NULL DEFAULT 0,
				actor varchar(200) NOT NULL DEFAULT '',
				actor_id bigint(20) unsigned NOT NULL DEFAULT 0,
				provider_reference varchar(100) NOT NULL DEFAULT '',
				failure text NOT NULL,
				refund_lines longtext NOT NULL,
				created_at datetime(6) NOT NULL,
				updated_at datetime(6) NOT NULL,
				wc_refund_id bigint(20) unsigned NOT NULL DEFAULT 0,
				record_state varchar(16) NOT NULL DEFAULT 'none',
				claim varchar(40) NOT NULL DEFAULT '',
				claimed_at datetime NULL,
				retry_at datetime NULL,
				attempts int(11) NOT NULL DEFAULT 0,
				last_error text NOT NULL,
				PRIMARY KEY  (refund_id),
				KEY order_id (order_id),
				KEY status (status),
				KEY record_state (record_state)
			) {$wpdb->get_charset_collate()};"
		);
		self::migrate();
		self::fill_exponents();
		update_option( 'refunder_db_version', self::DB_VERSION, true );
	}

	/** On every load: an upgraded plugin brings its table up to date once (no activation needed). */
	public static function maybe_install() {
		if ( self::DB_VERSION !== get_option( 'refunder_db_version' ) ) {
			self::install();
		}
	}

	/**
	 * Refunds kept by earlier versions in the order meta _refunder_refunds (and the option index of orders with
	 * refunds in flight) move into the table once, then the meta and option are removed; their WP-Cron
	 * follow-up gives way to Action Scheduler's (Refunder_Follow_Up).
	 */
	private static function migrate() {
		$ids = array_unique(
			array_merge(
				array_map( 'intval', (array) get_option( 'refunder_pending_orders', array() ) ),
				self::orders_with_meta( '_refunder_refunds' )
			)
		);
		foreach ( $ids as $order_id ) {
			$order = wc_get_order( $order_id );
			if ( ! $order ) {
				continue;
			}
			foreach ( (array) $order->get_meta( '_refunder_refunds' ) as $entry ) {
				self::insert_migrated( $order_id, (array) $entry );
			}
			$order->delete_meta_data( '_refunder_refunds' );
			$order->delete_meta_data( '_refunder_pending' );
			$order->save();
		}
		delete_option( 'refunder_pending_orders' );
		wp_clear_scheduled_hook( 'refunder_refresh_pending' );
	}

	/**
	 * Rows kept before the table held the currency's digits take them from the order's payment as the service
	 * last described it (its money objects carry them); the service's next answer about a refund fills the rest.
	 */
	private static function fill_exponents() {
		global $wpdb;
		$table = self::table();
		foreach ( array_map( 'intval', $wpdb->get_col( "SELECT DISTINCT order_id FROM $table WHERE exponent IS NULL" ) ) as $order_id ) { // phpcs:ignore WordPress.DB
			$order   = wc_get_order( $order_id );
			$payment = $order ? Refunder_Payments::known( $order ) : null;
			if ( isset( $payment['captured']['exponent'], $payment['captured']['currency'] ) ) {
				$wpdb->query( $wpdb->prepare( "UPDATE $table SET exponent = %d WHERE order_id = %d AND currency = %s AND exponent IS NULL", (int) $payment['captured']['exponent'], $order_id, $payment['captured']['currency'] ) ); // phpcs:ignore WordPress.DB
			}
		}
	}

	/** Whether WooCommerce keeps orders in its own tables (HPOS) rather than posts. */
	public static function hpos() {
		return class_exists( '\Automattic\WooCommerce\Utilities\OrderUtil' ) && \Automattic\WooCommerce\Utilities\OrderUtil::custom_orders_table_usage_is_enabled();
	}

	/**
	 * Deletes the order meta whose key matches a LIKE pattern, from both order storages (WooCommerce may keep
	 * both in sync) by SQL: at deactivation and uninstall, when WooCommerce may be inactive.
	 */
	public static function delete_order_meta( $pattern ) {
		global $wpdb;
		$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->postmeta} WHERE meta_key LIKE %s", $pattern ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		if ( $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->prefix . 'wc_orders_meta' ) ) ) { // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->prefix}wc_orders_meta WHERE meta_key LIKE %s", $pattern ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
		}
	}

	/** @return int[] Orders carrying a meta key, read from the order storage WooCommerce uses. */
	private static function orders_with_meta( $key ) {
		global $wpdb;
		$sql = self::hpos()
			? "SELECT DISTINCT order_id FROM {$wpdb->prefix}wc_orders_meta WHERE meta_key = %s"
			: "SELECT DISTINCT post_id FROM {$wpdb->postmeta} WHERE meta_key = %s";
		return array_map( 'intval', $wpdb->get_col( $wpdb->prepare( $sql, $key ) ) ); // phpcs:ignore WordPress.DB
	}

	private static function insert_migrated( $order_id, array $entry ) {
		global $wpdb;
		if ( empty( $entry['id'] ) ) {
			return;
		}
		$created  = self::utc( $entry['created_at'] ?? '' );
		$recorded = ! empty( $entry['wc_refund_id'] );
		$wpdb->query( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->prepare(
				'INSERT IGNORE INTO ' . self::table() . ' (refund_id, order_id, provider_label, status, amount_minor, currency, reason, actor, provider_reference, failure, refund_lines, created_at, updated_at, wc_refund_id, record_state, last_error)
				VALUES (%s, %d, %s, %s, %d, %s, %s, %s, %s, %s, %s, %s, %s, %d, %s, \'\')', // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
				$entry['id'],
				$order_id,
				(string) ( $entry['provider_label'] ?? '' ),
				(string) ( $entry['status'] ?? 'unknown' ),
				(int) ( $entry['amount'] ?? 0 ),
				(string) ( $entry['currency'] ?? '' ),
				(string) ( $entry['reason'] ?? '' ),
				(string) ( $entry['actor'] ?? '' ),
				(string) ( $entry['provider_reference'] ?? '' ),
				(string) ( $entry['failure'] ?? '' ),
				wp_json_encode( $entry['lines'] ?? array() ),
				$created,
				$created,
				$recorded ? (int) $entry['wc_refund_id'] : 0,
				$recorded ? self::RECORDED : self::NONE
			)
		);
	}

	/** A time from the service (ISO 8601) as UTC for the table, microseconds kept. */
	public static function utc( $iso ) {
		try {
			$time = new DateTimeImmutable( (string) $iso ?: 'now' );
		} catch ( Exception $e ) {
			$time = new DateTimeImmutable( 'now' );
		}
		return $time->setTimezone( new DateTimeZone( 'UTC' ) )->format( 'Y-m-d H:i:s.u' );
	}

	/**
	 * Stores the service's answer about a refund of the order, unless a newer answer is stored already.
	 *
	 * @param int         $order_id       The order.
	 * @param array       $refund         The refund as the service returned it.
	 * @param string|null $provider_label Who sends the money back, when known (kept otherwise).
	 */
	public static function save( $order_id, array $refund, $provider_label = null ) {
		global $wpdb;
		$table = self::table();
		$newer = 'VALUES(updated_at) >= updated_at';
		$facts = array( 'payment_id', 'status', 'kind', 'via', 'amount_minor', 'currency', 'reason', 'reason_internal', 'actor', 'actor_id', 'failure', 'refund_lines' );
		$set   = array_map( fn( $c ) => "$c = IF($newer, VALUES($c), $c)", $facts );
		$set[] = "provider_reference = IF(VALUES(provider_reference) <> '', VALUES(provider_reference), provider_reference)";
		$set[] = "provider_label = IF(VALUES(provider_label) <> '', VALUES(provider_label), provider_label)";
		$set[] = 'exponent = COALESCE(VALUES(exponent), exponent)'; // the currency's digits, as the service said them.
		$set[] = 'updated_at = GREATEST(updated_at, VALUES(updated_at))'; // last: the conditions above read the old one.
		$wpdb->query( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->prepare(
				"INSERT INTO $table (refund_id, order_id, payment_id, provider_label, status, kind, via, amount_minor, currency, exponent, reason, reason_internal, actor, actor_id, provider_reference, failure, refund_lines, created_at, updated_at, last_error)
				VALUES (%s, %d, %s, %s, %s, %s, %s, %d, %s, NULLIF(%d, -1), %s, %d, %s, %d, %s, %s, %s, %s, %s, '')
				ON DUPLICATE KEY UPDATE " . implode( ', ', $set ), // phpcs:ignore WordPress.DB.PreparedSQL
				$refund['id'],
				$order_id,
				(string) ( $refund['payment_id'] ?? '' ),
				(string) $provider_label,
				$refund['status'],
				(string) ( $refund['kind'] ?? 'requested' ),
				(string) ( $refund['via'] ?? 'provider' ),
				(int) $refund['amount']['value'],
				$refund['amount']['currency'],
				isset( $refund['amount']['exponent'] ) ? (int) $refund['amount']['exponent'] : -1,
				(string) $refund['reason'],
				empty( $refund['reason_internal'] ) ? 0 : 1,
				(string) ( $refund['actor']['name'] ?? '' ),
				absint( $refund['actor']['id'] ?? 0 ), // a WordPress user's id; 'system' and the like are 0.
				(string) ( $refund['provider_reference'] ?? '' ),
				empty( $refund['failure'] ) ? '' : wp_json_encode( $refund['failure'] ), // code, params, English: shown translated.
				wp_json_encode( $refund['lines'] ?? array() ),
				self::utc( $refund['created_at'] ?? '' ),
				self::utc( $refund['updated_at'] ?? ( $refund['created_at'] ?? '' ) )
			)
		);
	}

	/** @return array|null One refund as the table has it now (read from the database, past every cache). */
	public static function get( $refund_id ) {
		global $wpdb;
		$row = $wpdb->get_row( $wpdb->prepare( 'SELECT * FROM ' . self::table() . ' WHERE refund_id = %s', $refund_id ), ARRAY_A ); // phpcs:ignore WordPress.DB
		return $row ? self::entry( $row ) : null;
	}

	/** @return array<string, array> refund id => entry, oldest first */
	public static function for_order( $order_id ) {
		return self::select( 'order_id = %d ORDER BY created_at, refund_id', array( (int) $order_id ) );
	}

	/** @return array<string, array> refunds whose provider reference is this one (Stripe's re_…, Mollie's re_…). */
	public static function by_provider_reference( $order_id, $reference ) {
		return '' === (string) $reference ? array() : self::select( 'order_id = %d AND provider_reference = %s', array( (int) $order_id, $reference ) );
	}

	/**
	 * Refunds WordPress still has to hear about or to record: not final at the service, or refunded and not
	 * in WooCommerce's books (never recorded, a failed record that is due, or a claim whose process died).
	 *
	 * @return array<string, array>
	 */
	public static function unsettled( $limit = 200 ) {
		return self::select(
			"status NOT IN ('refunded', 'failed')
			OR ( status = 'refunded' AND ( record_state = 'none' OR ( record_state = 'failed' AND retry_at <= UTC_TIMESTAMP() ) OR ( record_state = 'claimed' AND claimed_at < UTC_TIMESTAMP() - INTERVAL %d SECOND ) ) )
			OR ( status = 'failed' AND record_state = 'recorded' )
			ORDER BY updated_at LIMIT %d",
			array( self::STALE, (int) $limit )
		);
	}

	/**
	 * Whether any refund is not final, refunded and not (being) recorded, or failed and still recorded: what the
	 * minute's follow-up is for. A failed record is retried by an action of its own.
	 */
	public static function anything_unsettled() {
		global $wpdb;
		return (bool) $wpdb->get_var( 'SELECT 1 FROM ' . self::table() . " WHERE status NOT IN ('refunded', 'failed') OR ( status = 'refunded' AND record_state IN ('none', 'claimed') ) OR ( status = 'failed' AND record_state = 'recorded' ) LIMIT 1" ); // phpcs:ignore WordPress.DB
	}

	private static function select( $where, array $args ) {
		global $wpdb;
		$rows = $wpdb->get_results( $wpdb->prepare( 'SELECT * FROM ' . self::table() . " WHERE $where", $args ), ARRAY_A ); // phpcs:ignore WordPress.DB
		$all  = array();
		foreach ( (array) $rows as $row ) {
			$all[ $row['refund_id'] ] = self::entry( $row );
		}
		return $all;
	}

	/** A row as the rest of the plugin reads it (the keys the panel has always used). */
	private static function entry( array $row ) {
		return array(
			'id'                 => $row['refund_id'],
			'order_id'           => (int) $row['order_id'],
			'payment_id'         => $row['payment_id'],
			'status'             => $row['status'],
			'kind'               => $row['kind'],
			'via'                => $row['via'],
			'amount'             => (int) $row['amount_minor'],
			'currency'           => $row['currency'],
			'exponent'           => null === $row['exponent'] ? null : (int) $row['exponent'], // the currency's digits, as the service said them
			'reason'             => $row['reason'],
			'reason_internal'    => (bool) $row['reason_internal'],
			'actor'              => $row['actor'],
			'actor_id'           => (int) $row['actor_id'],
			'provider_reference' => $row['provider_reference'],
			'provider_label'     => $row['provider_label'] ?: null,
			'failure'            => self::failure( $row['failure'] ),
			'lines'              => json_decode( $row['refund_lines'], true ) ?: array(),
			'created_at'         => $row['created_at'] . ' UTC',
			'wc_refund_id'       => (int) $row['wc_refund_id'],
			'record_state'       => $row['record_state'],
			'retry_at'           => $row['retry_at'],
			'attempts'           => (int) $row['attempts'],
			'last_error'         => $row['last_error'],
		);
	}

	/** The failure in the admin's language (stored as the service said it; rows migrated from meta hold text). */
	private static function failure( $stored ) {
		$said = json_decode( (string) $stored, true );
		return is_array( $said ) ? Refunder_Messages::of( $said ) : (string) $stored;
	}

	/**
	 * Claims the WooCommerce record of a refunded refund: true for exactly one process at a time.
	 *
	 * @return string|null The claim (pass it to recorded() or failed()), or null when another process has it
	 *                     or there is nothing to record.
	 */
	public static function claim( $refund_id ) {
		global $wpdb;
		$claim = wp_generate_uuid4();
		$won   = $wpdb->query( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			$wpdb->prepare(
				'UPDATE ' . self::table() . " SET record_state = 'claimed', claim = %s, claimed_at = UTC_TIMESTAMP(), attempts = attempts + 1
				WHERE refund_id = %s AND status = 'refunded' AND ( record_state = 'none'
					OR ( record_state = 'failed' AND retry_at <= UTC_TIMESTAMP() )
					OR ( record_state = 'claimed' AND claimed_at < UTC_TIMESTAMP() - INTERVAL %d SECOND ) )", // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
				$claim,
				$refund_id,
				self::STALE
			)
		);
		return 1 === $won ? $claim : null;
	}

	/** The claimed record is in WooCommerce's books (only while the claim is still this process's). */
	public static function recorded( $refund_id, $claim, $wc_refund_id ) {
		return self::finish( $refund_id, $claim, "record_state = 'recorded', wc_refund_id = %d, last_error = '', retry_at = NULL", array( (int) $wc_refund_id ) );
	}

	/** Seconds until a failed record is due again, on the database's clock (0: due, or not a failed record). */
	public static function seconds_until_retry( $refund_id ) {
		global $wpdb;
		$left = $wpdb->get_var( $wpdb->prepare( 'SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), retry_at) FROM ' . self::table() . " WHERE refund_id = %s AND record_state = 'failed'", $refund_id ) ); // phpcs:ignore WordPress.DB
		return max( 0, (int) $left );
	}

	/** The claimed record failed: retried at retry_at. */
	public static function failed( $refund_id, $claim, $error, $retry_in ) {
		return self::finish( $refund_id, $claim, "record_state = 'failed', last_error = %s, retry_at = UTC_TIMESTAMP() + INTERVAL %d SECOND", array( $error, (int) $retry_in ) );
	}

	private static function finish( $refund_id, $claim, $set, array $args ) {
		global $wpdb;
		$args = array_merge( $args, array( $refund_id, $claim ) );
		return 1 === $wpdb->query( $wpdb->prepare( 'UPDATE ' . self::table() . " SET $set, claim = '' WHERE refund_id = %s AND record_state = 'claimed' AND claim = %s", $args ) ); // phpcs:ignore WordPress.DB
	}

	/**
	 * Links a WooCommerce refund that another process or plugin made for this refund (a Stripe webhook's
	 * record): only while no WooCommerce refund is recorded or being created for it.
	 */
	public static function adopt( $refund_id, $wc_refund_id ) {
		global $wpdb;
		return 1 === $wpdb->query( $wpdb->prepare( 'UPDATE ' . self::table() . " SET record_state = 'recorded', wc_refund_id = %d, last_error = '', retry_at = NULL WHERE refund_id = %s AND status <> 'failed' AND record_state IN ('none', 'failed')", $wc_refund_id, $refund_id ) ); // phpcs:ignore WordPress.DB
	}

	/** A refund that failed after it was refunded: its WooCommerce refund was removed (once). */
	public static function reversed( $refund_id ) {
		global $wpdb;
		return 1 === $wpdb->query( $wpdb->prepare( 'UPDATE ' . self::table() . " SET record_state = 'reversed' WHERE refund_id = %s AND status = 'failed' AND record_state = 'recorded'", $refund_id ) ); // phpcs:ignore WordPress.DB
	}
}

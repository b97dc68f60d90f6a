<?php
/**
 * Refunds made in WooCommerce itself count at the Refunder service too, so Refunder never offers what
 * WooCommerce already shows as refunded: staff's manual refunds, "Refund via <gateway>", a gateway plugin's
 * webhook record (Stripe's "Refunded via Stripe Dashboard") and the "Order fully refunded." that WooCommerce
 * books when an order is set to Refunded. Each is reported at once (woocommerce_refund_created), with
 * whether a gateway moved money and the provider's refund id when one is known (Stripe: its "Refund ID:
 * re_…" note, in any language, or _stripe_refund_id; Mollie: its refund actions; Vipps gives none); a deleted
 * one too. While the service is away the report is retried through Action Scheduler.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_WooCommerce_Refunds {

	const REPORTED = '_refunder_reported_as'; // on the WooCommerce refund: the service's record of it
	const HOW      = '_refunder_report_how'; // on it while its report waits: how it came about, as first seen
	// The Stripe plugin's notes of a refund (%2$s: its id), when made (process_refund) and when booked (webhook).
	const STRIPE_REFUNDED = array( 'Refunded %1$s - Refund ID: %2$s - Reason: %3$s', 'Refunded %1$s - Refund ID: %2$s - %3$s' );
	// Mollie's refund actions. Its fourth, _refund_order_created, comes only from MollieOrder::refund_order_items,
	// which Mollie (7.8.2 to 8.1.9) no longer calls: line refunds go through _refund_items_created.
	const MOLLIE = array( 'mollie-payments-for-woocommerce_refund_payment_created', 'mollie-payments-for-woocommerce_refund_amount_created', 'mollie-payments-for-woocommerce_refund_items_created' );
	// Mollie's webhook: ?wc-api=mollie_wc_gateway_<method> (this action), and since Mollie 8.0.6 this REST route.
	const MOLLIE_WEBHOOK_ACTION = 'woocommerce_api_mollie_wc_gateway_';
	const MOLLIE_WEBHOOK_ROUTE  = '/mollie/v1/webhook';

	/** @var array<int, string> Order id => provider refund id a gateway plugin made during this request. */
	private static $provider_ids = array();

	/** @var string[] The REST routes whose callbacks are running (innermost last). */
	private static $rest_routes = array();

	/** @var string|null The source of the refund Refunder is booking for a gateway (booked_as()), if any. */
	private static $booked_as = null;

	public static function register() {
		add_action( 'woocommerce_refund_created', array( __CLASS__, 'created' ), 20 );
		add_filter( 'woocommerce_pre_delete_order_refund', array( __CLASS__, 'deleting' ), PHP_INT_MAX, 2 );
		add_action( Refunder_Follow_Up::REPORT, array( __CLASS__, 'retry' ), 10, 4 );
		add_action( 'woocommerce_order_note_added', array( __CLASS__, 'stripe_note' ), 10, 2 );
		foreach ( self::MOLLIE as $action ) {
			add_action( $action, array( __CLASS__, 'mollie_refund' ), 10, 2 );
		}
		add_filter( 'rest_request_before_callbacks', array( __CLASS__, 'rest_route_runs' ), 10, 3 );
		add_filter( 'rest_request_after_callbacks', array( __CLASS__, 'rest_route_ran' ) );
	}

	/** WordPress runs a REST route's callbacks: which route, for source(). */
	public static function rest_route_runs( $response, $handler, $request ) {
		self::$rest_routes[] = $request instanceof WP_REST_Request ? untrailingslashit( $request->get_route() ) : '';
		return $response;
	}

	public static function rest_route_ran( $response ) {
		array_pop( self::$rest_routes );
		return $response;
	}

	/**
	 * Stripe's note of a refund it made (process_refund) or booked (its webhook): "Refunded … - Refund ID: re_… - …",
	 * read in the language Stripe wrote it in, the site's or the user's (a translation of Stripe's own strings). Its
	 * notes of a refund that failed or was cancelled are not a refund made.
	 */
	public static function stripe_note( $note_id, $order ) {
		$note = get_comment( $note_id );
		if ( ! $note || ! Refunder_Stripe::is_stripe_order( $order ) ) {
			return;
		}
		foreach ( self::STRIPE_REFUNDED as $format ) {
			$words   = translate( $format, 'woocommerce-gateway-stripe' ); // phpcs:ignore WordPress.WP.I18n -- Stripe's strings, translated as Stripe translates them
			$pattern = strtr( preg_quote( $words, '/' ), array( '%1\$s' => '.*?', '%2\$s' => '((?:re|pyr)_[A-Za-z0-9]+)', '%3\$s' => '.*?' ) );
			if ( preg_match( '/^' . $pattern . '$/s', $note->comment_content, $m ) ) {
				self::$provider_ids[ $order->get_id() ] = $m[1];
				return;
			}
		}
	}

	/** Mollie's refund actions carry its Refund object (id re_…). */
	public static function mollie_refund( $refund, $order ) {
		if ( is_object( $refund ) && ! empty( $refund->id ) && $order instanceof WC_Order ) {
			self::$provider_ids[ $order->get_id() ] = (string) $refund->id;
		}
	}

	public static function created( $wc_refund_id ) {
		$refund = wc_get_order( $wc_refund_id );
		if ( $refund instanceof WC_Order_Refund && '' === (string) $refund->get_meta( Refunder_Books::REFUND_KEY ) ) {
			self::report( $refund, 1 );
		}
	}

	public static function retry( $wc_refund_id, $event, $attempt, $payment_id = '' ) {
		$refund = wc_get_order( $wc_refund_id );
		if ( 'deleted' === $event ) {
			self::report_deletion( $payment_id, (int) $wc_refund_id, (int) $attempt );
		} elseif ( $refund instanceof WC_Order_Refund && '' === (string) $refund->get_meta( self::REPORTED ) ) {
			self::report( $refund, (int) $attempt );
		}
	}

	/**
	 * Books a refund a gateway made as that gateway's (Refunder_Held_Rest: Mollie's rest, held back at a status
	 * change while Refunder's money was in flight).
	 *
	 * @param string   $source The gateway source it is reported with (mollie_webhook).
	 * @param callable $book   Makes the WooCommerce refund.
	 * @return mixed What $book returns.
	 */
	public static function booked_as( $source, callable $book ) {
		self::$booked_as = $source;
		try {
			return $book();
		} finally {
			self::$booked_as = null;
		}
	}

	/** How the refund came about: whether a gateway moved money, and the source in a word. */
	private static function source( WC_Order_Refund $refund ) {
		if ( null !== self::$booked_as ) {
			return array( true, self::$booked_as );
		}
		if ( doing_action( Refunder_Stripe::WEBHOOK ) ) {
			return array( true, 'stripe_webhook' );
		}
		if ( self::in_mollie_webhook() ) {
			return array( true, 'mollie_webhook' ); // Mollie shows the payment refunded; WooCommerce books the rest.
		}
		if ( $refund->get_refunded_payment() ) {
			return array( true, 'gateway' );
		}
		$status_change = doing_action( 'woocommerce_order_status_refunded' ) || doing_action( 'woocommerce_order_status_cancelled' );
		return array( false, $status_change ? 'status_change' : 'manual' );
	}

	/** Whether Mollie's webhook is running: its wc-api action, or (Mollie 8.0.6 and later) its REST route. */
	public static function in_mollie_webhook() {
		if ( self::MOLLIE_WEBHOOK_ROUTE === end( self::$rest_routes ) ) {
			return true;
		}
		foreach ( (array) $GLOBALS['wp_current_filter'] as $hook ) {
			if ( 0 === strpos( $hook, self::MOLLIE_WEBHOOK_ACTION ) ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Whether a gateway moved money, the source in a word, the provider's refund id ('' when unknown) and who
	 * made it: as the request that made the refund saw them (the webhook, the gateway's refund, the person
	 * logged in), kept for a later retry. A provider id a gateway plugin announced is used once.
	 */
	private static function how( WC_Order_Refund $refund, WC_Order $order, $attempt ) {
		$kept = $refund->get_meta( self::HOW );
		if ( is_array( $kept ) && 4 === count( $kept ) ) {
			return $kept;
		}
		list( $gateway, $source ) = self::source( $refund );
		$provider_id              = (string) $refund->get_meta( Refunder_Books::PROVIDER_KEY ) ?: ( self::$provider_ids[ $order->get_id() ] ?? '' );
		unset( self::$provider_ids[ $order->get_id() ] );
		if ( '' === $provider_id && 'gateway' === $source && Refunder_Stripe::is_stripe_order( $order ) ) {
			$provider_id = (string) wc_get_order( $order->get_id() )->get_meta( '_stripe_refund_id' );
		}
		// WooCommerce writes user 1 as refunded_by when no one is logged in (a webhook, a background action): only
		// a retry kept by an older version, which knew no better, takes it.
		$by = 1 < $attempt ? get_userdata( (int) $refund->get_refunded_by() ) : wp_get_current_user();
		return array( $gateway, $source, $provider_id, Refunder_Payments::actor( $by ?: new WP_User( 0 ) ) );
	}

	private static function report( WC_Order_Refund $refund, $attempt ) {
		$order  = wc_get_order( $refund->get_parent_id() );
		$client = Refunder_Client::configured();
		if ( ! $order || is_wp_error( $client ) ) {
			return; // Refunder is not connected: there is no service to tell.
		}
		list( $gateway, $source, $provider_id, $actor ) = self::how( $refund, $order, $attempt );
		$payment_id = (string) $order->get_meta( Refunder_Payments::META );
		if ( '' === $payment_id ) {
			$summary    = Refunder_Payments::summary( $order, $client );
			$payment_id = is_wp_error( $summary ) ? '' : $summary['id'];
		}
		$answer     = '' === $payment_id ? new WP_Error( 'refunder_no_payment', 'the payment is not registered' ) : $client->call(
			'POST',
			'/v1/payments/' . rawurlencode( $payment_id ) . '/woocommerce-refunds',
			array_filter(
				array(
					'wc_refund_id'       => (string) $refund->get_id(),
					'amount'             => Refunder_Money::decimal( $refund->get_amount(), $order->get_currency() ), // read by the service's currency table
					'reason'             => mb_substr( $refund->get_reason() ?: __( 'Refunded in WooCommerce', 'refunder' ), 0, 500 ),
					'actor'              => $actor,
					'gateway_refund'     => $gateway,
					'source'             => $source,
					'provider_refund_id' => $provider_id ?: null,
				),
				fn( $v ) => null !== $v
			)
		);
		if ( is_wp_error( $answer ) ) {
			Refunder_Log::warning( sprintf( 'WooCommerce refund %d of order %d not reported to the service (attempt %d): %s', $refund->get_id(), $order->get_id(), $attempt, $answer->get_error_message() ) );
			$refund->update_meta_data( self::HOW, array( $gateway, $source, $provider_id, $actor ) ); // the retry runs outside this request
			$refund->save();
			Refunder_Follow_Up::retry_report( $refund->get_id(), 'created', $attempt );
			return;
		}
		if ( 'requested' === $answer['kind'] ) { // the provider's refund id is a Refunder refund's: this records it.
			Refunder_Store::save( $order->get_id(), $answer );
			if ( Refunder_Store::adopt( $answer['id'], $refund->get_id() ) ) {
				$refund->update_meta_data( Refunder_Books::REFUND_KEY, $answer['id'] );
			}
		}
		$refund->update_meta_data( self::REPORTED, $answer['id'] );
		$refund->delete_meta_data( self::HOW );
		if ( $provider_id ) {
			$refund->update_meta_data( Refunder_Books::PROVIDER_KEY, $provider_id );
		}
		$refund->save();
	}

	/**
	 * Last on woocommerce_pre_delete_order_refund (nothing kept it): a reported refund is about to go, so the
	 * service stops counting it (unless a gateway moved its money: that stays refunded at the provider).
	 *
	 * @param mixed           $check  null: it is deleted.
	 * @param WC_Order_Refund $refund The refund.
	 */
	public static function deleting( $check, $refund ) {
		$order = null === $check && '' !== (string) $refund->get_meta( self::REPORTED ) ? wc_get_order( $refund->get_parent_id() ) : null;
		if ( $order ) {
			self::report_deletion( (string) $order->get_meta( Refunder_Payments::META ), $refund->get_id(), 1 );
		}
		return $check;
	}

	private static function report_deletion( $payment_id, $wc_refund_id, $attempt ) {
		$client = Refunder_Client::configured();
		$gone   = is_wp_error( $client ) ? $client : $client->call( 'POST', '/v1/payments/' . rawurlencode( $payment_id ) . '/woocommerce-refunds/' . rawurlencode( (string) $wc_refund_id ) . '/deleted' );
		if ( is_wp_error( $gone ) && 'refunder_not_configured' !== $gone->get_error_code() ) {
			Refunder_Log::warning( sprintf( 'deletion of WooCommerce refund %d not reported to the service (attempt %d): %s', $wc_refund_id, $attempt, $gone->get_error_message() ) );
			Refunder_Follow_Up::retry_report( $wc_refund_id, 'deleted', $attempt, $payment_id );
		}
	}
}

<?php
/**
 * Beside the WooCommerce Stripe Gateway plugin, whose webhook (?wc-api=wc_stripe) books refunds by itself:
 *
 * - charge.refunded creates "Refunded via Stripe Dashboard" for any refund id that is not the order's
 *   _stripe_refund_id. Refunder keeps that meta at its newest refund's id, so the plugin skips it; when the
 *   event is about a Refunder refund all the same (an older one, or it came first), the plugin's record is
 *   adopted as Refunder's (tagged with its keys) when WooCommerce does not have it yet, and refused when it has.
 * - charge.refund.updated (failed or canceled) deletes the order's newest WooCommerce refund, whichever it
 *   is. Only the WooCommerce refund of that very Stripe refund may go.
 *
 * The plugin's own test for its orders: a payment method starting with "stripe".
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Stripe {

	const WEBHOOK = 'woocommerce_api_wc_stripe';

	/** @var object|null|false The webhook's event in this request (false: not read yet). */
	private static $event = false;

	public static function register() {
		add_action( 'woocommerce_create_refund', array( __CLASS__, 'adopt' ), 6, 2 );
		add_filter( 'woocommerce_pre_delete_order_refund', array( __CLASS__, 'guard_deletion' ), 5, 2 );
	}

	public static function is_stripe_order( $order ) {
		return $order instanceof WC_Order && 0 === strpos( (string) $order->get_payment_method(), 'stripe' );
	}

	/**
	 * After Refunder learns about a refund: the order's _stripe_refund_id is its newest refund's Stripe id.
	 *
	 * @param array $entry The refund as the table has it.
	 */
	public static function remembered( array $entry ) {
		if ( '' === $entry['provider_reference'] ) {
			return;
		}
		$order = wc_get_order( $entry['order_id'] );
		if ( ! self::is_stripe_order( $order ) ) {
			return;
		}
		$sent   = array_filter( Refunder_Store::for_order( $entry['order_id'] ), fn( $e ) => '' !== $e['provider_reference'] && 'failed' !== $e['status'] );
		$newest = end( $sent );
		if ( $newest && $order->get_meta( '_stripe_refund_id' ) !== $newest['provider_reference'] ) {
			$order->update_meta_data( '_stripe_refund_id', $newest['provider_reference'] );
			$order->save();
		}
	}

	/** The Stripe event this request is handling (the plugin's webhook), or null. */
	private static function event() {
		if ( false === self::$event ) {
			$body        = doing_action( self::WEBHOOK ) ? json_decode( (string) file_get_contents( 'php://input' ) ) : null; // phpcs:ignore WordPress.WP.AlternativeFunctions -- the webhook's raw body; the plugin checked its signature.
			self::$event = is_object( $body ) && isset( $body->type, $body->data->object ) ? $body : null;
		}
		return self::$event;
	}

	/** The Stripe refund the event is about: its id, or ''. */
	private static function event_refund_id( $type ) {
		$event = self::event();
		if ( ! $event || $type !== $event->type ) {
			return '';
		}
		$object = $event->data->object;
		$refund = 'charge.refunded' === $type ? ( $object->refunds->data[0] ?? self::newest_refund( (string) ( $object->id ?? '' ) ) ) : $object;
		return (string) ( $refund->id ?? '' );
	}

	/**
	 * The charge's newest refund, fetched as the plugin fetches it (get_refund_object): since Stripe API version
	 * 2022-11-15 an event's charge carries no refunds, and the plugin's webhook endpoint uses 2024-06-20.
	 *
	 * @param string $charge_id The event's charge.
	 * @return object|null
	 */
	private static function newest_refund( $charge_id ) {
		static $fetched = array();
		if ( '' === $charge_id || ! class_exists( 'WC_Stripe_API' ) ) {
			return null;
		}
		if ( ! array_key_exists( $charge_id, $fetched ) ) {
			try {
				$charge                 = WC_Stripe_API::request( array( 'expand' => array( 'refunds' ) ), 'charges/' . rawurlencode( $charge_id ), 'GET' );
				$fetched[ $charge_id ] = $charge->refunds->data[0] ?? null;
			} catch ( Exception $e ) {
				Refunder_Log::warning( 'Stripe charge ' . $charge_id . ' could not be read for its refund: ' . $e->getMessage() );
				$fetched[ $charge_id ] = null;
			}
		}
		return $fetched[ $charge_id ];
	}

	/**
	 * On woocommerce_create_refund during the plugin's charge.refunded: the refund is tagged with its Stripe
	 * id; when that is a Refunder refund it becomes Refunder's record, or is refused if WooCommerce has one.
	 *
	 * @param WC_Order_Refund $refund The refund the Stripe plugin is creating.
	 * @param array           $args   wc_create_refund's arguments.
	 * @throws Exception When Refunder's refund is recorded already (WooCommerce then drops this one).
	 */
	public static function adopt( $refund, $args ) {
		$stripe_id = empty( $args['refunder_refund_id'] ) ? self::event_refund_id( 'charge.refunded' ) : '';
		if ( '' === $stripe_id ) {
			return;
		}
		$order_id = (int) $args['order_id'];
		$refund->update_meta_data( Refunder_Books::PROVIDER_KEY, $stripe_id );
		$ours = Refunder_Store::by_provider_reference( $order_id, $stripe_id ) ?: self::ask( $order_id, $stripe_id );
		$entry = reset( $ours );
		if ( ! $entry ) {
			return; // not Refunder's: a refund made in Stripe, reported to the service as WooCommerce's own.
		}
		$order = wc_get_order( $order_id );
		if ( Refunder_Store::adopt( $entry['id'], $refund->get_id() ) ) {
			$refund->update_meta_data( Refunder_Books::REFUND_KEY, $entry['id'] );
			/* translators: 1: Stripe refund id, 2: amount */
			Refunder_Order_Notes::add( $order, sprintf( __( 'Refunder: Stripe\'s record of refund %1$s (%2$s) is Refunder\'s refund; WooCommerce has it once.', 'refunder' ), $stripe_id, Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] ) ) );
			return;
		}
		/* translators: %s: Stripe refund id */
		$message = sprintf( __( 'Refunder: Stripe refund %s is already in WooCommerce\'s books as Refunder\'s refund; it is not recorded twice.', 'refunder' ), $stripe_id );
		Refunder_Order_Notes::add( $order, $message );
		throw new Exception( $message ); // phpcs:ignore WordPress.Security.EscapeOutput -- WooCommerce returns it as a WP_Error.
	}

	/** The service's refunds of the order (stored, not recorded: WooCommerce is creating a refund right now). */
	private static function ask( $order_id, $stripe_id ) {
		$client = Refunder_Client::configured();
		$asked  = is_wp_error( $client ) ? $client : $client->call( 'GET', '/v1/refunds?order_id=' . rawurlencode( (string) $order_id ) );
		if ( is_wp_error( $asked ) ) {
			return array();
		}
		foreach ( $asked['refunds'] as $refund ) {
			if ( 'requested' === $refund['kind'] ) {
				Refunder_Store::save( $order_id, $refund );
			}
		}
		return Refunder_Store::by_provider_reference( $order_id, $stripe_id );
	}

	/** Whether the Stripe plugin is deleting this refund because Stripe says that very refund failed. */
	public static function deletes( $refund ) {
		$failed = self::event_refund_id( 'charge.refund.updated' );
		return '' !== $failed && $refund->get_meta( Refunder_Books::PROVIDER_KEY ) === $failed;
	}

	/**
	 * During the plugin's charge.refund.updated (failed or canceled) it deletes the order's newest refund:
	 * any other than that Stripe refund's own is kept.
	 *
	 * @param mixed           $check  null: go ahead.
	 * @param WC_Order_Refund $refund The refund about to be deleted.
	 */
	public static function guard_deletion( $check, $refund ) {
		if ( null !== $check || '' === self::event_refund_id( 'charge.refund.updated' ) || self::deletes( $refund ) ) {
			return $check;
		}
		$order = wc_get_order( $refund->get_parent_id() );
		if ( $order ) {
			/* translators: 1: WooCommerce refund number, 2: Stripe refund id */
			Refunder_Order_Notes::add( $order, sprintf( __( 'Refunder kept WooCommerce refund #%1$d: Stripe\'s notice that refund %2$s failed is about another refund.', 'refunder' ), $refund->get_id(), self::event_refund_id( 'charge.refund.updated' ) ) );
		}
		return false;
	}
}

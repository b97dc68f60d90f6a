<?php
/**
 * The panel's actions (admin-ajax): review, confirm, status. Each checks the capability and the order's nonce.
 *
 * A review stores exactly what will be sent, with an idempotency key made once; confirming sends that and
 * nothing else, so a double click or a retry after a lost answer can never refund twice.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Ajax {

	const REVIEW_TTL = 1800;

	public static function register() {
		add_action( 'wp_ajax_refunder_review', array( __CLASS__, 'review' ) );
		add_action( 'wp_ajax_refunder_confirm', array( __CLASS__, 'confirm' ) );
		add_action( 'wp_ajax_refunder_status', array( __CLASS__, 'status' ) );
	}

	public static function nonce_action( $order_id ) {
		return 'refunder-order-' . (int) $order_id;
	}

	/** Every Refunder admin-ajax action: the refund capability first, then the page's nonce; 403 otherwise. */
	public static function require_access( $nonce_action ) {
		if ( ! current_user_can( REFUNDER_CAPABILITY ) ) {
			self::fail( __( 'You are not allowed to refund orders. Ask an administrator for the refund permission.', 'refunder' ), 403 );
		}
		if ( ! check_ajax_referer( $nonce_action, 'nonce', false ) ) {
			self::fail( __( 'This page has expired. Reload it and try again.', 'refunder' ), 403 );
		}
	}

	/** @return WC_Order */
	private static function guard() {
		$order_id = isset( $_POST['order_id'] ) ? absint( $_POST['order_id'] ) : 0;
		self::require_access( self::nonce_action( $order_id ) );
		$order = wc_get_order( $order_id );
		if ( ! $order || $order instanceof WC_Order_Refund ) {
			self::fail( __( 'Order not found.', 'refunder' ), 404 );
		}
		return $order;
	}

	/** @return Refunder_Client */
	private static function client() {
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			self::fail( $client->get_error_message(), Refunder_Client::status( $client ) );
		}
		return $client;
	}

	private static function fail( $message, $status = 422 ) {
		wp_send_json_error( array( 'message' => $message ), $status );
	}

	private static function posted( $key ) {
		return isset( $_POST[ $key ] ) ? wp_unslash( $_POST[ $key ] ) : ''; // phpcs:ignore WordPress.Security -- checked in guard(), sanitized by each caller.
	}

	public static function review() {
		$order   = self::guard();
		$client  = self::client();
		$summary = Refunder_Payments::summary( $order, $client );
		if ( is_wp_error( $summary ) ) {
			self::fail( $summary->get_error_message(), Refunder_Client::status( $summary ) );
		}
		$currency   = $order->get_currency();
		$refundable = min( (int) $summary['refundable']['value'], Refunder_Books::woocommerce_left( $order ) );
		if ( $refundable <= 0 ) {
			self::fail( __( 'Nothing is left to refund on this order.', 'refunder' ) );
		}
		list( $amount, $lines ) = self::amount_and_lines( $order, sanitize_key( self::posted( 'mode' ) ), $refundable );
		if ( ! $summary['refund_window_open'] ) {
			self::fail( __( "The provider's refund period for this payment has ended. Refund the customer by bank transfer instead.", 'refunder' ) );
		}
		if ( $amount <= 0 ) {
			self::fail( __( 'The refund amount must be more than zero.', 'refunder' ) );
		}
		if ( $amount > $refundable ) {
			/* translators: %s: amount */
			self::fail( sprintf( __( 'At most %s can be refunded.', 'refunder' ), Refunder_Money::text( $refundable, $currency ) ) );
		}
		$reason = sanitize_textarea_field( self::posted( 'reason' ) );
		if ( '' === trim( $reason ) ) {
			self::fail( __( 'Give the reason for the refund.', 'refunder' ) );
		}
		$bank_reference = sanitize_text_field( self::posted( 'bank_reference' ) );
		if ( 'manual' === $summary['provider'] && '' === $bank_reference ) {
			self::fail( __( "Enter the bank transfer's reference, so the refund can be traced.", 'refunder' ) );
		}
		$token = wp_generate_uuid4();
		set_transient(
			'refunder_review_' . $token,
			array(
				'order_id'        => $order->get_id(),
				'user_id'         => get_current_user_id(),
				'payment_id'      => $summary['id'],
				'provider_label'  => $summary['provider_label'],
				'idempotency_key' => wp_generate_uuid4(),
				'body'            => array_filter(
					array(
						'amount'         => array( 'value' => $amount, 'currency' => $currency ),
						'reason'         => $reason,
						'reason_internal' => '1' === self::posted( 'reason_internal' ),
						'actor'          => Refunder_Payments::actor( wp_get_current_user() ),
						'lines'          => $lines,
						'bank_reference' => $bank_reference ?: null,
					),
					fn( $v ) => null !== $v
				),
			),
			self::REVIEW_TTL
		);
		wp_send_json_success(
			array(
				'token'     => $token,
				'amount'    => Refunder_Money::text( $amount, $currency ),
				'provider'  => $summary['provider_label'],
				'lines'     => array_map(
					fn( $l ) => sprintf( '%d × %s: %s', $l['quantity'], $l['name'], Refunder_Money::text( $l['amount'], $currency ) ),
					$lines
				),
				'reason'    => $reason,
				'remaining' => Refunder_Money::text( $refundable - $amount, $currency ),
			)
		);
	}

	/** @return array{0: int, 1: array} minor units and the refunded lines (WooCommerce item ids). */
	private static function amount_and_lines( $order, $mode, $refundable ) {
		$currency = $order->get_currency();
		if ( 'full' === $mode ) {
			return array( $refundable, array() );
		}
		if ( 'amount' === $mode ) {
			$amount = Refunder_Money::to_minor( self::posted( 'amount' ), $currency );
			if ( null === $amount ) {
				self::fail( __( 'Write the amount as a number, for example 250 or 250,50.', 'refunder' ) );
			}
			return array( $amount, array() );
		}
		if ( 'items' !== $mode ) {
			self::fail( __( 'Choose a full refund, an amount or items.', 'refunder' ) );
		}
		$quantities = (array) self::posted( 'qty' );
		$lines      = array();
		foreach ( $order->get_items() as $item_id => $item ) {
			$qty = absint( $quantities[ $item_id ] ?? 0 );
			if ( 0 === $qty ) {
				continue;
			}
			if ( $qty > $item->get_quantity() ) {
				/* translators: %s: item name */
				self::fail( sprintf( __( 'You cannot refund more of "%s" than was ordered.', 'refunder' ), $item->get_name() ) );
			}
			$line  = Refunder_Money::round_to_minor( $item->get_total(), $currency ) + Refunder_Money::round_to_minor( $item->get_total_tax(), $currency );
			$share = Refunder_Money::share( $line, $qty, $item->get_quantity() ); // tax included, as the customer paid.
			$lines[] = array( 'item_id' => (string) $item_id, 'name' => $item->get_name(), 'quantity' => $qty, 'amount' => $share );
		}
		if ( ! $lines ) {
			self::fail( __( 'Choose at least one item to refund.', 'refunder' ) );
		}
		return array( array_sum( array_column( $lines, 'amount' ) ), $lines );
	}

	public static function confirm() {
		$order  = self::guard();
		$client = self::client();
		$token  = sanitize_text_field( self::posted( 'token' ) );
		$review = get_transient( 'refunder_review_' . $token );
		if ( ! is_array( $review ) || $review['order_id'] !== $order->get_id() || get_current_user_id() !== $review['user_id'] ) {
			self::fail( __( 'This review has expired. Review the refund again.', 'refunder' ), 410 );
		}
		$refund = $client->call( 'POST', '/v1/payments/' . rawurlencode( $review['payment_id'] ) . '/refunds', $review['body'], array( 'Idempotency-Key' => $review['idempotency_key'] ) );
		if ( is_wp_error( $refund ) ) {
			$message = $refund->get_error_message();
			if ( 'refunder_unreachable' === $refund->get_error_code() ) {
				$message .= ' ' . __( 'Nothing is known yet. Press Refund again: it cannot refund twice.', 'refunder' );
			}
			self::fail( $message, Refunder_Client::status( $refund ) );
		}
		wp_send_json_success( self::present( Refunder_Books::remember( $order, $refund, $review['provider_label'] ) ) );
	}

	public static function status() {
		$order = self::guard();
		$id    = sanitize_text_field( self::posted( 'refund_id' ) );
		$known = Refunder_Store::get( $id );
		if ( ! $known || $known['order_id'] !== $order->get_id() ) {
			self::fail( __( 'Refund not found on this order.', 'refunder' ), 404 );
		}
		if ( ! in_array( $known['status'], Refunder_Store::FINAL, true ) ) {
			$refund = self::client()->call( 'POST', '/v1/refunds/' . rawurlencode( $id ) . '/refresh' );
			if ( ! is_wp_error( $refund ) ) {
				$known = Refunder_Books::remember( $order, $refund );
			}
		} elseif ( Refunder_Books::unsettled( $known ) ) {
			Refunder_Books::settle( $known );
			$known = Refunder_Store::get( $id );
		}
		wp_send_json_success( self::present( $known ) );
	}

	/** A refund as the panel shows it: status word and one sentence in plain words. */
	public static function present( array $entry ) {
		$amount   = Refunder_Money::text( $entry['amount'], $entry['currency'] );
		$provider = $entry['provider_label'] ?? __( 'the payment provider', 'refunder' );
		switch ( $entry['status'] ) {
			case 'refunded':
				$message = Refunder_Store::FAILED === ( $entry['record_state'] ?? '' )
					/* translators: 1: amount, 2: provider, 3: why WooCommerce did not record it */
					? sprintf( __( '%1$s refunded through %2$s. WooCommerce has not recorded it yet (%3$s); Refunder tries again in the background. Do not refund it again.', 'refunder' ), $amount, $provider, rtrim( $entry['last_error'], '.' ) )
					/* translators: 1: amount, 2: provider */
					: sprintf( __( '%1$s refunded through %2$s. WooCommerce has recorded it and e-mailed the customer that the money is on its way.', 'refunder' ), $amount, $provider );
				$label   = __( 'Refunded', 'refunder' );
				break;
			case 'failed':
				$reason  = $entry['failure'] ?: __( 'no reason given.', 'refunder' );
				$message = Refunder_Store::REVERSED === ( $entry['record_state'] ?? '' )
					/* translators: %s: the provider's reason in plain words */
					? sprintf( __( 'The refund failed after it had been refunded: %s Its WooCommerce refund was removed; the customer did not get this money back.', 'refunder' ), rtrim( $reason, '.' ) . '.' )
					/* translators: %s: the provider's reason in plain words */
					: sprintf( __( 'The refund failed: %s', 'refunder' ), $reason );
				$label   = __( 'Failed', 'refunder' );
				break;
			case 'unknown':
				/* translators: %s: provider */
				$message = sprintf( __( 'No clear answer from %s yet. Refunder is checking with the provider; do not refund again.', 'refunder' ), $provider );
				$label   = __( 'Being checked', 'refunder' );
				break;
			default:
				/* translators: 1: amount, 2: provider */
				$message = sprintf( __( '%1$s is being refunded through %2$s. This page updates when the provider confirms it.', 'refunder' ), $amount, $provider );
				$label   = __( 'Processing', 'refunder' );
		}
		return array( 'id' => $entry['id'], 'status' => $entry['status'], 'label' => $label, 'message' => $message, 'amount' => $amount, 'final' => in_array( $entry['status'], Refunder_Store::FINAL, true ) );
	}
}

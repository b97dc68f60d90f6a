<?php
/**
 * The panel's actions (admin-ajax): fill in the payment, check it with the provider, review, confirm, status. Each checks the capability and the order's nonce.
 *
 * A review stores exactly what will be sent, with an idempotency key made once; confirming sends that and
 * nothing else, so a double click or a retry after a lost answer can never refund twice.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Ajax {

	/** The codes that say the provider, not the service, is not answering. */
	const PROVIDER_SILENT = array( 'provider_not_answering', 'provider_unreachable', 'provider_busy' );

	public static function register() {
		add_action( 'wp_ajax_refunder_payment', array( __CLASS__, 'payment' ) );
		add_action( 'wp_ajax_refunder_check', array( __CLASS__, 'check' ) );
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

	/** The panel filled in from the service's ledger (no provider asked; an unregistered payment is registered). */
	public static function payment() {
		$order = self::guard();
		self::panel( $order, fn( $client ) => Refunder_Payments::read( $order, $client ) );
	}

	/** "Check with provider": the service asks the provider again. */
	public static function check() {
		$order = self::guard();
		self::panel( $order, fn( $client ) => Refunder_Payments::check( $order, $client ) );
	}

	/**
	 * Answers the panel's body as it is after $ask, or as it was with a line in plain words saying who is not
	 * answering and how old the amounts are (never a URL or a network error: those go to the log).
	 */
	private static function panel( WC_Order $order, callable $ask ) {
		$client = Refunder_Client::configured();
		$result = is_wp_error( $client ) ? $client : $ask( $client );
		$known  = Refunder_Payments::known( $order );
		ob_start();
		Refunder_Order_Panel::body( $order, $known );
		$html = ob_get_clean();
		wp_send_json_success(
			array(
				'html'   => $html,
				'notice' => is_wp_error( $result ) ? self::outage( $order, $result, $known ) : Refunder_Order_Panel::as_of( $known ),
				'outage' => is_wp_error( $result ),
			)
		);
	}

	/** Why the panel shows older amounts, in plain words; the technical error goes to WooCommerce's log. */
	private static function outage( WC_Order $order, WP_Error $error, $known ) {
		Refunder_Log::warning( sprintf( 'order %d: the payment could not be read: %s (%s)', $order->get_id(), $error->get_error_message(), $error->get_error_code() ) );
		$provider = in_array( $error->get_error_code(), self::PROVIDER_SILENT, true );
		if ( ! $provider && Refunder_Client::status( $error ) < 500 ) {
			return $error->get_error_message(); // a refusal or a setting, in the admin's language.
		}
		if ( ! $known ) {
			return $provider ? $error->get_error_message() : __( 'The Refunder service is not answering, so the payment cannot be shown yet. Refunder asks again in the background; reload the page in a while.', 'refunder' );
		}
		$who = $provider ? Refunder_Messages::name( $known['provider_label'] ) : __( 'The Refunder service', 'refunder' );
		$at  = $provider && ! empty( $known['checked_at'] ) ? strtotime( $known['checked_at'] ) : (int) $known['fetched_at'];
		/* translators: 1: who (a payment provider, or the Refunder service), 2: time */
		return sprintf( __( '%1$s is not answering; the amounts shown are from %2$s.', 'refunder' ), $who, Refunder_Order_Panel::when( $at ) );
	}

	/**
	 * Review: the service quotes the refund (amount, lines with VAT, every reason it cannot go ahead); what it
	 * quoted is kept with an idempotency key made once, and confirming sends exactly that.
	 */
	public static function review() {
		$order  = self::guard();
		$client = self::client();
		$reason = sanitize_textarea_field( self::posted( 'reason' ) );
		if ( '' === trim( $reason ) ) {
			self::fail( __( 'Give the reason for the refund.', 'refunder' ) );
		}
		$payment = Refunder_Payments::known( $order ) ?: Refunder_Payments::read( $order, $client );
		if ( is_wp_error( $payment ) ) {
			self::fail( $payment->get_error_message(), Refunder_Client::status( $payment ) );
		}
		$quote = self::quote( $order, $client, $payment );
		if ( ! $quote['allowed'] ) {
			self::fail( implode( ' ', array_map( array( 'Refunder_Messages', 'of' ), $quote['problems'] ) ) );
		}
		$bank_reference = sanitize_text_field( self::posted( 'bank_reference' ) );
		if ( $quote['needs_bank_reference'] && '' === $bank_reference ) {
			self::fail( __( "Enter the bank transfer's reference, so the refund can be traced.", 'refunder' ) );
		}
		$amount = $quote['amount'];
		$label  = 'bank_transfer' === $quote['via'] ? __( 'bank transfer', 'refunder' ) : Refunder_Messages::name( $quote['provider_label'] );
		$token  = Refunder_Reviews::keep(
			$order,
			array(
				'user_id'         => get_current_user_id(),
				'payment_id'      => $quote['payment_id'],
				'provider_label'  => $quote['provider_label'],
				'idempotency_key' => wp_generate_uuid4(),
				'body'            => array(
					'amount'          => array( 'value' => $amount['value'], 'currency' => $amount['currency'] ),
					'reason'          => $reason,
					'reason_internal' => '1' === self::posted( 'reason_internal' ),
					'actor'           => Refunder_Payments::actor( wp_get_current_user() ),
					'lines'           => array_map( fn( $l ) => array( 'item_id' => $l['item_id'], 'name' => $l['name'], 'quantity' => $l['quantity'], 'amount' => $l['amount']['value'] ), $quote['lines'] ),
					'via'             => $quote['via'],
				) + ( '' === $bank_reference ? array() : array( 'bank_reference' => $bank_reference ) ),
			)
		);
		wp_send_json_success(
			array(
				'token'     => $token,
				'amount'    => self::money( $amount ),
				'provider'  => $label,
				'lines'     => array_map( fn( $l ) => sprintf( '%d × %s: %s', $l['quantity'], $l['name'], self::money( $l['amount'] ) ), $quote['lines'] ),
				'reason'    => $reason,
				'remaining' => self::money( $quote['remaining'] ),
			)
		);
	}

	/**
	 * The service's quote for what the form asks. "Everything" is asked as every item still unrefunded when
	 * that is all there is to refund (so WooCommerce shows the items refunded), else as the whole amount;
	 * never more than WooCommerce shows left.
	 */
	private static function quote( WC_Order $order, Refunder_Client $client, array $payment ) {
		$mode = sanitize_key( self::posted( 'mode' ) );
		$via  = sanitize_key( self::posted( 'via' ) );
		$ask  = array( 'refund' => $mode ) + ( in_array( $via, array( 'provider', 'bank_transfer' ), true ) ? array( 'via' => $via ) : array() );
		if ( 'amount' === $mode ) {
			$minor = Refunder_Money::to_minor( self::posted( 'amount' ), (int) $payment['refundable']['exponent'] );
			if ( null === $minor ) {
				self::fail( __( 'Write the amount as a number, for example 250 or 250,50.', 'refunder' ) );
			}
			if ( 0 === $minor ) { // the service takes no zero amount to quote: its own sentence for it.
				self::fail( Refunder_Messages::message( 'amount_not_positive', array(), '' ) );
			}
			$ask['amount'] = array( 'value' => $minor, 'currency' => $order->get_currency() );
		} elseif ( 'items' === $mode ) {
			$ask['items'] = self::items( $order, (array) self::posted( 'qty' ) );
		} elseif ( 'full' !== $mode ) {
			self::fail( __( 'Choose a full refund, an amount or items.', 'refunder' ) );
		}
		$left = Refunder_Books::woocommerce_left( $order, (int) $payment['refundable']['exponent'] );
		if ( 'full' === $mode ) {
			$every = self::ask_quote( $client, $payment['id'], array( 'refund' => 'items', 'items' => self::items( $order, null ) ) + $ask );
			if ( $every['allowed'] && $every['amount']['value'] === $every['refundable']['value'] && $every['amount']['value'] <= $left ) {
				return $every;
			}
			if ( $left < (int) $every['refundable']['value'] ) {
				$ask = array( 'refund' => 'amount', 'amount' => array( 'value' => $left, 'currency' => $order->get_currency() ) ) + $ask;
			}
		}
		$quote = self::ask_quote( $client, $payment['id'], $ask );
		if ( $quote['allowed'] && $quote['amount']['value'] > $left ) {
			/* translators: %s: amount */
			self::fail( sprintf( __( 'At most %s can be refunded: that is what WooCommerce shows left on this order, less what Refunder is still refunding.', 'refunder' ), self::money( array( 'value' => $left ) + $quote['amount'] ) ) );
		}
		return $quote;
	}

	private static function ask_quote( Refunder_Client $client, $payment_id, array $ask ) {
		$quote = $client->call( 'POST', '/v1/payments/' . rawurlencode( $payment_id ) . '/quote', $ask, array(), Refunder_Client::READ_TIMEOUT ); // the ledger's figures only
		if ( is_wp_error( $quote ) ) {
			self::fail( $quote->get_error_message(), Refunder_Client::status( $quote ) );
		}
		return $quote;
	}

	/**
	 * The order's lines as WooCommerce stores them, with how many of each to refund now: the posted
	 * quantities, or (null) every unit not refunded yet.
	 */
	private static function items( WC_Order $order, $quantities ) {
		$items = array();
		foreach ( $order->get_items() as $item_id => $item ) {
			$before  = absint( $order->get_qty_refunded_for_item( $item_id ) );
			$items[] = array(
				'item_id'           => (string) $item_id,
				'name'              => $item->get_name(),
				'quantity'          => (int) $item->get_quantity(),
				'total'             => wc_format_decimal( $item->get_total() ),
				'total_tax'         => wc_format_decimal( $item->get_total_tax() ),
				'refund_quantity'   => null === $quantities ? max( 0, $item->get_quantity() - $before ) : absint( $quantities[ $item_id ] ?? 0 ),
				'refunded_quantity' => $before,
			);
		}
		return $items;
	}

	/** A money object from the service, as text in WooCommerce's format. */
	private static function money( array $money ) {
		return Refunder_Money::said( $money );
	}

	public static function confirm() {
		$order  = self::guard();
		$client = self::client();
		$token  = sanitize_text_field( self::posted( 'token' ) );
		$review = Refunder_Reviews::find( $order, $token, get_current_user_id() );
		$known  = isset( $review['refund_id'] ) ? Refunder_Store::get( $review['refund_id'] ) : null;
		if ( $known ) { // answered before: shown as it is now, nothing sent again.
			wp_send_json_success( self::present( $known ) );
		}
		if ( ! isset( $review['idempotency_key'] ) ) {
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
		$known = Refunder_Books::remember( $order, $refund, $review['provider_label'] );
		Refunder_Reviews::answered( $order->get_id(), $token, $review, $refund['id'] );
		wp_send_json_success( self::present( $known ) );
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
			if ( is_wp_error( $refund ) ) { // shown as it was; the next poll asks again.
				Refunder_Log::warning( sprintf( 'refund %s (order %d) could not be read back: %s', $id, $order->get_id(), $refund->get_error_message() ) );
			} else {
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
		$amount   = Refunder_Money::text( $entry['amount'], $entry['currency'], $entry['exponent'] );
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

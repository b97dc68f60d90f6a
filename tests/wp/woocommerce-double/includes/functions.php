<?php
/** wc_* functions the plugin calls, behaving as WooCommerce documents them. */

function wc_double_register_types() {
	register_post_type( 'shop_order', array( 'public' => false, 'show_ui' => true, 'label' => 'Orders', 'supports' => array( 'title', 'comments' ), 'capability_type' => 'post' ) );
	register_post_type( 'shop_order_refund', array( 'public' => false, 'show_ui' => false ) );
	foreach ( array( 'wc-pending', 'wc-processing', 'wc-completed', 'wc-refunded', 'wc-cancelled' ) as $status ) {
		register_post_status( $status, array( 'label' => $status, 'public' => false, 'protected' => true, 'exclude_from_search' => false, 'show_in_admin_all_list' => true, 'show_in_admin_status_list' => true ) );
	}
}

/** As WooCommerce: rounded to $dp places when given (zeros kept unless $trim_zeros); otherwise as short as it goes. */
function wc_format_decimal( $number, $dp = false, $trim_zeros = false ) {
	$number = is_float( $number ) ? sprintf( '%.8F', $number ) : (string) $number;
	if ( false !== $dp && '' !== $dp ) {
		$number = number_format( (float) $number, (int) $dp, '.', '' );
		if ( ! $trim_zeros ) {
			return $number;
		}
	}
	return false !== strpos( $number, '.' ) ? rtrim( rtrim( $number, '0' ), '.' ) : $number;
}

function WC() {
	static $wc = null;
	if ( null === $wc ) {
		$wc = new class() {
			public $version = '0.0.1-double';

			/** WooCommerce's payment gateways: the double has none. */
			public function payment_gateways() {
				return new class() {
					public function payment_gateways() {
						return array();
					}
				};
			}
		};
	}
	return $wc;
}

function wc_get_order( $order ) {
	$id = $order instanceof WC_Order ? $order->get_id() : (int) $order;
	$type = get_post_type( $id );
	if ( 'shop_order' === $type ) {
		return new WC_Order( $id );
	}
	if ( 'shop_order_refund' === $type ) {
		return new WC_Order_Refund( $id );
	}
	return false;
}

/** Supports what the plugin asks: meta_query, limit, return ids. */
function wc_get_orders( $args ) {
	$query = array( 'post_type' => 'shop_order', 'post_status' => 'any', 'fields' => 'ids', 'numberposts' => $args['limit'] ?? 10, 'orderby' => 'ID', 'order' => 'ASC' );
	if ( isset( $args['meta_query'] ) ) {
		$query['meta_query'] = $args['meta_query'];
	}
	$ids = get_posts( $query );
	return ( $args['return'] ?? 'objects' ) === 'ids' ? $ids : array_map( 'wc_get_order', $ids );
}

/** Order notes, newest first, as objects with ->content (like WooCommerce). */
function wc_get_order_notes( $args ) {
	$notes = get_comments( array( 'post_id' => $args['order_id'], 'type' => 'order_note', 'orderby' => 'comment_ID', 'order' => 'DESC' ) );
	return array_map( fn( $c ) => (object) array( 'id' => (int) $c->comment_ID, 'content' => $c->comment_content ), $notes );
}

function wc_get_page_screen_id( $for ) {
	return 'yes' === get_option( 'woocommerce_custom_orders_table_enabled' ) ? 'woocommerce_page_wc-orders' : 'shop_order';
}

function wc_get_price_decimals() {
	return 2;
}

function get_woocommerce_currency_symbol( $currency = '' ) {
	return array( 'NOK' => 'kr', 'EUR' => '€', 'SEK' => 'kr', 'DKK' => 'kr' )[ $currency ] ?? $currency;
}

function wc_price( $price, $args = array() ) {
	$currency = $args['currency'] ?? 'NOK';
	$decimals = (int) ( $args['decimals'] ?? 2 ); // WooCommerce: the store's setting unless given.
	return '<span class="woocommerce-Price-amount amount">' . number_format( (float) $price, $decimals, ',', ' ' ) . '&nbsp;' . esc_html( get_woocommerce_currency_symbol( $currency ) ) . '</span>';
}

/**
 * Like WooCommerce: validates the amount against what is left, stores the refund, fires
 * woocommerce_create_refund (an exception there drops the refund and becomes a WP_Error), adds an order note,
 * marks a fully refunded order as refunded, fires the refunded actions (which send the customer's refund
 * e-mail), woocommerce_refund_created and woocommerce_order_refunded and, only when refund_payment is true,
 * would call the gateway (the double counts such calls instead).
 */
/**
 * WooCommerce's logger as its file handler keeps it: wp-content/uploads/wc-logs/<source>-<date>-<hash>.log,
 * each line first through the filter woocommerce_logger_log_message (null drops it), as WC_Logger::log does.
 */
function wc_get_logger() {
	return new class() {
		public function __call( $level, $args ) {
			$context = $args[1] ?? array();
			$message = apply_filters( 'woocommerce_logger_log_message', $args[0], $level, $context, $this );
			if ( null === $message ) {
				return;
			}
			$source = $context['source'] ?? 'log';
			$dir    = wp_upload_dir()['basedir'] . '/wc-logs';
			wp_mkdir_p( $dir );
			file_put_contents( "$dir/$source-" . gmdate( 'Y-m-d' ) . '-double.log', gmdate( 'c' ) . ' ' . strtoupper( $level ) . ' ' . $message . "\n", FILE_APPEND ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		}
	};
}

function wc_create_refund( $args = array() ) {
	$order = wc_get_order( $args['order_id'] ?? 0 );
	if ( ! $order ) {
		return new WP_Error( 'error', 'Invalid order ID.' );
	}
	$amount = number_format( (float) ( $args['amount'] ?? 0 ), 2, '.', '' );
	if ( (float) $amount <= 0 || (float) $amount > (float) $order->get_remaining_refund_amount() + 0.000001 ) {
		return new WP_Error( 'error', 'Invalid refund amount.' );
	}
	$refund_id = wp_insert_post( array( 'post_type' => 'shop_order_refund', 'post_parent' => $order->get_id(), 'post_status' => 'wc-completed', 'post_title' => 'Refund' ) );
	update_post_meta( $refund_id, '_refund_amount', $amount );
	update_post_meta( $refund_id, '_order_currency', $order->get_currency() );
	update_post_meta( $refund_id, '_refund_reason', (string) ( $args['reason'] ?? '' ) );
	update_post_meta( $refund_id, '_refunded_by', get_current_user_id() ?: 1 );
	update_post_meta( $refund_id, '_refunded_payment', ! empty( $args['refund_payment'] ) );
	update_post_meta( $refund_id, '_refunded_line_items', $args['line_items'] ?? array() );
	$refund = new WC_Order_Refund( $refund_id );
	$refund->save(); // WooCommerce saves the refund (update_taxes, calculate_totals) before woocommerce_create_refund
	try {
		do_action( 'woocommerce_create_refund', $refund, $args );
	} catch ( Exception $e ) {
		wp_delete_post( $refund_id, true );
		return new WP_Error( 'error', $e->getMessage() );
	}
	$refund->save();
	if ( ! empty( $args['refund_payment'] ) ) {
		update_option( 'wc_double_gateway_refund_calls', (int) get_option( 'wc_double_gateway_refund_calls', 0 ) + 1 );
	}
	$order->add_order_note( sprintf( 'Refunded %s – %s', $amount, (string) ( $args['reason'] ?? '' ) ) );
	$fully = (float) $order->get_remaining_refund_amount() <= 0;
	if ( $fully ) {
		wp_update_post( array( 'ID' => $order->get_id(), 'post_status' => 'wc-refunded' ) );
		do_action( 'woocommerce_order_fully_refunded', $order->get_id(), $refund_id );
	} else {
		do_action( 'woocommerce_order_partially_refunded', $order->get_id(), $refund_id );
	}
	do_action( 'woocommerce_refund_created', $refund_id, $args );
	do_action( 'woocommerce_order_refunded', $order->get_id(), $refund_id );
	return $refund;
}

/** The customer's "refunded order" e-mail, as WC_Email_Customer_Refunded_Order sends it on those actions. */
function wc_double_refund_email( $order_id, $refund_id ) {
	$order  = wc_get_order( $order_id );
	$refund = wc_get_order( $refund_id );
	$full   = 'woocommerce_order_fully_refunded' === current_action();
	wp_mail(
		$order->get_billing_email(),
		sprintf( $full ? 'Your order #%s has been refunded' : 'Your order #%s has been partially refunded', $order->get_order_number() ),
		sprintf( 'Refunded: %s %s', $refund->get_amount(), $order->get_currency() )
	);
}
add_action( 'woocommerce_order_fully_refunded', 'wc_double_refund_email', 10, 2 );
add_action( 'woocommerce_order_partially_refunded', 'wc_double_refund_email', 10, 2 );

/** Test helper: a paid order with line items. $items: list of [name, quantity, total]. */
function wc_double_create_order( array $args ) {
	$id = wp_insert_post( array( 'post_type' => 'shop_order', 'post_status' => 'wc-processing', 'post_title' => 'Order' ) );
	$items = array();
	$next  = $id * 100;
	foreach ( $args['items'] as $item ) {
		$items[ ++$next ] = array( 'name' => $item[0], 'quantity' => $item[1], 'total' => $item[2], 'total_tax' => $item[3] ?? '0' );
	}
	$meta = array(
		'_order_currency'       => $args['currency'] ?? 'NOK',
		'_order_total'          => $args['total'],
		'_payment_method'       => $args['payment_method'] ?? 'bacs',
		'_payment_method_title' => $args['payment_method_title'] ?? 'Direct bank transfer',
		'_transaction_id'       => $args['transaction_id'] ?? '',
		'_billing_email'        => $args['email'] ?? 'customer@example.com',
		'_date_paid'            => $args['date_paid'] ?? time(),
		'_wc_double_items'      => $items,
	);
	foreach ( array_merge( $meta, $args['meta'] ?? array() ) as $key => $value ) {
		update_post_meta( $id, $key, $value );
	}
	return $id;
}

<?php
/**
 * The "Refunder" box on the order screen (legacy post.php and HPOS), for users with the refund capability.
 *
 * Rendering asks no one: the box shows what WordPress last heard about the payment (kept on the order by
 * Refunder_Payments, with when) and the refunds table the books keep; the page then fills it in through
 * admin-ajax (Refunder_Ajax::payment: the service's ledger, no provider asked). An order whose payment was
 * never registered is queued for registration (Refunder_Registration), never registered here.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Order_Panel {

	public static function register() {
		add_action( 'add_meta_boxes', array( __CLASS__, 'add' ), 40, 2 ); // after WooCommerce's own boxes (30) on both screens.
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'assets' ) );
		add_action( 'woocommerce_order_item_add_action_buttons', array( __CLASS__, 'woocommerce_refund_hint' ) );
	}

	/** Legacy and HPOS order edit screens. */
	public static function screens() {
		$screens = array( 'shop_order', 'woocommerce_page_wc-orders' );
		if ( function_exists( 'wc_get_page_screen_id' ) ) {
			$screens[] = wc_get_page_screen_id( 'shop-order' );
		}
		return array_values( array_unique( $screens ) );
	}

	/** Below the order's items on both screens: the same place in legacy and HPOS order storage. */
	public static function add( $screen_id, $object = null ) {
		if ( ! in_array( $screen_id, self::screens(), true ) || ! current_user_can( REFUNDER_CAPABILITY ) ) {
			return;
		}
		add_meta_box( 'refunder', __( 'Refunder', 'refunder' ), array( __CLASS__, 'render' ), $screen_id, 'normal', 'high' );
	}

	public static function assets( $hook ) {
		$screen = get_current_screen();
		if ( ! $screen || ! in_array( $screen->id, self::screens(), true ) || ! current_user_can( REFUNDER_CAPABILITY ) ) {
			return;
		}
		$base = plugin_dir_url( REFUNDER_FILE ) . 'assets/';
		wp_enqueue_style( 'refunder-admin', $base . 'refunder-admin.css', array(), REFUNDER_VERSION );
		wp_enqueue_script( 'refunder-admin', $base . 'refunder-admin.js', array(), REFUNDER_VERSION, true );
		wp_localize_script(
			'refunder-admin',
			'RefunderPanel',
			array(
				'ajaxUrl' => admin_url( 'admin-ajax.php' ),
				'i18n'    => array(
					'working'    => __( 'Working…', 'refunder' ),
					'checking'   => __( 'Asking the provider…', 'refunder' ),
					'failed'     => __( 'Something went wrong. Reload the page and try again.', 'refunder' ),
					'reviewText' => __( 'You are about to refund', 'refunder' ),
					'through'    => __( 'through', 'refunder' ),
					'reason'     => __( 'Reason', 'refunder' ),
					'left'       => __( 'Left to refund afterwards', 'refunder' ),
				),
			)
		);
	}

	/**
	 * Beside WooCommerce's own Refund button: which one to use. WooCommerce's stays (it records refunds made
	 * elsewhere, restocks, and serves staff without Refunder's permission; Refunder counts its refunds too).
	 */
	public static function woocommerce_refund_hint( $order ) {
		if ( current_user_can( REFUNDER_CAPABILITY ) && $order instanceof WC_Order ) {
			printf( '<span class="description refunder-woocommerce-hint">%s</span>', esc_html__( 'To pay money back to the customer, use the Refund button in the Refunder box below: it refunds through the provider, or records a bank transfer, once. WooCommerce\'s Refund only records a refund.', 'refunder' ) );
		}
	}

	/** @param WP_Post|WC_Order $object The order (HPOS) or its post (legacy). */
	public static function render( $object ) {
		$order = $object instanceof WP_Post ? wc_get_order( $object->ID ) : $object;
		if ( ! $order ) {
			return;
		}
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			printf( '<div class="notice notice-error inline refunder-error"><p>%s</p></div>', esc_html( $client->get_error_message() ) );
			return;
		}
		$payment = Refunder_Payments::known( $order );
		if ( ! $payment ) {
			Refunder_Registration::queue( $order->get_id() ); // an order paid before Refunder knew of it: in the background.
		}
		?>
		<div class="refunder-panel" data-order-id="<?php echo esc_attr( $order->get_id() ); ?>" data-nonce="<?php echo esc_attr( wp_create_nonce( Refunder_Ajax::nonce_action( $order->get_id() ) ) ); ?>">
			<div class="refunder-body"><?php self::body( $order, $payment ); ?></div>
			<p class="refunder-notice" role="status"><?php echo esc_html( $payment ? self::as_of( $payment ) : __( 'Asking the Refunder service about this payment…', 'refunder' ) ); ?></p>
			<div class="refunder-message" role="status" aria-live="polite"></div>
			<?php self::history( $order ); ?>
		</div>
		<?php
	}

	/**
	 * The payment and what can be done with it, as the service last said (also sent to the page by admin-ajax).
	 *
	 * @param WC_Order   $order   The order.
	 * @param array|null $payment The service's answer about the payment, or null when it never answered.
	 */
	public static function body( WC_Order $order, $payment ) {
		if ( ! $payment ) {
			return;
		}
		$can        = $payment['capabilities'];
		$via        = $can['provider_refund'] ? 'provider' : 'bank_transfer';
		$money      = fn( $key ) => Refunder_Money::format( (int) $payment[ $key ]['value'], $payment[ $key ]['currency'], $payment[ $key ]['exponent'] );
		$refundable = min( (int) $payment['refundable']['value'], Refunder_Books::woocommerce_left( $order, (int) $payment['refundable']['exponent'] ) ); // never more than WooCommerce shows left
		?>
		<p class="refunder-summary">
			<?php
			printf(
				/* translators: 1: provider, 2: captured, 3: refunded, 4: refundable */
				esc_html__( 'Paid with %1$s: %2$s captured, %3$s refunded, %4$s can be refunded.', 'refunder' ),
				'<strong>' . esc_html( Refunder_Messages::name( $payment['provider_label'] ) ) . '</strong>',
				wp_kses_post( $money( 'captured' ) ),
				wp_kses_post( $money( 'refunded' ) ),
				'<strong class="refunder-refundable">' . wp_kses_post( Refunder_Money::format( $refundable, $payment['refundable']['currency'], $payment['refundable']['exponent'] ) ) . '</strong>'
			);
			?>
			<?php if ( 'test' === $payment['mode'] ) : ?>
				<span class="refunder-test"><?php esc_html_e( 'test payment', 'refunder' ); ?></span>
			<?php endif; ?>
		</p>
		<?php if ( ! $can['provider_refund'] && ! empty( $can['reason'] ) ) : ?>
			<p class="refunder-warning refunder-reason"><?php echo esc_html( Refunder_Messages::of( $can['reason'] ) ); ?></p>
		<?php endif; ?>
		<?php if ( $refundable > 0 && ( $can['provider_refund'] || $can['bank_transfer'] ) ) : ?>
			<button type="button" class="button button-primary refunder-open"><?php echo esc_html( 'provider' === $via ? __( 'Refund', 'refunder' ) : __( 'Refund by bank transfer', 'refunder' ) ); ?></button>
		<?php endif; ?>
		<?php if ( 'bank_transfer' !== $can['default_via'] ) : ?>
			<button type="button" class="button refunder-check"><?php esc_html_e( 'Check with provider', 'refunder' ); ?></button>
		<?php endif; ?>
		<?php
		if ( $refundable > 0 ) {
			self::form( $order, $via );
		}
	}

	/** "Amounts as of 14:02" (when WordPress last heard from the service; and the provider, when it was asked). */
	public static function as_of( array $payment ) {
		if ( ! empty( $payment['checked_at'] ) ) {
			/* translators: 1: payment provider, 2: time */
			return sprintf( __( 'Last checked with %1$s at %2$s.', 'refunder' ), Refunder_Messages::name( $payment['provider_label'] ), self::when( strtotime( $payment['checked_at'] ) ) );
		}
		/* translators: %s: time */
		return sprintf( __( 'Amounts as Refunder knew them at %s.', 'refunder' ), self::when( (int) $payment['fetched_at'] ) );
	}

	/** A time in the site's format: the time alone today, else with the date. */
	public static function when( $timestamp ) {
		$format = wp_date( 'Y-m-d', $timestamp ) === wp_date( 'Y-m-d' ) ? get_option( 'time_format' ) : get_option( 'date_format' ) . ' ' . get_option( 'time_format' );
		return wp_date( $format, $timestamp );
	}

	/**
	 * The refund form: everything, an amount or items (with their price including VAT, as the refund is), a
	 * reason, and for a bank transfer its reference.
	 *
	 * @param WC_Order $order The order.
	 * @param string   $via   provider or bank_transfer.
	 */
	private static function form( $order, $via ) {
		$currency = $order->get_currency();
		?>
		<?php // A div, not a form: the order screen is itself one big form, and forms cannot nest. ?>
		<div class="refunder-form" hidden>
			<input type="hidden" name="refunder_via" value="<?php echo esc_attr( $via ); ?>" />
			<fieldset>
				<legend><?php esc_html_e( 'What to refund', 'refunder' ); ?></legend>
				<label><input type="radio" name="refunder_mode" value="full" checked /> <?php esc_html_e( 'Everything that can be refunded', 'refunder' ); ?></label><br />
				<label><input type="radio" name="refunder_mode" value="amount" /> <?php esc_html_e( 'An amount', 'refunder' ); ?></label>
				<input type="text" name="refunder_amount" inputmode="decimal" size="10" aria-label="<?php esc_attr_e( 'Amount', 'refunder' ); ?>" /> <?php echo esc_html( $currency ); ?><br />
				<label><input type="radio" name="refunder_mode" value="items" /> <?php esc_html_e( 'Items', 'refunder' ); ?></label>
				<table class="refunder-items widefat striped">
					<thead>
						<tr>
							<th scope="col"><?php esc_html_e( 'Item', 'refunder' ); ?></th>
							<th scope="col"><?php esc_html_e( 'Total incl. VAT', 'refunder' ); ?></th>
							<th scope="col"><?php esc_html_e( 'Refunded before', 'refunder' ); ?></th>
							<th scope="col"><?php esc_html_e( 'Quantity to refund', 'refunder' ); ?></th>
						</tr>
					</thead>
					<tbody>
					<?php foreach ( $order->get_items() as $item_id => $item ) : $before = absint( $order->get_qty_refunded_for_item( $item_id ) ); ?>
						<tr>
							<td><?php echo esc_html( $item->get_name() ); ?></td>
							<td><?php echo wp_kses_post( wc_price( $order->get_line_total( $item, true, true ), array( 'currency' => $currency ) ) ); ?></td>
							<td><?php echo esc_html( $before . ' / ' . $item->get_quantity() ); ?></td>
							<td><input type="number" min="0" max="<?php echo esc_attr( max( 0, $item->get_quantity() - $before ) ); ?>" value="0" name="refunder_qty[<?php echo esc_attr( $item_id ); ?>]" aria-label="<?php echo esc_attr( sprintf( /* translators: %s: item */ __( 'Quantity of %s to refund', 'refunder' ), $item->get_name() ) ); ?>" /></td>
						</tr>
					<?php endforeach; ?>
					</tbody>
				</table>
			</fieldset>
			<p>
				<label for="refunder-reason-<?php echo esc_attr( $order->get_id() ); ?>"><?php esc_html_e( 'Reason (required)', 'refunder' ); ?></label><br />
				<textarea id="refunder-reason-<?php echo esc_attr( $order->get_id() ); ?>" name="refunder_reason" rows="2" cols="50" required></textarea><br />
				<span class="description"><?php esc_html_e( 'The customer sees the reason on the credit note and in the e-mail.', 'refunder' ); ?></span><br />
				<label><input type="checkbox" name="refunder_reason_internal" value="1" /> <?php esc_html_e( 'Keep the reason internal (not shown to the customer)', 'refunder' ); ?></label>
			</p>
			<?php if ( 'bank_transfer' === $via ) : ?>
				<p>
					<label><?php esc_html_e( 'Bank transfer reference (required: the money is sent by you, from the business account)', 'refunder' ); ?><br />
					<input type="text" name="refunder_bank_reference" size="40" /></label>
				</p>
			<?php endif; ?>
			<button type="button" class="button refunder-review"><?php esc_html_e( 'Review refund', 'refunder' ); ?></button>
			<div class="refunder-review-box" hidden>
				<div class="refunder-review-text"></div>
				<button type="button" class="button button-primary refunder-confirm"><?php echo esc_html( 'provider' === $via ? __( 'Refund', 'refunder' ) : __( 'Record the bank transfer', 'refunder' ) ); ?></button>
				<button type="button" class="button refunder-edit"><?php esc_html_e( 'Edit refund', 'refunder' ); ?></button>
			</div>
		</div>
		<?php
	}

	private static function history( $order ) {
		$refunds = Refunder_Store::for_order( $order->get_id() );
		if ( ! $refunds ) {
			return;
		}
		?>
		<table class="refunder-history widefat striped">
			<thead><tr><th><?php esc_html_e( 'When', 'refunder' ); ?></th><th><?php esc_html_e( 'Amount', 'refunder' ); ?></th><th><?php esc_html_e( 'Status', 'refunder' ); ?></th><th><?php esc_html_e( 'Who and why', 'refunder' ); ?></th></tr></thead>
			<tbody>
			<?php foreach ( array_reverse( $refunds ) as $entry ) : $shown = Refunder_Ajax::present( $entry ); ?>
				<tr class="refunder-refund" data-refund-id="<?php echo esc_attr( $entry['id'] ); ?>" data-final="<?php echo $shown['final'] ? '1' : '0'; ?>">
					<td><?php echo esc_html( mysql2date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), get_date_from_gmt( gmdate( 'Y-m-d H:i:s', strtotime( $entry['created_at'] ) ) ) ) ); ?></td>
					<td><?php echo esc_html( $shown['amount'] ); ?></td>
					<td><span class="refunder-status refunder-status-<?php echo esc_attr( $entry['status'] ); ?>"><?php echo esc_html( $shown['label'] ); ?></span><div class="refunder-status-message"><?php echo esc_html( $shown['message'] ); ?></div></td>
					<td><?php echo esc_html( $entry['actor'] . ': ' . $entry['reason'] ); ?><?php echo $entry['provider_reference'] ? '<br /><code>' . esc_html( $entry['provider_reference'] ) . '</code>' : ''; ?><?php echo 'refunded' === $entry['status'] ? '<br /><a class="refunder-credit-note" href="' . esc_url( Refunder_Credit_Notes::staff_url( $entry['id'] ) ) . '">' . esc_html__( 'Credit note (PDF)', 'refunder' ) . '</a>' : ''; ?></td>
				</tr>
			<?php endforeach; ?>
			</tbody>
		</table>
		<?php
	}
}

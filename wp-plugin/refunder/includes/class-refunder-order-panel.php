<?php
/**
 * The "Refunder" box on the order screen (legacy post.php and HPOS), for users with the refund capability.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Order_Panel {

	public static function register() {
		add_action( 'add_meta_boxes', array( __CLASS__, 'add' ), 30, 2 );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'assets' ) );
	}

	/** Legacy and HPOS order edit screens. */
	public static function screens() {
		$screens = array( 'shop_order', 'woocommerce_page_wc-orders' );
		if ( function_exists( 'wc_get_page_screen_id' ) ) {
			$screens[] = wc_get_page_screen_id( 'shop-order' );
		}
		return array_values( array_unique( $screens ) );
	}

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
					'failed'     => __( 'Something went wrong. Reload the page and try again.', 'refunder' ),
					'reviewText' => __( 'You are about to refund', 'refunder' ),
					'through'    => __( 'through', 'refunder' ),
					'reason'     => __( 'Reason', 'refunder' ),
					'left'       => __( 'Left to refund afterwards', 'refunder' ),
				),
			)
		);
	}

	/** @param WP_Post|WC_Order $object The order (HPOS) or its post (legacy). */
	public static function render( $object ) {
		$order = $object instanceof WP_Post ? wc_get_order( $object->ID ) : $object;
		if ( ! $order ) {
			return;
		}
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			self::notice( $client->get_error_message() );
			return;
		}
		Refunder_Books::refresh( $order->get_id(), $client );
		$summary = Refunder_Payments::summary( $order, $client );
		if ( is_wp_error( $summary ) ) {
			self::notice( $summary->get_error_message() );
			self::history( wc_get_order( $order->get_id() ) );
			return;
		}
		$currency   = $order->get_currency();
		$money      = fn( $key ) => Refunder_Money::format( (int) $summary[ $key ]['value'], $currency );
		$refundable = min( (int) $summary['refundable']['value'], Refunder_Books::woocommerce_left( $order ) ); // never more than WooCommerce shows left
		?>
		<div class="refunder-panel" data-order-id="<?php echo esc_attr( $order->get_id() ); ?>" data-nonce="<?php echo esc_attr( wp_create_nonce( Refunder_Ajax::nonce_action( $order->get_id() ) ) ); ?>">
			<p class="refunder-summary">
				<?php
				printf(
					/* translators: 1: provider, 2: captured, 3: refunded, 4: refundable */
					esc_html__( 'Paid with %1$s: %2$s captured, %3$s refunded, %4$s can be refunded.', 'refunder' ),
					'<strong>' . esc_html( $summary['provider_label'] ) . '</strong>',
					wp_kses_post( $money( 'captured' ) ),
					wp_kses_post( $money( 'refunded' ) ),
					'<strong class="refunder-refundable">' . wp_kses_post( Refunder_Money::format( $refundable, $currency ) ) . '</strong>'
				);
				?>
			</p>
			<?php if ( ! $summary['refund_window_open'] ) : ?>
				<p class="refunder-warning"><?php esc_html_e( "The provider's refund period for this payment has ended. Refund the customer by bank transfer instead.", 'refunder' ); ?></p>
			<?php endif; ?>
			<?php if ( $refundable > 0 ) : ?>
				<button type="button" class="button button-primary refunder-open"><?php esc_html_e( 'Refund', 'refunder' ); ?></button>
				<?php self::form( $order, 'manual' === $summary['provider'] ); ?>
			<?php endif; ?>
			<div class="refunder-message" role="status" aria-live="polite"></div>
			<?php self::history( wc_get_order( $order->get_id() ) ); ?>
		</div>
		<?php
	}

	private static function form( $order, $manual ) {
		$currency = $order->get_currency();
		?>
		<?php // A div, not a form: the order screen is itself one big form, and forms cannot nest. ?>
		<div class="refunder-form" hidden>
			<fieldset>
				<legend><?php esc_html_e( 'What to refund', 'refunder' ); ?></legend>
				<label><input type="radio" name="refunder_mode" value="full" checked /> <?php esc_html_e( 'Everything that can be refunded', 'refunder' ); ?></label><br />
				<label><input type="radio" name="refunder_mode" value="amount" /> <?php esc_html_e( 'An amount', 'refunder' ); ?></label>
				<input type="text" name="refunder_amount" inputmode="decimal" size="10" aria-label="<?php esc_attr_e( 'Amount', 'refunder' ); ?>" /> <?php echo esc_html( $currency ); ?><br />
				<label><input type="radio" name="refunder_mode" value="items" /> <?php esc_html_e( 'Items', 'refunder' ); ?></label>
				<table class="refunder-items widefat striped">
					<?php foreach ( $order->get_items() as $item_id => $item ) : ?>
						<tr>
							<td><?php echo esc_html( $item->get_name() ); ?></td>
							<td><?php echo wp_kses_post( wc_price( $item->get_total(), array( 'currency' => $currency ) ) ); ?></td>
							<td><input type="number" min="0" max="<?php echo esc_attr( $item->get_quantity() ); ?>" value="0" name="refunder_qty[<?php echo esc_attr( $item_id ); ?>]" aria-label="<?php echo esc_attr( sprintf( /* translators: %s: item */ __( 'Quantity of %s to refund', 'refunder' ), $item->get_name() ) ); ?>" /> / <?php echo esc_html( $item->get_quantity() ); ?></td>
						</tr>
					<?php endforeach; ?>
				</table>
			</fieldset>
			<p>
				<label for="refunder-reason-<?php echo esc_attr( $order->get_id() ); ?>"><?php esc_html_e( 'Reason (required)', 'refunder' ); ?></label><br />
				<textarea id="refunder-reason-<?php echo esc_attr( $order->get_id() ); ?>" name="refunder_reason" rows="2" cols="50" required></textarea><br />
				<span class="description"><?php esc_html_e( 'The customer sees the reason on the credit note and in the e-mail.', 'refunder' ); ?></span><br />
				<label><input type="checkbox" name="refunder_reason_internal" value="1" /> <?php esc_html_e( 'Keep the reason internal (not shown to the customer)', 'refunder' ); ?></label>
			</p>
			<?php if ( $manual ) : ?>
				<p>
					<label><?php esc_html_e( 'Bank transfer reference (required: the money is sent by you, from the business account)', 'refunder' ); ?><br />
					<input type="text" name="refunder_bank_reference" size="40" /></label>
				</p>
			<?php endif; ?>
			<button type="button" class="button refunder-review"><?php esc_html_e( 'Review refund', 'refunder' ); ?></button>
			<div class="refunder-review-box" hidden>
				<div class="refunder-review-text"></div>
				<button type="button" class="button button-primary refunder-confirm"><?php esc_html_e( 'Refund', 'refunder' ); ?></button>
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

	private static function notice( $message ) {
		printf( '<div class="notice notice-error inline refunder-error"><p>%s</p></div>', esc_html( $message ) );
	}
}

<?php
/**
 * The Bulk refund page under WooCommerce's menu: the review of a selection (count, totals per provider, what
 * cannot be refunded and why, in the admin's language), the form for every booking of one event (WooCommerce's
 * own product search and a date), and the progress of a running job with why any booking was not refunded
 * (assets/refunder-bulk.js).
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Bulk_Page {

	/** @var string The page's hook suffix (its screen id), once the menu is registered. */
	private static $hook = '';

	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ), 60 ); // after WooCommerce's own entries.
		add_filter( 'woocommerce_screen_ids', array( __CLASS__, 'screen_ids' ) );
		add_action( 'admin_enqueue_scripts', array( __CLASS__, 'assets' ) );
	}

	public static function menu() {
		self::$hook = (string) add_submenu_page( 'woocommerce', __( 'Bulk refund', 'refunder' ), __( 'Bulk refund', 'refunder' ), REFUNDER_CAPABILITY, Refunder_Bulk::PAGE, array( __CLASS__, 'render' ) );
	}

	/** A WooCommerce screen: its admin styles and enhanced selects (the product search) load on it. */
	public static function screen_ids( $ids ) {
		if ( self::$hook ) {
			$ids[] = self::$hook;
		}
		return $ids;
	}

	public static function assets( $hook ) {
		if ( ! self::$hook || self::$hook !== $hook || ! current_user_can( REFUNDER_CAPABILITY ) ) {
			return;
		}
		wp_enqueue_script( 'wc-enhanced-select' ); // WooCommerce's product search (selectWoo), registered by WooCommerce.
		wp_enqueue_script( 'refunder-bulk', plugin_dir_url( REFUNDER_FILE ) . 'assets/refunder-bulk.js', array(), REFUNDER_VERSION, true );
		wp_localize_script(
			'refunder-bulk',
			'RefunderBulk',
			array(
				'ajaxUrl' => admin_url( 'admin-ajax.php' ),
				'pollMs'  => 2000,
				'retryMs' => 10000,
				'i18n'    => array(
					'failed'      => __( 'Something went wrong. Reload the page and try again.', 'refunder' ),
					'unreachable' => __( 'WordPress did not answer. Trying again…', 'refunder' ),
				),
			)
		);
	}

	public static function render() {
		Refunder_Bulk::guard();
		echo '<div class="wrap refunder-bulk"><h1>' . esc_html__( 'Bulk refund', 'refunder' ) . '</h1>';
		$job = isset( $_GET['job'] ) ? sanitize_text_field( wp_unslash( $_GET['job'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- a read-only view, checked by capability.
		if ( $job ) {
			self::render_progress( $job );
		} else {
			self::render_review( isset( $_GET['selection'] ) ? sanitize_key( wp_unslash( $_GET['selection'] ) ) : '' ); // phpcs:ignore WordPress.Security.NonceVerification -- as above.
		}
		echo '</div>';
	}

	private static function notice( $message ) {
		printf( '<div class="notice notice-error"><p>%s</p></div>', esc_html( $message ) );
	}

	private static function render_review( $selection ) {
		$ids = Refunder_Bulk::chosen( $selection );
		if ( ! $ids ) {
			echo '<p>' . esc_html__( 'Choose the orders in the order list, then the bulk action "Refunder".', 'refunder' ) . '</p>';
			self::render_event_form();
			return;
		}
		$plan = Refunder_Bulk_Jobs::plan( $ids );
		if ( is_wp_error( $plan ) ) {
			self::notice( $plan->get_error_message() );
			return;
		}
		/* translators: 1: number of orders chosen, 2: number that can be refunded */
		$count = _n( '%1$d order chosen, %2$d can be refunded.', '%1$d orders chosen, %2$d can be refunded.', count( $ids ), 'refunder' );
		echo '<p class="refunder-bulk-count">' . esc_html( sprintf( $count, count( $ids ), $plan['refundable'] ) ) . '</p>';
		echo '<table class="widefat striped refunder-bulk-totals"><thead><tr><th>' . esc_html__( 'Provider', 'refunder' ) . '</th><th>' . esc_html__( 'Bookings', 'refunder' ) . '</th><th>' . esc_html__( 'Total', 'refunder' ) . '</th></tr></thead><tbody>';
		foreach ( $plan['totals'] as $total ) {
			$money = $total['total'];
			printf( '<tr><td>%s</td><td>%d</td><td>%s</td></tr>', esc_html( Refunder_Bulk_Report::provider( $total ) ), (int) $total['count'], esc_html( Refunder_Money::text( (int) $money['value'], $money['currency'], $money['exponent'] ?? null ) ) );
		}
		echo '</tbody></table>';
		$problems = array_filter( $plan['lines'], fn( $l ) => ! empty( $l['problem'] ) );
		if ( $problems ) {
			echo '<h2>' . esc_html__( 'Cannot be refunded here', 'refunder' ) . '</h2><ul class="refunder-bulk-problems">';
			foreach ( $problems as $line ) {
				$why = is_array( $line['reason'] ?? null ) ? Refunder_Messages::of( $line['reason'] ) : (string) $line['problem'];
				/* translators: 1: order number, 2: why */
				echo '<li>' . esc_html( sprintf( __( 'Order %1$s: %2$s', 'refunder' ), $line['order_id'], $why ) ) . '</li>';
			}
			echo '</ul>';
		}
		if ( $plan['refundable'] > 0 ) {
			?>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="refunder_bulk_start" />
				<input type="hidden" name="selection" value="<?php echo esc_attr( $selection ); ?>" />
				<?php wp_nonce_field( 'refunder_bulk_start' ); ?>
				<p><label><?php esc_html_e( 'Reason (required)', 'refunder' ); ?><br /><textarea name="reason" rows="2" cols="60" required></textarea></label></p>
				<?php submit_button( __( 'Start refunds', 'refunder' ) ); ?>
			</form>
			<?php
		}
	}

	/** Or every booking of one event: a product (WooCommerce's product search) and a day, answered by the booking system. */
	private static function render_event_form() {
		?>
		<h2><?php esc_html_e( 'All bookings of one event', 'refunder' ); ?></h2>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="refunder-bulk-event">
			<input type="hidden" name="action" value="refunder_bulk_event" />
			<?php wp_nonce_field( 'refunder_bulk_event' ); ?>
			<p class="description"><?php esc_html_e( 'The paid bookings of the product on that day, as WooCommerce Bookings (or your booking system) knows them.', 'refunder' ); ?></p>
			<p>
				<label for="refunder-bulk-product"><?php esc_html_e( 'Booking product', 'refunder' ); ?></label><br />
				<select id="refunder-bulk-product" class="wc-product-search" name="product_id" style="width: 25em;" required data-placeholder="<?php esc_attr_e( 'Search for a product…', 'refunder' ); ?>" data-action="woocommerce_json_search_products_and_variations" data-allow_clear="true"></select>
			</p>
			<p>
				<label for="refunder-bulk-date"><?php esc_html_e( 'Date', 'refunder' ); ?></label><br />
				<input type="date" id="refunder-bulk-date" name="date" required />
			</p>
			<?php submit_button( __( 'Find the bookings', 'refunder' ), 'secondary', 'find', false ); ?>
		</form>
		<?php
	}

	private static function render_progress( $job ) {
		?>
		<div class="refunder-bulk-progress" data-job="<?php echo esc_attr( $job ); ?>" data-nonce="<?php echo esc_attr( wp_create_nonce( Refunder_Bulk::nonce_action( $job ) ) ); ?>">
			<progress max="1" value="0"></progress> <span class="refunder-bulk-text"><?php esc_html_e( 'Working…', 'refunder' ); ?></span>
			<div class="refunder-bulk-problems" hidden>
				<h2><?php esc_html_e( 'Not refunded', 'refunder' ); ?></h2>
				<ul></ul>
			</div>
			<p class="refunder-bulk-report" hidden><a class="button" href="<?php echo esc_url( wp_nonce_url( admin_url( 'admin-post.php?action=refunder_bulk_report&job=' . rawurlencode( $job ) ), Refunder_Bulk::nonce_action( $job ) ) ); ?>"><?php esc_html_e( 'Download the report (CSV)', 'refunder' ); ?></a></p>
		</div>
		<?php
	}
}

<?php
/**
 * Bulk refunds: the "Refunder" bulk action in the order list, a review page (count, totals per provider,
 * what cannot be refunded and why), then a progress bar while the service works through the bookings,
 * and a CSV report at the end. WooCommerce records each refund on its order as it completes.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Bulk {

	const PAGE   = 'refunder-bulk';
	const ACTION = 'refunder_bulk';
	const TTL    = 3600;

	public static function register() {
		foreach ( array( 'edit-shop_order', 'woocommerce_page_wc-orders' ) as $screen ) {
			add_filter( "bulk_actions-$screen", array( __CLASS__, 'bulk_action' ) );
			add_filter( "handle_bulk_actions-$screen", array( __CLASS__, 'handle' ), 10, 3 );
		}
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_post_refunder_bulk_start', array( __CLASS__, 'start' ) );
		add_action( 'admin_post_refunder_bulk_event', array( __CLASS__, 'choose_event' ) );
		add_action( 'admin_post_refunder_bulk_report', array( __CLASS__, 'report' ) );
		add_action( 'wp_ajax_refunder_bulk_status', array( __CLASS__, 'status' ) );
	}

	public static function bulk_action( $actions ) {
		if ( current_user_can( REFUNDER_CAPABILITY ) ) {
			$actions[ self::ACTION ] = __( 'Refunder', 'refunder' );
		}
		return $actions;
	}

	/** Remembers the chosen orders and opens the review page. */
	public static function handle( $redirect, $action, $ids ) {
		if ( self::ACTION !== $action || ! current_user_can( REFUNDER_CAPABILITY ) ) {
			return $redirect;
		}
		$selection = wp_generate_uuid4();
		set_transient( self::key( $selection ), array_map( 'absint', (array) $ids ), self::TTL );
		return admin_url( 'admin.php?page=' . self::PAGE . '&selection=' . $selection );
	}

	private static function key( $selection ) {
		return 'refunder_bulk_' . get_current_user_id() . '_' . sanitize_key( $selection );
	}

	public static function menu() {
		add_submenu_page( '', __( 'Bulk refund', 'refunder' ), __( 'Bulk refund', 'refunder' ), REFUNDER_CAPABILITY, self::PAGE, array( __CLASS__, 'render' ) );
	}

	private static function guard() {
		if ( ! current_user_can( REFUNDER_CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to refund orders. Ask an administrator for the refund permission.', 'refunder' ), 403 );
		}
	}

	/** @return array<int, array> lines for the service: order id, payment id */
	private static function lines( array $ids, $client ) {
		$lines = array();
		foreach ( $ids as $id ) {
			$order   = wc_get_order( $id );
			$summary = $order ? Refunder_Payments::summary( $order, $client ) : null;
			$lines[] = array( 'order_id' => (string) $id, 'payment_id' => is_array( $summary ) ? $summary['id'] : null );
		}
		return $lines;
	}

	public static function render() {
		self::guard();
		echo '<div class="wrap refunder-bulk"><h1>' . esc_html__( 'Bulk refund', 'refunder' ) . '</h1>';
		$client = Refunder_Client::configured();
		if ( is_wp_error( $client ) ) {
			printf( '<div class="notice notice-error"><p>%s</p></div></div>', esc_html( $client->get_error_message() ) );
			return;
		}
		$job = isset( $_GET['job'] ) ? sanitize_text_field( wp_unslash( $_GET['job'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification -- a read-only view, checked by capability.
		if ( $job ) {
			self::render_progress( $job );
		} else {
			self::render_review( $client, isset( $_GET['selection'] ) ? sanitize_key( wp_unslash( $_GET['selection'] ) ) : '' ); // phpcs:ignore WordPress.Security.NonceVerification -- as above.
		}
		echo '</div>';
	}

	private static function render_review( $client, $selection ) {
		$ids = get_transient( self::key( $selection ) );
		if ( ! is_array( $ids ) || ! $ids ) {
			echo '<p>' . esc_html__( 'Choose the orders in the order list, then the bulk action "Refunder".', 'refunder' ) . '</p>';
			self::render_event_form();
			return;
		}
		$plan = $client->call( 'POST', '/v1/bulk-refunds/plan', array( 'lines' => self::lines( $ids, $client ) ) );
		if ( is_wp_error( $plan ) ) {
			printf( '<div class="notice notice-error"><p>%s</p></div>', esc_html( $plan->get_error_message() ) );
			return;
		}
		/* translators: 1: number of orders chosen, 2: number that can be refunded */
		echo '<p class="refunder-bulk-count">' . esc_html( sprintf( __( '%1$d orders chosen, %2$d can be refunded.', 'refunder' ), count( $ids ), $plan['refundable'] ) ) . '</p>';
		echo '<table class="widefat striped refunder-bulk-totals"><thead><tr><th>' . esc_html__( 'Provider', 'refunder' ) . '</th><th>' . esc_html__( 'Bookings', 'refunder' ) . '</th><th>' . esc_html__( 'Total', 'refunder' ) . '</th></tr></thead><tbody>';
		foreach ( $plan['totals'] as $total ) {
			printf( '<tr><td>%s</td><td>%d</td><td>%s</td></tr>', esc_html( $total['provider'] ), (int) $total['count'], esc_html( Refunder_Money::text( (int) $total['total']['value'], $total['total']['currency'] ) ) );
		}
		echo '</tbody></table>';
		$problems = array_filter( $plan['lines'], fn( $l ) => ! empty( $l['problem'] ) );
		if ( $problems ) {
			echo '<h2>' . esc_html__( 'Cannot be refunded here', 'refunder' ) . '</h2><ul class="refunder-bulk-problems">';
			foreach ( $problems as $line ) {
				/* translators: 1: order number, 2: why */
				echo '<li>' . esc_html( sprintf( __( 'Order %1$s: %2$s', 'refunder' ), $line['order_id'], $line['problem'] ) ) . '</li>';
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

	/** Or every booking of one event: a product and a date, answered by the booking system. */
	private static function render_event_form() {
		?>
		<h2><?php esc_html_e( 'All bookings of one event', 'refunder' ); ?></h2>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>" class="refunder-bulk-event">
			<input type="hidden" name="action" value="refunder_bulk_event" />
			<?php wp_nonce_field( 'refunder_bulk_event' ); ?>
			<p class="description"><?php esc_html_e( 'The paid bookings of the product on that day, as WooCommerce Bookings (or your booking system) knows them.', 'refunder' ); ?></p>
			<label><?php esc_html_e( 'Booking product ID', 'refunder' ); ?> <input type="number" name="product_id" min="1" required /></label>
			<label><?php esc_html_e( 'Date', 'refunder' ); ?> <input type="date" name="date" required /></label>
			<?php submit_button( __( 'Find the bookings', 'refunder' ), 'secondary', 'find', false ); ?>
		</form>
		<?php
	}

	/**
	 * The orders of one event. WooCommerce Bookings is answered by Refunder_Event_Orders; other booking
	 * plugins answer: add_filter( 'refunder_event_orders', fn( $ids, $product_id, $date ) => ..., 10, 3 ).
	 *
	 * @return int[]
	 */
	public static function event_orders( $product_id, $date ) {
		return array_values( array_unique( array_map( 'absint', (array) apply_filters( 'refunder_event_orders', array(), $product_id, $date ) ) ) );
	}

	public static function choose_event() {
		self::guard();
		check_admin_referer( 'refunder_bulk_event' );
		$product_id = isset( $_POST['product_id'] ) ? absint( $_POST['product_id'] ) : 0;
		$date       = isset( $_POST['date'] ) ? sanitize_text_field( wp_unslash( $_POST['date'] ) ) : '';
		$ids        = preg_match( '/^\d{4}-\d{2}-\d{2}$/', $date ) ? self::event_orders( $product_id, $date ) : array();
		if ( ! $ids ) {
			wp_die( esc_html__( 'No paid bookings were found for that product and date. WooCommerce Bookings is read directly; other booking systems tell Refunder their bookings through the refunder_event_orders filter.', 'refunder' ), '', array( 'response' => 404, 'back_link' => true ) );
		}
		$selection = wp_generate_uuid4();
		set_transient( self::key( $selection ), $ids, self::TTL );
		wp_safe_redirect( admin_url( 'admin.php?page=' . self::PAGE . '&selection=' . $selection ) );
		exit;
	}

	public static function start() {
		self::guard();
		check_admin_referer( 'refunder_bulk_start' );
		$selection = isset( $_POST['selection'] ) ? sanitize_key( wp_unslash( $_POST['selection'] ) ) : '';
		$reason    = isset( $_POST['reason'] ) ? sanitize_textarea_field( wp_unslash( $_POST['reason'] ) ) : '';
		$ids       = get_transient( self::key( $selection ) );
		$client    = Refunder_Client::configured();
		if ( ! is_array( $ids ) || '' === trim( $reason ) || is_wp_error( $client ) ) {
			wp_die( esc_html__( 'Give the reason for the refund.', 'refunder' ), 422 );
		}
		$job = $client->call(
			'POST',
			'/v1/bulk-refunds',
			array( 'lines' => self::lines( $ids, $client ), 'reason' => $reason, 'actor' => Refunder_Payments::actor( wp_get_current_user() ) ),
			array( 'Idempotency-Key' => 'wp-bulk-' . $selection ) // a second click starts nothing new.
		);
		if ( is_wp_error( $job ) ) {
			wp_die( esc_html( $job->get_error_message() ), Refunder_Client::status( $job ) );
		}
		wp_safe_redirect( admin_url( 'admin.php?page=' . self::PAGE . '&job=' . rawurlencode( $job['id'] ) ) );
		exit;
	}

	private static function render_progress( $job ) {
		$nonce = wp_create_nonce( 'refunder_bulk_' . $job );
		?>
		<div class="refunder-bulk-progress" data-job="<?php echo esc_attr( $job ); ?>" data-nonce="<?php echo esc_attr( $nonce ); ?>" data-ajax="<?php echo esc_url( admin_url( 'admin-ajax.php' ) ); ?>">
			<progress max="1" value="0"></progress> <span class="refunder-bulk-text"><?php esc_html_e( 'Working…', 'refunder' ); ?></span>
			<p class="refunder-bulk-report" hidden><a class="button" href="<?php echo esc_url( wp_nonce_url( admin_url( 'admin-post.php?action=refunder_bulk_report&job=' . rawurlencode( $job ) ), 'refunder_bulk_' . $job ) ); ?>"><?php esc_html_e( 'Download the report (CSV)', 'refunder' ); ?></a></p>
		</div>
		<script>
		(function () {
			var box = document.querySelector('.refunder-bulk-progress');
			function poll() {
				var body = new FormData();
				body.append('action', 'refunder_bulk_status'); body.append('job', box.dataset.job); body.append('nonce', box.dataset.nonce);
				fetch(box.dataset.ajax, { method: 'POST', body: body, credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (json) {
					if (!json.success) { box.querySelector('.refunder-bulk-text').textContent = json.data.message; return; }
					box.querySelector('progress').max = json.data.total; box.querySelector('progress').value = json.data.finished;
					box.querySelector('.refunder-bulk-text').textContent = json.data.text;
					if (json.data.done) { box.querySelector('.refunder-bulk-report').hidden = false; } else { window.setTimeout(poll, 2000); }
				});
			}
			poll();
		}());
		</script>
		<?php
	}

	/** Progress for the bar; refunds that completed are recorded on their orders in WooCommerce. */
	public static function status() {
		$job = isset( $_POST['job'] ) ? sanitize_text_field( wp_unslash( $_POST['job'] ) ) : '';
		Refunder_Ajax::require_access( 'refunder_bulk_' . $job );
		$client = Refunder_Client::configured();
		$view   = is_wp_error( $client ) ? $client : $client->call( 'GET', '/v1/bulk-refunds/' . rawurlencode( $job ) );
		if ( is_wp_error( $view ) ) {
			wp_send_json_error( array( 'message' => $view->get_error_message() ), Refunder_Client::status( $view ) );
		}
		self::record( $view, $client );
		$counts = $view['counts'];
		wp_send_json_success(
			array(
				'total'    => (int) $view['total'],
				'finished' => (int) $view['finished'],
				'done'     => 'done' === $view['status'] && (int) $view['finished'] === (int) $view['total'],
				/* translators: 1: done, 2: total, 3: refunded, 4: failed, 5: skipped */
				'text'     => sprintf( __( '%1$d of %2$d done: %3$d refunded, %4$d failed, %5$d skipped.', 'refunder' ), $view['finished'], $view['total'], $counts['refunded'] ?? 0, $counts['failed'] ?? 0, $counts['skipped'] ?? 0 ),
			)
		);
	}

	/** Each refund the job made, on its order (WooCommerce records it once it is refunded). */
	private static function record( array $view, $client ) {
		foreach ( $view['items'] as $item ) {
			if ( empty( $item['refund_id'] ) ) {
				continue;
			}
			$order = wc_get_order( (int) $item['order_id'] );
			$known = Refunder_Store::get( $item['refund_id'] );
			if ( ! $order || ( $known && ! Refunder_Books::unsettled( $known ) ) ) {
				continue;
			}
			$refund = $client->call( 'GET', '/v1/refunds/' . rawurlencode( $item['refund_id'] ) );
			if ( ! is_wp_error( $refund ) ) {
				Refunder_Books::remember( $order, $refund );
			}
		}
	}

	public static function report() {
		self::guard();
		$job = isset( $_GET['job'] ) ? sanitize_text_field( wp_unslash( $_GET['job'] ) ) : '';
		check_admin_referer( 'refunder_bulk_' . $job );
		$client = Refunder_Client::configured();
		$csv    = is_wp_error( $client ) ? $client : $client->call_raw( 'GET', '/v1/bulk-refunds/' . rawurlencode( $job ) . '/report.csv' );
		if ( is_wp_error( $csv ) ) {
			wp_die( esc_html( $csv->get_error_message() ), Refunder_Client::status( $csv ) );
		}
		nocache_headers();
		header( 'Content-Type: text/csv; charset=utf-8' );
		header( 'Content-Disposition: attachment; filename="refunder-' . sanitize_file_name( $job ) . '.csv"' );
		echo $csv; // phpcs:ignore WordPress.Security.EscapeOutput -- a CSV file, not HTML.
		exit;
	}
}

<?php
/**
 * What the Bulk refund page sends: one event's bookings chosen, the job started, its progress for the bar
 * (admin-ajax) and its CSV report. Capability and nonce first, every time.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Bulk_Actions {

	public static function register() {
		add_action( 'admin_post_refunder_bulk_event', array( __CLASS__, 'choose_event' ) );
		add_action( 'admin_post_refunder_bulk_start', array( __CLASS__, 'start' ) );
		add_action( 'admin_post_refunder_bulk_report', array( __CLASS__, 'report' ) );
		add_action( 'wp_ajax_refunder_bulk_status', array( __CLASS__, 'status' ) );
	}

	public static function choose_event() {
		Refunder_Bulk::guard();
		check_admin_referer( 'refunder_bulk_event' );
		$product_id = isset( $_POST['product_id'] ) ? absint( $_POST['product_id'] ) : 0;
		$date       = isset( $_POST['date'] ) ? sanitize_text_field( wp_unslash( $_POST['date'] ) ) : '';
		$ids        = $product_id && preg_match( '/^\d{4}-\d{2}-\d{2}$/', $date ) ? Refunder_Bulk::event_orders( $product_id, $date ) : array();
		if ( ! $ids ) {
			wp_die( esc_html__( 'No paid bookings were found for that product and date. WooCommerce Bookings is read directly; other booking systems tell Refunder their bookings through the refunder_event_orders filter.', 'refunder' ), '', array( 'response' => 404, 'back_link' => true ) );
		}
		wp_safe_redirect( Refunder_Bulk::review_url( Refunder_Bulk::choose( $ids ) ) );
		exit;
	}

	public static function start() {
		Refunder_Bulk::guard();
		check_admin_referer( 'refunder_bulk_start' );
		$selection = isset( $_POST['selection'] ) ? sanitize_key( wp_unslash( $_POST['selection'] ) ) : '';
		$reason    = isset( $_POST['reason'] ) ? sanitize_textarea_field( wp_unslash( $_POST['reason'] ) ) : '';
		$ids       = Refunder_Bulk::chosen( $selection );
		if ( ! $ids ) {
			wp_die( esc_html__( 'This selection has expired. Choose the orders again.', 'refunder' ), '', array( 'response' => 410, 'back_link' => true ) );
		}
		if ( '' === trim( $reason ) ) {
			wp_die( esc_html__( 'Give the reason for the refund.', 'refunder' ), '', array( 'response' => 422, 'back_link' => true ) );
		}
		$job = Refunder_Bulk_Jobs::start( $ids, $selection, $reason ); // a second click starts nothing new.
		if ( is_wp_error( $job ) ) {
			wp_die( esc_html( $job->get_error_message() ), '', array( 'response' => Refunder_Client::status( $job ), 'back_link' => true ) );
		}
		wp_safe_redirect( Refunder_Bulk::job_url( $job['id'] ) );
		exit;
	}

	/** Progress for the bar; refunds that completed are recorded on their orders in WooCommerce. */
	public static function status() {
		$job = isset( $_POST['job'] ) ? sanitize_text_field( wp_unslash( $_POST['job'] ) ) : '';
		Refunder_Ajax::require_access( Refunder_Bulk::nonce_action( $job ) );
		$view = Refunder_Bulk_Jobs::progress( $job );
		if ( is_wp_error( $view ) ) {
			wp_send_json_error( array( 'message' => $view->get_error_message() ), Refunder_Client::status( $view ) );
		}
		wp_send_json_success(
			array(
				'total'    => (int) $view['total'],
				'finished' => (int) $view['finished'],
				'done'     => 'done' === $view['status'] && (int) $view['finished'] === (int) $view['total'],
				'text'     => self::progress_text( $view ),
				'problems' => Refunder_Bulk_Report::problems( $view ),
			)
		);
	}

	/** The job's state in the admin's words. */
	public static function progress_text( array $view ) {
		$counts = $view['counts'];
		if ( 'queued' === $view['status'] && 0 === (int) $view['finished'] ) {
			return __( 'Waiting for the Refunder worker to start…', 'refunder' );
		}
		/* translators: 1: done, 2: total, 3: refunded, 4: failed, 5: skipped */
		$text  = sprintf( __( '%1$d of %2$d done: %3$d refunded, %4$d failed, %5$d skipped.', 'refunder' ), $view['finished'], $view['total'], $counts['refunded'] ?? 0, $counts['failed'] ?? 0, $counts['skipped'] ?? 0 );
		$going = (int) ( $counts['processing'] ?? 0 ) + (int) ( $counts['unknown'] ?? 0 );
		if ( $going ) {
			/* translators: %d: refunds sent that the provider has not confirmed yet */
			$text .= ' ' . sprintf( _n( 'Waiting for the provider to confirm %d refund.', 'Waiting for the provider to confirm %d refunds.', $going, 'refunder' ), $going );
		}
		return $text;
	}

	public static function report() {
		Refunder_Bulk::guard();
		$job = isset( $_GET['job'] ) ? sanitize_text_field( wp_unslash( $_GET['job'] ) ) : '';
		check_admin_referer( Refunder_Bulk::nonce_action( $job ) );
		$csv = Refunder_Bulk_Jobs::report( $job );
		if ( is_wp_error( $csv ) ) {
			wp_die( esc_html( $csv->get_error_message() ), '', array( 'response' => Refunder_Client::status( $csv ), 'back_link' => true ) );
		}
		nocache_headers();
		header( 'Content-Type: text/csv; charset=utf-8' );
		header( 'Content-Disposition: attachment; filename="refunder-' . sanitize_file_name( $job ) . '.csv"' );
		echo $csv; // phpcs:ignore WordPress.Security.EscapeOutput -- a CSV file, not HTML.
		exit;
	}
}

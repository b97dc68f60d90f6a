<?php
/**
 * WooCommerce → Refund journal: every refund of a period across providers, with its credit note, totals per
 * provider and VAT rate, and CSV for a Norwegian or an English spreadsheet. The Refunder service keeps the books.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Journal {

	const PAGE = 'refunder-journal';

	public static function register() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ), 60 );
		add_action( 'admin_post_refunder_journal_csv', array( __CLASS__, 'csv' ) );
	}

	public static function menu() {
		add_submenu_page( 'woocommerce', __( 'Refund journal', 'refunder' ), __( 'Refund journal', 'refunder' ), REFUNDER_CAPABILITY, self::PAGE, array( __CLASS__, 'render' ) );
	}

	private static function guard() {
		if ( ! current_user_can( REFUNDER_CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to refund orders. Ask an administrator for the refund permission.', 'refunder' ), 403 );
		}
	}

	/** @return string[] from and to (Y-m-d), this month unless asked otherwise. */
	private static function period() {
		$date  = fn( $key, $default ) => isset( $_GET[ $key ] ) && preg_match( '/^\d{4}-\d{2}-\d{2}$/', (string) wp_unslash( $_GET[ $key ] ) ) ? (string) wp_unslash( $_GET[ $key ] ) : $default; // phpcs:ignore WordPress.Security.NonceVerification,WordPress.Security.ValidatedSanitizedInput -- a date, checked by its pattern.
		$today = current_datetime();
		return array( $date( 'from', $today->format( 'Y-m-01' ) ), $date( 'to', $today->format( 'Y-m-t' ) ) );
	}

	private static function target( $from, $to, $format, $lang ) {
		$zone = wp_timezone_string();
		return '/v1/journal?' . http_build_query(
			array(
				'from'     => $from,
				'to'       => $to,
				'format'   => $format,
				'lang'     => $lang,
				'timezone' => preg_match( '/^[A-Za-z_]+\/[A-Za-z_\/-]+$|^UTC$/', $zone ) ? $zone : 'UTC',
			),
			'',
			'&',
			PHP_QUERY_RFC3986
		);
	}

	public static function render() {
		self::guard();
		list( $from, $to ) = self::period();
		echo '<div class="wrap refunder-journal"><h1>' . esc_html__( 'Refund journal', 'refunder' ) . '</h1>';
		?>
		<form method="get" class="refunder-journal-period">
			<input type="hidden" name="page" value="<?php echo esc_attr( self::PAGE ); ?>" />
			<label><?php esc_html_e( 'From', 'refunder' ); ?> <input type="date" name="from" value="<?php echo esc_attr( $from ); ?>" /></label>
			<label><?php esc_html_e( 'To', 'refunder' ); ?> <input type="date" name="to" value="<?php echo esc_attr( $to ); ?>" /></label>
			<?php submit_button( __( 'Show', 'refunder' ), 'secondary', '', false ); ?>
		</form>
		<?php
		$client  = Refunder_Client::configured();
		$journal = is_wp_error( $client ) ? $client : $client->call( 'GET', self::target( $from, $to, 'json', 'nb' ) );
		if ( is_wp_error( $journal ) ) {
			printf( '<div class="notice notice-error"><p>%s</p></div></div>', esc_html( $journal->get_error_message() ) );
			return;
		}
		foreach ( array( 'nb' => __( 'Export CSV (Norwegian Excel)', 'refunder' ), 'en' => __( 'Export CSV (English)', 'refunder' ) ) as $lang => $label ) {
			$url = wp_nonce_url( add_query_arg( array( 'action' => 'refunder_journal_csv', 'from' => $from, 'to' => $to, 'lang' => $lang ), admin_url( 'admin-post.php' ) ), 'refunder_journal_csv' );
			echo '<a class="button refunder-journal-csv-' . esc_attr( $lang ) . '" href="' . esc_url( $url ) . '">' . esc_html( $label ) . '</a> ';
		}
		self::rows( $journal['rows'] );
		self::totals( $journal );
		echo '</div>';
	}

	private static function rows( array $rows ) {
		if ( ! $rows ) {
			echo '<p>' . esc_html__( 'No refunds in this period.', 'refunder' ) . '</p>';
			return;
		}
		$kinds   = array(
			'credit_note'  => __( 'Credit note', 'refunder' ),
			'cancellation' => __( 'Cancellation', 'refunder' ),
			'refund'       => __( 'No credit note', 'refunder' ),
		);
		$headers = array( __( 'Date', 'refunder' ), __( 'No.', 'refunder' ), __( 'Document', 'refunder' ), __( 'Order', 'refunder' ), __( 'Customer', 'refunder' ), __( 'Gross', 'refunder' ), __( 'Net', 'refunder' ), __( 'VAT per rate', 'refunder' ), __( 'Provider and reference', 'refunder' ), __( 'Staff', 'refunder' ), __( 'Reason', 'refunder' ), __( 'Status', 'refunder' ) );
		echo '<table class="widefat striped refunder-journal-rows"><thead><tr>';
		foreach ( $headers as $header ) {
			echo '<th>' . esc_html( $header ) . '</th>';
		}
		echo '</tr></thead><tbody>';
		foreach ( $rows as $row ) {
			$money = fn( $minor ) => null === $minor ? '–' : Refunder_Money::text( (int) $minor, $row['currency'], $row['exponent'] );
			$vat   = array();
			foreach ( $row['by_rate'] as $rate => $amounts ) {
				/* translators: 1: VAT rate in percent, 2: VAT amount */
				$vat[] = sprintf( __( '%1$s %%: %2$s', 'refunder' ), str_replace( '.', ',', $rate ), $money( $amounts['vat'] ) );
			}
			$number = $row['number'] ? esc_html( (string) $row['number'] ) : '–';
			if ( $row['note_id'] ) {
				$number = '<a href="' . esc_url( Refunder_Credit_Notes::staff_url( $row['refund_id'], $row['note_id'] ) ) . '">' . $number . '</a>';
			}
			$order  = wc_get_order( (int) $row['order_id'] );
			$reason = $row['reason'] . ( $row['reason_internal'] ? ' ' . __( '(internal)', 'refunder' ) : '' );
			printf(
				'<tr class="refunder-journal-row"><td>%1$s</td><td>%2$s</td><td>%3$s</td><td>%4$s</td><td>%5$s</td><td>%6$s</td><td>%7$s</td><td>%8$s</td><td>%9$s</td><td>%10$s</td><td>%11$s</td><td>%12$s</td></tr>',
				esc_html( mysql2date( get_option( 'date_format' ), $row['date'] ) ),
				$number, // phpcs:ignore WordPress.Security.EscapeOutput -- escaped above.
				esc_html( $kinds[ $row['kind'] ] ?? $row['kind'] ),
				$order ? '<a href="' . esc_url( $order->get_edit_order_url() ) . '">' . esc_html( $row['order'] ) . '</a>' : esc_html( $row['order'] ), // phpcs:ignore WordPress.Security.EscapeOutput -- escaped here.
				esc_html( $row['customer'] ),
				esc_html( $money( $row['gross'] ) ),
				esc_html( $money( $row['net'] ) ),
				esc_html( implode( ', ', $vat ) ),
				esc_html( $row['provider_label'] ) . ( $row['reference'] ? '<br /><code>' . esc_html( $row['reference'] ) . '</code>' : '' ), // phpcs:ignore WordPress.Security.EscapeOutput -- escaped here.
				esc_html( $row['staff'] ),
				esc_html( $reason ),
				esc_html( Refunder_Ajax::present( array( 'id' => $row['refund_id'], 'status' => $row['status'], 'amount' => $row['gross'], 'currency' => $row['currency'], 'exponent' => $row['exponent'], 'failure' => '' ) )['label'] )
			);
		}
		echo '</tbody></table>';
	}

	private static function totals( array $journal ) {
		echo '<h2>' . esc_html__( 'Totals', 'refunder' ) . '</h2><div class="refunder-journal-totals" style="display:flex;gap:2em;align-items:flex-start">';
		echo '<table class="widefat striped refunder-journal-providers" style="width:auto"><thead><tr><th>' . esc_html__( 'Provider', 'refunder' ) . '</th><th>' . esc_html__( 'Refunded', 'refunder' ) . '</th></tr></thead><tbody>';
		foreach ( $journal['by_provider'] as $total ) {
			printf( '<tr><td>%s</td><td>%s</td></tr>', esc_html( $total['provider_label'] ), esc_html( Refunder_Money::text( (int) $total['gross'], $total['currency'], $total['exponent'] ) ) );
		}
		echo '</tbody></table>';
		echo '<table class="widefat striped refunder-journal-rates" style="width:auto"><thead><tr><th>' . esc_html__( 'VAT rate', 'refunder' ) . '</th><th>' . esc_html__( 'Net', 'refunder' ) . '</th><th>' . esc_html__( 'VAT', 'refunder' ) . '</th><th>' . esc_html__( 'Gross', 'refunder' ) . '</th></tr></thead><tbody>';
		foreach ( $journal['by_rate'] as $total ) {
			printf(
				'<tr><td>%s %%</td><td>%s</td><td>%s</td><td>%s</td></tr>',
				esc_html( str_replace( '.', ',', $total['rate'] ) ),
				esc_html( Refunder_Money::text( (int) $total['net'], $total['currency'], $total['exponent'] ) ),
				esc_html( Refunder_Money::text( (int) $total['vat'], $total['currency'], $total['exponent'] ) ),
				esc_html( Refunder_Money::text( (int) $total['gross'], $total['currency'], $total['exponent'] ) )
			);
		}
		echo '</tbody></table></div>';
	}

	public static function csv() {
		self::guard();
		check_admin_referer( 'refunder_journal_csv' );
		list( $from, $to ) = self::period();
		$lang              = isset( $_GET['lang'] ) && 'en' === $_GET['lang'] ? 'en' : 'nb';
		$client            = Refunder_Client::configured();
		$csv               = is_wp_error( $client ) ? $client : $client->call_raw( 'GET', self::target( $from, $to, 'csv', $lang ) );
		if ( is_wp_error( $csv ) ) {
			wp_die( esc_html( $csv->get_error_message() ), Refunder_Client::status( $csv ) );
		}
		nocache_headers();
		header( 'Content-Type: text/csv; charset=utf-8' );
		header( 'Content-Disposition: attachment; filename="' . ( 'nb' === $lang ? 'refusjonsjournal' : 'refund-journal' ) . '-' . $from . '-' . $to . '.csv"' );
		echo $csv; // phpcs:ignore WordPress.Security.EscapeOutput -- a CSV file, not HTML.
		exit;
	}
}

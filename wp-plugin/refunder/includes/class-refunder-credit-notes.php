<?php
/**
 * Credit notes (kreditnota): the order's facts sent with its payment, the note attached to WooCommerce's
 * refunded-order e-mail with when the money arrives, the customer's own link, and staff downloads.
 *
 * The Refunder service issues, numbers and stores the notes; WordPress only describes the order and delivers.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Credit_Notes {

	const REFUND_META   = '_refunder_refund_id';
	const INTERNAL_META = '_refunder_reason_internal';
	const REFUND_EMAILS = array( 'customer_refunded_order', 'customer_partially_refunded_order' );

	/** @var array<string, array> What the service said about a refund, during this request. */
	private static $known = array();

	/** @var string[] Temporary attachment files, removed when the request ends. */
	private static $files = array();

	public static function register() {
		add_filter( 'woocommerce_general_settings', array( __CLASS__, 'settings' ) );
		add_action( 'woocommerce_create_refund', array( __CLASS__, 'link_refund' ), 10, 2 );
		add_filter( 'woocommerce_get_order_item_totals', array( __CLASS__, 'hide_internal_reasons' ), 10, 2 );
		add_action( 'woocommerce_email_before_order_table', array( __CLASS__, 'email_text' ), 10, 4 );
		add_filter( 'woocommerce_email_attachments', array( __CLASS__, 'attach' ), 10, 4 );
		add_action( 'woocommerce_order_details_after_order_table', array( __CLASS__, 'my_account' ) );
		add_action( 'template_redirect', array( __CLASS__, 'customer_download' ) );
		add_action( 'admin_post_refunder_credit_note', array( __CLASS__, 'staff_download' ) );
	}

	/**
	 * What a credit note needs to know about the order, as WooCommerce stores it (amounts as decimal strings).
	 *
	 * @param WC_Order $order The order.
	 * @return array
	 */
	public static function document( $order ) {
		$lines = array();
		$used  = array();
		foreach ( $order->get_items( array( 'line_item', 'shipping', 'fee' ) ) as $item_id => $item ) {
			$taxes = array();
			foreach ( (array) ( $item->get_taxes()['total'] ?? array() ) as $rate_id => $tax ) {
				if ( '' !== (string) $tax ) {
					$taxes[ (string) $rate_id ] = self::decimal( $tax );
					$used[ (string) $rate_id ]  = true;
				}
			}
			$kinds   = array( 'line_item' => 'product', 'shipping' => 'shipping', 'fee' => 'fee' );
			$lines[] = array(
				'item_id'  => (string) $item_id,
				'kind'     => $kinds[ $item->get_type() ] ?? 'product',
				'name'     => mb_substr( wp_strip_all_tags( $item->get_name() ), 0, 200 ),
				'quantity' => max( 1, (int) $item->get_quantity() ),
				'total'    => self::decimal( $item->get_total() ),
				'taxes'    => (object) $taxes,
			);
		}
		$created = $order->get_date_created() ?: new WC_DateTime();
		$address = array_filter( array( $order->get_billing_address_1(), $order->get_billing_address_2(), trim( $order->get_billing_postcode() . ' ' . $order->get_billing_city() ), self::country( $order->get_billing_country() ) ) );
		$buyer   = trim( $order->get_formatted_billing_full_name() );
		$company = $order->get_billing_company();
		/**
		 * The invoice or receipt number of the order, where a plugin issues one (shown on its credit notes).
		 *
		 * @since 0.2.0
		 * @param string   $number Empty when there is none.
		 * @param WC_Order $order  The order.
		 */
		$invoice = (string) apply_filters( 'refunder_invoice_number', '', $order );
		/**
		 * The language of the order's credit notes (nb_NO: Norwegian; anything else: English).
		 *
		 * @since 0.2.0
		 * @param string   $locale The site's language.
		 * @param WC_Order $order  The order.
		 */
		$language = (string) apply_filters( 'refunder_document_language', get_locale(), $order );
		return array(
			'language'  => preg_match( '/^[A-Za-z]{2,3}(_[A-Za-z]{2,4})?$/', $language ) ? $language : 'en_US',
			'order'     => array(
				'number'         => mb_substr( (string) $order->get_order_number(), 0, 64 ),
				'date'           => $created->format( 'c' ),
				'invoice_number' => mb_substr( $invoice, 0, 64 ),
				'payment_method' => mb_substr( wp_strip_all_tags( (string) $order->get_payment_method_title() ), 0, 200 ),
				'timezone'       => wp_timezone_string(),
			),
			'seller'    => self::seller(),
			'buyer'     => array(
				'name'    => mb_substr( $company ? ( $buyer ? "$company ($buyer)" : $company ) : $buyer, 0, 200 ),
				'address' => array_values( array_map( fn( $l ) => mb_substr( $l, 0, 200 ), $address ) ),
				'email'   => mb_substr( (string) $order->get_billing_email(), 0, 200 ),
			),
			'lines'     => array_slice( $lines, 0, 200 ),
			'tax_rates' => (object) self::rates( $order, array_keys( $used ) ),
		);
	}

	/** The shop as seller: WooCommerce's store name and address, and Refunder's organisation settings. */
	private static function seller() {
		$country = explode( ':', (string) get_option( 'woocommerce_default_country', '' ) )[0];
		$address = array_filter(
			array(
				get_option( 'woocommerce_store_address', '' ),
				get_option( 'woocommerce_store_address_2', '' ),
				trim( get_option( 'woocommerce_store_postcode', '' ) . ' ' . get_option( 'woocommerce_store_city', '' ) ),
				self::country( $country ),
			)
		);
		return array(
			'name'                => mb_substr( (string) get_option( 'refunder_legal_name', '' ) ?: wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES ), 0, 200 ),
			'address'             => array_values( array_map( fn( $l ) => mb_substr( (string) $l, 0, 200 ), $address ) ),
			'email'               => mb_substr( (string) get_option( 'woocommerce_email_from_address', get_option( 'admin_email' ) ), 0, 200 ),
			'organisation_number' => mb_substr( (string) get_option( 'refunder_organisation_number', '' ), 0, 32 ),
			'vat_registered'      => 'yes' === get_option( 'refunder_vat_registered', 'no' ),
			'foretaksregisteret'  => 'yes' === get_option( 'refunder_foretaksregisteret', 'no' ),
		);
	}

	/** The order's tax rates (percent and label), as the order's tax lines recorded them. */
	private static function rates( $order, array $ids ) {
		$rates = array();
		foreach ( $order->get_items( 'tax' ) as $tax ) {
			$rates[ (string) $tax->get_rate_id() ] = array(
				'percent' => self::percent( method_exists( $tax, 'get_rate_percent' ) ? $tax->get_rate_percent() : null, $tax->get_rate_id() ),
				'label'   => mb_substr( (string) $tax->get_label(), 0, 100 ),
			);
		}
		foreach ( $ids as $id ) {
			if ( ! isset( $rates[ $id ] ) ) {
				$rate         = class_exists( 'WC_Tax' ) ? WC_Tax::_get_tax_rate( (int) $id ) : array();
				$rates[ $id ] = array(
					'percent' => self::percent( $rate['tax_rate'] ?? null, $id ),
					'label'   => mb_substr( (string) ( $rate['tax_rate_name'] ?? '' ), 0, 100 ),
				);
			}
		}
		return $rates;
	}

	private static function percent( $value, $rate_id ) {
		if ( null === $value || '' === (string) $value ) {
			$rate  = class_exists( 'WC_Tax' ) ? WC_Tax::_get_tax_rate( (int) $rate_id ) : array();
			$value = $rate['tax_rate'] ?? '0';
		}
		$text = (string) wc_format_decimal( $value, 4 );
		return preg_match( '/^[0-9]{1,3}(\.[0-9]{1,4})?$/', $text ) ? $text : '0';
	}

	/** A WooCommerce amount as a decimal string ("892.857143"), without going through a float where it is text. */
	private static function decimal( $value ) {
		$text = is_string( $value ) ? trim( $value ) : (string) wc_format_decimal( $value );
		if ( '' === $text ) {
			return '0';
		}
		return preg_match( '/^-?[0-9]{1,13}(\.[0-9]{1,8})?$/', $text ) ? $text : (string) wc_format_decimal( $text, 8 );
	}

	private static function country( $code ) {
		$countries = function_exists( 'WC' ) && isset( WC()->countries ) ? WC()->countries->get_countries() : array();
		return $countries[ $code ] ?? $code;
	}

	/** WooCommerce → Settings → General: who the shop is on its credit notes. */
	public static function settings( $settings ) {
		return array_merge(
			$settings,
			array(
				array(
					'title' => __( 'Credit notes (Refunder)', 'refunder' ),
					'type'  => 'title',
					'desc'  => __( 'Refunder issues a numbered credit note (kreditnota) for every refund, with the store address above and these details.', 'refunder' ),
					'id'    => 'refunder_credit_notes',
				),
				array(
					'title'   => __( 'Legal name', 'refunder' ),
					'desc'    => __( 'The registered name of the business. Empty: the site title.', 'refunder' ),
					'id'      => 'refunder_legal_name',
					'type'    => 'text',
					'default' => '',
				),
				array(
					'title'   => __( 'Organisation number', 'refunder' ),
					'desc'    => __( 'Nine digits, from the Brønnøysund Register Centre. Credit notes are numbered in one series per organisation number.', 'refunder' ),
					'id'      => 'refunder_organisation_number',
					'type'    => 'text',
					'default' => '',
				),
				array(
					'title'   => __( 'VAT registered', 'refunder' ),
					'desc'    => __( 'Registered in the VAT Register: "MVA" follows the organisation number and VAT is shown per rate.', 'refunder' ),
					'id'      => 'refunder_vat_registered',
					'type'    => 'checkbox',
					'default' => 'no',
				),
				array(
					'title'   => __( 'Foretaksregisteret', 'refunder' ),
					'desc'    => __( 'Registered in the Register of Business Enterprises (required wording for AS, ASA and NUF).', 'refunder' ),
					'id'      => 'refunder_foretaksregisteret',
					'type'    => 'checkbox',
					'default' => 'no',
				),
				array(
					'type' => 'sectionend',
					'id'   => 'refunder_credit_notes',
				),
			)
		);
	}

	/**
	 * Marks the WooCommerce refund that records a Refunder refund (its id comes in wc_create_refund's arguments).
	 *
	 * @param WC_Order_Refund $refund The refund about to be saved.
	 * @param array           $args   wc_create_refund's arguments.
	 */
	public static function link_refund( $refund, $args ) {
		if ( empty( $args['refunder_refund_id'] ) ) {
			return;
		}
		$refund->update_meta_data( self::REFUND_META, (string) $args['refunder_refund_id'] );
		$known = self::refund( (string) $args['refunder_refund_id'] );
		if ( $known && ! empty( $known['refund']['reason_internal'] ) ) {
			$refund->update_meta_data( self::INTERNAL_META, 'yes' );
		}
	}

	/** WooCommerce shows a refund's reason under its amount in the order totals (e-mails, My account): not an internal one. */
	public static function hide_internal_reasons( $rows, $order ) {
		foreach ( $order->get_refunds() as $index => $refund ) {
			if ( 'yes' === $refund->get_meta( self::INTERNAL_META ) && isset( $rows[ 'refund_' . $index ] ) ) {
				$rows[ 'refund_' . $index ]['value'] = wc_price( '-' . $refund->get_amount(), array( 'currency' => $order->get_currency() ) );
			}
		}
		return $rows;
	}

	/**
	 * The refund, its payment and its documents as the service has them (asked once per request).
	 *
	 * @return array|null refund, payment, notes (issued documents with customer tokens).
	 */
	private static function refund( $refund_id ) {
		if ( array_key_exists( $refund_id, self::$known ) ) {
			return self::$known[ $refund_id ];
		}
		$client = Refunder_Client::configured();
		$found  = null;
		if ( ! is_wp_error( $client ) ) {
			$refund  = $client->call( 'GET', '/v1/refunds/' . rawurlencode( $refund_id ) );
			$payment = is_wp_error( $refund ) ? $refund : $client->call( 'GET', '/v1/payments/' . rawurlencode( $refund['payment_id'] ) );
			$notes   = is_wp_error( $payment ) ? $payment : $client->call( 'GET', '/v1/refunds/' . rawurlencode( $refund_id ) . '/credit-notes' );
			if ( is_wp_error( $notes ) ) {
				Refunder_Log::warning( 'refund ' . $refund_id . ': ' . $notes->get_error_message() );
			} else {
				$found = array( 'refund' => $refund, 'payment' => $payment, 'notes' => $notes['credit_notes'] );
			}
		}
		self::$known[ $refund_id ] = $found;
		return $found;
	}

	/** The Refunder refund a WooCommerce refund e-mail is about, or null. */
	private static function emailed_refund( $email ) {
		if ( ! $email || ! in_array( $email->id, self::REFUND_EMAILS, true ) || empty( $email->refund ) ) {
			return null;
		}
		$refund_id = (string) $email->refund->get_meta( self::REFUND_META );
		return '' === $refund_id ? null : self::refund( $refund_id );
	}

	private static function credit_note( array $known ) {
		foreach ( $known['notes'] as $note ) {
			if ( 'credit_note' === $note['kind'] ) {
				return $note;
			}
		}
		return null;
	}

	/** The customer's link to a document: signed by the service, expiring after 90 days. */
	public static function customer_url( array $note ) {
		return add_query_arg( 'refunder-credit-note', rawurlencode( $note['customer_token'] ), home_url( '/' ) );
	}

	/**
	 * In the refunded-order e-mail: how much, through what, when it arrives, and the credit note.
	 *
	 * @param WC_Order $order         The order.
	 * @param bool     $sent_to_admin Whether the e-mail goes to the shop.
	 * @param bool     $plain_text    Plain text e-mail.
	 * @param WC_Email $email         The e-mail.
	 */
	public static function email_text( $order, $sent_to_admin, $plain_text, $email = null ) {
		$known = $sent_to_admin ? null : self::emailed_refund( $email );
		if ( ! $known ) {
			return;
		}
		$refund    = $known['refund'];
		$sentences = array(
			sprintf(
				/* translators: 1: amount, 2: payment provider */
				__( 'We have refunded %1$s to you through %2$s.', 'refunder' ),
				Refunder_Money::said( $refund['amount'] ),
				$known['payment']['provider_label']
			),
			self::arrival( $known['payment']['provider'], $order, (string) $refund['bank_reference'] ),
		);
		if ( empty( $refund['reason_internal'] ) && '' !== trim( (string) $refund['reason'] ) ) {
			/* translators: %s: why the order was refunded */
			$sentences[] = sprintf( __( 'Reason: %s', 'refunder' ), $refund['reason'] );
		}
		$note = self::credit_note( $known );
		$link = '';
		if ( $note ) {
			/* translators: %d: credit note number */
			$sentences[] = sprintf( __( 'Credit note no. %d is attached to this e-mail.', 'refunder' ), $note['number'] );
			$link        = self::customer_url( $note );
		}
		if ( $plain_text ) {
			echo esc_html( implode( ' ', $sentences ) ) . "\n";
			if ( $link ) {
				/* translators: %s: download link */
				echo esc_html( sprintf( __( 'Download it (link valid for 90 days): %s', 'refunder' ), $link ) ) . "\n\n";
			}
			return;
		}
		echo '<p class="refunder-refund-notice">' . esc_html( implode( ' ', $sentences ) );
		if ( $link ) {
			echo ' <a href="' . esc_url( $link ) . '">' . esc_html__( 'Download the credit note (link valid for 90 days).', 'refunder' ) . '</a>';
		}
		echo "</p>\n";
	}

	/** When the money reaches the customer, as each provider pays refunds out. */
	public static function arrival( $provider, $order, $bank_reference ) {
		$method = (string) $order->get_payment_method();
		switch ( $provider ) {
			case 'vipps':
			case 'vipps_ecom':
				return __( 'The money is usually back in your account within 2–3 bank days, at most 10.', 'refunder' );
			case 'stripe':
			case 'stripe_connect':
				return __( 'Card refunds usually reach your account within 5–10 business days.', 'refunder' );
			case 'mollie':
				if ( false !== strpos( $method, 'klarna' ) ) {
					return __( 'Klarna updates your purchase at once; money you already paid to Klarna comes back within a few bank days.', 'refunder' );
				}
				if ( false !== strpos( $method, 'card' ) ) {
					return __( 'Card refunds usually reach your account within 5–10 business days.', 'refunder' );
				}
				return __( 'The money usually reaches your account within a few bank days, depending on how you paid.', 'refunder' );
			case 'manual':
				/* translators: %s: the bank transfer's reference */
				return sprintf( __( 'We have sent the money to your bank account by bank transfer (reference %s); it usually arrives within 1–2 bank days.', 'refunder' ), $bank_reference );
			default:
				return __( 'The money is on its way back to you.', 'refunder' );
		}
	}

	/** The credit note as a PDF attachment of the refunded-order e-mail. */
	public static function attach( $attachments, $email_id, $order, $email = null ) {
		$known = in_array( $email_id, self::REFUND_EMAILS, true ) ? self::emailed_refund( $email ) : null;
		$note  = $known ? self::credit_note( $known ) : null;
		if ( ! $note ) {
			return $attachments;
		}
		$client = Refunder_Client::configured();
		$pdf    = is_wp_error( $client ) ? $client : $client->call_raw( 'GET', '/v1/credit-notes/' . rawurlencode( $note['id'] ) . '.pdf' );
		if ( is_wp_error( $pdf ) ) {
			Refunder_Log::warning( 'credit note ' . $note['number'] . ' not attached: ' . $pdf->get_error_message() );
			return $attachments;
		}
		$dir = trailingslashit( get_temp_dir() ) . 'refunder-' . wp_generate_password( 12, false );
		wp_mkdir_p( $dir );
		$file = $dir . '/' . self::filename( $note );
		file_put_contents( $file, $pdf ); // phpcs:ignore WordPress.WP.AlternativeFunctions -- a temporary attachment.
		if ( ! self::$files ) {
			register_shutdown_function( array( __CLASS__, 'remove_files' ) );
		}
		self::$files[] = $file;
		$attachments[] = $file;
		return $attachments;
	}

	private static function filename( array $note ) {
		$word = 0 === strpos( get_locale(), 'nb' ) || 0 === strpos( get_locale(), 'nn' ) ? 'kreditnota' : 'credit-note';
		if ( 'cancellation' === $note['kind'] ) {
			$word = 'kreditnota' === $word ? 'annullering' : 'cancellation';
		}
		return $word . '-' . (int) $note['number'] . '.pdf';
	}

	public static function remove_files() {
		foreach ( self::$files as $file ) {
			wp_delete_file( $file );
			@rmdir( dirname( $file ) ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- best effort.
		}
		self::$files = array();
	}

	/** My account → order: the customer's credit notes, each a signed link. */
	public static function my_account( $order ) {
		if ( is_admin() || ! $order instanceof WC_Order ) {
			return;
		}
		$links = array();
		foreach ( Refunder_Store::for_order( $order->get_id() ) as $entry ) {
			if ( ! in_array( $entry['status'], Refunder_Store::FINAL, true ) ) {
				continue;
			}
			$known = self::refund( $entry['id'] );
			foreach ( $known ? $known['notes'] : array() as $note ) {
				$label   = 'cancellation' === $note['kind']
					/* translators: %d: document number */
					? sprintf( __( 'Cancellation of credit note, no. %d', 'refunder' ), $note['number'] )
					/* translators: %d: credit note number */
					: sprintf( __( 'Credit note no. %d', 'refunder' ), $note['number'] );
				$links[] = '<a href="' . esc_url( self::customer_url( $note ) ) . '">' . esc_html( $label ) . '</a>';
			}
		}
		if ( $links ) {
			echo '<section class="refunder-credit-notes"><h2>' . esc_html__( 'Credit notes', 'refunder' ) . '</h2><ul><li>' . implode( '</li><li>', $links ) . '</li></ul></section>'; // phpcs:ignore WordPress.Security.EscapeOutput -- escaped above.
		}
	}

	/** The customer's link: the service checks the token; a bad or expired one gets a plain page, never a PDF. */
	public static function customer_download() {
		if ( ! isset( $_GET['refunder-credit-note'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification -- the signed token is the check.
			return;
		}
		$token  = preg_replace( '/[^A-Za-z0-9._-]/', '', (string) wp_unslash( $_GET['refunder-credit-note'] ) ); // phpcs:ignore WordPress.Security.NonceVerification,WordPress.Security.ValidatedSanitizedInput -- limited to the token's alphabet.
		$client = Refunder_Client::configured();
		$pdf    = is_wp_error( $client ) ? $client : $client->call_raw( 'GET', '/v1/customer-credit-note?token=' . rawurlencode( $token ) );
		if ( is_wp_error( $pdf ) ) {
			$code   = $pdf->get_error_code();
			$status = 'link_expired' === $code ? 410 : ( 'link_invalid' === $code ? 403 : 503 );
			$text   = 410 === $status
				? __( 'This link has expired. Ask the shop to send you a new copy of the credit note.', 'refunder' )
				: ( 403 === $status ? __( 'This link is not valid.', 'refunder' ) : __( 'The credit note cannot be shown right now. Try again later.', 'refunder' ) );
			wp_die( esc_html( $text ), esc_html__( 'Credit note', 'refunder' ), array( 'response' => $status ) );
		}
		self::send_pdf( $pdf, 'credit-note.pdf' );
	}

	/** Staff: a document of a refund (from the order's Refunder box) or any document (from the journal). */
	public static function staff_download() {
		if ( ! current_user_can( REFUNDER_CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to refund orders. Ask an administrator for the refund permission.', 'refunder' ), 403 );
		}
		check_admin_referer( 'refunder_credit_note' );
		$note   = isset( $_GET['note'] ) ? sanitize_key( wp_unslash( $_GET['note'] ) ) : '';
		$refund = isset( $_GET['refund'] ) ? sanitize_key( wp_unslash( $_GET['refund'] ) ) : '';
		$client = Refunder_Client::configured();
		$target = '' !== $note ? '/v1/credit-notes/' . rawurlencode( $note ) . '.pdf' : '/v1/refunds/' . rawurlencode( $refund ) . '/credit-note.pdf';
		$pdf    = is_wp_error( $client ) ? $client : $client->call_raw( 'GET', $target );
		if ( is_wp_error( $pdf ) ) {
			wp_die( esc_html( $pdf->get_error_message() ), esc_html__( 'Credit note', 'refunder' ), array( 'response' => 404 ) );
		}
		self::send_pdf( $pdf, 'credit-note.pdf' );
	}

	/** A link for staff to a refund's credit note (the service is asked only when it is clicked). */
	public static function staff_url( $refund_id, $note_id = '' ) {
		$args = '' !== $note_id ? array( 'note' => $note_id ) : array( 'refund' => $refund_id );
		return wp_nonce_url( add_query_arg( array_merge( array( 'action' => 'refunder_credit_note' ), $args ), admin_url( 'admin-post.php' ) ), 'refunder_credit_note' );
	}

	private static function send_pdf( $pdf, $name ) {
		nocache_headers();
		header( 'Content-Type: application/pdf' );
		header( 'Content-Disposition: inline; filename="' . $name . '"' );
		header( 'Content-Length: ' . strlen( $pdf ) );
		header( 'X-Content-Type-Options: nosniff' );
		echo $pdf; // phpcs:ignore WordPress.Security.EscapeOutput -- a PDF document.
		exit;
	}
}

<?php
/**
 * Signed calls to the Refunder service. Every failure comes back as a WP_Error in the admin's language
 * (Refunder_Messages), with the service's code, HTTP status and problem document in its data.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Client {

	/**
	 * Seconds to wait for the service: longer than its time budget for a provider (REFUNDER_PROVIDER_BUDGET,
	 * 15 s) plus its ledger and the network, so a refund's answer is never cut off while the service still works.
	 */
	const TIMEOUT = 45;
	/** Seconds to wait for a read from the service's ledger (no provider is asked). */
	const READ_TIMEOUT = 10;

	private $url;
	private $secret;

	public function __construct( $url, $secret ) {
		$this->url    = untrailingslashit( $url );
		$this->secret = $secret;
	}

	/** @return Refunder_Client|WP_Error */
	public static function configured() {
		if ( ! Refunder_Settings::is_configured() ) {
			return new WP_Error( 'refunder_not_configured', __( 'Refunder is not connected: set the service URL and shared secret in Settings → Refunder.', 'refunder' ) );
		}
		return new self( Refunder_Settings::url(), Refunder_Settings::secret() );
	}

	/**
	 * @param string     $method  HTTP method.
	 * @param string     $target  Path and query, e.g. /v1/refunds?order_id=12.
	 * @param array|null $body    JSON body.
	 * @param array      $headers Extra headers (Idempotency-Key: signed with the rest).
	 * @param int        $timeout Seconds to wait.
	 * @return array|WP_Error Decoded answer.
	 */
	public function call( $method, $target, $body = null, $headers = array(), $timeout = self::TIMEOUT ) {
		$raw = $this->call_raw( $method, $target, $body, $headers, $timeout );
		if ( is_wp_error( $raw ) ) {
			return $raw;
		}
		$data = json_decode( $raw, true );
		return is_array( $data ) ? $data : new WP_Error( 'refunder_http_200', __( 'The Refunder service answered with HTTP 200.', 'refunder' ) );
	}

	/**
	 * The same, returning the body as it came (e.g. a CSV report).
	 *
	 * @return string|WP_Error
	 */
	public function call_raw( $method, $target, $body = null, $headers = array(), $timeout = self::TIMEOUT ) {
		$json     = null === $body ? '' : wp_json_encode( $body );
		$response = wp_remote_request(
			$this->url . $target,
			array(
				'method'      => $method,
				'timeout'     => $timeout,
				'redirection' => 0,
				'body'        => $json,
				'headers'     => Refunder_Signer::headers(
					$this->secret,
					$method,
					$target,
					$json,
					array_merge( array( 'Content-Type' => 'application/json', 'Accept' => 'application/json' ), $headers )
				),
			)
		);
		if ( is_wp_error( $response ) ) {
			$timed_out = false !== strpos( $response->get_error_message(), 'cURL error 28' ); // the service did not answer in time.
			Refunder_Log::warning( sprintf( '%s %s%s: %s', $method, $this->url, $target, $response->get_error_message() ) );
			return new WP_Error(
				'refunder_unreachable',
				$timed_out ? __( 'The Refunder service did not answer in time.', 'refunder' ) : __( 'The Refunder service could not be reached.', 'refunder' ),
				array( 'status' => $timed_out ? 504 : 502 )
			);
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		$raw    = wp_remote_retrieve_body( $response );
		if ( $status >= 400 ) {
			$data = json_decode( $raw, true );
			if ( ! is_array( $data ) || empty( $data['code'] ) ) {
				/* translators: %d: HTTP status code */
				return new WP_Error( 'refunder_http_' . $status, sprintf( __( 'The Refunder service answered with HTTP %d.', 'refunder' ), $status ), array( 'status' => $status, 'problem' => $data ) );
			}
			return new WP_Error( (string) $data['code'], Refunder_Messages::of( $data ), array( 'status' => $status, 'problem' => $data ) );
		}
		return $raw;
	}

	/**
	 * The HTTP status an admin screen answers with for a failed call: the service's own for a refusal (422,
	 * 409, 404 ...), 502/503/504 only when the service or a provider is down or WordPress and the service
	 * disagree (a signature refused).
	 */
	public static function status( WP_Error $error ) {
		if ( 'refunder_not_configured' === $error->get_error_code() ) {
			return 503;
		}
		$data   = $error->get_error_data();
		$status = (int) ( is_array( $data ) ? ( $data['status'] ?? 502 ) : 502 );
		return in_array( $status, array( 401, 403 ), true ) || $status < 400 ? 502 : $status;
	}
}

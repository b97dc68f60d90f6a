<?php
/**
 * The sidecar's request signature, scheme v2 (see tests/vectors/signature.json): it covers the method,
 * path, time, nonce, body and the two headers that change what a request means, Content-Type and
 * Idempotency-Key, so neither can be swapped on the way.
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Signer {

	const SCHEME = 'v2';

	public static function string_to_sign( $method, $target, $timestamp, $nonce, $content_type, $idempotency_key, $body ) {
		return implode( "\n", array( self::SCHEME, strtoupper( $method ), $target, (string) $timestamp, $nonce, (string) $content_type, (string) $idempotency_key, hash( 'sha256', $body ) ) );
	}

	public static function sign( $secret, $method, $target, $timestamp, $nonce, $content_type, $idempotency_key, $body ) {
		return self::SCHEME . '=' . hash_hmac( 'sha256', self::string_to_sign( $method, $target, $timestamp, $nonce, $content_type, $idempotency_key, $body ), $secret );
	}

	/**
	 * The request's headers with the signature added; a fresh nonce every time.
	 *
	 * @param string $secret  Shared secret.
	 * @param string $method  HTTP method.
	 * @param string $target  Path and query.
	 * @param string $body    Raw body.
	 * @param array  $headers Headers to send (Content-Type and Idempotency-Key among them are signed).
	 * @param int    $now     Unix time (tests).
	 * @return array
	 */
	public static function headers( $secret, $method, $target, $body, $headers = array(), $now = null ) {
		$timestamp = (string) ( null === $now ? time() : $now );
		$nonce     = rtrim( strtr( base64_encode( random_bytes( 18 ) ), '+/', '-_' ), '=' );
		$signed    = array_change_key_case( $headers, CASE_LOWER );
		return array_merge(
			$headers,
			array(
				'X-Refunder-Timestamp' => $timestamp,
				'X-Refunder-Nonce'     => $nonce,
				'X-Refunder-Signature' => self::sign( $secret, $method, $target, $timestamp, $nonce, $signed['content-type'] ?? '', $signed['idempotency-key'] ?? '', $body ),
			)
		);
	}
}

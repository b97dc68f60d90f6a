<?php
/**
 * The sidecar's request signature, scheme v1 (see tests/vectors/signature.json).
 *
 * @package Refunder
 */

defined( 'ABSPATH' ) || exit;

final class Refunder_Signer {

	public static function string_to_sign( $method, $target, $timestamp, $nonce, $body ) {
		return implode( "\n", array( 'v1', strtoupper( $method ), $target, (string) $timestamp, $nonce, hash( 'sha256', $body ) ) );
	}

	public static function sign( $secret, $method, $target, $timestamp, $nonce, $body ) {
		return 'v1=' . hash_hmac( 'sha256', self::string_to_sign( $method, $target, $timestamp, $nonce, $body ), $secret );
	}

	/** Headers for one request; a fresh nonce every time. */
	public static function headers( $secret, $method, $target, $body, $now = null ) {
		$timestamp = (string) ( null === $now ? time() : $now );
		$nonce     = rtrim( strtr( base64_encode( random_bytes( 18 ) ), '+/', '-_' ), '=' );
		return array(
			'X-Refunder-Timestamp' => $timestamp,
			'X-Refunder-Nonce'     => $nonce,
			'X-Refunder-Signature' => self::sign( $secret, $method, $target, $timestamp, $nonce, $body ),
		);
	}
}
